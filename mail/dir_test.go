package mail

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-dev/vigil"
)

// MustDirSender returns a DirSender on a fresh directory below t.TempDir.
func MustDirSender(tb testing.TB) *DirSender {
	tb.Helper()
	s, err := NewDirSender(filepath.Join(tb.TempDir(), "outbox", "nested"))
	if err != nil {
		tb.Fatalf("NewDirSender: %v", err)
	}
	return s
}

func TestDirSender(t *testing.T) {
	s := MustDirSender(t)
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("directory mode %o, want 700", perm)
		}
	}
	m := testMessage()
	m.Subject = "Bestätigen Sie Ihre Adresse"
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}

	got, err := ReadDir(s.Dir())
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ReadDir returned %d messages, want 1", len(got))
	}
	rc := got[0]
	if rc.Subject != m.Subject || rc.To != "alice@example.com" || rc.Text != m.Text {
		t.Fatalf("read back Subject=%q To=%q Text=%q", rc.Subject, rc.To, rc.Text)
	}
	if rc.Header.Get("X-Vigil-Notice-Code") != "verify-email" {
		t.Fatalf("extra header lost: %v", rc.Header)
	}
	name := filepath.Base(rc.Path)
	if !strings.HasSuffix(name, "-abc123.eml") {
		t.Fatalf("file name %q, want <nanos>-abc123.eml", name)
	}
	fi, err := os.Stat(rc.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %o, want 600", fi.Mode().Perm())
	}
	raw, err := os.ReadFile(rc.Path)
	if err != nil {
		t.Fatal(err)
	}
	checkWire(t, raw)
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the message (no temporary file left)", len(entries))
	}
}

func TestDirSenderConcurrent(t *testing.T) {
	s := MustDirSender(t)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := testMessage()
			m.ID = "" // generated
			m.Subject = fmt.Sprintf("message %d", i)
			errs <- s.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Send: %v", err)
		}
	}
	got, err := ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("ReadDir returned %d messages, want %d", len(got), n)
	}
	paths := map[string]bool{}
	subjects := map[string]bool{}
	for _, rc := range got {
		paths[rc.Path] = true
		subjects[rc.Subject] = true
	}
	if len(paths) != n || len(subjects) != n {
		t.Fatalf("%d distinct files and %d distinct subjects, want %d each", len(paths), len(subjects), n)
	}
}

func TestDirSenderSameIDAndOrder(t *testing.T) {
	// Messages keep their order and never overwrite each other, even with
	// one ID and a clock that has not moved between sends.
	s := MustDirSender(t)
	for i := range 5 {
		m := testMessage()
		m.Subject = fmt.Sprintf("n%d", i)
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("ReadDir returned %d messages, want 5", len(got))
	}
	for i, rc := range got {
		if want := fmt.Sprintf("n%d", i); rc.Subject != want {
			t.Fatalf("message %d has Subject %q, want %q", i, rc.Subject, want)
		}
	}
}

func TestReadDirSkipsOtherFiles(t *testing.T) {
	s := MustDirSender(t)
	if err := s.Send(context.Background(), testMessage()); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".tmp-123.eml": "partial",
		"notes.txt":    "not mail",
	} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "sub.eml"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := ReadDir(s.Dir())
	if err != nil {
		t.Fatalf("ReadDir: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ReadDir returned %d messages, want 1", len(got))
	}
}

func TestDirSenderRefuses(t *testing.T) {
	s := MustDirSender(t)
	m := testMessage()
	m.Subject = "x\r\nBcc: eve@evil.example"
	if err := s.Send(context.Background(), m); vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("Send with injected header: %v, want EINVALID", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Send(ctx, testMessage()); err == nil || IsPermanent(err) {
		t.Fatalf("Send with cancelled context: %v, want a transient error", err)
	}
	if got, _ := ReadDir(s.Dir()); len(got) != 0 {
		t.Fatalf("refused messages were written: %d", len(got))
	}
}

func TestNewDirSenderOnFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDirSender(file); err == nil {
		t.Fatal("NewDirSender on a file succeeded")
	}
}
