package hunt

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Options tune a run. Zero values mean the defaults.
type Options struct {
	// UnsafeMethods replays POST, PUT, PATCH and DELETE too, in the order
	// create, read, update, delete. Only objects the hunt created, or that
	// the config lists in owns, are ever deleted.
	UnsafeMethods bool
	// Rate is the global cap in requests per second (default 50).
	Rate float64
	// Budget is the most requests a run sends, all included: the spec's
	// download, the first request that checks the target answers, sign-ins
	// and bursts (default 20000). When it is spent the run stops sending,
	// judges what it saw and sets Stats.BudgetSpent; it never sends more.
	Budget int
	// Timeout bounds each request (default 10s).
	Timeout time.Duration
	// Concurrency bounds the requests in flight (default 4).
	Concurrency int
	// Burst is how many requests probe an operation for a missing rate
	// limit (default 200); the probe stops at the first 429. Sign-ins are
	// probed with a wrong password, lookups by one identity looking up
	// another's object. It must exceed the target's limits to be useful.
	Burst int
	// Progress, if not nil, is called (never concurrently) as operations
	// finish, with done rising to total.
	Progress func(done, total int)
	// Client sends the requests. nil means a default client. A given client
	// is copied with redirects off (a redirect is an answer to judge, not to
	// follow) and without its cookie jar (identities must not share
	// cookies); its Transport is used as is.
	Client *http.Client
}

// Defaults of Options.
const (
	DefaultRate        = 50
	DefaultBudget      = 20000
	DefaultTimeout     = 10 * time.Second
	DefaultConcurrency = 4
	DefaultBurst       = 200
)

