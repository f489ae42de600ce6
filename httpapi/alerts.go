package httpapi

import (
	"net/http"
)

type webhookSettings struct {
	URL    string `json:"url"`
	Format string `json:"format,omitempty"`
}

type alertSettingsResponse struct {
	Channels     map[string][]string `json:"channels"`
	Webhook      *webhookSettings    `json:"webhook"`
	SMSAvailable bool                `json:"sms_available"`
	// WebhookSecret is answered once, when a new webhook URL was set: the
	// key receivers check signatures with.
	WebhookSecret string `json:"webhook_secret,omitempty"`
}

type alertSettingsRequest struct {
	Channels map[string][]string `json:"channels"`
	Webhook  *webhookSettings    `json:"webhook,omitempty"`
}

func (s *Server) alertSettings(w http.ResponseWriter, r *http.Request) error {
	return s.writeAlertSettings(w, r, "")
}

func (s *Server) writeAlertSettings(w http.ResponseWriter, r *http.Request, secret string) error {
	v, err := s.svc.AlertSettings(r.Context())
	if err != nil {
		return err
	}
	res := alertSettingsResponse{Channels: v.Channels, SMSAvailable: v.SMSAvailable, WebhookSecret: secret}
	if v.WebhookURL != "" {
		res.Webhook = &webhookSettings{URL: v.WebhookURL, Format: v.WebhookFormat}
	}
	s.writeJSON(w, r, http.StatusOK, res)
	return nil
}

func (s *Server) putAlertSettings(w http.ResponseWriter, r *http.Request) error {
	var req alertSettingsRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	url, format := "", ""
	if req.Webhook != nil {
		url, format = req.Webhook.URL, req.Webhook.Format
	}
	secret, err := s.svc.SetAlertSettings(r.Context(), req.Channels, url, format)
	if err != nil {
		return err
	}
	return s.writeAlertSettings(w, r, secret)
}
