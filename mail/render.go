package mail

import (
	"bytes"
	"fmt"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/textproto"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

// Limits of Render. Lines are folded near softLineLen where the text allows
// and never exceed maxLineLen, the hard limit of RFC 5322 section 2.1.1.
const (
	softLineLen    = 78
	maxLineLen     = 998
	maxIDLen       = 128
	maxNameLen     = 256     // display name of From or To, in bytes
	maxValueLen    = 4096    // Subject and each extra header value, in bytes
	maxExtraFields = 32      // entries in Message.Headers
	maxTextLen     = 1 << 20 // body, in bytes
)

// reservedFields are the header fields an extra header may not set: those
// Render writes itself, and those that would add recipients, change the
// apparent origin or trace, or alter the MIME structure. Keys are in
// canonical form; every Content-* field is refused as well.
var reservedFields = map[string]bool{
	"Date":                      true,
	"From":                      true,
	"To":                        true,
	"Cc":                        true,
	"Bcc":                       true,
	"Subject":                   true,
	"Message-Id":                true,
	"Mime-Version":              true,
	"Sender":                    true,
	"Reply-To":                  true,
	"Return-Path":               true,
	"Received":                  true,
	"In-Reply-To":               true,
	"References":                true,
	"Content-Transfer-Encoding": true,
}

// rendered is a message as Render produces it, plus what a transport needs
// besides the bytes.
type rendered struct {
	raw     []byte
	id      string // the ID used, generated if Message.ID was empty
	envFrom string // bare address of From, for MAIL FROM
	envTo   string // bare address of To, for RCPT TO
}

// Render returns m as an RFC 5322 message: CRLF line endings; Date, From, To,
// Subject, Message-ID (<ID@domain-of-From>), MIME-Version, a text/plain
// UTF-8 body in quoted-printable, then the extra headers in sorted order.
// Non-ASCII text in headers is RFC 2047 encoded, so the whole message is
// 7-bit ASCII, and no line is longer than 998 octets.
//
// Render refuses, with an EINVALID *vigil.Error, anything that could inject
// a header or a recipient: CR, LF or other control characters in any header
// value (including display names that decode to them), From or To that is
// not one plain address, an empty To, an invalid ID, and extra header names
// that are malformed or reserved, and header values over 4096 bytes. A body
// over 1 MiB is refused with ETOOLARGE. Invalid UTF-8 in the body becomes
// U+FFFD. Render does not modify m.
func Render(m *Message) ([]byte, error) {
	r, err := render(m, time.Now())
	if err != nil {
		return nil, err
	}
	return r.raw, nil
}

func render(m *Message, now time.Time) (*rendered, error) {
	if m == nil {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: no message")
	}
	id := m.ID
	if id == "" {
		id = vigil.NewID()
	} else if !validID(id) {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: invalid message ID")
	}
	from, err := parseAddress("From", m.From)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(m.To) == "" {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: To is empty")
	}
	to, err := parseAddress("To", m.To)
	if err != nil {
		return nil, err
	}
	if err := checkText("Subject", m.Subject); err != nil {
		return nil, err
	}
	if len(m.Text) > maxTextLen {
		return nil, vigil.Errorf(vigil.ETOOLARGE, "mail: body is larger than %d bytes", maxTextLen)
	}
	date := m.Date
	if date.IsZero() {
		date = now
	}
	if y := date.Year(); y < 1900 || y > 9999 {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: date out of range")
	}

	extra, err := extraFields(m.Headers)
	if err != nil {
		return nil, err
	}

	var b bytes.Buffer
	b.Grow(len(m.Text) + len(m.Text)/8 + 512)
	fields := []struct{ name, value string }{
		{"Date", date.Format(time.RFC1123Z)},
		{"From", formatAddress(from)},
		{"To", formatAddress(to)},
	}
	for _, f := range fields {
		if err := writeField(&b, f.name, f.value); err != nil {
			return nil, err
		}
	}
	if err := writeField(&b, "Subject", encodeUnstructured(m.Subject)); err != nil {
		return nil, err
	}
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	b.WriteString("Message-ID: <" + id + "@" + domain + ">\r\n")
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString("Content-Type: text/plain; charset=utf-8\r\n")
	b.WriteString("Content-Transfer-Encoding: quoted-printable\r\n")
	for _, f := range extra {
		if err := writeField(&b, f[0], encodeUnstructured(f[1])); err != nil {
			return nil, err
		}
	}
	b.WriteString("\r\n")

	// The quoted-printable writer turns every LF, CR and CRLF into CRLF and
	// keeps lines at 76 characters with soft breaks, so the body holds no
	// bare line ending and no long line whatever Text contains.
	text := strings.ToValidUTF8(m.Text, "\uFFFD")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(text)); err != nil {
		return nil, vigil.Internal(err)
	}
	if text != "" && !strings.HasSuffix(text, "\n") && !strings.HasSuffix(text, "\r") {
		if _, err := qp.Write([]byte("\n")); err != nil {
			return nil, vigil.Internal(err)
		}
	}
	if err := qp.Close(); err != nil {
		return nil, vigil.Internal(err)
	}
	return &rendered{raw: b.Bytes(), id: id, envFrom: from.Address, envTo: to.Address}, nil
}

