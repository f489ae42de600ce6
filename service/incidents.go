package service

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/vigil-dev/vigil"
)

// IncidentView is an incident as operators see it, with the regulator
// clock worked out.
type IncidentView struct {
	ID          string     `json:"id"`
	Title       string     `json:"title"`
	Severity    string     `json:"severity"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	DetectedAt  time.Time  `json:"detected_at"`
	CreatedAt   time.Time  `json:"created_at"`
	CreatedBy   string     `json:"created_by"`
	ClosedAt    *time.Time `json:"closed_at"`
	// The GDPR Art. 33 clock: the supervisory authority must hear of a
	// personal-data breach within 72 hours of its detection.
	RegulatorDeadline   time.Time  `json:"regulator_deadline"`
	RegulatorNotified   bool       `json:"regulator_notified"`
	RegulatorNotifiedAt *time.Time `json:"regulator_notified_at"`
	// Overdue: the deadline passed without the notification recorded.
	RegulatorOverdue bool `json:"regulator_overdue"`
	// SecondsLeft until the deadline (negative once passed); 0 once the
	// notification is recorded.
	RegulatorSecondsLeft int64 `json:"regulator_seconds_left"`
	AffectedAccounts     int   `json:"affected_accounts"`
}

func (s *Service) incidentView(inc *vigil.Incident) IncidentView {
	now := s.now()
	v := IncidentView{ID: inc.ID, Title: inc.Title, Severity: inc.Severity, Description: inc.Description, Status: inc.Status,
		DetectedAt: inc.DetectedAt, CreatedAt: inc.CreatedAt, CreatedBy: inc.CreatedBy, ClosedAt: timePtr(inc.ClosedAt),
		RegulatorDeadline: inc.DetectedAt.Add(vigil.RegulatorDeadline), RegulatorNotified: !inc.NotifiedAt.IsZero(),
		RegulatorNotifiedAt: timePtr(inc.NotifiedAt), AffectedAccounts: inc.Affected}
	if !v.RegulatorNotified {
		left := v.RegulatorDeadline.Sub(now)
		v.RegulatorSecondsLeft = int64(left / time.Second)
		v.RegulatorOverdue = left < 0
	}
	return v
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

// IncidentInput opens an incident.
type IncidentInput struct {
	Title       string
	Severity    string
	Description string
	DetectedAt  time.Time // zero: now
}

func checkText(field, v string, max int, required bool) (string, error) {
	v = strings.TrimSpace(v)
	if required && v == "" {
		return "", vigil.Errorf(vigil.EINVALID, "%s is required", field)
	}
	if len(v) > max {
		return "", vigil.Errorf(vigil.EINVALID, "%s must be at most %d bytes", field, max)
	}
	if strings.ContainsFunc(v, func(r rune) bool { return r != '\n' && r != '\t' && isControl(r) }) {
		return "", vigil.Errorf(vigil.EINVALID, "%s must not contain control characters", field)
	}
	return v, nil
}

// OpenIncident opens an incident and starts its timeline and its
// regulator clock, which runs from DetectedAt. Admins only. EINVALID for
// a missing title, an unknown severity or a detection time in the future.
func (s *Service) OpenIncident(ctx context.Context, in IncidentInput) (IncidentView, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return IncidentView{}, err
	}
	now := s.now()
	inc := &vigil.Incident{ID: vigil.NewID(), Severity: in.Severity, Status: vigil.IncidentOpen, CreatedAt: now,
		CreatedBy: actorName(admin), DetectedAt: in.DetectedAt.UTC().Truncate(time.Microsecond)}
	if inc.Title, err = checkText("title", in.Title, 200, true); err != nil {
		return IncidentView{}, err
	}
	if inc.Description, err = checkText("description", in.Description, 10000, false); err != nil {
		return IncidentView{}, err
	}
	if !slices.Contains(vigil.Severities, inc.Severity) {
		return IncidentView{}, vigil.Errorf(vigil.EINVALID, "severity must be one of: %s", strings.Join(vigil.Severities, ", "))
	}
	if inc.DetectedAt.IsZero() {
		inc.DetectedAt = now
	}
	if inc.DetectedAt.After(now) {
		return IncidentView{}, vigil.Errorf(vigil.EINVALID, "detected_at must not be in the future")
	}
	fx := vigil.Effects{
		Timeline: []*vigil.TimelineEntry{{ID: vigil.NewID(), IncidentID: inc.ID, At: now, Kind: vigil.TimelineOpened,
			Text:    fmt.Sprintf("Incident opened (%s): %s; detected %s", inc.Severity, inc.Title, inc.DetectedAt.Format(time.RFC3339)),
			ActorID: inc.CreatedBy}},
		Audit: []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAdminIncidentOpened, "", map[string]any{
			"incident_id": inc.ID, "title": inc.Title, "severity": inc.Severity})},
	}
	if err := s.store.CreateIncident(ctx, inc, fx); err != nil {
		return IncidentView{}, err
	}
	return s.incidentView(inc), nil
}

// Incident returns one incident. Admins only; ENOTFOUND if none.
func (s *Service) Incident(ctx context.Context, id string) (IncidentView, error) {
	if _, err := s.Admin(ctx); err != nil {
		return IncidentView{}, err
	}
	inc, err := s.incident(ctx, id)
	if err != nil {
		return IncidentView{}, err
	}
	return s.incidentView(inc), nil
}

func (s *Service) incident(ctx context.Context, id string) (*vigil.Incident, error) {
	if !vigil.ValidID(id) {
		return nil, vigil.Errorf(vigil.ENOTFOUND, "incident not found")
	}
	return s.store.IncidentByID(ctx, id)
}

// Incidents lists incidents, newest first. Admins only.
func (s *Service) Incidents(ctx context.Context, p vigil.Page) ([]IncidentView, string, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, "", err
	}
	list, next, err := s.store.Incidents(ctx, p)
	if err != nil {
		return nil, "", err
	}
	out := make([]IncidentView, 0, len(list))
	for _, inc := range list {
		out = append(out, s.incidentView(inc))
	}
	return out, next, nil
}

// IncidentUpdate changes an incident: its status, and the record that the
// regulator was notified. Nil fields stay as they are.
type IncidentUpdate struct {
	Status            *string
	RegulatorNotified *bool
	Note              string // why, for the timeline
}

// UpdateIncident applies u and records each change in the timeline.
// Admins only. EINVALID for an unknown status or an empty update;
// ECONFLICT for withdrawing a regulator notification already recorded.
func (s *Service) UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (IncidentView, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return IncidentView{}, err
	}
	inc, err := s.incident(ctx, id)
	if err != nil {
		return IncidentView{}, err
	}
	note, err := checkText("note", u.Note, 2000, false)
	if err != nil {
		return IncidentView{}, err
	}
	now := s.now()
	var fx vigil.Effects
	entry := func(kind, text string) {
		if note != "" {
			text += ": " + note
		}
		fx.Timeline = append(fx.Timeline, &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: inc.ID, At: now, Kind: kind,
			Text: text, ActorID: actorName(admin)})
	}
	if u.Status != nil && *u.Status != inc.Status {
		switch *u.Status {
		case vigil.IncidentOpen:
			inc.ClosedAt = time.Time{}
		case vigil.IncidentClosed:
			inc.ClosedAt = now
		default:
			return IncidentView{}, vigil.Errorf(vigil.EINVALID, "status must be open or closed")
		}
		inc.Status = *u.Status
		entry(vigil.TimelineStatus, "Status set to "+inc.Status)
	}
	if u.RegulatorNotified != nil && *u.RegulatorNotified != !inc.NotifiedAt.IsZero() {
		if !*u.RegulatorNotified {
			return IncidentView{}, vigil.Errorf(vigil.ECONFLICT, "the regulator notification is already recorded and cannot be withdrawn")
		}
		inc.NotifiedAt = now
		late := ""
		if now.After(inc.DetectedAt.Add(vigil.RegulatorDeadline)) {
			late = fmt.Sprintf(" (%s after the 72-hour deadline)", now.Sub(inc.DetectedAt.Add(vigil.RegulatorDeadline)).Round(time.Minute))
		}
		entry(vigil.TimelineRegulator, "Supervisory authority notified"+late)
	}
	if len(fx.Timeline) == 0 {
		return IncidentView{}, vigil.Errorf(vigil.EINVALID, "nothing to change: give a new status or regulator_notified: true")
	}
	fx.Audit = []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAdminIncidentUpdated, "", map[string]any{
		"incident_id": inc.ID, "status": inc.Status, "regulator_notified": !inc.NotifiedAt.IsZero()})}
	if err := s.store.UpdateIncident(ctx, inc, fx); err != nil {
		return IncidentView{}, err
	}
	return s.incidentView(inc), nil
}

// AddIncidentNote adds a hand-written entry to an incident's timeline.
// Admins only.
func (s *Service) AddIncidentNote(ctx context.Context, id, text string) (*vigil.TimelineEntry, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return nil, err
	}
	if _, err := s.incident(ctx, id); err != nil {
		return nil, err
	}
	if text, err = checkText("text", text, 5000, true); err != nil {
		return nil, err
	}
	e := &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: id, At: s.now(), Kind: vigil.TimelineNote, Text: text, ActorID: actorName(admin)}
	fx := vigil.Effects{Timeline: []*vigil.TimelineEntry{e},
		Audit: []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAdminIncidentUpdated, "", map[string]any{"incident_id": id, "note": e.ID})}}
	if err := s.store.AddEffects(ctx, fx); err != nil {
		return nil, err
	}
	return e, nil
}

// Timeline returns an incident's timeline, oldest first. Admins only.
func (s *Service) Timeline(ctx context.Context, id string) ([]*vigil.TimelineEntry, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.incident(ctx, id); err != nil {
		return nil, err
	}
	return s.store.Timeline(ctx, id)
}

// maxAffectedPerCall bounds one request's list of affected accounts.
const maxAffectedPerCall = 10000

// AddAffectedAccounts records accounts as affected by an incident and
// reports how many were new. Admins only. EINVALID for a malformed or
// unknown id (nothing is recorded then).
func (s *Service) AddAffectedAccounts(ctx context.Context, id string, accountIDs []string) (int, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return 0, err
	}
	if _, err := s.incident(ctx, id); err != nil {
		return 0, err
	}
	if len(accountIDs) == 0 || len(accountIDs) > maxAffectedPerCall {
		return 0, vigil.Errorf(vigil.EINVALID, "user_ids must list 1 to %d user ids", maxAffectedPerCall)
	}
	for _, a := range accountIDs {
		if !vigil.ValidID(a) {
			return 0, vigil.Errorf(vigil.EINVALID, "user_ids: %q is not a user id", a)
		}
	}
	now := s.now()
	e := &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: id, At: now, Kind: vigil.TimelineAffected,
		Text: fmt.Sprintf("%d account(s) recorded as affected", len(accountIDs)), ActorID: actorName(admin)}
	fx := vigil.Effects{Timeline: []*vigil.TimelineEntry{e},
		Audit: []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAdminIncidentUpdated, "", map[string]any{"incident_id": id, "affected_added": len(accountIDs)})}}
	return s.store.AddAffectedAccounts(ctx, id, accountIDs, fx)
}

// NotificationRequest asks for a templated notice to every account
// affected by an incident.
type NotificationRequest struct {
	Subject   string
	Body      string // text/template with .Username and .DisplayName
	PerMinute int    // pace of delivery; 0: DefaultNoticePace
}

// DefaultNoticePace is how many incident notices a minute are handed to
// the mail relay unless the operator says otherwise.
const DefaultNoticePace = 600

// noticeData is what an incident notice template may use. It holds
// nothing the account's owner does not already know.
type noticeData struct {
	Username    string
	DisplayName string
}

// NotificationView is a notification run with its progress.
type NotificationView struct {
	ID         string                 `json:"id"`
	Subject    string                 `json:"subject"`
	PerMinute  int                    `json:"per_minute"`
	Total      int                    `json:"total"`
	Enqueued   int                    `json:"enqueued"`
	Status     string                 `json:"status"`
	CreatedAt  time.Time              `json:"created_at"`
	FinishedAt *time.Time             `json:"finished_at"`
	Delivery   vigil.DeliveryProgress `json:"delivery"`
}

func parseNoticeTemplate(body string) (*template.Template, error) {
	t, err := template.New("notice").Option("missingkey=error").Parse(body)
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "body is not a valid template: %v", err)
	}
	// Execute once against sample data so that unknown fields are caught
	// now, not a million accounts later.
	if err := t.Execute(&bytes.Buffer{}, noticeData{Username: "sample", DisplayName: "Sample"}); err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "body template uses something other than {{.Username}} and {{.DisplayName}}")
	}
	return t, nil
}

// NotifyAffected starts a run sending one notice to every account recorded
// as affected by the incident, through each owner's chosen channels and
// the durable outbox. Notices are written in chunks by RunNotifications
// and their delivery is spread at PerMinute, so the mail relay sees a
// steady trickle rather than a million messages at once. Admins only.
// EINVALID for a bad template or pace, or an incident without affected
// accounts.
func (s *Service) NotifyAffected(ctx context.Context, id string, req NotificationRequest) (NotificationView, error) {
	admin, err := s.Admin(ctx)
	if err != nil {
		return NotificationView{}, err
	}
	inc, err := s.incident(ctx, id)
	if err != nil {
		return NotificationView{}, err
	}
	subject, err := checkText("subject", req.Subject, 200, true)
	if err != nil {
		return NotificationView{}, err
	}
	body, err := checkText("body", req.Body, 20000, true)
	if err != nil {
		return NotificationView{}, err
	}
	if _, err := parseNoticeTemplate(body); err != nil {
		return NotificationView{}, err
	}
	if req.PerMinute == 0 {
		req.PerMinute = DefaultNoticePace
	}
	if req.PerMinute < 1 || req.PerMinute > 100000 {
		return NotificationView{}, vigil.Errorf(vigil.EINVALID, "per_minute must be between 1 and 100000")
	}
	if inc.Affected == 0 {
		return NotificationView{}, vigil.Errorf(vigil.EINVALID, "no accounts are recorded as affected by this incident yet")
	}
	now := s.now()
	n := &vigil.IncidentNotification{ID: vigil.NewID(), IncidentID: id, Subject: subject, Body: body, PerMinute: req.PerMinute,
		Total: inc.Affected, NextDue: now, Status: "running", CreatedBy: actorName(admin), CreatedAt: now}
	fx := vigil.Effects{
		Timeline: []*vigil.TimelineEntry{{ID: vigil.NewID(), IncidentID: id, At: now, Kind: vigil.TimelineNotification,
			Text:    fmt.Sprintf("Notification %q to %d affected account(s) started, %d a minute", subject, inc.Affected, req.PerMinute),
			ActorID: n.CreatedBy, RefID: n.ID}},
		Audit: []*vigil.AuditEntry{s.auditEntry(ctx, vigil.AuditAdminNotification, "", map[string]any{
			"incident_id": id, "notification_id": n.ID, "accounts": inc.Affected})},
	}
	if err := s.store.CreateIncidentNotification(ctx, n, fx); err != nil {
		return NotificationView{}, err
	}
	s.kickJobs()
	return s.notificationView(ctx, n)
}

func (s *Service) notificationView(ctx context.Context, n *vigil.IncidentNotification) (NotificationView, error) {
	p, err := s.store.BatchProgress(ctx, n.ID)
	if err != nil {
		return NotificationView{}, err
	}
	return NotificationView{ID: n.ID, Subject: n.Subject, PerMinute: n.PerMinute, Total: n.Total, Enqueued: n.Enqueued,
		Status: n.Status, CreatedAt: n.CreatedAt, FinishedAt: timePtr(n.FinishedAt), Delivery: p}, nil
}

// IncidentNotifications lists an incident's notification runs with their
// progress. Admins only.
func (s *Service) IncidentNotifications(ctx context.Context, id string) ([]NotificationView, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, err
	}
	if _, err := s.incident(ctx, id); err != nil {
		return nil, err
	}
	runs, err := s.store.IncidentNotifications(ctx, id)
	if err != nil {
		return nil, err
	}
	out := make([]NotificationView, 0, len(runs))
	for _, n := range runs {
		v, err := s.notificationView(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// notifyChunk is how many notices one step of a run writes, in one
// transaction.
const notifyChunk = 200

// RunNotifications advances every running notification run by up to one
// chunk each, and reports whether any work is left. The server calls it
// from a loop; a run interrupted by a restart continues from its cursor,
// and two instances running it at once never write a chunk twice (the
// store refuses an advance from a stale cursor).
func (s *Service) RunNotifications(ctx context.Context) (more bool, err error) {
	runs, err := s.store.RunningNotifications(ctx)
	if err != nil {
		return false, err
	}
	for _, n := range runs {
		left, err := s.advanceRun(ctx, n)
		if err != nil && vigil.ErrorCode(err) != vigil.ECONFLICT {
			return false, err
		}
		more = more || left
	}
	return more, nil
}

func (s *Service) advanceRun(ctx context.Context, n *vigil.IncidentNotification) (bool, error) {
	tmpl, err := parseNoticeTemplate(n.Body)
	if err != nil {
		return false, err
	}
	ids, err := s.store.AffectedAccounts(ctx, n.IncidentID, n.Cursor, notifyChunk)
	if err != nil {
		return false, err
	}
	now := s.now()
	prev := n.Cursor
	interval := time.Minute / time.Duration(n.PerMinute)
	due := n.NextDue
	if due.Before(now) {
		due = now
	}
	var fx vigil.Effects
	for _, id := range ids {
		acct, err := s.store.AccountByID(ctx, id)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			n.Cursor = id // deleted since: nobody to tell
			continue
		} else if err != nil {
			return false, err
		}
		var body bytes.Buffer
		if err := tmpl.Execute(&body, noticeData{Username: acct.Username, DisplayName: acct.DisplayName}); err != nil {
			return false, err
		}
		one := s.noticeEffects(ctx, acct, vigil.NoticeSecurityIncident, n.Subject, body.String())
		for _, it := range one.Outbox {
			it.Batch, it.NextAttemptAt = n.ID, due
		}
		due = due.Add(interval)
		fx.Notices = append(fx.Notices, one.Notices...)
		fx.Outbox = append(fx.Outbox, one.Outbox...)
		n.Cursor = id
		n.Enqueued++
	}
	n.NextDue = due
	done := len(ids) < notifyChunk
	if done {
		n.Status, n.FinishedAt = "done", now
		fx.Timeline = append(fx.Timeline, &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: n.IncidentID, At: now,
			Kind: vigil.TimelineNotification, Text: fmt.Sprintf("Notification %q: all %d notice(s) queued for delivery", n.Subject, n.Enqueued),
			ActorID: "system", RefID: n.ID})
	}
	if err := s.store.AdvanceNotification(ctx, n, prev, fx); err != nil {
		return false, err
	}
	s.m.notices.Add(float64(len(fx.Notices)))
	if len(fx.Outbox) > 0 {
		s.kick()
	}
	return !done, nil
}

// kickJobs wakes RunJobs.
func (s *Service) kickJobs() {
	select {
	case s.jobKick <- struct{}{}:
	default:
	}
}

// RunJobs advances notification runs until ctx ends: at once when a run
// is started here, and every poll otherwise (for runs started on another
// instance, or left by a restart).
func (s *Service) RunJobs(ctx context.Context, poll time.Duration) {
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		more, err := s.RunNotifications(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "incident notifications not advanced", "err", err)
		}
		if more && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-s.jobKick:
		case <-t.C:
		}
	}
}
