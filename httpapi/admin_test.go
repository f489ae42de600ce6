package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/totp"
)

// admin signs up name, grants it the admin role, turns on 2FA and signs in
// with it; Token is then an admin session that passed a second factor.
func (e *env) admin(name string) *user {
	e.t.Helper()
	u := e.signup(name)
	if err := e.Store.SetRoles(context.Background(), u.ID, []string{vigil.RoleAdmin}); err != nil {
		e.t.Fatal(err)
	}
	secret, _ := e.enableTOTP(u) // also drops the cached account, roles included
	e.Clock.Advance(31 * time.Second)
	code, err := totp.Code(secret, e.Clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.mfaLogin(u, u.Password, code).expect(e.t, http.StatusCreated).JSON(e.t)
	u.Token, u.SessionID = r["token"].(string), r["session_id"].(string)
	return u
}

func problemType(tb testing.TB, r *response) string {
	tb.Helper()
	t, _ := r.JSON(tb)["type"].(string)
	return strings.TrimPrefix(t, httpapi.ProblemTypePrefix)
}

func TestAdminAccess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		plain := e.signup("plain")
		e.do("GET", "/admin/v1/incidents", "", nil).expect(t, http.StatusUnauthorized)
		e.do("GET", "/admin/v1/incidents", plain.Token, nil).expect(t, http.StatusForbidden)

		// The role without a second factor is not enough.
		half := e.signup("halfadmin")
		if err := e.Store.SetRoles(context.Background(), half.ID, []string{vigil.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(2 * time.Second) // past the read cache's lifetime
		tok, _ := e.login(half.Username, half.Password)
		r := e.do("GET", "/admin/v1/incidents", tok, nil).expect(t, http.StatusForbidden)
		if got := problemType(t, r); got != "mfa-required" {
			t.Fatalf("problem type = %q, want mfa-required", got)
		}
		// Nor is 2FA turned on from a session that did not pass it.
		e.enableTOTP(half)
		e.do("GET", "/admin/v1/incidents", half.Token, nil).expect(t, http.StatusForbidden)

		adm := e.admin("root")
		e.do("GET", "/admin/v1/incidents", adm.Token, nil).expect(t, http.StatusOK)
		e.do("GET", "/admin/v1/revocations", adm.Token, nil).expect(t, http.StatusOK)
		e.do("GET", "/admin/v1/security-events", adm.Token, nil).expect(t, http.StatusOK)
	})
}

func TestRevocationByCutoff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a, b := e.signup("anna"), e.signup("bert")
		e.Clock.Advance(time.Minute)
		cutoff := e.Clock.Now()
		e.Clock.Advance(time.Minute)
		adm := e.admin("root") // signed in after the cutoff

		r := e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"sessions"}, "issued_before": cutoff, "reason": "session store leaked",
		}).expect(t, http.StatusCreated).JSON(t)
		if r["all_users"] != true || r["id"] == "" {
			t.Fatalf("revocation = %v", r)
		}
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusUnauthorized)
		e.do("GET", "/v1/me", b.Token, nil).expect(t, http.StatusUnauthorized)
		e.do("GET", "/admin/v1/incidents", adm.Token, nil).expect(t, http.StatusOK) // issued after the cutoff

		// New sign-ins are not affected.
		tok, _ := e.login(a.Username, a.Password)
		e.do("GET", "/v1/me", tok, nil).expect(t, http.StatusOK)

		list := e.do("GET", "/admin/v1/revocations", adm.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if len(list) != 1 {
			t.Fatalf("revocations = %v", list)
		}
	})
}

func TestRevocationForListedAccounts(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a, b := e.signup("anna"), e.signup("bert")
		e.Clock.Advance(time.Second)
		adm := e.admin("root")
		e.Clock.Advance(time.Second)
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"sessions"}, "user_ids": []string{a.ID}, "reason": "phished",
		}).expect(t, http.StatusCreated)
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusUnauthorized)
		e.do("GET", "/v1/me", b.Token, nil).expect(t, http.StatusOK)
		e.do("GET", "/admin/v1/incidents", adm.Token, nil).expect(t, http.StatusOK)
	})
}

func TestRevocationOfResetTokensAndChallenges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		c := e.signup("carol")
		d := e.signup("dave")
		secret, _ := e.enableTOTP(d)
		resetTok := e.resetToken(c.Email, c.Email)
		r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": d.Username, "password": d.Password}).
			expect(t, http.StatusUnauthorized).JSON(t)
		challenge := r["challenge"].(string)

		e.Clock.Advance(time.Second)
		adm := e.admin("root")
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"reset_tokens", "mfa_challenges"}, "reason": "reset mail relay compromised",
		}).expect(t, http.StatusCreated)

		e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": resetTok, "new_password": "a whole new passphrase 42"}).
			expect(t, http.StatusBadRequest)
		code, _ := totp.Code(secret, e.Clock.Now())
		e.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": challenge, "code": code}).expect(t, http.StatusUnauthorized)
		// Sessions were not named: they live on.
		e.do("GET", "/v1/me", c.Token, nil).expect(t, http.StatusOK)
	})
}

