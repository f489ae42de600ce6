package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/vigil-dev/vigil"
)

var (
	testSecret    = []byte("whsec_0123456789abcdef0123456789")
	testOldSecret = []byte("whsec_old_fedcba9876543210fedcba")
)

// testSender is a WebhookSender for loopback receivers with a fixed clock.
func testSender() *WebhookSender {
	return NewWebhookSender(WebhookConfig{AllowPrivate: true, Timeout: 5 * time.Second, Now: func() time.Time { return testNow }})
}

// MustDeliver sends n to a fresh receiver in format and returns what the
// receiver got.
func MustDeliver(tb testing.TB, format string, n *Notice) request {
	tb.Helper()
	rc := MustReceiver(tb, http.StatusNoContent)
	hook := Webhook{URL: rc.URL + "/hooks/vigil", Secret: testSecret, Format: format}
	if err := testSender().Send(context.Background(), hook, n); err != nil {
		tb.Fatalf("Send: %v", err)
	}
	return rc.MustOneRequest(tb)
}

func TestWebhookJSON(t *testing.T) {
	n := testNotice()
	req := MustDeliver(t, "", n)
	if req.method != http.MethodPost || req.path != "/hooks/vigil" {
		t.Fatalf("request %s %s", req.method, req.path)
	}
	for k, want := range map[string]string{
		"Content-Type":    "application/json",
		"User-Agent":      "vigil-webhook/1",
		"Vigil-Id":        n.ID,
		"Vigil-Timestamp": strconv.FormatInt(testNow.Unix(), 10),
	} {
		if got := req.header.Get(k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if err := VerifySignature(testSecret, req.header, req.body, testNow, 0); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}

	var got map[string]any
	if err := json.Unmarshal(req.body, &got); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, req.body)
	}
	want := map[string]any{
		"id":         n.ID,
		"kind":       "password_changed",
		"account_id": "acc123",
		"code":       "K7Q-2M9",
		"title":      n.Title,
		"text":       n.Text,
		"at":         "2025-11-25T19:14:05.123Z",
		"data":       map[string]any{"ip": "203.0.113.7", "device": "Firefox on Linux"},
	}
	if len(got) != len(want) {
		t.Fatalf("body has %d fields, want %d: %s", len(got), len(want), req.body)
	}
	for k, v := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(v) {
			t.Errorf("body %s = %v, want %v", k, got[k], v)
		}
	}

	// Empty data is {}, not null, and every field is present.
	n.Data, n.Code = nil, ""
	req = MustDeliver(t, FormatJSON, n)
	if !bytes.Contains(req.body, []byte(`"data":{}`)) || !bytes.Contains(req.body, []byte(`"code":""`)) {
		t.Fatalf("body %s lacks \"data\":{} or \"code\":\"\"", req.body)
	}
}

