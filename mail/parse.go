package mail

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"github.com/vigil-dev/vigil/internal/spool"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"os"
	"strings"
	"time"
)

// maxParseLen bounds what Parse reads: far more than any message Render
// produces.
const maxParseLen = 16 << 20

// Received is a message read back from its RFC 5322 form, decoded for
// tests and tools that need to read codes out of vigil's mail.
type Received struct {
	// Path is the file the message was read from; empty for Parse.
	Path string
	// Header holds every header field as found, undecoded.
	Header netmail.Header
	// From and To are the bare addresses (local@domain) of the first
	// address in each field, without display names.
	From string
	To   string
	// Subject is the Subject field with RFC 2047 encoded-words decoded.
	Subject string
	// Date is the parsed Date field, or the zero time.
	Date time.Time
	// Text is the body with its transfer encoding (quoted-printable or
	// base64) undone and line endings turned into LF.
	Text string
}

// Parse reads one RFC 5322 message, such as Render's output or what an SMTP
// server received, and decodes it. It reads at most 16 MiB.
func Parse(r io.Reader) (*Received, error) {
	raw, err := io.ReadAll(io.LimitReader(r, maxParseLen+1))
	if err != nil {
		return nil, err
	}
	if len(raw) > maxParseLen {
		return nil, fmt.Errorf("mail: message larger than %d bytes", maxParseLen)
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("mail: parse message: %w", err)
	}
	rc := &Received{Header: msg.Header}
	dec := new(mime.WordDecoder)
	if rc.Subject, err = dec.DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return nil, fmt.Errorf("mail: decode Subject: %w", err)
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{{"From", &rc.From}, {"To", &rc.To}} {
		if msg.Header.Get(f.name) == "" {
			continue
		}
		list, err := msg.Header.AddressList(f.name)
		if err != nil {
			return nil, fmt.Errorf("mail: parse %s: %w", f.name, err)
		}
		if len(list) > 0 {
			*f.dst = list[0].Address
		}
	}
	if d, err := msg.Header.Date(); err == nil {
		rc.Date = d
	}

	var body io.Reader = msg.Body
	switch cte := strings.ToLower(strings.TrimSpace(msg.Header.Get("Content-Transfer-Encoding"))); cte {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, newlineStripper{body})
	case "", "7bit", "8bit", "binary":
	default:
		return nil, fmt.Errorf("mail: unknown Content-Transfer-Encoding %q", cte)
	}
	text, err := io.ReadAll(body)
	if err != nil {
		return nil, fmt.Errorf("mail: decode body: %w", err)
	}
	s := strings.ReplaceAll(string(text), "\r\n", "\n")
	rc.Text = strings.ReplaceAll(s, "\r", "\n")
	return rc, nil
}

// newlineStripper drops CR and LF, which base64 bodies carry between lines.
type newlineStripper struct{ r io.Reader }

func (s newlineStripper) Read(p []byte) (int, error) {
	for {
		n, err := s.r.Read(p)
		j := 0
		for _, c := range p[:n] {
			if c != '\r' && c != '\n' {
				p[j] = c
				j++
			}
		}
		if j > 0 || err != nil {
			return j, err
		}
	}
}

// ParseFile parses the message stored in the file at path, as written by
// DirSender.
func ParseFile(path string) (*Received, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rc, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	rc.Path = path
	return rc, nil
}

// ReadDir parses every message DirSender has written to dir, oldest first.
// It skips files that are not *.eml, hidden files (DirSender's temporary
// files start with a dot) and directories. Order follows the time stamp
// that starts each file name, then the name.
func ReadDir(dir string) ([]*Received, error) {
	paths, err := spool.List(dir, ".eml")
	if err != nil {
		return nil, err
	}
	out := make([]*Received, 0, len(paths))
	for _, path := range paths {
		rc, err := ParseFile(path)
		if err != nil {
			return nil, err
		}
		out = append(out, rc)
	}
	return out, nil
}
