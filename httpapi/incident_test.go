package httpapi_test

// The breach in shared/INCIDENT.md, replayed against a running server.

import (
	"net/http"
	"strings"
	"testing"
)

var privateFields = []string{"email", "email_verified", "phone", "phone_verified", "last_login_at", "mfa_enabled",
	"password", "password_hash", "reset_token", "token", "device", "fingerprint"}

func hasPrivateField(m map[string]any) string {
	for _, f := range privateFields {
		if _, ok := m[f]; ok {
			return f
		}
	}
	return ""
}

func TestIncidentReplay(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		var users []*user
		for _, name := range []string{"victim1", "victim2", "victim3", "attacker"} {
			users = append(users, e.signup(name))
		}
		attacker := users[3]

		// 1. Anonymous lookups of every id: 401, never a public-mode answer,
		// whatever the id or the query string tries.
		for _, u := range users {
			for _, path := range []string{"/v1/users/" + u.ID, "/v1/users/" + u.ID + "?public=1", "/v1/users?username=" + u.Username} {
				r := e.do("GET", path, "", nil)
				wantUnauthenticated(t, r, "anonymous "+path)
				if strings.Contains(string(r.Body), u.Email) || strings.Contains(string(r.Body), u.Username) {
					t.Fatalf("anonymous answer names the user: %s", r.Body)
				}
			}
		}
		// The incident's own URL shape does not exist, and says nothing.
		r := e.do("GET", "/api/v1/accounts/get_user_info/?user_id=1", "", nil)
		if r.Status != http.StatusNotFound || strings.Contains(string(r.Body), "@") {
			t.Fatalf("incident URL: %d %s", r.Status, r.Body)
		}

		// 2. User B looking up user A gets no private field.
		for _, v := range users[:3] {
			m := e.do("GET", "/v1/users/"+v.ID, attacker.Token, nil).expect(t, http.StatusOK).JSON(t)
			if f := hasPrivateField(m); f != "" {
				t.Fatalf("attacker sees %q of %s: %v", f, v.Username, m)
			}
			m = e.do("GET", "/v1/users?username="+v.Username, attacker.Token, nil).expect(t, http.StatusOK).JSON(t)
			if f := hasPrivateField(m); f != "" {
				t.Fatalf("attacker sees %q of %s by username: %v", f, v.Username, m)
			}
		}

		// 3. A run of 1,000 lookups from one token is throttled before it
		// ends and yields no private field.
		throttledAt := -1
		for i := 0; i < 1000; i++ {
			v := users[i%3]
			r := e.do("GET", "/v1/users/"+v.ID, attacker.Token, nil)
			switch r.Status {
			case http.StatusOK:
				if f := hasPrivateField(r.JSON(t)); f != "" {
					t.Fatalf("lookup %d leaked %q", i, f)
				}
			case http.StatusTooManyRequests:
				if throttledAt < 0 {
					throttledAt = i
				}
				if r.Header.Get("Retry-After") == "" {
					t.Fatal("429 without Retry-After")
				}
			default:
				t.Fatalf("lookup %d: %d %s", i, r.Status, r.Body)
			}
		}
		if throttledAt < 0 {
			t.Fatal("1,000 lookups from one token were never throttled")
		}
		t.Logf("%s: throttled at lookup %d of 1000", backend, throttledAt)

		// 4. Walking guessed ids (sequential or random) finds nothing and
		// is throttled like any lookup.
		for _, id := range []string{"1", "2", "3", "100", "aaaaaaaaaaaaaaaaaaaaaaaaab"} {
			r := e.do("GET", "/v1/users/"+id, attacker.Token, nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusTooManyRequests {
				t.Fatalf("guessed id %s: %d", id, r.Status)
			}
		}
		// 5. No response of the whole suite carries a password hash, a code
		// or another user's session token: checked by the harness at
		// cleanup (checkNoLeaks) for this and every other test.
	})
}
