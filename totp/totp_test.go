package totp_test

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	pqtotp "github.com/pquerna/otp/totp"

	"github.com/vigil-dev/vigil/totp"
)

// rfcSecret is the RFC 4226 / RFC 6238 SHA1 test seed, base32-encoded.
var rfcSecret = base32.StdEncoding.EncodeToString([]byte("12345678901234567890"))

// refHOTP is an implementation of RFC 4226 written from the RFC alone,
// independent of pquerna/otp, to check the package against: HMAC-SHA1 of the
// 8-byte big-endian counter, dynamic truncation (section 5.3), modulo
// 10^digits, zero-padded.
func refHOTP(key []byte, counter uint64, digits int) string {
	mac := hmac.New(sha1.New, key)
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], counter)
	mac.Write(msg[:])
	hs := mac.Sum(nil)
	offset := hs[19] & 0x0f
	sbits := uint32(hs[offset]&0x7f)<<24 | uint32(hs[offset+1])<<16 | uint32(hs[offset+2])<<8 | uint32(hs[offset+3])
	mod := uint32(1)
	for range digits {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", digits, sbits%mod)
}

// refTOTP is RFC 6238 over refHOTP: T0 = 0, X = 30 s.
func refTOTP(key []byte, t time.Time, digits int) string {
	return refHOTP(key, uint64(t.Unix()/30), digits)
}

// readTable returns the whitespace-separated fields of each line of a file
// in testdata, skipping blank lines and # comments.
func readTable(tb testing.TB, name string) [][]string {
	tb.Helper()
	f, err := os.Open("testdata/" + name)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var rows [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		rows = append(rows, strings.Fields(line))
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	if len(rows) == 0 {
		tb.Fatalf("testdata/%s is empty", name)
	}
	return rows
}

// MustCode returns Code(secret, t), failing the test on error.
func MustCode(tb testing.TB, secret string, t time.Time) string {
	tb.Helper()
	c, err := totp.Code(secret, t)
	if err != nil {
		tb.Fatalf("Code: %v", err)
	}
	return c
}

func TestRefHOTPMatchesRFC4226(t *testing.T) {
	for _, row := range readTable(t, "rfc4226-hotp.txt") {
		counter, _ := strconv.ParseUint(row[0], 10, 64)
		if got := refHOTP([]byte("12345678901234567890"), counter, 6); got != row[1] {
			t.Errorf("refHOTP(counter %d) = %s, want %s", counter, got, row[1])
		}
	}
}

func TestRFC6238Vectors(t *testing.T) {
	for _, row := range readTable(t, "rfc6238-sha1.txt") {
		unix, _ := strconv.ParseInt(row[0], 10, 64)
		step, _ := strconv.ParseInt(row[1], 16, 64)
		want8 := row[2]
		at := time.Unix(unix, 0).UTC()
		t.Run(row[0], func(t *testing.T) {
			if got := totp.Step(at); got != step {
				t.Errorf("Step = %d, want %d", got, step)
			}
			// The RFC's 8-digit values, from the library's generator.
			got8, err := pqtotp.GenerateCodeCustom(rfcSecret, at, pqtotp.ValidateOpts{
				Period: 30, Digits: otp.DigitsEight, Algorithm: otp.AlgorithmSHA1,
			})
			if err != nil || got8 != want8 {
				t.Errorf("pquerna 8 digits = %q, %v; want %s", got8, err, want8)
			}
			if got := refTOTP([]byte("12345678901234567890"), at, 8); got != want8 {
				t.Errorf("reference 8 digits = %s, want %s", got, want8)
			}
			// Six digits are the last six of eight: both are the same
			// truncated value modulo a power of ten.
			want6 := want8[2:]
			if got := MustCode(t, rfcSecret, at); got != want6 {
				t.Errorf("Code = %s, want %s", got, want6)
			}
			if s, ok := totp.Verify(rfcSecret, want6, at, 0); !ok || s != step {
				t.Errorf("Verify = %d, %v; want %d, true", s, ok, step)
			}
		})
	}
}

// TestAgainstReference compares Code and Verify with refTOTP over random
// secrets (of every accepted length, in every accepted spelling) and times.
func TestAgainstReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(6238, 4226))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for i := range n {
		key := make([]byte, 16+rng.IntN(49))
		for j := range key {
			key[j] = byte(rng.Uint32())
		}
		var secret string
		switch i % 4 {
		case 0:
			secret = base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key)
		case 1:
			secret = base32.StdEncoding.EncodeToString(key)
		case 2:
			secret = strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(key))
		case 3:
			secret = strings.ToLower(base32.StdEncoding.EncodeToString(key))
		}
		at := time.Unix(rng.Int64N(1<<34), rng.Int64N(1e9))
		want := refTOTP(key, at, 6)
		if got := MustCode(t, secret, at); got != want {
			t.Fatalf("secret %s at %d: Code = %s, reference %s", secret, at.Unix(), got, want)
		}
		step := at.Unix() / 30
		if s, ok := totp.Verify(secret, want, at, 0); !ok || s < step || s > step+1 {
			// s may be step+1 if the next step's code happens to match too.
			t.Fatalf("secret %s at %d: Verify(reference code) = %d, %v; want %d", secret, at.Unix(), s, ok, step)
		}
		// A code the reference gives for a step out of the window is
		// refused, unless it happens to equal a code inside the window.
		far := refHOTP(key, uint64(step+2+rng.Int64N(1000)), 6)
		inWindow := false
		for d := int64(-1); d <= 1; d++ {
			inWindow = inWindow || refHOTP(key, uint64(step+d), 6) == far
		}
		if _, ok := totp.Verify(secret, far, at, 0); ok != inWindow {
			t.Fatalf("secret %s at %d: Verify(out-of-window code) = %v", secret, at.Unix(), ok)
		}
	}
}