func TestWebhookSlack(t *testing.T) {
	n := testNotice()
	n.Title = "New sign-in <!channel>"
	n.Text = "From <https://evil.example|your bank> & co"
	req := MustDeliver(t, FormatSlack, n)
	if err := VerifySignature(testSecret, req.header, req.body, testNow, 0); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	var msg struct {
		Text   string `json:"text"`
		Blocks []struct {
			Type string `json:"type"`
			Text struct {
				Type string `json:"type"`
				Text string `json:"text"`
			} `json:"text"`
		} `json:"blocks"`
	}
	dec := json.NewDecoder(bytes.NewReader(req.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&msg); err != nil {
		t.Fatalf("Slack body does not decode: %v\n%s", err, req.body)
	}
	if msg.Text != "New sign-in &lt;!channel&gt; (code K7Q-2M9)" {
		t.Errorf("text = %q", msg.Text)
	}
	if len(msg.Blocks) != 1 || msg.Blocks[0].Type != "section" || msg.Blocks[0].Text.Type != "mrkdwn" {
		t.Fatalf("blocks = %+v, want one mrkdwn section", msg.Blocks)
	}
	want := "*New sign-in &lt;!channel&gt;*\nFrom &lt;https://evil.example|your bank&gt; &amp; co\nCode: `K7Q-2M9`"
	if got := msg.Blocks[0].Text.Text; got != want {
		t.Errorf("section text =\n%q\nwant\n%q", got, want)
	}

	// A long text fits Slack's 3000-character section limit, code included,
	// and no entity is cut in half.
	n.Text = strings.Repeat("a<", 5000)
	req = MustDeliver(t, FormatSlack, n)
	if err := json.Unmarshal(req.body, &msg); err != nil {
		t.Fatal(err)
	}
	section := msg.Blocks[0].Text.Text
	if c := utf8.RuneCountInString(section); c > 3000 {
		t.Fatalf("section has %d characters", c)
	}
	if !strings.HasSuffix(section, "...\nCode: `K7Q-2M9`") {
		t.Fatalf("section ends %q", section[len(section)-40:])
	}
	_, body, _ := strings.Cut(strings.TrimSuffix(section, "...\nCode: `K7Q-2M9`"), "\n")
	if strings.Count(body, "&") != strings.Count(body, "&lt;") {
		t.Fatalf("an entity was cut: ...%q", body[len(body)-20:])
	}
}

func TestWebhookSignature(t *testing.T) {
	req := MustDeliver(t, FormatJSON, testNotice())
	h, body := req.header, req.body
	if err := VerifySignature(testSecret, h, body, testNow, time.Minute); err != nil {
		t.Fatalf("VerifySignature: %v", err)
	}
	if sig := h.Get(HeaderSignature); !strings.HasPrefix(sig, "v1=") || len(sig) != 3+64 {
		t.Fatalf("signature header %q, want v1=<64 hex>", sig)
	}

	changedBody := bytes.Replace(body, []byte("password_changed"), []byte("password_chAnged"), 1)
	if err := VerifySignature(testSecret, h, changedBody, testNow, time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("changed body: %v", err)
	}
	h2 := h.Clone()
	h2.Set(HeaderTimestamp, strconv.FormatInt(testNow.Unix()+1, 10))
	if err := VerifySignature(testSecret, h2, body, testNow, time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("changed timestamp: %v", err)
	}
	if err := VerifySignature(testOldSecret, h, body, testNow, time.Minute); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("other secret: %v", err)
	}
	if err := VerifySignature(testSecret, h, body, testNow.Add(2*time.Minute), time.Minute); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("stale delivery: %v", err)
	}
	if err := VerifySignature(testSecret, h, body, testNow.Add(-2*time.Minute), time.Minute); !errors.Is(err, ErrSignatureExpired) {
		t.Errorf("delivery from the future: %v", err)
	}
}

func TestWebhookRotation(t *testing.T) {
	rc := MustReceiver(t, http.StatusOK)
	hook := Webhook{URL: rc.URL, Secret: testSecret, PreviousSecret: testOldSecret}
	n := testNotice()
	if err := testSender().Send(context.Background(), hook, n); err != nil {
		t.Fatal(err)
	}
	req := rc.MustOneRequest(t)
	values := strings.Split(req.header.Get(HeaderSignature), ",")
	if len(values) != 2 {
		t.Fatalf("signature header %q, want two v1 values", req.header.Get(HeaderSignature))
	}
	// A receiver on either secret accepts the delivery; one on neither
	// does not.
	for _, secret := range [][]byte{testSecret, testOldSecret} {
		if err := VerifySignature(secret, req.header, req.body, testNow, 0); err != nil {
			t.Errorf("VerifySignature with one of the two secrets: %v", err)
		}
	}
	if err := VerifySignature([]byte("whsec_unrelated_unrelated_unrel"), req.header, req.body, testNow, 0); !errors.Is(err, ErrSignatureMismatch) {
		t.Errorf("third secret: %v", err)
	}
}

