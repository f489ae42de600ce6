package notify

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

func TestNoticeValidate(t *testing.T) {
	if err := testNotice().Validate(); err != nil {
		t.Fatalf("valid notice: %v", err)
	}
	if err := (*Notice)(nil).Validate(); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("nil notice: %v", err)
	}
	tests := []struct {
		name   string
		change func(n *Notice)
		code   string
	}{
		{"empty ID", func(n *Notice) { n.ID = "" }, vigil.EINVALID},
		{"ID with slash", func(n *Notice) { n.ID = "../etc/passwd" }, vigil.EINVALID},
		{"ID with CRLF", func(n *Notice) { n.ID = "a\r\nX-Evil: 1" }, vigil.EINVALID},
		{"ID too long", func(n *Notice) { n.ID = strings.Repeat("a", 129) }, vigil.EINVALID},
		{"ID leading dot", func(n *Notice) { n.ID = ".abc" }, vigil.EINVALID},
		{"empty kind", func(n *Notice) { n.Kind = "" }, vigil.EINVALID},
		{"upper-case kind", func(n *Notice) { n.Kind = "Password_Changed" }, vigil.EINVALID},
		{"account ID with space", func(n *Notice) { n.AccountID = "a b" }, vigil.EINVALID},
		{"code with backtick", func(n *Notice) { n.Code = "AB`C" }, vigil.EINVALID},
		{"code too long", func(n *Notice) { n.Code = strings.Repeat("A", 33) }, vigil.EINVALID},
		{"empty title", func(n *Notice) { n.Title = "" }, vigil.EINVALID},
		{"title with newline", func(n *Notice) { n.Title = "a\nb" }, vigil.EINVALID},
		{"title too long", func(n *Notice) { n.Title = strings.Repeat("x", 257) }, vigil.EINVALID},
		{"text invalid UTF-8", func(n *Notice) { n.Text = "a\xffb" }, vigil.EINVALID},
		{"text with escape", func(n *Notice) { n.Text = "a\x1b[31mb" }, vigil.EINVALID},
		{"text with C1 control", func(n *Notice) { n.Text = "a\u0085b" }, vigil.EINVALID},
		{"text too large", func(n *Notice) { n.Text = strings.Repeat("x", 16<<10+1) }, vigil.ETOOLARGE},
		{"zero time", func(n *Notice) { n.At = time.Time{} }, vigil.EINVALID},
		{"data key with space", func(n *Notice) { n.Data = map[string]string{"a b": "c"} }, vigil.EINVALID},
		{"data value with NUL", func(n *Notice) { n.Data = map[string]string{"a": "b\x00"} }, vigil.EINVALID},
		{"too much data", func(n *Notice) {
			n.Data = map[string]string{}
			for i := range 33 {
				n.Data[fmt.Sprint("k", i)] = "v"
			}
		}, vigil.EINVALID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := testNotice()
			tt.change(n)
			err := n.Validate()
			wantCode(t, err, tt.code)
			if !IsPermanent(err) {
				t.Fatalf("IsPermanent(%v) = false", err)
			}
		})
	}
	ok := []func(n *Notice){
		func(n *Notice) { n.Code, n.AccountID, n.Text, n.Data = "", "", "", nil },
		func(n *Notice) { n.Text = "tab\there\r\nCRLF" },
		func(n *Notice) { n.Title = "Nouvel appareil connecté 🔐" },
	}
	for i, change := range ok {
		n := testNotice()
		change(n)
		if err := n.Validate(); err != nil {
			t.Errorf("case %d: %v", i, err)
		}
	}
}

