package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/mail"
)

// cheapArgon2 are the cheapest argon2id flags password.Params.Validate
// accepts (64 KiB >= 8 KiB per lane, 1 pass, 1 lane): tests only.
var cheapArgon2 = []string{"--argon2-memory", "64", "--argon2-iterations", "1", "--argon2-parallelism", "1"}

// noEnv is a getenv with nothing set, so tests never see the real VIGIL_*.
func noEnv(string) string { return "" }

// envMap returns a getenv that reads m.
func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// logBuffer collects what the program writes to stderr, safely for
// concurrent writers, and lets a test wait until some text appears.
type logBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{} // closed and replaced on every write
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.changed != nil {
		close(l.changed)
		l.changed = nil
	}
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// waitFor waits until the log contains s, or fails the test after timeout.
func (l *logBuffer) waitFor(tb testing.TB, s string, timeout time.Duration) {
	tb.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		l.mu.Lock()
		if strings.Contains(l.b.String(), s) {
			l.mu.Unlock()
			return
		}
		if l.changed == nil {
			l.changed = make(chan struct{})
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			tb.Fatalf("no %q in the log after %s; log:\n%s", s, timeout, l.String())
		}
	}
}

// testServer is `vigil serve` running in-process through run().
type testServer struct {
	Addr    string // host:port it listens on
	URL     string
	MailDir string
	DB      string
	Stderr  *logBuffer
	client  *http.Client

	cancel context.CancelFunc
	done   chan error
	once   sync.Once
	err    error
}

// startServe runs `vigil serve` in-process on 127.0.0.1:0 with a database
// and mail directory in t.TempDir() and cheap argon2, plus args (later flags
// win), and returns once it prints its listening line. The server is
// stopped when the test ends.
func startServe(t *testing.T, getenv func(string) string, args ...string) *testServer {
	t.Helper()
	dir := t.TempDir()
	s := &testServer{
		MailDir: filepath.Join(dir, "mail"),
		DB:      filepath.Join(dir, "vigil.db"),
		Stderr:  &logBuffer{},
		done:    make(chan error, 1),
	}
	all := append([]string{"serve", "--listen", "127.0.0.1:0", "--database", s.DB, "--mail-dir", s.MailDir}, cheapArgon2...)
	all = append(all, args...)
	return s.start(t, getenv, all)
}

func (s *testServer) start(t *testing.T, getenv func(string) string, args []string) *testServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	pr, pw := io.Pipe()
	go func() {
		err := run(ctx, args, getenv, pw, s.Stderr)
		pw.Close()
		s.done <- err
	}()
	addr := listenAddr(pr)
	select {
	case a, ok := <-addr:
		if !ok {
			err := s.stop()
			t.Fatalf("serve stopped before listening: %v\nstderr:\n%s", err, s.Stderr)
		}
		s.Addr = a
	case <-time.After(30 * time.Second):
		s.stop()
		t.Fatalf("serve did not print its listening line within 30s\nstderr:\n%s", s.Stderr)
	}
	s.URL = "http://" + s.Addr
	s.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: nil}}
	t.Cleanup(func() {
		s.client.CloseIdleConnections()
		if err := s.stop(); err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	return s
}

// listenAddr reads "vigil listening on http://ADDR" from r and sends ADDR,
// then drains r; the channel is closed if r ends without that line.
func listenAddr(r io.Reader) <-chan string {
	ch := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "vigil listening on http://"); ok {
				ch <- a
				break
			}
		}
		close(ch)
		_, _ = io.Copy(io.Discard, r)
	}()
	return ch
}

// stop cancels run's context and returns what run returned; later calls
// return the same.
func (s *testServer) stop() error {
	s.once.Do(func() {
		s.cancel()
		select {
		case s.err = <-s.done:
		case <-time.After(30 * time.Second):
			s.err = errors.New("run did not return within 30s of cancel")
		}
	})
	return s.err
}

// do sends a request with an optional JSON body and bearer token, and
// returns the status and body.
func (s *testServer) do(tb testing.TB, method, path, token string, body any) (int, []byte) {
	tb.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := s.client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return res.StatusCode, b
}

// mustDo is do that fails the test unless the status is want, and decodes
// the body into out (if not nil).
func (s *testServer) mustDo(tb testing.TB, method, path, token string, body any, want int, out any) {
	tb.Helper()
	st, b := s.do(tb, method, path, token, body)
	if st != want {
		tb.Fatalf("%s %s: status %d, want %d; body: %s", method, path, st, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			tb.Fatalf("%s %s: %v; body: %s", method, path, err, b)
		}
	}
}

