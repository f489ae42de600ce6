package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/password"
)

// benchConfig is everything `vigil bench` can be told.
type benchConfig struct {
	Target           string
	MailDir          string
	Accounts         int
	Concurrency      string // comma-separated levels for the lookup phase
	LoginConcurrency int
	Duration         time.Duration
	Warmup           time.Duration

	Argon2Memory      uint
	Argon2Iterations  uint
	Argon2Parallelism uint

	ForwardedFor bool
	AllowRemote  bool
	JSON         bool
}

// Bounds that keep one bench run finite and modest whatever it is told.
const (
	benchMaxAccounts    = 10000
	benchMaxConcurrency = 4096
	benchMaxDuration    = time.Hour
	benchMaxWarmup      = 10 * time.Minute
	// benchGrace is how long a request may run past the end of its phase
	// before it is cancelled; such a request is not counted.
	benchGrace = 10 * time.Second
)

func defaultBenchConfig() benchConfig {
	pp := password.DefaultParams()
	return benchConfig{
		Target:            "http://127.0.0.1:8080",
		MailDir:           DefaultConfig().MailDir,
		Accounts:          64,
		Concurrency:       "16,64",
		LoginConcurrency:  runtime.GOMAXPROCS(0),
		Duration:          10 * time.Second,
		Warmup:            2 * time.Second,
		Argon2Memory:      uint(pp.Memory),
		Argon2Iterations:  uint(pp.Iterations),
		Argon2Parallelism: uint(pp.Parallelism),
		ForwardedFor:      true,
	}
}

func benchFlags(fs *flag.FlagSet, c *benchConfig) {
	fs.StringVar(&c.Target, "target", c.Target, "base URL of the running server to load")
	fs.StringVar(&c.MailDir, "mail-dir", c.MailDir, "the server's --mail-dir, where the bench reads verification codes")
	fs.IntVar(&c.Accounts, "accounts", c.Accounts, "accounts to sign up, verify and sign in before measuring (at least 2)")
	fs.StringVar(&c.Concurrency, "concurrency", c.Concurrency, "comma-separated concurrency levels for GET /v1/users/{id}")
	fs.IntVar(&c.LoginConcurrency, "login-concurrency", c.LoginConcurrency, "concurrent sign-ins, and concurrent in-process argon2id hashes to compare with")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "measured time per phase")
	fs.DurationVar(&c.Warmup, "warmup", c.Warmup, "unmeasured time before each phase")
	fs.UintVar(&c.Argon2Memory, "argon2-memory", c.Argon2Memory, "argon2id memory in KiB: the server's value")
	fs.UintVar(&c.Argon2Iterations, "argon2-iterations", c.Argon2Iterations, "argon2id passes: the server's value")
	fs.UintVar(&c.Argon2Parallelism, "argon2-parallelism", c.Argon2Parallelism, "argon2id lanes: the server's value")
	fs.BoolVar(&c.ForwardedFor, "forwarded-for", c.ForwardedFor, "send sign-ups and sign-ins with X-Forwarded-For addresses from 198.18.0.0/15 (RFC 2544 benchmarking range), "+
		"so a server started with --trusted-proxies 127.0.0.1/32 sees many clients and its per-source limits do not cap the bench; other servers ignore it")
	fs.BoolVar(&c.AllowRemote, "allow-remote", c.AllowRemote, "allow a target that is not a loopback address")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print the report as JSON instead of a table")
}

