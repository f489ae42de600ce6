// Package mail is the one outbox through which vigil sends mail: a Message,
// a Sender interface, a renderer that turns a Message into a safe RFC 5322
// message, and two senders: DirSender, the embedded default that drops each
// message as a file into a local directory, and SMTPSender, which submits to
// a mail server.
//
// Every Sender renders through Render, so every message that leaves vigil has
// passed the same checks against header injection.
package mail

import (
	"context"
	"errors"
	"net/textproto"
	"time"

	"github.com/vigil-dev/vigil"
)

// Message is one outgoing mail. It is plain text only: vigil's mails carry
// codes and short notices, never HTML.
type Message struct {
	// ID identifies the message. It becomes the left part of the
	// Message-ID header and part of DirSender's file name, so it is limited
	// to ASCII letters, digits, '-', '_' and inner dots, at most 128
	// characters. An empty ID is replaced by a fresh vigil.NewID().
	ID string
	// From and To are single addresses, optionally with a display name
	// ("Vigil <no-reply@example.com>"). Groups, lists and addresses that
	// need SMTPUTF8 are refused.
	From string
	To   string
	// Subject is free text; non-ASCII subjects are RFC 2047 encoded.
	Subject string
	// Text is the body. Line endings may be LF, CRLF or CR; they are
	// rendered as CRLF, and a final line break is added if missing.
	Text string
	// Headers holds extra header fields, e.g. X-Vigil-Notice-Code. Names
	// may use ASCII letters, digits and '-'; fields that Render writes itself
	// or that would change the message's routing or MIME structure (From,
	// To, Cc, Bcc, Content-*, ...) are refused.
	Headers map[string]string
	// Date is the origination date. The zero time means "now".
	Date time.Time
}

// Sender delivers messages. Implementations render with Render and so refuse
// the same messages it refuses, with an EINVALID error.
type Sender interface {
	// Send delivers m or returns why not. Errors are *vigil.Error values;
	// use IsPermanent to decide whether trying again can help.
	Send(ctx context.Context, m *Message) error
}

// IsPermanent reports whether err means that sending the same message again
// cannot succeed: a 5xx reply from an SMTP server, a message that Render
// refuses, or a configuration that vigil refuses to use (such as
// credentials over an unencrypted connection). Network failures, timeouts,
// TLS failures, cancelled contexts and 4xx replies are transient, as is nil
// and any error this package does not know.
func IsPermanent(err error) bool {
	if err == nil {
		return false
	}
	var te *textproto.Error
	if errors.As(err, &te) {
		return te.Code >= 500 && te.Code <= 599
	}
	switch vigil.ErrorCode(err) {
	case vigil.EINVALID, vigil.ETOOLARGE:
		return true
	}
	return false
}
