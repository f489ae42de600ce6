package vigil

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
)

// Secret is implemented by every type that holds a credential or a hash of
// one. Such values refuse to be marshalled to JSON or text and print as
// "[redacted]" in logs and format strings, so no response or log line can
// carry one by accident. A test in httpapi walks every response type and
// fails if one of them holds a Secret.
type Secret interface {
	isSecret()
}

// errSecretMarshal is returned by the marshal methods of every Secret type.
var errSecretMarshal = errors.New("vigil: refusing to marshal a secret")

const redacted = "[redacted]"

// Token is a bearer credential in its plain form (a session token, a
// verification code). It exists in memory only between its creation and its
// hand-over to its owner; the store keeps only its Hash.
type Token struct{ v string }

// NewToken returns a token of 32 random bytes (256 bits), base64url-encoded.
func NewToken() Token {
	var b [32]byte
	mustRand(b[:])
	return Token{v: base64.RawURLEncoding.EncodeToString(b[:])}
}

// ParseToken wraps a token presented by a client.
func ParseToken(s string) Token { return Token{v: s} }

// Reveal returns the plain token. Call it only where the token is handed to
// its owner: the response that issues it, or the out-of-band message.
func (t Token) Reveal() string { return t.v }

// IsZero reports whether t is empty.
func (t Token) IsZero() bool { return t.v == "" }

// Hash returns the SHA-256 of the token, which is what the store keeps. A
// plain hash suffices because tokens carry 256 bits of entropy.
func (t Token) Hash() TokenHash { return TokenHash(sha256.Sum256([]byte(t.v))) }

func (Token) isSecret()                     {}
func (Token) String() string                { return redacted }
func (Token) GoString() string              { return redacted }
func (Token) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (Token) MarshalJSON() ([]byte, error)  { return nil, errSecretMarshal }
func (Token) MarshalText() ([]byte, error)  { return nil, errSecretMarshal }
func (Token) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// TokenHash is the SHA-256 of a Token: the only form in which the store keeps
// a token.
type TokenHash [32]byte

// Equal compares two hashes in constant time.
func (h TokenHash) Equal(o TokenHash) bool { return subtle.ConstantTimeCompare(h[:], o[:]) == 1 }

// Bytes returns the hash as a slice, for the store.
func (h TokenHash) Bytes() []byte { return h[:] }

func (TokenHash) isSecret()                     {}
func (TokenHash) String() string                { return redacted }
func (TokenHash) GoString() string              { return redacted }
func (TokenHash) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (TokenHash) MarshalJSON() ([]byte, error)  { return nil, errSecretMarshal }
func (TokenHash) MarshalText() ([]byte, error)  { return nil, errSecretMarshal }
func (TokenHash) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// PasswordHash is a password hash in PHC string format
// ($argon2id$v=19$m=...,t=...,p=...$salt$hash).
type PasswordHash string

func (PasswordHash) isSecret()                     {}
func (PasswordHash) String() string                { return redacted }
func (PasswordHash) GoString() string              { return redacted }
func (PasswordHash) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (PasswordHash) MarshalJSON() ([]byte, error)  { return nil, errSecretMarshal }
func (PasswordHash) MarshalText() ([]byte, error)  { return nil, errSecretMarshal }
func (PasswordHash) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// Password is a plain password as received from a client. It lives only
// long enough to be checked against the policy and hashed.
type Password string

func (Password) isSecret()                     {}
func (Password) String() string                { return redacted }
func (Password) GoString() string              { return redacted }
func (Password) LogValue() slog.Value          { return slog.StringValue(redacted) }
func (Password) MarshalJSON() ([]byte, error)  { return nil, errSecretMarshal }
func (Password) MarshalText() ([]byte, error)  { return nil, errSecretMarshal }
func (Password) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// idEncoding is lower-case base32 without padding: URL-safe, case-stable,
// and free of characters that need escaping anywhere.
var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns an opaque random identifier of 128 bits (26 characters).
// Identifiers are never sequential, so knowing one tells nothing of others.
func NewID() string {
	var b [16]byte
	mustRand(b[:])
	return idEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the shape of an identifier from NewID. It
// lets handlers refuse garbage before it reaches a query.
func ValidID(s string) bool {
	if len(s) != 26 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '2' && c <= '7') {
			return false
		}
	}
	return true
}

func mustRand(b []byte) {
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(b)
}
