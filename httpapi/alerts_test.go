package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func noticeKinds(t *testing.T, e *env, token string) string {
	t.Helper()
	var kinds []string
	for _, it := range e.do("GET", "/v1/me/notifications", token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
		kinds = append(kinds, it.(map[string]any)["kind"].(string))
	}
	return strings.Join(kinds, " ")
}

// The security events of a sign-in: a new device, a burst of failures,
// logging out everywhere. Each leaves a notice and a mail with its code.
func TestSecurityNotices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, behindProxy)
		a := e.signup("alice")
		// The same device again: nothing.
		e.loginFrom("127.0.0.1", "alice", a.Password).expect(t, http.StatusCreated)
		if k := noticeKinds(t, e, a.Token); k != "account_created" {
			t.Fatalf("notices after known sign-ins: %q", k)
		}
		// From a new address: a new-device notice.
		e.Clock.Advance(time.Second)
		e.loginFrom("198.51.100.23", "alice", a.Password).expect(t, http.StatusCreated)
		if k := noticeKinds(t, e, a.Token); k != "new_device_login account_created" {
			t.Fatalf("notices = %q, want new_device_login", k)
		}
		// Failures spread over sources, up to the account throttle: one
		// burst notice, not one per failure.
		e.Clock.Advance(time.Second) // notices of one instant have no order
		for i := 0; i < e.Service.Config().ThrottleAccount.Free+3; i++ {
			e.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), "alice", "wrong guess "+fmt.Sprint(i))
		}
		if k := noticeKinds(t, e, a.Token); k != "failed_login_burst new_device_login account_created" {
			t.Fatalf("notices = %q", k)
		}
		// Log out everywhere.
		e.Clock.Advance(time.Second)
		e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusOK)
		if k := noticeKinds(t, e, a.Token); !strings.HasPrefix(k, "sessions_revoked") {
			t.Fatalf("notices = %q", k)
		}
		before := len(mails(t, e))
		e.flush()
		if n := len(mails(t, e)) - before; n != 3 {
			t.Fatalf("%d notice mails delivered, want 3", n)
		}
	})
}
