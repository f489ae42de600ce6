package httpapi_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/mail"
)

// runNotifications advances notification runs until none has work left.
func (e *env) runNotifications() {
	e.t.Helper()
	for {
		more, err := e.Service.RunNotifications(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		if !more {
			return
		}
	}
}

func countMailsWithSubject(t *testing.T, e *env, subject string) int {
	t.Helper()
	msgs, err := mail.ReadDir(e.MailDir)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range msgs {
		if m.Subject == subject {
			n++
		}
	}
	return n
}

func TestIncidentLifecycle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		users := []*user{e.signup("anna"), e.signup("bert"), e.signup("carl")}
		adm := e.admin("root")
		detected := e.Clock.Now().Add(-2 * time.Hour).UTC().Truncate(time.Second)

		inc := e.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{
			"title": "User lookup leaked contact data", "severity": "critical",
			"description": "GET /v1/users answered anonymous callers.", "detected_at": detected,
		}).expect(t, http.StatusCreated).JSON(t)
		id := inc["id"].(string)
		deadline, _ := time.Parse(time.RFC3339, inc["regulator_deadline"].(string))
		if !deadline.Equal(detected.Add(72 * time.Hour)) {
			t.Fatalf("regulator deadline %v, want 72h after %v", deadline, detected)
		}
		if left := inc["regulator_seconds_left"].(float64); inc["regulator_notified"] != false || inc["regulator_overdue"] != false || left > 70*3600 || left < 70*3600-1 {
			t.Fatalf("regulator clock = %v", inc)
		}

		// Affected accounts, a revocation and a forced reset under the incident.
		e.Clock.Advance(time.Second)
		ids := []string{users[0].ID, users[1].ID}
		r := e.do("POST", "/admin/v1/incidents/"+id+"/affected-accounts", adm.Token, map[string]any{"user_ids": ids}).
			expect(t, http.StatusOK).JSON(t)
		if r["added"].(float64) != 2 {
			t.Fatalf("added = %v", r["added"])
		}
		e.do("POST", "/admin/v1/incidents/"+id+"/affected-accounts", adm.Token, map[string]any{"user_ids": []string{"nope"}}).
			expect(t, http.StatusBadRequest)
		e.Clock.Advance(time.Second)
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{"sessions", "reset_tokens"}, "user_ids": ids, "reason": "contact data exposed", "incident_id": id,
		}).expect(t, http.StatusCreated)
		e.Clock.Advance(time.Second)
		e.do("POST", "/admin/v1/revocations", adm.Token, map[string]any{
			"kinds": []string{}, "must_reset_password": true, "user_ids": ids, "reason": "reset tokens exposed", "incident_id": id,
		}).expect(t, http.StatusCreated)
		e.Clock.Advance(time.Second)
		e.do("POST", "/admin/v1/incidents/"+id+"/timeline", adm.Token, map[string]string{"text": "Endpoint patched and deployed."}).
			expect(t, http.StatusCreated)
		e.Clock.Advance(time.Second)

		// Notify the affected accounts, two a minute: delivery is paced.
		subject := "Security incident affecting your account"
		run := e.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, map[string]any{
			"subject": subject, "body": "Hello {{.Username}}, your contact data may have been exposed.", "per_minute": 2,
		}).expect(t, http.StatusAccepted).JSON(t)
		if run["total"].(float64) != 2 || run["status"] != "running" {
			t.Fatalf("run = %v", run)
		}
		e.Clock.Advance(time.Second)
		e.runNotifications()
		e.flush()
		if n := countMailsWithSubject(t, e, subject); n != 1 {
			t.Fatalf("%d notices delivered at once, want 1 (paced at 2 a minute)", n)
		}
		prog := e.do("GET", "/admin/v1/incidents/"+id+"/notifications", adm.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)[0].(map[string]any)
		d := prog["delivery"].(map[string]any)
		if prog["enqueued"].(float64) != 2 || prog["status"] != "done" || d["delivered"].(float64) != 1 || d["queued"].(float64) != 1 {
			t.Fatalf("progress = %v", prog)
		}
		e.Clock.Advance(30 * time.Second)
		e.flush()
		if n := countMailsWithSubject(t, e, subject); n != 2 {
			t.Fatalf("%d notices delivered after the pace allowed both, want 2", n)
		}
		msgs, _ := mail.ReadDir(e.MailDir)
		for _, m := range msgs {
			if m.Subject == subject && m.To == users[0].Email && !strings.Contains(m.Text, "Hello anna, your contact data") {
				t.Fatalf("notice text = %q", m.Text)
			}
			if m.Subject == subject && m.To == users[2].Email {
				t.Fatal("an account not affected was notified")
			}
		}
		// The notice is in the app too, with its code.
		notes := e.do("GET", "/v1/me/notifications", users[2].Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		for _, n := range notes {
			if n.(map[string]any)["kind"] == "security_incident" {
				t.Fatal("carl got the incident notice")
			}
		}

		// Regulator notified: recorded once, with the clock stopped.
		e.Clock.Advance(time.Second)
		up := e.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"regulator_notified": true, "note": "Filed with the DPA, ref 2026-117"}).
			expect(t, http.StatusOK).JSON(t)
		if up["regulator_notified"] != true || up["regulator_notified_at"] == nil {
			t.Fatalf("after notification: %v", up)
		}
		e.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"regulator_notified": false}).expect(t, http.StatusConflict)
		e.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "resolved"}).expect(t, http.StatusBadRequest)
		e.Clock.Advance(time.Second)
		e.do("PATCH", "/admin/v1/incidents/"+id, adm.Token, map[string]any{"status": "closed"}).expect(t, http.StatusOK)

		tl := e.do("GET", "/admin/v1/incidents/"+id+"/timeline", adm.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		var kinds []string
		for _, x := range tl {
			kinds = append(kinds, x.(map[string]any)["kind"].(string))
		}
		want := "opened accounts_affected revocation forced_reset note notification notification regulator_notified status"
		if got := strings.Join(kinds, " "); got != want {
			t.Fatalf("timeline kinds:\n got %s\nwant %s", got, want)
		}

		// The postmortem, as JSON and as Markdown.
		pm := e.do("GET", "/admin/v1/incidents/"+id+"/postmortem", adm.Token, nil).expect(t, http.StatusOK)
		var doc struct {
			Incident struct {
				Title  string `json:"title"`
				Status string `json:"status"`
			} `json:"incident"`
			Timeline []struct{ Kind string } `json:"timeline"`
			Affected struct {
				Count int      `json:"count"`
				IDs   []string `json:"ids"`
			} `json:"affected_accounts"`
			Actions struct {
				Revocations, ForcedResets, NoticesQueued, NoticesDelivered int
			} `json:"actions"`
		}
		if err := json.Unmarshal(pm.Body, &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Incident.Status != "closed" || doc.Affected.Count != 2 || len(doc.Affected.IDs) != 2 || len(doc.Timeline) != len(kinds) {
			t.Fatalf("postmortem = %s", pm.Body)
		}
		var acts map[string]any
		_ = json.Unmarshal(pm.Body, &acts)
		a := acts["actions"].(map[string]any)
		if a["revocations"].(float64) != 1 || a["forced_resets"].(float64) != 1 || a["notices_queued"].(float64) != 2 || a["notices_delivered"].(float64) != 2 {
			t.Fatalf("actions = %v", a)
		}
		md := e.doHeader("GET", "/admin/v1/incidents/"+id+"/postmortem?format=markdown", "Authorization", "Bearer "+adm.Token)
		md.expect(t, http.StatusOK)
		text := string(md.Body)
		for _, s := range []string{"# Postmortem: User lookup leaked contact data", "| Time (UTC) | Kind | Entry | By |",
			"Endpoint patched and deployed.", "Regulator notified | yes", "- Forced password resets: 1", users[0].ID} {
			if !strings.Contains(text, s) {
				t.Errorf("markdown lacks %q:\n%s", s, text)
			}
		}
		if strings.Contains(text, users[0].Email) {
			t.Error("the postmortem names an email address")
		}
	})
}

func TestIncidentBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		adm := e.admin("root")
		for name, body := range map[string]any{
			"no title":      map[string]any{"severity": "high"},
			"bad severity":  map[string]any{"title": "x", "severity": "apocalyptic"},
			"future":        map[string]any{"title": "x", "severity": "low", "detected_at": e.Clock.Now().Add(time.Hour)},
			"control chars": map[string]any{"title": "x\x00y", "severity": "low"},
			"unknown field": map[string]any{"title": "x", "severity": "low", "owner": "me"},
			"not json":      "{",
		} {
			r := e.do("POST", "/admin/v1/incidents", adm.Token, body)
			if r.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
			}
		}
		list := e.do("GET", "/admin/v1/incidents", adm.Token, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		if len(list) != 0 {
			t.Fatalf("refused requests stored incidents: %v", list)
		}
		e.do("GET", "/admin/v1/incidents/nope", adm.Token, nil).expect(t, http.StatusNotFound)
		inc := e.do("POST", "/admin/v1/incidents", adm.Token, map[string]any{"title": "x", "severity": "low"}).
			expect(t, http.StatusCreated).JSON(t)
		id := inc["id"].(string)
		e.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, map[string]any{"subject": "s", "body": "b"}).
			expect(t, http.StatusBadRequest) // nobody affected yet
		u := e.signup("anna")
		e.do("POST", "/admin/v1/incidents/"+id+"/affected-accounts", adm.Token, map[string]any{"user_ids": []string{u.ID}}).expect(t, http.StatusOK)
		for name, body := range map[string]any{
			"bad template":  map[string]any{"subject": "s", "body": "{{.Username"},
			"unknown field": map[string]any{"subject": "s", "body": "{{.Email}}"},
			"pace":          map[string]any{"subject": "s", "body": "b", "per_minute": -1},
		} {
			if r := e.do("POST", "/admin/v1/incidents/"+id+"/notifications", adm.Token, body); r.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d: %s", name, r.Status, r.Body)
			}
		}
		e.do("GET", "/admin/v1/incidents/"+id+"/postmortem?format=pdf", adm.Token, nil).expect(t, http.StatusBadRequest)
	})
}
