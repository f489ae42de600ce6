package httpapi_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/mail"
)

var resetLinkRE = regexp.MustCompile(`(http://\S+/password-reset\?token=)(\S+)`)

// resetToken asks for a reset of identifier, runs the worker, and returns
// the token of the newest reset mail to addr ("" if none arrived).
func (e *env) resetToken(identifier, addr string) string {
	e.t.Helper()
	e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": identifier}).expect(e.t, http.StatusAccepted)
	e.flush()
	msgs, err := mail.ReadDir(e.MailDir)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].To == addr && msgs[i].Subject == "Reset your password" {
			m := resetLinkRE.FindStringSubmatch(msgs[i].Text)
			if m == nil {
				e.t.Fatalf("reset mail without a link: %s", msgs[i].Text)
			}
			tok, _ := url.QueryUnescape(m[2])
			e.mu.Lock()
			e.secrets = append(e.secrets, tok)
			e.mu.Unlock()
			return tok
		}
	}
	return ""
}

func countResetMails(t *testing.T, e *env, addr string) int {
	n := 0
	for _, m := range mails(t, e) {
		if m.To == addr && m.Subject == "Reset your password" {
			n++
		}
	}
	return n
}

func TestPasswordReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a, b := e.signup("alice"), e.signup("bob")
		// Known and unknown identifiers: the same answer.
		known := e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": "alice"}).expect(t, http.StatusAccepted)
		unknown := e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": "nobody@example.com"}).expect(t, http.StatusAccepted)
		if string(known.Body) != string(unknown.Body) {
			t.Fatalf("answers differ: %s / %s", known.Body, unknown.Body)
		}
		e.flush()
		e.Clock.Advance(time.Second)
		first := e.resetToken(a.Email, a.Email) // a newer one voids the first
		if first == "" || countResetMails(t, e, a.Email) != 2 {
			t.Fatalf("reset mails = %d", countResetMails(t, e, a.Email))
		}
		msgs := mails(t, e)
		last := msgs[len(msgs)-1]
		if !strings.HasPrefix(resetLinkRE.FindStringSubmatch(last.Text)[1], "http://127.0.0.1:8080/") ||
			last.Header.Get("X-Vigil-Notice-Code") == "" || !strings.Contains(last.Text, "never asks for your password") {
			t.Fatalf("reset mail: %s", last.Text)
		}
		code := last.Header.Get("X-Vigil-Notice-Code")
		items := e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if items[0].(map[string]any)["code"] != code || items[0].(map[string]any)["kind"] != "reset_requested" {
			t.Fatalf("newest notice %v does not carry the mail's code %s", items[0], code)
		}

		// Completing the reset: every session ends, the old password dies.
		newPW := "a fresh passphrase after reset"
		other, _ := e.login(a.Username, a.Password)
		e.Clock.Advance(time.Second) // notices of one instant have no order
		e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": first, "new_password": newPW}).
			expect(t, http.StatusNoContent)
		wantUnauthenticated(t, e.do("GET", "/v1/me", a.Token, nil), "session after a reset")
		wantUnauthenticated(t, e.do("GET", "/v1/me", other, nil), "other session after a reset")
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": a.Password}).expect(t, http.StatusUnauthorized)
		tok, _ := e.login("alice", newPW)
		// Replay: the token works once.
		e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": first, "new_password": "yet another passphrase"}).
			expect(t, http.StatusBadRequest)
		// Bob is untouched.
		e.login("bob", b.Password)
		e.flush()
		kinds := ""
		for _, it := range e.do("GET", "/v1/me/notifications", tok, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
			kinds += it.(map[string]any)["kind"].(string) + " "
		}
		if !strings.HasPrefix(kinds, "reset_completed") {
			t.Fatalf("notices: %s", kinds)
		}
	})
}

