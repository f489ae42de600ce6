package password

import (
	"errors"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
	"golang.org/x/text/unicode/norm"
)

// ofLength returns a password of exactly n code points that is on no list.
func ofLength(n int) string {
	const phrase = "vigil keeps watch over quiet meadows "
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteByte(phrase[i%len(phrase)])
	}
	return b.String()
}

func TestPolicyCheck(t *testing.T) {
	const (
		user  = "alice.smith"
		email = "Alice.Smith@Example.COM"
	)
	def := DefaultPolicy()
	min8 := Policy{MinLength: 8, MaxLength: 64}
	tests := []struct {
		name    string
		policy  Policy
		pw      string
		context []string
		want    string // the normalised password, when accepted
		msg     string // the public message, when refused
	}{
		{name: "14 characters", policy: def, pw: ofLength(14), msg: "password must be at least 15 characters"},
		{name: "15 characters", policy: def, pw: ofLength(15), want: ofLength(15)},
		{name: "64 characters", policy: def, pw: ofLength(64), want: ofLength(64)},
		{name: "256 characters", policy: def, pw: ofLength(256), want: ofLength(256)},
		{name: "257 characters", policy: def, pw: ofLength(257), msg: "password must be at most 256 characters"},
		{name: "far too long to normalise", policy: def, pw: strings.Repeat("a", 1<<20), msg: "password must be at most 256 characters"},
		{name: "15 code points of several bytes", policy: def, pw: "пароль-ключ-🔐🔐🔐", want: "пароль-ключ-🔐🔐🔐"},
		{name: "14 code points of several bytes", policy: def, pw: "пароль-ключ-🔐🔐", msg: "password must be at least 15 characters"},
		{name: "256 emoji", policy: def, pw: strings.Repeat("🔐", 256), want: strings.Repeat("🔐", 256)},
		{name: "257 emoji", policy: def, pw: strings.Repeat("🔐", 257), msg: "password must be at most 256 characters"},
		{name: "spaces are fine", policy: def, pw: "  spaces   inside   and around  ", want: "  spaces   inside   and around  "},
		{name: "no composition rules", policy: def, pw: "all lower case letters only", want: "all lower case letters only"},

		// Normalisation: NFKC, and length counted after it.
		{name: "full-width letters", policy: def, pw: "ｃｏｒｒｅｃｔ　ｈｏｒｓｅ　ｂａｔｔｅｒｙ", want: "correct horse battery"},
		{name: "no-break space", policy: def, pw: "correct\u00a0horse\u00a0battery", want: "correct horse battery"},
		{name: "decomposed accents compose", policy: def, pw: strings.Repeat("e\u0301", 15), want: strings.Repeat("\u00e9", 15)},
		{name: "decomposed accents count once", policy: def, pw: strings.Repeat("e\u0301", 14), msg: "password must be at least 15 characters"},
		{name: "ligature expands", policy: def, pw: "\ufb01ve-and-twenty", want: "five-and-twenty"},

		// Characters refused.
		{name: "invalid UTF-8", policy: def, pw: "valid prefix then \xff\xfe bytes", msg: "password must be valid UTF-8 text"},
		{name: "lone surrogate", policy: def, pw: "surrogate \xed\xa0\x80 inside text", msg: "password must be valid UTF-8 text"},
		{name: "tab", policy: def, pw: "correct\thorse battery", msg: "password must not contain control characters such as tabs or line breaks"},
		{name: "line feed", policy: def, pw: "correct horse battery\n", msg: "password must not contain control characters such as tabs or line breaks"},
		{name: "NUL", policy: def, pw: "correct horse\x00battery", msg: "password must not contain control characters such as tabs or line breaks"},
		{name: "DEL", policy: def, pw: "correct horse\x7fbattery", msg: "password must not contain control characters such as tabs or line breaks"},
		{name: "C1 control", policy: def, pw: "correct horse\u0085battery", msg: "password must not contain control characters such as tabs or line breaks"},
		{name: "line separator", policy: def, pw: "correct horse\u2028battery", msg: "password must not contain control characters such as tabs or line breaks"},

		// The bundled list, ignoring case and width.
		{name: "common, 16 characters", policy: def, pw: "passwordpassword", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common, mixed case", policy: def, pw: "PassWordPassWord", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common, full-width", policy: def, pw: "ｐａｓｓｗｏｒｄｐａｓｓｗｏｒｄ", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common keyboard walk", policy: def, pw: "1qaz2wsx3edc4rfv", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common with lower minimum", policy: min8, pw: "password", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common upper case with lower minimum", policy: min8, pw: "PASSW0RD", msg: "password is too common or appears in a breach list; choose another"},
		{name: "common sharp s folds to ss", policy: min8, pw: "paßword1", msg: "password is too common or appears in a breach list; choose another"},
		{name: "not common with lower minimum", policy: min8, pw: "qz7!vigil", want: "qz7!vigil"},

		// Context words.
		{name: "contains username", policy: def, pw: "my name is alice.smith ok", context: []string{user}, msg: "password must not contain your username, email address or other account details"},
		{name: "contains username, other case", policy: def, pw: "ALICE.SMITH is my password", context: []string{user}, msg: "password must not contain your username, email address or other account details"},
		{name: "equals username", policy: min8, pw: "Alice.Smith", context: []string{user}, msg: "password must not contain your username, email address or other account details"},
		{name: "contains email", policy: def, pw: "alice.smith@example.com!", context: []string{email}, msg: "password must not contain your username, email address or other account details"},
		{name: "contains email local part", policy: def, pw: "i am ALICE.SMITH at home", context: []string{email}, msg: "password must not contain your username, email address or other account details"},
		{name: "contains full-width username", policy: def, pw: "ｉ ａｍ ａｌｉｃｅ．ｓｍｉｔｈ ｏｋ", context: []string{user}, msg: "password must not contain your username, email address or other account details"},
		{name: "second context word", policy: def, pw: "welcome to acme widgets", context: []string{"", user, "Acme"}, msg: "password must not contain your username, email address or other account details"},
		{name: "short context word may appear", policy: def, pw: "bobbing along the river", context: []string{"bob"}, want: "bobbing along the river"},
		{name: "empty context ignored", policy: def, pw: "bobbing along the river", context: []string{"", "  ", "@"}, want: "bobbing along the river"},
		{name: "unrelated context", policy: def, pw: "bobbing along the river", context: []string{user, email}, want: "bobbing along the river"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.policy.Check(vigil.Password(tt.pw), tt.context...)
			if tt.msg == "" {
				if err != nil {
					t.Fatalf("Check = %v, want accepted", err)
				}
				if string(got) != tt.want {
					t.Fatalf("Check returned %+q, want %+q", string(got), tt.want)
				}
				if got != Normalize(vigil.Password(tt.pw)) {
					t.Fatal("Check's result differs from Normalize")
				}
				return
			}
			if got != "" {
				t.Fatal("Check returned a password with an error")
			}
			var ve *vigil.Error
			if !errors.As(err, &ve) || ve.Code != vigil.EINVALID {
				t.Fatalf("Check error = %#v, want *vigil.Error with EINVALID", err)
			}
			if ve.Message != tt.msg {
				t.Fatalf("message = %q, want %q", ve.Message, tt.msg)
			}
			// The whole error text is the fixed message: no room for the
			// password, no cause attached.
			if ve.Err != nil || err.Error() != "vigil invalid: "+tt.msg {
				t.Fatalf("error text %q is more than the public message", err)
			}
		})
	}
}

