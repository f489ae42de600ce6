package httpapi_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
)

func init() {
	// The postmortem answers Markdown on request.
	openapi3filter.RegisterBodyDecoder("text/markdown", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
}

// exerciseAdminAPI drives every admin route through the live check c:
// successes, and the refusals each can give.
func exerciseAdminAPI(t *testing.T, e *env, c *apiCheck) {
	{
		users := []*user{c.signup("anna"), c.signup("bert")}
		plain := c.signup("plain")
		adm := e.admin("root")
		half := c.signup("halfadmin")
		if err := e.Store.SetRoles(context.Background(), half.ID, []string{vigil.RoleAdmin}); err != nil {
			t.Fatal(err)
		}
		e.Clock.Advance(2 * time.Second)
		halfTok, _ := c.login(half.Username, half.Password)

		// 403 both ways, on every admin route.
		for _, rt := range e.Server.Routes() {
			if rt.Policy != httpapi.PolicyAdmin {
				continue
			}
			method, path := fillPath(rt.Pattern, vigil.NewID())
			c.do(method, path, plain.Token, nil).expect(t, http.StatusForbidden)
			r := c.do(method, path, halfTok, nil).expect(t, http.StatusForbidden)
			if problemType(t, r) != "mfa-required" {
				t.Errorf("%s: %s", rt.Pattern, r.Body)
			}
		}

		// Incidents.
		c.do("GET", "/admin/v1/incidents", adm.Token, nil).expect(t, http.StatusOK)
		c.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{"title": "x", "severity": "low"}).expect(t, http.StatusCreated)
		inc := c.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{"title": "Leak", "severity": "critical",
			"description": "line one\nline two", "detected_at": e.Clock.Now().Add(-time.Hour)}).expect(t, http.StatusCreated).JSON(t)
		id := inc["id"].(string)
		c.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{"title": "x", "severity": "apocalyptic"}).expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/incidents", adm.Token, "{").expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/incidents", adm.Token, `{"title": "`+strings.Repeat("x", httpapi.MaxBodyBytes)+`"}`).expect(t, http.StatusRequestEntityTooLarge)
		c.raw("POST", "/admin/v1/incidents", http.Header{"Content-Type": {"text/plain"}, "Authorization": {"Bearer " + adm.Token}}, []byte(`{}`)).expect(t, http.StatusUnsupportedMediaType)
		c.do("GET", "/admin/v1/incidents?limit=1", adm.Token, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/incidents?limit=500", adm.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/admin/v1/incidents/"+id, adm.Token, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/incidents/nope", adm.Token, nil).expect(t, http.StatusNotFound)
		c.do("GET", "/admin/v1/incidents/"+vigil.NewID(), adm.Token, nil).expect(t, http.StatusNotFound)

		// Affected accounts, revocations under the incident.
		ids := []string{users[0].ID, users[1].ID}
		c.do("POST", "/admin/v1/incidents/"+id+"/affected-accounts", adm.Token, map[string]any{"user_ids": ids}).expect(t, http.StatusOK)
		c.do("POST", "/admin/v1/incidents/"+id+"/affected-accounts", adm.Token, map[string]any{"user_ids": []string{"nope"}}).expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/incidents/"+vigil.NewID()+"/affected-accounts", adm.Token, map[string]any{"user_ids": ids}).expect(t, http.StatusNotFound)
		c.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"sessions"}, "reason": "x",
			"user_ids": []string{plain.ID}}).expect(t, http.StatusCreated)
		c.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"sessions", "reset_tokens"},
			"user_ids": ids, "reason": "leak", "incident_id": id, "issued_before": e.Clock.Now()}).expect(t, http.StatusCreated)
		c.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"must_reset_password": true, "user_ids": ids,
			"reason": "reset", "incident_id": id}).expect(t, http.StatusCreated)
		c.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"cookies"}, "reason": "x"}).expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{"kinds": []string{"sessions"}, "reason": "x", "incident_id": vigil.NewID()}).expect(t, http.StatusNotFound)
		c.do("GET", "/admin/v1/revocations", adm.Token, nil).expect(t, http.StatusOK)

		// Security events: a session killed by the revocation above, used
		// again, is one at once.
		c.do("GET", "/v1/me", plain.Token, nil).expect(t, http.StatusUnauthorized)
		ev := c.do("GET", "/admin/v1/security-events?limit=1", adm.Token, nil).expect(t, http.StatusOK).JSON(t)
		if len(ev["items"].([]any)) != 1 {
			t.Errorf("events = %v", ev)
		}
		since := qtime(e.Clock.Now().Add(-time.Hour))
		c.do("GET", "/admin/v1/security-events?kind=revoked_credential_use&severity=high&subject=src:127.0.0.1&since="+since+"&until="+qtime(e.Clock.Now().Add(time.Hour)), adm.Token, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/security-events?kind=nothing", adm.Token, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/security-events?since=yesterday", adm.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/admin/v1/security-events?limit=0", adm.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/admin/v1/security-events?cursor=garbage", adm.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/admin/v1/security-events?kind="+strings.Repeat("x", 65), adm.Token, nil).expect(t, http.StatusBadRequest)

		// Notes, notifications.
		c.do("POST", "/admin/v1/incidents/"+id+"/timeline", adm.Token, map[string]string{"text": "Patched."}).expect(t, http.StatusCreated)
		c.do("POST", "/admin/v1/incidents/"+id+"/timeline", adm.Token, map[string]string{"text": " "}).expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, map[string]any{"subject": "s", "body": "{{.Email}}"}).expect(t, http.StatusBadRequest)
		c.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, map[string]any{"subject": "Incident", "body": "Hello {{.Username}}"}).expect(t, http.StatusAccepted)
		c.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, map[string]any{"subject": "Incident 2", "body": "Hi {{.DisplayName}}", "per_minute": 2}).expect(t, http.StatusAccepted)
		c.do("GET", "/admin/v1/incidents/"+id+"/notifications", adm.Token, nil).expect(t, http.StatusOK)
		e.runNotifications()
		e.flush()
		c.do("GET", "/admin/v1/incidents/"+id+"/notifications", adm.Token, nil).expect(t, http.StatusOK)

		// PATCH.
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"regulator_notified": true, "note": "filed"}).expect(t, http.StatusOK)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"regulator_notified": false}).expect(t, http.StatusConflict)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "resolved"}).expect(t, http.StatusBadRequest)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "closed"}).expect(t, http.StatusOK)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": nil, "regulator_notified": nil}).expect(t, http.StatusBadRequest)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "open", "regulator_notified": nil, "note": ""}).expect(t, http.StatusOK)
		c.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "closed", "regulator_notified": true}).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/incidents/"+id+"/timeline", adm.Token, nil).expect(t, http.StatusOK)

		// Postmortem in both forms.
		c.do("GET", "/admin/v1/incidents/"+id+"/postmortem", adm.Token, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/incidents/"+id+"/postmortem?format=json", adm.Token, nil).expect(t, http.StatusOK)
		md := c.do("GET", "/admin/v1/incidents/"+id+"/postmortem?format=markdown", adm.Token, nil).expect(t, http.StatusOK)
		if !strings.HasPrefix(md.Header.Get("Content-Type"), "text/markdown") {
			t.Errorf("markdown content type %q", md.Header.Get("Content-Type"))
		}
		c.raw("GET", "/admin/v1/incidents/"+id+"/postmortem", http.Header{"Accept": {"text/markdown"}, "Authorization": {"Bearer " + adm.Token}}, nil).expect(t, http.StatusOK)
		c.do("GET", "/admin/v1/incidents/"+id+"/postmortem?format=pdf", adm.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/admin/v1/incidents/"+vigil.NewID()+"/postmortem", adm.Token, nil).expect(t, http.StatusNotFound)

		// An incident listing with a next page.
		l := c.do("GET", "/admin/v1/incidents?limit=1", adm.Token, nil).expect(t, http.StatusOK).JSON(t)
		if cur, _ := l["next_cursor"].(string); cur != "" {
			c.do("GET", "/admin/v1/incidents?limit=1&cursor="+cur, adm.Token, nil).expect(t, http.StatusOK)
		} else {
			t.Error("no next cursor")
		}

	}
}

func qtime(t time.Time) string {
	return strings.ReplaceAll(t.UTC().Format(time.RFC3339Nano), "+", "%2B")
}
