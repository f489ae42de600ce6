package password

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil"
)

// MustHasher returns a Hasher for p or fails the test.
func MustHasher(tb testing.TB, p Params, opts ...Option) *Hasher {
	tb.Helper()
	h, err := NewHasher(p, opts...)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// MustHash returns h's hash of pw or fails the test.
func MustHash(tb testing.TB, h *Hasher, pw vigil.Password) vigil.PasswordHash {
	tb.Helper()
	hash, err := h.Hash(context.Background(), pw)
	if err != nil {
		tb.Fatal(err)
	}
	return hash
}

func TestNewHasherRejectsInvalidParams(t *testing.T) {
	p := TestParams()
	p.Iterations = 0
	if _, err := NewHasher(p); !errors.Is(err, ErrInvalidParams) {
		t.Fatalf("NewHasher(t=0) error = %v, want ErrInvalidParams", err)
	}
}

func TestHashFormat(t *testing.T) {
	h := MustHasher(t, DefaultParams())
	hash := MustHash(t, h, "correct horse battery staple")
	// 16-byte salt: 22 characters; 32-byte key: 43.
	re := regexp.MustCompile(`^\$argon2id\$v=19\$m=65536,t=2,p=2\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)
	if !re.MatchString(string(hash)) {
		t.Fatalf("hash %q does not match %v", string(hash), re)
	}
}

func TestHashVerifyRoundTrip(t *testing.T) {
	h := MustHasher(t, TestParams())
	ctx := context.Background()
	for _, pw := range []vigil.Password{
		"correct horse battery staple",
		"pässwörd ünïcödé 🔐 パスワード",
		"x",
		"",
		vigil.Password(strings.Repeat("long ", 200)),
	} {
		hash := MustHash(t, h, pw)
		p, salt, key, err := ParsePHC(string(hash))
		if err != nil {
			t.Fatalf("ParsePHC(Hash()) = %v", err)
		}
		if p != h.Params() || encodePHC(p, salt, key) != string(hash) {
			t.Fatalf("Hash wrote params %+v, want %+v", p, h.Params())
		}
		ok, rehash, err := h.Verify(ctx, pw, hash)
		if !ok || rehash || err != nil {
			t.Fatalf("Verify(right password) = %v, %v, %v; want true, false, nil", ok, rehash, err)
		}
		if again := MustHash(t, h, pw); again == hash {
			t.Fatal("two hashes of one password are equal: salt is not random")
		}
	}
}

func TestVerifyKnownAnswers(t *testing.T) {
	h := MustHasher(t, TestParams())
	ctx := context.Background()
	for _, v := range readVectors(t) {
		ok, _, err := h.Verify(ctx, vigil.Password(v.password), vigil.PasswordHash(v.phc))
		if !ok || err != nil {
			t.Fatalf("Verify(%s) = %v, %v; want true", v.phc, ok, err)
		}
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	h := MustHasher(t, TestParams())
	hash := MustHash(t, h, "correct horse battery staple")
	for _, pw := range []vigil.Password{
		"",
		"correct horse battery stapl",
		"correct horse battery staple ",
		"Correct horse battery staple",
		"correct horse battery staple\x00",
	} {
		ok, rehash, err := h.Verify(context.Background(), pw, hash)
		if ok || rehash || err != nil {
			t.Fatalf("Verify(wrong password) = %v, %v, %v; want false, false, nil", ok, rehash, err)
		}
	}
}

// TestVerifyTampered changes each character of a stored hash in turn: no
// change may verify, and none may panic.
func TestVerifyTampered(t *testing.T) {
	h := MustHasher(t, TestParams())
	const pw = "correct horse battery staple"
	hash := string(MustHash(t, h, pw))
	for i := range len(hash) {
		for _, c := range []byte{'A', 'z', '0', '9', '$', '=', '/'} {
			if hash[i] == c {
				continue
			}
			tampered := hash[:i] + string(c) + hash[i+1:]
			ok, _, err := h.Verify(context.Background(), pw, vigil.PasswordHash(tampered))
			if ok {
				t.Fatalf("tampered hash %q verified", tampered)
			}
			if err != nil && !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("tampered hash %q: error %v does not wrap ErrMalformedHash", tampered, err)
			}
		}
	}
	for _, tampered := range []string{hash[:len(hash)-1], hash + "A", "", hash[:20]} {
		if ok, _, _ := h.Verify(context.Background(), pw, vigil.PasswordHash(tampered)); ok {
			t.Fatalf("truncated or extended hash %q verified", tampered)
		}
	}
}

func TestVerifyNeedsRehash(t *testing.T) {
	ctx := context.Background()
	old := MustHasher(t, TestParams())
	hash := MustHash(t, old, "correct horse battery staple")

	changed := func(f func(*Params)) Params {
		p := TestParams()
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		params Params
		rehash bool
	}{
		{"same params", TestParams(), false},
		{"more memory", changed(func(p *Params) { p.Memory = 128 }), true},
		{"more iterations", changed(func(p *Params) { p.Iterations = 2 }), true},
		{"more lanes", changed(func(p *Params) { p.Parallelism = 2 }), true},
		{"longer salt", changed(func(p *Params) { p.SaltLen = 32 }), true},
		{"longer key", changed(func(p *Params) { p.KeyLen = 64 }), true},
		{"default", DefaultParams(), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := MustHasher(t, tt.params)
			ok, rehash, err := h.Verify(ctx, "correct horse battery staple", hash)
			if !ok || rehash != tt.rehash || err != nil {
				t.Fatalf("Verify = %v, %v, %v; want true, %v, nil", ok, rehash, err, tt.rehash)
			}
			// A wrong password never asks for a rehash.
			if _, rehash, _ := h.Verify(ctx, "wrong", hash); rehash {
				t.Fatal("needsRehash with a wrong password")
			}
		})
	}
}

// TestVerifyOutOfBoundsNotComputed checks that a stored hash with parameters
// out of bounds is refused before any work: had it been computed, m=2^32-1
// KiB would need 4 TiB, and even the cancelled context below would not be
// reported before the parse error.
func TestVerifyOutOfBoundsNotComputed(t *testing.T) {
	h := MustHasher(t, TestParams())
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, hash := range []string{
		"$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA",
		"$argon2id$v=19$m=4194305,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA",
		"$argon2id$v=19$m=65536,t=4294967295,p=1$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA",
		"$argon2id$v=19$m=65536,t=1,p=255$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA",
	} {
		for _, ctx := range []context.Context{context.Background(), cancelled} {
			ok, rehash, err := h.Verify(ctx, "correct horse battery staple", vigil.PasswordHash(hash))
			if ok || rehash || !errors.Is(err, ErrMalformedHash) || !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("Verify(%s) = %v, %v, %v; want ErrMalformedHash wrapping ErrInvalidParams", hash, ok, rehash, err)
			}
		}
	}
}

func TestVerifyDummy(t *testing.T) {
	h := MustHasher(t, TestParams())
	if err := h.VerifyDummy(context.Background(), "correct horse battery staple"); err != nil {
		t.Fatal(err)
	}
	// The dummy has the current parameters, so it costs what a Verify of a
	// current hash costs.
	p, _, _, err := ParsePHC(string(h.dummy))
	if err != nil || p != h.Params() {
		t.Fatalf("dummy hash params = %+v, %v; want %+v", p, err, h.Params())
	}
	// No password matches it, not even the empty one.
	for _, pw := range []vigil.Password{"", "correct horse battery staple"} {
		if ok, _, _ := h.Verify(context.Background(), pw, h.dummy); ok {
			t.Fatal("dummy hash verified")
		}
	}
}

func TestConcurrencyOption(t *testing.T) {
	tests := []struct {
		opts []Option
		want int
	}{
		{nil, runtime.GOMAXPROCS(0)},
		{[]Option{WithConcurrency(3)}, 3},
		{[]Option{WithConcurrency(0)}, runtime.GOMAXPROCS(0)},
		{[]Option{WithConcurrency(-1)}, runtime.GOMAXPROCS(0)},
	}
	for _, tt := range tests {
		if got := cap(MustHasher(t, TestParams(), tt.opts...).sem); got != tt.want {
			t.Errorf("concurrency = %d, want %d", got, tt.want)
		}
	}
}

// TestCancelledContext checks that every method gives up with ctx.Err()
// while waiting for a computation slot, and that a context already ended
// never starts work even when a slot is free.
func TestCancelledContext(t *testing.T) {
	h := MustHasher(t, TestParams(), WithConcurrency(1))
	hash := MustHash(t, h, "correct horse battery staple")
	calls := map[string]func(context.Context) error{
		"Hash": func(ctx context.Context) error {
			_, err := h.Hash(ctx, "correct horse battery staple")
			return err
		},
		"Verify": func(ctx context.Context) error {
			_, _, err := h.Verify(ctx, "correct horse battery staple", hash)
			return err
		},
		"VerifyDummy": func(ctx context.Context) error {
			return h.VerifyDummy(ctx, "correct horse battery staple")
		},
	}
	for name, call := range calls {
		t.Run(name+"/already cancelled, slot free", func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if err := call(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
		t.Run(name+"/cancelled while waiting", func(t *testing.T) {
			h.sem <- struct{}{} // the only slot is busy
			defer h.release()
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error)
			go func() { done <- call(ctx) }()
			cancel()
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
		})
		t.Run(name+"/slot released", func(t *testing.T) {
			if err := call(context.Background()); err != nil {
				t.Fatal(err)
			}
			if n := len(h.sem); n != 0 {
				t.Fatalf("%d slots still held", n)
			}
		})
	}
}

// TestErrorsHoldNoSecret checks that neither the password nor any part of
// the stored hash appears in an error.
func TestErrorsHoldNoSecret(t *testing.T) {
	h := MustHasher(t, TestParams())
	const pw = "correct horse battery staple"
	hash := string(MustHash(t, h, pw))
	i := strings.LastIndexByte(hash, '$')
	salt, key := hash[strings.LastIndexByte(hash[:i], '$')+1:i], hash[i+1:]
	for _, bad := range []string{
		hash + "\n",
		strings.Replace(hash, "argon2id", "argon2i", 1),
		strings.Replace(hash, "m=64", "m=9999999", 1),
		hash[:i] + "$" + key + "==",
	} {
		_, _, err := h.Verify(context.Background(), pw, vigil.PasswordHash(bad))
		if err == nil {
			t.Fatalf("Verify accepted %q", bad)
		}
		for _, secret := range []string{pw, salt, key, bad} {
			if strings.Contains(err.Error(), secret) {
				t.Fatalf("error %q contains a secret", err)
			}
		}
	}
}

func BenchmarkHash(b *testing.B) {
	for _, bc := range []struct {
		name string
		p    Params
	}{
		{"DefaultParams", DefaultParams()},
		{"TestParams", TestParams()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h := MustHasher(b, bc.p)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h.Hash(ctx, "correct horse battery staple"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
