package httpapi_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/mail"
)

func mails(t *testing.T, e *env) []*mail.Received {
	t.Helper()
	m, err := mail.ReadDir(e.MailDir)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Signing up with a registered address answers exactly like a new one;
// the owner gets a notice instead of a code, and nothing changes.
func TestSignupDoesNotRevealRegisteredAddresses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		before := len(mails(t, e))

		fresh := e.do("POST", "/v1/accounts", "", map[string]string{"username": "newbie", "email": "newbie@example.com", "password": testPassword})
		taken := e.do("POST", "/v1/accounts", "", map[string]string{"username": "mallory", "email": alice.Email, "password": testPassword})
		fresh.expect(t, http.StatusAccepted)
		taken.expect(t, http.StatusAccepted)
		if string(fresh.Body) != string(taken.Body) || fresh.Header.Get("Content-Type") != taken.Header.Get("Content-Type") {
			t.Fatalf("answers differ: %s vs %s", fresh.Body, taken.Body)
		}
		ms := mails(t, e)
		if len(ms) != before+2 {
			t.Fatalf("%d new mails, want 2", len(ms)-before)
		}
		var notice *mail.Received
		for _, m := range ms[before:] {
			if m.To == alice.Email {
				notice = m
			}
		}
		if notice == nil || strings.Contains(notice.Text, "verification code is") || !strings.Contains(notice.Subject, "tried to sign up") {
			t.Fatalf("owner's notice = %+v", notice)
		}
		if !strings.Contains(notice.Text, "never asks for your password") {
			t.Fatal("notice lacks the anti-phishing line")
		}
		// Its code is listed in the owner's notices.
		code := notice.Header.Get("X-Vigil-Notice-Code")
		found := false
		for _, it := range e.do("GET", "/v1/me/notifications", alice.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
			found = found || it.(map[string]any)["code"] == code && it.(map[string]any)["kind"] == "signup_attempt"
		}
		if code == "" || !strings.Contains(notice.Text, code) || !found {
			t.Fatalf("the notice mail's code %q is not among alice's notices", code)
		}
		// Public metrics count both answers alike.
		m := string(e.do("GET", "/metrics", "", nil).expect(t, http.StatusOK).Body)
		if !strings.Contains(m, `vigil_signups_total{result="accepted"} 3`) || strings.Contains(m, "registered") {
			t.Fatalf("sign-up metrics tell registered addresses apart:\n%s", grepLines(m, "vigil_signups_total"))
		}
		// Alice's account is untouched: her password still works, the
		// intruder's does not.
		e.login(alice.Email, alice.Password)
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": alice.Email, "password": testPassword}).
			expect(t, http.StatusUnauthorized)
		// No code was issued for her address, so no code can verify it.
		e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": alice.Email, "code": "000000"}).
			expect(t, http.StatusBadRequest)
	})
}

func TestSignupRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		e.signup("alice")
		cases := []struct {
			name   string
			body   map[string]string
			status int
			detail string
		}{
			{"taken username", map[string]string{"username": "Alice", "email": "x@example.com", "password": testPassword}, 409, "username is taken"},
			{"short password", map[string]string{"username": "zed", "email": "z@example.com", "password": "fourteen chars"}, 400, "at least 15"},
			{"common password", map[string]string{"username": "zed", "email": "z@example.com", "password": "passwordpassword"}, 400, ""},
			{"password has username", map[string]string{"username": "zedekiah", "email": "z@example.com", "password": "zedekiah's long password"}, 400, ""},
			{"bad email", map[string]string{"username": "zed", "email": "not an email", "password": testPassword}, 400, "email"},
			{"display-name email", map[string]string{"username": "zed", "email": "Zed <z@example.com>", "password": testPassword}, 400, "email"},
			{"bad username", map[string]string{"username": "z", "email": "z@example.com", "password": testPassword}, 400, "username"},
			{"bad phone", map[string]string{"username": "zed", "email": "z@example.com", "password": testPassword, "phone": "555-1234"}, 400, "E.164"},
		}
		for _, c := range cases {
			before := len(mails(t, e))
			r := e.do("POST", "/v1/accounts", "", c.body)
			if r.Status != c.status || !strings.Contains(r.JSON(t)["detail"].(string), c.detail) {
				t.Errorf("%s: %d %s", c.name, r.Status, r.Body)
			}
			if len(mails(t, e)) != before {
				t.Errorf("%s: a refused sign-up sent mail", c.name)
			}
		}
		// 64 characters and more are accepted (NIST: at least 64).
		long := strings.Repeat("long passphrase ", 16) // 256 characters
		e.do("POST", "/v1/accounts", "", map[string]string{"username": "longpw", "email": "l@example.com", "password": long}).
			expect(t, http.StatusAccepted)
	})
}

// A verification code works once, not after expiry, not for another
// address, and not after too many wrong guesses.
func TestVerificationCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		body := func(name string) map[string]string {
			return map[string]string{"username": name, "email": name + "@example.com", "password": testPassword}
		}
		// Wrong guesses void the signup, even for the right code afterwards.
		e.do("POST", "/v1/accounts", "", body("guessed")).expect(t, http.StatusAccepted)
		code := e.mailCode("guessed@example.com")
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		for i := 0; i < e.Service.Config().SignupMaxAttempts; i++ {
			e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "guessed@example.com", "code": wrong}).
				expect(t, http.StatusBadRequest)
		}
		e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "guessed@example.com", "code": code}).
			expect(t, http.StatusBadRequest)

		// Expiry.
		e.do("POST", "/v1/accounts", "", body("late")).expect(t, http.StatusAccepted)
		code = e.mailCode("late@example.com")
		e.Clock.Advance(e.Service.Config().SignupCodeTTL + 1e9)
		e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "late@example.com", "code": code}).
			expect(t, http.StatusBadRequest)

		// Another address's code does not work; the right one works once.
		e.do("POST", "/v1/accounts", "", body("one")).expect(t, http.StatusAccepted)
		e.do("POST", "/v1/accounts", "", body("two")).expect(t, http.StatusAccepted)
		c1 := e.mailCode("one@example.com")
		if c1 != e.mailCode("two@example.com") {
			e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "two@example.com", "code": c1}).
				expect(t, http.StatusBadRequest)
		}
		e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "one@example.com", "code": c1}).
			expect(t, http.StatusCreated)
		e.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "one@example.com", "code": c1}).
			expect(t, http.StatusBadRequest)
	})
}

// Nobody can flood an inbox through sign-up: mails to one address are
// capped, while the answer stays 202.
func TestSignupMailFloodCapped(t *testing.T) {
	e := newEnv(t, "sqlite")
	limit := e.Service.Config().SignupMailLimit.Burst
	for i := 0; i < limit+5; i++ {
		e.do("POST", "/v1/accounts", "", map[string]string{"username": "victim", "email": "victim@example.com", "password": testPassword}).
			expect(t, http.StatusAccepted)
	}
	if n := len(mails(t, e)); n != limit {
		t.Fatalf("%d mails reached the victim, want the cap of %d", n, limit)
	}
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
