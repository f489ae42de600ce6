package hunt_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/hunt"
	"github.com/vigil-dev/vigil/hunt/internal/vulnapi"
)

const vulnConfigPath = "internal/vulnapi/testdata/hunt.yaml"

// counter wraps a handler and records what reached it.
type counter struct {
	next http.Handler

	mu          sync.Mutex
	n           int
	methods     map[string]int
	times       []time.Time
	inflight    int
	maxInflight int
}

func (c *counter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.n++
	c.methods[r.Method+" "+r.URL.Path]++
	c.times = append(c.times, time.Now())
	c.inflight++
	c.maxInflight = max(c.maxInflight, c.inflight)
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.inflight--
		c.mu.Unlock()
	}()
	c.next.ServeHTTP(w, r)
}

func (c *counter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// MustServe starts h on 127.0.0.1 behind a request counter.
func MustServe(tb testing.TB, h http.Handler) (*httptest.Server, *counter) {
	tb.Helper()
	c := &counter{next: h, methods: map[string]int{}}
	srv := httptest.NewServer(c)
	tb.Cleanup(srv.Close)
	return srv, c
}

// MustVulnConfig loads vulnapi's hunt config aimed at target.
func MustVulnConfig(tb testing.TB, target string) *hunt.Config {
	tb.Helper()
	cfg, err := hunt.LoadConfig(vulnConfigPath)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.Target = target
	return cfg
}

// fast returns options for tests: no rate cap to speak of, a small burst.
func fast(unsafe bool) hunt.Options {
	return hunt.Options{Rate: 1e9, Burst: 40, UnsafeMethods: unsafe, Timeout: 5 * time.Second}
}

// MustHunt hunts a fresh twin of vulnapi.
func MustHunt(tb testing.TB, fixed bool, opts hunt.Options) (*hunt.Report, *counter, *vulnapi.API) {
	tb.Helper()
	api := vulnapi.New(fixed).(*vulnapi.API)
	srv, c := MustServe(tb, api)
	rep, err := hunt.Run(context.Background(), MustVulnConfig(tb, srv.URL), opts)
	if err != nil {
		tb.Fatalf("Run: %v", err)
	}
	return rep, c, api
}

type key struct{ rule, method, path string }

func (k key) String() string { return k.rule + " " + k.method + " " + k.path }

func keys(rep *hunt.Report) []key {
	var out []key
	for _, f := range rep.Findings {
		out = append(out, key{f.Rule, f.Method, f.Path})
	}
	return out
}

// planted lists every flaw of the vulnerable twin with the identities the
// finding must name: the incident's endpoint (four flaws at once, the rows
// of the incident's table: no authentication, private fields and secrets
// in the answer, sequential ids, no lookup limit) and one example of each
// rule.
var planted = map[key][]string{
	{hunt.RuleBrokenAuthentication, "GET", "/api/v1/accounts/get_user_info/"}: {"anonymous", "alice"},
	{hunt.RuleDataExposure, "GET", "/api/v1/accounts/get_user_info/"}:         {"anonymous", "alice"},
	{hunt.RuleEnumerableID, "GET", "/api/v1/accounts/get_user_info/"}:         {"alice"},
	{hunt.RuleNoRateLimit, "GET", "/api/v1/accounts/get_user_info/"}:          {"alice"},
	{hunt.RuleBrokenAuthentication, "GET", "/v1/me"}:                          {"invalid-credential", "alice"},
	{hunt.RulePublicFallback, "GET", "/v1/cards/{username}"}:                  {"anonymous", "alice"},
	{hunt.RuleBOLA, "GET", "/v1/notes/{note_id}"}:                             {"bob", "alice"},
	{hunt.RuleBOLA, "PATCH", "/v1/notes/{note_id}"}:                           {"bob", "alice"},
	{hunt.RuleBFLA, "GET", "/admin/users"}:                                    {"alice", "admin"},
	{hunt.RuleDataExposure, "GET", "/v1/directory"}:                           {"alice", "bob"},
	{hunt.RuleEnumerableID, "GET", "/v1/orders/{order_id}"}:                   {"alice"},
	{hunt.RuleNoRateLimit, "POST", "/auth/login"}:                             {"alice"},
}

func checkExactly(t *testing.T, rep *hunt.Report, want map[key][]string) {
	t.Helper()
	got := map[key]hunt.Finding{}
	for _, f := range rep.Findings {
		k := key{f.Rule, f.Method, f.Path}
		if _, dup := got[k]; dup {
			t.Errorf("two findings for %s", k)
		}
		got[k] = f
	}
	for k, ids := range want {
		f, ok := got[k]
		if !ok {
			t.Errorf("missing finding %s", k)
			continue
		}
		if f.Confidence != hunt.Confirmed {
			t.Errorf("%s: confidence %s, want confirmed (proof: %s)", k, f.Confidence, f.Evidence.Proof)
		}
		if !slices.Equal(f.Identities, ids) {
			t.Errorf("%s: identities %v, want %v", k, f.Identities, ids)
		}
		if f.Evidence.Request == "" || f.Evidence.Proof == "" || f.Fix == "" || f.Title == "" || f.Fingerprint == "" {
			t.Errorf("%s: incomplete finding %+v", k, f)
		}
	}
	for k, f := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected finding %s (%s, %s): %s — %s", k, f.Severity, f.Confidence, f.Title, f.Evidence.Proof)
		}
	}
}

