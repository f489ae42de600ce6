package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/smtp"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

// STARTTLS policies for SMTPConfig.StartTLS.
const (
	// StartTLSRequired upgrades with STARTTLS and fails if the server does
	// not offer it or the handshake fails. It is the default.
	StartTLSRequired = "required"
	// StartTLSOpportunistic upgrades when the server offers STARTTLS and
	// goes on in plain text otherwise. A failed handshake is still an error.
	StartTLSOpportunistic = "opportunistic"
	// StartTLSNone never upgrades. Credentials are then only sent to a
	// server on a loopback address.
	StartTLSNone = "none"
)

// DefaultSMTPTimeout bounds a whole SMTP submission when SMTPConfig.Timeout
// is zero.
const DefaultSMTPTimeout = 30 * time.Second

// SMTPConfig says how to reach a mail submission server. Its String, Format
// and LogValue methods never show the password.
type SMTPConfig struct {
	// Addr is the server's host:port.
	Addr string
	// Username and Password are sent with AUTH PLAIN when Username is set,
	// and only over TLS unless the server is on a loopback address.
	Username string
	Password string
	// StartTLS is the STARTTLS policy: "required" (the default when
	// empty), "opportunistic" or "none". It is ignored with ImplicitTLS.
	StartTLS string
	// ImplicitTLS starts TLS at connect time (port 465, "submissions")
	// instead of with STARTTLS.
	ImplicitTLS bool
	// TLSConfig is used for STARTTLS and implicit TLS. Nil means the
	// system roots; an empty ServerName is set to Addr's host.
	TLSConfig *tls.Config
	// Timeout bounds each submission from dial to QUIT, on top of the
	// context's deadline. Zero means DefaultSMTPTimeout.
	Timeout time.Duration
	// HelloName is the name sent with EHLO. Empty means "localhost".
	HelloName string
}

// Validate reports whether the configuration is usable, with an EINVALID
// error saying what is wrong if not.
func (c SMTPConfig) Validate() error {
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil || host == "" || port == "" {
		return vigil.Errorf(vigil.EINVALID, "mail: SMTP address %q is not host:port", c.Addr)
	}
	switch c.StartTLS {
	case "", StartTLSRequired, StartTLSOpportunistic, StartTLSNone:
	default:
		return vigil.Errorf(vigil.EINVALID, "mail: unknown STARTTLS policy %q (want required, opportunistic or none)", c.StartTLS)
	}
	if c.Timeout < 0 {
		return vigil.Errorf(vigil.EINVALID, "mail: negative SMTP timeout")
	}
	for _, f := range []struct{ name, v string }{{"HelloName", c.HelloName}, {"Username", c.Username}, {"Password", c.Password}} {
		if strings.ContainsAny(f.v, "\r\n\x00") {
			return vigil.Errorf(vigil.EINVALID, "mail: SMTP %s contains a line break or NUL", f.name)
		}
	}
	if strings.ContainsAny(c.HelloName, " \t") {
		return vigil.Errorf(vigil.EINVALID, "mail: SMTP HelloName contains a space")
	}
	return nil
}

func (c SMTPConfig) policy() string {
	if c.StartTLS == "" {
		return StartTLSRequired
	}
	return c.StartTLS
}

func (c SMTPConfig) redactedPassword() string {
	if c.Password == "" {
		return ""
	}
	return "[redacted]"
}

// String describes the configuration with the password redacted.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("SMTPConfig{Addr:%q Username:%q Password:%q StartTLS:%q ImplicitTLS:%t Timeout:%s HelloName:%q}",
		c.Addr, c.Username, c.redactedPassword(), c.policy(), c.ImplicitTLS, c.Timeout, c.HelloName)
}

// Format prints String for every verb, %#v and %d included, so no format
// string can reach the password.
func (c SMTPConfig) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the configuration with the password redacted.
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("addr", c.Addr),
		slog.String("username", c.Username),
		slog.String("password", c.redactedPassword()),
		slog.String("starttls", c.policy()),
		slog.Bool("implicit_tls", c.ImplicitTLS),
		slog.Duration("timeout", c.Timeout),
		slog.String("hello_name", c.HelloName),
	)
}

// SMTPSender submits each message to an SMTP server over a new connection.
// It is safe for concurrent use.
type SMTPSender struct {
	cfg SMTPConfig
}

var _ Sender = (*SMTPSender)(nil)

// NewSMTPSender returns a sender using cfg. The configuration is checked by
// each Send (call cfg.Validate to check it at start-up); TLSConfig is cloned
// so later changes to it have no effect.
func NewSMTPSender(cfg SMTPConfig) *SMTPSender {
	if cfg.TLSConfig != nil {
		cfg.TLSConfig = cfg.TLSConfig.Clone()
	}
	return &SMTPSender{cfg: cfg}
}

