package seal

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
)

// MustSealer returns a Sealer for current and old, failing the test if
// NewSealer refuses them.
func MustSealer(tb testing.TB, current Key, old ...Key) *Sealer {
	tb.Helper()
	s, err := NewSealer(current, old...)
	if err != nil {
		tb.Fatalf("NewSealer: %v", err)
	}
	return s
}

// MustSeal seals pt under s, failing the test on error.
func MustSeal(tb testing.TB, s *Sealer, pt, ad []byte) []byte {
	tb.Helper()
	v, err := s.Seal(pt, ad)
	if err != nil {
		tb.Fatalf("Seal: %v", err)
	}
	return v
}

func TestRoundTrip(t *testing.T) {
	k := GenerateKey()
	s := MustSealer(t, k)
	id := sha256.Sum256(k.bytes())
	for _, n := range []int{0, 1, 15, 16, 20, 32, 1000} {
		for _, ad := range [][]byte{nil, []byte("totp:abcdefghijklmnopqrstuvwxyz")} {
			pt := bytes.Repeat([]byte{0xa5}, n)
			v := MustSeal(t, s, pt, ad)
			if len(v) != n+Overhead {
				t.Fatalf("len(sealed) = %d, want %d", len(v), n+Overhead)
			}
			if v[0] != 1 || !bytes.Equal(v[1:5], id[:4]) {
				t.Fatalf("header = %x, want 01 %x", v[:5], id[:4])
			}
			if n >= 16 && bytes.Contains(v, pt) {
				t.Fatalf("sealed value contains the plaintext")
			}
			got, err := s.Open(v, ad)
			if err != nil {
				t.Fatalf("Open(%d bytes): %v", n, err)
			}
			if got == nil || !bytes.Equal(got, pt) {
				t.Fatalf("Open = %x, want %x", got, pt)
			}
		}
	}
}

func TestSealIsRandomised(t *testing.T) {
	s := MustSealer(t, GenerateKey())
	a := MustSeal(t, s, []byte("secret"), []byte("ad"))
	b := MustSeal(t, s, []byte("secret"), []byte("ad"))
	if bytes.Equal(a, b) || bytes.Equal(a[5:17], b[5:17]) {
		t.Fatalf("two seals of the same plaintext share a nonce or ciphertext")
	}
}

func TestTamperEveryByteFails(t *testing.T) {
	s := MustSealer(t, GenerateKey())
	pt, ad := []byte("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"), []byte("totp:acct1")
	v := MustSeal(t, s, pt, ad)
	for i := range v {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			bad := bytes.Clone(v)
			bad[i] ^= mask
			got, err := s.Open(bad, ad)
			if err == nil || got != nil {
				t.Fatalf("byte %d ^ %#x: Open succeeded", i, mask)
			}
			want := ErrAuthentication
			switch {
			case i == 0:
				want = ErrMalformed
			case i < headerSize:
				want = ErrUnknownKey
			}
			if !errors.Is(err, want) {
				t.Fatalf("byte %d ^ %#x: err = %v, want %v", i, mask, err, want)
			}
		}
	}
	if _, err := s.Open(append(bytes.Clone(v), 0), ad); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("appended byte: err = %v, want ErrAuthentication", err)
	}
}

func TestTruncatedFails(t *testing.T) {
	s := MustSealer(t, GenerateKey())
	ad := []byte("totp:acct1")
	v := MustSeal(t, s, []byte("twenty bytes secret!"), ad)
	for n := 0; n < len(v); n++ {
		got, err := s.Open(v[:n], ad)
		if err == nil || got != nil {
			t.Fatalf("Open(first %d of %d bytes) succeeded", n, len(v))
		}
		want := ErrAuthentication
		if n < Overhead {
			want = ErrMalformed
		}
		if !errors.Is(err, want) {
			t.Fatalf("Open(first %d bytes): err = %v, want %v", n, err, want)
		}
	}
	// Cutting the start shifts the header: never a panic, always an error.
	for n := 1; n < len(v); n++ {
		if _, err := s.Open(v[n:], ad); err == nil {
			t.Fatalf("Open(last %d bytes) succeeded", len(v)-n)
		}
	}
}

