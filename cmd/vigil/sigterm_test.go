package main

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var built struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// vigilBinary builds this command once per test binary with the go tool on
// PATH and returns the executable's path.
func vigilBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the binary; skipped with -short")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH to build the binary with")
	}
	built.once.Do(func() {
		built.dir, built.err = os.MkdirTemp("", "vigil-bin-")
		if built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "vigil")
		cmd := exec.Command(goTool, "build", "-o", built.path, ".")
		out, err := cmd.CombinedOutput()
		if err != nil {
			built.err = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if built.err != nil {
		t.Fatal(built.err)
	}
	return built.path
}

func TestMain(m *testing.M) {
	code := m.Run()
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
	os.Exit(code)
}

// TestSIGTERM starts the real binary, waits for it to listen, sends SIGTERM
// and expects a clean exit (status 0) with the "stopped" log line.
func TestSIGTERM(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	t.Parallel()
	bin := vigilBinary(t)
	dir := t.TempDir()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--database", filepath.Join(dir, "vigil.db"),
		"--mail-dir", filepath.Join(dir, "mail")}, cheapArgon2...)
	cmd := exec.Command(bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir} // no VIGIL_* from the outside
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &logBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	drained := listening(t, stdout, cmd, stderr)
	exited := make(chan error, 1)
	go func() {
		<-drained // Wait closes the pipe: read it to the end first
		exited <- cmd.Wait()
	}()

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("vigil exited with %v after SIGTERM, want status 0; stderr:\n%s", err, stderr)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("vigil still running 30s after SIGTERM; stderr:\n%s", stderr)
	}
	if code := cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("exit status %d, want 0", code)
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"shutting down"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("stderr lacks %s:\n%s", want, logs)
		}
	}
}

// listening blocks the test until the process prints its listening line,
// and returns a channel closed once stdout has been read to the end.
func listening(t *testing.T, stdout io.Reader, cmd *exec.Cmd, stderr *logBuffer) <-chan struct{} {
	t.Helper()
	drained := make(chan struct{})
	addr := make(chan string, 1)
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "vigil listening on http://"); ok {
				addr <- a
			}
		}
		close(addr)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("vigil exited before listening; stderr:\n%s", stderr)
		}
		if !strings.HasPrefix(a, "127.0.0.1:") || strings.HasSuffix(a, ":0") {
			t.Errorf("listening on %q, want 127.0.0.1 and a real port", a)
		}
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("vigil did not print its listening line within 30s; stderr:\n%s", stderr)
	}
	return drained
}
