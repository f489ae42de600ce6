package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

// Webhook formats.
const (
	// FormatJSON posts vigil's JSON rendering of the notice: {"id", "kind",
	// "account_id", "code", "title", "text", "at", "data"}. It is the
	// default.
	FormatJSON = "json"
	// FormatSlack posts a Slack incoming-webhook message: {"text",
	// "blocks"} with one section block holding the bold title, the text and
	// the code. Data is not sent.
	FormatSlack = "slack"
)

// Limits of a Webhook.
const (
	// MinWebhookSecretLen is the shortest accepted secret, in bytes.
	MinWebhookSecretLen = 16
	maxWebhookURLLen    = 2048
	// slackSectionLen is Slack's limit on a section block's text.
	slackSectionLen = 3000
)

// userAgent identifies webhook deliveries.
const userAgent = "vigil-webhook/1"

// Webhook is a receiver of notices. Its String, GoString and LogValue
// methods redact the secrets and the URL's path and query (the path of a
// Slack webhook URL is its credential); the secrets redact themselves
// everywhere (see WebhookSecret).
type Webhook struct {
	// URL is where notices are posted. It must be https, unless the sender
	// has AllowPrivate, and holds no user:password part. At most 2048
	// bytes.
	URL string
	// Secret keys the HMAC-SHA256 in the Vigil-Signature header; at least
	// MinWebhookSecretLen bytes. The receiver holds the same secret and
	// checks with VerifySignature.
	Secret WebhookSecret
	// PreviousSecret, if set during a secret rotation, signs every
	// delivery a second time (a second v1= value), so a receiver still on
	// the old secret keeps verifying until it switches. Optional; when set,
	// at least MinWebhookSecretLen bytes.
	PreviousSecret WebhookSecret
	// Format is FormatJSON (also when empty) or FormatSlack.
	Format string
}

// Validate reports whether h is usable by a sender whose AllowPrivate is
// allowPrivate, with an EINVALID *vigil.Error if not: a URL that does not
// parse, is not https (http is allowed only with allowPrivate), has no
// host, holds credentials, or (without allowPrivate) names a literal
// loopback, private, link-local or reserved IP address; a missing or short
// secret; an unknown format. Host names are not resolved here: the
// sender's guard checks the resolved address at connect time.
func (h Webhook) Validate(allowPrivate bool) error {
	_, err := h.parse(allowPrivate)
	return err
}

func (h Webhook) parse(allowPrivate bool) (*url.URL, error) {
	if h.URL == "" || len(h.URL) > maxWebhookURLLen {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook URL is empty or longer than %d bytes", maxWebhookURLLen)
	}
	u, err := url.Parse(h.URL)
	if err != nil {
		// url.Parse's error quotes the URL; it is not kept.
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook URL does not parse")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && allowPrivate:
	default:
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook URL must use https")
	}
	if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook URL has no host")
	}
	if u.User != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook URL may not hold credentials")
	}
	if !allowPrivate {
		if a, err := netip.ParseAddr(u.Hostname()); err == nil && !publicAddr(a) {
			return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook address is not allowed")
		}
	}
	if len(h.Secret) < MinWebhookSecretLen {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: webhook secret is shorter than %d bytes", MinWebhookSecretLen)
	}
	if h.PreviousSecret != nil && len(h.PreviousSecret) < MinWebhookSecretLen {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: previous webhook secret is shorter than %d bytes", MinWebhookSecretLen)
	}
	switch h.Format {
	case "", FormatJSON, FormatSlack:
	default:
		return nil, vigil.Errorf(vigil.EINVALID, "notify: unknown webhook format (want json or slack)")
	}
	return u, nil
}

func (h Webhook) redactedURL() string {
	u, err := url.Parse(h.URL)
	if err != nil {
		return "[unparseable]"
	}
	return redactURL(u)
}

func (h Webhook) format() string {
	if h.Format == "" {
		return FormatJSON
	}
	return h.Format
}

func redactedIfSet(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return redacted
}

const redacted = "[redacted]"

