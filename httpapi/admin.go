package httpapi

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

type revocationRequest struct {
	Kinds        []string   `json:"kinds,omitempty"`
	IssuedBefore *time.Time `json:"issued_before,omitempty"`
	UserIDs      []string   `json:"user_ids,omitempty"`
	Reason       string     `json:"reason"`
	MustReset    bool       `json:"must_reset_password,omitempty"`
	IncidentID   string     `json:"incident_id,omitempty"`
}

func (s *Server) createRevocation(w http.ResponseWriter, r *http.Request) error {
	var req revocationRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in := service.RevocationRequest{Kinds: req.Kinds, AccountIDs: req.UserIDs, Reason: req.Reason, MustReset: req.MustReset,
		IncidentID: req.IncidentID}
	if req.IssuedBefore != nil {
		in.IssuedBefore = *req.IssuedBefore
	}
	rev, err := s.svc.Revoke(r.Context(), in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, service.NewRevocationView(rev))
	return nil
}

type revocationsResponse struct {
	Items []service.RevocationView `json:"items"`
}

func (s *Server) listRevocations(w http.ResponseWriter, r *http.Request) error {
	rs, err := s.svc.Revocations(r.Context())
	if err != nil {
		return err
	}
	out := revocationsResponse{Items: make([]service.RevocationView, 0, len(rs))}
	for _, x := range rs {
		out.Items = append(out.Items, service.NewRevocationView(x))
	}
	s.writeJSON(w, r, http.StatusOK, out)
	return nil
}

type securityEventsResponse = pageResponse[*vigil.SecurityEvent]

func (s *Server) securityEvents(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	f := vigil.SecurityEventFilter{Kind: q.Get("kind"), Severity: q.Get("severity"), Subject: q.Get("subject")}
	for name, dst := range map[string]*time.Time{"since": &f.Since, "until": &f.Until} {
		if v := q.Get(name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return vigil.Errorf(vigil.EINVALID, "%s must be an RFC 3339 time", name)
			}
			*dst = t
		}
	}
	return servePage(s, w, r, func(ctx context.Context, p vigil.Page) ([]*vigil.SecurityEvent, string, error) {
		return s.svc.SecurityEvents(ctx, f, p)
	})
}

type incidentRequest struct {
	Title       string     `json:"title"`
	Severity    string     `json:"severity"`
	Description string     `json:"description,omitempty"`
	DetectedAt  *time.Time `json:"detected_at,omitempty"`
}

func (s *Server) openIncident(w http.ResponseWriter, r *http.Request) error {
	var req incidentRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	in := service.IncidentInput{Title: req.Title, Severity: req.Severity, Description: req.Description}
	if req.DetectedAt != nil {
		in.DetectedAt = *req.DetectedAt
	}
	v, err := s.svc.OpenIncident(r.Context(), in)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, v)
	return nil
}

type incidentsResponse = pageResponse[service.IncidentView]

func (s *Server) listIncidents(w http.ResponseWriter, r *http.Request) error {
	return servePage(s, w, r, s.svc.Incidents)
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.Incident(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, v)
	return nil
}

type incidentPatch struct {
	Status            *string `json:"status,omitempty"`
	RegulatorNotified *bool   `json:"regulator_notified,omitempty"`
	Note              string  `json:"note,omitempty"`
}

func (s *Server) patchIncident(w http.ResponseWriter, r *http.Request) error {
	var req incidentPatch
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := s.svc.UpdateIncident(r.Context(), r.PathValue("id"),
		service.IncidentUpdate{Status: req.Status, RegulatorNotified: req.RegulatorNotified, Note: req.Note})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, v)
	return nil
}

type timelineResponse struct {
	Items []service.TimelineView `json:"items"`
}

func (s *Server) incidentTimeline(w http.ResponseWriter, r *http.Request) error {
	es, err := s.svc.Timeline(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, timelineResponse{Items: service.TimelineViews(es)})
	return nil
}

type noteRequest struct {
	Text string `json:"text"`
}

func (s *Server) addIncidentNote(w http.ResponseWriter, r *http.Request) error {
	var req noteRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	e, err := s.svc.AddIncidentNote(r.Context(), r.PathValue("id"), req.Text)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, service.TimelineViews([]*vigil.TimelineEntry{e})[0])
	return nil
}

type affectedRequest struct {
	UserIDs []string `json:"user_ids"`
}

type affectedResponse struct {
	Added int `json:"added"`
}

func (s *Server) addAffected(w http.ResponseWriter, r *http.Request) error {
	var req affectedRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n, err := s.svc.AddAffectedAccounts(r.Context(), r.PathValue("id"), req.UserIDs)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, affectedResponse{Added: n})
	return nil
}

type notifyRequest struct {
	Subject   string `json:"subject"`
	Body      string `json:"body"`
	PerMinute int    `json:"per_minute,omitempty"`
}

func (s *Server) notifyAffected(w http.ResponseWriter, r *http.Request) error {
	var req notifyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := s.svc.NotifyAffected(r.Context(), r.PathValue("id"),
		service.NotificationRequest{Subject: req.Subject, Body: req.Body, PerMinute: req.PerMinute})
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, v)
	return nil
}

type notificationsResponse struct {
	Items []service.NotificationView `json:"items"`
}

func (s *Server) listNotifications(w http.ResponseWriter, r *http.Request) error {
	items, err := s.svc.IncidentNotifications(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, notificationsResponse{Items: items})
	return nil
}

// postmortem answers JSON, or Markdown when asked with ?format=markdown or
// an Accept header that prefers text/markdown.
func (s *Server) postmortem(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	format := q.Get("format")
	if format == "" && strings.Contains(r.Header.Get("Accept"), "text/markdown") {
		format = "markdown"
	}
	if format != "" && format != "json" && format != "markdown" {
		return vigil.Errorf(vigil.EINVALID, "format must be json or markdown")
	}
	pm, err := s.svc.Postmortem(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if format == "markdown" {
		w.Header().Set("Content-Type", "text/markdown; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="postmortem-`+pm.Incident.ID+`.md"`)
		_, _ = w.Write([]byte(pm.Markdown()))
		return nil
	}
	s.writeJSON(w, r, http.StatusOK, pm)
	return nil
}
