package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestSignupLoginFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		me := e.do("GET", "/v1/me", alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		if me["id"] != alice.ID || me["email"] != alice.Email || me["email_verified"] != true || me["last_login_at"] == nil {
			t.Fatalf("me = %v", me)
		}
		// The verification mail's notice code is the account's first notice.
		ms := mails(t, e)
		code := ms[0].Header.Get("X-Vigil-Notice-Code")
		if code == "" || !strings.Contains(ms[0].Text, "Notice code: "+code) {
			t.Fatalf("verification mail lacks a notice code: %s", ms[0].Text)
		}
		n := e.do("GET", "/v1/me/notifications", alice.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if len(n) != 1 || n[0].(map[string]any)["code"] != code || n[0].(map[string]any)["kind"] != "account_created" {
			t.Fatalf("notices = %v, want account_created with code %s", n, code)
		}
	})
}