func (o Options) withDefaults() Options {
	if o.Rate <= 0 {
		o.Rate = DefaultRate
	}
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Concurrency <= 0 {
		o.Concurrency = DefaultConcurrency
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	return o
}

// TargetError is a problem with what is hunted rather than with the
// config: an unreachable target, a spec that does not load or validate, an
// identity that cannot sign in.
type TargetError struct {
	Problem string
	Err     error
}

// Error returns the problem and its cause.
func (e *TargetError) Error() string {
	if e.Err == nil {
		return e.Problem
	}
	return e.Problem + ": " + e.Err.Error()
}

// Unwrap returns the cause.
func (e *TargetError) Unwrap() error { return e.Err }

// identity is a configured identity at run time.
type identity struct {
	name   string
	rank   int
	cfg    Identity
	header http.Header // static headers and the bearer token

	mu      sync.Mutex
	created map[string][]string // item template ("/notes/{note_id}") -> ids of the objects hunt created as it
	learned map[string][]string // normalised field name -> values from its own answers
	selfID  string              // its own account id, from its own answers
	views   []*answer           // its own views
	written []string            // values hunt wrote as it
	secrets []string            // its static credentials
	own     map[string]bool     // private-looking values of its own views
}

// hunter is one run.
type hunter struct {
	cfg     *Config
	opts    Options
	base    *url.URL
	client  *http.Client
	limiter *rate.Limiter
	sem     chan struct{}
	stop    context.CancelFunc // ends the run once the budget is spent
	parent  context.Context    // the caller's context: in-flight requests live under it

	sent        atomic.Int64
	budgetSpent atomic.Bool

	ids     []*identity
	byName  map[string]*identity
	idIndex map[string]int
	ops     []*operation

	mu    sync.Mutex
	cands []Finding
	cache map[string]*answer
	reads map[*operation]*readObs

	judged        bool
	signedIn      bool // every identity signed in
	markers       []marker
	markerByValue map[string]*marker

	progressMu sync.Mutex
	done       int
}

// Run hunts the target described by cfg and returns the report: findings
// sorted by severity (highest first), then rule, method and path, each with
// its fingerprint; Stats filled. It returns a *ConfigError for a config
// that does not validate or that names operations the spec lacks, a
// *TargetError for an unreachable target, a spec that does not load or
// validate, or an identity whose sign-in fails, and ctx's error as is when
// ctx ends first. A spent budget is not an error: the report says so.
func Run(ctx context.Context, cfg *Config, opts Options) (*Report, error) {
	if cfg == nil {
		return nil, cfgErr("file", "no config")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	start := time.Now()
	h, err := newHunter(cfg, opts)
	if err != nil {
		return nil, err
	}
	// Spending the budget cancels runCtx, which stops new requests; those
	// already in flight run to their end under ctx and the timeout.
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	h.stop, h.parent = cancel, ctx

	rep, err := h.run(runCtx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if h.budgetSpent.Load() && (errors.Is(err, errBudget) || errors.Is(err, context.Canceled)) {
			// The budget ran out before the hunt could begin in earnest.
			rep = h.report()
		} else {
			return nil, err
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.Stats.Duration = time.Since(start)
	rep.Stats.DurationMS = rep.Stats.Duration.Milliseconds()
	return rep, nil
}

func newHunter(cfg *Config, opts Options) (*hunter, error) {
	opts = opts.withDefaults()
	base, err := url.Parse(strings.TrimRight(cfg.Target, "/"))
	if err != nil {
		return nil, cfgErr("target", "%v", err)
	}
	h := &hunter{
		cfg:     cfg,
		opts:    opts,
		base:    base,
		limiter: rate.NewLimiter(rate.Limit(opts.Rate), 1),
		sem:     make(chan struct{}, opts.Concurrency),
		byName:  map[string]*identity{},
		idIndex: map[string]int{Anonymous: -2, InvalidCredential: -1},
		cache:   map[string]*answer{},
		reads:   map[*operation]*readObs{},
	}
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if opts.Client != nil {
		c := *opts.Client
		c.CheckRedirect = noFollow
		c.Jar = nil
		h.client = &c
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = opts.Concurrency + 2
		h.client = &http.Client{Transport: tr, CheckRedirect: noFollow}
	}
	for i, c := range cfg.Identities {
		id := &identity{name: c.Name, cfg: c, rank: h.rank(c.Role), header: http.Header{},
			created: map[string][]string{}, learned: map[string][]string{}}
		for k, v := range c.Headers {
			id.header.Set(k, v)
		}
		h.ids = append(h.ids, id)
		h.byName[c.Name] = id
		h.idIndex[c.Name] = i
	}
	return h, nil
}

func (h *hunter) run(ctx context.Context) (*Report, error) {
	doc, err := h.loadSpec(ctx)
	if err != nil {
		return nil, err
	}
	h.ops, err = h.buildOps(doc)
	if err != nil {
		return nil, err
	}
	if err := h.reach(ctx); err != nil {
		return nil, err
	}
	for _, id := range h.ids {
		if err := h.signIn(ctx, id); err != nil {
			return nil, err
		}
	}
	h.signedIn = true
	for _, op := range h.ops {
		if op.skipReason != "" || op.login != "" {
			h.progress()
		}
	}
	phases := []func(context.Context){
		h.selfPhase,
		h.createPhase,
		h.readPhase,
		h.judgeReads,
		h.enumeratePhase,
		h.writePhase,
		h.burstPhase,
		h.deletePhase,
	}
	for _, p := range phases {
		if ctx.Err() != nil {
			break
		}
		p(ctx)
	}
	if ctx.Err() != nil && !h.budgetSpent.Load() {
		return nil, ctx.Err()
	}
	// If the budget ran out before the reads were judged, judge what there is.
	h.judgeReads(context.Background())
	// Operations the run did not reach are finished too.
	for h.opts.Progress != nil && h.done < len(h.ops) {
		h.progress()
	}
	return h.report(), nil
}

// reach checks that the target answers at all, so that an unreachable
// target is one clear error rather than a hunt of timeouts.
func (h *hunter) reach(ctx context.Context) error {
	_, err := h.send(ctx, &request{method: "GET", url: h.base.String() + "/", who: Anonymous, limit: 4096})
	if err == nil || ctx.Err() != nil || errors.Is(err, errBudget) {
		return err
	}
	return &TargetError{Problem: fmt.Sprintf("target %s is unreachable", h.cfg.Target), Err: err}
}

// signIn signs id in through its login, if it has one.
func (h *hunter) signIn(ctx context.Context, id *identity) error {
	l := id.cfg.Login
	if l == nil {
		for _, vs := range id.header {
			for _, v := range vs {
				v = strings.TrimSpace(strings.TrimPrefix(v, "Bearer "))
				if len(v) >= 8 {
					id.secrets = append(id.secrets, v)
				}
			}
		}
		return nil
	}
	req, err := h.loginRequest(id)
	if err != nil {
		return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in", id.name), Err: err}
	}
	a, err := h.send(ctx, req)
	if err != nil {
		if ctx.Err() != nil || errors.Is(err, errBudget) {
			return err
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in request %s %s failed", id.name, req.method, l.Path), Err: err}
		}
		return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in failed", id.name), Err: err}
	}
	if a.status/100 != 2 {
		return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in failed: %s %s answered %d", id.name, req.method, l.Path, a.status)}
	}
	if !a.isJSON {
		return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in failed: %s %s answered %d without a JSON body", id.name, req.method, l.Path, a.status)}
	}
	paths := []string{l.Token}
	if l.Token == "" {
		paths = []string{"access_token", "token", "accessToken", "session_token", "session.token"}
	}
	var tok string
	for _, p := range paths {
		if s, ok := dotted(a.doc, p).(string); ok && s != "" {
			tok = s
			break
		}
	}
	if tok == "" {
		return &TargetError{Problem: fmt.Sprintf("identity %s: sign-in failed: the answer of %s %s has no token at %q", id.name, req.method, l.Path, strings.Join(paths, ", "))}
	}
	id.header.Set("Authorization", "Bearer "+tok)
	id.learn(a, false)
	id.addView(a)
	return nil
}

func (h *hunter) loginRequest(id *identity) (*request, error) {
	l := id.cfg.Login
	m := strings.ToUpper(l.Method)
	if m == "" {
		m = "POST"
	}
	u := l.Path
	if !isHTTPURL(u) {
		u = h.base.String() + l.Path
	}
	var body []byte
	if l.Body != nil {
		var err error
		if body, err = json.Marshal(l.Body); err != nil {
			return nil, err
		}
	}
	hdr := http.Header{}
	for k, v := range id.cfg.Headers {
		hdr.Set(k, v)
	}
	return &request{method: m, url: u, who: id.name, header: hdr, body: body}, nil
}

// dotted follows a dotted path ("data.items.0.token") into a JSON value.
func dotted(v any, path string) any {
	for _, seg := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[seg]
		case []any:
			i := 0
			if _, err := fmt.Sscanf(seg, "%d", &i); err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

// userParams are parameter names (normalised) that mean "an account id".
var userParams = map[string]bool{"userid": true, "accountid": true, "uid": true, "memberid": true, "profileid": true, "customerid": true, "personid": true, "user": true, "account": true}

// userCollections are path segments whose {id} is an account id.
var userCollections = map[string]bool{"users": true, "accounts": true, "members": true, "profiles": true, "customers": true, "people": true, "persons": true, "user": true, "account": true}

// selfParents are the objects of an answer whose id is the caller's own.
var selfParents = map[string]bool{"user": true, "account": true, "me": true, "profile": true, "member": true, "principal": true, "identity": true, "subject": true, "data": true, "result": true, "": true}

// learn takes parameter values from one of id's own answers: its account
// id and named fields such as username. top says whether the answer is a
// view of the caller itself (a top-level "id" is then its id).
func (id *identity) learn(a *answer, top bool) {
	if !a.isJSON {
		return
	}
	id.mu.Lock()
	defer id.mu.Unlock()
	var walk func(v any, parent string, depth int)
	walk = func(v any, parent string, depth int) {
		m, ok := v.(map[string]any)
		if !ok || depth > 3 {
			return
		}
		for _, k := range sortedKeys(m) {
			n := normKey(k)
			switch x := m[k].(type) {
			case map[string]any:
				walk(x, n, depth+1)
				continue
			case []any:
				continue
			}
			s := scalarString(m[k])
			if s == "" {
				continue
			}
			switch {
			case n == "id":
				if depth == 0 && top && id.selfID == "" {
					id.selfID = s
				} else if depth > 0 && selfParents[parent] && id.selfID == "" {
					id.selfID = s
				}
			case userParams[n] && n != "user" && n != "account":
				if id.selfID == "" {
					id.selfID = s
				}
				id.addLearned(n, s)
			case secretKey(k):
			default:
				id.addLearned(n, s)
			}
		}
	}
	walk(a.doc, "", 0)
}

func (id *identity) addLearned(n, s string) {
	for _, v := range id.learned[n] {
		if v == s {
			return
		}
	}
	id.learned[n] = append(id.learned[n], s)
}

func (id *identity) addView(a *answer) {
	id.mu.Lock()
	id.views = append(id.views, a)
	id.mu.Unlock()
}

func scalarString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case float64:
		return fmt.Sprintf("%v", x)
	case bool:
		return fmt.Sprint(x)
	case int, int64:
		return fmt.Sprint(x)
	}
	return ""
}

// progress counts one operation finished.
func (h *hunter) progress() {
	if h.opts.Progress == nil {
		return
	}
	h.progressMu.Lock()
	defer h.progressMu.Unlock()
	if h.done < len(h.ops) {
		h.done++
		h.opts.Progress(h.done, len(h.ops))
	}
}

// forEach runs fn over items with at most Concurrency at once, stopping
// early when ctx ends.
func forEach[T any](ctx context.Context, n int, items []T, fn func(T)) {
	var wg sync.WaitGroup
	ch := make(chan T)
	for range min(n, max(len(items), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				if ctx.Err() == nil {
					fn(it)
				}
			}
		}()
	}
	for _, it := range items {
		if ctx.Err() != nil {
			break
		}
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// caller is who a request is sent as.
type caller struct {
	name   string
	header http.Header
	id     *identity // nil for anonymous and the invalid credential
}

func (h *hunter) anon() caller { return caller{name: Anonymous} }

func (id *identity) caller() caller { return caller{name: id.name, header: id.header, id: id} }

// invalid returns a credential like id's that the target cannot accept:
// a bearer token with its signature (or its characters) turned, or id's
// static header values turned.
func (h *hunter) invalid(id *identity) caller {
	hdr := http.Header{}
	if id == nil {
		hdr.Set("Authorization", "Bearer "+tamper("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIwIn0.c2lnbmF0dXJlLW5vdC12YWxpZA"))
		return caller{name: InvalidCredential, header: hdr}
	}
	for k, vs := range id.header {
		for _, v := range vs {
			if strings.EqualFold(k, "Authorization") {
				if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
					v = "Bearer " + tamper(tok)
				} else {
					v = tamper(v)
				}
			} else if secretKey(k) || strings.EqualFold(k, "Cookie") || strings.Contains(strings.ToLower(k), "key") || strings.Contains(strings.ToLower(k), "auth") {
				v = tamper(v)
			}
			hdr.Add(k, v)
		}
	}
	return caller{name: InvalidCredential, header: hdr}
}

// tamper turns a token into a plausible but wrong one: a JWT keeps its
// header and claims and gets a wrong signature; anything else keeps its
// length and alphabet.
func tamper(tok string) string {
	if parts := strings.Split(tok, "."); len(parts) == 3 && parts[2] != "" {
		parts[2] = turn(parts[2])
		return strings.Join(parts, ".")
	}
	return turn(tok)
}

func turn(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= '0' && c <= '9':
			b[i] = '0' + (c-'0'+5)%10
		case c >= 'a' && c <= 'z':
			b[i] = 'a' + (c-'a'+13)%26
		case c >= 'A' && c <= 'Z':
			b[i] = 'A' + (c-'A'+13)%26
		}
	}
	if string(b) == s {
		return s + "x"
	}
	return string(b)
}

// canaryPrefix starts every value hunt writes, so that values left behind
// by an earlier run are recognised for what they are.
const canaryPrefix = "hunt-"

// canary returns a fresh value to write as who: unique, recognisable, and
// private to who once written.
func canary(who string, maxLen int) string {
	var r [5]byte
	_, _ = rand.Read(r[:])
	name := strings.Map(func(c rune) rune {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			return c
		}
		if c >= 'A' && c <= 'Z' {
			return c + 'a' - 'A'
		}
		return -1
	}, who)
	if len(name) > 10 {
		name = name[:10]
	}
	s := canaryPrefix + name + "-" + hex.EncodeToString(r[:])
	if maxLen > 0 && len(s) > maxLen {
		s = "h" + hex.EncodeToString(r[:])
		if len(s) > maxLen {
			s = s[:maxLen]
		}
	}
	return s
}