func TestWrongAssociatedDataFails(t *testing.T) {
	s := MustSealer(t, GenerateKey())
	v := MustSeal(t, s, []byte("secret"), []byte("totp:acct1"))
	for _, ad := range []string{"", "totp:acct2", "totp:acct", "totp:acct1\x00", "TOTP:acct1", "recovery:acct1"} {
		got, err := s.Open(v, []byte(ad))
		if !errors.Is(err, ErrAuthentication) || got != nil {
			t.Errorf("Open with ad %q = %q, %v; want ErrAuthentication", ad, got, err)
		}
	}
	// A value sealed with no associated data opens only without it.
	v = MustSeal(t, s, []byte("secret"), nil)
	if _, err := s.Open(v, []byte{}); err != nil {
		t.Errorf("nil and empty associated data differ: %v", err)
	}
	if _, err := s.Open(v, []byte("x")); !errors.Is(err, ErrAuthentication) {
		t.Errorf("Open with extra ad: err = %v", err)
	}
}

func TestOtherKeyFails(t *testing.T) {
	v := MustSeal(t, MustSealer(t, GenerateKey()), []byte("secret"), nil)
	if _, err := MustSealer(t, GenerateKey()).Open(v, nil); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
}

func TestUnknownVersionFails(t *testing.T) {
	s := MustSealer(t, GenerateKey())
	v := MustSeal(t, s, []byte("secret"), nil)
	for _, ver := range []byte{0, 2, 0xff} {
		v[0] = ver
		if _, err := s.Open(v, nil); !errors.Is(err, ErrMalformed) {
			t.Errorf("version %d: err = %v, want ErrMalformed", ver, err)
		}
		if s.NeedsReseal(v) {
			t.Errorf("version %d: NeedsReseal = true", ver)
		}
	}
}

func TestRotation(t *testing.T) {
	k1, k2, k3 := GenerateKey(), GenerateKey(), GenerateKey()
	ad := []byte("totp:acct1")
	s1 := MustSealer(t, k1)
	v1 := MustSeal(t, s1, []byte("secret"), ad)
	if s1.NeedsReseal(v1) {
		t.Fatalf("NeedsReseal under the current key = true")
	}

	// Rotate: k2 is current, k1 retired but still opens.
	s2 := MustSealer(t, k2, k3, k1)
	got, err := s2.Open(v1, ad)
	if err != nil || string(got) != "secret" {
		t.Fatalf("old key: Open = %q, %v", got, err)
	}
	if !s2.NeedsReseal(v1) {
		t.Fatalf("NeedsReseal under an old key = false")
	}
	if _, err := s2.Open(v1, []byte("totp:acct2")); !errors.Is(err, ErrAuthentication) {
		t.Fatalf("old key, wrong ad: err = %v", err)
	}

	// Reseal: the new value is under k2 and needs nothing more.
	v2 := MustSeal(t, s2, got, ad)
	if s2.NeedsReseal(v2) {
		t.Fatalf("NeedsReseal after reseal = true")
	}
	if bytes.Equal(v2[1:5], v1[1:5]) {
		t.Fatalf("reseal kept the old key id")
	}
	// The old Sealer cannot open what the new one sealed...
	if _, err := s1.Open(v2, ad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("old sealer on new value: err = %v, want ErrUnknownKey", err)
	}
	if s1.NeedsReseal(v2) {
		t.Fatalf("NeedsReseal under an unknown key = true")
	}
	// ...and once k1 is dropped, values under it no longer open.
	s3 := MustSealer(t, k2)
	if _, err := s3.Open(v1, ad); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("dropped key: err = %v, want ErrUnknownKey", err)
	}
	if _, err := s3.Open(v2, ad); err != nil {
		t.Fatalf("current key: %v", err)
	}
}