// Hunting the vulnerable twin reports every planted flaw, each by its rule,
// confirmed, and nothing else.
func TestHuntVulnerable(t *testing.T) {
	rep, _, _ := MustHunt(t, false, fast(true))
	checkExactly(t, rep, planted)

	sev := map[key]string{}
	for _, f := range rep.Findings {
		sev[key{f.Rule, f.Method, f.Path}] = f.Severity
	}
	// The incident's case is critical.
	if s := sev[key{hunt.RuleBrokenAuthentication, "GET", "/api/v1/accounts/get_user_info/"}]; s != hunt.SeverityCritical {
		t.Errorf("the incident's endpoint is %q, want critical", s)
	}
	st := rep.Stats
	if st.Operations != 19 || st.Probed != 19 || st.Skipped != 0 || st.Identities != 3 || st.Findings != len(planted) || st.BudgetSpent {
		t.Errorf("stats = %+v", st)
	}
	if !sort.SliceIsSorted(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if ra, rb := hunt.SeverityRank(a.Severity), hunt.SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		return a.Path < b.Path
	}) {
		t.Errorf("findings are not sorted by severity, rule, method, path: %v", keys(rep))
	}
}

// Hunting the fixed twin — same routes, same document — reports nothing.
func TestHuntFixed(t *testing.T) {
	rep, _, _ := MustHunt(t, true, fast(true))
	for _, f := range rep.Findings {
		t.Errorf("unexpected finding on the fixed twin: %s %s %s (%s): %s — %s", f.Rule, f.Method, f.Path, f.Confidence, f.Title, f.Evidence.Proof)
	}
	if rep.Stats.Probed != rep.Stats.Operations || rep.Stats.Findings != 0 {
		t.Errorf("stats = %+v", rep.Stats)
	}
}

// By default only safe methods are replayed: the one unsafe request is
// the configured sign-in (and its rate-limit burst), and every read flaw is
// still found.
func TestHuntSafeByDefault(t *testing.T) {
	rep, c, _ := MustHunt(t, false, fast(false))
	for m, n := range c.methods {
		if !strings.HasPrefix(m, "GET ") && m != "POST /auth/login" {
			t.Errorf("%d × %s sent without unsafe methods", n, m)
		}
	}
	want := map[key][]string{}
	for k, v := range planted {
		if k.method != "PATCH" {
			want[k] = v
		}
	}
	checkExactly(t, rep, want)
	if rep.Stats.Skipped != 4 { // POST /v1/notes, PATCH and DELETE /v1/notes/{note_id}, PUT preferences
		t.Errorf("skipped %d operations, want 4 (the unsafe ones but sign-in)", rep.Stats.Skipped)
	}
}

