package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"math/big"
	"net"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"github.com/vigil-dev/vigil"
)

// testBackend is a go-smtp backend that records every transaction.
type testBackend struct {
	// Set before the server starts.
	user, pass string            // when user is set, AUTH PLAIN is required
	rcptErr    *gosmtp.SMTPError // answered to every RCPT TO

	mu    sync.Mutex
	mails []received
	auths []string // "user:pass" of every AUTH attempt
}

// received is one transaction as the server saw it.
type received struct {
	from string
	to   []string
	data []byte
	tls  bool // whether MAIL FROM arrived over TLS
	auth bool // whether the session had authenticated
}

func (be *testBackend) NewSession(c *gosmtp.Conn) (gosmtp.Session, error) {
	return &testSession{be: be, conn: c}, nil
}

func (be *testBackend) received() []received {
	be.mu.Lock()
	defer be.mu.Unlock()
	return append([]received(nil), be.mails...)
}

type testSession struct {
	be     *testBackend
	conn   *gosmtp.Conn
	authed bool
	cur    received
}

func (s *testSession) AuthMechanisms() []string {
	if s.be.user == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *testSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		s.be.mu.Lock()
		s.be.auths = append(s.be.auths, username+":"+password)
		s.be.mu.Unlock()
		if identity != "" && identity != username || username != s.be.user || password != s.be.pass {
			return gosmtp.ErrAuthFailed
		}
		s.authed = true
		return nil
	}), nil
}

func (s *testSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.be.user != "" && !s.authed {
		return gosmtp.ErrAuthRequired
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.cur = received{from: from, tls: isTLS, auth: s.authed}
	return nil
}

func (s *testSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if s.be.rcptErr != nil {
		return s.be.rcptErr
	}
	s.cur.to = append(s.cur.to, to)
	return nil
}

func (s *testSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = data
	s.be.mu.Lock()
	s.be.mails = append(s.be.mails, s.cur)
	s.be.mu.Unlock()
	return nil
}

func (s *testSession) Reset()        { s.cur = received{} }
func (s *testSession) Logout() error { return nil }

// serverOptions configure startSMTPServer.
type serverOptions struct {
	tls               *tls.Config // offer STARTTLS with it
	implicitTLS       bool        // serve TLS from the start instead
	allowInsecureAuth bool
}

// startSMTPServer serves be on 127.0.0.1:0 until the test ends and returns
// its address.
func startSMTPServer(tb testing.TB, be *testBackend, opt serverOptions) string {
	tb.Helper()
	srv := gosmtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = opt.allowInsecureAuth
	srv.ErrorLog = log.New(io.Discard, "", 0)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if opt.implicitTLS {
		ln = tls.NewListener(ln, opt.tls)
	} else {
		srv.TLSConfig = opt.tls
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	tb.Cleanup(func() {
		srv.Close()
		<-done
	})
	return ln.Addr().String()
}

// testCert returns a server TLS configuration with a self-signed
// certificate for 127.0.0.1 and localhost, and a client configuration that
// trusts it.
func testCert(tb testing.TB) (server, client *tls.Config) {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "vigil test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		tb.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool}
	return server, client
}

// checkDelivered fails the test unless be received exactly m, from and to
// the right addresses, over TLS when wantTLS.
func checkDelivered(tb testing.TB, be *testBackend, m *Message, wantTLS bool) received {
	tb.Helper()
	got := be.received()
	if len(got) != 1 {
		tb.Fatalf("server received %d messages, want 1", len(got))
	}
	r := got[0]
	if r.from != "no-reply@vigil.example" || len(r.to) != 1 || r.to[0] != "alice@example.com" {
		tb.Fatalf("envelope MAIL FROM %q RCPT TO %q", r.from, r.to)
	}
	if r.tls != wantTLS {
		tb.Fatalf("delivered over TLS: %t, want %t", r.tls, wantTLS)
	}
	// The DATA, dot-unstuffed, is what Render produces.
	if want := MustRender(tb, m); !bytes.Equal(r.data, want) {
		tb.Fatalf("DATA:\n%q\nwant:\n%q", r.data, want)
	}
	rc := MustParse(tb, r.data)
	if rc.Subject != m.Subject || rc.To != "alice@example.com" || rc.Text != m.Text {
		tb.Fatalf("DATA parsed back to Subject=%q To=%q Text=%q", rc.Subject, rc.To, rc.Text)
	}
	return r
}

// smtpMessage is testMessage with a body that needs dot-stuffing.
func smtpMessage() *Message {
	m := testMessage()
	m.Subject = "Ihr Code: 123456 ✓"
	m.Text = "Your code is 123456.\n.\n..leading dots survive\n"
	return m
}

func TestSMTPSenderStartTLSRequired(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	be := &testBackend{}
	addr := startSMTPServer(t, be, serverOptions{tls: serverTLS})
	s := NewSMTPSender(SMTPConfig{Addr: addr, TLSConfig: clientTLS, HelloName: "vigil.test"}) // StartTLS "" = required
	m := smtpMessage()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, m, true)
}

func TestSMTPSenderStartTLSRequiredNotOffered(t *testing.T) {
	be := &testBackend{}
	addr := startSMTPServer(t, be, serverOptions{})
	s := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSRequired})
	err := s.Send(context.Background(), smtpMessage())
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send = %v, want an error about STARTTLS", err)
	}
	if IsPermanent(err) || vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Send = %v (code %s), want a transient EUNAVAILABLE", err, vigil.ErrorCode(err))
	}
	if n := len(be.received()); n != 0 {
		t.Fatalf("server received %d messages in plain text", n)
	}
}

