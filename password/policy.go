package password

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// Policy decides which new passwords vigil accepts, after NIST SP 800-63B
// revision 4 section 3.1.1.2: a length range counted in Unicode code points
// after normalisation, every printable character allowed (spaces and emoji
// included), no composition rules (no "one digit, one symbol"), and a refusal
// of passwords that are common, breached, or made of the account's own
// identifiers. It applies to passwords being set, not to logins.
//
// The zero value is not valid; start from DefaultPolicy.
type Policy struct {
	MinLength int // fewest code points after NFKC normalisation
	MaxLength int // most code points after NFKC normalisation
}

// DefaultPolicy returns the policy NIST SP 800-63B rev. 4 sets for a password
// used as a single factor: at least 15 characters, and up to 256, well past
// the 64 that verifiers should accept at least, so that passphrases fit.
func DefaultPolicy() Policy { return Policy{MinLength: 15, MaxLength: 256} }

// maxPolicyLength caps Policy.MaxLength: far beyond any passphrase, and low
// enough that Check's byte bound on its input cannot overflow.
const maxPolicyLength = 4096

// Validate returns nil if p can be enforced: MinLength at least 8 (the least
// NIST allows, for a password used only as part of multi-factor
// authentication), MaxLength from 64 (NIST: verifiers should accept at least
// 64) to 4096 and at least MinLength. Otherwise it returns an error saying
// which bound is broken.
func (p Policy) Validate() error {
	switch {
	case p.MinLength < 8:
		return fmt.Errorf("password: policy minimum length %d is below 8", p.MinLength)
	case p.MaxLength < 64:
		return fmt.Errorf("password: policy maximum length %d is below 64", p.MaxLength)
	case p.MaxLength > maxPolicyLength:
		return fmt.Errorf("password: policy maximum length %d is above %d", p.MaxLength, maxPolicyLength)
	case p.MaxLength < p.MinLength:
		return fmt.Errorf("password: policy maximum length %d is below minimum length %d", p.MaxLength, p.MinLength)
	}
	return nil
}

// Normalize returns pw in Unicode normalisation form NFKC, so that a
// password typed as full-width or decomposed characters on one device matches
// the same password typed plainly on another. Policy.Check returns this form,
// which is the form to hash; a login must pass the presented password through
// Normalize before Hasher.Verify, or a password with such characters would
// never match. Normalize does not validate: bytes that are not UTF-8 pass
// through it (and Policy.Check rejects them).
func Normalize(pw vigil.Password) vigil.Password {
	return vigil.Password(norm.NFKC.String(string(pw)))
}

// Public messages of the errors of Check. None includes the password.
const (
	msgNotUTF8  = "password must be valid UTF-8 text"
	msgControl  = "password must not contain control characters such as tabs or line breaks"
	msgTooShort = "password must be at least %d characters"
	msgTooLong  = "password must be at most %d characters"
	msgCommon   = "password is too common or appears in a breach list; choose another"
	msgContext  = "password must not contain your username, email address or other account details"
)

// minContextLen is the shortest context word that a password may not contain.
// A shorter one (a username like "li" or "bob") would reject too many good
// passwords; a password equal to one is still refused.
const minContextLen = 4

// Check decides whether pw may be set as a password and returns it normalised
// with Normalize: the value to hash. context holds words specific to the
// account, such as its username and email address; empty ones are ignored,
// and for a word containing '@' its local part (before the last '@') counts
// too.
//
// Check returns a *vigil.Error with code vigil.EINVALID and a message fit for
// the user if pw
//   - is not valid UTF-8;
//   - contains a control character (tab, line break and the like; spaces are
//     fine) after normalisation;
//   - has fewer than MinLength or more than MaxLength code points after
//     normalisation;
//   - equals a context word, or contains one at least 4 code points long,
//     ignoring case;
//   - is on the bundled list of common and breached passwords, ignoring case.
//
// If p itself fails Validate, Check returns an EINTERNAL error: a
// misconfigured policy must not silently accept weak passwords. No error text
// ever contains the password.
func (p Policy) Check(pw vigil.Password, context ...string) (vigil.Password, error) {
	if err := p.Validate(); err != nil {
		return "", vigil.Internal(err)
	}
	s := string(pw)
	if !utf8.ValidString(s) {
		return "", invalid(msgNotUTF8)
	}
	// Bound the work of normalising an absurd input. NFKC composes at most a
	// few code points into one and a code point is at most 4 bytes, so
	// nothing this long can normalise to MaxLength code points or fewer.
	if len(s) > 16*p.MaxLength {
		return "", invalid(fmt.Sprintf(msgTooLong, p.MaxLength))
	}
	s = string(Normalize(pw))
	for _, r := range s {
		if isControl(r) {
			return "", invalid(msgControl)
		}
	}
	switch n := utf8.RuneCountInString(s); {
	case n < p.MinLength:
		return "", invalid(fmt.Sprintf(msgTooShort, p.MinLength))
	case n > p.MaxLength:
		return "", invalid(fmt.Sprintf(msgTooLong, p.MaxLength))
	}
	folded := fold(s)
	for _, word := range context {
		if containsContext(folded, word) {
			return "", invalid(msgContext)
		}
	}
	if isCommon(folded) {
		return "", invalid(msgCommon)
	}
	return vigil.Password(s), nil
}

func invalid(msg string) error { return &vigil.Error{Code: vigil.EINVALID, Message: msg} }

// isControl reports whether r is a control character (Unicode category Cc:
// C0, DEL and C1, including tab and line feed) or a line or paragraph
// separator. Normal spaces are not: NFKC has already turned the other space
// characters into U+0020.
func isControl(r rune) bool {
	return unicode.IsControl(r) || r == '\u2028' || r == '\u2029'
}

// fold returns s case-folded for comparisons that ignore case. A Caser is
// not safe for concurrent use, so each call makes its own.
func fold(s string) string { return cases.Fold().String(s) }

// containsContext reports whether folded, a normalised and case-folded
// password, equals word or its email local part, or contains either when it
// is at least minContextLen code points long.
func containsContext(folded, word string) bool {
	w := fold(string(Normalize(vigil.Password(strings.TrimSpace(word)))))
	candidates := []string{w}
	if at := strings.LastIndexByte(w, '@'); at >= 0 {
		candidates = append(candidates, w[:at])
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if folded == c || utf8.RuneCountInString(c) >= minContextLen && strings.Contains(folded, c) {
			return true
		}
	}
	return false
}
