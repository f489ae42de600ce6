package seal

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// KeySize is the length of a Key in bytes: AES-256.
const KeySize = 32

// errKeyMarshal is returned by Key's marshal methods.
var errKeyMarshal = errors.New("seal: refusing to marshal a key")

const redacted = "[redacted]"

// Key is an AES-256 key for a Sealer. Get one from GenerateKey or ParseKey;
// the zero Key holds no key and NewSealer refuses it.
//
// A Key behaves like vigil's Secret types (vigil.Token and the rest): it
// prints as "[redacted]" with every fmt verb and in slog, and its JSON and
// text marshalling fail. It cannot implement the vigil.Secret marker itself,
// whose method is unexported in package vigil, so reflection-based checks
// that look for that marker do not see it; keep Keys out of response types
// all the same. The bytes sit behind a pointer, so even a struct that holds
// a Key in an unexported field, which fmt prints without calling Key's
// methods, shows an address and not the key. Only Reveal gives the key out.
// Copies of a Key share its (never modified) bytes.
type Key struct {
	// p points to a pointer to the bytes. The second indirection is for fmt:
	// printing an unexported field with a verb a pointer does not take
	// (%s, %q) dereferences that pointer once and prints what it points
	// to, which is then one more pointer, printed as an address.
	p **[KeySize]byte
}

// newKey wraps b, which the Key then owns.
func newKey(b *[KeySize]byte) Key { return Key{p: &b} }

// bytes returns the key's bytes; k must not be zero.
func (k Key) bytes() []byte { return (*k.p)[:] }

// GenerateKey returns a new random key from crypto/rand.
func GenerateKey() Key {
	var b [KeySize]byte
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(b[:])
	return newKey(&b)
}

// ParseKey decodes a key written by Reveal or by any base64 encoder: standard
// or URL-safe alphabet, with or without padding. Surrounding white space is
// ignored, so a key read from a file may end in a newline. The decoded key
// must be exactly KeySize bytes. The error never quotes s.
func ParseKey(s string) (Key, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Key{}, errors.New("seal: empty key")
	}
	var raw []byte
	var err error
	for _, enc := range []*base64.Encoding{
		base64.StdEncoding, base64.RawStdEncoding,
		base64.URLEncoding, base64.RawURLEncoding,
	} {
		if raw, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return Key{}, errors.New("seal: key is not valid base64 (standard or URL-safe alphabet)")
	}
	if len(raw) != KeySize {
		clear(raw)
		return Key{}, fmt.Errorf("seal: key decodes to %d bytes, want exactly %d", len(raw), KeySize)
	}
	var b [KeySize]byte
	copy(b[:], raw)
	clear(raw)
	return newKey(&b), nil
}

// Reveal returns the key in standard padded base64, the form ParseKey reads.
// Call it only to hand a new key to the operator (a key-generation command);
// never log it.
func (k Key) Reveal() string {
	if k.p == nil {
		return ""
	}
	return base64.StdEncoding.EncodeToString(k.bytes())
}

// IsZero reports whether k holds no key.
func (k Key) IsZero() bool { return k.p == nil }

// id returns the key's identifier: the first 4 bytes of its SHA-256. It is
// stored in every sealed value so Open can pick the key.
func (k Key) id() [idSize]byte {
	sum := sha256.Sum256(k.bytes())
	return [idSize]byte(sum[:idSize])
}

// String returns "[redacted]".
func (Key) String() string { return redacted }

// GoString returns "[redacted]", for the %#v verb.
func (Key) GoString() string { return redacted }

// LogValue makes slog print "[redacted]".
func (Key) LogValue() slog.Value { return slog.StringValue(redacted) }

// Format writes "[redacted]" whatever the verb, so %x or %v cannot show
// the key.
func (Key) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(redacted)) }

// MarshalJSON always fails: a key never goes into JSON.
func (Key) MarshalJSON() ([]byte, error) { return nil, errKeyMarshal }

// MarshalText always fails: a key never goes into text encodings
// (and, through them, into JSON map keys, XML or YAML).
func (Key) MarshalText() ([]byte, error) { return nil, errKeyMarshal }