var codeRE = regexp.MustCompile(`verification code is: (\d{6})`)

// mailedCode returns the newest verification code mailed to addr, read back
// with mail.ReadDir.
func (s *testServer) mailedCode(tb testing.TB, addr string) string {
	tb.Helper()
	msgs, err := mail.ReadDir(s.MailDir)
	if err != nil {
		tb.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == addr {
			if m := codeRE.FindStringSubmatch(msgs[i].Text); m != nil {
				return m[1]
			}
		}
	}
	tb.Fatalf("no verification code mailed to %s (%d messages in %s)", addr, len(msgs), s.MailDir)
	return ""
}

// testUser is an account made through the API, with every secret the
// process handled for it.
type testUser struct {
	Username, Email, Password string
	ID, Code, Token           string
}

// signup signs up, verifies and signs in a new account through the API.
func (s *testServer) signup(tb testing.TB, username string) *testUser {
	tb.Helper()
	u := &testUser{Username: username, Email: username + "@example.com", Password: "a tested passphrase " + vigil.NewID()[:12]}
	s.mustDo(tb, "POST", "/v1/accounts", "", map[string]string{"username": u.Username, "email": u.Email, "password": u.Password},
		http.StatusAccepted, nil)
	u.Code = s.mailedCode(tb, u.Email)
	var v struct{ ID, Username string }
	s.mustDo(tb, "POST", "/v1/accounts/verify", "", map[string]string{"email": u.Email, "code": u.Code}, http.StatusCreated, &v)
	if v.ID == "" || v.Username != username {
		tb.Fatalf("verify answered id %q username %q", v.ID, v.Username)
	}
	u.ID = v.ID
	var l struct {
		Token     string `json:"token"`
		SessionID string `json:"session_id"`
	}
	s.mustDo(tb, "POST", "/v1/sessions", "", map[string]string{"identifier": u.Username, "password": u.Password}, http.StatusCreated, &l)
	if l.Token == "" || l.SessionID == "" {
		tb.Fatalf("login answered no token or session id")
	}
	u.Token = l.Token
	return u
}

