package httpapi_test

import (
	"net/http"
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
	})
}
