package httpapi_test

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/notify"
)

var undoLinkRE = regexp.MustCompile(`/email-undo\?token=(\S+)`)

// Changing the email address: a recent sign-in, a code to the new
// address, a notice with an undo link to the old one, and the undo moves
// the account back and signs everyone out.
func TestEmailChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		b := e.signup("bob")
		// An address of another account: the same answer, a notice to its
		// owner, no code.
		e.do("POST", "/v1/me/email", a.Token, map[string]string{"email": b.Email}).expect(t, http.StatusAccepted)
		if last := mails(t, e)[len(mails(t, e))-1]; last.To != b.Email || strings.Contains(last.Text, "verification code") {
			t.Fatalf("mail to the taken address: %s", last.Text)
		}
		e.do("POST", "/v1/me/email", a.Token, map[string]string{"email": a.Email}).expect(t, http.StatusBadRequest)
		e.do("POST", "/v1/me/email", a.Token, map[string]string{"email": "alice.new@example.com"}).expect(t, http.StatusAccepted)
		code := e.mailCode("alice.new@example.com")
		// The verification mail's notice code is listed; the code itself is not.
		vm := mails(t, e)[len(mails(t, e))-1]
		listed := string(e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).Body)
		if nc := vm.Header.Get("X-Vigil-Notice-Code"); nc == "" || !strings.Contains(listed, nc) || strings.Contains(listed, "code is: "+code) {
			t.Fatalf("verification mail notice code %q vs notices %s", nc, listed)
		}
		wrong := "000000"
		if code == wrong {
			wrong = "111111"
		}
		e.do("POST", "/v1/me/email/confirm", a.Token, map[string]string{"code": wrong}).expect(t, http.StatusBadRequest)
		e.Clock.Advance(time.Second)
		e.do("POST", "/v1/me/email/confirm", a.Token, map[string]string{"code": code}).expect(t, http.StatusNoContent)
		me := e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK).JSON(t)
		if me["email"] != "alice.new@example.com" || me["email_verified"] != true {
			t.Fatalf("me = %v", me)
		}
		e.login("alice.new@example.com", a.Password)
		e.do("POST", "/v1/me/email/confirm", a.Token, map[string]string{"code": code}).expect(t, http.StatusBadRequest) // used

		// The old address got the undo link and the notice code.
		var undo, noticeCode string
		for _, m := range mails(t, e) {
			if m.To == a.Email && m.Subject == "Your email address was changed" {
				undo = undoLinkRE.FindStringSubmatch(m.Text)[1]
				noticeCode = m.Header.Get("X-Vigil-Notice-Code")
			}
		}
		if undo == "" || noticeCode == "" {
			t.Fatal("no undo mail to the old address")
		}
		tok, _ := url.QueryUnescape(undo)
		e.mu.Lock()
		e.secrets = append(e.secrets, tok)
		e.mu.Unlock()
		items := e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if items[0].(map[string]any)["kind"] != "email_changed" || items[0].(map[string]any)["code"] != noticeCode {
			t.Fatalf("newest notice %v, want email_changed with %s", items[0], noticeCode)
		}
		// The page behind the link, then the undo itself.
		page := e.do("GET", "/email-undo?token="+undo, "", nil).expect(t, http.StatusOK)
		if !strings.Contains(string(page.Body), `<form method="post" action="/email-undo">`) {
			t.Fatalf("page: %s", page.Body)
		}
		e.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": tok}).expect(t, http.StatusNoContent)
		wantUnauthenticated(t, e.do("GET", "/v1/me", a.Token, nil), "session after an undo")
		tok2, _ := e.login(a.Email, a.Password)
		if got := e.do("GET", "/v1/me", tok2, nil).expect(t, http.StatusOK).JSON(t)["email"]; got != a.Email {
			t.Fatalf("email after undo = %v", got)
		}
		e.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": tok}).expect(t, http.StatusBadRequest) // once
	})
}

func TestEmailChangeRules(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	// A stale session cannot start a change.
	e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
	e.do("POST", "/v1/me/email", a.Token, map[string]string{"email": "x@example.com"}).expect(t, http.StatusForbidden)
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"password": a.Password}).expect(t, http.StatusNoContent)
	e.do("POST", "/v1/me/email", a.Token, map[string]string{"email": "x@example.com"}).expect(t, http.StatusAccepted)
	code := e.mailCode("x@example.com")
	// Expiry.
	e.Clock.Advance(e.Service.Config().SignupCodeTTL + time.Second)
	e.do("POST", "/v1/me/email/confirm", a.Token, map[string]string{"code": code}).expect(t, http.StatusBadRequest)
	// Undo links expire.
	e.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": "garbage"}).expect(t, http.StatusBadRequest)
}

var smsCodeRE = regexp.MustCompile(`Your code is (\d{6})`)