// fixedSecret and base are a secret and a time at the start of a step
// whose codes for the steps base-3 ... base+3 all differ (checked in
// codesAround), so skew tests are not confused by a coincidence.
var (
	fixedSecret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
	base        = time.Unix(1_700_000_010, 0) // the first second of step 56666667
)

func codesAround(tb testing.TB) map[int64]string {
	tb.Helper()
	codes := map[int64]string{}
	seen := map[string]bool{}
	for d := int64(-3); d <= 3; d++ {
		c := MustCode(tb, fixedSecret, base.Add(time.Duration(d)*totp.Period))
		if seen[c] {
			tb.Fatalf("codes around base repeat; pick another base")
		}
		seen[c] = true
		codes[d] = c
	}
	return codes
}

func TestSkew(t *testing.T) {
	codes := codesAround(t)
	step := totp.Step(base)
	for d, c := range codes {
		s, ok := totp.Verify(fixedSecret, c, base, 0)
		wantOK := d >= -1 && d <= 1
		if ok != wantOK {
			t.Errorf("code of step %+d: ok = %v, want %v", d, ok, wantOK)
		}
		if ok && s != step+d {
			t.Errorf("code of step %+d: matched step %d, want %d", d, s, step+d)
		}
	}
	// The window moves with the clock: at the last second of a step and
	// the first of the next.
	if base.Unix()%30 != 0 {
		t.Fatalf("base is not the start of a step")
	}
	end := base.Add(29 * time.Second) // the step's last second
	if _, ok := totp.Verify(fixedSecret, codes[-1], end, 0); !ok {
		t.Errorf("previous step's code refused at the end of the step")
	}
	if _, ok := totp.Verify(fixedSecret, codes[-1], end.Add(time.Second), 0); ok {
		t.Errorf("code of two steps ago accepted at the start of a step")
	}
}

func TestReplay(t *testing.T) {
	codes := codesAround(t)
	step := totp.Step(base)

	s, ok := totp.Verify(fixedSecret, codes[0], base, 0)
	if !ok || s != step {
		t.Fatalf("first use: %d, %v", s, ok)
	}
	// The same code again, in the same step or the next: refused.
	if _, ok := totp.Verify(fixedSecret, codes[0], base, s); ok {
		t.Errorf("same code accepted twice in its step")
	}
	if _, ok := totp.Verify(fixedSecret, codes[0], base.Add(totp.Period), s); ok {
		t.Errorf("same code accepted twice in the next step")
	}
	// An older code still in the window: refused.
	if _, ok := totp.Verify(fixedSecret, codes[-1], base, s); ok {
		t.Errorf("older code accepted after a newer one")
	}
	// The next step's code (early clock): accepted once, and then the
	// current one no longer is.
	s2, ok := totp.Verify(fixedSecret, codes[1], base, s)
	if !ok || s2 != step+1 {
		t.Fatalf("next step's code: %d, %v", s2, ok)
	}
	if _, ok := totp.Verify(fixedSecret, codes[1], base.Add(totp.Period), s2); ok {
		t.Errorf("next step's code accepted twice")
	}
	// A last-used step ahead of the clock refuses everything in the window.
	for d := int64(-1); d <= 1; d++ {
		if _, ok := totp.Verify(fixedSecret, codes[d], base, step+1); ok {
			t.Errorf("code of step %+d accepted with lastUsedStep ahead", d)
		}
	}
}

