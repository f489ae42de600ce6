package notify

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

// MaxSMSLen is the most characters (Unicode code points) SMSBody returns:
// three concatenated GSM-7 segments.
const MaxSMSLen = 480

// maxSMSTitleLen bounds the title within an SMS, so the code that follows
// it always fits.
const maxSMSTitleLen = 160

// SMSSender delivers notices as text messages.
type SMSSender interface {
	// SendSMS sends SMSBody(n) to the phone number to, which must be in
	// E.164 form ("+14155550100"; see ValidE164). It returns nil once the
	// message is handed over, else a *vigil.Error: EINVALID or ETOOLARGE
	// for a number or notice it refuses (see Notice.Validate), and other
	// codes for delivery failures. IsPermanent tells whether a retry can
	// help. n.ID is passed along as the idempotency key, so retrying after
	// an ambiguous failure does not text the user twice, provided the
	// receiver honours it.
	SendSMS(ctx context.Context, to string, n *Notice) error
}

// ValidE164 reports whether s is a phone number in E.164 form: '+', then 7
// to 15 digits of which the first is not 0, and nothing else (no spaces,
// dashes or parentheses).
func ValidE164(s string) bool {
	if len(s) < 8 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// checkSMS validates the arguments of SendSMS. The error never quotes the
// number, which is personal data.
func checkSMS(to string, n *Notice) error {
	if !ValidE164(to) {
		return vigil.Errorf(vigil.EINVALID, "notify: phone number is not in E.164 form")
	}
	return n.Validate()
}

// SMSBody returns the text of the SMS for n, at most MaxSMSLen characters:
// the title (cut to 160 characters), then "Code: <code>" on its own line if
// n has a code, then the text. Only the text is shortened to fit, so the
// code always survives. Line breaks become LF, tabs spaces, and runs of
// blank lines one blank line. Shortening never splits a UTF-8 sequence, a
// combining sequence, an emoji sequence or a flag; it prefers a word
// boundary near the limit and ends with "..." (ASCII, so a GSM-7 message
// stays GSM-7). SMSBody does not validate n; senders call Notice.Validate
// first.
func SMSBody(n *Notice) string {
	var b strings.Builder
	b.WriteString(truncate(strings.TrimSpace(oneLine(n.Title)), maxSMSTitleLen))
	if n.Code != "" {
		b.WriteString("\nCode: ")
		b.WriteString(n.Code)
	}
	text := cleanSMSText(n.Text)
	if text != "" {
		room := MaxSMSLen - utf8.RuneCountInString(b.String()) - 1 // -1 for the line break
		if room >= 8 {
			b.WriteString("\n")
			b.WriteString(truncate(text, room))
		}
	}
	return b.String()
}

// oneLine replaces tabs and line breaks by spaces.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s)
}

// cleanSMSText normalises line breaks to LF, tabs to spaces, trims trailing
// spaces from lines, collapses runs of blank lines and trims the whole.
func cleanSMSText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	s = strings.ReplaceAll(s, "\t", " ")
	lines := strings.Split(s, "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " ")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

const ellipsis = "..."

// truncate returns s if it has at most limit code points, and otherwise a
// prefix of s followed by "...", at most limit code points in all. The cut never
// falls inside a UTF-8 sequence or a grapheme cluster of the kinds that
// matter in notices (combining marks, emoji modifiers and ZWJ sequences,
// variation selectors, flag pairs), and moves back to a space when one is
// close. s must be valid UTF-8.
func truncate(s string, limit int) string {
	if utf8.RuneCountInString(s) <= limit {
		return s
	}
	if limit <= len(ellipsis) {
		return ellipsis[:max(limit, 0)]
	}
	keep := limit - len(ellipsis)
	// cut is the byte offset just after the first keep runes.
	cut, n := 0, 0
	for cut < len(s) && n < keep {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
		n++
	}
	base := cut
	for cut > 0 && splitsCluster(s, cut) {
		_, size := utf8.DecodeLastRuneInString(s[:cut])
		cut -= size
	}
	if cut == 0 {
		// A pathological run of combining characters: cut at a rune
		// boundary, which is still valid UTF-8.
		cut = base
	}
	// Prefer a word boundary within the last 24 runes.
	for i, back := cut, 0; i > 0 && back < 24; back++ {
		r, size := utf8.DecodeLastRuneInString(s[:i])
		if unicode.IsSpace(r) {
			if trimmed := strings.TrimRightFunc(s[:i], unicode.IsSpace); trimmed != "" {
				cut = len(trimmed)
			}
			break
		}
		i -= size
	}
	return strings.TrimRightFunc(s[:cut], unicode.IsSpace) + ellipsis
}

// splitsCluster reports whether cutting s at byte offset i (a rune
// boundary, 0 < i < len(s)) would split a grapheme cluster.
func splitsCluster(s string, i int) bool {
	next, _ := utf8.DecodeRuneInString(s[i:])
	prev, _ := utf8.DecodeLastRuneInString(s[:i])
	if prev == zwj || extendsCluster(next) {
		return true
	}
	if isRegionalIndicator(prev) && isRegionalIndicator(next) {
		// Flags are pairs of regional indicators: split only after an even
		// number of them.
		count := 0
		for j := i; j > 0; {
			r, size := utf8.DecodeLastRuneInString(s[:j])
			if !isRegionalIndicator(r) {
				break
			}
			count++
			j -= size
		}
		return count%2 == 1
	}
	return false
}

const zwj = '\u200d'

// extendsCluster reports whether r attaches to the character before it.
func extendsCluster(r rune) bool {
	return r == zwj ||
		unicode.In(r, unicode.Mn, unicode.Me, unicode.Mc) ||
		r >= 0xfe00 && r <= 0xfe0f || // variation selectors
		r >= 0xe0100 && r <= 0xe01ef || // variation selectors supplement
		r >= 0x1f3fb && r <= 0x1f3ff || // emoji skin-tone modifiers
		r >= 0xe0020 && r <= 0xe007f // tag characters (subdivision flags)
}

func isRegionalIndicator(r rune) bool { return r >= 0x1f1e6 && r <= 0x1f1ff }