// String describes the webhook with the secrets and the URL's path and
// query redacted. It also serves the %v, %s, %q and %x verbs.
func (h Webhook) String() string {
	return fmt.Sprintf("Webhook{URL:%q Secret:%q PreviousSecret:%q Format:%q}",
		h.redactedURL(), redactedIfSet(h.Secret), redactedIfSet(h.PreviousSecret), h.format())
}

// GoString returns String, so %#v redacts too.
func (h Webhook) GoString() string { return h.String() }

// LogValue logs the webhook with the secrets and the URL's path redacted.
func (h Webhook) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", h.redactedURL()),
		slog.String("secret", redactedIfSet(h.Secret)),
		slog.String("previous_secret", redactedIfSet(h.PreviousSecret)),
		slog.String("format", h.format()),
	)
}

// WebhookSecret is the HMAC key of a webhook. A []byte converts to it
// implicitly (Webhook{Secret: key}) and back (VerifySignature(h.Secret,
// ...)). It prints as "[redacted]" with every verb and in logs, and refuses
// to be marshalled to JSON or text, so a webhook listing cannot leak it;
// stores keep it as []byte(secret).
type WebhookSecret []byte

// String returns "[redacted]".
func (WebhookSecret) String() string { return redacted }

// GoString returns "[redacted]".
func (WebhookSecret) GoString() string { return redacted }

// LogValue logs "[redacted]".
func (WebhookSecret) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format prints "[redacted]" for every verb.
func (WebhookSecret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON always fails: a secret is never serialised by accident.
func (WebhookSecret) MarshalJSON() ([]byte, error) { return nil, errSecretMarshal }

// MarshalText always fails: a secret is never serialised by accident.
func (WebhookSecret) MarshalText() ([]byte, error) { return nil, errSecretMarshal }

var errSecretMarshal = errors.New("notify: refusing to marshal a webhook secret")

// WebhookConfig configures a WebhookSender.
type WebhookConfig struct {
	// AllowPrivate lets webhooks reach loopback, private, link-local and
	// other internal addresses, and use plain http. Leave it false in
	// production: webhook URLs come from users, and without the guard a
	// user could make vigil post to internal services or a cloud metadata
	// endpoint (server-side request forgery). Tests and single-host
	// development set it, since their receivers listen on loopback.
	AllowPrivate bool
	// Timeout bounds each delivery from connect to the end of the response,
	// on top of the context's deadline. Zero or less means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock for Vigil-Timestamp; nil means time.Now.
	Now func() time.Time
}

// WebhookSender posts notices to webhooks. It is safe for concurrent use
// and reuses connections; create one and share it.
//
// Safety: it never follows redirects (a 3xx is a permanent failure), never
// uses a proxy, reads at most 64 KiB of a response and ignores its content,
// and bounds each delivery by the timeout. Unless AllowPrivate, it only
// posts over https and refuses at connect time, after name resolution, any
// loopback, private (RFC 1918, unique local fc00::/7), link-local
// (including 169.254.169.254), unspecified, multicast or reserved address,
// also when wrapped in an IPv4-mapped, NAT64 or 6to4 IPv6 address.
type WebhookSender struct {
	cfg    WebhookConfig
	client *http.Client
}

// NewWebhookSender returns a sender configured by cfg.
func NewWebhookSender(cfg WebhookConfig) *WebhookSender {
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &WebhookSender{
		cfg:    cfg,
		client: &http.Client{Transport: newTransport(cfg.Timeout, cfg.AllowPrivate), CheckRedirect: noRedirect},
	}
}

// Send posts n to hook once. The request is a POST with Content-Type
// application/json, User-Agent vigil-webhook/1, Vigil-Id (n.ID, the
// idempotency key), Vigil-Timestamp (now, in Unix seconds) and
// Vigil-Signature (v1=hex HMAC-SHA256 of "<timestamp>.<body>", plus a
// second v1= value under hook.PreviousSecret if set). The body is the
// notice in hook's format (see FormatJSON and FormatSlack). Any 2xx
// response is success.
//
// Errors are *vigil.Error values; IsPermanent tells whether a retry can
// help:
//
//   - EINVALID or ETOOLARGE: the hook (see Webhook.Validate) or the notice
//     (see Notice.Validate) is refused, or the guard refused the address
//     the host resolved to. Permanent.
//   - EINTERNAL with a *StatusError: the receiver answered 3xx, or 4xx
//     other than 408 and 429. Permanent.
//   - EUNAVAILABLE: network, TLS or timeout failure, a cancelled context,
//     or a 5xx, 408 or 429 answer (then with a *StatusError, whose
//     RetryAfter the caller's backoff should respect). Transient.
//
// No error holds the secrets or the URL's path and query.
func (s *WebhookSender) Send(ctx context.Context, hook Webhook, n *Notice) error {
	u, err := hook.parse(s.cfg.AllowPrivate)
	if err != nil {
		return err
	}
	if err := n.Validate(); err != nil {
		return err
	}
	var body []byte
	if hook.format() == FormatSlack {
		body, err = slackBody(n)
	} else {
		body, err = jsonBody(n)
	}
	if err != nil {
		return vigil.Internal(fmt.Errorf("notify: encode webhook body: %w", err))
	}
	if err := ctx.Err(); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "webhook not sent", Err: context.Cause(ctx)}
	}
	stamp := strconv.FormatInt(s.cfg.Now().Unix(), 10)
	h := make(http.Header, 6)
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", userAgent)
	h.Set(HeaderID, n.ID)
	h.Set(HeaderTimestamp, stamp)
	h.Set(HeaderSignature, signatureHeader(stamp, body, hook.Secret, hook.PreviousSecret))
	return post(ctx, delivery{client: s.client, timeout: s.cfg.Timeout, what: "webhook", url: u, header: h, body: body})
}

