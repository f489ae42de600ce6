package notify

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

// testNow is the injected clock of the webhook tests.
var testNow = time.Unix(1_700_000_000, 0)

func testNotice() *Notice {
	return &Notice{
		ID:        "ntc_7hq2k4m9",
		Kind:      "password_changed",
		AccountID: "acc123",
		Code:      "K7Q-2M9",
		Title:     "Your password was changed",
		Text:      "Your vigil password was changed from a new device.\nIf this was not you, reset it now.",
		At:        time.Date(2025, 11, 25, 20, 14, 5, 123_000_000, time.FixedZone("CET", 3600)),
		Data:      map[string]string{"ip": "203.0.113.7", "device": "Firefox on Linux"},
	}
}

// MustDirSMS returns a DirSMS on a fresh directory below tb.TempDir.
func MustDirSMS(tb testing.TB) *DirSMS {
	tb.Helper()
	s, err := NewDirSMS(filepath.Join(tb.TempDir(), "sms", "nested"))
	if err != nil {
		tb.Fatalf("NewDirSMS: %v", err)
	}
	return s
}

// request is one request as a test receiver saw it.
type request struct {
	method string
	path   string
	header http.Header
	body   []byte
}

// receiver is an httptest server on loopback that records every request
// and answers with status (and the headers in extra).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	status int
	extra  map[string]string
	reqs   []request
}

// MustReceiver starts a receiver answering status; it is closed when the
// test ends.
func MustReceiver(tb testing.TB, status int) *receiver {
	tb.Helper()
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, request{method: r.Method, path: r.URL.RequestURI(), header: r.Header.Clone(), body: body})
		status, extra := rc.status, rc.extra
		rc.mu.Unlock()
		for k, v := range extra {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	tb.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) set(status int, extra map[string]string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.status, rc.extra = status, extra
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.reqs...)
}

// MustOneRequest returns the one request rc has seen, failing otherwise.
func (rc *receiver) MustOneRequest(tb testing.TB) request {
	tb.Helper()
	reqs := rc.requests()
	if len(reqs) != 1 {
		tb.Fatalf("receiver saw %d requests, want 1", len(reqs))
	}
	return reqs[0]
}

// wantCode fails unless err carries code.
func wantCode(tb testing.TB, err error, code string) {
	tb.Helper()
	if got := vigil.ErrorCode(err); got != code {
		tb.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}