// validID reports whether id can be the left part of a Message-ID and part
// of a file name: ASCII letters, digits, '-', '_' and dots that are neither
// leading, trailing nor doubled.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen || id[0] == '.' || id[len(id)-1] == '.' || strings.Contains(id, "..") {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseAddress parses a From or To value as one plain address: a bare
// addr-spec or a name-addr, with an ASCII dot-atom local part and a
// host-name domain. Groups, lists, domain literals, quoted local parts and
// non-ASCII addresses are refused, as are display names holding control
// characters once decoded.
func parseAddress(field, s string) (*netmail.Address, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s contains a line break", field)
	}
	if hasControl(s) {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s contains a control character", field)
	}
	// net/mail accepts a group holding a single address ("team: a@b;");
	// a group's value always ends in ';', which no plain address does.
	if strings.HasSuffix(strings.TrimSpace(s), ";") {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s is a group, not a single address", field)
	}
	a, err := netmail.ParseAddress(s)
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s is not a single valid address", field)
	}
	if !plainAddrSpec(a.Address) {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s is not a plain ASCII address", field)
	}
	if len(a.Name) > maxNameLen {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s display name is too long", field)
	}
	if !utf8.ValidString(a.Name) || hasControl(a.Name) || strings.ContainsAny(a.Name, "\r\n") {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: %s display name contains a control character", field)
	}
	return a, nil
}

// plainAddrSpec reports whether s is local@domain with a dot-atom local part
// of ASCII atext (at most 64 octets) and a domain of letters, digits and
// hyphens in non-empty dot-separated labels (at most 253 octets).
func plainAddrSpec(s string) bool {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return false
	}
	local, domain := s[:at], s[at+1:]
	if len(local) > 64 || len(domain) > 253 {
		return false
	}
	for _, atom := range strings.Split(local, ".") {
		if atom == "" {
			return false
		}
		for i := 0; i < len(atom); i++ {
			c := atom[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
				return false
			}
		}
	}
	for _, label := range strings.Split(domain, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// formatAddress renders a parsed address: the bare addr-spec when there is
// no display name, else net/mail's quoted or RFC 2047 encoded form.
func formatAddress(a *netmail.Address) string {
	if a.Name == "" {
		return a.Address
	}
	return a.String()
}

// checkText refuses an unstructured header value (Subject, extra headers)
// that could break out of its field: line breaks and other control
// characters other than tab, invalid UTF-8, and excessive length.
func checkText(field, s string) error {
	if strings.ContainsAny(s, "\r\n") {
		return vigil.Errorf(vigil.EINVALID, "mail: %s contains a line break", field)
	}
	if hasControl(s) {
		return vigil.Errorf(vigil.EINVALID, "mail: %s contains a control character", field)
	}
	if !utf8.ValidString(s) {
		return vigil.Errorf(vigil.EINVALID, "mail: %s is not valid UTF-8", field)
	}
	if len(s) > maxValueLen {
		return vigil.Errorf(vigil.EINVALID, "mail: %s is longer than %d bytes", field, maxValueLen)
	}
	return nil
}

// hasControl reports whether s holds an ASCII control character other than
// tab, or a C1 control (U+0080 to U+009F).
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r <= 0x9f {
			return true
		}
	}
	return false
}