func TestNormalizeEquivalence(t *testing.T) {
	// Forms a person may type for one password; all must hash alike.
	forms := []string{
		// precomposed
		"Café Noir Soixante",
		// decomposed
		"Cafe\u0301 Noir Soixante",
		// full-width, with ideographic spaces
		"Ｃａｆé　Ｎｏｉｒ　Ｓｏｉｘａｎｔｅ",
		// no-break space
		"Cafe\u0301\u00a0Noir Soixante",
	}
	want := Normalize(vigil.Password(forms[0]))
	for _, f := range forms {
		if got := Normalize(vigil.Password(f)); got != want {
			t.Errorf("Normalize(%+q) = %+q, want %+q", f, string(got), string(want))
		}
		checked, err := DefaultPolicy().Check(vigil.Password(f))
		if err != nil || checked != want {
			t.Errorf("Check(%+q) = %+q, %v; want %+q", f, string(checked), err, string(want))
		}
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		p     Policy
		valid bool
	}{
		{DefaultPolicy(), true},
		{Policy{MinLength: 8, MaxLength: 64}, true},
		{Policy{}, false},
		{Policy{MinLength: 7, MaxLength: 64}, false},
		{Policy{MinLength: 15, MaxLength: 63}, false},
		{Policy{MinLength: 100, MaxLength: 99}, false},
		{Policy{MinLength: 15, MaxLength: 4096}, true},
		{Policy{MinLength: 15, MaxLength: 4097}, false},
		{Policy{MinLength: 15, MaxLength: int(^uint(0) >> 1)}, false},
	}
	for _, tt := range tests {
		if err := tt.p.Validate(); (err == nil) != tt.valid {
			t.Errorf("%+v.Validate() = %v, want valid %v", tt.p, err, tt.valid)
		}
		if !tt.valid {
			// A misconfigured policy refuses everything, as an internal fault.
			_, err := tt.p.Check(vigil.Password(ofLength(20)))
			if vigil.ErrorCode(err) != vigil.EINTERNAL {
				t.Errorf("%+v.Check error = %v, want EINTERNAL", tt.p, err)
			}
		}
	}
	if got := DefaultPolicy(); got.MinLength != 15 || got.MaxLength != 256 {
		t.Fatalf("DefaultPolicy() = %+v, want 15..256", got)
	}
}