// observe sends a GET (answers are cached per caller and URL within a run)
// or any other request, and returns the answer or nil when the request
// failed.
func (h *hunter) observe(ctx context.Context, op *operation, c caller, vals map[string]string, body []byte, cached bool) *answer {
	r := h.request(op, c, vals, body)
	key := c.name + " " + r.method + " " + r.url
	if cached && r.method == "GET" {
		h.mu.Lock()
		a, ok := h.cache[key]
		h.mu.Unlock()
		if ok {
			return a
		}
	}
	a, err := h.send(ctx, r)
	if err == nil || !errors.Is(err, errBudget) && ctx.Err() == nil {
		op.sent.Store(true)
	}
	if err != nil {
		return nil
	}
	if cached && r.method == "GET" {
		h.mu.Lock()
		h.cache[key] = a
		h.mu.Unlock()
	}
	return a
}

// request builds the request for op with parameter values vals.
func (h *hunter) request(op *operation, c caller, vals map[string]string, body []byte) *request {
	p := op.path
	q := url.Values{}
	hdr := http.Header{}
	var masks []string
	for _, prm := range op.params {
		v, ok := vals[prm.Name]
		if !ok {
			continue
		}
		if prm.In != "header" && len(classifyAll(prm.Name, v, true)) > 0 {
			masks = append(masks, v)
		}
		switch prm.In {
		case "path":
			p = strings.ReplaceAll(p, "{"+prm.Name+"}", url.PathEscape(v))
		case "query":
			q.Set(prm.Name, v)
		case "header":
			hdr.Set(prm.Name, v)
		}
	}
	for k, vs := range c.header {
		hdr[k] = vs
	}
	u := h.base.String() + p
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return &request{method: op.method, url: u, who: c.name, header: hdr, body: body, masks: masks}
}