func TestWebhookIdempotencyKey(t *testing.T) {
	// Two attempts at one notice carry the same Vigil-Id, each signed
	// afresh with its own timestamp.
	rc := MustReceiver(t, http.StatusServiceUnavailable)
	clock := testNow
	s := NewWebhookSender(WebhookConfig{AllowPrivate: true, Now: func() time.Time { return clock }})
	hook := Webhook{URL: rc.URL, Secret: testSecret}
	n := testNotice()
	err := s.Send(context.Background(), hook, n)
	wantCode(t, err, vigil.EUNAVAILABLE)
	if IsPermanent(err) {
		t.Fatalf("503 is permanent: %v", err)
	}
	rc.set(http.StatusOK, nil)
	clock = testNow.Add(90 * time.Second)
	if err := s.Send(context.Background(), hook, n); err != nil {
		t.Fatal(err)
	}
	reqs := rc.requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	for i, r := range reqs {
		if got := r.header.Get(HeaderID); got != n.ID {
			t.Errorf("attempt %d: %s = %q, want the notice ID %q", i, HeaderID, got, n.ID)
		}
	}
	if reqs[0].header.Get(HeaderTimestamp) == reqs[1].header.Get(HeaderTimestamp) {
		t.Error("retry reused the first attempt's timestamp")
	}
	if err := VerifySignature(testSecret, reqs[1].header, reqs[1].body, clock, 0); err != nil {
		t.Errorf("retry does not verify: %v", err)
	}
}

func TestWebhookStatusClassification(t *testing.T) {
	rc := MustReceiver(t, http.StatusOK)
	hook := Webhook{URL: rc.URL + "/T000/B000/slacksecretpath", Secret: testSecret, Format: FormatSlack}
	for _, tt := range []struct {
		status    int
		permanent bool
	}{{400, true}, {401, true}, {404, true}, {410, true}, {408, false}, {429, false}, {500, false}, {503, false}} {
		rc.set(tt.status, map[string]string{"Retry-After": "30"})
		err := testSender().Send(context.Background(), hook, testNotice())
		if err == nil || IsPermanent(err) != tt.permanent {
			t.Errorf("status %d: %v, want permanent=%t", tt.status, err, tt.permanent)
			continue
		}
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != tt.status || se.RetryAfter != 30*time.Second {
			t.Errorf("status %d: %v lacks its StatusError", tt.status, err)
		}
		noSecrets(t, err, "slacksecretpath", string(testSecret))
	}
}

func TestWebhookRedirectNotFollowed(t *testing.T) {
	target := MustReceiver(t, http.StatusOK)
	for _, code := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.RedirectHandler(target.URL+"/internal", code))
		err := testSender().Send(context.Background(), Webhook{URL: redirector.URL, Secret: testSecret}, testNotice())
		redirector.Close()
		if err == nil {
			t.Fatalf("redirect %d counted as delivered", code)
		}
		if !IsPermanent(err) {
			t.Errorf("redirect %d: transient: %v", code, err)
		}
		var se *StatusError
		if !errors.As(err, &se) || se.StatusCode != code {
			t.Errorf("redirect %d: %v lacks its StatusError", code, err)
		}
	}
	if got := len(target.requests()); got != 0 {
		t.Fatalf("redirect target got %d requests", got)
	}
}

