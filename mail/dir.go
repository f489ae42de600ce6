package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/vigil-dev/vigil"
)

// DirSender is vigil's embedded default Sender: it writes each message as a
// file named <unix-nanos>-<ID>.eml into a local directory, where a developer
// opens it with any mail client, and where tests and tools read it back
// with ReadDir. Files are readable by their owner only, since they hold
// codes and reset links. A DirSender is safe for concurrent use.
type DirSender struct {
	dir string

	mu   sync.Mutex
	last int64 // the last time stamp handed out, in Unix nanoseconds
}

var _ Sender = (*DirSender)(nil)

// NewDirSender returns a DirSender writing to dir, creating it (mode 0700)
// and its parents if needed.
func NewDirSender(dir string) (*DirSender, error) {
	if dir == "" {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: no outbox directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("mail: create outbox: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("mail: outbox: %w", err)
	}
	if !fi.IsDir() {
		return nil, vigil.Errorf(vigil.EINVALID, "mail: outbox %s is not a directory", dir)
	}
	return &DirSender{dir: dir}, nil
}

// Dir returns the directory the sender writes to.
func (s *DirSender) Dir() string { return s.dir }

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
	name := fmt.Sprintf("%d-%s.eml", s.stamp(), r.id)
	if err := writeAtomic(s.dir, name, r.raw); err != nil {
		return vigil.Internal(fmt.Errorf("mail: write %s: %w", filepath.Join(s.dir, name), err))
	}
	return nil
}

// stamp returns the current time in Unix nanoseconds, or one more than the
// last stamp if the clock has not moved past it.
func (s *DirSender) stamp() int64 {
	now := time.Now().UnixNano()
	s.mu.Lock()
	defer s.mu.Unlock()
	if now <= s.last {
		now = s.last + 1
	}
	s.last = now
	return now
}

func writeAtomic(dir, name string, data []byte) (err error) {
	f, err := os.CreateTemp(dir, ".tmp-*.eml")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	// CreateTemp already uses 0600; say so explicitly, whatever the umask.
	if err = f.Chmod(0o600); err != nil {
		return err
	}
	if _, err = f.Write(data); err != nil {
		return err
	}
	if err = f.Sync(); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp, filepath.Join(dir, name)); err != nil {
		return err
	}
	// Make the rename durable. Failure here leaves a complete file in place,
	// so it is not reported.
	if d, derr := os.Open(dir); derr == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
