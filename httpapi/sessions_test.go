package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/httpapi"
)

func TestSessionsList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a, b := e.signup("alice"), e.signup("bob")
		second, _ := e.login(a.Username, a.Password)
		list := e.do("GET", "/v1/me/sessions", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if len(list) != 2 {
			t.Fatalf("%d sessions listed, want 2", len(list))
		}
		current := 0
		for _, it := range list {
			m := it.(map[string]any)
			wantKeys(t, m, []string{"created_at", "current", "device_label", "id", "ip", "last_seen_at", "user_agent"}, "session")
			if m["current"] == true {
				current++
				if m["id"] != a.SessionID {
					t.Fatalf("current session = %v, want %s", m["id"], a.SessionID)
				}
			}
		}
		if current != 1 {
			t.Fatalf("%d sessions marked current", current)
		}
		// Bob cannot see or revoke alice's sessions: not found.
		if n := len(e.do("GET", "/v1/me/sessions", b.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)); n != 1 {
			t.Fatalf("bob sees %d sessions", n)
		}
		e.do("DELETE", "/v1/me/sessions/"+a.SessionID, b.Token, nil).expect(t, http.StatusNotFound)
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK)
		// Alice ends her other session: it dies on the next request.
		e.do("DELETE", "/v1/me/sessions/"+sessionIDOf(t, e, second), a.Token, nil).expect(t, http.StatusNoContent)
		wantUnauthenticated(t, e.do("GET", "/v1/me", second, nil), "revoked session")
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK)
	})
}

// sessionIDOf finds the id of the session behind tok, as its owner sees it.
func sessionIDOf(t *testing.T, e *env, tok string) string {
	t.Helper()
	for _, it := range e.do("GET", "/v1/me/sessions", tok, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
		if m := it.(map[string]any); m["current"] == true {
			return m["id"].(string)
		}
	}
	t.Fatal("no current session")
	return ""
}

// Log out everywhere: every other session dies on the very next request;
// it needs a recent sign-in.
func TestRevokeAll(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		var others []string
		for i := 0; i < 3; i++ {
			tok, _ := e.login(a.Username, a.Password)
			e.do("GET", "/v1/me", tok, nil).expect(t, http.StatusOK) // warm the cache
			others = append(others, tok)
		}
		// Past the re-authentication window: refused with reauth-required.
		e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
		r := e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusForbidden)
		if r.JSON(t)["type"] != httpapi.ProblemTypePrefix+"reauth-required" {
			t.Fatalf("problem = %s", r.Body)
		}
		e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"password": "wrong password for sure"}).expect(t, http.StatusForbidden)
		e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"password": a.Password}).expect(t, http.StatusNoContent)
		res := e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusOK).JSON(t)
		if res["revoked"] != float64(3) {
			t.Fatalf("revoked = %v, want 3", res["revoked"])
		}
		for _, tok := range others {
			wantUnauthenticated(t, e.do("GET", "/v1/me", tok, nil), "session after revoke-all")
		}
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK)
		e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": true}).expect(t, http.StatusOK)
		wantUnauthenticated(t, e.do("GET", "/v1/me", a.Token, nil), "current session after revoke-all with include_current")
	})
}
