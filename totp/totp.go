// Package totp is vigil's second factor: time-based one-time passwords
// (RFC 6238) as authenticator apps compute them — HMAC-SHA1, 6 digits, 30
// second steps — with a replay guard, enrolment helpers (secret, otpauth URI,
// QR code) and recovery codes.
//
// The codes themselves are computed by github.com/pquerna/otp; this package
// fixes the parameters, checks its inputs before computing anything, and
// adds what the library leaves to its caller: which time step a code matched,
// so that no code is accepted twice.
//
// A TOTP secret must be read back to verify codes, so it cannot be hashed:
// store it sealed (package seal), with the account id and purpose as the
// associated data.
package totp

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
)

// The parameters of every code, as authenticator apps assume them when an
// otpauth URI leaves them out. URI writes them out all the same.
const (
	// Digits is the length of a code.
	Digits = 6
	// Period is the length of a time step.
	Period = 30 * time.Second
	// Skew is how many steps either side of the current one Verify accepts,
	// for clocks that drift and codes typed as the step turns.
	Skew = 1
	// SecretSize is the number of random bytes in a secret from
	// GenerateSecret: 160 bits, the size RFC 4226 recommends for HMAC-SHA1.
	SecretSize = 20
)

// Bounds on the decoded secrets Code and Verify accept. RFC 4226 requires at
// least 128 bits; the upper bound only keeps inputs bounded.
const (
	minSecretBytes = 16
	maxSecretBytes = 64
)

// ErrInvalidSecret is returned by Code for a secret that is not base32 or
// whose decoded length is outside 16 to 64 bytes.
var ErrInvalidSecret = errors.New("totp: invalid secret (want base32 of 16 to 64 bytes)")

// ErrInvalidTime is returned by Code for a time before the Unix epoch, which
// has no time step.
var ErrInvalidTime = errors.New("totp: time before 1970 has no time step")

// secretEncoding is base32 (RFC 4648) without padding, as otpauth URIs and
// authenticator apps write secrets.
var secretEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// GenerateSecret returns a new secret of SecretSize random bytes, in upper
// case base32 without padding (32 characters): the form otpauth URIs carry
// and people type into authenticator apps.
func GenerateSecret() (secret string) {
	var b [SecretSize]byte
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(b[:])
	return secretEncoding.EncodeToString(b[:])
}

// canonicalSecret checks a base32 secret — either case, padded or not — and
// returns it in the padded upper case form the code generator decodes.
func canonicalSecret(secret string) (string, error) {
	if len(secret) > maxSecretBytes*2 { // generous: base32 is 8/5 of the bytes
		return "", ErrInvalidSecret
	}
	raw, err := secretEncoding.DecodeString(strings.ToUpper(strings.TrimRight(secret, "=")))
	if err != nil || len(raw) < minSecretBytes || len(raw) > maxSecretBytes {
		return "", ErrInvalidSecret
	}
	return base32.StdEncoding.EncodeToString(raw), nil
}

// Step returns the RFC 6238 time step of t: whole Periods since the Unix
// epoch, or -1 for a time before the epoch.
func Step(t time.Time) int64 {
	u := t.Unix()
	if u < 0 {
		return -1
	}
	return u / int64(Period/time.Second)
}

// hotpCode computes the code of a canonical secret at a time step.
func hotpCode(canonical string, step int64) (string, error) {
	return hotp.GenerateCodeCustom(canonical, uint64(step), hotp.ValidateOpts{
		Digits:    otp.DigitsSix,
		Algorithm: otp.AlgorithmSHA1,
	})
}

// Code returns the code for secret at time t, as an authenticator app would
// show it. It is for tests and tools; the server only ever calls Verify. It
// returns ErrInvalidSecret or ErrInvalidTime for inputs that have no code.
func Code(secret string, t time.Time) (string, error) {
	canonical, err := canonicalSecret(secret)
	if err != nil {
		return "", err
	}
	step := Step(t)
	if step < 0 {
		return "", ErrInvalidTime
	}
	return hotpCode(canonical, step)
}

// wellFormed reports whether s is exactly Digits ASCII digits.
func wellFormed(s string) bool {
	if len(s) != Digits {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Verify checks a code typed by the account's owner against secret at time
// now. It accepts the code of the current step and of Skew steps either
// side, and returns the step it matched. To guard against replay, the caller
// stores that step with the secret and passes it as lastUsedStep next time
// (0 for a secret never used): a code whose step is at or before
// lastUsedStep is refused, so no code is accepted twice, nor one older than
// the last accepted. Should a code match several steps of the window, the
// latest is returned, so it cannot be used again for the others. Store the
// step with a conditional update (only where it still equals the
// lastUsedStep passed in), or two concurrent requests could both spend the
// same code.
//
// Verify refuses, without computing anything, a code that is not exactly
// Digits ASCII digits (callers may strip spaces people type first), and it
// refuses every code for a malformed secret or a time before 1970. The
// candidate codes are compared in constant time, all of them every call.
// One call gives a guesser 3 chances in 10^6; callers must rate-limit it.
func Verify(secret, code string, now time.Time, lastUsedStep int64) (step int64, ok bool) {
	if !wellFormed(code) {
		return 0, false
	}
	canonical, err := canonicalSecret(secret)
	if err != nil {
		return 0, false
	}
	cur := Step(now)
	if cur < 0 {
		return 0, false
	}
	matched := int64(-1)
	for s := cur - Skew; s <= cur+Skew; s++ {
		if s < 0 {
			continue
		}
		want, err := hotpCode(canonical, s)
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > lastUsedStep {
			matched = s // later steps overwrite earlier ones
		}
	}
	if matched < 0 {
		return 0, false
	}
	return matched, true
}

// URI returns the otpauth:// key URI an authenticator app reads from a QR
// code:
//
//	otpauth://totp/ISSUER:ACCOUNT?secret=SECRET&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
//
// Issuer names the service ("vigil", or the deployment's name) and account
// the user (a username or e-mail address); apps show both. Everything but
// unreserved characters (RFC 3986: letters, digits, "-._~") is
// percent-encoded, spaces as %20 and a "+" as %2B, since apps differ in how
// they decode the rest; a ":" within issuer or account becomes %3A, though
// some apps split the label on it before decoding, so issuers and account
// names should not contain one. An empty issuer leaves out both the label
// prefix and the parameter. The secret is written as given: pass one from
// GenerateSecret.
func URI(issuer, account, secret string) string {
	var b strings.Builder
	b.WriteString("otpauth://totp/")
	if issuer != "" {
		b.WriteString(escape(issuer))
		b.WriteByte(':')
	}
	b.WriteString(escape(account))
	b.WriteString("?secret=")
	b.WriteString(escape(secret))
	if issuer != "" {
		b.WriteString("&issuer=")
		b.WriteString(escape(issuer))
	}
	b.WriteString("&algorithm=SHA1&digits=")
	b.WriteString(strconv.Itoa(Digits))
	b.WriteString("&period=")
	b.WriteString(strconv.Itoa(int(Period / time.Second)))
	return b.String()
}

// escape percent-encodes every byte of s but RFC 3986's unreserved ones.
func escape(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c == '~':
			b.WriteByte(c)
		default:
			b.WriteByte('%')
			b.WriteByte(hex[c>>4])
			b.WriteByte(hex[c&15])
		}
	}
	return b.String()
}
