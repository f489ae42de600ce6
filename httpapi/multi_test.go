package httpapi_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/ratelimit/redistest"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
)

// twoInstances starts two servers on one database, each with its own
// connections, caches and clock (set alike), as two vigil processes would
// run behind a load balancer.
func twoInstances(t *testing.T, backend string, opts ...envOption) (*env, *env) {
	return twoInstancesWith(t, backend, nil, nil, opts...)
}

// twoInstancesWith is twoInstances with a limiter for each (nil: memory).
func twoInstancesWith(t *testing.T, backend string, la, lb ratelimit.Limiter, opts ...envOption) (*env, *env) {
	t.Helper()
	dsn := sqltest.DSN(t, backend)
	open := func() *sqlstore.DB { return sqltest.OpenDSN(t, dsn) }
	hasher, err := password.NewHasher(password.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	return newEnvClock(t, open(), hasher, clk, la, opts...), newEnvClock(t, open(), hasher, clk, lb, opts...)
}

// A revocation made on one instance is enforced by another within a
// second: the other instance's copy of the revocations is at most
// RevocationRefresh (500ms) old.
func TestRevocationAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		a, b := twoInstances(t, backend)
		u := a.signup("anna")
		adm := a.admin("root")
		b.do("GET", "/v1/me", u.Token, nil).expect(t, http.StatusOK) // b has the session cached, and the revocations loaded

		a.Clock.Advance(time.Second)
		start := time.Now()
		a.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"sessions"}, "user_ids": []string{u.ID}, "reason": "token stolen",
		}).expect(t, http.StatusCreated)
		a.do("GET", "/v1/me", u.Token, nil).expect(t, http.StatusUnauthorized) // at once where it was made

		deadline := start.Add(time.Second)
		for {
			r := b.do("GET", "/v1/me", u.Token, nil)
			if r.Status == http.StatusUnauthorized {
				break
			}
			r.expect(t, http.StatusOK)
			if time.Now().After(deadline) {
				t.Fatalf("instance b still accepts the revoked session %v after the revocation", time.Since(start))
			}
		}
		t.Logf("enforced on the other instance after %v", time.Since(start))
	})
}

// Two instances, each with its own Redis client, share one lookup limit:
// a caller cannot double its allowance by alternating between them.
func TestRateLimitAcrossInstances(t *testing.T) {
	url := redistest.URL(t)
	prefix := "vigil-test:" + vigil.NewID() + ":" // one namespace, as instances of one deployment share
	limiter := func() ratelimit.Limiter {
		c, err := ratelimit.ParseRedisURL(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return ratelimit.NewRedis(c, ratelimit.WithKeyPrefix(prefix))
	}
	a, b := twoInstancesWith(t, "sqlite", limiter(), limiter(), withLookupLimit(0.001, 10))
	caller, target := a.signup("mallory"), a.signup("anna")
	allowed := 0
	for i := 0; i < 20; i++ {
		e := a
		if i%2 == 1 {
			e = b
		}
		switch r := e.do("GET", "/v1/users/"+target.ID, caller.Token, nil); r.Status {
		case http.StatusOK:
			allowed++
		case http.StatusTooManyRequests:
		default:
			r.expect(t, http.StatusOK)
		}
	}
	if allowed != 10 {
		t.Fatalf("%d lookups allowed across two instances, want the one burst of 10", allowed)
	}
}
