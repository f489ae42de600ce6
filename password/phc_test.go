package password

import (
	"bufio"
	"encoding/hex"
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/crypto/argon2"
)

// validPHC is the reference implementation's own example (see testdata).
const validPHC = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

// cheapPHC has TestParams and a 16-byte salt.
const cheapPHC = "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA"

type vector struct {
	password string
	phc      string
}

// readVectors returns the argon2id known answers computed with the reference
// argon2 CLI; testdata/argon2-cli-vectors.txt says how.
func readVectors(tb testing.TB) []vector {
	tb.Helper()
	f, err := os.Open("testdata/argon2-cli-vectors.txt")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var vs []vector
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		pwHex, phc, ok := strings.Cut(line, " ")
		if !ok {
			tb.Fatalf("bad vector line %q", line)
		}
		pw, err := hex.DecodeString(pwHex)
		if err != nil {
			tb.Fatalf("bad vector line %q: %v", line, err)
		}
		vs = append(vs, vector{string(pw), phc})
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(vs) < 5 {
		tb.Fatalf("only %d vectors", len(vs))
	}
	return vs
}

// TestKnownAnswers checks that x/crypto's argon2id, with the parameters,
// salt and encoding as ParsePHC reads them, reproduces the reference CLI.
func TestKnownAnswers(t *testing.T) {
	for _, v := range readVectors(t) {
		t.Run(v.phc[:strings.LastIndexByte(v.phc, '$')], func(t *testing.T) {
			p, salt, key, err := ParsePHC(v.phc)
			if err != nil {
				t.Fatalf("ParsePHC: %v", err)
			}
			got := argon2.IDKey([]byte(v.password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLen)
			if string(got) != string(key) {
				t.Fatalf("IDKey = %x, want %x", got, key)
			}
			if enc := encodePHC(p, salt, key); enc != v.phc {
				t.Fatalf("encodePHC = %q, want %q", enc, v.phc)
			}
		})
	}
}

func TestParsePHC(t *testing.T) {
	p, salt, key, err := ParsePHC(validPHC)
	if err != nil {
		t.Fatal(err)
	}
	want := Params{Memory: 65536, Iterations: 2, Parallelism: 1, SaltLen: 8, KeyLen: 32}
	if p != want || string(salt) != "somesalt" || len(key) != 32 {
		t.Fatalf("ParsePHC = %+v, %q, %d-byte key; want %+v, \"somesalt\", 32", p, salt, len(key), want)
	}
}

func TestParsePHCRejects(t *testing.T) {
	const (
		salt16 = "c2FsdHNhbHRzYWx0c2FsdA"                      // 16 bytes
		key32  = "YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA" // 32 bytes
	)
	phc := func(alg, ver, params, salt, key string) string {
		return "$" + alg + "$" + ver + "$" + params + "$" + salt + "$" + key
	}
	b64n := func(n int) string { return b64.EncodeToString(make([]byte, n)) }
	good := phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32)
	if _, _, _, err := ParsePHC(good); err != nil {
		t.Fatalf("baseline rejected: %v", err)
	}

	tests := []struct {
		name       string
		in         string
		outOfBound bool // the error must also wrap ErrInvalidParams
	}{
		{"empty", "", false},
		{"only algorithm", "$argon2id", false},
		{"no leading dollar", good[1:], false},
		{"trailing dollar", good + "$", false},
		{"extra field", good + "$AAAA", false},
		{"trailing newline", good + "\n", false},
		{"leading space", " " + good, false},
		{"too long", good + strings.Repeat("A", maxPHCLen), false},
		{"argon2i", phc("argon2i", "v=19", "m=64,t=1,p=1", salt16, key32), false},
		{"argon2d", phc("argon2d", "v=19", "m=64,t=1,p=1", salt16, key32), false},
		{"upper-case algorithm", phc("ARGON2ID", "v=19", "m=64,t=1,p=1", salt16, key32), false},
		{"version 16", phc("argon2id", "v=16", "m=64,t=1,p=1", salt16, key32), false},
		{"version with leading zero", phc("argon2id", "v=019", "m=64,t=1,p=1", salt16, key32), false},
		{"version missing", "$argon2id$m=64,t=1,p=1$" + salt16 + "$" + key32, false},
		{"parameters out of order", phc("argon2id", "v=19", "t=1,m=64,p=1", salt16, key32), false},
		{"parameter missing", phc("argon2id", "v=19", "m=64,t=1", salt16, key32), false},
		{"keyid parameter", phc("argon2id", "v=19", "m=64,t=1,p=1,keyid=AAAA", salt16, key32), false},
		{"data parameter", phc("argon2id", "v=19", "m=64,t=1,p=1,data=AAAA", salt16, key32), false},
		{"empty number", phc("argon2id", "v=19", "m=,t=1,p=1", salt16, key32), false},
		{"leading zero", phc("argon2id", "v=19", "m=064,t=1,p=1", salt16, key32), false},
		{"plus sign", phc("argon2id", "v=19", "m=+64,t=1,p=1", salt16, key32), false},
		{"minus sign", phc("argon2id", "v=19", "m=64,t=-1,p=1", salt16, key32), false},
		{"space in number", phc("argon2id", "v=19", "m= 64,t=1,p=1", salt16, key32), false},
		{"hex number", phc("argon2id", "v=19", "m=0x40,t=1,p=1", salt16, key32), false},
		{"memory over 32 bits", phc("argon2id", "v=19", "m=4294967296,t=1,p=1", salt16, key32), false},
		{"memory 2^32-1", phc("argon2id", "v=19", "m=4294967295,t=1,p=1", salt16, key32), true},
		{"memory above max", phc("argon2id", "v=19", "m=4194305,t=1,p=1", salt16, key32), true},
		{"memory below min", phc("argon2id", "v=19", "m=7,t=1,p=1", salt16, key32), true},
		{"memory below 8 KiB per lane", phc("argon2id", "v=19", "m=64,t=1,p=16", salt16, key32), true},
		{"iterations zero", phc("argon2id", "v=19", "m=64,t=0,p=1", salt16, key32), true},
		{"iterations above max", phc("argon2id", "v=19", "m=64,t=65,p=1", salt16, key32), true},
		{"parallelism zero", phc("argon2id", "v=19", "m=64,t=1,p=0", salt16, key32), true},
		{"parallelism above max", phc("argon2id", "v=19", "m=1024,t=1,p=17", salt16, key32), true},
		{"parallelism 257 wraps to 1 in uint8", phc("argon2id", "v=19", "m=4096,t=1,p=257", salt16, key32), true},
		{"salt empty", phc("argon2id", "v=19", "m=64,t=1,p=1", "", key32), true},
		{"salt too short", phc("argon2id", "v=19", "m=64,t=1,p=1", b64n(MinSaltLen-1), key32), true},
		{"salt too long", phc("argon2id", "v=19", "m=64,t=1,p=1", b64n(MaxSaltLen+1), key32), false},
		{"key empty", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, ""), true},
		{"key too short", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, b64n(MinKeyLen-1)), true},
		{"key too long", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, b64n(MaxKeyLen+1)), false},
		{"salt padded", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16+"==", key32), false},
		{"key padded", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32+"="), false},
		{"salt url-safe alphabet", phc("argon2id", "v=19", "m=64,t=1,p=1", "c2Fsd-NhbHRzYWx0c2F_dA", key32), false},
		{"key stray low bits", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32[:len(key32)-1]+"B"), false},
		{"newline in key", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32[:10]+"\n"+key32[10:]), false},
		{"carriage return in salt", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16[:4]+"\r"+salt16[4:], key32), false},
		{"key length impossible in base64", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32+"AA"), false},
		{"NUL byte", phc("argon2id", "v=19", "m=64,t=1,p=1", salt16, key32) + "\x00", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, salt, key, err := ParsePHC(tt.in)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("ParsePHC = %+v, %x, %x, %v; want ErrMalformedHash", p, salt, key, err)
			}
			if tt.outOfBound && !errors.Is(err, ErrInvalidParams) {
				t.Fatalf("ParsePHC error %v does not wrap ErrInvalidParams", err)
			}
			if p != (Params{}) || salt != nil || key != nil {
				t.Fatalf("ParsePHC returned values with an error")
			}
			// The stored hash is a secret: no part of it in the error text.
			msg := err.Error()
			for _, part := range []string{salt16, key32, tt.in} {
				if len(part) > 8 && strings.Contains(msg, part) {
					t.Fatalf("error %q contains input part %q", msg, part)
				}
			}
		})
	}
}

func FuzzParsePHC(f *testing.F) {
	f.Add(validPHC)
	f.Add(cheapPHC)
	for _, v := range readVectors(f) {
		f.Add(v.phc)
	}
	f.Add("$argon2id$v=19$m=4294967295,t=1,p=257$c2FsdHNhbHRzYWx0c2FsdA$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA==$YrPg8/pKaiAt5Iy585bRXTQdh7iv88igKYVg4t6I1GA")
	f.Add("$argon2i$v=19$m=64,t=1,p=1$$")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePHC(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("error %v does not wrap ErrMalformedHash", err)
			}
			return
		}
		if err := p.Validate(); err != nil {
			t.Fatalf("accepted out-of-bounds params %+v: %v", p, err)
		}
		if uint32(len(salt)) != p.SaltLen || uint32(len(key)) != p.KeyLen {
			t.Fatalf("lengths %d, %d disagree with %+v", len(salt), len(key), p)
		}
		// Strict: only the canonical encoding is accepted.
		if enc := encodePHC(p, salt, key); enc != s {
			t.Fatalf("accepted %q, which re-encodes as %q", s, enc)
		}
	})
}