// TestCommonListShape checks the invariants the lookup relies on, and that
// the entry count in the file's header is true.
func TestCommonListShape(t *testing.T) {
	list := commonPasswords()
	m := regexp.MustCompile(`(?m)^# (\d+) entries`).FindStringSubmatch(commonPasswordsFile)
	if m == nil {
		t.Fatal("header states no entry count")
	}
	if n, _ := strconv.Atoi(m[1]); n != len(list) {
		t.Fatalf("header says %d entries, file has %d", n, len(list))
	}
	if len(list) < 10000 {
		t.Fatalf("only %d entries", len(list))
	}
	if !slices.IsSorted(list) || len(slices.Compact(slices.Clone(list))) != len(list) {
		t.Fatal("list is not sorted and unique")
	}
	for _, e := range list {
		switch {
		case utf8.RuneCountInString(e) < 8:
			t.Fatalf("entry %q shorter than 8", e)
		case fold(e) != e || norm.NFKC.String(e) != e:
			t.Fatalf("entry %q not normalised and case-folded", e)
		case strings.IndexFunc(e, func(r rune) bool { return unicode.IsSpace(r) || isControl(r) }) >= 0:
			t.Fatalf("entry %q contains a space or control character", e)
		}
	}
	for _, pw := range []string{"password", "iloveyou123", "qwertyuiop", "1234567890", "passwordpassword"} {
		if !isCommon(pw) {
			t.Errorf("%q not found", pw)
		}
	}
}

// TestEveryListedPasswordRefused runs the whole list through a policy with
// the least minimum length: each entry must be refused as common.
func TestEveryListedPasswordRefused(t *testing.T) {
	p := Policy{MinLength: 8, MaxLength: 256}
	for _, e := range commonPasswords() {
		_, err := p.Check(vigil.Password(e))
		if vigil.ErrorMessage(err) != msgCommon {
			t.Fatalf("Check(%q) = %v, want refused as common", e, err)
		}
	}
}

func BenchmarkPolicyCheck(b *testing.B) {
	p := DefaultPolicy()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Check("vigil keeps watch over quiet meadows", "alice.smith", "alice.smith@example.com"); err != nil {
			b.Fatal(err)
		}
	}
}
