package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

const testAPIKey = "sk_live_TOPSECRET_4f9a"

// MustHTTPSMS returns an HTTPSMS posting to url with testAPIKey.
func MustHTTPSMS(tb testing.TB, url string) *HTTPSMS {
	tb.Helper()
	s, err := NewHTTPSMS(HTTPSMSConfig{URL: url, APIKey: testAPIKey, Timeout: 5 * time.Second})
	if err != nil {
		tb.Fatalf("NewHTTPSMS: %v", err)
	}
	return s
}

// noSecrets fails if err's text, in any form, holds the API key or other
// text that must not reach logs.
func noSecrets(tb testing.TB, err error, secrets ...string) {
	tb.Helper()
	for _, form := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), vigil.ErrorMessage(err)} {
		for _, s := range append([]string{testAPIKey}, secrets...) {
			if strings.Contains(form, s) {
				tb.Fatalf("error %q holds %q", form, s)
			}
		}
	}
}

func TestHTTPSMS(t *testing.T) {
	rc := MustReceiver(t, http.StatusAccepted)
	s := MustHTTPSMS(t, rc.URL+"/v1/messages")
	n := testNotice()
	if err := s.SendSMS(context.Background(), "+14155550100", n); err != nil {
		t.Fatalf("SendSMS: %v", err)
	}
	req := rc.MustOneRequest(t)
	if req.method != http.MethodPost || req.path != "/v1/messages" {
		t.Fatalf("request %s %s", req.method, req.path)
	}
	for k, want := range map[string]string{
		"Authorization":   "Bearer " + testAPIKey,
		"Content-Type":    "application/json",
		"User-Agent":      "vigil-sms/1",
		"Idempotency-Key": n.ID,
	} {
		if got := req.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	var body map[string]any
	dec := json.NewDecoder(bytes.NewReader(req.body))
	if err := dec.Decode(&body); err != nil {
		t.Fatalf("body is not JSON: %v", err)
	}
	want := map[string]any{"to": "+14155550100", "body": SMSBody(n), "idempotency_key": n.ID}
	if len(body) != len(want) {
		t.Fatalf("body has fields %v, want exactly to, body, idempotency_key", body)
	}
	for k, v := range want {
		if body[k] != v {
			t.Errorf("body %s = %q, want %q", k, body[k], v)
		}
	}
}

func TestHTTPSMSClassifies(t *testing.T) {
	rc := MustReceiver(t, http.StatusOK)
	s := MustHTTPSMS(t, rc.URL+"/send?token=querysecret")
	tests := []struct {
		status    int
		code      string // "" for success
		permanent bool
	}{
		{200, "", false},
		{201, "", false},
		{204, "", false},
		{400, vigil.EINTERNAL, true},
		{401, vigil.EINTERNAL, true},
		{403, vigil.EINTERNAL, true},
		{404, vigil.EINTERNAL, true},
		{422, vigil.EINTERNAL, true},
		{301, vigil.EINTERNAL, true},
		{408, vigil.EUNAVAILABLE, false},
		{429, vigil.EUNAVAILABLE, false},
		{500, vigil.EUNAVAILABLE, false},
		{502, vigil.EUNAVAILABLE, false},
		{503, vigil.EUNAVAILABLE, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			extra := map[string]string{"Retry-After": "7"}
			if tt.status == 301 {
				extra["Location"] = "/elsewhere"
			}
			rc.set(tt.status, extra)
			err := s.SendSMS(context.Background(), "+14155550100", testNotice())
			if tt.code == "" {
				if err != nil {
					t.Fatalf("SendSMS: %v", err)
				}
				return
			}
			wantCode(t, err, tt.code)
			if got := IsPermanent(err); got != tt.permanent {
				t.Fatalf("IsPermanent(%v) = %t, want %t", err, got, tt.permanent)
			}
			var se *StatusError
			if !errors.As(err, &se) || se.StatusCode != tt.status || se.RetryAfter != 7*time.Second {
				t.Fatalf("error %v does not carry StatusError{%d, 7s}", err, tt.status)
			}
			noSecrets(t, err, "querysecret", "+14155550100", "K7Q-2M9")
		})
	}
	for _, r := range rc.requests() {
		if r.path == "/elsewhere" {
			t.Fatal("a redirect was followed")
		}
	}
}

