package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Headers of every webhook delivery.
const (
	// HeaderID carries the notice's ID, the idempotency key: a receiver
	// that has processed a delivery with this ID drops the next one.
	HeaderID = "Vigil-Id"
	// HeaderTimestamp carries the time of signing in Unix seconds. It is
	// set afresh for each attempt, so a retry is signed anew and a
	// receiver's tolerance window keeps working.
	HeaderTimestamp = "Vigil-Timestamp"
	// HeaderSignature carries "v1=<hex>", the hex HMAC-SHA256, keyed with
	// the webhook's secret, of "<timestamp>.<body>": the HeaderTimestamp
	// value, a dot and the raw request body. During a secret rotation it
	// holds several comma-separated v1= values, one per secret.
	HeaderSignature = "Vigil-Signature"
)

// DefaultSignatureTolerance is the tolerance VerifySignature applies when
// given zero or less: how far the signed timestamp may be from the
// receiver's clock, either way.
const DefaultSignatureTolerance = 5 * time.Minute

// maxSignatures bounds the v1= values VerifySignature looks at.
const maxSignatures = 16

// maxTimestampDigits bounds Vigil-Timestamp: twelve digits reach the year
// 33658, and keep all arithmetic far from overflow.
const maxTimestampDigits = 12

// Errors of VerifySignature. Each failure wraps exactly one of them; use
// errors.Is. A receiver should answer all of them alike (401, or 400), and
// must not process the delivery.
var (
	// ErrSignatureMissing: no Vigil-Timestamp or Vigil-Signature header,
	// or no secret to verify with.
	ErrSignatureMissing = errors.New("notify: webhook signature missing")
	// ErrSignatureMalformed: a header that is not of the documented form,
	// or more than 16 v1= values.
	ErrSignatureMalformed = errors.New("notify: webhook signature malformed")
	// ErrSignatureExpired: a correctly signed delivery whose timestamp is
	// further than the tolerance from the receiver's clock; possibly a
	// replay.
	ErrSignatureExpired = errors.New("notify: webhook timestamp outside tolerance")
	// ErrSignatureMismatch: no v1= value is the HMAC of this timestamp and
	// body under this secret.
	ErrSignatureMismatch = errors.New("notify: webhook signature mismatch")
)

// mac returns HMAC-SHA256(secret, timestamp + "." + body).
func mac(secret []byte, timestamp string, body []byte) []byte {
	h := hmac.New(sha256.New, secret)
	h.Write([]byte(timestamp))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// signatureHeader returns the Vigil-Signature value for timestamp and body:
// one v1= value per non-empty secret, in the order given.
func signatureHeader(timestamp string, body []byte, secrets ...[]byte) string {
	var parts []string
	for _, s := range secrets {
		if len(s) > 0 {
			parts = append(parts, "v1="+hex.EncodeToString(mac(s, timestamp, body)))
		}
	}
	return strings.Join(parts, ",")
}

// VerifySignature checks that a webhook delivery came from vigil with the
// given secret and is recent. header is the request's header (read
// through http.Header's canonical keys), body the raw request body exactly
// as received, before any parsing; now is the receiver's clock. It returns
// nil if and only if:
//
//   - secret is not empty;
//   - there is exactly one Vigil-Timestamp value, of 1 to 12 ASCII digits;
//   - Vigil-Signature (one or more header lines, each a comma-separated
//     list of scheme=value items, spaces allowed around items) holds at
//     most 16 v1= items, each 64 hex digits, and one of them equals the
//     HMAC-SHA256 of "<timestamp>.<body>" under secret, compared in
//     constant time. Items of other schemes are ignored, so future schemes
//     can be added alongside v1;
//   - the timestamp is within tolerance of now, either way. Zero or
//     negative tolerance means DefaultSignatureTolerance; the check cannot
//     be turned off.
//
// Otherwise the error wraps ErrSignatureMissing, ErrSignatureMalformed,
// ErrSignatureMismatch or ErrSignatureExpired. The timestamp is checked
// only after the signature, so an unsigned request cannot learn about the
// clock. Several v1= values let vigil sign with an old and a new secret
// during a rotation; a receiver holding several secrets calls
// VerifySignature once per secret.
//
// A valid signature proves origin and freshness, not uniqueness: within
// the tolerance window the same delivery can be replayed, and retries are
// legitimate duplicates. Receivers drop repeats by the Vigil-Id header.
func VerifySignature(secret []byte, header http.Header, body []byte, now time.Time, tolerance time.Duration) error {
	if len(secret) == 0 {
		return fmt.Errorf("%w: empty secret", ErrSignatureMissing)
	}
	if tolerance <= 0 {
		tolerance = DefaultSignatureTolerance
	}
	stamps := header.Values(HeaderTimestamp)
	sigLines := header.Values(HeaderSignature)
	if len(stamps) == 0 || len(sigLines) == 0 {
		return ErrSignatureMissing
	}
	if len(stamps) > 1 {
		return fmt.Errorf("%w: more than one %s", ErrSignatureMalformed, HeaderTimestamp)
	}
	stamp := stamps[0]
	if stamp == "" || len(stamp) > maxTimestampDigits || !onlyBytes(stamp, "0123456789") {
		return fmt.Errorf("%w: %s is not 1 to %d digits", ErrSignatureMalformed, HeaderTimestamp, maxTimestampDigits)
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrSignatureMalformed, HeaderTimestamp)
	}

	var candidates [][]byte
	for _, line := range sigLines {
		for item := range strings.SplitSeq(line, ",") {
			scheme, value, ok := strings.Cut(strings.TrimSpace(item), "=")
			if !ok || scheme != "v1" {
				continue
			}
			if len(candidates) == maxSignatures {
				return fmt.Errorf("%w: more than %d v1 signatures", ErrSignatureMalformed, maxSignatures)
			}
			if len(value) != 2*sha256.Size {
				return fmt.Errorf("%w: v1 signature is not %d hex digits", ErrSignatureMalformed, 2*sha256.Size)
			}
			b, err := hex.DecodeString(value)
			if err != nil {
				return fmt.Errorf("%w: v1 signature is not hex", ErrSignatureMalformed)
			}
			candidates = append(candidates, b)
		}
	}
	if len(candidates) == 0 {
		return fmt.Errorf("%w: no v1 signature", ErrSignatureMalformed)
	}

	want := mac(secret, stamp, body)
	match := 0
	for _, c := range candidates {
		// No early exit: the time taken does not depend on which value,
		// if any, matches.
		match |= subtle.ConstantTimeCompare(want, c)
	}
	if match != 1 {
		return ErrSignatureMismatch
	}

	// time.Time.Sub saturates instead of overflowing, whatever now is.
	age := now.Sub(time.Unix(secs, 0))
	if age > tolerance || age < -tolerance {
		return fmt.Errorf("%w: timestamp is %s off", ErrSignatureExpired, age.Truncate(time.Second))
	}
	return nil
}
