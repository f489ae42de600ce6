package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/audit"
	"github.com/vigil-dev/vigil/totp"
)

// auditLog returns the whole audit log as exported, and the entries.
func (e *env) auditLog() (string, []*vigil.AuditEntry) {
	e.t.Helper()
	log, entries, err := e.readAuditLog()
	if err != nil {
		e.t.Fatal(err)
	}
	return log, entries
}

func (e *env) readAuditLog() (string, []*vigil.AuditEntry, error) {
	var buf bytes.Buffer
	if _, err := audit.Export(context.Background(), e.Store, &buf, 0); err != nil {
		return "", nil, err
	}
	var entries []*vigil.AuditEntry
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var x vigil.AuditEntry
		if err := json.Unmarshal([]byte(line), &x); err != nil {
			return "", nil, fmt.Errorf("export line %q: %w", line, err)
		}
		entries = append(entries, &x)
	}
	return buf.String(), entries, nil
}

// checkAuditNoLeaks is the audit-log half of checkNoLeaks (which holds
// e.mu): no entry may carry a password hash, a session token, a secret or
// a code read from mail.
func (e *env) checkAuditNoLeaks(hashes []string) {
	log, entries, err := e.readAuditLog()
	if err != nil {
		return // a test that closed the database; like the hashes above
	}
	if strings.Contains(log, "$argon2") {
		e.t.Errorf("the audit log carries a password hash")
	}
	for _, h := range hashes {
		if strings.Contains(log, h) {
			e.t.Errorf("the audit log carries a stored password hash")
		}
	}
	for tok := range e.tokens {
		if strings.Contains(log, tok) {
			e.t.Errorf("the audit log carries a session token")
		}
	}
	for _, sec := range e.secrets {
		if strings.Contains(log, sec) {
			e.t.Errorf("the audit log carries a secret from a mail")
		}
	}
	// Codes are six digits: look for them as numbers of their own, in the
	// fields that could hold one (not the times and hashes, whose digits
	// may form any number).
	for _, x := range entries {
		text := strings.Join([]string{x.ID, x.ActorID, x.ActorKind, x.Action, x.TargetID, x.IP, x.Detail}, " ")
		for _, c := range e.codes {
			if regexp.MustCompile(`(^|\D)` + c + `(\D|$)`).MatchString(text) {
				e.t.Errorf("audit entry %d carries a verification code: %s", x.Seq, text)
			}
		}
	}
}

// TestAuditLogHoldsNoSecrets drives the flows that write the audit log —
// sign-in success and failures, a password change, a reset, 2FA on, a 2FA
// sign-in with a wrong and a recovery code, 2FA off, sign-out everywhere —
// and checks that the log is one chain recording them, without any of the
// passwords, tokens, TOTP secret or codes used.
func TestAuditLogHoldsNoSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		secrets := map[string]string{"the sign-up password": a.Password}

		wrongPW := "not the right passphrase at all 4711"
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": wrongPW}).expect(t, http.StatusUnauthorized)
		secrets["a wrong password"] = wrongPW
		// A password typed into the identifier field matches no account: it
		// must not be kept as "the identifier tried".
		typo := "hunter2-in-the-wrong-field"
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": typo, "password": a.Password}).expect(t, http.StatusUnauthorized)
		secrets["a password typed as identifier"] = typo

		changedPW := "a changed passphrase, second of three 2026"
		e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": a.Password, "new_password": changedPW}).
			expect(t, http.StatusNoContent)
		secrets["the changed password"] = changedPW

		resetTok := e.resetToken("alice", a.Email)
		resetPW := "the passphrase chosen at the reset 99"
		e.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": resetTok, "new_password": resetPW}).
			expect(t, http.StatusNoContent)
		secrets["the reset token"], secrets["the reset password"] = resetTok, resetPW

		a.Token, a.SessionID = e.login("alice", resetPW)
		totpSecret, recovery := e.enableTOTP(a)
		secrets["the TOTP secret"] = totpSecret
		for i, c := range recovery {
			secrets[fmt.Sprintf("recovery code %d", i)] = c
			secrets[fmt.Sprintf("recovery code %d, normalized", i)] = totp.NormalizeRecoveryCode(c)
		}
		now, err := totp.Code(totpSecret, e.Clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		wrong := "000000"
		if now == wrong {
			wrong = "111111"
		}
		e.mfaLogin(a, resetPW, wrong).expect(t, http.StatusForbidden)
		tok := e.mfaLogin(a, resetPW, recovery[0]).expect(t, http.StatusCreated).JSON(t)["token"].(string)
		e.do("DELETE", "/v1/me/mfa/totp", tok, map[string]string{"password": resetPW, "code": recovery[1]}).expect(t, http.StatusNoContent)
		e.do("POST", "/v1/me/sessions/revoke-all", tok, map[string]bool{"include_current": false}).expect(t, http.StatusOK)
		e.do("DELETE", "/v1/sessions/current", tok, nil).expect(t, http.StatusNoContent)

		log, entries := e.auditLog()
		storeKeyless := []byte(nil) // the harness never sets an audit key
		r, err := audit.Verify(context.Background(), e.Store, storeKeyless)
		if err != nil || !r.OK() || r.Entries != int64(len(entries)) {
			t.Fatalf("audit log does not verify: %+v %v", r.FirstBad, err)
		}
		for what, v := range secrets {
			if strings.Contains(log, v) {
				t.Errorf("the audit log contains %s (%q)", what, v)
			}
		}
		for tokn := range e.tokens {
			if strings.Contains(log, tokn) {
				t.Errorf("the audit log contains a session token")
			}
		}

		// It records what happened, to whom and by whom.
		var actions []string
		unknown := 0
		for _, x := range entries {
			actions = append(actions, x.Action)
			if x.Action == vigil.AuditLoginFailed && x.TargetID == "" {
				unknown++
				if !strings.Contains(x.Detail, "unknown identifier") || x.ActorKind != vigil.AuditActorAnonymous {
					t.Errorf("failed sign-in on no account recorded as %+v", x)
				}
			}
			if x.Action == vigil.AuditPasswordChanged && (x.ActorKind != vigil.AuditActorAccount || x.ActorID != a.ID || x.TargetID != a.ID) {
				t.Errorf("password change recorded as %+v", x)
			}
			if x.IP == "" {
				t.Errorf("entry %d (%s) has no address", x.Seq, x.Action)
			}
		}
		if unknown != 1 {
			t.Errorf("%d failed sign-ins on no account recorded, want 1", unknown)
		}
		got := " " + strings.Join(actions, " ") + " "
		for _, want := range []string{vigil.AuditAccountCreated, vigil.AuditLoginSucceeded, vigil.AuditLoginFailed, vigil.AuditPasswordChanged,
			vigil.AuditResetRequested, vigil.AuditResetCompleted, vigil.AuditMFAEnabled, vigil.AuditLoginMFARequired,
			vigil.AuditMFAChallengeFailed, vigil.AuditMFAChallengePassed, vigil.AuditMFADisabled, vigil.AuditSessionsRevokedAll, vigil.AuditLogout} {
			if !strings.Contains(got, " "+want+" ") {
				t.Errorf("no %s in the audit log:%s", want, got)
			}
		}
	})
}
