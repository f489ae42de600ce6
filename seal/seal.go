// Package seal encrypts at rest the secrets vigil must read back, such as
// TOTP secrets (a password or token is hashed instead, and never sealed).
//
// A sealed value is
//
//	version (1 byte, = 1) || key id (4 bytes) || nonce (12 bytes) || AES-256-GCM ciphertext and tag
//
// where the key id is the first 4 bytes of the SHA-256 of the key, so that
// keys can be rotated: a Sealer seals under its current key and opens under
// the current or any old key, and NeedsReseal finds values still sealed under
// an old key. The nonce is random; AES-GCM with random 96-bit nonces is safe
// for about 2^32 seals under one key, far beyond what a key sees before it
// is rotated here.
//
// Every Seal and Open takes associated data, which is authenticated but not
// stored: pass what identifies the row the value belongs to and its purpose
// (for example "totp:" + account id). A sealed value copied into another row
// then fails to open, so someone who can write to the database cannot move
// one account's secret to another. The version byte and key id are
// authenticated too.
package seal

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"errors"
	"fmt"
	"log/slog"
)

const (
	version    = 1
	idSize     = 4
	nonceSize  = 12
	tagSize    = 16
	headerSize = 1 + idSize
	// Overhead is how many bytes Seal adds to the plaintext.
	Overhead = headerSize + nonceSize + tagSize
)

// Errors returned by Open, to be matched with errors.Is. None of them says
// anything about the plaintext or the keys.
var (
	// ErrMalformed: the value is too short to be sealed, or has a version
	// this package does not know.
	ErrMalformed = errors.New("seal: malformed sealed value")
	// ErrUnknownKey: the value was sealed under a key the Sealer does not
	// hold (it was dropped from the old keys too early, or the value comes
	// from elsewhere).
	ErrUnknownKey = errors.New("seal: sealed under an unknown key")
	// ErrAuthentication: the key is known but the value does not
	// authenticate: it was altered, or the associated data differs from
	// what it was sealed with (it was moved to another row).
	ErrAuthentication = errors.New("seal: sealed value does not authenticate (tampered, or wrong associated data)")
)

// Sealer seals under one current key and opens under it or any of its old
// keys. Create one with NewSealer; the zero value holds no key, and its Seal
// and Open fail. A Sealer is a small handle: copies share their keys, and it
// is safe for concurrent use. Like a Key it prints as "[redacted]" and
// refuses to be marshalled.
type Sealer struct {
	// r holds the keys behind a pointer, so that fmt, printing a Sealer
	// kept in an unexported field, shows an address and not the AES key
	// schedules (see Key).
	r *keyring
}

type keyring struct {
	keys []sealKey // the current key first, then the old keys
}

type sealKey struct {
	id   [idSize]byte
	key  Key         // to tell a repeated key from a colliding id
	aead cipher.AEAD // AES-256-GCM with random nonces prepended
}

// NewSealer returns a Sealer that seals under current and opens values sealed
// under current or any key in old. Pass the keys a rotation has retired as
// old until NeedsReseal reports no value sealed under them. It fails if a key
// is zero or two different keys share an id; passing the same key twice
// (current also among old, say) is harmless.
func NewSealer(current Key, old ...Key) (*Sealer, error) {
	r := &keyring{}
	for i, k := range append([]Key{current}, old...) {
		if k.IsZero() {
			if i == 0 {
				return nil, errors.New("seal: current key is zero")
			}
			return nil, fmt.Errorf("seal: old key %d is zero", i)
		}
		id := k.id()
		if dup, ok := r.find(id); ok {
			if bytes.Equal(dup.key.bytes(), k.bytes()) {
				continue
			}
			return nil, fmt.Errorf("seal: two different keys share the id %x; generate another", id)
		}
		block, err := aes.NewCipher(k.bytes())
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		aead, err := cipher.NewGCMWithRandomNonce(block)
		if err != nil {
			return nil, fmt.Errorf("seal: %w", err)
		}
		r.keys = append(r.keys, sealKey{id: id, key: k, aead: aead})
	}
	return &Sealer{r: r}, nil
}