func TestNeedsResealMalformed(t *testing.T) {
	k1, k2 := GenerateKey(), GenerateKey()
	s := MustSealer(t, k2, k1)
	v := MustSeal(t, MustSealer(t, k1), []byte("x"), nil)
	for n := 0; n < Overhead; n++ {
		if s.NeedsReseal(v[:n]) {
			t.Fatalf("NeedsReseal(%d bytes) = true", n)
		}
	}
	if !s.NeedsReseal(v) {
		t.Fatalf("NeedsReseal(old key) = false")
	}
}

func TestNewSealerErrors(t *testing.T) {
	k := GenerateKey()
	if _, err := NewSealer(Key{}); err == nil {
		t.Errorf("zero current key accepted")
	}
	if _, err := NewSealer(k, GenerateKey(), Key{}); err == nil || !strings.Contains(err.Error(), "old key 2") {
		t.Errorf("zero old key: err = %v", err)
	}
	// The same key twice is harmless.
	s := MustSealer(t, k, k, GenerateKey(), k)
	if len(s.r.keys) != 2 {
		t.Errorf("len(keys) = %d, want 2", len(s.r.keys))
	}
}

// TestNewSealerIDCollision finds two keys whose ids collide (a birthday
// search over 32 bits, deterministic) and checks NewSealer refuses them
// rather than opening under the wrong one.
func TestNewSealerIDCollision(t *testing.T) {
	if testing.Short() {
		t.Skip("birthday search")
	}
	seen := make(map[[idSize]byte]Key, 1<<18)
	for i := uint64(0); i < 1<<20; i++ {
		var seed [8]byte
		binary.BigEndian.PutUint64(seed[:], i)
		b := sha256.Sum256(seed[:])
		k := newKey(&b)
		id := k.id()
		if other, ok := seen[id]; ok {
			if _, err := NewSealer(other, k); err == nil || !strings.Contains(err.Error(), "share the id") {
				t.Fatalf("colliding ids: err = %v", err)
			}
			return
		}
		seen[id] = k
	}
	t.Fatalf("no collision found")
}

func TestParseKey(t *testing.T) {
	raw := make([]byte, KeySize)
	for i := range raw {
		raw[i] = byte(0xf8 + i) // ensures '+' '/' (std) and '-' '_' (url) appear
	}
	std := base64.StdEncoding.EncodeToString(raw)
	url := base64.URLEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(url, "-_") {
		t.Fatalf("test key does not exercise both alphabets: %s %s", std, url)
	}
	tests := []struct {
		name, in string
		err      string // substring of the error; "" for success
	}{
		{"std padded", std, ""},
		{"std raw", strings.TrimRight(std, "="), ""},
		{"url padded", url, ""},
		{"url raw", strings.TrimRight(url, "="), ""},
		{"trailing newline", std + "\n", ""},
		{"surrounding space", "  " + url + "\t\r\n", ""},
		{"empty", "", "empty key"},
		{"blank", " \n", "empty key"},
		{"31 bytes", base64.StdEncoding.EncodeToString(raw[:31]), "decodes to 31 bytes, want exactly 32"},
		{"33 bytes", base64.StdEncoding.EncodeToString(append(bytes.Clone(raw), 0)), "decodes to 33 bytes, want exactly 32"},
		{"64 bytes hex", fmt.Sprintf("%x", raw), "decodes to 48 bytes"},
		{"mixed alphabets", strings.Replace(url, "-", "+", 1), "not valid base64"},
		{"inner space", std[:10] + " " + std[10:], "not valid base64"},
		{"garbage", "!!!!not a key!!!!", "not valid base64"},
		{"bad padding", std + "=", "not valid base64"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKey(tt.in)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("ParseKey: %v", err)
				}
				if k.IsZero() || !bytes.Equal(k.bytes(), raw) {
					t.Fatalf("ParseKey decoded the wrong key")
				}
				if k.Reveal() != std {
					t.Fatalf("Reveal = %q, want %q", k.Reveal(), std)
				}
				return
			}
			if err == nil {
				t.Fatalf("ParseKey succeeded, want error containing %q", tt.err)
			}
			if !k.IsZero() {
				t.Fatalf("ParseKey returned a key with its error")
			}
			if !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("err = %q, want it to contain %q", err, tt.err)
			}
			if in := strings.TrimSpace(tt.in); len(in) > 4 && strings.Contains(err.Error(), in) {
				t.Fatalf("error quotes the input: %q", err)
			}
		})
	}
}