func TestIsPermanent(t *testing.T) {
	wrap := func(code int) error {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "x", Err: fmt.Errorf("ctx: %w", &StatusError{StatusCode: code})}
	}
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("unknown"), false},
		{vigil.Errorf(vigil.EINVALID, "x"), true},
		{vigil.Errorf(vigil.ETOOLARGE, "x"), true},
		{vigil.Errorf(vigil.EUNAVAILABLE, "x"), false},
		{vigil.Internal(errors.New("disk full")), false},
		{wrap(400), true},
		{wrap(401), true},
		{wrap(403), true},
		{wrap(404), true},
		{wrap(410), true},
		{wrap(422), true},
		{wrap(301), true},
		{wrap(302), true},
		{wrap(307), true},
		{wrap(408), false},
		{wrap(429), false},
		{wrap(500), false},
		{wrap(502), false},
		{wrap(503), false},
	}
	for _, tt := range tests {
		if got := IsPermanent(tt.err); got != tt.want {
			t.Errorf("IsPermanent(%v) = %t, want %t", tt.err, got, tt.want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{"-5", 0},
		{"soon", 0},
		{"99999999999999999999", 24 * time.Hour},
		{"1000000", 24 * time.Hour},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0},
	}
	for _, tt := range tests {
		if got := parseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("parseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestValidE164(t *testing.T) {
	for _, s := range []string{"+14155550100", "+442071838750", "+4915112345678", "+1234567", "+123456789012345"} {
		if !ValidE164(s) {
			t.Errorf("ValidE164(%q) = false", s)
		}
	}
	for _, s := range []string{"", "+", "14155550100", "+04155550100", "+1 415 555 0100", "+1-415-555-0100",
		"+1234567890123456", "+123456", "+1415555010a", "++14155550100", "+14155550100\n", "+１４１５５５５０１００"} {
		if ValidE164(s) {
			t.Errorf("ValidE164(%q) = true", s)
		}
	}
}

func TestSMSBody(t *testing.T) {
	n := testNotice()
	got := SMSBody(n)
	want := "Your password was changed\nCode: K7Q-2M9\nYour vigil password was changed from a new device.\nIf this was not you, reset it now."
	if got != want {
		t.Fatalf("SMSBody =\n%q\nwant\n%q", got, want)
	}

	n.Code = ""
	n.Text = "\r\n  line one\t tab\r\n\r\n\r\n\r\nline two  \r\n"
	if got, want := SMSBody(n), "Your password was changed\nline one  tab\n\nline two"; got != want {
		t.Fatalf("SMSBody without code =\n%q\nwant\n%q", got, want)
	}

	// A long text is cut; the title and the code always survive.
	n = testNotice()
	n.Title = strings.Repeat("T", 256)
	n.Text = strings.Repeat("word ", 3000)
	got = SMSBody(n)
	if c := utf8.RuneCountInString(got); c > MaxSMSLen {
		t.Fatalf("SMSBody has %d characters, want at most %d", c, MaxSMSLen)
	}
	if !strings.Contains(got, "\nCode: K7Q-2M9\n") || !strings.HasSuffix(got, "word...") {
		t.Fatalf("long SMSBody lost its code or its ending: %q", got)
	}

	// Multi-byte text is cut on a rune boundary.
	for _, unit := range []string{"é", "€", "𝄞", "ä", "👍🏽", "👩‍👩‍👧", "🇩🇪", "é"} {
		n.Title = "Alerte"
		n.Text = strings.Repeat(unit, 1000)
		got := SMSBody(n)
		if !utf8.ValidString(got) {
			t.Fatalf("SMSBody of %q units is not valid UTF-8", unit)
		}
		if c := utf8.RuneCountInString(got); c > MaxSMSLen {
			t.Fatalf("SMSBody of %q units has %d characters", unit, c)
		}
		text := strings.TrimSuffix(got[strings.LastIndex(got, "\n")+1:], "...")
		if strings.ReplaceAll(text, unit, "") != "" {
			t.Fatalf("SMSBody of %q units split a cluster: %q", unit, text)
		}
	}
}

func TestTruncate(t *testing.T) {
	tests := []struct {
		in    string
		limit int
		want  string
	}{
		{"short", 10, "short"},
		{"exactly ten", 11, "exactly ten"},
		{"abcdefghijkl", 10, "abcdefg..."},
		{"hello wonderful world", 15, "hello..."},
		{"abc", 2, ".."},
		{"abc", 0, ""},
		{"ééééé", 4, "é..."},
		{"abcd\u0301efgh", 7, "abc..."},                    // an accent stays with its letter
		{"ab👍🏽cdef", 6, "ab..."},                           // a skin tone stays with its emoji
		{"a🇩🇪🇫🇷bcd", 6, "a🇩🇪..."},                          // flags are pairs
		{"a🇩🇪🇫🇷bcd", 5, "a..."},                            // never half a flag
		{"a👩\u200d👧bcdef", 6, "a..."},                      // a ZWJ sequence is kept whole
		{"\u0301\u0301\u0301\u0301\u0301", 4, "\u0301..."}, // all marks: rune cut
	}
	for _, tt := range tests {
		got := truncate(tt.in, tt.limit)
		if got != tt.want {
			t.Errorf("truncate(%q, %d) = %q, want %q", tt.in, tt.limit, got, tt.want)
		}
		if !utf8.ValidString(got) || utf8.RuneCountInString(got) > max(tt.limit, 0) {
			t.Errorf("truncate(%q, %d) = %q: invalid or too long", tt.in, tt.limit, got)
		}
	}
}
