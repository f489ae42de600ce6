package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
)

// behindProxy makes the server believe X-Forwarded-For from loopback, so a
// test can speak from many source addresses.
func behindProxy(_ *service.Config, hc *httpapi.Config) {
	hc.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
}

// loginFrom tries a sign-in from the given source address.
func (e *env) loginFrom(ip, identifier, pw string) *response {
	e.t.Helper()
	b, _ := json.Marshal(map[string]string{"identifier": identifier, "password": pw})
	req, _ := http.NewRequest("POST", e.URL+"/v1/sessions", bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", ip)
	req.Header.Set("User-Agent", "vigil-test/1.0 (X11; Linux x86_64) Firefox/140.0")
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	r := &response{Status: res.StatusCode, Header: res.Header, Body: body}
	e.mu.Lock()
	e.responses = append(e.responses, r)
	if r.Status == http.StatusCreated {
		var s struct{ Token string }
		_ = json.Unmarshal(body, &s)
		e.tokens[s.Token] = r
	}
	e.mu.Unlock()
	return r
}

// Unknown accounts and wrong passwords get the same answer.
func TestLoginFailuresLookAlike(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		wrong := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": "wrong password entirely"})
		unknown := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "nobody", "password": "wrong password entirely"})
		unknownMail := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "nobody@example.com", "password": "x"})
		for _, r := range []*response{wrong, unknown, unknownMail} {
			r.expect(t, http.StatusUnauthorized)
			if !bytes.Equal(r.Body, wrong.Body) {
				t.Fatalf("answers differ: %s vs %s", r.Body, wrong.Body)
			}
		}
		// Email works as identifier, case-insensitively.
		e.login("ALICE@example.com", alice.Password)
	})
}

// Fifty wrong passwords fired at once are all counted; only the free
// allowance is actually checked, the rest are refused with 429.
func TestParallelFailuresAllCounted(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		const n = 50
		var wg sync.WaitGroup
		statuses := make([]int, n)
		start := make(chan struct{})
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				<-start
				b := []byte(`{"identifier":"alice","password":"wrong password number ` + strconv.Itoa(i) + `"}`)
				res, err := e.client.Post(e.URL+"/v1/sessions", "application/json", bytes.NewReader(b))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				statuses[i] = res.StatusCode
			}(i)
		}
		close(start)
		wg.Wait()
		count := map[int]int{}
		for _, s := range statuses {
			count[s]++
		}
		free := e.Service.Config().ThrottleAccountSource.Free
		if count[401] != free || count[429] != n-free {
			t.Fatalf("statuses %v, want %d×401 and %d×429", count, free, n-free)
		}
		st, err := e.Store.ThrottleState(t.Context(), "login-acct:"+alice.ID)
		if err != nil || st.Failures != n {
			t.Fatalf("account counter = %d (%v), want %d", st.Failures, err, n)
		}
		attempts, _, err := e.Store.LoginAttempts(t.Context(), alice.ID, vigil.Page{Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		failed := 0
		for _, a := range attempts {
			if a.Result != vigil.LoginSuccess {
				failed++
			}
		}
		if failed != n {
			t.Fatalf("%d failed attempts recorded, want %d", failed, n)
		}
	})
}

// Failures slow an attacker down with growing waits, but never lock the
// owner out: from another address the owner gets in after at most the
// per-account cap.
func TestThrottleWithoutLockout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, behindProxy)
		alice := e.signup("alice")
		attacker, owner := "203.0.113.9", "198.51.100.7"
		var last *response
		for i := 0; i < 40; i++ {
			last = e.loginFrom(attacker, "alice", "guess number "+strconv.Itoa(i))
			if last.Status != http.StatusUnauthorized && last.Status != http.StatusTooManyRequests {
				t.Fatalf("attempt %d: %d", i, last.Status)
			}
		}
		last.expect(t, http.StatusTooManyRequests)
		ra, _ := strconv.Atoi(last.Header.Get("Retry-After"))
		if ra < 1 {
			t.Fatalf("Retry-After = %q", last.Header.Get("Retry-After"))
		}
		// Even the right password is refused from the attacker's address
		// while blocked: the throttle decides before the password is read.
		e.loginFrom(attacker, "alice", alice.Password).expect(t, http.StatusTooManyRequests)

		// The owner, elsewhere, waits at most the per-account cap.
		e.Clock.Advance(e.Service.Config().ThrottleAccount.Max + time.Second)
		e.loginFrom(owner, "alice", alice.Password).expect(t, http.StatusCreated)
		// The attacker gets one more guess, and then a wait that grew with
		// every failure counted, refused ones included.
		e.loginFrom(attacker, "alice", "one more guess").expect(t, http.StatusUnauthorized)
		r := e.loginFrom(attacker, "alice", "and another").expect(t, http.StatusTooManyRequests)
		if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < 600 {
			t.Fatalf("attacker's wait after 40 failures = %ds, want the long block", ra)
		}
		// A source spraying many accounts is throttled across accounts.
		sprayer := "192.0.2.200"
		refused := false
		for i := 0; i < e.Service.Config().ThrottleSource.Free+1; i++ {
			if e.loginFrom(sprayer, "user"+strconv.Itoa(i), "password guess").Status == http.StatusTooManyRequests {
				refused = true
				break
			}
		}
		if !refused {
			t.Fatal("a source trying many accounts was never throttled")
		}
	})
}

