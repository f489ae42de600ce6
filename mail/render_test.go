package mail

import (
	"bytes"
	"errors"
	"mime"
	netmail "net/mail"
	"net/textproto"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

var testDate = time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)

// testMessage returns a valid message that tests modify.
func testMessage() *Message {
	return &Message{
		ID:      "abc123",
		From:    "Vigil <no-reply@vigil.example>",
		To:      "alice@example.com",
		Subject: "Your code",
		Text:    "Hello Alice,\n\nYour code is 123456.\n",
		Headers: map[string]string{"x-vigil-notice-code": "verify-email"},
		Date:    testDate,
	}
}

// MustRender renders m or fails the test.
func MustRender(tb testing.TB, m *Message) []byte {
	tb.Helper()
	raw, err := Render(m)
	if err != nil {
		tb.Fatalf("Render: %v", err)
	}
	return raw
}

// MustParse parses raw with Parse and with net/mail, or fails the test.
func MustParse(tb testing.TB, raw []byte) *Received {
	tb.Helper()
	if _, err := netmail.ReadMessage(bytes.NewReader(raw)); err != nil {
		tb.Fatalf("net/mail.ReadMessage: %v\n%s", err, raw)
	}
	rc, err := Parse(bytes.NewReader(raw))
	if err != nil {
		tb.Fatalf("Parse: %v\n%s", err, raw)
	}
	return rc
}

// checkWire fails the test unless raw is 7-bit, every line ends in CRLF
// (no bare CR or LF) and no line exceeds 998 octets.
func checkWire(tb testing.TB, raw []byte) {
	tb.Helper()
	if err := wireError(raw); err != nil {
		tb.Fatalf("%v\n%q", err, raw)
	}
}

func wireError(raw []byte) error {
	lineLen := 0
	for i, c := range raw {
		switch {
		case c >= 0x80:
			return errors.New("non-ASCII byte")
		case c == '\r':
			if i+1 >= len(raw) || raw[i+1] != '\n' {
				return errors.New("bare CR")
			}
		case c == '\n':
			if i == 0 || raw[i-1] != '\r' {
				return errors.New("bare LF")
			}
			lineLen = 0
			continue
		}
		if c != '\r' {
			lineLen++
		}
		if lineLen > maxLineLen {
			return errors.New("line longer than 998 octets")
		}
	}
	return nil
}

func TestRenderGolden(t *testing.T) {
	raw := MustRender(t, testMessage())
	want := "Date: Tue, 04 Mar 2025 05:06:07 +0000\r\n" +
		"From: \"Vigil\" <no-reply@vigil.example>\r\n" +
		"To: alice@example.com\r\n" +
		"Subject: Your code\r\n" +
		"Message-ID: <abc123@vigil.example>\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: quoted-printable\r\n" +
		"X-Vigil-Notice-Code: verify-email\r\n" +
		"\r\n" +
		"Hello Alice,\r\n" +
		"\r\n" +
		"Your code is 123456.\r\n"
	if string(raw) != want {
		t.Fatalf("Render:\n%q\nwant:\n%q", raw, want)
	}
	checkWire(t, raw)

	rc := MustParse(t, raw)
	if rc.From != "no-reply@vigil.example" || rc.To != "alice@example.com" || rc.Subject != "Your code" ||
		rc.Text != "Hello Alice,\n\nYour code is 123456.\n" || !rc.Date.Equal(testDate) {
		t.Fatalf("parsed back: %+v", rc)
	}
	if got := rc.Header.Get("X-Vigil-Notice-Code"); got != "verify-email" {
		t.Fatalf("X-Vigil-Notice-Code = %q", got)
	}
	if got := rc.Header.Get("Message-Id"); got != "<abc123@vigil.example>" {
		t.Fatalf("Message-ID = %q", got)
	}
}

func TestRenderNonASCII(t *testing.T) {
	m := testMessage()
	m.From = "Vigil Überwachung <no-reply@vigil.example>"
	m.Subject = "Ihr Bestätigungscode — 123456"
	m.Text = "Grüße, Zoë 🔐\n"
	raw := MustRender(t, m)
	checkWire(t, raw)
	if !bytes.Contains(raw, []byte("\r\nSubject: =?utf-8?q?Ihr_Best=C3=A4tigungscode_=E2=80=94_123456?=\r\n")) {
		t.Fatalf("subject not Q-encoded:\n%s", raw)
	}
	rc := MustParse(t, raw)
	if rc.Subject != m.Subject {
		t.Fatalf("Subject = %q, want %q", rc.Subject, m.Subject)
	}
	if rc.Text != m.Text {
		t.Fatalf("Text = %q, want %q", rc.Text, m.Text)
	}
	from, err := rc.Header.AddressList("From")
	if err != nil || len(from) != 1 || from[0].Name != "Vigil Überwachung" {
		t.Fatalf("From = %v, %v", from, err)
	}
}