// smsCode returns the newest code sent by SMS to phone.
func (e *env) smsCode(phone string) string {
	e.t.Helper()
	msgs, err := notify.ReadSMSDir(e.SMSDir)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if m := smsCodeRE.FindStringSubmatch(msgs[i].Body); msgs[i].To == phone && m != nil {
			e.mu.Lock()
			e.codes = append(e.codes, m[1])
			e.mu.Unlock()
			return m[1]
		}
	}
	e.t.Fatalf("no code sent to %s", phone)
	return ""
}

// A phone number is verified by a code sent to it; then, and only then,
// it can receive SMS alerts, and a change tells the previous number.
func TestPhoneChangeAndSMSAlerts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		sms := map[string][]string{"password_changed": {"mail", "sms"}}
		e.do("PUT", "/v1/me/alert-settings", a.Token, map[string]any{"channels": sms}).expect(t, http.StatusBadRequest)
		e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "555-1234"}).expect(t, http.StatusBadRequest)
		e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "+15550001111"}).expect(t, http.StatusAccepted)
		e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": "12345"}).expect(t, http.StatusBadRequest)
		e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": e.smsCode("+15550001111")}).expect(t, http.StatusNoContent)
		me := e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK).JSON(t)
		if me["phone"] != "+15550001111" || me["phone_verified"] != true {
			t.Fatalf("me = %v", me)
		}
		set := e.do("PUT", "/v1/me/alert-settings", a.Token, map[string]any{"channels": sms}).expect(t, http.StatusOK).JSON(t)
		if set["sms_available"] != true {
			t.Fatalf("settings = %v", set)
		}
		e.Clock.Advance(time.Second)
		e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": a.Password, "new_password": "a passphrase told by text"}).
			expect(t, http.StatusNoContent)
		e.flush()
		msgs, _ := notify.ReadSMSDir(e.SMSDir)
		last := msgs[len(msgs)-1]
		items := e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if last.To != "+15550001111" || last.Notice.Kind != "password_changed" || last.Notice.Code != items[0].(map[string]any)["code"] {
			t.Fatalf("SMS alert = %+v", last)
		}
		// A second number: the first is told.
		e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "+15550002222"}).expect(t, http.StatusAccepted)
		e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": e.smsCode("+15550002222")}).expect(t, http.StatusNoContent)
		msgs, _ = notify.ReadSMSDir(e.SMSDir)
		if last := msgs[len(msgs)-1]; last.To != "+15550001111" || last.Notice.Kind != "phone_changed" {
			t.Fatalf("the previous number was not told: %+v", last)
		}
	})
}

// The previous number can take a phone change back with the link texted
// to it.
func TestPhoneChangeUndo(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "+15550001111"}).expect(t, http.StatusAccepted)
	e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": e.smsCode("+15550001111")}).expect(t, http.StatusNoContent)
	e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "+15550002222"}).expect(t, http.StatusAccepted)
	e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": e.smsCode("+15550002222")}).expect(t, http.StatusNoContent)
	msgs, _ := notify.ReadSMSDir(e.SMSDir)
	m := undoLinkRE.FindStringSubmatch(msgs[len(msgs)-1].Body)
	if m == nil || msgs[len(msgs)-1].To != "+15550001111" {
		t.Fatalf("no undo link texted to the previous number: %+v", msgs[len(msgs)-1])
	}
	tok, _ := url.QueryUnescape(m[1])
	e.mu.Lock()
	e.secrets = append(e.secrets, tok)
	e.mu.Unlock()
	e.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": tok}).expect(t, http.StatusNoContent)
	wantUnauthenticated(t, e.do("GET", "/v1/me", a.Token, nil), "session after a phone undo")
	t2, _ := e.login("alice", a.Password)
	me := e.do("GET", "/v1/me", t2, nil).expect(t, http.StatusOK).JSON(t)
	if me["phone"] != "+15550001111" || me["phone_verified"] != true || me["email"] != a.Email {
		t.Fatalf("after undo: %v", me)
	}
}

// An owner who chose SMS for reset requests gets the link by SMS too.
func TestResetLinkBySMS(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	e.do("POST", "/v1/me/phone", a.Token, map[string]string{"phone": "+15550001111"}).expect(t, http.StatusAccepted)
	e.do("POST", "/v1/me/phone/confirm", a.Token, map[string]string{"code": e.smsCode("+15550001111")}).expect(t, http.StatusNoContent)
	e.do("PUT", "/v1/me/alert-settings", a.Token, map[string]any{"channels": map[string][]string{"reset_requested": {"mail", "sms"}}}).
		expect(t, http.StatusOK)
	mailed := e.resetToken("alice", a.Email)
	msgs, _ := notify.ReadSMSDir(e.SMSDir)
	last := msgs[len(msgs)-1]
	m := resetLinkRE.FindStringSubmatch(last.Body)
	if last.To != "+15550001111" || m == nil {
		t.Fatalf("no reset link by SMS: %+v", last)
	}
	if tok, _ := url.QueryUnescape(m[2]); tok != mailed {
		t.Fatal("the SMS and the mail carry different links")
	}
	if len(msgs) != 2 { // the code, and the link: not a second notice SMS
		t.Fatalf("%d SMS, want 2", len(msgs))
	}
}
