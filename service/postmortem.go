package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

// Postmortem is an incident's record for the people who review it:
// summary, timeline, accounts affected and actions taken.
type Postmortem struct {
	Incident      IncidentView       `json:"incident"`
	Timeline      []TimelineView     `json:"timeline"`
	Revocations   []RevocationView   `json:"revocations"`
	Notifications []NotificationView `json:"notifications"`
	Affected      PostmortemAffected `json:"affected_accounts"`
	Actions       PostmortemActions  `json:"actions"`
	GeneratedAt   time.Time          `json:"generated_at"`
}

// PostmortemAffected summarises the affected accounts; it counts them and
// lists their ids (no personal data), up to a bound.
type PostmortemAffected struct {
	Count     int      `json:"count"`
	IDs       []string `json:"ids"`
	Truncated bool     `json:"truncated"`
}

// PostmortemActions counts what was done under the incident.
type PostmortemActions struct {
	Revocations      int `json:"revocations"`
	ForcedResets     int `json:"forced_resets"`
	NoticesQueued    int `json:"notices_queued"`
	NoticesDelivered int `json:"notices_delivered"`
	NoticesFailed    int `json:"notices_failed"`
}

// TimelineView is one timeline entry as operators see it.
type TimelineView struct {
	ID    string    `json:"id"`
	At    time.Time `json:"at"`
	Kind  string    `json:"kind"`
	Text  string    `json:"text"`
	Actor string    `json:"actor"`
	Ref   string    `json:"ref,omitempty"`
}

// TimelineViews converts timeline entries for output.
func TimelineViews(es []*vigil.TimelineEntry) []TimelineView {
	out := make([]TimelineView, 0, len(es))
	for _, e := range es {
		out = append(out, TimelineView{ID: e.ID, At: e.At, Kind: e.Kind, Text: e.Text, Actor: e.ActorID, Ref: e.RefID})
	}
	return out
}

// RevocationView is a revocation as operators see it.
type RevocationView struct {
	ID           string    `json:"id"`
	Kinds        []string  `json:"kinds"`
	IssuedBefore time.Time `json:"issued_before"`
	UserIDs      []string  `json:"user_ids"`
	AllUsers     bool      `json:"all_users"`
	MustReset    bool      `json:"must_reset_password"`
	Reason       string    `json:"reason"`
	IncidentID   string    `json:"incident_id,omitempty"`
	CreatedBy    string    `json:"created_by"`
	CreatedAt    time.Time `json:"created_at"`
}

// NewRevocationView converts a revocation for output.
func NewRevocationView(r *vigil.Revocation) RevocationView {
	v := RevocationView{ID: r.ID, Kinds: r.Kinds, IssuedBefore: r.IssuedBefore, UserIDs: r.AccountIDs, AllUsers: len(r.AccountIDs) == 0,
		MustReset: r.MustReset, Reason: r.Reason, IncidentID: r.IncidentID, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt}
	if v.Kinds == nil {
		v.Kinds = []string{}
	}
	if v.UserIDs == nil {
		v.UserIDs = []string{}
	}
	return v
}

// maxPostmortemIDs bounds the account ids listed in a postmortem.
const maxPostmortemIDs = 10000

// Postmortem gathers an incident's record. Admins only; ENOTFOUND if no
// such incident.
func (s *Service) Postmortem(ctx context.Context, id string) (*Postmortem, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, err
	}
	inc, err := s.incident(ctx, id)
	if err != nil {
		return nil, err
	}
	pm := &Postmortem{Incident: s.incidentView(inc), GeneratedAt: s.now(), Revocations: []RevocationView{}}
	tl, err := s.store.Timeline(ctx, id)
	if err != nil {
		return nil, err
	}
	pm.Timeline = TimelineViews(tl)
	rs, err := s.store.Revocations(ctx, 0)
	if err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.IncidentID != id {
			continue
		}
		pm.Revocations = append(pm.Revocations, NewRevocationView(r))
		if len(r.Kinds) > 0 {
			pm.Actions.Revocations++
		}
		if r.MustReset {
			pm.Actions.ForcedResets++
		}
	}
	runs, err := s.store.IncidentNotifications(ctx, id)
	if err != nil {
		return nil, err
	}
	pm.Notifications = []NotificationView{}
	for _, n := range runs {
		v, err := s.notificationView(ctx, n)
		if err != nil {
			return nil, err
		}
		pm.Notifications = append(pm.Notifications, v)
		pm.Actions.NoticesQueued += v.Enqueued
		pm.Actions.NoticesDelivered += v.Delivery.Delivered
		pm.Actions.NoticesFailed += v.Delivery.Failed
	}
	pm.Affected.Count = inc.Affected
	ids, err := s.store.AffectedAccounts(ctx, id, "", maxPostmortemIDs+1)
	if err != nil {
		return nil, err
	}
	if len(ids) > maxPostmortemIDs {
		ids, pm.Affected.Truncated = ids[:maxPostmortemIDs], true
	}
	pm.Affected.IDs = append([]string{}, ids...)
	return pm, nil
}

