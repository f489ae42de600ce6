package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
)

// fillPath puts a real id into a route's path template.
func fillPath(pattern, id string) (method, path string) {
	method, path, _ = strings.Cut(pattern, " ")
	return method, strings.ReplaceAll(path, "{id}", id)
}

func wantUnauthenticated(t *testing.T, r *response, what string) {
	t.Helper()
	if r.Status != http.StatusUnauthorized {
		t.Fatalf("%s: status %d, want 401; body %s", what, r.Status, r.Body)
	}
	if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer ") {
		t.Fatalf("%s: WWW-Authenticate = %q", what, r.Header.Get("WWW-Authenticate"))
	}
	if r.Header.Get("Content-Type") != "application/problem+json" {
		t.Fatalf("%s: content type %q", what, r.Header.Get("Content-Type"))
	}
	p := r.JSON(t)
	if p["type"] != httpapi.ProblemTypePrefix+vigil.EUNAUTHENTICATED || p["detail"] != "authentication required" {
		t.Fatalf("%s: problem %v", what, p)
	}
}

// Every route that is not public answers 401 to every kind of bad
// credential: never a degraded or "public mode" answer.
func TestDenyByDefault(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		bob := e.signup("bob")
		// bob's token dies by logout; alice's by the clock.
		e.do("DELETE", "/v1/sessions/current", bob.Token, nil).expect(t, http.StatusNoContent)

		creds := map[string]func() string{
			"missing":         func() string { return "" },
			"malformed":       func() string { return "not-a-token" },
			"unknown":         func() string { return vigil.NewToken().Reveal() },
			"revoked":         func() string { return bob.Token },
			"other-scheme":    func() string { return "" },
			"token-with-junk": func() string { return alice.Token + "x" },
		}
		nonPublic := 0
		for _, rt := range e.Server.Routes() {
			if rt.Policy == httpapi.PolicyPublic {
				continue
			}
			nonPublic++
			method, path := fillPath(rt.Pattern, alice.ID)
			for name, tok := range creds {
				r := e.do(method, path, tok(), nil)
				if name == "other-scheme" {
					r = e.doHeader(method, path, "Authorization", "Basic "+alice.Token)
				}
				wantUnauthenticated(t, r, rt.Pattern+" with "+name+" credential")
			}
		}
		if nonPublic < 5 {
			t.Fatalf("only %d non-public routes checked", nonPublic)
		}
		// Idle expiry, then absolute expiry.
		e.do("GET", "/v1/me", alice.Token, nil).expect(t, http.StatusOK)
		e.Clock.Advance(e.Service.Config().SessionIdle + time.Second)
		wantUnauthenticated(t, e.do("GET", "/v1/me", alice.Token, nil), "idle session")

		carol := e.signup("carol")
		for i := 0; i < 20; i++ { // keep it busy so idle expiry never bites
			e.Clock.Advance(e.Service.Config().SessionLifetime / 20)
			e.do("GET", "/v1/me", carol.Token, nil)
		}
		wantUnauthenticated(t, e.do("GET", "/v1/me", carol.Token, nil), "session past its lifetime")
	})
}

// Logging out ends the session for the very next request.
func TestLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		other, _ := e.login(a.Username, a.Password)
		e.do("DELETE", "/v1/sessions/current", a.Token, nil).expect(t, http.StatusNoContent)
		wantUnauthenticated(t, e.do("GET", "/v1/me", a.Token, nil), "after logout")
		// Only that session: the other one lives on.
		e.do("GET", "/v1/me", other, nil).expect(t, http.StatusOK)
	})
}