// jsonNotice is the body of a FormatJSON delivery.
type jsonNotice struct {
	ID        string            `json:"id"`
	Kind      string            `json:"kind"`
	AccountID string            `json:"account_id"`
	Code      string            `json:"code"`
	Title     string            `json:"title"`
	Text      string            `json:"text"`
	At        string            `json:"at"` // RFC 3339 in UTC
	Data      map[string]string `json:"data"`
}

// jsonBody renders n for FormatJSON. Every field is always present; data is
// {} when empty.
func jsonBody(n *Notice) ([]byte, error) {
	data := n.Data
	if data == nil {
		data = map[string]string{}
	}
	return json.Marshal(jsonNotice{
		ID:        n.ID,
		Kind:      n.Kind,
		AccountID: n.AccountID,
		Code:      n.Code,
		Title:     n.Title,
		Text:      n.Text,
		At:        n.At.UTC().Format(time.RFC3339Nano),
		Data:      data,
	})
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type slackBlock struct {
	Type string     `json:"type"`
	Text *slackText `json:"text,omitempty"`
}

type slackMessage struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

// slackBody renders n for FormatSlack: "text" is the plain fallback shown
// in notifications (title and code), and one section block holds
// "*title*", the text and "Code: `code`" in mrkdwn, within Slack's 3000
// character limit. &, < and > are escaped as Slack requires, which also
// keeps a notice's text from forming links or @channel mentions.
func slackBody(n *Notice) ([]byte, error) {
	title := slackEscape(strings.TrimSpace(oneLine(n.Title)))
	fallback := title
	var tail string
	if n.Code != "" {
		fallback += " (code " + n.Code + ")"
		tail = "\nCode: `" + n.Code + "`"
	}
	head := "*" + title + "*"
	section := head + tail
	if text := slackEscape(cleanSMSText(n.Text)); text != "" {
		room := slackSectionLen - utf8.RuneCountInString(head) - utf8.RuneCountInString(tail) - 1
		section = head + "\n" + truncateEscaped(text, room) + tail
	}
	return json.Marshal(slackMessage{
		Text:   fallback,
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: section}}},
	})
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

// truncateEscaped truncates Slack-escaped text without cutting an entity
// (&amp; &lt; &gt;) in half.
func truncateEscaped(s string, limit int) string {
	t := truncate(s, limit)
	if t == s {
		return t
	}
	body := strings.TrimSuffix(t, ellipsis)
	if i := strings.LastIndexByte(body, '&'); i >= 0 && !strings.Contains(body[i:], ";") {
		body = body[:i]
	}
	return body + ellipsis
}