// Each trap of the vulnerable twin stays quiet, by its own reason.
func TestTrapsStayQuiet(t *testing.T) {
	traps := []struct{ name, method, path string }{
		{"a truly public endpoint", "GET", "/health"},
		{"an endpoint that answers everyone alike with nothing private", "GET", "/v1/announcements"},
		{"a redirect to the login page", "GET", "/account/settings"},
		{"a write that answers 204 but changes only the caller's own object", "PUT", "/v1/accounts/{account_id}/preferences"},
		{"its read side", "GET", "/v1/accounts/{account_id}/preferences"},
		{"a public profile any signed-in user may see of others", "GET", "/v1/users/{username}"},
		{"an admin operation declared by x-required-role only", "GET", "/admin/audit"},
		{"a delete scoped to the owner", "DELETE", "/v1/notes/{note_id}"},
		{"the caller's own notes", "GET", "/v1/notes"},
		{"a create", "POST", "/v1/notes"},
	}
	rep, c, _ := MustHunt(t, false, fast(true))
	// A client that follows redirects is given: hunt must still see the 302.
	follow, cf, _ := MustHunt(t, false, func() hunt.Options { o := fast(true); o.Client = &http.Client{}; return o }())
	for _, tr := range traps {
		t.Run(tr.name, func(t *testing.T) {
			for _, r := range []*hunt.Report{rep, follow} {
				for _, f := range r.Findings {
					if f.Method == tr.method && f.Path == tr.path {
						t.Errorf("%s %s reported: %s (%s): %s", f.Rule, f.Method, f.Path, f.Confidence, f.Evidence.Proof)
					}
				}
			}
		})
	}
	// The traps were exercised, not skipped.
	for _, m := range []string{"GET /account/settings", "PUT /v1/accounts/1/preferences", "GET /v1/users/bob", "GET /admin/audit"} {
		if c.methods[m] == 0 || cf.methods[m] == 0 {
			t.Errorf("%s was never sent", m)
		}
	}
	if c.methods["GET /login"] != 0 || cf.methods["GET /login"] != 0 {
		t.Errorf("hunt followed the redirect to /login")
	}
}

// Evidence never holds a secret: no credential, and private values only as
// a masked prefix.
func TestEvidenceIsRedacted(t *testing.T) {
	rep, _, api := MustHunt(t, false, fast(true))
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	out := string(b)
	for _, s := range api.Secrets() {
		if strings.Contains(out, s) {
			t.Errorf("the report carries the secret %q", s)
		}
	}
	for _, s := range []string{"Authorization", "Bearer ey", "Cookie"} {
		if strings.Contains(out, s) {
			t.Errorf("the report mentions %q", s)
		}
	}
	// Still recognisable: masked to a prefix and "…".
	if !strings.Contains(out, `a…@vulnapi.example.com`) || !strings.Contains(out, `$argon2id$…`) {
		t.Errorf("masked values missing from the evidence: %s", out)
	}
}

// Fingerprints depend on rule, method, path template and identities only,
// so two runs (fresh servers, fresh tokens, fresh ids) agree.
func TestFingerprintsAreStable(t *testing.T) {
	a, _, _ := MustHunt(t, false, fast(true))
	b, _, _ := MustHunt(t, false, fast(true))
	fa, fb := map[string]bool{}, map[string]bool{}
	for _, f := range a.Findings {
		fa[f.Fingerprint] = true
		if f.Fingerprint != hunt.Fingerprint(&f) {
			t.Errorf("%s: fingerprint %s is not Fingerprint(f)", f.Title, f.Fingerprint)
		}
	}
	for _, f := range b.Findings {
		fb[f.Fingerprint] = true
	}
	if len(fa) != len(planted) || fmt.Sprint(sortedSet(fa)) != fmt.Sprint(sortedSet(fb)) {
		t.Errorf("fingerprints differ between runs:\n%v\n%v", sortedSet(fa), sortedSet(fb))
	}

	f := hunt.Finding{Rule: hunt.RuleBOLA, Method: "GET", Path: "/v1/notes/{id}", Identities: []string{"bob", "alice"},
		Evidence: hunt.Evidence{Request: "GET /v1/notes/1 as bob", Excerpt: "x"}}
	g := f
	g.Evidence = hunt.Evidence{Request: "GET /v1/notes/2 as bob", Excerpt: "y", Status: 200}
	g.Title, g.Severity = "other", hunt.SeverityLow
	if hunt.Fingerprint(&f) != hunt.Fingerprint(&g) {
		t.Errorf("the fingerprint depends on evidence")
	}
	for _, h := range []hunt.Finding{
		{Rule: hunt.RuleBFLA, Method: f.Method, Path: f.Path, Identities: f.Identities},
		{Rule: f.Rule, Method: "PUT", Path: f.Path, Identities: f.Identities},
		{Rule: f.Rule, Method: f.Method, Path: "/v1/notes/{note}", Identities: f.Identities},
		{Rule: f.Rule, Method: f.Method, Path: f.Path, Identities: []string{"alice", "bob"}},
	} {
		if hunt.Fingerprint(&h) == hunt.Fingerprint(&f) {
			t.Errorf("%+v has the same fingerprint as %+v", h, f)
		}
	}
	if fp := hunt.Fingerprint(&f); len(fp) != 32 || strings.Trim(fp, "0123456789abcdef") != "" {
		t.Errorf("fingerprint %q is not 32 hex digits", fp)
	}
}