func TestSMTPSenderUntrustedCertificate(t *testing.T) {
	serverTLS, _ := testCert(t)
	be := &testBackend{}
	addr := startSMTPServer(t, be, serverOptions{tls: serverTLS})
	s := NewSMTPSender(SMTPConfig{Addr: addr}) // system roots: the test certificate is not trusted
	err := s.Send(context.Background(), smtpMessage())
	if err == nil || IsPermanent(err) {
		t.Fatalf("Send = %v, want a transient TLS error", err)
	}
	if n := len(be.received()); n != 0 {
		t.Fatalf("server received %d messages", n)
	}
}

func TestSMTPSenderOpportunistic(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	for _, withTLS := range []bool{false, true} {
		t.Run(fmt.Sprintf("tls=%t", withTLS), func(t *testing.T) {
			be := &testBackend{}
			opt := serverOptions{}
			if withTLS {
				opt.tls = serverTLS
			}
			addr := startSMTPServer(t, be, opt)
			s := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSOpportunistic, TLSConfig: clientTLS})
			m := smtpMessage()
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			checkDelivered(t, be, m, withTLS)
		})
	}
}

func TestSMTPSenderImplicitTLS(t *testing.T) {
	serverTLS, clientTLS := testCert(t)
	be := &testBackend{}
	addr := startSMTPServer(t, be, serverOptions{tls: serverTLS, implicitTLS: true})
	s := NewSMTPSender(SMTPConfig{Addr: addr, ImplicitTLS: true, TLSConfig: clientTLS})
	m := smtpMessage()
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	checkDelivered(t, be, m, true)
}

func TestSMTPSenderAuth(t *testing.T) {
	const user, pass = "vigil", "s3cret-Pa55word"
	serverTLS, clientTLS := testCert(t)
	for _, tc := range []struct {
		name     string
		opt      serverOptions
		starttls string
		wantTLS  bool
	}{
		{"starttls", serverOptions{tls: serverTLS}, StartTLSRequired, true},
		{"none on loopback", serverOptions{allowInsecureAuth: true}, StartTLSNone, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			be := &testBackend{user: user, pass: pass}
			addr := startSMTPServer(t, be, tc.opt)
			m := smtpMessage()

			// Without credentials the server refuses MAIL FROM: permanent.
			err := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: tc.starttls, TLSConfig: clientTLS}).Send(context.Background(), m)
			if !IsPermanent(err) {
				t.Fatalf("Send without credentials = %v, want a permanent error", err)
			}

			// With a wrong password: 535, permanent, and no password in the error.
			err = NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: tc.starttls, TLSConfig: clientTLS, Username: user, Password: "wrong-" + pass}).Send(context.Background(), m)
			if !IsPermanent(err) {
				t.Fatalf("Send with a wrong password = %v, want a permanent error", err)
			}
			var te *textproto.Error
			if !errors.As(err, &te) || te.Code != 535 {
				t.Fatalf("Send with a wrong password = %v, want a 535 reply in the chain", err)
			}
			if strings.Contains(err.Error(), pass) || strings.Contains(fmt.Sprintf("%+v", err), pass) {
				t.Fatalf("error shows the password: %v", err)
			}

			s := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: tc.starttls, TLSConfig: clientTLS, Username: user, Password: pass})
			if err := s.Send(context.Background(), m); err != nil {
				t.Fatalf("Send: %v", err)
			}
			r := checkDelivered(t, be, m, tc.wantTLS)
			if !r.auth {
				t.Fatal("message delivered without AUTH")
			}
			be.mu.Lock()
			auths := be.auths
			be.mu.Unlock()
			if len(auths) != 2 || auths[1] != user+":"+pass {
				t.Fatalf("server saw AUTH attempts %q", auths)
			}
		})
	}
}

