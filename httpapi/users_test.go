package httpapi_test

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/service"
)

var (
	publicKeys  = []string{"created_at", "display_name", "id", "username"}
	privateKeys = []string{"created_at", "display_name", "email", "email_verified", "id", "last_login_at", "mfa_enabled", "phone", "phone_verified", "username"}
)

func keys(m map[string]any) []string {
	var k []string
	for key := range m {
		k = append(k, key)
	}
	sort.Strings(k)
	return k
}

func wantKeys(t *testing.T, m map[string]any, want []string, what string) {
	t.Helper()
	if got := keys(m); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s: fields %v, want exactly %v", what, got, want)
	}
}

// Another caller sees the public profile only; the owner sees the private
// view; GET /v1/me is the owner's view.
func TestUserViews(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice, bob := e.signup("alice"), e.signup("bob")

		other := e.do("GET", "/v1/users/"+alice.ID, bob.Token, nil).expect(t, http.StatusOK).JSON(t)
		wantKeys(t, other, publicKeys, "bob looking up alice")
		if other["id"] != alice.ID || other["username"] != "alice" {
			t.Fatalf("public profile = %v", other)
		}
		byName := e.do("GET", "/v1/users?username=alice", bob.Token, nil).expect(t, http.StatusOK).JSON(t)
		wantKeys(t, byName, publicKeys, "bob looking up alice by username")

		own := e.do("GET", "/v1/users/"+alice.ID, alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		wantKeys(t, own, privateKeys, "alice looking up herself")
		if own["email"] != alice.Email {
			t.Fatalf("own view = %v", own)
		}
		ownByName := e.do("GET", "/v1/users?username=ALICE", alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		wantKeys(t, ownByName, privateKeys, "alice by username")
		me := e.do("GET", "/v1/me", alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		wantKeys(t, me, privateKeys, "GET /v1/me")

		// Unknown, malformed and sequential-looking ids are all just 404.
		for _, id := range []string{"aaaaaaaaaaaaaaaaaaaaaaaaaa", "1", "2", "%00", "1%20OR%201=1"} {
			r := e.do("GET", "/v1/users/"+id, bob.Token, nil)
			if r.Status != http.StatusNotFound && r.Status != http.StatusBadRequest {
				t.Fatalf("lookup of %q: %d %s", id, r.Status, r.Body)
			}
		}
		e.do("GET", "/v1/users?username=nobody", bob.Token, nil).expect(t, http.StatusNotFound)
		e.do("GET", "/v1/users", bob.Token, nil).expect(t, http.StatusBadRequest)
		e.do("GET", "/v1/users?username=a&username=b", bob.Token, nil).expect(t, http.StatusBadRequest)
		e.do("GET", "/v1/users?username=alice&id=x", bob.Token, nil).expect(t, http.StatusBadRequest)

		// Display name changes show up publicly; bad ones change nothing.
		e.do("PATCH", "/v1/me", alice.Token, map[string]string{"display_name": "Alice A."}).expect(t, http.StatusOK)
		e.do("PATCH", "/v1/me", alice.Token, map[string]string{"display_name": "bad\nname"}).expect(t, http.StatusBadRequest)
		got := e.do("GET", "/v1/users/"+alice.ID, bob.Token, nil).expect(t, http.StatusOK).JSON(t)
		if got["display_name"] != "Alice A." {
			t.Fatalf("display name = %v", got["display_name"])
		}
	})
}

// Identifiers are opaque and random: 26 characters of base32, no order.
func TestIdentifiersAreOpaque(t *testing.T) {
	e := newEnv(t, "sqlite")
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		u := e.signup("user" + strconv.Itoa(i))
		if len(u.ID) != 26 || seen[u.ID] || strings.Trim(u.ID, "0123456789") == "" {
			t.Fatalf("id %q is not an opaque 128-bit id", u.ID)
		}
		seen[u.ID] = true
		if len(u.SessionID) != 26 || len(u.Token) != 43 {
			t.Fatalf("session id %q / token length %d", u.SessionID, len(u.Token))
		}
	}
}

func withLookupLimit(rate float64, burst int) envOption {
	return func(sc *service.Config, _ *httpapi.Config) {
		sc.LookupLimit = ratelimit.Limit{Rate: rate, Burst: burst}
	}
}

// A caller walking through other users is throttled with 429 and
// Retry-After; looking oneself up is never throttled.
func TestLookupRateLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, withLookupLimit(1, 10))
		alice, bob := e.signup("alice"), e.signup("bob")
		for i := 0; i < 10; i++ {
			e.do("GET", "/v1/users/"+alice.ID, bob.Token, nil).expect(t, http.StatusOK)
		}
		r := e.do("GET", "/v1/users/"+alice.ID, bob.Token, nil).expect(t, http.StatusTooManyRequests)
		if ra, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || ra < 1 {
			t.Fatalf("Retry-After = %q", r.Header.Get("Retry-After"))
		}
		// Lookups by username and of unknown ids spend the same allowance.
		e.do("GET", "/v1/users?username="+url.QueryEscape("alice"), bob.Token, nil).expect(t, http.StatusTooManyRequests)
		e.do("GET", "/v1/users/aaaaaaaaaaaaaaaaaaaaaaaaaa", bob.Token, nil).expect(t, http.StatusTooManyRequests)
		// Alice's allowance is her own, and her own record is free.
		e.do("GET", "/v1/users/"+bob.ID, alice.Token, nil).expect(t, http.StatusOK)
		for i := 0; i < 20; i++ {
			e.do("GET", "/v1/users/"+bob.ID, bob.Token, nil).expect(t, http.StatusOK)
		}
		// The allowance refills with time.
		e.Clock.Advance(2e9)
		e.do("GET", "/v1/users/"+alice.ID, bob.Token, nil).expect(t, http.StatusOK)
	})
}