// Login activity lists the owner's attempts, newest first, in pages, and
// nobody else's.
func TestLoginActivity(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice, bob := e.signup("alice"), e.signup("bob")
		for i := 0; i < 3; i++ {
			e.Clock.Advance(time.Second)
			e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": "not the password " + strconv.Itoa(i)})
		}
		var all []map[string]any
		cursor := ""
		for page := 0; page < 10; page++ {
			path := "/v1/me/login-activity?limit=2"
			if cursor != "" {
				path += "&cursor=" + cursor
			}
			r := e.do("GET", path, alice.Token, nil).expect(t, http.StatusOK).JSON(t)
			for _, it := range r["items"].([]any) {
				all = append(all, it.(map[string]any))
			}
			next, _ := r["next_cursor"].(string)
			if next == "" {
				break
			}
			cursor = next
		}
		if len(all) != 4 {
			t.Fatalf("%d attempts listed, want 4 (1 success, 3 failures)", len(all))
		}
		if all[0]["result"] != "failed" || all[3]["result"] != "success" {
			t.Fatalf("order or results wrong: %v", all)
		}
		for _, a := range all {
			if a["device_label"] != "Firefox on Linux" && a["device_label"] != "Go client" || a["ip"] != "127.0.0.1" {
				t.Fatalf("attempt lacks device or ip: %v", a)
			}
		}
		b := e.do("GET", "/v1/me/login-activity", bob.Token, nil).expect(t, http.StatusOK).JSON(t)
		if n := len(b["items"].([]any)); n != 1 {
			t.Fatalf("bob sees %d attempts, want his own 1", n)
		}
	})
}

// A sign-in for an unknown account costs the same password hash as one for
// a known account, so timing does not reveal who has an account. The hash
// here is made costly enough (several ms) to dominate the request; medians
// of repeated attempts are compared.
func TestLoginTimingComparable(t *testing.T) {
	p := password.TestParams()
	p.Memory, p.Iterations = 16*1024, 2
	hasher, err := password.NewHasher(p)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnvWith(t, sqltest.Open(t, "sqlite"), hasher, func(sc *service.Config, _ *httpapi.Config) {
		sc.ThrottleAccount.Free, sc.ThrottleAccountSource.Free, sc.ThrottleSource.Free = 1000, 1000, 1000
	})
	e.signup("alice")
	median := func(identifier string) time.Duration {
		var ds []time.Duration
		for i := 0; i < 15; i++ {
			start := time.Now()
			e.do("POST", "/v1/sessions", "", map[string]string{"identifier": identifier, "password": "wrong password entirely"}).
				expect(t, http.StatusUnauthorized)
			ds = append(ds, time.Since(start))
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	known, unknown := median("alice"), median("nobody")
	if ratio := float64(unknown) / float64(known); ratio < 0.5 || ratio > 2 {
		t.Fatalf("median sign-in time: known account %v, unknown %v (ratio %.2f)", known, unknown, ratio)
	}
}

// Successful sign-ins never count against their source: an office behind
// one address signs in all day.
func TestSuccessesDoNotThrottleASource(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	for i := 0; i < e.Service.Config().ThrottleSource.Free*2; i++ {
		e.login(a.Username, a.Password)
	}
	st, err := e.Store.ThrottleState(t.Context(), "login-src:127.0.0.1")
	if err != nil || st.Failures != 0 {
		t.Fatalf("source counter after only successes = %d (%v)", st.Failures, err)
	}
}

// When the configured argon2id parameters change, a sign-in re-hashes the
// password with the new ones, and the password keeps working.
func TestRehashOnLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		db := sqltest.Open(t, backend)
		old, _ := password.NewHasher(password.TestParams())
		e1 := newEnvWith(t, db, old)
		a := e1.signup("alice")
		before, _ := db.RawQuery(t.Context(), "SELECT password_hash FROM accounts")
		if len(before) != 1 || !strings.Contains(before[0], "m=64,t=1,p=1") {
			t.Fatalf("stored hash before: %q", before)
		}
		p := password.TestParams()
		p.Memory, p.Iterations = 128, 2
		stronger, _ := password.NewHasher(p)
		e2 := newEnvWith(t, db, stronger)
		e2.login(a.Username, a.Password)
		after, _ := db.RawQuery(t.Context(), "SELECT password_hash FROM accounts")
		if len(after) != 1 || !strings.Contains(after[0], "m=128,t=2,p=1") {
			t.Fatal("password not re-hashed with the new parameters")
		}
		e2.login(a.Username, a.Password)
		e1.login(a.Username, a.Password) // old-parameter servers still verify it
	})
}