func TestRenderLongLines(t *testing.T) {
	m := testMessage()
	m.Text = strings.Repeat("0123456789", 500) + "\n" + strings.Repeat("x", 2000) // no final newline
	m.Subject = strings.TrimSpace(strings.Repeat("word ", 300))
	m.Headers = map[string]string{
		"X-Long":     strings.Repeat("ä", 1000),
		"X-One-Word": strings.Repeat("y", 1500),
		"X-Spaced":   strings.Repeat("ab  ", 1000), // no single space to fold at
	}
	raw := MustRender(t, m)
	checkWire(t, raw)
	header, _, _ := bytes.Cut(raw, []byte("\r\n\r\n"))
	for line := range strings.SplitSeq(string(header), "\r\n") {
		if len(line) > 100 {
			t.Errorf("header line of %d octets, want folding near 78: %.40q...", len(line), line)
		}
	}
	rc := MustParse(t, raw)
	if rc.Subject != m.Subject {
		t.Errorf("Subject = %q", rc.Subject)
	}
	if want := m.Text + "\n"; rc.Text != want {
		t.Errorf("Text differs: got %d bytes, want %d", len(rc.Text), len(want))
	}
	dec := func(k string) string {
		s, err := new(mime.WordDecoder).DecodeHeader(rc.Header.Get(k))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if got := dec("X-Long"); got != m.Headers["X-Long"] {
		t.Errorf("X-Long = %q", got)
	}
	for _, k := range []string{"X-One-Word", "X-Spaced"} {
		if got := dec(k); got != m.Headers[k] {
			t.Errorf("%s = %q", k, got)
		}
	}
}

func TestRenderLineEndings(t *testing.T) {
	m := testMessage()
	m.Text = "unix\nwindows\r\nmac\rend"
	raw := MustRender(t, m)
	checkWire(t, raw)
	if _, body, _ := bytes.Cut(raw, []byte("\r\n\r\n")); string(body) != "unix\r\nwindows\r\nmac\r\nend\r\n" {
		t.Fatalf("body = %q", body)
	}
	if rc := MustParse(t, raw); rc.Text != "unix\nwindows\nmac\nend\n" {
		t.Fatalf("Text = %q", rc.Text)
	}
}

func TestRenderEncodedWordLookalike(t *testing.T) {
	// ASCII that a reader would decode as an encoded-word is itself
	// encoded, so it reads back as written.
	m := testMessage()
	m.Subject = "=?utf-8?q?Bcc:_x?= hello"
	rc := MustParse(t, MustRender(t, m))
	if rc.Subject != m.Subject {
		t.Fatalf("Subject = %q, want %q", rc.Subject, m.Subject)
	}
}

func TestRenderDefaults(t *testing.T) {
	m := testMessage()
	m.ID = ""
	m.Date = time.Time{}
	before := time.Now().Add(-time.Second)
	rc := MustParse(t, MustRender(t, m))
	id := strings.TrimSuffix(strings.TrimPrefix(rc.Header.Get("Message-Id"), "<"), "@vigil.example>")
	if !vigil.ValidID(id) {
		t.Fatalf("Message-ID = %q, want a generated ID", rc.Header.Get("Message-Id"))
	}
	if rc.Date.Before(before) || rc.Date.After(time.Now().Add(time.Second)) {
		t.Fatalf("Date = %v, want now", rc.Date)
	}
	if m.ID != "" || !m.Date.IsZero() {
		t.Fatal("Render modified the message")
	}
}

func TestRenderRefuses(t *testing.T) {
	for _, tc := range []struct {
		name   string
		modify func(m *Message)
		code   string
	}{
		{"nil", nil, vigil.EINVALID},
		{"subject CRLF", func(m *Message) { m.Subject = "hi\r\nBcc: eve@evil.example" }, vigil.EINVALID},
		{"subject LF", func(m *Message) { m.Subject = "hi\nBcc: eve@evil.example" }, vigil.EINVALID},
		{"subject CR", func(m *Message) { m.Subject = "hi\rBcc: eve@evil.example" }, vigil.EINVALID},
		{"subject NUL", func(m *Message) { m.Subject = "hi\x00" }, vigil.EINVALID},
		{"subject NEL", func(m *Message) { m.Subject = "hi\u0085there" }, vigil.EINVALID},
		{"subject too long", func(m *Message) { m.Subject = strings.Repeat("a ", maxValueLen) }, vigil.EINVALID},
		{"subject bad UTF-8", func(m *Message) { m.Subject = "hi\xff" }, vigil.EINVALID},
		{"to CRLF", func(m *Message) { m.To = "alice@example.com\r\nBcc: eve@evil.example" }, vigil.EINVALID},
		{"to LF", func(m *Message) { m.To = "alice@example.com\nBcc: eve@evil.example" }, vigil.EINVALID},
		{"from CRLF", func(m *Message) { m.From = "no-reply@vigil.example\r\nBcc: eve@evil.example" }, vigil.EINVALID},
		{"to empty", func(m *Message) { m.To = "" }, vigil.EINVALID},
		{"to blank", func(m *Message) { m.To = "  " }, vigil.EINVALID},
		{"to list", func(m *Message) { m.To = "alice@example.com, eve@evil.example" }, vigil.EINVALID},
		{"to group", func(m *Message) { m.To = "team: eve@evil.example;" }, vigil.EINVALID},
		{"to no domain", func(m *Message) { m.To = "alice" }, vigil.EINVALID},
		{"to domain literal", func(m *Message) { m.To = "alice@[127.0.0.1]" }, vigil.EINVALID},
		{"to quoted local part", func(m *Message) { m.To = `"alice bob"@example.com` }, vigil.EINVALID},
		{"to non-ASCII", func(m *Message) { m.To = "zoë@example.com" }, vigil.EINVALID},
		{"to name encodes CRLF", func(m *Message) { m.To = "=?utf-8?q?x=0D=0ABcc:_eve@evil.example?= <alice@example.com>" }, vigil.EINVALID},
		{"from empty", func(m *Message) { m.From = "" }, vigil.EINVALID},
		{"id slash", func(m *Message) { m.ID = "../../etc/passwd" }, vigil.EINVALID},
		{"id CRLF", func(m *Message) { m.ID = "a\r\nb" }, vigil.EINVALID},
		{"id angle", func(m *Message) { m.ID = "a>b" }, vigil.EINVALID},
		{"header value CRLF", func(m *Message) { m.Headers = map[string]string{"X-A": "1\r\nBcc: eve@evil.example"} }, vigil.EINVALID},
		{"header value LF", func(m *Message) { m.Headers = map[string]string{"X-A": "1\nBcc: eve@evil.example"} }, vigil.EINVALID},
		{"header name colon", func(m *Message) { m.Headers = map[string]string{"Bcc: eve@evil.example\r\nX-A": "1"} }, vigil.EINVALID},
		{"header name space", func(m *Message) { m.Headers = map[string]string{"X A": "1"} }, vigil.EINVALID},
		{"header name empty", func(m *Message) { m.Headers = map[string]string{"": "1"} }, vigil.EINVALID},
		{"header bcc", func(m *Message) { m.Headers = map[string]string{"bcc": "eve@evil.example"} }, vigil.EINVALID},
		{"header content-type", func(m *Message) { m.Headers = map[string]string{"Content-Type": "text/html"} }, vigil.EINVALID},
		{"header content-disposition", func(m *Message) { m.Headers = map[string]string{"Content-Disposition": "attachment"} }, vigil.EINVALID},
		{"header from", func(m *Message) { m.Headers = map[string]string{"FROM": "eve@evil.example"} }, vigil.EINVALID},
		{"header twice", func(m *Message) { m.Headers = map[string]string{"x-a": "1", "X-A": "2"} }, vigil.EINVALID},
		{"date out of range", func(m *Message) { m.Date = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }, vigil.EINVALID},
		{"body too large", func(m *Message) { m.Text = strings.Repeat("a", maxTextLen+1) }, vigil.ETOOLARGE},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m *Message
			if tc.modify != nil {
				m = testMessage()
				tc.modify(m)
			}
			raw, err := Render(m)
			if err == nil {
				t.Fatalf("Render accepted it:\n%s", raw)
			}
			var ve *vigil.Error
			if !errors.As(err, &ve) || ve.Code != tc.code {
				t.Fatalf("Render error = %v, want a *vigil.Error with code %s", err, tc.code)
			}
			if !IsPermanent(err) {
				t.Fatalf("IsPermanent(%v) = false", err)
			}
		})
	}
}