func TestWebhookSSRFGuard(t *testing.T) {
	rc := MustReceiver(t, http.StatusOK)
	tls := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("guarded sender reached the loopback TLS server")
	}))
	t.Cleanup(tls.Close)
	_, port, _ := strings.Cut(strings.TrimPrefix(tls.URL, "https://"), ":")

	prod := NewWebhookSender(WebhookConfig{})
	ctx := context.Background()

	// Literal internal addresses are refused before any connection.
	for _, u := range []string{
		tls.URL, // https://127.0.0.1:port
		"https://[::1]:" + port + "/",
		"https://10.0.0.8/hook",
		"https://169.254.169.254/latest/meta-data/",
		"https://[fd00:ec2::254]/",
		"https://[::ffff:127.0.0.1]:" + port + "/",
		"https://0.0.0.0:" + port + "/",
	} {
		err := prod.Send(ctx, Webhook{URL: u, Secret: testSecret}, testNotice())
		wantCode(t, err, vigil.EINVALID)
		if !IsPermanent(err) {
			t.Errorf("%s: transient: %v", u, err)
		}
	}

	// A host name that resolves to loopback is refused at connect time.
	err := prod.Send(ctx, Webhook{URL: "https://localhost:" + port + "/hook", Secret: testSecret}, testNotice())
	wantCode(t, err, vigil.EINVALID)
	if !errors.Is(err, errBlockedAddress) || !IsPermanent(err) {
		t.Fatalf("localhost: %v, want the guard's permanent refusal", err)
	}

	// The dial guard itself, without the literal pre-check, refuses
	// 127.0.0.1.
	u, _ := url.Parse(tls.URL + "/hook")
	client := &http.Client{Transport: newTransport(time.Second, false), CheckRedirect: noRedirect}
	err = post(ctx, delivery{client: client, timeout: 5 * time.Second, what: "webhook", url: u, header: http.Header{}, body: []byte("{}")})
	if !errors.Is(err, errBlockedAddress) || vigil.ErrorCode(err) != vigil.EINVALID {
		t.Fatalf("dial guard: %v, want a blocked address", err)
	}

	// http:// is refused without AllowPrivate, even to a public address.
	for _, u := range []string{"http://hooks.example.com/x", "http://93.184.216.34/x", rc.URL} {
		err := prod.Send(ctx, Webhook{URL: u, Secret: testSecret}, testNotice())
		wantCode(t, err, vigil.EINVALID)
	}
	if got := len(rc.requests()); got != 0 {
		t.Fatalf("plain-http receiver got %d requests", got)
	}

	// With AllowPrivate the same loopback receiver is reached over http.
	if err := testSender().Send(ctx, Webhook{URL: rc.URL, Secret: testSecret}, testNotice()); err != nil {
		t.Fatalf("AllowPrivate: %v", err)
	}
}

func TestPublicAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.255", "192.168.1.1",
		"169.254.169.254", "0.0.0.0", "0.1.2.3", "100.64.0.1", "100.100.100.200", "192.0.0.170",
		"198.18.0.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255", "192.0.2.1",
		"::", "::1", "fc00::1", "fd00:ec2::254", "fe80::1", "fe80::1%eth0", "ff02::1", "ff05::2",
		"::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254", "::127.0.0.1",
		"64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
		"2001::1", "2001:db8::1", "fec0::1", "100::1",
	}
	for _, s := range blocked {
		if publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("publicAddr(%s) = true", s)
		}
	}
	public := []string{
		"8.8.8.8", "1.1.1.1", "93.184.216.34", "172.32.0.1", "100.128.0.1", "::ffff:8.8.8.8",
		"2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "64:ff9b::808:808", "2002:808:808::1",
	}
	for _, s := range public {
		if !publicAddr(netip.MustParseAddr(s)) {
			t.Errorf("publicAddr(%s) = false", s)
		}
	}
	if publicAddr(netip.Addr{}) {
		t.Error("publicAddr(zero) = true")
	}
	for _, tt := range []struct {
		network, addr string
		ok            bool
	}{
		{"tcp4", "93.184.216.34:443", true},
		{"tcp6", "[2606:4700:4700::1111]:443", true},
		{"tcp4", "127.0.0.1:443", false},
		{"tcp6", "[::1]:443", false},
		{"tcp6", "[::ffff:10.1.2.3]:443", false},
		{"udp4", "93.184.216.34:53", false},
		{"tcp4", "not-an-address", false},
	} {
		err := guardControl(tt.network, tt.addr, nil)
		if (err == nil) != tt.ok {
			t.Errorf("guardControl(%s, %s) = %v", tt.network, tt.addr, err)
		}
		if err != nil && !errors.Is(err, errBlockedAddress) {
			t.Errorf("guardControl error %v does not wrap errBlockedAddress", err)
		}
	}
}

