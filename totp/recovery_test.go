package totp_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/totp"
)

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz"

var codeShape = regexp.MustCompile(`^[0-9a-hjkmnp-tv-z]{5}-[0-9a-hjkmnp-tv-z]{5}$`)

func TestGenerateRecoveryCodes(t *testing.T) {
	if got := totp.GenerateRecoveryCodes(0); len(got) != 0 {
		t.Errorf("n=0: %v", got)
	}
	if got := totp.GenerateRecoveryCodes(-3); len(got) != 0 {
		t.Errorf("n=-3: %v", got)
	}
	codes := totp.GenerateRecoveryCodes(10)
	if len(codes) != 10 {
		t.Fatalf("len = %d, want 10", len(codes))
	}

	// Many codes: right shape, distinct, every symbol of the alphabet used
	// and roughly evenly.
	many := totp.GenerateRecoveryCodes(5000)
	seen := map[string]bool{}
	count := map[rune]int{}
	for _, c := range many {
		if !codeShape.MatchString(c) {
			t.Fatalf("code %q has the wrong shape", c)
		}
		if seen[c] {
			t.Fatalf("code %q repeated", c)
		}
		seen[c] = true
		for _, r := range strings.ReplaceAll(c, "-", "") {
			count[r]++
		}
		if n := totp.NormalizeRecoveryCode(c); n != strings.ReplaceAll(c, "-", "") || len(n) != totp.RecoveryCodeLen {
			t.Fatalf("Normalize(%q) = %q", c, n)
		}
	}
	if len(count) != len(alphabet) {
		t.Fatalf("%d distinct symbols used, want %d", len(count), len(alphabet))
	}
	expect := 5000 * totp.RecoveryCodeLen / len(alphabet) // 1562.5
	for r, n := range count {
		if n < expect*3/4 || n > expect*5/4 {
			t.Errorf("symbol %q used %d times, expected about %d", r, n, expect)
		}
	}
}

func TestNormalizeRecoveryCode(t *testing.T) {
	tests := []struct{ in, want string }{
		{"7k2qd-x9m4a", "7k2qdx9m4a"},
		{"7K2QD-X9M4A", "7k2qdx9m4a"},
		{"7k2qd x9m4a", "7k2qdx9m4a"},
		{"  7k2qd\tx9m4a\n", "7k2qdx9m4a"},
		{"7k-2q-dx-9m-4a", "7k2qdx9m4a"},
		{"7k2qd–x9m4a", "7k2qdx9m4a"},      // en dash
		{"7k2qd—x9m4a", "7k2qdx9m4a"},      // em dash
		{"7k2qd\u00a0x9m4a", "7k2qdx9m4a"}, // no-break space
		{"O0o-IiLl1", "00011111"},          // Crockford's look-alikes
		{"", ""},
		{"---", ""},
		{"7k2qd_x9m4a", "7k2qd_x9m4a"}, // other characters are kept
		{"ÄBC", "Äbc"},                 // non-ASCII letters are not folded
		{"\u212a", "\u212a"},           // Kelvin sign is not "k"
	}
	for _, tt := range tests {
		if got := totp.NormalizeRecoveryCode(tt.in); got != tt.want {
			t.Errorf("NormalizeRecoveryCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
		// Idempotent.
		if got := totp.NormalizeRecoveryCode(totp.NormalizeRecoveryCode(tt.in)); got != tt.want {
			t.Errorf("Normalize twice(%q) = %q", tt.in, got)
		}
	}
}

// TestRecoveryCodeHashes checks the storage recipe in the doc comment: the
// hash of the normalised code matches however loosely the user types it.
func TestRecoveryCodeHashes(t *testing.T) {
	code := totp.GenerateRecoveryCodes(1)[0]
	stored := vigil.ParseToken(totp.NormalizeRecoveryCode(code)).Hash()
	for _, typed := range []string{
		code,
		strings.ToUpper(code),
		strings.ReplaceAll(code, "-", " "),
		" " + strings.ReplaceAll(code, "-", "") + " ",
		strings.NewReplacer("0", "O", "1", "l").Replace(strings.ToUpper(code)),
	} {
		if !vigil.ParseToken(totp.NormalizeRecoveryCode(typed)).Hash().Equal(stored) {
			t.Errorf("typed %q does not match the stored hash", typed)
		}
	}
	other := totp.GenerateRecoveryCodes(1)[0]
	if vigil.ParseToken(totp.NormalizeRecoveryCode(other)).Hash().Equal(stored) {
		t.Errorf("another code matches the stored hash")
	}
}