func TestRevocationMustReset(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a, b, c := e.signup("anna"), e.signup("bert"), e.signup("carl")
		e.Clock.Advance(time.Second)
		adm := e.admin("root")
		e.Clock.Advance(time.Second)
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"sessions"}, "user_ids": []string{a.ID, b.ID}, "must_reset_password": true, "reason": "passwords leaked",
		}).expect(t, http.StatusCreated)

		r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": a.Username, "password": a.Password}).expect(t, http.StatusForbidden)
		if got := problemType(t, r); got != "password-reset-required" {
			t.Fatalf("problem type = %q", got)
		}
		// A wrong password still gets the ordinary answer: the refusal
		// tells nothing to whoever does not know the password.
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": a.Username, "password": "wrong wrong wrong"}).expect(t, http.StatusUnauthorized)

		tok := e.resetToken(a.Email, a.Email)
		e.Clock.Advance(time.Second)
		np := "a brand new passphrase, lilac sky"
		e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": np}).
			expect(t, http.StatusNoContent)
		e.login(a.Username, np)
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": b.Username, "password": b.Password}).expect(t, http.StatusForbidden)
		// An account not named signs in as before.
		e.login(c.Username, c.Password)
	})
}

func TestRevocationBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("anna")
		adm := e.admin("root")
		for name, body := range map[string]any{
			"unknown kind":     map[string]any{"kinds": []string{"cookies"}, "reason": "x"},
			"no kinds":         map[string]any{"kinds": []string{}, "reason": "x"},
			"no reason":        map[string]any{"kinds": []string{"sessions"}},
			"future cutoff":    map[string]any{"kinds": []string{"sessions"}, "reason": "x", "issued_before": e.Clock.Now().Add(time.Hour)},
			"unknown user":     map[string]any{"kinds": []string{"sessions"}, "reason": "x", "user_ids": []string{vigil.NewID()}},
			"malformed user":   map[string]any{"kinds": []string{"sessions"}, "reason": "x", "user_ids": []string{"1"}},
			"unknown field":    map[string]any{"kinds": []string{"sessions"}, "reason": "x", "everyone": true},
			"bad time":         `{"kinds":["sessions"],"reason":"x","issued_before":"yesterday"}`,
			"unknown incident": map[string]any{"kinds": []string{"sessions"}, "reason": "x", "incident_id": vigil.NewID()},
		} {
			r := e.do("POST", "/admin/v1/revocations", adm.Token, body)
			if r.Status != http.StatusBadRequest && r.Status != http.StatusNotFound {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
			}
			if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("%s: content type %q", name, ct)
			}
		}
		if n := len(e.do("GET", "/admin/v1/revocations", adm.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)); n != 0 {
			t.Fatalf("%d revocations stored by refused requests", n)
		}
		e.do("GET", "/v1/me", a.Token, nil).expect(t, http.StatusOK)
	})
}

// Every admin action is in the audit log: changes with their details,
// reads by route.
func TestAdminActionsAudited(t *testing.T) {
	e := newEnv(t, "sqlite")
	adm := e.admin("root")
	e.do("GET", "/admin/v1/security-events", adm.Token, nil).expect(t, http.StatusOK)
	inc := e.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{"title": "t", "severity": "low"}).expect(t, http.StatusCreated).JSON(t)
	e.do("GET", "/admin/v1/incidents/"+inc["id"].(string)+"/postmortem", adm.Token, nil).expect(t, http.StatusOK)
	e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"mfa_challenges"}, "reason": "drill"}).expect(t, http.StatusCreated)
	e.do("GET", "/admin/v1/incidents/nope", adm.Token, nil).expect(t, http.StatusNotFound) // refused: nothing read
	_, entries := e.auditLog()
	var got []string
	for _, en := range entries {
		if strings.HasPrefix(en.Action, "admin.") {
			if en.ActorID != adm.ID || en.ActorKind != vigil.AuditActorAccount {
				t.Errorf("admin entry %s by %s/%s", en.Action, en.ActorKind, en.ActorID)
			}
			got = append(got, en.Action+" "+en.Detail)
		}
	}
	want := []string{
		`admin.read {"route":"GET /admin/v1/security-events"}`,
		`admin.incident_opened`,
		`admin.read {"route":"GET /admin/v1/incidents/{id}/postmortem"}`,
		`admin.revocation`,
	}
	if len(got) != len(want) {
		t.Fatalf("admin audit entries:\n%s", strings.Join(got, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("entry %d = %s, want %s...", i, got[i], want[i])
		}
	}
}