func TestResetTokenRules(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	e.signup("bob")
	confirm := func(tok string) *response {
		return e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": "a fresh passphrase after reset"})
	}
	// An older token is void once a newer one is issued.
	older := e.resetToken("alice", a.Email)
	newer := e.resetToken("alice", a.Email)
	confirm(older).expect(t, http.StatusBadRequest)
	// Expiry.
	e.Clock.Advance(e.Service.Config().ResetTTL + time.Second)
	confirm(newer).expect(t, http.StatusBadRequest)
	// A password change voids an outstanding token.
	e.Clock.Advance(time.Hour) // past the hourly cap
	tok, _ := e.login("alice", a.Password)
	live := e.resetToken("alice", a.Email)
	if live == "" {
		t.Fatal("no reset mail after the cap's hour")
	}
	e.do("PUT", "/v1/me/password", tok, map[string]string{"current_password": a.Password, "new_password": "changed by the owner meanwhile"}).
		expect(t, http.StatusNoContent)
	confirm(live).expect(t, http.StatusBadRequest)
	// Garbage.
	for _, bad := range []string{"", "x", strings.Repeat("A", 43), strings.Repeat("A", 5000)} {
		if r := confirm(bad); r.Status != http.StatusBadRequest {
			t.Fatalf("token %.10q: %d", bad, r.Status)
		}
	}
	// A new password that breaks the policy leaves the token usable.
	e.Clock.Advance(time.Hour)
	fresh := e.resetToken("alice", a.Email)
	e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": fresh, "new_password": "short"}).expect(t, http.StatusBadRequest)
	confirm(fresh).expect(t, http.StatusNoContent)
}

// Nobody can flood a victim with reset mails: three an hour per account,
// and the answer stays 202 throughout.
func TestResetMailFloodCapped(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	for i := 0; i < 10; i++ {
		e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": a.Email}).expect(t, http.StatusAccepted)
	}
	e.flush()
	if n := countResetMails(t, e, a.Email); n != e.Service.Config().ResetsPerHour {
		t.Fatalf("%d reset mails, want the cap of %d", n, e.Service.Config().ResetsPerHour)
	}
	// Per source too: past the source limit requests are dropped, still 202.
	limit := e.Service.Config().ResetSourceLimit.Burst
	for i := 0; i < limit+5; i++ {
		e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": "someone" + string(rune('a'+i%26))}).
			expect(t, http.StatusAccepted)
	}
}

// The page behind the link works without script: a form that posts back.
func TestResetPage(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	tok := e.resetToken("alice", a.Email)
	page := e.do("GET", "/password-reset?token="+url.QueryEscape(tok), "", nil).expect(t, http.StatusOK)
	body := string(page.Body)
	if !strings.Contains(page.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, `<form method="post" action="/password-reset">`) ||
		strings.Contains(body, "<script") || page.Header.Get("Referrer-Policy") != "no-referrer" {
		t.Fatalf("page: %s", body)
	}
	post := func(form url.Values) *response {
		req, _ := http.NewRequest("POST", e.URL+"/password-reset", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b := make([]byte, 1<<16)
		n, _ := res.Body.Read(b)
		return &response{Status: res.StatusCode, Header: res.Header, Body: b[:n]}
	}
	if r := post(url.Values{"token": {tok}, "new_password": {"short"}}); r.Status != http.StatusBadRequest || !strings.Contains(string(r.Body), "at least 15") {
		t.Fatalf("weak password: %d %s", r.Status, r.Body)
	}
	if r := post(url.Values{"token": {tok}, "new_password": {"a new passphrase from the page"}}); r.Status != http.StatusOK || !strings.Contains(string(r.Body), "was changed") {
		t.Fatalf("reset by page: %d %s", r.Status, r.Body)
	}
	e.login("alice", "a new passphrase from the page")
	if r := post(url.Values{"token": {tok}, "new_password": {"a second try with it"}}); r.Status != http.StatusBadRequest || strings.Contains(string(r.Body), "<form") {
		t.Fatalf("replayed link: %d %s", r.Status, r.Body)
	}
	// The token appears in no log line.
	if strings.Contains(e.Logs.String(), tok) {
		t.Fatal("a reset token reached the logs")
	}
}

// Reset requests (which hold the identifier asked for) and other
// delivered outbox rows do not stay forever.
func TestSweepPurgesOldOutbox(t *testing.T) {
	e := newEnv(t, "sqlite")
	e.signup("alice")
	e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": "someone@example.com"}).expect(t, http.StatusAccepted)
	e.flush()
	count := func() int {
		rows, err := e.Store.RawQuery(t.Context(), "SELECT id FROM outbox")
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	if count() == 0 {
		t.Fatal("no outbox rows to purge; the test would prove nothing")
	}
	if err := e.Service.Sweep(t.Context()); err != nil || count() == 0 {
		t.Fatalf("fresh rows purged (%v)", err)
	}
	e.Clock.Advance(31 * 24 * time.Hour)
	if err := e.Service.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 0 {
		t.Fatalf("%d outbox rows left after the retention period", n)
	}
}