func sortedSet(m map[string]bool) []string {
	var s []string
	for k := range m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// The budget is never exceeded, whatever it is: counted at the server.
func TestBudgetNeverExceeded(t *testing.T) {
	for _, budget := range []int{1, 2, 3, 7, 25, 100, 180} {
		t.Run(fmt.Sprint(budget), func(t *testing.T) {
			srv, c := MustServe(t, vulnapi.New(false))
			o := fast(true)
			o.Budget = budget
			rep, err := hunt.Run(context.Background(), MustVulnConfig(t, srv.URL), o)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if n := c.count(); n > budget {
				t.Errorf("the server got %d requests, budget %d", n, budget)
			}
			if rep.Stats.Requests != c.count() {
				t.Errorf("Stats.Requests = %d, the server counted %d", rep.Stats.Requests, c.count())
			}
			if !rep.Stats.BudgetSpent {
				t.Errorf("BudgetSpent not set after a budget of %d", budget)
			}
		})
	}
	// A budget large enough is not reported as spent.
	rep, c, _ := MustHunt(t, false, fast(true))
	if rep.Stats.BudgetSpent || rep.Stats.Requests != c.count() {
		t.Errorf("stats = %+v, server counted %d", rep.Stats, c.count())
	}
}

// The global rate cap holds: n requests take at least (n-1)/rate.
func TestRateCap(t *testing.T) {
	const rate, budget = 250.0, 60
	srv, c := MustServe(t, vulnapi.New(true))
	o := fast(false)
	o.Rate, o.Budget = rate, budget
	if _, err := hunt.Run(context.Background(), MustVulnConfig(t, srv.URL), o); err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.times) != budget {
		t.Fatalf("%d requests, want the whole budget %d", len(c.times), budget)
	}
	// The limiter spaces the sends; arrivals at the server may jitter a
	// little, hence the 20% margin.
	span := c.times[len(c.times)-1].Sub(c.times[0])
	if min := time.Duration(float64(budget-1) / rate * float64(time.Second)); span < min*8/10 {
		t.Errorf("%d requests took %v; the cap of %v/s allows no less than %v", budget, span, rate, min)
	}
}

// At most Concurrency requests are in flight.
func TestConcurrencyBound(t *testing.T) {
	for _, n := range []int{1, 3} {
		srv, c := MustServe(t, vulnapi.New(false))
		o := fast(true)
		o.Concurrency = n
		if _, err := hunt.Run(context.Background(), MustVulnConfig(t, srv.URL), o); err != nil {
			t.Fatal(err)
		}
		if c.maxInflight > n {
			t.Errorf("%d requests in flight at once, bound %d", c.maxInflight, n)
		}
	}
}

// A request that hangs is cut at Timeout and does not stall the hunt.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	api := vulnapi.New(false)
	hang := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/announcements" {
			select {
			case <-release:
			case <-r.Context().Done():
			}
			return
		}
		api.ServeHTTP(w, r)
	})
	srv, _ := MustServe(t, hang)
	o := fast(true)
	o.Timeout = 200 * time.Millisecond
	start := time.Now()
	rep, err := hunt.Run(context.Background(), MustVulnConfig(t, srv.URL), o)
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hunt took %v", d)
	}
	// Everything else is still judged.
	if len(rep.Findings) != len(planted) {
		t.Errorf("%d findings, want %d", len(rep.Findings), len(planted))
	}
}

// Progress rises by one per operation to the total.
func TestProgress(t *testing.T) {
	var mu sync.Mutex
	var calls [][2]int
	o := fast(true)
	o.Progress = func(done, total int) {
		mu.Lock()
		calls = append(calls, [2]int{done, total})
		mu.Unlock()
	}
	rep, _, _ := MustHunt(t, false, o)
	if len(calls) != rep.Stats.Operations {
		t.Fatalf("%d progress calls for %d operations", len(calls), rep.Stats.Operations)
	}
	for i, c := range calls {
		if c[0] != i+1 || c[1] != rep.Stats.Operations {
			t.Fatalf("call %d = %v", i, c)
		}
	}
}