// extraFields validates Message.Headers and returns them as canonical
// name/value pairs sorted by name.
func extraFields(h map[string]string) ([][2]string, error) {
	if len(h) > maxExtraFields {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: more than %d extra headers", maxExtraFields)
	}
	out := make([][2]string, 0, len(h))
	seen := make(map[string]bool, len(h))
	for k, v := range h {
		if !validFieldName(k) {
			return nil, vigil.Errorf(vigil.EINVALID, "mail: invalid header name %q", k)
		}
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if reservedFields[ck] || strings.HasPrefix(ck, "Content-") || strings.HasPrefix(ck, "Resent-") {
			return nil, vigil.Errorf(vigil.EINVALID, "mail: header %s may not be set", ck)
		}
		if seen[ck] {
			return nil, vigil.Errorf(vigil.EINVALID, "mail: header %s given twice", ck)
		}
		seen[ck] = true
		if err := checkText(ck, v); err != nil {
			return nil, err
		}
		out = append(out, [2]string{ck, v})
	}
	slices.SortFunc(out, func(a, b [2]string) int { return strings.Compare(a[0], b[0]) })
	return out, nil
}

// validFieldName accepts header names of ASCII letters, digits and inner
// hyphens, at most 64 characters: a safe subset of RFC 5322's ftext.
func validFieldName(k string) bool {
	if k == "" || len(k) > 64 || k[0] == '-' || k[len(k)-1] == '-' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// encodeUnstructured returns the wire form of an unstructured header value
// that checkText accepted. Non-ASCII text is Q-encoded with mime.QEncoding.
// ASCII text is kept as is unless a reader would misread it (it contains
// "=?", which could be taken for an encoded-word) or it cannot be folded
// within the line limit (too long a stretch without a fold point); then it
// is Q-encoded as well, into words that fold.
func encodeUnstructured(s string) string {
	if !isASCII(s) {
		return mime.QEncoding.Encode("utf-8", s)
	}
	if strings.Contains(s, "=?") {
		return qEncodeASCII(s)
	}
	// The longest field name Render writes is 64 octets plus ": ".
	for _, seg := range foldSegments(s) {
		if len(seg) > maxLineLen-66 {
			return qEncodeASCII(s)
		}
	}
	return s
}

// qEncodeASCII Q-encodes ASCII text into encoded-words of at most 75
// characters, separated by spaces (RFC 2047 sections 2 and 4.2).
// mime.QEncoding cannot be used here: it leaves ASCII text unencoded.
func qEncodeASCII(s string) string {
	const prefix, suffix = "=?utf-8?q?", "?="
	const maxPayload = 75 - len(prefix) - len(suffix)
	var words []string
	var w strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		var enc string
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!*+-/", c) >= 0:
			enc = string(c)
		case c == ' ':
			enc = "_"
		default:
			enc = fmt.Sprintf("=%02X", c)
		}
		if w.Len()+len(enc) > maxPayload {
			words = append(words, prefix+w.String()+suffix)
			w.Reset()
		}
		w.WriteString(enc)
	}
	if w.Len() > 0 || len(words) == 0 {
		words = append(words, prefix+w.String()+suffix)
	}
	return strings.Join(words, " ")
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// foldSegments splits a header value at its fold points: single spaces
// with a non-space on either side. Every segment but the first starts with
// its space, before which a CRLF may be inserted (RFC 5322 section 2.2.3).
// Folding next to other whitespace is avoided because readers collapse it.
func foldSegments(value string) []string {
	var segs []string
	start := 0
	for i := 1; i < len(value)-1; i++ {
		if value[i] == ' ' && !isWSP(value[i-1]) && !isWSP(value[i+1]) {
			segs = append(segs, value[start:i])
			start = i
		}
	}
	return append(segs, value[start:])
}

// writeField writes "name: value" CRLF, folded at the value's fold points so
// that lines stay near 78 characters. It returns an EINVALID error if a
// line would still exceed 998 octets.
func writeField(b *bytes.Buffer, name, value string) error {
	lineLen := len(name) + 2
	b.WriteString(name)
	b.WriteString(": ")
	for i, seg := range foldSegments(value) {
		if i > 0 && lineLen+len(seg) > softLineLen {
			b.WriteString("\r\n")
			lineLen = 0
		}
		b.WriteString(seg)
		lineLen += len(seg)
		if lineLen > maxLineLen {
			return vigil.Errorf(vigil.EINVALID, "mail: %s cannot be folded into lines of %d octets", name, maxLineLen)
		}
	}
	b.WriteString("\r\n")
	return nil
}

func isWSP(c byte) bool { return c == ' ' || c == '\t' }
