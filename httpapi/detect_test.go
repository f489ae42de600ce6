package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/service"
)

// securityEvents returns the stored events, newest first, as maps.
func (e *env) securityEvents(adm *user, query string) []map[string]any {
	e.t.Helper()
	items := e.do("GET", "/admin/v1/security-events"+query, adm.Token, nil).expect(e.t, http.StatusOK).JSON(e.t)["items"].([]any)
	out := make([]map[string]any, 0, len(items))
	for _, it := range items {
		out = append(out, it.(map[string]any))
	}
	return out
}

func rulesOf(events []map[string]any) string {
	var rs []string
	for _, ev := range events {
		rs = append(rs, ev["kind"].(string)+"/"+ev["rule"].(string))
	}
	return strings.Join(rs, " ")
}

// operatorHook collects what the operators' webhook receives.
type operatorHook struct {
	mu     sync.Mutex
	bodies []string
}

func withOperatorHook(t *testing.T, h *operatorHook) envOption {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := notify.VerifySignature([]byte("operator-secret-0123456789"), r.Header, b, time.Now(), time.Hour); err != nil {
			t.Errorf("operator webhook signature: %v", err)
		}
		h.mu.Lock()
		h.bodies = append(h.bodies, string(b))
		h.mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return func(sc *service.Config, _ *httpapi.Config) {
		sc.Operator.Webhook = notify.Webhook{URL: srv.URL, Secret: notify.WebhookSecret("operator-secret-0123456789"), Format: notify.FormatSlack}
		sc.Operator.Mail = []string{"soc@example.com"}
	}
}

func TestDetectEnumeration(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		hook := &operatorHook{}
		e := newEnv(t, backend, withOperatorHook(t, hook))
		adm := e.admin("root")
		mallory := e.signup("mallory")
		// Ids that exist nowhere: the not-found share gives the walk away.
		for i := 0; i < 20; i++ {
			e.do("GET", "/v1/users/"+vigil.NewID(), mallory.Token, nil).expect(t, http.StatusNotFound)
		}
		evs := e.securityEvents(adm, "?kind=enumeration")
		if len(evs) != 1 || evs[0]["rule"] != "not_found_ratio" || evs[0]["subject"] != "caller:"+mallory.ID || evs[0]["count"].(float64) < 10 {
			t.Fatalf("events = %v", evs)
		}
		// The flagged caller is slowed down at once: a tenth of the burst.
		refused := 0
		for i := 0; i < 10; i++ {
			if e.do("GET", "/v1/users/"+vigil.NewID(), mallory.Token, nil).Status == http.StatusTooManyRequests {
				refused++
			}
		}
		if refused < 4 {
			t.Fatalf("a flagged caller got %d of 10 lookups refused, want the tightened limit to bite", refused)
		}
		// The operators heard of it, by webhook (Slack format) and mail.
		e.flush()
		hook.mu.Lock()
		got := strings.Join(hook.bodies, "\n")
		hook.mu.Unlock()
		if !strings.Contains(got, `"text"`) || !strings.Contains(got, "enumeration") {
			t.Fatalf("operator webhook got %q", got)
		}
		if n := countMailsWithSubject(t, e, "[vigil "+evs[0]["severity"].(string)+"] enumeration: not_found_ratio"); n != 1 {
			t.Fatalf("%d operator mails", n)
		}
	})
}

func TestDetectNormalTrafficRaisesNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		adm := e.admin("root")
		var us []*user
		for _, n := range []string{"anna", "bert", "carl", "dora", "emil"} {
			us = append(us, e.signup(n))
		}
		// Browsing profiles, a mistyped id, a few wrong passwords, a reset
		// and an expired session: a day at the office.
		for _, u := range us {
			for _, v := range us {
				e.do("GET", "/v1/users/"+v.ID, u.Token, nil).expect(t, http.StatusOK)
			}
		}
		e.do("GET", "/v1/users/"+vigil.NewID(), us[0].Token, nil).expect(t, http.StatusNotFound)
		for i := 0; i < 3; i++ {
			e.do("POST", "/v1/sessions", "", map[string]string{"identifier": us[1].Username, "password": "nearly right"}).expect(t, http.StatusUnauthorized)
		}
		e.resetToken(us[2].Email, us[2].Email)
		e.do("GET", "/v1/me", vigil.NewToken().Reveal(), nil).expect(t, http.StatusUnauthorized)
		if evs := e.securityEvents(adm, ""); len(evs) != 0 {
			t.Fatalf("normal traffic raised %s", rulesOf(evs))
		}
	})
}

func TestDetectCredentialStuffing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		adm := e.admin("root")
		// One source, one leaked password, many identifiers.
		for i := 0; i < 20; i++ {
			id := "user" + string(rune('a'+i))
			e.do("POST", "/v1/sessions", "", map[string]string{"identifier": id, "password": "Summer2026!"}).expect(t, http.StatusUnauthorized)
		}
		got := rulesOf(e.securityEvents(adm, "?kind=credential_stuffing"))
		for _, want := range []string{"credential_stuffing/source_accounts", "credential_stuffing/password_spray"} {
			if !strings.Contains(got, want) {
				t.Fatalf("events %q lack %s", got, want)
			}
		}
		// The source is now throttled with a tenth of the free failures:
		// the next wrong passwords are blocked quickly.
		blocked := false
		for i := 0; i < 15 && !blocked; i++ {
			r := e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "other" + string(rune('a'+i)), "password": "x"})
			blocked = r.Status == http.StatusTooManyRequests
		}
		if !blocked {
			t.Fatal("a flagged source was not throttled harder")
		}
	})
}

func TestDetectResetSurgeAndRevokedUse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		victim := e.signup("victim")
		e.Clock.Advance(time.Second)
		adm := e.admin("root")
		// Reset requests hammering one account.
		for i := 0; i < 5; i++ {
			e.do("POST", "/v1/password-resets", "", map[string]string{"identifier": victim.Email}).expect(t, http.StatusAccepted)
		}
		e.flush()
		evs := e.securityEvents(adm, "?kind=reset_surge")
		if len(evs) != 1 || evs[0]["rule"] != "account_resets" || evs[0]["subject"] != "acct:"+victim.ID {
			t.Fatalf("reset events = %v", evs)
		}
		// A session cut off by an incident-wide revocation, used again.
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"sessions"},
			"issued_before": e.Clock.Now().Add(-500 * time.Millisecond), "reason": "session store leaked"}).expect(t, http.StatusCreated)
		e.do("GET", "/v1/me", victim.Token, nil).expect(t, http.StatusUnauthorized)
		evs = e.securityEvents(adm, "?kind=revoked_credential_use&severity=high")
		if len(evs) != 1 || evs[0]["rule"] != "cutoff_revoked" || !strings.HasPrefix(evs[0]["subject"].(string), "src:") {
			t.Fatalf("revoked-use events = %v", evs)
		}
		// Paging and filters of the listing.
		all := e.securityEvents(adm, "?limit=1")
		if len(all) != 1 {
			t.Fatalf("limit=1 gave %d", len(all))
		}
		e.do("GET", "/admin/v1/security-events?since=yesterday", adm.Token, nil).expect(t, http.StatusBadRequest)
		body := e.do("GET", "/admin/v1/security-events?kind=nothing", adm.Token, nil).expect(t, http.StatusOK).Body
		var page struct{ Items []any }
		if err := json.Unmarshal(body, &page); err != nil || page.Items == nil || len(page.Items) != 0 {
			t.Fatalf("filtered listing = %s, want an empty list", body)
		}
	})
}