func TestWebhookValidate(t *testing.T) {
	good := Webhook{URL: "https://hooks.example.com/vigil", Secret: testSecret}
	if err := good.Validate(false); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	bad := []Webhook{
		{URL: "", Secret: testSecret},
		{URL: "https://hooks.example.com/" + strings.Repeat("a", 2048), Secret: testSecret},
		{URL: "hooks.example.com/vigil", Secret: testSecret},
		{URL: "ftp://hooks.example.com/", Secret: testSecret},
		{URL: "https:///path", Secret: testSecret},
		{URL: "https://user:pw@hooks.example.com/", Secret: testSecret},
		{URL: "https://hooks.example.com/%zz", Secret: testSecret},
		{URL: "https://hooks.example.com/", Secret: nil},
		{URL: "https://hooks.example.com/", Secret: []byte("short")},
		{URL: "https://hooks.example.com/", Secret: testSecret, PreviousSecret: []byte("short")},
		{URL: "https://hooks.example.com/", Secret: testSecret, Format: "xml"},
		{URL: "https://192.168.0.1/", Secret: testSecret},
	}
	for _, h := range bad {
		err := h.Validate(false)
		wantCode(t, err, vigil.EINVALID)
		// Nothing reaches the network.
		err = NewWebhookSender(WebhookConfig{}).Send(context.Background(), h, testNotice())
		wantCode(t, err, vigil.EINVALID)
	}
	n := testNotice()
	n.At = time.Time{}
	wantCode(t, NewWebhookSender(WebhookConfig{}).Send(context.Background(), good, n), vigil.EINVALID)
	if err := (Webhook{URL: "http://192.168.0.1/", Secret: testSecret}).Validate(true); err != nil {
		t.Fatalf("Validate(allowPrivate): %v", err)
	}
}

func TestWebhookRedacted(t *testing.T) {
	h := Webhook{URL: "https://hooks.slack.com/services/T0/B0/slacksecretpath?x=querysecret", Secret: testSecret, PreviousSecret: testOldSecret}
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("hook", "hook", h, "secret", h.Secret)
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("hook", "hook", h, "secret", h.Secret)
	outs := []string{h.String(), fmt.Sprint(h), logged.String()}
	// Webhook (whose field Format rules out a Format method) is redacted
	// by String and GoString, which serve these verbs; the secrets
	// themselves are redacted under every verb.
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, h), fmt.Sprintf(verb, &h))
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%o"} {
		outs = append(outs, fmt.Sprintf(verb, h.Secret), fmt.Sprintf(verb, h.PreviousSecret))
	}
	for _, out := range outs {
		for _, s := range []string{"slacksecretpath", "querysecret", string(testSecret), string(testOldSecret), fmt.Sprintf("%x", string(testSecret))} {
			if strings.Contains(out, s) {
				t.Fatalf("%q printed %q", out, s)
			}
		}
	}
	if !strings.Contains(h.String(), "hooks.slack.com") {
		t.Fatalf("String hides the host too: %s", h)
	}
	if _, err := json.Marshal(h); err == nil {
		t.Fatal("a Webhook with its secret was marshalled to JSON")
	}
}

func TestWebhookTimeout(t *testing.T) {
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(slow.Close)
	t.Cleanup(func() { close(release) })
	s := NewWebhookSender(WebhookConfig{AllowPrivate: true, Timeout: 50 * time.Millisecond})
	err := s.Send(context.Background(), Webhook{URL: slow.URL, Secret: testSecret}, testNotice())
	wantCode(t, err, vigil.EUNAVAILABLE)
	if IsPermanent(err) {
		t.Fatalf("timeout is permanent: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err = testSender().Send(ctx, Webhook{URL: slow.URL, Secret: testSecret}, testNotice())
	wantCode(t, err, vigil.EUNAVAILABLE)
}

func TestWebhookHugeResponse(t *testing.T) {
	// A receiver that streams an endless body does not hold the sender:
	// it reads 64 KiB and hangs up.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		for range 4096 { // at most 128 MiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	if err := testSender().Send(context.Background(), Webhook{URL: srv.URL, Secret: testSecret}, testNotice()); err != nil {
		t.Fatalf("Send: %v", err)
	}
}

// countingReader is an endless reader that counts the bytes it returns.
type countingReader struct{ n int }

func (r *countingReader) Read(p []byte) (int, error) {
	r.n += len(p)
	return len(p), nil
}

func TestDrainIsBounded(t *testing.T) {
	r := &countingReader{}
	drain(r)
	if r.n != maxDrain {
		t.Fatalf("drain read %d bytes, want %d", r.n, maxDrain)
	}
	drain(io.LimitReader(r, 10)) // a short body ends early
}