// TestServeEndToEnd runs the real program in-process: sign-up, the code
// from the mail directory, verification, sign-in and /v1/me over HTTP; then
// a graceful shutdown with a request in flight.
func TestServeEndToEnd(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv)

	s.mustDo(t, "GET", "/healthz", "", nil, http.StatusOK, nil)
	s.mustDo(t, "GET", "/readyz", "", nil, http.StatusOK, nil)

	alice := s.signup(t, "alice")
	var me struct {
		ID            string `json:"id"`
		Username      string `json:"username"`
		Email         string `json:"email"`
		EmailVerified bool   `json:"email_verified"`
	}
	s.mustDo(t, "GET", "/v1/me", alice.Token, nil, http.StatusOK, &me)
	if me.ID != alice.ID || me.Username != "alice" || me.Email != alice.Email || !me.EmailVerified {
		t.Errorf("GET /v1/me = %+v, want alice's verified account %s", me, alice.ID)
	}
	s.mustDo(t, "GET", "/v1/me", "", nil, http.StatusUnauthorized, nil)
	bob := s.signup(t, "bob")
	var pub map[string]any
	s.mustDo(t, "GET", "/v1/users/"+alice.ID, bob.Token, nil, http.StatusOK, &pub)
	if pub["username"] != "alice" || pub["email"] != nil {
		t.Errorf("bob's view of alice = %v, want her public profile only", pub)
	}

	// A request in flight when shutdown starts: headers and half the body
	// now, the rest once the listener is closed.
	conn, err := net.Dial("tcp", s.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"username":"carol","email":"carol@example.com","password":"in flight during shutdown 42"}`
	half := len(body) / 2
	fmt.Fprintf(conn, "POST /v1/accounts HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		s.Addr, len(body), body[:half])
	// The server accepts connections in order, so once a request on a newer
	// connection is answered, the one above is being served.
	fresh := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
	if res, err := fresh.Get(s.URL + "/healthz"); err != nil {
		t.Fatal(err)
	} else {
		res.Body.Close()
	}

	s.cancel()
	s.Stderr.waitFor(t, `"msg":"shutting down"`, 10*time.Second)
	waitListenerClosed(t, s.Addr)

	if _, err := io.WriteString(conn, body[half:]); err != nil {
		t.Fatalf("finishing the in-flight request: %v", err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request got no answer: %v", err)
	}
	rb, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Errorf("in-flight sign-up: status %d, want 202; body %s", res.StatusCode, rb)
	}
	if !res.Close {
		t.Errorf("in-flight answer lacks Connection: close; was it really served during shutdown?")
	}

	if err := s.stop(); err != nil {
		t.Fatalf("run returned %v after cancel, want nil", err)
	}
	if !strings.Contains(s.Stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no \"stopped\" log line; stderr:\n%s", s.Stderr)
	}
	if c, err := net.Dial("tcp", s.Addr); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after run returned", s.Addr)
	}
	// The sign-up that was in flight really happened.
	if msgs, err := mail.ReadDir(s.MailDir); err != nil {
		t.Fatal(err)
	} else if last := msgs[len(msgs)-1]; last.To != "carol@example.com" {
		t.Errorf("last mail went to %s, want carol@example.com", last.To)
	}
}

// waitListenerClosed polls, for at most 10s, until addr refuses
// connections.
func waitListenerClosed(tb testing.TB, addr string) {
	tb.Helper()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		c.Close()
		select {
		case <-tick.C:
		case <-deadline:
			tb.Fatalf("%s still accepts connections 10s after shutdown began", addr)
		}
	}
}

// TestSecretsNeverLogged drives every flow with debug logging and request
// logging on and checks that no password, verification code, session token
// or password hash reaches the log.
func TestSecretsNeverLogged(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv, "--log-level", "debug", "--log-requests")

	u := s.signup(t, "dora")
	other := s.signup(t, "emil")
	s.mustDo(t, "GET", "/v1/me", u.Token, nil, http.StatusOK, nil)
	s.mustDo(t, "GET", "/v1/users/"+other.ID, u.Token, nil, http.StatusOK, nil)
	s.mustDo(t, "GET", "/v1/users?username=emil", u.Token, nil, http.StatusOK, nil)
	s.mustDo(t, "GET", "/v1/me/login-activity", u.Token, nil, http.StatusOK, nil)
	// Failures log too: a wrong password, a wrong code, a bad token.
	wrongPW := "not the right passphrase 913"
	s.mustDo(t, "POST", "/v1/sessions", "", map[string]string{"identifier": u.Username, "password": wrongPW}, http.StatusUnauthorized, nil)
	pending := &testUser{Username: "fritz", Email: "fritz@example.com", Password: "pending sign-up passphrase " + vigil.NewID()[:12]}
	s.mustDo(t, "POST", "/v1/accounts", "", map[string]string{"username": pending.Username, "email": pending.Email, "password": pending.Password},
		http.StatusAccepted, nil)
	pending.Code = s.mailedCode(t, pending.Email)
	n, _ := strconv.Atoi(pending.Code)
	wrongCode := fmt.Sprintf("%06d", (n+1)%1000000)
	s.mustDo(t, "POST", "/v1/accounts/verify", "", map[string]string{"email": pending.Email, "code": wrongCode}, http.StatusBadRequest, nil)
	s.mustDo(t, "GET", "/v1/me", flipLast(u.Token), nil, http.StatusUnauthorized, nil)
	s.mustDo(t, "DELETE", "/v1/sessions/current", other.Token, nil, http.StatusNoContent, nil)

	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	logs := s.Stderr.String()
	// Every request is logged (about 17 above), or the check means nothing.
	if n := strings.Count(logs, `"msg":"request"`); n < 15 {
		t.Fatalf("%d request log lines, want every request logged; log:\n%s", n, logs)
	}
	secrets := map[string]string{
		"a password hash":    "$argon2id$",
		"a wrong password":   wrongPW,
		"a pending password": pending.Password,
		"a presented token":  flipLast(u.Token),
	}
	codes := map[string]string{"a pending code": pending.Code, "a wrong code": wrongCode}
	for _, u := range []*testUser{u, other} {
		secrets[u.Username+"'s password"] = u.Password
		secrets[u.Username+"'s token"] = u.Token
		secrets[u.Username+"'s token less its last character"] = u.Token[:len(u.Token)-1]
		codes[u.Username+"'s code"] = u.Code
	}
	for what, v := range secrets {
		if strings.Contains(logs, v) {
			t.Errorf("the log contains %s (%q)", what, v)
		}
	}
	// A code is six digits: look for it as a number of its own, not inside
	// the digits of a time stamp.
	for what, c := range codes {
		if regexp.MustCompile(`(^|\D)` + c + `(\D|$)`).MatchString(logs) {
			t.Errorf("the log contains %s (%s)", what, c)
		}
	}
}

// flipLast returns tok with its last character changed: a well-formed but
// wrong token.
func flipLast(tok string) string {
	last := byte('A')
	if tok[len(tok)-1] == 'A' {
		last = 'B'
	}
	return tok[:len(tok)-1] + string(last)
}

func TestRunCommands(t *testing.T) {
	t.Parallel()
	var out, errb bytes.Buffer
	ctx := context.Background()

	var ue usageError
	if err := run(ctx, []string{"frobnicate"}, noEnv, &out, &errb); !errors.As(err, &ue) {
		t.Errorf("unknown command: err = %v (%T), want a usageError", err, err)
	} else if !strings.Contains(err.Error(), "frobnicate") || !strings.Contains(errb.String(), "Usage:") {
		t.Errorf("unknown command: err %q, stderr %q: want the name and the usage", err, errb.String())
	}
	if err := run(ctx, nil, noEnv, &out, &errb); !errors.As(err, &ue) {
		t.Errorf("no command: err = %v, want a usageError", err)
	}
	if err := run(ctx, []string{"serve", "stray"}, noEnv, &out, &errb); !errors.As(err, &ue) {
		t.Errorf("stray argument: err = %v, want a usageError", err)
	}

	out.Reset()
	if err := run(ctx, []string{"version"}, noEnv, &out, &errb); err != nil {
		t.Fatal(err)
	}
	if v := out.String(); !strings.HasPrefix(v, "vigil ") || !strings.HasSuffix(v, "\n") || len(strings.TrimSpace(v)) <= len("vigil") {
		t.Errorf("version printed %q", v)
	}
	out.Reset()
	if err := run(ctx, []string{"help"}, noEnv, &out, &errb); err != nil || !strings.Contains(out.String(), "vigil bench") {
		t.Errorf("help: err %v, output %q", err, out.String())
	}
	for _, cmd := range []string{"migrate", "bench"} {
		errb.Reset()
		if err := run(ctx, []string{cmd, "--help"}, noEnv, &out, &errb); !errors.Is(err, flag.ErrHelp) {
			t.Errorf("%s --help: err = %v, want flag.ErrHelp", cmd, err)
		}
		if !strings.Contains(errb.String(), "Usage: vigil "+cmd) {
			t.Errorf("%s --help printed %q", cmd, errb.String())
		}
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "vigil.db")
	migrate := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), append([]string{"migrate", "--database", db}, args...), noEnv, &out, &errb); err != nil {
			t.Fatalf("migrate %v: %v; stderr: %s", args, err, errb.String())
		}
		return out.String()
	}
	statusRE := regexp.MustCompile(`(?m)^sqlite schema version (\d+) of (\d+)$`)

	first := migrate()
	m := regexp.MustCompile(`^applied (\d+) migration\(s\)\n`).FindStringSubmatch(first)
	if m == nil || m[1] == "0" {
		t.Fatalf("first migrate printed %q, want some migrations applied", first)
	}
	if s := statusRE.FindStringSubmatch(first); s == nil || s[1] != s[2] || s[1] == "0" {
		t.Errorf("first migrate printed %q, want the latest schema version", first)
	}
	if second := migrate(); !strings.HasPrefix(second, "applied 0 migration(s)\n") || !statusRE.MatchString(second) {
		t.Errorf("second migrate printed %q, want 0 applied", second)
	}
	status := migrate("--status")
	if strings.Contains(status, "applied") {
		t.Errorf("migrate --status applied something: %q", status)
	}
	if s := statusRE.FindStringSubmatch(status); s == nil || s[1] != s[2] {
		t.Errorf("migrate --status printed %q, want the latest version of the latest", status)
	}

	// --status on a database never migrated reports version 0 and changes
	// nothing; the database path also comes from VIGIL_DATABASE.
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	var out bytes.Buffer
	if err := run(context.Background(), []string{"migrate", "--status"}, envMap(map[string]string{"VIGIL_DATABASE": fresh}), &out, io.Discard); err != nil {
		t.Fatal(err)
	}
	if s := statusRE.FindStringSubmatch(out.String()); s == nil || s[1] != "0" || s[2] == "0" {
		t.Errorf("migrate --status on a fresh database printed %q, want version 0 of N", out.String())
	}
}
