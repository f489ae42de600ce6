// Package notify delivers vigil's security notices over channels other than
// mail: SMS and webhooks.
//
// It follows the shape of package mail: one interface per channel, a
// directory sink as the embedded default, and a real network
// implementation.
//
//   - SMS: the SMSSender interface; DirSMS writes each message as a JSON
//     file into a local directory (read back with ReadSMSDir); HTTPSMS posts
//     it to a generic HTTP SMS provider.
//   - Webhooks: WebhookSender posts a notice, signed with HMAC-SHA256, to a
//     receiver's URL as vigil JSON or as a Slack incoming-webhook message.
//     Receivers check deliveries with VerifySignature.
//
// Senders deliver once and report; they do not retry. The caller retries
// errors for which IsPermanent is false, with backoff. Every delivery
// carries the notice's ID as an idempotency key (the "idempotency_key"
// field for SMS providers, the Vigil-Id header for webhooks), so a receiver
// can drop the duplicates that retries produce.
//
// The senders' errors are *vigil.Error values (VerifySignature, used by
// receivers, returns the plain sentinel errors ErrSignature*). Their
// messages and causes never hold an API key, a webhook secret, the path or
// query of a URL (a Slack webhook URL is itself a credential), a phone
// number or a notice's text.
package notify

import (
	"errors"
	"fmt"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

// Limits of a Notice, checked by Validate.
const (
	maxIDLen        = 128
	maxKindLen      = 64
	maxAccountIDLen = 128
	maxCodeLen      = 32
	maxTitleLen     = 256      // bytes
	maxTextLen      = 16 << 10 // bytes
	maxDataEntries  = 32
	maxDataKeyLen   = 64
	maxDataValueLen = 1024 // bytes
)

// Notice is one security notice to deliver, such as "your password was
// changed". The same Notice, unchanged, is passed to every retry of a
// delivery.
type Notice struct {
	// ID identifies the notice and is the idempotency key of every
	// delivery: receivers drop a second delivery with an ID they have seen.
	// ASCII letters, digits, '-', '_' and inner dots, at most 128
	// characters (vigil.NewID fits). Required.
	ID string `json:"id"`
	// Kind says what happened, e.g. "password_changed" or
	// "new_device_login": lower-case ASCII letters, digits, '_', '-' and
	// '.', at most 64 characters. Required.
	Kind string `json:"kind"`
	// AccountID is the account the notice concerns: printable ASCII, at
	// most 128 characters. Optional.
	AccountID string `json:"account_id"`
	// Code is a short code the user can look up in the app to tell a real
	// notice from a phishing copy: ASCII letters, digits and '-', at most
	// 32 characters. Optional.
	Code string `json:"code"`
	// Title is a one-line summary: UTF-8 without control characters, at
	// most 256 bytes. Required.
	Title string `json:"title"`
	// Text is the body: UTF-8, at most 16 KiB, with no control characters
	// other than tab and line breaks.
	Text string `json:"text"`
	// At is when the event happened. Required; it is sent as is, so every
	// retry carries the same time.
	At time.Time `json:"at"`
	// Data holds extra fields for machine receivers (webhooks in JSON
	// format only): at most 32 entries; keys of ASCII letters, digits,
	// '_', '-' and '.', at most 64 characters; values UTF-8 without control
	// characters other than tab and line breaks, at most 1024 bytes.
	Data map[string]string `json:"data,omitempty"`
}

// Validate reports whether n can be delivered, with an EINVALID (or, for a
// Text over 16 KiB, ETOOLARGE) *vigil.Error saying what is wrong if not.
// Every sender in this package calls it before delivering. The error never
// quotes the notice's content.
func (n *Notice) Validate() error {
	if n == nil {
		return vigil.Errorf(vigil.EINVALID, "notify: no notice")
	}
	if !validID(n.ID) {
		return vigil.Errorf(vigil.EINVALID, "notify: notice ID is empty or malformed")
	}
	if n.Kind == "" || len(n.Kind) > maxKindLen || !onlyBytes(n.Kind, "abcdefghijklmnopqrstuvwxyz0123456789_-.") {
		return vigil.Errorf(vigil.EINVALID, "notify: notice kind is empty or malformed")
	}
	if len(n.AccountID) > maxAccountIDLen || !printableASCII(n.AccountID) {
		return vigil.Errorf(vigil.EINVALID, "notify: notice account ID is malformed")
	}
	if len(n.Code) > maxCodeLen || !onlyBytes(n.Code, alnum+"-") {
		return vigil.Errorf(vigil.EINVALID, "notify: notice code is malformed")
	}
	if n.Title == "" || len(n.Title) > maxTitleLen || !utf8.ValidString(n.Title) || hasControl(n.Title, false) {
		return vigil.Errorf(vigil.EINVALID, "notify: notice title is empty, too long or holds control characters")
	}
	if len(n.Text) > maxTextLen {
		return vigil.Errorf(vigil.ETOOLARGE, "notify: notice text is larger than %d bytes", maxTextLen)
	}
	if !utf8.ValidString(n.Text) || hasControl(n.Text, true) {
		return vigil.Errorf(vigil.EINVALID, "notify: notice text is not UTF-8 or holds control characters")
	}
	if n.At.IsZero() || n.At.Year() < 1 || n.At.Year() > 9999 {
		return vigil.Errorf(vigil.EINVALID, "notify: notice time is missing or out of range")
	}
	if len(n.Data) > maxDataEntries {
		return vigil.Errorf(vigil.EINVALID, "notify: notice has more than %d data entries", maxDataEntries)
	}
	for k, v := range n.Data {
		if k == "" || len(k) > maxDataKeyLen || !onlyBytes(k, alnum+"_-.") {
			return vigil.Errorf(vigil.EINVALID, "notify: notice data key is empty or malformed")
		}
		if len(v) > maxDataValueLen || !utf8.ValidString(v) || hasControl(v, true) {
			return vigil.Errorf(vigil.EINVALID, "notify: notice data value is too long, not UTF-8 or holds control characters")
		}
	}
	return nil
}

const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// validID reports whether id can be an idempotency key, a header value and
// part of a file name: ASCII letters, digits, '-', '_' and dots that are
// neither leading, trailing nor doubled, at most 128 characters.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen || id[0] == '.' || id[len(id)-1] == '.' || containsDoubleDot(id) {
		return false
	}
	return onlyBytes(id, alnum+"-_.")
}

