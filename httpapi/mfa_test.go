package httpapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"image/png"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/totp"
)

// enableTOTP turns 2FA on for u and returns the secret and recovery codes.
func (e *env) enableTOTP(u *user) (string, []string) {
	e.t.Helper()
	en := e.do("POST", "/v1/me/mfa/totp", u.Token, nil).expect(e.t, http.StatusOK).JSON(e.t)
	secret := en["secret"].(string)
	code, err := totp.Code(secret, e.Clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	rc := e.do("POST", "/v1/me/mfa/totp/confirm", u.Token, map[string]string{"code": code}).expect(e.t, http.StatusOK).JSON(e.t)
	var codes []string
	for _, c := range rc["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	return secret, codes
}

// mfaLogin signs in with password and second factor; it returns the
// mfa-required answer's challenge and the final answer.
func (e *env) mfaLogin(u *user, pw, code string) *response {
	e.t.Helper()
	r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": u.Username, "password": pw}).expect(e.t, http.StatusUnauthorized)
	p := r.JSON(e.t)
	if p["type"] != httpapi.ProblemTypePrefix+"mfa-required" || p["challenge"] == nil {
		e.t.Fatalf("sign-in with 2FA answered %s", r.Body)
	}
	res := e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": p["challenge"].(string), "code": code})
	if res.Status == http.StatusCreated {
		e.mu.Lock()
		e.tokens[res.JSON(e.t)["token"].(string)] = res
		e.mu.Unlock()
	}
	return res
}

func TestTOTP(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		en := e.do("POST", "/v1/me/mfa/totp", a.Token, nil).expect(t, http.StatusOK).JSON(t)
		secret := en["secret"].(string)
		if !strings.HasPrefix(en["otpauth_uri"].(string), "otpauth://totp/vigil:alice?") {
			t.Fatalf("uri = %v", en["otpauth_uri"])
		}
		img, err := base64.StdEncoding.DecodeString(en["qr_png"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := png.Decode(bytes.NewReader(img)); err != nil {
			t.Fatalf("qr_png is not a PNG: %v", err)
		}
		// Sealed at rest: the stored secret is not the secret.
		stored, err := e.Store.RawQuery(t.Context(), "SELECT hex(secret) FROM mfa_totp")
		if backend == "postgres" {
			stored, err = e.Store.RawQuery(t.Context(), "SELECT encode(secret, 'hex') FROM mfa_totp")
		}
		if err != nil || len(stored) != 1 || len(stored[0]) < 2*len(secret) ||
			strings.Contains(strings.ToLower(stored[0]), hex.EncodeToString([]byte(secret))) {
			t.Fatalf("stored secret is not sealed: %v %v", stored, err)
		}

		r := e.do("POST", "/v1/me/mfa/totp/confirm", a.Token, map[string]string{"code": "000000"})
		if c, _ := totp.Code(secret, e.Clock.Now()); c != "000000" {
			r.expect(t, http.StatusForbidden)
		}
		code, _ := totp.Code(secret, e.Clock.Now())
		rc := e.do("POST", "/v1/me/mfa/totp/confirm", a.Token, map[string]string{"code": code}).expect(t, http.StatusOK).JSON(t)
		codes := rc["recovery_codes"].([]any)
		if len(codes) != 10 {
			t.Fatalf("%d recovery codes", len(codes))
		}
		if e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK).JSON(t)["mfa_enabled"] != true {
			t.Fatal("mfa_enabled not shown")
		}

		// The confirming code was spent: the same step does not sign in.
		e.mfaLogin(a, a.Password, code).expect(t, http.StatusForbidden)
		e.Clock.Advance(30 * time.Second)
		next, _ := totp.Code(secret, e.Clock.Now())
		e.mfaLogin(a, a.Password, next).expect(t, http.StatusCreated)
		e.mfaLogin(a, a.Password, next).expect(t, http.StatusForbidden) // replay
		// A recovery code works once, typed loosely.
		rec := strings.ToUpper(strings.ReplaceAll(codes[0].(string), "-", " "))
		e.mfaLogin(a, a.Password, rec).expect(t, http.StatusCreated)
		e.mfaLogin(a, a.Password, rec).expect(t, http.StatusForbidden)
		// A wrong password never gets to the second step.
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": "wrong password here"}).
			expect(t, http.StatusUnauthorized)
	})
}

func TestMFAChallengeLimits(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	secret, _ := e.enableTOTP(a)
	r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": a.Password}).expect(t, http.StatusUnauthorized)
	ch := r.JSON(t)["challenge"].(string)
	for i := 0; i < e.Service.Config().MFAChallengeAttempts; i++ {
		e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": ch, "code": "recovery-xx"}).expect(t, http.StatusForbidden)
	}
	e.Clock.Advance(30 * time.Second)
	good, _ := totp.Code(secret, e.Clock.Now())
	e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": ch, "code": good}).expect(t, http.StatusUnauthorized)
	// Expired challenge.
	r = e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": a.Password}).expect(t, http.StatusUnauthorized)
	ch = r.JSON(t)["challenge"].(string)
	e.Clock.Advance(e.Service.Config().MFAChallengeTTL + time.Second)
	good, _ = totp.Code(secret, e.Clock.Now())
	e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": ch, "code": good}).expect(t, http.StatusUnauthorized)
	e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": "garbage", "code": good}).expect(t, http.StatusUnauthorized)
}

// With 2FA, a stolen reset link alone takes no account.
func TestResetNeedsSecondFactor(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	secret, _ := e.enableTOTP(a)
	tok := e.resetToken("alice", a.Email)
	r := e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": "attacker's chosen passphrase"}).
		expect(t, http.StatusForbidden)
	if r.JSON(t)["type"] != httpapi.ProblemTypePrefix+"mfa-required" {
		t.Fatalf("problem = %s", r.Body)
	}
	e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": "attacker's chosen passphrase", "mfa_code": "123456"}).
		expect(t, http.StatusForbidden)
	e.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(secret, e.Clock.Now())
	e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": "owner's new passphrase", "mfa_code": code}).
		expect(t, http.StatusNoContent)
}

func TestDisableTOTP(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	secret, codes := e.enableTOTP(a)
	e.Clock.Advance(30 * time.Second)
	code, _ := totp.Code(secret, e.Clock.Now())
	e.do("DELETE", "/v1/me/mfa/totp", a.Token, map[string]string{"password": "wrong password here", "code": code}).expect(t, http.StatusForbidden)
	e.do("DELETE", "/v1/me/mfa/totp", a.Token, map[string]string{"password": a.Password, "code": "000000x"}).expect(t, http.StatusForbidden)
	e.do("DELETE", "/v1/me/mfa/totp", a.Token, map[string]string{"password": a.Password, "code": codes[1]}).expect(t, http.StatusNoContent)
	if e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK).JSON(t)["mfa_enabled"] != false {
		t.Fatal("still on")
	}
	e.login("alice", a.Password) // one step again
	// Enrolling needs a recent sign-in.
	e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
	r := e.do("POST", "/v1/me/mfa/totp", a.Token, nil).expect(t, http.StatusForbidden)
	if r.JSON(t)["type"] != httpapi.ProblemTypePrefix+"reauth-required" {
		t.Fatalf("problem = %s", r.Body)
	}
	e.flush()
	kinds := ""
	for _, it := range e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
		kinds += it.(map[string]any)["kind"].(string) + " "
	}
	if !strings.Contains(kinds, "mfa_disabled") || !strings.Contains(kinds, "mfa_enabled") {
		t.Fatalf("notices: %s", kinds)
	}
}

// With 2FA, a current code re-authenticates as well as the password.
func TestReauthWithCode(t *testing.T) {
	e := newEnv(t, "sqlite")
	a := e.signup("alice")
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"code": "123456"}).expect(t, http.StatusBadRequest) // no 2FA yet
	secret, _ := e.enableTOTP(a)
	e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
	e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusForbidden)
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{}).expect(t, http.StatusBadRequest)
	code, _ := totp.Code(secret, e.Clock.Now())
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"code": code, "password": a.Password}).expect(t, http.StatusBadRequest)
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"code": code}).expect(t, http.StatusNoContent)
	e.do("POST", "/v1/sessions/current/reauth", a.Token, map[string]string{"code": code}).expect(t, http.StatusForbidden) // replay
	e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusOK)
}