func TestAuthPermitted(t *testing.T) {
	for _, tc := range []struct {
		secure bool
		addr   net.Addr
		want   bool
	}{
		{true, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}, true},
		{false, &net.TCPAddr{IP: net.ParseIP("192.0.2.1"), Port: 25}, false},
		{false, &net.TCPAddr{IP: net.ParseIP("2001:db8::1"), Port: 25}, false},
		{false, &net.TCPAddr{IP: net.ParseIP("127.0.0.1"), Port: 25}, true},
		{false, &net.TCPAddr{IP: net.ParseIP("127.1.2.3"), Port: 25}, true},
		{false, &net.TCPAddr{IP: net.ParseIP("::1"), Port: 25}, true},
		{false, &net.UnixAddr{Name: "/tmp/x", Net: "unix"}, false},
	} {
		if got := authPermitted(tc.secure, tc.addr); got != tc.want {
			t.Errorf("authPermitted(%t, %v) = %t, want %t", tc.secure, tc.addr, got, tc.want)
		}
	}
}

func TestSMTPSenderAuthNeedsPlain(t *testing.T) {
	// A server that offers no AUTH: credentials are configured, so vigil
	// refuses to go on without authenticating.
	be := &testBackend{}
	addr := startSMTPServer(t, be, serverOptions{allowInsecureAuth: true})
	err := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSNone, Username: "u", Password: "p"}).Send(context.Background(), smtpMessage())
	if err == nil || !IsPermanent(err) || !strings.Contains(err.Error(), "AUTH PLAIN") {
		t.Fatalf("Send = %v, want a permanent error about AUTH PLAIN", err)
	}
}

func TestSMTPSenderReplies(t *testing.T) {
	for _, tc := range []struct {
		code      int
		permanent bool
		vigilCode string
	}{
		{450, false, vigil.EUNAVAILABLE},
		{452, false, vigil.EUNAVAILABLE},
		{550, true, vigil.EINTERNAL},
		{553, true, vigil.EINTERNAL},
	} {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			be := &testBackend{rcptErr: &gosmtp.SMTPError{
				Code:         tc.code,
				EnhancedCode: gosmtp.EnhancedCode{tc.code / 100, 1, 1},
				Message:      "mailbox says no",
			}}
			addr := startSMTPServer(t, be, serverOptions{})
			err := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSNone}).Send(context.Background(), smtpMessage())
			if err == nil {
				t.Fatal("Send succeeded")
			}
			if IsPermanent(err) != tc.permanent {
				t.Fatalf("IsPermanent(%v) = %t, want %t", err, !tc.permanent, tc.permanent)
			}
			if vigil.ErrorCode(err) != tc.vigilCode {
				t.Fatalf("ErrorCode(%v) = %s, want %s", err, vigil.ErrorCode(err), tc.vigilCode)
			}
			var te *textproto.Error
			if !errors.As(err, &te) || te.Code != tc.code {
				t.Fatalf("Send = %v, want reply %d in the chain", err, tc.code)
			}
		})
	}
}

func TestSMTPSenderConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	err = NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSNone}).Send(context.Background(), smtpMessage())
	if err == nil || IsPermanent(err) || vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
		t.Fatalf("Send = %v, want a transient EUNAVAILABLE", err)
	}
}

