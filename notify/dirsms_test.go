package notify

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

func TestDirSMS(t *testing.T) {
	s := MustDirSMS(t)
	if runtime.GOOS != "windows" {
		fi, err := os.Stat(s.Dir())
		if err != nil {
			t.Fatal(err)
		}
		if perm := fi.Mode().Perm(); perm != 0o700 {
			t.Errorf("directory mode %o, want 700", perm)
		}
	}
	n := testNotice()
	if err := s.SendSMS(context.Background(), "+14155550100", n); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}

	got, err := ReadSMSDir(s.Dir())
	if err != nil {
		t.Fatalf("ReadSMSDir: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ReadSMSDir returned %d messages, want 1", len(got))
	}
	m := got[0]
	if m.To != "+14155550100" || m.Body != SMSBody(n) || m.IdempotencyKey != n.ID {
		t.Fatalf("read back To=%q Body=%q IdempotencyKey=%q", m.To, m.Body, m.IdempotencyKey)
	}
	if m.Notice.Code != n.Code || m.Notice.Kind != n.Kind || !m.Notice.At.Equal(n.At) || m.Notice.Data["device"] != n.Data["device"] {
		t.Fatalf("notice not read back: %+v", m.Notice)
	}
	name := filepath.Base(m.Path)
	if !strings.HasSuffix(name, "-"+n.ID+".json") {
		t.Fatalf("file name %q, want <nanos>-%s.json", name, n.ID)
	}
	fi, err := os.Stat(m.Path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %o, want 600", fi.Mode().Perm())
	}
	entries, err := os.ReadDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Fatalf("directory holds %d entries, want only the message (no temporary file left)", len(entries))
	}
}

func TestDirSMSConcurrent(t *testing.T) {
	s := MustDirSMS(t)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			nt := testNotice()
			nt.ID = vigil.NewID()
			nt.Title = fmt.Sprintf("notice %d", i)
			errs <- s.SendSMS(context.Background(), "+14155550100", nt)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("SendSMS: %v", err)
		}
	}
	got, err := ReadSMSDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != n {
		t.Fatalf("ReadSMSDir returned %d messages, want %d", len(got), n)
	}
	paths, titles := map[string]bool{}, map[string]bool{}
	for _, m := range got {
		paths[m.Path] = true
		titles[m.Notice.Title] = true
	}
	if len(paths) != n || len(titles) != n {
		t.Fatalf("%d distinct files and %d distinct titles, want %d each", len(paths), len(titles), n)
	}
}

func TestDirSMSSameIDKeepsOrder(t *testing.T) {
	// Retries of one notice never overwrite each other and come back in
	// the order they were written, even if the clock has not moved.
	s := MustDirSMS(t)
	for i := range 5 {
		n := testNotice()
		n.Title = fmt.Sprintf("n%d", i)
		if err := s.SendSMS(context.Background(), "+14155550100", n); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadSMSDir(s.Dir())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 5 {
		t.Fatalf("ReadSMSDir returned %d messages, want 5", len(got))
	}
	for i, m := range got {
		if want := fmt.Sprintf("n%d", i); m.Notice.Title != want {
			t.Fatalf("message %d has title %q, want %q", i, m.Notice.Title, want)
		}
	}
}

func TestReadSMSDirSkipsOtherFiles(t *testing.T) {
	s := MustDirSMS(t)
	if err := s.SendSMS(context.Background(), "+14155550100", testNotice()); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		".tmp-123.json": "partial",
		"notes.txt":     "not a message",
	} {
		if err := os.WriteFile(filepath.Join(s.Dir(), name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(s.Dir(), "sub.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	got, err := ReadSMSDir(s.Dir())
	if err != nil {
		t.Fatalf("ReadSMSDir: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("ReadSMSDir returned %d messages, want 1", len(got))
	}

	if err := os.WriteFile(filepath.Join(s.Dir(), "1-broken.json"), []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSMSDir(s.Dir()); err == nil {
		t.Fatal("ReadSMSDir accepted a broken file")
	}
}

func TestDirSMSRefuses(t *testing.T) {
	s := MustDirSMS(t)
	ctx := context.Background()
	err := s.SendSMS(ctx, "0151 1234567", testNotice())
	wantCode(t, err, vigil.EINVALID)
	if strings.Contains(err.Error(), "1234567") {
		t.Fatalf("error quotes the phone number: %v", err)
	}
	n := testNotice()
	n.ID = "../../escape"
	wantCode(t, s.SendSMS(ctx, "+14155550100", n), vigil.EINVALID)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.SendSMS(cancelled, "+14155550100", testNotice()); err == nil || IsPermanent(err) {
		t.Fatalf("SendSMS with cancelled context: %v, want a transient error", err)
	}
	if got, _ := ReadSMSDir(s.Dir()); len(got) != 0 {
		t.Fatalf("refused messages were written: %d", len(got))
	}
}

func TestNewDirSMSOnFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewDirSMS(file); err == nil {
		t.Fatal("NewDirSMS on a file succeeded")
	}
	if _, err := NewDirSMS(""); err == nil {
		t.Fatal("NewDirSMS on an empty path succeeded")
	}
}
