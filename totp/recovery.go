package totp

import (
	"crypto/rand"
	"strings"
	"unicode"
)

// recoveryAlphabet is Crockford's base32 in lower case: digits and letters
// without i, l, o and u, so no two characters look alike. Its 32 symbols
// divide 256, so a random byte masked to 5 bits picks one uniformly.
const recoveryAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// RecoveryCodeLen is the number of characters in a recovery code, not
// counting the hyphen in the middle: 50 bits.
const RecoveryCodeLen = 10

// GenerateRecoveryCodes returns n distinct new recovery codes (none for
// n <= 0), each of RecoveryCodeLen random characters from Crockford's base32
// alphabet in lower case, written as two groups of five: "7k2qd-x9m4a". They
// are shown to the user once, when issued.
//
// Callers store only a hash of each code, of its normalised form, and
// compare hashes when one is presented:
//
//	vigil.ParseToken(NormalizeRecoveryCode(code)).Hash()
//
// A code is worth 50 bits: ample against online guessing under the sign-in
// throttles, but an unsalted SHA-256 of 50 bits can be searched offline by
// someone who has copied the database, so the stored hashes deserve the
// same protection as the rest of the account data. Each code is single-use:
// delete its hash when it is accepted.
func GenerateRecoveryCodes(n int) []string {
	if n <= 0 {
		return nil
	}
	codes := make([]string, 0, n)
	seen := make(map[string]bool, n)
	for len(codes) < n {
		c := newRecoveryCode()
		if seen[c] { // 2^-50 per pair; keep the set distinct regardless
			continue
		}
		seen[c] = true
		codes = append(codes, c)
	}
	return codes
}

func newRecoveryCode() string {
	var r [RecoveryCodeLen]byte
	// crypto/rand.Read never returns an error on supported platforms (Go 1.24+).
	_, _ = rand.Read(r[:])
	b := make([]byte, 0, RecoveryCodeLen+1)
	for i, v := range r {
		if i == RecoveryCodeLen/2 {
			b = append(b, '-')
		}
		b = append(b, recoveryAlphabet[v&31])
	}
	return string(b)
}

// NormalizeRecoveryCode returns the canonical form of a recovery code as a
// user typed it, the form whose hash is stored: white space and dashes
// (the hyphen and other Unicode dashes) removed, ASCII letters lower-cased,
// and, as Crockford's base32 prescribes, "o" read as "0" and "i" and "l" as
// "1". So "7K2QD X9M4A" and "7k2qd-x9m4a" normalise alike. Other characters
// are kept as they are, so the result of garbage matches no code. It does
// not check that the result is a well-formed code.
func NormalizeRecoveryCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case unicode.IsSpace(r) || unicode.Is(unicode.Pd, r):
			continue
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		}
		switch r {
		case 'o':
			r = '0'
		case 'i', 'l':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}