// silentServer accepts connections and never says a word; it hands each
// connection to the test.
func silentServer(tb testing.TB) (addr string, conns <-chan net.Conn) {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	ch := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			ch <- c
		}
	}()
	tb.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-ch:
				c.Close()
			default:
				return
			}
		}
	})
	return ln.Addr().String(), ch
}

func TestSMTPSenderContextCancel(t *testing.T) {
	addr, conns := silentServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		errc <- NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSNone}).Send(ctx, smtpMessage())
	}()
	c := <-conns // the sender is connected and waits for the greeting
	defer c.Close()
	cancel()
	err := <-errc
	if !errors.Is(err, context.Canceled) || IsPermanent(err) {
		t.Fatalf("Send = %v, want a transient error wrapping context.Canceled", err)
	}
}

func TestSMTPSenderTimeout(t *testing.T) {
	addr, _ := silentServer(t)
	start := time.Now()
	err := NewSMTPSender(SMTPConfig{Addr: addr, StartTLS: StartTLSNone, Timeout: 100 * time.Millisecond}).Send(context.Background(), smtpMessage())
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || IsPermanent(err) {
		t.Fatalf("Send = %v, want a transient timeout", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Send took %v despite a 100ms timeout", d)
	}
}

func TestSMTPSenderRefusesBeforeDialing(t *testing.T) {
	addr, conns := silentServer(t)
	for _, tc := range []struct {
		name string
		cfg  SMTPConfig
		m    *Message
	}{
		{"bad policy", SMTPConfig{Addr: addr, StartTLS: "sometimes"}, smtpMessage()},
		{"bad addr", SMTPConfig{Addr: "no-port"}, smtpMessage()},
		{"hello name CRLF", SMTPConfig{Addr: addr, HelloName: "x\r\nRCPT TO:<eve@evil.example>"}, smtpMessage()},
		{"injected header", SMTPConfig{Addr: addr}, &Message{From: "a@b.example", To: "c@d.example\r\nBcc: eve@evil.example"}},
	} {
		err := NewSMTPSender(tc.cfg).Send(context.Background(), tc.m)
		if vigil.ErrorCode(err) != vigil.EINVALID || !IsPermanent(err) {
			t.Errorf("%s: Send = %v, want a permanent EINVALID", tc.name, err)
		}
	}
	select {
	case c := <-conns:
		c.Close()
		t.Fatal("a refused Send connected to the server")
	default:
	}
}

func TestSMTPConfigRedactsPassword(t *testing.T) {
	const pass = "hunter2-very-secret"
	cfg := SMTPConfig{Addr: "mail.example.com:587", Username: "vigil", Password: pass}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("smtp", "config", cfg, "ptr", &cfg)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("smtp", "config", cfg)
	outputs := []string{
		cfg.String(),
		fmt.Sprint(cfg), fmt.Sprintf("%v", &cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg),
		fmt.Sprintf("%s", cfg), fmt.Sprintf("%q", cfg), fmt.Sprintf("%x", cfg), fmt.Sprintf("%d", cfg),
		fmt.Sprintf("%v", []SMTPConfig{cfg}), fmt.Sprintf("%+v", struct{ C SMTPConfig }{cfg}),
		logged.String(),
	}
	for _, out := range outputs {
		if strings.Contains(out, pass) {
			t.Errorf("password shown in %q", out)
		}
	}
	if !strings.Contains(cfg.String(), "[redacted]") || !strings.Contains(logged.String(), "[redacted]") {
		t.Errorf("no redaction marker in %q / %q", cfg.String(), logged.String())
	}
}

func TestIsPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("boom"), false},
		{context.DeadlineExceeded, false},
		{vigil.Errorf(vigil.EINVALID, "bad"), true},
		{vigil.Errorf(vigil.EUNAVAILABLE, "down"), false},
		{fmt.Errorf("wrapped: %w", &textproto.Error{Code: 421, Msg: "bye"}), false},
		{fmt.Errorf("wrapped: %w", &textproto.Error{Code: 554, Msg: "no"}), true},
	} {
		if got := IsPermanent(tc.err); got != tc.want {
			t.Errorf("IsPermanent(%v) = %t, want %t", tc.err, got, tc.want)
		}
	}
}