func containsDoubleDot(s string) bool {
	for i := 1; i < len(s); i++ {
		if s[i] == '.' && s[i-1] == '.' {
			return true
		}
	}
	return false
}

// onlyBytes reports whether every byte of s is in set (ASCII only).
func onlyBytes(s, set string) bool {
	for i := 0; i < len(s); i++ {
		ok := false
		for j := 0; j < len(set); j++ {
			if s[i] == set[j] {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// hasControl reports whether s holds a C0 control other than tab (and, if
// lineBreaks, CR and LF), DEL, or a C1 control.
func hasControl(s string, lineBreaks bool) bool {
	for _, r := range s {
		switch {
		case r == '\t':
		case (r == '\n' || r == '\r') && lineBreaks:
		case r < 0x20 || r == 0x7f || r >= 0x80 && r <= 0x9f:
			return true
		}
	}
	return false
}

// StatusError is the cause, inside a *vigil.Error, of a delivery that
// reached the receiver (a webhook endpoint or an SMS provider) and got a
// response other than 2xx. Use errors.As to get it, for instance to disable
// a webhook that answers 410 Gone.
type StatusError struct {
	// StatusCode is the HTTP status of the response.
	StatusCode int
	// RetryAfter is the receiver's Retry-After header (delta-seconds or an
	// HTTP date) as a duration from the time of the response, capped at 24
	// hours; zero if absent or unparseable. A caller's backoff should wait
	// at least this long.
	RetryAfter time.Duration
}

// Error says which status the receiver answered; it holds nothing else.
func (e *StatusError) Error() string {
	return fmt.Sprintf("notify: receiver answered %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// Permanent reports whether sending the same request again cannot help:
// every 3xx (redirects are never followed, so the receiver's URL must be
// fixed) and every 4xx except 408 Request Timeout and 429 Too Many
// Requests. 5xx, 408 and 429 are transient.
func (e *StatusError) Permanent() bool {
	c := e.StatusCode
	switch {
	case c == http.StatusRequestTimeout, c == http.StatusTooManyRequests:
		return false
	case c >= 300 && c <= 499:
		return true
	}
	return false
}

// IsPermanent reports whether err means that delivering the same notice
// again cannot succeed, so a retrying caller should give up:
//
//   - a response for which StatusError.Permanent is true (3xx, 4xx other
//     than 408 and 429);
//   - a notice, phone number, webhook or configuration that this package
//     refuses (EINVALID or ETOOLARGE), including a webhook whose address
//     the private-address guard refused.
//
// Network failures, timeouts, TLS failures, cancelled contexts, 5xx, 408
// and 429 responses are transient, as are a local write failure of
// DirSMS, nil and any error this package does not know.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Permanent()
	}
	switch vigil.ErrorCode(err) {
	case vigil.EINVALID, vigil.ETOOLARGE:
		return true
	}
	return false
}
