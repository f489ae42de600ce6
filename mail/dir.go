package mail

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/internal/spool"
)

// DirSender is vigil's embedded default Sender: it writes each message as a
// file named <unix-nanos>-<ID>.eml into a local directory, where a developer
// opens it with any mail client, and where tests and tools read it back
// with ReadDir. Files are readable by their owner only, since they hold
// codes and reset links. A DirSender is safe for concurrent use.
type DirSender struct {
	spool *spool.Dir
}

var _ Sender = (*DirSender)(nil)

// NewDirSender returns a DirSender writing to dir, creating it (mode 0700)
// and its parents if needed.
func NewDirSender(dir string) (*DirSender, error) {
	if dir == "" {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: no outbox directory")
	}
	sp, err := spool.Open(dir, ".eml")
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: outbox %s: %v", dir, err)
	}
	return &DirSender{spool: sp}, nil
}

// Dir returns the directory the sender writes to.
func (s *DirSender) Dir() string { return s.spool.Path() }

// Send renders m and writes it atomically: to a hidden temporary file in
// the same directory, synced, then renamed to <unix-nanos>-<ID>.eml (mode
// 0600), after which the directory is synced too. A reader never sees a
// partial message. Time stamps are strictly increasing within a DirSender,
// so names never collide and ReadDir returns messages in the order Send
// wrote them. It returns EINVALID or ETOOLARGE for a message Render refuses,
// and EINTERNAL if the file cannot be written.
func (s *DirSender) Send(ctx context.Context, m *Message) error {
	if err := ctx.Err(); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail not sent", Err: err}
	}
	r, err := render(m, time.Now())
	if err != nil {
		return err
	}
	if path, err := s.spool.Write(r.id, r.raw); err != nil {
		return vigil.Internal(fmt.Errorf("mail: write %s: %w", path, err))
	}
	return nil
}
