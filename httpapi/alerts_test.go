package httpapi_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/notify"
)

func noticeKinds(t *testing.T, e *env, token string) string {
	t.Helper()
	var kinds []string
	for _, it := range e.do("GET", "/v1/me/notifications", token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any) {
		kinds = append(kinds, it.(map[string]any)["kind"].(string))
	}
	return strings.Join(kinds, " ")
}

// The security events of a sign-in: a new device, a burst of failures,
// logging out everywhere. Each leaves a notice and a mail with its code.
func TestSecurityNotices(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, behindProxy)
		a := e.signup("alice")
		// The same device again: nothing.
		e.loginFrom("127.0.0.1", "alice", a.Password).expect(t, http.StatusCreated)
		if k := noticeKinds(t, e, a.Token); k != "account_created" {
			t.Fatalf("notices after known sign-ins: %q", k)
		}
		// From a new address: a new-device notice.
		e.Clock.Advance(time.Second)
		e.loginFrom("198.51.100.23", "alice", a.Password).expect(t, http.StatusCreated)
		if k := noticeKinds(t, e, a.Token); k != "new_device_login account_created" {
			t.Fatalf("notices = %q, want new_device_login", k)
		}
		// Failures spread over sources, up to the account throttle: one
		// burst notice, not one per failure.
		e.Clock.Advance(time.Second) // notices of one instant have no order
		for i := 0; i < e.Service.Config().ThrottleAccount.Free+3; i++ {
			e.loginFrom(fmt.Sprintf("203.0.113.%d", i+1), "alice", "wrong guess "+fmt.Sprint(i))
		}
		if k := noticeKinds(t, e, a.Token); k != "failed_login_burst new_device_login account_created" {
			t.Fatalf("notices = %q", k)
		}
		// Log out everywhere.
		e.Clock.Advance(time.Second)
		e.do("POST", "/v1/me/sessions/revoke-all", a.Token, map[string]bool{"include_current": false}).expect(t, http.StatusOK)
		if k := noticeKinds(t, e, a.Token); !strings.HasPrefix(k, "sessions_revoked") {
			t.Fatalf("notices = %q", k)
		}
		before := len(mails(t, e))
		e.flush()
		if n := len(mails(t, e)) - before; n != 3 {
			t.Fatalf("%d notice mails delivered, want 3", n)
		}
	})
}

// Alert settings: channels per kind, a webhook with a secret shown once,
// deliveries signed with it and carrying the notice code; choices that
// cannot be honoured are refused.
func TestAlertSettingsAndWebhook(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		a := e.signup("alice")
		got := e.do("GET", "/v1/me/alert-settings", a.Token, nil).expect(t, http.StatusOK).JSON(t)
		if ch := got["channels"].(map[string]any)["password_changed"].([]any); len(ch) != 1 || ch[0] != "mail" || got["webhook"] != nil {
			t.Fatalf("defaults = %v", got)
		}
		type delivery struct {
			header http.Header
			body   []byte
		}
		deliveries := make(chan delivery, 10)
		hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			deliveries <- delivery{r.Header.Clone(), b}
		}))
		defer hook.Close()

		for _, bad := range []map[string]any{
			{"channels": map[string][]string{"password_changed": {"sms"}}},                      // no verified phone
			{"channels": map[string][]string{"password_changed": {"webhook"}}},                  // no webhook
			{"channels": map[string][]string{"password_changed": {}}},                           // nothing
			{"channels": map[string][]string{"no_such_kind": {"mail"}}},                         // unknown kind
			{"channels": map[string][]string{"password_changed": {"pigeon"}}},                   // unknown channel
			{"channels": map[string][]string{}, "webhook": map[string]string{"url": "ftp://x"}}, // bad url
		} {
			e.do("PUT", "/v1/me/alert-settings", a.Token, bad).expect(t, http.StatusBadRequest)
		}
		set := e.do("PUT", "/v1/me/alert-settings", a.Token, map[string]any{
			"channels": map[string][]string{"password_changed": {"mail", "webhook"}},
			"webhook":  map[string]string{"url": hook.URL, "format": "json"},
		}).expect(t, http.StatusOK).JSON(t)
		secret, err := base64.StdEncoding.DecodeString(set["webhook_secret"].(string))
		if err != nil || len(secret) != 32 {
			t.Fatalf("webhook secret = %v", set["webhook_secret"])
		}
		if again := e.do("GET", "/v1/me/alert-settings", a.Token, nil).expect(t, http.StatusOK).JSON(t); again["webhook_secret"] != nil {
			t.Fatal("the webhook secret was answered twice")
		}
		// The change is audited (a new webhook could divert notices), once:
		// the refused attempts above changed nothing.
		_, entries := e.auditLog()
		changed := 0
		for _, en := range entries {
			if en.Action == vigil.AuditAlertSettingsChanged && en.TargetID == a.ID && strings.Contains(en.Detail, `"webhook_changed":true`) {
				changed++
			}
		}
		if changed != 1 {
			t.Fatalf("%d audit entries for the alert settings change, want 1", changed)
		}
		// The secret is stored sealed.
		q := "SELECT hex(webhook_secret) FROM alert_settings"
		if backend == "postgres" {
			q = "SELECT encode(webhook_secret, 'hex') FROM alert_settings"
		}
		stored, err := e.Store.RawQuery(t.Context(), q)
		if err != nil || len(stored) != 1 || len(stored[0]) <= 64 || strings.Contains(strings.ToLower(stored[0]), hex.EncodeToString(secret)) {
			t.Fatalf("webhook secret not sealed: %v %v", stored, err)
		}

		e.Clock.Advance(time.Second) // after the account_created notice: notices of one instant have no order
		e.do("PUT", "/v1/me/password", a.Token, map[string]string{"current_password": a.Password, "new_password": "a webhook-watched passphrase"}).
			expect(t, http.StatusNoContent)
		e.flush()
		var d delivery
		select {
		case d = <-deliveries:
		default:
			t.Fatal("no webhook delivery")
		}
		if err := notify.VerifySignature(secret, d.header, d.body, time.Now(), time.Minute); err != nil {
			t.Fatalf("delivery signature: %v", err)
		}
		var body map[string]any
		_ = json.Unmarshal(d.body, &body)
		items := e.do("GET", "/v1/me/notifications", a.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if body["kind"] != "password_changed" || body["code"] != items[0].(map[string]any)["code"] || d.header.Get("Vigil-Id") == "" {
			t.Fatalf("delivery %s lacks the notice's kind or code", d.body)
		}
		// Mail went too.
		last := mails(t, e)[len(mails(t, e))-1]
		if last.Header.Get("X-Vigil-Notice-Code") != body["code"] {
			t.Fatal("the mail and the webhook carry different codes")
		}
		// Past the re-authentication window, settings cannot be changed.
		e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
		e.do("PUT", "/v1/me/alert-settings", a.Token, map[string]any{"channels": map[string][]string{}}).expect(t, http.StatusForbidden)
	})
}