func TestHTTPSMSNetworkErrors(t *testing.T) {
	// A closed server: connection refused, transient.
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/send?token=querysecret"
	srv.Close()
	s := MustHTTPSMS(t, url)
	err := s.SendSMS(context.Background(), "+14155550100", testNotice())
	wantCode(t, err, vigil.EUNAVAILABLE)
	if IsPermanent(err) {
		t.Fatalf("connection refused is permanent: %v", err)
	}
	noSecrets(t, err, "querysecret", "+14155550100")

	// A server that does not answer within the deadline: transient.
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	s = MustHTTPSMS(t, slow.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err = s.SendSMS(ctx, "+14155550100", testNotice())
	wantCode(t, err, vigil.EUNAVAILABLE)
	if IsPermanent(err) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v, want a transient deadline error", err)
	}
	noSecrets(t, err)

	// A cancelled context fails before any request.
	cancelled, cancel2 := context.WithCancel(context.Background())
	cancel2()
	wantCode(t, s.SendSMS(cancelled, "+14155550100", testNotice()), vigil.EUNAVAILABLE)
}

func TestHTTPSMSRefuses(t *testing.T) {
	rc := MustReceiver(t, http.StatusOK)
	s := MustHTTPSMS(t, rc.URL)
	for _, to := range []string{"", "4155550100", "+1 415 555 0100", "+0123456789"} {
		err := s.SendSMS(context.Background(), to, testNotice())
		wantCode(t, err, vigil.EINVALID)
		if !IsPermanent(err) {
			t.Fatalf("bad number %q: transient", to)
		}
	}
	n := testNotice()
	n.Title = ""
	wantCode(t, s.SendSMS(context.Background(), "+14155550100", n), vigil.EINVALID)
	if got := len(rc.requests()); got != 0 {
		t.Fatalf("%d requests for refused messages", got)
	}
}

func TestHTTPSMSConfig(t *testing.T) {
	good := HTTPSMSConfig{URL: "https://sms.example.com/v1/send?account=42", APIKey: testAPIKey}
	if err := good.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	for _, url := range []string{"http://127.0.0.1:8080/send", "http://localhost/send", "http://[::1]:9/x"} {
		c := good
		c.URL = url
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%s): %v", url, err)
		}
	}
	bad := []HTTPSMSConfig{
		{URL: "http://sms.example.com/send", APIKey: testAPIKey}, // key in plain text over a network
		{URL: "ftp://sms.example.com/", APIKey: testAPIKey},
		{URL: "sms.example.com/send", APIKey: testAPIKey},
		{URL: "https://user:pw@sms.example.com/", APIKey: testAPIKey},
		{URL: "https://sms.example.com/", APIKey: ""},
		{URL: "https://sms.example.com/", APIKey: "a b"},
		{URL: "https://sms.example.com/", APIKey: "key\r\nX-Evil: 1"},
		{URL: "https://sms.example.com/", APIKey: testAPIKey, Timeout: -time.Second},
	}
	for _, c := range bad {
		err := c.Validate()
		wantCode(t, err, vigil.EINVALID)
		if _, err2 := NewHTTPSMS(c); err2 == nil {
			t.Errorf("NewHTTPSMS(%v) succeeded", c)
		}
		noSecrets(t, err)
	}

	// The key never shows, whatever the verb or logger.
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "sms", good)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "sms", good)
	outs := []string{good.String(), fmt.Sprint(good), logged.String()}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, good), fmt.Sprintf(verb, &good))
	}
	for _, out := range outs {
		if strings.Contains(out, testAPIKey) || strings.Contains(out, "account=42") {
			t.Fatalf("configuration printed a secret: %s", out)
		}
	}
	if !strings.Contains(good.String(), "[redacted]") {
		t.Fatalf("String does not say the key is redacted: %s", good)
	}
}

func TestHTTPSMSCustomClientDoesNotFollowRedirects(t *testing.T) {
	target := MustReceiver(t, http.StatusOK)
	redirector := httptest.NewServer(http.RedirectHandler(target.URL+"/stolen", http.StatusTemporaryRedirect))
	t.Cleanup(redirector.Close)
	followAll := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return nil }}
	s, err := NewHTTPSMS(HTTPSMSConfig{URL: redirector.URL, APIKey: testAPIKey, Client: followAll})
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendSMS(context.Background(), "+14155550100", testNotice())
	if err == nil || !IsPermanent(err) {
		t.Fatalf("redirect: %v, want a permanent error", err)
	}
	if got := len(target.requests()); got != 0 {
		t.Fatalf("redirect target got %d requests (with the bearer key)", got)
	}
	if followAll.CheckRedirect == nil {
		t.Fatal("the caller's client was modified")
	}
}