func TestGenerateKey(t *testing.T) {
	a, b := GenerateKey(), GenerateKey()
	if a.IsZero() || bytes.Equal(a.bytes(), b.bytes()) {
		t.Fatalf("GenerateKey returned a zero or repeated key")
	}
	p, err := ParseKey(a.Reveal())
	if err != nil || !bytes.Equal(p.bytes(), a.bytes()) {
		t.Fatalf("ParseKey(Reveal()) = %v", err)
	}
	if (Key{}).Reveal() != "" || !(Key{}).IsZero() {
		t.Fatalf("zero Key not zero")
	}
}

// TestRedaction checks that neither a Key nor a Sealer can reach a log line,
// a format string or a JSON document.
func TestRedaction(t *testing.T) {
	k := GenerateKey()
	s := MustSealer(t, k, GenerateKey())
	secret := k.Reveal()
	forms := []string{
		secret,
		base64.RawURLEncoding.EncodeToString(k.bytes()),
		fmt.Sprintf("%x", k.bytes()),
		fmt.Sprintf("%X", k.bytes()),
		fmt.Sprintf("%v", k.bytes()),
		fmt.Sprintf("%d", k.bytes()[0:8]),
		// The first word of the AES key schedule, as fmt would print it.
		fmt.Sprint(binary.LittleEndian.Uint32(k.bytes())),
		fmt.Sprint(binary.BigEndian.Uint32(k.bytes())),
	}
	leaks := func(out string) bool {
		for _, f := range forms {
			if strings.Contains(out, strings.Trim(f, "[]")) {
				return true
			}
		}
		return false
	}
	check := func(what, out string) {
		t.Helper()
		if leaks(out) {
			t.Errorf("%s leaks the key: %q", what, out)
		}
	}
	// Control: the check does see a key schedule that fmt reaches (an
	// unexported sealKey, which nothing outside this package can hold).
	verb := "%s"
	if !leaks(fmt.Sprintf(verb, struct{ k sealKey }{s.r.keys[0]})) {
		t.Fatalf("the leak check misses a printed key schedule")
	}

	type holder struct {
		Exported Key
		hidden   Key
		sealer   *Sealer
		Sealer   *Sealer
		byValue  Sealer
		ByValue  Sealer
		keys     []Key
		ptr      *Key
	}
	h := holder{Exported: k, hidden: k, sealer: s, Sealer: s, byValue: *s, ByValue: *s, keys: []Key{k}, ptr: &k}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%T %v"} {
		for _, v := range []any{k, &k, s, *s, h, &h, []Key{k}, map[string]Key{"k": k}, []any{h}} {
			check("fmt "+verb, fmt.Sprintf(verb, v))
		}
	}
	if got := fmt.Sprint(k); got != "[redacted]" {
		t.Errorf("fmt.Sprint(key) = %q", got)
	}
	if got := fmt.Sprint(s) + fmt.Sprint(*s); got != "[redacted][redacted]" {
		t.Errorf("fmt.Sprint(sealer) = %q", got)
	}
	check("String", k.String()+k.GoString()+s.String()+s.GoString())

	var buf bytes.Buffer
	for _, hnd := range []slog.Handler{slog.NewTextHandler(&buf, nil), slog.NewJSONHandler(&buf, nil)} {
		l := slog.New(hnd)
		l.Info("keys", "key", k, "ptr", &k, "sealer", s, "holder", h, slog.Group("g", "key", k))
		l.Info("keys", slog.Any("key", k), slog.Any("sealer", s))
	}
	check("slog", buf.String())
	if !strings.Contains(buf.String(), "[redacted]") {
		t.Errorf("slog output lacks [redacted]: %s", buf.String())
	}

	for _, v := range []any{k, &k, s, *s, h, []Key{k}, map[string]Key{"k": k}, map[Key]int{k: 1}, struct{ K Key }{k}} {
		out, err := json.Marshal(v)
		if err == nil {
			t.Errorf("json.Marshal(%T) succeeded: %s", v, out)
		}
		check("json error", fmt.Sprint(err))
	}
	if _, err := k.MarshalText(); err == nil {
		t.Errorf("Key.MarshalText succeeded")
	}
	if _, err := s.MarshalText(); err == nil {
		t.Errorf("Sealer.MarshalText succeeded")
	}
}

