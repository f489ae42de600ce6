package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

// smsUserAgent identifies requests to SMS providers.
const smsUserAgent = "vigil-sms/1"

// HTTPSMSConfig says how to reach a generic HTTP SMS provider. Its String,
// Format and LogValue methods never show the API key, nor the URL's path
// and query.
type HTTPSMSConfig struct {
	// URL is the provider's endpoint. It must be https, or http to a
	// loopback host ("localhost", 127.0.0.0/8, ::1), so the API key never
	// crosses a network in plain text.
	URL string
	// APIKey is sent as "Authorization: Bearer <APIKey>". Required;
	// printable ASCII without spaces.
	APIKey string
	// Timeout bounds each request, on top of the context's deadline. Zero
	// means DefaultTimeout.
	Timeout time.Duration
	// Client sends the requests; nil means a client of this package (no
	// proxy, TLS 1.2 or later). Redirects are never followed, whatever
	// the client's CheckRedirect says: HTTPSMS uses a shallow copy with
	// its own.
	Client *http.Client
}

// Validate reports whether the configuration is usable, with an EINVALID
// error saying what is wrong if not. The error never holds the API key.
func (c HTTPSMSConfig) Validate() error {
	_, err := c.parse()
	return err
}

func (c HTTPSMSConfig) parse() (*url.URL, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" || u.User != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: SMS provider URL is not an absolute http(s) URL without credentials")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && loopbackHost(u.Hostname()):
	default:
		return nil, vigil.Errorf(vigil.EINVALID, "notify: SMS provider URL must use https (http only to a loopback host)")
	}
	if c.APIKey == "" || !printableASCII(c.APIKey) {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: SMS API key is empty or holds spaces or control characters")
	}
	if c.Timeout < 0 {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: negative SMS timeout")
	}
	return u, nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c HTTPSMSConfig) redactedURL() string {
	u, err := url.Parse(c.URL)
	if err != nil {
		return "[unparseable]"
	}
	return redactURL(u)
}

func (c HTTPSMSConfig) redactedKey() string {
	if c.APIKey == "" {
		return ""
	}
	return redacted
}

// String describes the configuration with the API key and the URL's path
// and query redacted.
func (c HTTPSMSConfig) String() string {
	return fmt.Sprintf("HTTPSMSConfig{URL:%q APIKey:%q Timeout:%s Client:%t}",
		c.redactedURL(), c.redactedKey(), c.Timeout, c.Client != nil)
}

// Format prints String for every verb, %#v included, so no format string
// can reach the API key.
func (c HTTPSMSConfig) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs the configuration with the API key redacted.
func (c HTTPSMSConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", c.redactedURL()),
		slog.String("api_key", c.redactedKey()),
		slog.Duration("timeout", c.Timeout),
	)
}

// HTTPSMS sends text messages through a generic HTTP SMS provider. It is
// safe for concurrent use.
type HTTPSMS struct {
	url     *url.URL
	key     string
	timeout time.Duration
	client  *http.Client
}

var _ SMSSender = (*HTTPSMS)(nil)

// NewHTTPSMS returns a sender using cfg, or the EINVALID error of
// cfg.Validate.
func NewHTTPSMS(cfg HTTPSMSConfig) (*HTTPSMS, error) {
	u, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	timeout := cfg.Timeout
	if timeout == 0 {
		timeout = DefaultTimeout
	}
	var client *http.Client
	if cfg.Client != nil {
		c := *cfg.Client
		client = &c
	} else {
		// The provider is the operator's choice, not a user's, so the
		// private-address guard is not needed.
		client = &http.Client{Transport: newTransport(timeout, true)}
	}
	client.CheckRedirect = noRedirect
	return &HTTPSMS{url: u, key: cfg.APIKey, timeout: timeout, client: client}, nil
}

// smsRequest is the JSON body posted to the provider.
type smsRequest struct {
	To             string `json:"to"`
	Body           string `json:"body"`
	IdempotencyKey string `json:"idempotency_key"`
}

// SendSMS posts {"to", "body", "idempotency_key"} (body is SMSBody(n), the
// key n.ID) to the provider's URL with "Authorization: Bearer <key>",
// Content-Type application/json, User-Agent vigil-sms/1 and an
// Idempotency-Key header equal to n.ID. A 2xx response means sent.
//
// Errors are *vigil.Error values; IsPermanent tells whether a retry can
// help:
//
//   - EINVALID or ETOOLARGE: to is not E.164 or n is refused (see
//     Notice.Validate). Permanent.
//   - EINTERNAL with a *StatusError: the provider answered 3xx (redirects
//     are not followed), or 4xx other than 408 and 429. Permanent.
//   - EUNAVAILABLE: network, TLS or timeout failure, a cancelled context,
//     or a 5xx, 408 or 429 answer (then with a *StatusError). Transient.
//
// No error holds the API key, the phone number, the message text or the
// URL's path and query; the response body is read (at most 64 KiB) and
// discarded unread.
func (s *HTTPSMS) SendSMS(ctx context.Context, to string, n *Notice) error {
	if err := checkSMS(to, n); err != nil {
		return err
	}
	body, err := json.Marshal(smsRequest{To: to, Body: SMSBody(n), IdempotencyKey: n.ID})
	if err != nil {
		return vigil.Internal(fmt.Errorf("notify: encode SMS request: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "SMS not sent", Err: context.Cause(ctx)}
	}
	h := make(http.Header, 6)
	h.Set("Authorization", "Bearer "+s.key)
	h.Set("Content-Type", "application/json")
	h.Set("Accept", "application/json")
	h.Set("User-Agent", smsUserAgent)
	h.Set("Idempotency-Key", n.ID)
	return post(ctx, delivery{client: s.client, timeout: s.timeout, what: "SMS", url: s.url, header: h, body: body})
}
