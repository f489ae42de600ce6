package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/httpapi"
)

// Changing the password: the current one is checked, the other sessions
// end on the next request, and the owner gets a mail whose notice code is
// the one listed in the app.
func TestChangePassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		other, _ := e.login(a.Username, a.Password)
		newPW := "an entirely new passphrase, never used"

		r := e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": "not the current one", "new_password": newPW}).
			expect(t, http.StatusForbidden)
		if r.JSON(t)["type"] != httpapi.ProblemTypePrefix+"wrong-password" {
			t.Fatalf("problem = %s", r.Body)
		}
		e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": a.Password, "new_password": "short"}).
			expect(t, http.StatusBadRequest)
		e.do("GET", "/v1/me", other, nil).expect(t, http.StatusOK) // refusals changed nothing

		e.Clock.Advance(time.Second) // after the account_created notice
		e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": a.Password, "new_password": newPW}).
			expect(t, http.StatusNoContent)
		wantUnauthenticated(t, e.do("GET", "/v1/me", other, nil), "other session after a password change")
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK)
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": a.Password}).expect(t, http.StatusUnauthorized)
		e.login("alice", newPW)

		// The notice, in the app and by mail, with one code.
		items := e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if len(items) != 2 {
			t.Fatalf("%d notices, want 2 (account_created, password_changed)", len(items))
		}
		n := items[0].(map[string]any)
		code := n["code"].(string)
		if n["kind"] != "password_changed" || len(code) != 9 {
			t.Fatalf("notice = %v", n)
		}
		before := len(mails(t, e))
		e.flush()
		ms := mails(t, e)
		if len(ms) != before+1 {
			t.Fatalf("%d mails delivered, want 1", len(ms)-before)
		}
		m := ms[len(ms)-1]
		if m.To != a.Email || !strings.Contains(m.Text, code) || m.Header.Get("X-Vigil-Notice-Code") != code {
			t.Fatalf("mail to %s lacks the notice code %s: %s", m.To, code, m.Text)
		}
		if strings.Contains(strings.ToLower(m.Text), "http") && !strings.Contains(m.Text, "http://127.0.0.1:8080") {
			t.Fatal("the mail links somewhere other than the public URL")
		}
		// Bob sees none of alice's notices.
		bob := e.signup("bob")
		if k := noticeKinds(t, e, bob.Token); k != "account_created" {
			t.Fatalf("bob sees notices %q, want only his own account_created", k)
		}
	})
}