// TestConcurrentUse runs seals and opens from several goroutines, for the
// race detector.
func TestConcurrentUse(t *testing.T) {
	old := GenerateKey()
	v := MustSeal(t, MustSealer(t, old), []byte("old"), []byte("ad"))
	s := MustSealer(t, GenerateKey(), old)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			ad := []byte(fmt.Sprintf("row:%d", g))
			for i := range 200 {
				pt := []byte(fmt.Sprint(g, i))
				got, err := s.Open(MustSeal(t, s, pt, ad), ad)
				if err != nil || !bytes.Equal(got, pt) {
					t.Errorf("round trip: %q, %v", got, err)
					return
				}
				if got, err := s.Open(v, []byte("ad")); err != nil || string(got) != "old" {
					t.Errorf("old value: %q, %v", got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// FuzzOpen feeds arbitrary values and associated data to Open. It must never
// panic, must return either a plaintext or an error (never both), and can
// succeed only on a value it could also have produced: one that opens again
// to the same plaintext and agrees with NeedsReseal.
func FuzzOpen(f *testing.F) {
	key := func(b byte) Key {
		var k [KeySize]byte
		for i := range k {
			k[i] = b + byte(i)
		}
		return newKey(&k)
	}
	old, cur := key(1), key(100)
	sOld := MustSealer(f, old)
	s := MustSealer(f, cur, old)
	for _, ad := range []string{"", "totp:acct1"} {
		for _, pt := range []string{"", "x", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"} {
			f.Add(MustSeal(f, s, []byte(pt), []byte(ad)), []byte(ad))
			f.Add(MustSeal(f, sOld, []byte(pt), []byte(ad)), []byte(ad))
		}
	}
	f.Add([]byte{}, []byte{})
	f.Add([]byte{1}, []byte(nil))
	f.Add(make([]byte, Overhead), []byte("ad"))
	f.Add(append([]byte{1}, make([]byte, 100)...), []byte("ad"))

	f.Fuzz(func(t *testing.T, sealed, ad []byte) {
		in := bytes.Clone(sealed)
		pt, err := s.Open(sealed, ad)
		if !bytes.Equal(in, sealed) {
			t.Fatalf("Open modified its input")
		}
		if err != nil {
			if pt != nil {
				t.Fatalf("Open returned a plaintext and an error")
			}
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) && !errors.Is(err, ErrAuthentication) {
				t.Fatalf("Open returned an unclassified error: %v", err)
			}
			return
		}
		if len(pt) != len(sealed)-Overhead {
			t.Fatalf("plaintext of %d bytes from %d sealed bytes", len(pt), len(sealed))
		}
		// Only a real sealed value opens; its id says which key.
		wantReseal := bytes.Equal(sealed[1:5], sOld.r.keys[0].id[:])
		if s.NeedsReseal(sealed) != wantReseal {
			t.Fatalf("NeedsReseal disagrees with the key id")
		}
		again, err := s.Open(MustSeal(t, s, pt, ad), ad)
		if err != nil || !bytes.Equal(again, pt) {
			t.Fatalf("reseal round trip: %v", err)
		}
	})
}