// mdCell makes text safe inside a Markdown table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\\", "\\\\")
	s = strings.ReplaceAll(s, "|", "\\|")
	s = strings.ReplaceAll(s, "\r", " ")
	return strings.ReplaceAll(s, "\n", " ")
}

// Markdown renders the postmortem as a Markdown document.
func (pm *Postmortem) Markdown() string {
	var b strings.Builder
	inc := pm.Incident
	ts := func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }
	fmt.Fprintf(&b, "# Postmortem: %s\n\n", mdCell(inc.Title))
	b.WriteString("## Summary\n\n")
	fmt.Fprintf(&b, "| | |\n|---|---|\n")
	fmt.Fprintf(&b, "| Incident | `%s` |\n", inc.ID)
	fmt.Fprintf(&b, "| Severity | %s |\n", inc.Severity)
	fmt.Fprintf(&b, "| Status | %s |\n", inc.Status)
	fmt.Fprintf(&b, "| Detected | %s |\n", ts(inc.DetectedAt))
	fmt.Fprintf(&b, "| Opened | %s by %s |\n", ts(inc.CreatedAt), mdCell(inc.CreatedBy))
	if inc.ClosedAt != nil {
		fmt.Fprintf(&b, "| Closed | %s |\n", ts(*inc.ClosedAt))
	}
	fmt.Fprintf(&b, "| Regulator deadline (GDPR Art. 33, 72 h) | %s |\n", ts(inc.RegulatorDeadline))
	switch {
	case inc.RegulatorNotified:
		fmt.Fprintf(&b, "| Regulator notified | yes, %s |\n", ts(*inc.RegulatorNotifiedAt))
	case inc.RegulatorOverdue:
		b.WriteString("| Regulator notified | **no, deadline passed** |\n")
	default:
		fmt.Fprintf(&b, "| Regulator notified | not yet (%s left) |\n", (time.Duration(inc.RegulatorSecondsLeft) * time.Second).String())
	}
	fmt.Fprintf(&b, "| Accounts affected | %d |\n\n", pm.Affected.Count)
	if inc.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", inc.Description)
	}
	b.WriteString("## Timeline\n\n| Time (UTC) | Kind | Entry | By |\n|---|---|---|---|\n")
	for _, e := range pm.Timeline {
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", ts(e.At), e.Kind, mdCell(e.Text), mdCell(e.Actor))
	}
	b.WriteString("\n## Actions taken\n\n")
	fmt.Fprintf(&b, "- Revocations by cutoff: %d\n- Forced password resets: %d\n", pm.Actions.Revocations, pm.Actions.ForcedResets)
	fmt.Fprintf(&b, "- Notices queued: %d (delivered %d, failed %d)\n", pm.Actions.NoticesQueued, pm.Actions.NoticesDelivered, pm.Actions.NoticesFailed)
	if len(pm.Revocations) > 0 {
		b.WriteString("\n| Revocation | Kinds | Issued before | Scope | Must reset | Reason |\n|---|---|---|---|---|---|\n")
		for _, r := range pm.Revocations {
			scope := "all accounts"
			if !r.AllUsers {
				scope = fmt.Sprintf("%d account(s)", len(r.UserIDs))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %t | %s |\n", r.ID, strings.Join(r.Kinds, ", "), ts(r.IssuedBefore), scope, r.MustReset, mdCell(r.Reason))
		}
	}
	if len(pm.Notifications) > 0 {
		b.WriteString("\n| Notification | Subject | Accounts | Queued | Delivered | Failed | Status |\n|---|---|---|---|---|---|---|\n")
		for _, n := range pm.Notifications {
			fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %d | %d | %s |\n", n.ID, mdCell(n.Subject), n.Total, n.Enqueued,
				n.Delivery.Delivered, n.Delivery.Failed, n.Status)
		}
	}
	b.WriteString("\n## Accounts affected\n\n")
	fmt.Fprintf(&b, "%d account(s).", pm.Affected.Count)
	if len(pm.Affected.IDs) > 0 {
		b.WriteString(" Ids:\n\n")
		for _, id := range pm.Affected.IDs {
			fmt.Fprintf(&b, "- `%s`\n", id)
		}
		if pm.Affected.Truncated {
			fmt.Fprintf(&b, "- … (list truncated at %d)\n", len(pm.Affected.IDs))
		}
	} else {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\n_Generated %s by vigil._\n", ts(pm.GeneratedAt))
	return b.String()
}