func TestMalformedInputRefused(t *testing.T) {
	good := MustCode(t, fixedSecret, base)
	if _, ok := totp.Verify(fixedSecret, good, base, 0); !ok {
		t.Fatalf("good code refused")
	}
	for _, code := range []string{
		"", "1", "12345", good[:5], good + "0", "0" + good, "1234567",
		" " + good[1:], good[:5] + " ", good[:3] + " " + good[3:],
		"12345a", "abcdef", "+12345", "-12345", "12.456", "0x1234",
		"١٢٣٤٥٦",            // Arabic-Indic digits
		"１２３４５６",            // full-width digits
		good[:5] + "\x00",   // NUL
		good[:3] + "\u200b", // zero-width space, wrong length anyway
	} {
		if _, ok := totp.Verify(fixedSecret, code, base, 0); ok {
			t.Errorf("Verify(%q) accepted", code)
		}
		// Refused before any HMAC is computed: nothing is allocated.
		if a := testing.AllocsPerRun(20, func() { totp.Verify(fixedSecret, code, base, 0) }); a != 0 {
			t.Errorf("Verify(%q) allocated %v times: it computed", code, a)
		}
	}
	if a := testing.AllocsPerRun(20, func() { totp.Verify(fixedSecret, good, base, 0) }); a == 0 {
		t.Errorf("control: a well-formed code allocated nothing, so the check above proves nothing")
	}
}

func TestInvalidSecret(t *testing.T) {
	for _, secret := range []string{
		"",
		"JBSWY3DPEHPK3PXP",                 // 10 bytes: below 128 bits
		"JBSWY3DPEHPK3PXPJBSWY3D1",         // '1' is not base32
		"JBSWY3DP EHPK3PXP JBSWY3DPEHPK3P", // spaces
		"JBSWY3DPEHPK3PXP=JBSWY3DPEHPK3PXP",
		strings.Repeat("A", 200), // over 64 bytes
	} {
		if _, err := totp.Code(secret, base); err == nil {
			t.Errorf("Code(%q) succeeded", secret)
		}
		if _, ok := totp.Verify(secret, "123456", base, 0); ok {
			t.Errorf("Verify(secret %q) accepted", secret)
		}
	}
	if _, err := totp.Code(fixedSecret, time.Unix(-1, 0)); err == nil {
		t.Errorf("Code before 1970 succeeded")
	}
	if totp.Step(time.Unix(-31, 0)) != -1 {
		t.Errorf("Step before 1970 != -1")
	}
	// Times before the first step's window edge still work.
	c := MustCode(t, fixedSecret, time.Unix(0, 0))
	if s, ok := totp.Verify(fixedSecret, c, time.Unix(5, 0), -1); !ok || s != 0 {
		t.Errorf("step 0: %d, %v", s, ok)
	}
}

func TestGenerateSecret(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		s := totp.GenerateSecret()
		if len(s) != 32 || strings.ContainsAny(s, "= ") || strings.ToUpper(s) != s {
			t.Fatalf("secret %q: want 32 upper case base32 characters, no padding", s)
		}
		raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(s)
		if err != nil || len(raw) != totp.SecretSize {
			t.Fatalf("secret %q decodes to %d bytes, %v", s, len(raw), err)
		}
		if seen[s] {
			t.Fatalf("secret repeated")
		}
		seen[s] = true
		// It works with Code, Verify and the reference.
		c := MustCode(t, s, base)
		if c != refTOTP(raw, base, 6) {
			t.Fatalf("Code disagrees with the reference")
		}
		if _, ok := totp.Verify(s, c, base, 0); !ok {
			t.Fatalf("generated secret: own code refused")
		}
	}
}
