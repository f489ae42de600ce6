package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
	"github.com/vigil-dev/vigil/storecache"
)

// env is a full vigil server on 127.0.0.1:0 over a real database, with mail
// written to a temporary directory and an adjustable clock.
type env struct {
	t       testing.TB
	URL     string
	Store   *sqlstore.DB
	Service *service.Service
	Server  *httpapi.Server
	MailDir string
	SMSDir  string
	Logs    *syncBuffer
	Clock   *clock
	Outbox  *outbox.Worker
	client  *http.Client

	mu        sync.Mutex
	responses []*response          // every answer in this test, for the leak check
	tokens    map[string]*response // session token -> the login answer that issued it
	codes     []string             // verification codes read from mail
	secrets   []string             // other secrets read from mail (reset tokens)
}

type envOption func(*service.Config, *httpapi.Config)

// newEnv starts a server on backend ("sqlite" or "postgres").
func newEnv(t testing.TB, backend string, opts ...envOption) *env {
	t.Helper()
	db := sqltest.Open(t, backend)
	hasher, err := password.NewHasher(password.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, db, hasher, opts...)
}

func newEnvWith(t testing.TB, db *sqlstore.DB, hasher *password.Hasher, opts ...envOption) *env {
	t.Helper()
	return newEnvClock(t, db, hasher, &clock{now: time.Now()}, nil, opts...)
}

// newEnvClock is newEnvWith on a given clock, which several instances may
// share, and a given limiter (nil: one in memory on that clock).
func newEnvClock(t testing.TB, db *sqlstore.DB, hasher *password.Hasher, clk *clock, limiter ratelimit.Limiter, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, Store: db, MailDir: t.TempDir(), SMSDir: t.TempDir(), Logs: &syncBuffer{}, Clock: clk}
	sender, err := mail.NewDirSender(e.MailDir)
	if err != nil {
		t.Fatal(err)
	}
	sms, err := notify.NewDirSMS(e.SMSDir)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.Logs, &slog.HandlerOptions{Level: logLevel(t)}))
	reg := prometheus.NewRegistry()
	sc := service.DefaultConfig()
	sc.WebhookAllowPrivate = true // receivers in tests listen on loopback
	hc := httpapi.Config{LogRequests: true}
	for _, o := range opts {
		o(&sc, &hc)
	}
	// The production wiring: the read cache in front of the database, and
	// the outbox worker delivering mail to the same directory. Tests run it
	// with flush, so delivery is deterministic.
	cached := storecache.New(db)
	sealer, err := seal.NewSealer(seal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	if limiter == nil {
		limiter = ratelimit.NewMemory(ratelimit.WithClock(e.Clock.Now))
	}
	e.Service, err = service.New(sc, service.Deps{Store: cached, Hasher: hasher, Mail: sender,
		Sealer: sealer, RecoveryKey: []byte("0123456789abcdef0123456789abcdef"), SMS: sms,
		Limiter: limiter, Now: e.Clock.Now, Logger: logger, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	e.Outbox = outbox.New(outbox.Config{}, cached, map[string]outbox.Channel{
		vigil.ChannelMail:              service.MailChannel(sender, sc.MailFrom),
		service.ChannelReset:           e.Service.ResetChannel(),
		vigil.ChannelSMS:               e.Service.SMSChannel(sms),
		vigil.ChannelWebhook:           e.Service.WebhookChannel(notify.NewWebhookSender(notify.WebhookConfig{AllowPrivate: true})),
		service.ChannelOperatorWebhook: e.Service.OperatorWebhookChannel(notify.NewWebhookSender(notify.WebhookConfig{AllowPrivate: true})),
	}, e.Clock.Now, logger)
	e.Server, err = httpapi.NewServer(hc, httpapi.Deps{Service: e.Service, Ready: db.Ping, Logger: logger, Registry: reg})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(e.Server)
	t.Cleanup(ts.Close)
	e.tokens = map[string]*response{}
	t.Cleanup(func() { e.checkNoLeaks() })
	e.URL = ts.URL
	e.client = ts.Client()
	return e
}

// clock is a settable clock for expiry tests.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a bytes.Buffer safe for concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// response is a finished HTTP exchange.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a map.
func (r *response) JSON(tb testing.TB) map[string]any {
	tb.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		tb.Fatalf("body is not a JSON object: %v: %s", err, r.Body)
	}
	return m
}

// do sends a request; body may be nil, a string (sent as is) or a value
// (sent as JSON). token may be empty.
func (e *env) do(method, path, token string, body any) *response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("User-Agent", "vigil-test/1.0 (X11; Linux x86_64) Firefox/140.0")
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: b}
	e.mu.Lock()
	e.responses = append(e.responses, r)
	e.mu.Unlock()
	return r
}

