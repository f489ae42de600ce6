package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/vigil-dev/vigil/internal/spool"
	"io"
	"os"

	"github.com/vigil-dev/vigil"
)

// maxSMSFileLen bounds what ReadSMSDir reads of one file: far more than
// DirSMS writes.
const maxSMSFileLen = 1 << 20

// SMSMessage is one text message as DirSMS writes it, one JSON object per
// file.
type SMSMessage struct {
	// Path is the file the message was read from; set by ReadSMSDir, not
	// stored.
	Path string `json:"-"`
	// To is the recipient in E.164 form.
	To string `json:"to"`
	// Body is the text sent, SMSBody(&Notice).
	Body string `json:"body"`
	// IdempotencyKey is the notice's ID.
	IdempotencyKey string `json:"idempotency_key"`
	// Notice is the notice the message was made from, so tests and tools
	// can read its code and kind without parsing Body.
	Notice Notice `json:"notice"`
}

// DirSMS is vigil's embedded default SMSSender: it writes each message as a
// JSON file (an SMSMessage) named <unix-nanos>-<notice ID>.json into a
// local directory, where a developer reads it and tests read it back with
// ReadSMSDir. Files are readable by their owner only, since they hold codes
// and phone numbers. A DirSMS is safe for concurrent use.
type DirSMS struct {
	spool *spool.Dir
}

var _ SMSSender = (*DirSMS)(nil)

// NewDirSMS returns a DirSMS writing to dir, creating it (mode 0700) and
// its parents if needed. It returns EINVALID for an empty dir or one that
// is not a directory.
func NewDirSMS(dir string) (*DirSMS, error) {
	if dir == "" {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: no SMS outbox directory")
	}
	sp, err := spool.Open(dir, ".json")
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "notify: SMS outbox %s: %v", dir, err)
	}
	return &DirSMS{spool: sp}, nil
}

// Dir returns the directory the sender writes to.
func (s *DirSMS) Dir() string { return s.spool.Path() }

// SendSMS checks to and n as every SMSSender does, then writes the message
// atomically: to a hidden temporary file in the same directory, synced,
// then renamed to <unix-nanos>-<n.ID>.json (mode 0600), after which the
// directory is synced too. A reader never sees a partial file. Time stamps
// are strictly increasing within a DirSMS, so names never collide, even
// for two sends of one notice, and ReadSMSDir returns messages in the
// order they were written. It returns EINVALID or ETOOLARGE for a number
// or notice it refuses, EUNAVAILABLE for a cancelled context and EINTERNAL
// if the file cannot be written (transient for IsPermanent).
func (s *DirSMS) SendSMS(ctx context.Context, to string, n *Notice) error {
	if err := checkSMS(to, n); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "SMS not sent", Err: context.Cause(ctx)}
	}
	data, err := json.MarshalIndent(SMSMessage{To: to, Body: SMSBody(n), IdempotencyKey: n.ID, Notice: *n}, "", "  ")
	if err != nil {
		return vigil.Internal(fmt.Errorf("notify: encode SMS: %w", err))
	}
	if path, err := s.spool.Write(n.ID, append(data, '\n')); err != nil {
		return vigil.Internal(fmt.Errorf("notify: write %s: %w", path, err))
	}
	return nil
}

// ReadSMSDir reads every message DirSMS has written to dir, oldest first:
// in the order of the time stamp that starts each file name, then by name.
// It skips hidden files (DirSMS's temporary files start with a dot), files
// not ending in .json, and directories. A file that is larger than 1 MiB
// or does not hold an SMSMessage is an error.
func ReadSMSDir(dir string) ([]SMSMessage, error) {
	paths, err := spool.List(dir, ".json")
	if err != nil {
		return nil, err
	}
	out := make([]SMSMessage, 0, len(paths))
	for _, path := range paths {
		m, err := readSMSFile(path)
		if err != nil {
			return nil, fmt.Errorf("notify: %s: %w", path, err)
		}
		m.Path = path
		out = append(out, m)
	}
	return out, nil
}

func readSMSFile(path string) (SMSMessage, error) {
	var m SMSMessage
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxSMSFileLen+1))
	if err != nil {
		return m, err
	}
	if len(raw) > maxSMSFileLen {
		return m, fmt.Errorf("larger than %d bytes", maxSMSFileLen)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, err
	}
	return m, nil
}