// report assembles the findings and stats.
func (h *hunter) report() *Report {
	h.mu.Lock()
	cands := append([]Finding(nil), h.cands...)
	h.mu.Unlock()
	findings := pickFindings(cands)
	st := Stats{Operations: len(h.ops), Requests: int(h.sent.Load()), BudgetSpent: h.budgetSpent.Load()}
	for _, op := range h.ops {
		if op.sent.Load() || op.login != "" && h.signedIn {
			st.Probed++
		} else {
			st.Skipped++
		}
	}
	for _, id := range h.ids {
		if id.header.Get("Authorization") != "" || id.cfg.Login == nil {
			st.Identities++
		}
	}
	st.Findings = len(findings)
	if findings == nil {
		findings = []Finding{}
	}
	return &Report{Target: h.cfg.Target, Spec: h.cfg.Spec, Findings: findings, Stats: st}
}

// pickFindings keeps the strongest finding per rule and operation and
// sorts them.
func pickFindings(cands []Finding) []Finding {
	best := map[string]int{}
	var out []Finding
	for _, f := range cands {
		k := f.Rule + " " + f.Method + " " + f.Path
		i, ok := best[k]
		if !ok {
			best[k] = len(out)
			out = append(out, f)
			continue
		}
		if stronger(f, out[i]) {
			out[i] = f
		}
	}
	for i := range out {
		out[i].Fingerprint = Fingerprint(&out[i])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := SeverityRank(a.Severity), SeverityRank(b.Severity); ra != rb {
			return ra > rb
		}
		if a.Rule != b.Rule {
			return a.Rule < b.Rule
		}
		if a.Method != b.Method {
			return a.Method < b.Method
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return strings.Join(a.Identities, ",") < strings.Join(b.Identities, ",")
	})
	return out
}

func stronger(a, b Finding) bool {
	if (a.Confidence == Confirmed) != (b.Confidence == Confirmed) {
		return a.Confidence == Confirmed
	}
	return SeverityRank(a.Severity) > SeverityRank(b.Severity)
}