// Send renders m and submits it: dial (bounded by ctx and the timeout),
// EHLO, TLS as configured, AUTH PLAIN when a username is set, MAIL FROM,
// RCPT TO, DATA and QUIT. Errors are *vigil.Error values:
//
//   - EINVALID or ETOOLARGE: the message or the configuration is refused
//     (including credentials that would cross an unencrypted connection to a
//     server that is not on loopback). Permanent.
//   - EINTERNAL: the server answered 5xx. Permanent; the *textproto.Error
//     with the reply is in the chain.
//   - EUNAVAILABLE: network, TLS or timeout failure, a cancelled context,
//     a 4xx reply, or STARTTLS required but not offered. Transient.
//
// IsPermanent tells the two kinds apart. No error carries the password.
func (s *SMTPSender) Send(ctx context.Context, m *Message) error {
	cfg := s.cfg
	if err := cfg.Validate(); err != nil {
		return err
	}
	r, err := render(m, time.Now())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return failure(ctx, "connect", err)
	}

	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultSMTPTimeout
	}
	host, _, _ := net.SplitHostPort(cfg.Addr)
	tlsCfg := &tls.Config{}
	if cfg.TLSConfig != nil {
		tlsCfg = cfg.TLSConfig.Clone()
	}
	if tlsCfg.ServerName == "" {
		tlsCfg.ServerName = host
	}
	if tlsCfg.MinVersion == 0 {
		tlsCfg.MinVersion = tls.VersionTLS12
	}

	dialer := net.Dialer{Timeout: timeout}
	conn, err := dialer.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return failure(ctx, "connect", err)
	}
	defer conn.Close()
	// One deadline bounds the whole exchange; cancelling ctx moves it to
	// the past, which fails any pending read or write at once.
	deadline := time.Now().Add(timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	if err := conn.SetDeadline(deadline); err != nil {
		return failure(ctx, "connect", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	secure := false
	var wire net.Conn = conn
	if cfg.ImplicitTLS {
		tc := tls.Client(conn, tlsCfg)
		if err := tc.HandshakeContext(ctx); err != nil {
			return failure(ctx, "TLS handshake", err)
		}
		wire, secure = tc, true
	}

	c, err := smtp.NewClient(wire, host)
	if err != nil {
		return failure(ctx, "greeting", err)
	}
	defer c.Close()
	hello := cfg.HelloName
	if hello == "" {
		hello = "localhost"
	}
	if err := c.Hello(hello); err != nil {
		return failure(ctx, "EHLO", err)
	}

	if !secure && cfg.policy() != StartTLSNone {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsCfg); err != nil {
				return failure(ctx, "STARTTLS", err)
			}
			secure = true
		} else if cfg.policy() == StartTLSRequired {
			return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail server unavailable",
				Err: fmt.Errorf("smtp %s: server does not offer STARTTLS and the policy requires it", cfg.Addr)}
		}
	}

	if cfg.Username != "" {
		if !authPermitted(secure, conn.RemoteAddr()) {
			return vigil.Errorf(vigil.EINVALID,
				"mail: refusing to send SMTP credentials to %s over an unencrypted connection (only loopback servers may do without TLS)", cfg.Addr)
		}
		_, mechs := c.Extension("AUTH")
		if !slices.Contains(strings.Fields(strings.ToUpper(mechs)), "PLAIN") {
			return vigil.Errorf(vigil.EINVALID, "mail: SMTP server %s does not offer AUTH PLAIN", cfg.Addr)
		}
		if err := c.Auth(plainAuth{user: cfg.Username, pass: cfg.Password}); err != nil {
			return failure(ctx, "AUTH", err)
		}
	}

	if err := c.Mail(r.envFrom); err != nil {
		return failure(ctx, "MAIL FROM", err)
	}
	if err := c.Rcpt(r.envTo); err != nil {
		return failure(ctx, "RCPT TO", err)
	}
	w, err := c.Data()
	if err != nil {
		return failure(ctx, "DATA", err)
	}
	if _, err := w.Write(r.raw); err != nil {
		return failure(ctx, "DATA", err)
	}
	if err := w.Close(); err != nil {
		return failure(ctx, "DATA", err)
	}
	// The server has taken the message; a failed QUIT changes nothing.
	_ = c.Quit()
	return nil
}

// authPermitted reports whether credentials may be sent: over TLS, or in
// plain text to a peer on a loopback address (a local relay). The check is
// on the address actually connected to, not on the configured host name.
func authPermitted(secure bool, remote net.Addr) bool {
	if secure {
		return true
	}
	if ta, ok := remote.(*net.TCPAddr); ok {
		return ta.IP.IsLoopback()
	}
	return false
}

// plainAuth is SASL PLAIN (RFC 4616). Unlike smtp.PlainAuth it leaves the
// decision to send credentials to authPermitted, which also accepts a
// loopback server reached under a name other than "localhost".
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("unexpected server challenge")
	}
	return nil, nil
}

// failure classifies an error of the SMTP exchange at stage. The cause is
// kept for logs; it never holds the password, which only crosses the wire
// inside the AUTH command.
func failure(ctx context.Context, stage string, err error) error {
	if ctx.Err() != nil {
		// The failure is the cancellation's doing; only its text is kept,
		// so IsPermanent cannot mistake it for a server's verdict.
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail server unavailable",
			Err: fmt.Errorf("smtp %s: %w (%v)", stage, context.Cause(ctx), err)}
	}
	var te *textproto.Error
	if errors.As(err, &te) && te.Code >= 500 && te.Code <= 599 {
		return &vigil.Error{Code: vigil.EINTERNAL, Message: "mail server rejected the message",
			Err: fmt.Errorf("smtp %s: %w", stage, err)}
	}
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail server unavailable",
		Err: fmt.Errorf("smtp %s: %w", stage, err)}
}