// find returns the key with the given id; r may be nil.
func (r *keyring) find(id [idSize]byte) (sealKey, bool) {
	if r == nil {
		return sealKey{}, false
	}
	for _, k := range r.keys {
		if k.id == id {
			return k, true
		}
	}
	return sealKey{}, false
}

// errNoKeys is returned by the zero Sealer.
var errNoKeys = errors.New("seal: Sealer has no keys (not made by NewSealer)")

// Seal encrypts and authenticates plaintext under the current key, binding it
// to associatedData, and returns a new slice of len(plaintext)+Overhead
// bytes. The same associatedData must be given to Open. The error is
// non-nil only if the system's random source fails.
func (s Sealer) Seal(plaintext, associatedData []byte) ([]byte, error) {
	if s.r == nil {
		return nil, errNoKeys
	}
	cur := s.r.keys[0]
	out := make([]byte, headerSize, len(plaintext)+Overhead)
	out[0] = version
	copy(out[1:headerSize], cur.id[:])
	ad := make([]byte, 0, headerSize+len(associatedData))
	ad = append(append(ad, out[:headerSize]...), associatedData...)
	out = cur.aead.Seal(out, nil, plaintext, ad)
	if len(out) != len(plaintext)+Overhead {
		// The random-nonce AEAD's layout is fixed; anything else is a bug.
		return nil, errors.New("seal: unexpected ciphertext length")
	}
	return out, nil
}

// Open authenticates and decrypts a value from Seal, under whichever of the
// Sealer's keys it names, and returns the plaintext in a new slice. It
// returns an error wrapping ErrMalformed, ErrUnknownKey or ErrAuthentication
// (and no plaintext) for a value that is truncated, altered, sealed under a
// key the Sealer does not hold, or sealed with other associated data. It
// never panics, whatever sealed holds.
func (s Sealer) Open(sealed, associatedData []byte) ([]byte, error) {
	if s.r == nil {
		return nil, errNoKeys
	}
	if len(sealed) < Overhead {
		return nil, fmt.Errorf("%w: %d bytes, at least %d expected", ErrMalformed, len(sealed), Overhead)
	}
	if sealed[0] != version {
		return nil, fmt.Errorf("%w: unknown version %d", ErrMalformed, sealed[0])
	}
	k, ok := s.r.find([idSize]byte(sealed[1:headerSize]))
	if !ok {
		return nil, fmt.Errorf("%w (id %x)", ErrUnknownKey, sealed[1:headerSize])
	}
	ad := make([]byte, 0, headerSize+len(associatedData))
	ad = append(append(ad, sealed[:headerSize]...), associatedData...)
	pt, err := k.aead.Open(nil, nil, sealed[headerSize:], ad)
	if err != nil {
		return nil, ErrAuthentication
	}
	if pt == nil {
		pt = []byte{} // an empty plaintext opens to an empty, non-nil slice
	}
	return pt, nil
}

// NeedsReseal reports whether sealed names one of the Sealer's old keys, so
// it should be opened and sealed again under the current key. It reads only
// the header and does not authenticate; a malformed value, or one under the
// current or an unknown key, reports false.
func (s Sealer) NeedsReseal(sealed []byte) bool {
	if s.r == nil || len(sealed) < Overhead || sealed[0] != version {
		return false
	}
	id := [idSize]byte(sealed[1:headerSize])
	if id == s.r.keys[0].id {
		return false
	}
	_, ok := s.r.find(id)
	return ok
}

// String returns "[redacted]".
func (Sealer) String() string { return redacted }

// GoString returns "[redacted]", for the %#v verb.
func (Sealer) GoString() string { return redacted }

// LogValue makes slog print "[redacted]".
func (Sealer) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format writes "[redacted]" whatever the verb: a Sealer holds key material.
func (Sealer) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON always fails: a Sealer holds key material.
func (Sealer) MarshalJSON() ([]byte, error) { return nil, errKeyMarshal }

// MarshalText always fails: a Sealer holds key material.
func (Sealer) MarshalText() ([]byte, error) { return nil, errKeyMarshal }