// expect fails the test unless r has the given status.
func (r *response) expect(tb testing.TB, status int) *response {
	tb.Helper()
	if r.Status != status {
		tb.Fatalf("status = %d, want %d; body: %s", r.Status, status, r.Body)
	}
	return r
}

var codeRE = regexp.MustCompile(`verification code is: (\d{6})`)

// mailCode returns the newest verification code mailed to addr.
func (e *env) mailCode(addr string) string {
	e.t.Helper()
	msgs, err := mail.ReadDir(e.MailDir)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.EqualFold(msgs[i].To, addr) {
			if m := codeRE.FindStringSubmatch(msgs[i].Text); m != nil {
				e.mu.Lock()
				e.codes = append(e.codes, m[1])
				e.mu.Unlock()
				return m[1]
			}
		}
	}
	e.t.Fatalf("no verification code mailed to %s", addr)
	return ""
}

// user is a signed-up, signed-in test account.
type user struct {
	ID, Username, Email, Password, Token, SessionID string
}

const testPassword = "correct horse battery staple"

// signup registers, verifies and signs in username.
func (e *env) signup(username string) *user {
	e.t.Helper()
	u := &user{Username: username, Email: username + "@example.com", Password: testPassword + " " + vigil.NewID()[:10]}
	e.do("POST", "/v1/accounts", "", map[string]string{"username": username, "email": u.Email, "password": u.Password}).
		expect(e.t, http.StatusAccepted)
	v := e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": u.Email, "code": e.mailCode(u.Email)}).
		expect(e.t, http.StatusCreated).JSON(e.t)
	u.ID = v["id"].(string)
	u.Token, u.SessionID = e.login(u.Username, u.Password)
	return u
}

// login signs in and returns the token and session id.
func (e *env) login(identifier, pw string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": identifier, "password": pw}).
		expect(e.t, http.StatusCreated)
	s := r.JSON(e.t)
	tok := s["token"].(string)
	e.mu.Lock()
	e.tokens[tok] = r
	e.mu.Unlock()
	return tok, s["session_id"].(string)
}

// forEachBackend runs f once per configured database backend.
func forEachBackend(t *testing.T, f func(t *testing.T, backend string)) {
	for _, b := range sqltest.Backends(t) {
		t.Run(b, func(t *testing.T) { f(t, b) })
	}
}

// doHeader sends a bodyless request with one extra header.
func (e *env) doHeader(method, path, key, value string) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set(key, value)
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return &response{Status: res.StatusCode, Header: res.Header, Body: b}
}

// checkNoLeaks runs after every test that uses an env: no answer may carry
// a password hash, a verification code, or a session token other than in
// the one login answer that issued it; the audit log none at all.
func (e *env) checkNoLeaks() {
	e.mu.Lock()
	defer e.mu.Unlock()
	var hashes []string
	rows, err := e.Store.RawQuery(context.Background(), "SELECT password_hash FROM accounts")
	if err == nil {
		hashes = rows
	}
	e.checkAuditNoLeaks(hashes)
	for _, r := range e.responses {
		body := string(r.Body)
		if strings.Contains(body, "$argon2") {
			e.t.Errorf("a response carries a password hash: %s", body)
		}
		for _, h := range hashes {
			if strings.Contains(body, h) {
				e.t.Errorf("a response carries a stored password hash")
			}
		}
		for tok, issuer := range e.tokens {
			if r != issuer && strings.Contains(body, tok) {
				e.t.Errorf("a response other than its login carries a session token: %s", body)
			}
		}
		for _, sec := range e.secrets {
			if strings.Contains(body, sec) && !strings.Contains(body, "<form") {
				e.t.Errorf("a response carries a secret from a mail: %s", body)
			}
		}
		for _, c := range e.codes {
			if strings.Contains(body, `"`+c+`"`) {
				e.t.Errorf("a response carries a verification code: %s", body)
			}
		}
	}
}

// logLevel is debug in tests, info in benchmarks (whose request logs would
// measure the test's log buffer).
func logLevel(t testing.TB) slog.Level {
	if _, ok := t.(*testing.B); ok {
		return slog.LevelInfo
	}
	return slog.LevelDebug
}

// flush delivers every due outbox item, as the worker would.
func (e *env) flush() {
	e.t.Helper()
	for {
		d, f, err := e.Outbox.RunOnce(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if f > 0 {
			e.t.Fatalf("%d outbox deliveries failed", f)
		}
		if d == 0 {
			return
		}
	}
}