// benchLevels parses --concurrency.
func (c *benchConfig) levels() ([]int, error) {
	var out []int
	for _, s := range strings.Split(c.Concurrency, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > benchMaxConcurrency {
			return nil, &ConfigError{Setting: "concurrency", Problem: fmt.Sprintf("%q is not a whole number from 1 to %d", s, benchMaxConcurrency)}
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, &ConfigError{Setting: "concurrency", Problem: "give at least one level, like 16,64"}
	}
	return out, nil
}

// argon2Params returns the parameters to hash with, or a *ConfigError naming
// the flag that puts them out of password's bounds.
func (c *benchConfig) argon2Params() (password.Params, error) {
	p := password.DefaultParams()
	p.Memory = uint32(min(c.Argon2Memory, math.MaxUint32))
	p.Iterations = uint32(min(c.Argon2Iterations, math.MaxUint32))
	p.Parallelism = uint8(min(c.Argon2Parallelism, math.MaxUint8)) // 255 is still out of bounds
	err := p.Validate()
	if err == nil {
		return p, nil
	}
	setting := "argon2-memory" // also for too little memory per lane
	switch {
	case p.Memory < password.MinMemory || p.Memory > password.MaxMemory:
	case p.Iterations < password.MinIterations || p.Iterations > password.MaxIterations:
		setting = "argon2-iterations"
	case p.Parallelism < password.MinParallelism || p.Parallelism > password.MaxParallelism:
		setting = "argon2-parallelism"
	}
	return p, &ConfigError{Setting: setting, Problem: err.Error()}
}

// validate checks c and returns the target URL and the lookup levels.
func (c *benchConfig) validate() (*url.URL, []int, error) {
	bad := func(s, p string) error { return &ConfigError{Setting: s, Problem: p} }
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, nil, bad("target", "must be an absolute http(s) URL like http://127.0.0.1:8080")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	levels, err := c.levels()
	if err != nil {
		return nil, nil, err
	}
	switch {
	case c.MailDir == "":
		return nil, nil, bad("mail-dir", "must name the server's mail directory")
	case c.Accounts < 2 || c.Accounts > benchMaxAccounts:
		return nil, nil, bad("accounts", fmt.Sprintf("must be from 2 to %d", benchMaxAccounts))
	case c.LoginConcurrency < 1 || c.LoginConcurrency > benchMaxConcurrency:
		return nil, nil, bad("login-concurrency", fmt.Sprintf("must be from 1 to %d", benchMaxConcurrency))
	case c.Duration <= 0 || c.Duration > benchMaxDuration:
		return nil, nil, bad("duration", fmt.Sprintf("must be more than 0 and at most %s", benchMaxDuration))
	case c.Warmup < 0 || c.Warmup > benchMaxWarmup:
		return nil, nil, bad("warmup", fmt.Sprintf("must be from 0 to %s", benchMaxWarmup))
	}
	if _, err := c.argon2Params(); err != nil {
		return nil, nil, err
	}
	return u, levels, nil
}

// benchReport is the outcome of one bench run; --json prints it as is.
type benchReport struct {
	Target     string  `json:"target"`
	Accounts   int     `json:"accounts"`
	WarmupSec  float64 `json:"warmup_seconds"`
	DurationS  float64 `json:"duration_seconds"`
	GOMAXPROCS int     `json:"gomaxprocs"`
	// SourcesSpread is true when the server took the bench's X-Forwarded-For
	// as the client address, so its per-source limits saw many clients.
	SourcesSpread bool `json:"sources_spread"`

	Lookups       []benchPhase `json:"lookups"`
	Lookup429     int          `json:"lookup_429_total"`
	Logins        benchPhase   `json:"logins"`
	Hashes        benchPhase   `json:"hashes"`
	Argon2        argon2Report `json:"argon2"`
	LoginHashRate float64      `json:"login_to_hash_ratio"` // logins/s over hashes/s
}

type argon2Report struct {
	MemoryKiB   uint32 `json:"memory_kib"`
	Iterations  uint32 `json:"iterations"`
	Parallelism uint8  `json:"parallelism"`
}

// benchPhase is one measured phase at one concurrency. Latencies are those of
// the 2xx answers completed within the measured window, in milliseconds.
type benchPhase struct {
	Concurrency int     `json:"concurrency"`
	OK          int     `json:"ok"` // 2xx answers (or hashes) in the window
	PerSecond   float64 `json:"per_second"`
	P50ms       float64 `json:"p50_ms"`
	P90ms       float64 `json:"p90_ms"`
	P99ms       float64 `json:"p99_ms"`
	MaxMs       float64 `json:"max_ms"`
	Non2xx      int     `json:"non_2xx"` // includes the 429s
	Status429   int     `json:"status_429"`
	Errors      int     `json:"errors"` // transport errors: no answer at all
	// BenchCPU is the bench process's CPU time over the phase's wall time,
	// in cores: what the bench itself took from a machine it shares with the
	// server. Zero where it cannot be measured.
	BenchCPU float64 `json:"bench_cpu_cores"`
}

func runBench(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := defaultBenchConfig()
	fs := flag.NewFlagSet("vigil bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	benchFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `Usage: vigil bench [flags]

Load-tests a RUNNING vigil server on this machine: signs up --accounts users
through the API (reading their codes from the server's --mail-dir), then
measures authenticated GET /v1/users/{id} at each --concurrency level and
POST /v1/sessions next to raw argon2id hashing in this process. It stops by
itself after roughly (levels+2) x (warmup+duration) plus set-up, and refuses
targets that are not loopback unless --allow-remote is given.

Start the server with --trusted-proxies 127.0.0.1/32 (so the bench's
X-Forwarded-For spreads its sign-ups and sign-ins over many sources) and with
--lookup-rate/--lookup-burst high enough not to measure the rate limiter.

Flags, with their environment twins and defaults:`)
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, getenv, nil); err != nil {
		return err
	}
	base, levels, err := cfg.validate()
	if err != nil {
		return err
	}
	params, _ := cfg.argon2Params()
	if !cfg.AllowRemote {
		if err := checkLoopback(ctx, base.Hostname()); err != nil {
			return err
		}
	}
	b := &bench{cfg: cfg, base: base.String(), params: params, log: stderr, nextAddr: mrand.Uint32()}
	rep, err := b.run(ctx, levels)
	if err != nil {
		return err
	}
	if cfg.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBenchReport(stdout, rep)
	return nil
}

// checkLoopback refuses a host that is not, or does not resolve only to,
// loopback addresses. The dialer checks every connection again (loopbackOnly).
func checkLoopback(ctx context.Context, host string) error {
	bad := &ConfigError{Setting: "target", Problem: fmt.Sprintf("%s is not a loopback address; this bench only loads loopback unless --allow-remote is given", host)}
	if a, err := netip.ParseAddr(host); err == nil {
		if !a.Unmap().IsLoopback() {
			return bad
		}
		return nil
	}
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return &ConfigError{Setting: "target", Problem: fmt.Sprintf("cannot resolve %s", host)}
	}
	for _, a := range addrs {
		if !a.Unmap().IsLoopback() {
			return bad
		}
	}
	return nil
}

// loopbackOnly is a net.Dialer Control hook that refuses any connection to
// an address that is not loopback, whatever the URL, DNS or a redirect say.
func loopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err == nil {
		if a, perr := netip.ParseAddr(host); perr == nil && a.Unmap().IsLoopback() {
			return nil
		}
	}
	return fmt.Errorf("bench: refusing to connect to %s: not a loopback address (see --allow-remote)", address)
}

// bench is one run against one target.
type bench struct {
	cfg    benchConfig
	base   string
	params password.Params
	log    io.Writer

	nextAddr uint32 // X-Forwarded-For counter, started at random
	accts    []*benchAccount
}

type benchAccount struct {
	Username, Email, Password, ID, Token string
	loginBody                            []byte
	addr                                 string // X-Forwarded-For of its set-up requests
}

// client returns an HTTP client for conns concurrent requests to one host:
// keep-alive, that many idle connections kept, no proxy, no compression, no
// redirects, and, without --allow-remote, loopback only.
func (b *bench) client(conns int) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	if !b.cfg.AllowRemote {
		d.Control = loopbackOnly
	}
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         d.DialContext,
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
		DisableCompression:  true,
	}
	return &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// forwardedFor returns the next address of 198.18.0.0/15 to present as the
// client, or "" without --forwarded-for.
func (b *bench) forwardedFor() string {
	if !b.cfg.ForwardedFor {
		return ""
	}
	const size = 1<<17 - 2 // 198.18.0.1 .. 198.19.255.254
	n := atomic.AddUint32(&b.nextAddr, 1)%size + 1
	v := (198<<24 | 18<<16) + n
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}).String()
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

func (b *bench) run(ctx context.Context, levels []int) (*benchReport, error) {
	rep := &benchReport{
		Target: b.base, Accounts: b.cfg.Accounts, WarmupSec: b.cfg.Warmup.Seconds(), DurationS: b.cfg.Duration.Seconds(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
		Argon2:     argon2Report{MemoryKiB: b.params.Memory, Iterations: b.params.Iterations, Parallelism: b.params.Parallelism},
	}
	setup := b.client(b.cfg.LoginConcurrency)
	defer setup.CloseIdleConnections()
	if err := b.setup(ctx, setup); err != nil {
		return nil, err
	}
	spread, err := b.sourcesSpread(ctx, setup)
	if err != nil {
		return nil, err
	}
	rep.SourcesSpread = spread
	if !spread {
		b.logf("the server sees every request from one address: its per-source sign-in throttle will refuse logins after about 100 an hour; " +
			"start it with --trusted-proxies 127.0.0.1/32 to spread them")
	}

	for _, c := range levels {
		if c > len(b.accts) {
			b.logf("concurrency %d is above --accounts %d: some workers share an account's token", c, len(b.accts))
		}
		b.logf("GET /v1/users/{id} at concurrency %d for %s + %s", c, b.cfg.Warmup, b.cfg.Duration)
		ph, err := b.lookups(ctx, c)
		if err != nil {
			return nil, err
		}
		rep.Lookups = append(rep.Lookups, ph)
		rep.Lookup429 += ph.Status429
	}

	c := b.cfg.LoginConcurrency
	b.logf("POST /v1/sessions at concurrency %d for %s + %s", c, b.cfg.Warmup, b.cfg.Duration)
	if rep.Logins, err = b.logins(ctx, c); err != nil {
		return nil, err
	}
	b.logf("argon2id in process at concurrency %d for %s + %s", c, b.cfg.Warmup, b.cfg.Duration)
	if rep.Hashes, err = b.hashes(ctx, c); err != nil {
		return nil, err
	}
	if rep.Hashes.PerSecond > 0 {
		rep.LoginHashRate = rep.Logins.PerSecond / rep.Hashes.PerSecond
	}
	return rep, nil
}

// setup signs up, verifies and signs in --accounts accounts with fresh
// names, so that runs against the same server never collide.
func (b *bench) setup(ctx context.Context, hc *http.Client) error {
	if err := b.health(ctx, hc); err != nil {
		return err
	}
	run := make([]byte, 4)
	_, _ = rand.Read(run)
	runID := hex.EncodeToString(run)
	b.accts = make([]*benchAccount, b.cfg.Accounts)
	for i := range b.accts {
		pw := make([]byte, 18)
		_, _ = rand.Read(pw)
		name := fmt.Sprintf("bench-%s-%04d", runID, i)
		b.accts[i] = &benchAccount{Username: name, Email: name + "@bench.example", Password: "pw-" + hex.EncodeToString(pw), addr: b.forwardedFor()}
	}
	start := time.Now()
	b.logf("signing up %d accounts (run %s)", len(b.accts), runID)
	err := b.each(ctx, func(a *benchAccount) error {
		st, prob, err := b.call(ctx, hc, "POST", "/v1/accounts", "", a.addr,
			map[string]string{"username": a.Username, "email": a.Email, "password": a.Password}, nil)
		switch {
		case err != nil:
			return fmt.Errorf("sign-up of %s: %w", a.Username, err)
		case st == http.StatusTooManyRequests:
			return fmt.Errorf("sign-up of %s refused: %d %s: the server limits sign-ups per source address (20 an hour by default); "+
				"start it with --trusted-proxies 127.0.0.1/32 so the bench's X-Forwarded-For spreads them, or lower --accounts", a.Username, st, prob)
		case st != http.StatusAccepted:
			return fmt.Errorf("sign-up of %s: %d %s", a.Username, st, prob)
		}
		return nil
	})
	if err != nil {
		return err
	}
	codes, err := readCodes(b.cfg.MailDir)
	if err != nil {
		return fmt.Errorf("read verification mail from --mail-dir %s: %w", b.cfg.MailDir, err)
	}
	for _, a := range b.accts {
		if codes[a.Email] == "" {
			return fmt.Errorf("no verification code for %s in --mail-dir %s: is it the server's --mail-dir, and does the server write mail there (no --smtp-addr)?", a.Email, b.cfg.MailDir)
		}
	}
	err = b.each(ctx, func(a *benchAccount) error {
		var v struct{ ID string }
		st, prob, err := b.call(ctx, hc, "POST", "/v1/accounts/verify", "", a.addr, map[string]string{"email": a.Email, "code": codes[a.Email]}, &v)
		if err != nil || st != http.StatusCreated {
			return fmt.Errorf("verify %s: %d %s %v", a.Email, st, prob, errOrEmpty(err))
		}
		a.ID = v.ID
		a.loginBody, _ = json.Marshal(map[string]string{"identifier": a.Username, "password": a.Password})
		var s struct{ Token string }
		st, prob, err = b.call(ctx, hc, "POST", "/v1/sessions", "", a.addr, json.RawMessage(a.loginBody), &s)
		if err != nil || st != http.StatusCreated || s.Token == "" {
			return fmt.Errorf("sign in as %s: %d %s %v", a.Username, st, prob, errOrEmpty(err))
		}
		a.Token = s.Token
		return nil
	})
	if err != nil {
		return err
	}
	b.logf("%d accounts ready in %s", len(b.accts), time.Since(start).Round(time.Millisecond))
	return nil
}

func errOrEmpty(err error) any {
	if err == nil {
		return ""
	}
	return err
}

// health checks that the target answers as a vigil server.
func (b *bench) health(ctx context.Context, hc *http.Client) error {
	st, _, err := b.call(ctx, hc, "GET", "/healthz", "", "", nil, nil)
	if err != nil {
		return fmt.Errorf("target %s does not answer; is the server running? %w", b.base, err)
	}
	if st != http.StatusOK {
		return fmt.Errorf("target %s: GET /healthz answered %d; is it a vigil server?", b.base, st)
	}
	return nil
}

// sourcesSpread reports whether the server recorded the first account's
// sign-in under the X-Forwarded-For address the bench sent.
func (b *bench) sourcesSpread(ctx context.Context, hc *http.Client) (bool, error) {
	a := b.accts[0]
	if a.addr == "" {
		return false, nil
	}
	var act struct {
		Items []struct{ IP string } `json:"items"`
	}
	st, prob, err := b.call(ctx, hc, "GET", "/v1/me/login-activity?limit=1", a.Token, "", nil, &act)
	if err != nil || st != http.StatusOK {
		return false, fmt.Errorf("GET /v1/me/login-activity: %d %s %v", st, prob, errOrEmpty(err))
	}
	return len(act.Items) > 0 && act.Items[0].IP == a.addr, nil
}

var benchCodeRE = regexp.MustCompile(`verification code is: (\d{6})`)

// readCodes returns the newest verification code mailed to each address.
func readCodes(dir string) (map[string]string, error) {
	msgs, err := mail.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	codes := map[string]string{}
	for _, m := range msgs { // oldest first: later codes win
		if c := benchCodeRE.FindStringSubmatch(m.Text); c != nil {
			codes[strings.ToLower(m.To)] = c[1]
		}
	}
	return codes, nil
}

// each runs f for every account, --login-concurrency at a time, and returns
// the first error.
func (b *bench) each(ctx context.Context, f func(*benchAccount) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	work := make(chan *benchAccount)
	var wg sync.WaitGroup
	for range min(b.cfg.LoginConcurrency, len(b.accts)) {
		wg.Go(func() {
			for a := range work {
				if err := f(a); err != nil {
					cancel(err)
				}
			}
		})
	}
feed:
	for _, a := range b.accts {
		select {
		case work <- a:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	return context.Cause(ctx)
}

// call sends one set-up request with a JSON body (nil for none) and decodes
// a 2xx answer into out (if not nil). It returns the status and, for an
// error answer, the problem's title and detail.
func (b *bench) call(ctx context.Context, hc *http.Client, method, path, token, xff string, body, out any) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			return 0, "", err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.base+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	req.Header.Set("User-Agent", "vigil-bench/"+version())
	res, err := hc.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return res.StatusCode, "", err
	}
	if res.StatusCode/100 != 2 {
		var p struct{ Title, Detail string }
		_ = json.Unmarshal(raw, &p)
		return res.StatusCode, strings.TrimSpace(p.Title + ": " + p.Detail), nil
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return res.StatusCode, "", fmt.Errorf("%s %s: answer is not the expected JSON: %w", method, path, err)
		}
	}
	return res.StatusCode, "", nil
}

// lookups measures authenticated GET /v1/users/{id} at concurrency c: worker
// w acts as account w mod N and looks up random other accounts.
func (b *bench) lookups(ctx context.Context, c int) (benchPhase, error) {
	u, err := url.Parse(b.base)
	if err != nil {
		return benchPhase{}, err
	}
	var conns []*rawConn
	defer func() {
		for _, rc := range conns {
			rc.close()
		}
	}()
	return b.phase(ctx, c, 50000, func(ctx context.Context, w int) (func() (int, error), error) {
		me := w % len(b.accts)
		headers := map[string]string{"Authorization": "Bearer " + b.accts[me].Token, "User-Agent": "vigil-bench/" + version()}
		// One prebuilt request per target; each worker keeps one connection.
		reqs := make([][]byte, 0, len(b.accts)-1)
		for i, a := range b.accts {
			if i == me {
				continue
			}
			reqs = append(reqs, rawRequest(u.Host, "/v1/users/"+url.PathEscape(a.ID), headers))
		}
		rc, err := b.newRawConn()
		if err != nil {
			return nil, err
		}
		conns = append(conns, rc)
		return func() (int, error) {
			return rc.do(ctx, reqs[mrand.IntN(len(reqs))])
		}, nil
	})
}

// send sends req and reads the answer through to the end, so that the
// connection goes back to the pool.
func send(hc *http.Client, req *http.Request) (int, error) {
	res, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if err != nil {
		return 0, err
	}
	return res.StatusCode, nil
}

// logins measures POST /v1/sessions with correct passwords at concurrency c.
func (b *bench) logins(ctx context.Context, c int) (benchPhase, error) {
	hc := b.client(c)
	defer hc.CloseIdleConnections()
	return b.phase(ctx, c, 4096, func(ctx context.Context, w int) (func() (int, error), error) {
		next := w
		return func() (int, error) {
			a := b.accts[next%len(b.accts)]
			next += c
			req, err := http.NewRequestWithContext(ctx, "POST", b.base+"/v1/sessions", bytes.NewReader(a.loginBody))
			if err != nil {
				return 0, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("User-Agent", "vigil-bench/"+version())
			if xff := b.forwardedFor(); xff != "" {
				req.Header.Set("X-Forwarded-For", xff)
			}
			return send(hc, req)
		}, nil
	})
}

// hashes measures argon2id hashing in this process with the server's
// parameters, through the same Hasher the server uses, at concurrency c.
func (b *bench) hashes(ctx context.Context, c int) (benchPhase, error) {
	h, err := password.NewHasher(b.params, password.WithConcurrency(c))
	if err != nil {
		return benchPhase{}, err
	}
	pw := vigil.Password("correct horse battery staple, benchmarked")
	return b.phase(ctx, c, 4096, func(ctx context.Context, w int) (func() (int, error), error) {
		return func() (int, error) {
			if _, err := h.Hash(ctx, pw); err != nil {
				return 0, err
			}
			return http.StatusOK, nil
		}, nil
	})
}

// phase runs c workers, each calling the operation newOp builds for it, for
// --warmup and then --duration. An operation returns an HTTP status, or an
// error for no answer. Only operations that start after the warm-up and end
// within the window count; latencies are kept for 2xx answers in
// pre-allocated per-worker slices (expect is a hint of the operations per
// second), merged and sorted at the end.
func (b *bench) phase(ctx context.Context, c, expect int, newOp func(ctx context.Context, w int) (func() (int, error), error)) (benchPhase, error) {
	type worker struct {
		lat                      []time.Duration
		ok, non2xx, n429, errors int
		firstErr                 error
	}
	start := time.Now()
	from := start.Add(b.cfg.Warmup)
	until := from.Add(b.cfg.Duration)
	pctx, cancel := context.WithDeadline(ctx, until.Add(benchGrace))
	defer cancel()
	perWorker := min(int(b.cfg.Duration.Seconds()*float64(expect))/c+64, 1<<20)
	ws := make([]*worker, c)
	ops := make([]func() (int, error), c)
	for w := range ws {
		ws[w] = &worker{lat: make([]time.Duration, 0, perWorker)}
		op, err := newOp(pctx, w)
		if err != nil {
			return benchPhase{}, err
		}
		ops[w] = op
	}
	cpu0 := processCPU()
	var wg sync.WaitGroup
	for w, st := range ws {
		op := ops[w]
		wg.Go(func() {
			for {
				t0 := time.Now()
				if !t0.Before(until) || pctx.Err() != nil {
					return
				}
				code, err := op()
				t1 := time.Now()
				if t0.Before(from) || t1.After(until) {
					continue
				}
				switch {
				case err != nil:
					st.errors++
					if st.firstErr == nil {
						st.firstErr = err
					}
				case code >= 200 && code < 300:
					st.ok++
					st.lat = append(st.lat, t1.Sub(t0))
				default:
					st.non2xx++
					if code == http.StatusTooManyRequests {
						st.n429++
					}
				}
			}
		})
	}
	wg.Wait()
	wall := time.Since(start)
	cpu := processCPU() - cpu0
	if err := ctx.Err(); err != nil {
		return benchPhase{}, err
	}
	ph := benchPhase{Concurrency: c}
	var all []time.Duration
	var firstErr error
	for _, st := range ws {
		ph.OK += st.ok
		ph.Non2xx += st.non2xx
		ph.Status429 += st.n429
		ph.Errors += st.errors
		all = append(all, st.lat...)
		if firstErr == nil {
			firstErr = st.firstErr
		}
	}
	if firstErr != nil {
		b.logf("%d request(s) got no answer; the first: %v", ph.Errors, firstErr)
	}
	ph.PerSecond = float64(ph.OK) / b.cfg.Duration.Seconds()
	slices.Sort(all)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	ph.P50ms, ph.P90ms, ph.P99ms = ms(percentile(all, 50)), ms(percentile(all, 90)), ms(percentile(all, 99))
	if len(all) > 0 {
		ph.MaxMs = ms(all[len(all)-1])
	}
	if cpu > 0 && wall > 0 {
		ph.BenchCPU = cpu.Seconds() / wall.Seconds()
	}
	return ph, nil
}

// percentile returns the nearest-rank p-th percentile of sorted samples, or
// 0 for none.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(float64(len(sorted))*p/100)) - 1
	return sorted[max(0, min(rank, len(sorted)-1))]
}

func printBenchReport(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "vigil bench: %s, %d accounts, %s warm-up + %s measured per phase, GOMAXPROCS %d\n",
		r.Target, r.Accounts, seconds(r.WarmupSec), seconds(r.DurationS), r.GOMAXPROCS)
	if r.SourcesSpread {
		fmt.Fprintln(w, "client sources: spread over 198.18.0.0/15 via X-Forwarded-For (the server trusts the bench as a proxy)")
	} else {
		fmt.Fprintln(w, "client sources: one address (the server does not take the bench's X-Forwarded-For); per-source limits apply")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "GET /v1/users/{id}, authenticated, random other account (latencies of 2xx answers, ms)")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\treq/s\tp50\tp90\tp99\tmax\tnon-2xx\t429\terrors\tbench CPU\t")
	for _, p := range r.Lookups {
		fmt.Fprintf(tw, "%d\t%.0f\t%.3f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%s\t\n",
			p.Concurrency, p.PerSecond, p.P50ms, p.P90ms, p.P99ms, p.MaxMs, p.Non2xx, p.Status429, p.Errors, cores(p.BenchCPU))
	}
	tw.Flush()
	fmt.Fprintf(w, "server lookup limit: see server flags; %d answers were 429\n\n", r.Lookup429)

	fmt.Fprintf(w, "POST /v1/sessions (correct passwords) vs argon2id in process (m=%d KiB, t=%d, p=%d), concurrency %d\n",
		r.Argon2.MemoryKiB, r.Argon2.Iterations, r.Argon2.Parallelism, r.Logins.Concurrency)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "logins/s\thashes/s\tratio\tlogin p50\tlogin p99\thash p50\tnon-2xx\t429\terrors\t")
	fmt.Fprintf(tw, "%.1f\t%.1f\t%.2f\t%.1f\t%.1f\t%.1f\t%d\t%d\t%d\t\n",
		r.Logins.PerSecond, r.Hashes.PerSecond, r.LoginHashRate, r.Logins.P50ms, r.Logins.P99ms, r.Hashes.P50ms,
		r.Logins.Non2xx, r.Logins.Status429, r.Logins.Errors)
	tw.Flush()
	fmt.Fprintln(w, "(ratio = logins/s over hashes/s: the share of raw hashing throughput that sign-in reaches; the server must use the same argon2 flags)")
}

func seconds(s float64) string { return (time.Duration(s * float64(time.Second))).String() }

func cores(c float64) string {
	if c == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f cores", c)
}