func TestRenderAccepts(t *testing.T) {
	for _, tc := range []struct{ in, addr string }{
		{"alice@example.com", "alice@example.com"},
		{"<alice@example.com>", "alice@example.com"},
		{"Alice <alice@example.com>", "alice@example.com"},
		{`"Doe, Alice" <alice.doe+vigil@mail.example.com>`, "alice.doe+vigil@mail.example.com"},
		{"Zoë <zoe@example.com>", "zoe@example.com"},
		{"alice@localhost", "alice@localhost"},
	} {
		m := testMessage()
		m.To = tc.in
		raw := MustRender(t, m)
		checkWire(t, raw)
		if rc := MustParse(t, raw); rc.To != tc.addr {
			t.Errorf("To %q: parsed back %q, want %q", tc.in, rc.To, tc.addr)
		}
	}
}

func FuzzRender(f *testing.F) {
	f.Add("abc123", "Vigil <no-reply@vigil.example>", "alice@example.com", "Your code", "Hello\nYour code is 123456.\n", "X-Vigil-Notice-Code", "verify-email")
	f.Add("", "no-reply@vigil.example", "Zoë <zoe@example.com>", "Ihr Bestätigungscode — 123456", "Grüße\r\n", "", "")
	f.Add("a.b", "a@b", "c@d", "hi\r\nBcc: eve@evil.example", "x", "X-A", "1\nBcc: e@f")
	f.Add("x", "a@b", "team: c@d;", "=?utf-8?q?a?=", strings.Repeat("y", 3000), "Bcc", "e@f")
	f.Add("x", "a@b", "=?utf-8?q?x=0D=0ABcc:_e@f?= <c@d>", strings.Repeat("long ", 200), "a\rb\n.\r\n", "x-a", strings.Repeat("é", 500))
	f.Add("id", "a@b.example", "c@d.example", strings.Repeat("ab  ", 1000), "\x00\xff=\r\n", "X-Spaced", strings.Repeat("\tq", 900))
	f.Fuzz(func(t *testing.T, id, from, to, subject, text, hk, hv string) {
		m := &Message{ID: id, From: from, To: to, Subject: subject, Text: text, Date: testDate}
		if hk != "" {
			m.Headers = map[string]string{hk: hv}
		}
		raw, err := Render(m)
		if err != nil {
			if c := vigil.ErrorCode(err); c != vigil.EINVALID && c != vigil.ETOOLARGE {
				t.Fatalf("Render error %v has code %s", err, c)
			}
			return
		}
		if err := wireError(raw); err != nil {
			t.Fatalf("%v\n%q", err, raw)
		}
		msg, err := netmail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("accepted output does not parse: %v\n%q", err, raw)
		}
		// Exactly the fields Render writes, each once: nothing injected.
		want := map[string]bool{"Date": true, "From": true, "To": true, "Subject": true, "Message-Id": true,
			"Mime-Version": true, "Content-Type": true, "Content-Transfer-Encoding": true}
		if hk != "" {
			want[textproto.CanonicalMIMEHeaderKey(hk)] = true
		}
		for k, vs := range msg.Header {
			if !want[k] {
				t.Fatalf("unexpected header %q in\n%q", k, raw)
			}
			if len(vs) != 1 {
				t.Fatalf("header %q appears %d times in\n%q", k, len(vs), raw)
			}
		}
		if len(msg.Header) != len(want) {
			t.Fatalf("headers %v, want %v", msg.Header, want)
		}
		rc := MustParse(t, raw)
		if a, _ := netmail.ParseAddress(to); a == nil || rc.To != a.Address {
			t.Fatalf("To parsed back as %q from %q", rc.To, to)
		}
		if got, want := strings.Join(strings.Fields(rc.Subject), " "), strings.Join(strings.Fields(subject), " "); got != want {
			t.Fatalf("Subject parsed back as %q, want %q", rc.Subject, subject)
		}
		wantText := strings.ReplaceAll(strings.ReplaceAll(strings.ToValidUTF8(text, "\uFFFD"), "\r\n", "\n"), "\r", "\n")
		if wantText != "" && !strings.HasSuffix(wantText, "\n") {
			wantText += "\n"
		}
		if rc.Text != wantText {
			t.Fatalf("Text parsed back as %q, want %q", rc.Text, wantText)
		}
		if !utf8.ValidString(rc.Subject) {
			t.Fatalf("Subject %q is not UTF-8", rc.Subject)
		}
	})
}