// A cancelled context ends the run with its error.
func TestContextCancelled(t *testing.T) {
	srv, _ := MustServe(t, vulnapi.New(false))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := hunt.Run(ctx, MustVulnConfig(t, srv.URL), fast(true))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// An unreachable target is one clear TargetError.
func TestUnreachableTarget(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = hunt.Run(context.Background(), MustVulnConfig(t, "http://"+addr), fast(false))
	var te *hunt.TargetError
	if !errors.As(err, &te) || !strings.Contains(te.Error(), "unreachable") || !strings.Contains(te.Error(), addr) {
		t.Errorf("err = %v, want a TargetError saying %s is unreachable", err, addr)
	}
}

// An identity whose sign-in fails stops the hunt with a TargetError naming
// it.
func TestLoginFails(t *testing.T) {
	srv, _ := MustServe(t, vulnapi.New(false))
	for name, mutate := range map[string]func(*hunt.Config){
		"wrong password": func(c *hunt.Config) {
			c.Identities[1].Login.Body = map[string]any{"username": "bob", "password": "nope"}
		},
		"no token":     func(c *hunt.Config) { c.Identities[1].Login.Token = "session.secret" },
		"no such path": func(c *hunt.Config) { c.Identities[1].Login.Path = "/auth/nowhere" },
	} {
		t.Run(name, func(t *testing.T) {
			cfg := MustVulnConfig(t, srv.URL)
			mutate(cfg)
			_, err := hunt.Run(context.Background(), cfg, fast(false))
			var te *hunt.TargetError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "identity bob") {
				t.Errorf("err = %v, want a TargetError naming identity bob", err)
			}
		})
	}
}

// A spec that does not load or validate is a TargetError; a spec served
// over HTTP loads and counts as a request.
func TestSpecErrors(t *testing.T) {
	api := vulnapi.New(true)
	srv, c := MustServe(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/openapi.json":
			w.Header().Set("Content-Type", "application/json")
			w.Write(vulnapi.Spec())
		case "/missing.json":
			http.NotFound(w, r)
		default:
			api.ServeHTTP(w, r)
		}
	}))
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for name, spec := range map[string]string{
		"not JSON or YAML": write("bad.json", "{ this is not"),
		"no paths":         write("empty.json", `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{}}`),
		"invalid":          write("invalid.json", `{"openapi":"3.0.3","info":{"title":"x","version":"1"},"paths":{"/a":{"get":{"responses":{"200":{"$ref":"#/components/responses/nope"}}}}}}`),
		"missing file":     filepath.Join(dir, "nope.json"),
		"URL answers 404":  srv.URL + "/missing.json",
	} {
		t.Run(name, func(t *testing.T) {
			cfg := MustVulnConfig(t, srv.URL)
			cfg.Spec = spec
			_, err := hunt.Run(context.Background(), cfg, fast(false))
			var te *hunt.TargetError
			if !errors.As(err, &te) || !strings.Contains(err.Error(), "spec") {
				t.Errorf("err = %v, want a TargetError about the spec", err)
			}
		})
	}
	t.Run("URL", func(t *testing.T) {
		before := c.count()
		cfg := MustVulnConfig(t, srv.URL)
		cfg.Spec = srv.URL + "/openapi.json"
		rep, err := hunt.Run(context.Background(), cfg, fast(false))
		if err != nil {
			t.Fatal(err)
		}
		if rep.Stats.Operations != 19 || len(rep.Findings) != 0 || rep.Stats.Requests != c.count()-before {
			t.Errorf("stats %+v, findings %d, server counted %d", rep.Stats, len(rep.Findings), c.count()-before)
		}
	})
}

// The config must name operations the spec has.
func TestConfigNamesUnknownOperation(t *testing.T) {
	srv, _ := MustServe(t, vulnapi.New(true))
	cfg := MustVulnConfig(t, srv.URL)
	cfg.Requires["GET /admin/userz"] = "admin"
	_, err := hunt.Run(context.Background(), cfg, fast(false))
	var ce *hunt.ConfigError
	if !errors.As(err, &ce) || ce.Key != "requires.GET /admin/userz" {
		t.Errorf("err = %v, want a ConfigError for requires.GET /admin/userz", err)
	}
}

// Run validates a config built in code.
func TestRunValidatesConfig(t *testing.T) {
	_, err := hunt.Run(context.Background(), &hunt.Config{Spec: "x.json"}, hunt.Options{})
	var ce *hunt.ConfigError
	if !errors.As(err, &ce) || ce.Key != "target" {
		t.Errorf("err = %v, want a ConfigError for target", err)
	}
	if _, err := hunt.Run(context.Background(), nil, hunt.Options{}); !errors.As(err, &ce) {
		t.Errorf("nil config: err = %v", err)
	}
}
