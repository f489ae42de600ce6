package httpapi

import (
	"net/http"
	"net/url"
	"strconv"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

// Policy is the access policy of a route. The zero value is no policy at
// all, which NewServer refuses.
type Policy int

// Access policies.
const (
	PolicyUnset Policy = iota
	// PolicyPublic: anyone, signed in or not. Credentials are not read.
	PolicyPublic
	// PolicyAuthenticated: any valid session. What the caller then sees is
	// decided by the service (e.g. public profile or own private view).
	PolicyAuthenticated
	// PolicyOwner: a valid session, acting only on the caller's own
	// resources (the /v1/me family): there is no other owner to name.
	PolicyOwner
	// PolicyAdmin: a valid session of an account with the admin role.
	PolicyAdmin
)

var policyNames = map[Policy]string{
	PolicyPublic:        "public",
	PolicyAuthenticated: "authenticated",
	PolicyOwner:         "owner",
	PolicyAdmin:         "admin",
}

func (p Policy) String() string {
	if n, ok := policyNames[p]; ok {
		return n
	}
	return "unset"
}

// Route is one endpoint: its pattern, its access policy, its handler, and
// the Go types of its request and success bodies (documentation and the
// test that no response type can hold a secret).
type Route struct {
	Pattern  string
	Policy   Policy
	Handler  func(http.ResponseWriter, *http.Request) error
	Request  any // zero value of the request body type, or nil
	Response any // zero value of the success body type, or nil
}

// Routes lists every route the server serves, each with its policy. This
// is the one place to read to know who may call what.
func (s *Server) Routes() []Route {
	return []Route{
		{Pattern: "GET /healthz", Policy: PolicyPublic, Handler: s.healthz, Response: statusBody{}},
		{Pattern: "GET /readyz", Policy: PolicyPublic, Handler: s.readyz, Response: statusBody{}},
		{Pattern: "GET /metrics", Policy: PolicyPublic, Handler: s.metrics},
		{Pattern: "GET /openapi.json", Policy: PolicyPublic, Handler: s.openapi},

		{Pattern: "POST /v1/accounts", Policy: PolicyPublic, Handler: s.register, Request: registerRequest{}, Response: statusBody{}},
		{Pattern: "POST /v1/accounts/verify", Policy: PolicyPublic, Handler: s.verify, Request: verifyRequest{}, Response: verifyResponse{}},

		{Pattern: "POST /v1/password-resets", Policy: PolicyPublic, Handler: s.requestReset, Request: resetRequest{}, Response: statusBody{}},
		{Pattern: "POST /v1/password-resets/confirm", Policy: PolicyPublic, Handler: s.confirmReset, Request: confirmResetRequest{}},
		{Pattern: "GET /password-reset", Policy: PolicyPublic, Handler: s.resetPageGet},
		{Pattern: "POST /password-reset", Policy: PolicyPublic, Handler: s.resetPagePost},

		{Pattern: "POST /v1/email-changes/undo", Policy: PolicyPublic, Handler: s.undoEmailChange, Request: undoRequest{}},
		{Pattern: "GET /email-undo", Policy: PolicyPublic, Handler: s.undoPageGet},
		{Pattern: "POST /email-undo", Policy: PolicyPublic, Handler: s.undoPagePost},

		{Pattern: "POST /v1/sessions", Policy: PolicyPublic, Handler: s.login, Request: loginRequest{}, Response: loginResponse{}},
		{Pattern: "POST /v1/sessions/mfa", Policy: PolicyPublic, Handler: s.loginMFA, Request: mfaLoginRequest{}, Response: loginResponse{}},
		{Pattern: "DELETE /v1/sessions/current", Policy: PolicyOwner, Handler: s.logout},
		{Pattern: "POST /v1/sessions/current/reauth", Policy: PolicyOwner, Handler: s.reauth, Request: reauthRequest{}},

		{Pattern: "GET /v1/users/{id}", Policy: PolicyAuthenticated, Handler: s.getUser, Response: userResponse{}},
		{Pattern: "GET /v1/users", Policy: PolicyAuthenticated, Handler: s.findUser, Response: userResponse{}},

		{Pattern: "GET /v1/me", Policy: PolicyOwner, Handler: s.me, Response: vigil.PrivateProfile{}},
		{Pattern: "PATCH /v1/me", Policy: PolicyOwner, Handler: s.updateMe, Request: updateMeRequest{}, Response: vigil.PrivateProfile{}},
		{Pattern: "GET /v1/me/login-activity", Policy: PolicyOwner, Handler: s.loginActivity, Response: loginActivityResponse{}},
		{Pattern: "POST /v1/me/email", Policy: PolicyOwner, Handler: s.requestEmailChange, Request: emailChangeRequest{}, Response: statusBody{}},
		{Pattern: "POST /v1/me/email/confirm", Policy: PolicyOwner, Handler: s.confirmEmailChange, Request: codeRequest{}},
		{Pattern: "POST /v1/me/phone", Policy: PolicyOwner, Handler: s.requestPhoneChange, Request: phoneChangeRequest{}, Response: statusBody{}},
		{Pattern: "POST /v1/me/phone/confirm", Policy: PolicyOwner, Handler: s.confirmPhoneChange, Request: codeRequest{}},
		{Pattern: "PUT /v1/me/password", Policy: PolicyOwner, Handler: s.changePassword, Request: changePasswordRequest{}},
		{Pattern: "GET /v1/me/alert-settings", Policy: PolicyOwner, Handler: s.alertSettings, Response: alertSettingsResponse{}},
		{Pattern: "PUT /v1/me/alert-settings", Policy: PolicyOwner, Handler: s.putAlertSettings, Request: alertSettingsRequest{}, Response: alertSettingsResponse{}},
		{Pattern: "GET /v1/me/notifications", Policy: PolicyOwner, Handler: s.notifications, Response: noticesResponse{}},
		{Pattern: "POST /v1/me/mfa/totp", Policy: PolicyOwner, Handler: s.startTOTP, Response: totpEnrolment{}},
		{Pattern: "POST /v1/me/mfa/totp/confirm", Policy: PolicyOwner, Handler: s.confirmTOTP, Request: codeRequest{}, Response: recoveryCodes{}},
		{Pattern: "DELETE /v1/me/mfa/totp", Policy: PolicyOwner, Handler: s.disableTOTP, Request: disableTOTPRequest{}},
		{Pattern: "GET /v1/me/sessions", Policy: PolicyOwner, Handler: s.listSessions, Response: sessionsResponse{}},
		{Pattern: "DELETE /v1/me/sessions/{id}", Policy: PolicyOwner, Handler: s.revokeSession},
		{Pattern: "POST /v1/me/sessions/revoke-all", Policy: PolicyOwner, Handler: s.revokeAll, Request: revokeAllRequest{}, Response: revokeAllResponse{}},

		{Pattern: "POST /admin/v1/revocations", Policy: PolicyAdmin, Handler: s.createRevocation, Request: revocationRequest{}, Response: service.RevocationView{}},
		{Pattern: "GET /admin/v1/revocations", Policy: PolicyAdmin, Handler: s.listRevocations, Response: revocationsResponse{}},
		{Pattern: "GET /admin/v1/security-events", Policy: PolicyAdmin, Handler: s.securityEvents, Response: securityEventsResponse{}},
		{Pattern: "POST /admin/v1/incidents", Policy: PolicyAdmin, Handler: s.openIncident, Request: incidentRequest{}, Response: service.IncidentView{}},
		{Pattern: "GET /admin/v1/incidents", Policy: PolicyAdmin, Handler: s.listIncidents, Response: incidentsResponse{}},
		{Pattern: "GET /admin/v1/incidents/{id}", Policy: PolicyAdmin, Handler: s.getIncident, Response: service.IncidentView{}},
		{Pattern: "PATCH /admin/v1/incidents/{id}", Policy: PolicyAdmin, Handler: s.patchIncident, Request: incidentPatch{}, Response: service.IncidentView{}},
		{Pattern: "GET /admin/v1/incidents/{id}/timeline", Policy: PolicyAdmin, Handler: s.incidentTimeline, Response: timelineResponse{}},
		{Pattern: "POST /admin/v1/incidents/{id}/timeline", Policy: PolicyAdmin, Handler: s.addIncidentNote, Request: noteRequest{}, Response: service.TimelineView{}},
		{Pattern: "POST /admin/v1/incidents/{id}/affected-accounts", Policy: PolicyAdmin, Handler: s.addAffected, Request: affectedRequest{}, Response: affectedResponse{}},
		{Pattern: "POST /admin/v1/incidents/{id}/notifications", Policy: PolicyAdmin, Handler: s.notifyAffected, Request: notifyRequest{}, Response: service.NotificationView{}},
		{Pattern: "GET /admin/v1/incidents/{id}/notifications", Policy: PolicyAdmin, Handler: s.listNotifications, Response: notificationsResponse{}},
		{Pattern: "GET /admin/v1/incidents/{id}/postmortem", Policy: PolicyAdmin, Handler: s.postmortem, Response: service.Postmortem{}},
	}
}

type statusBody struct {
	Status string `json:"status"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) error {
	s.writeJSON(w, r, http.StatusOK, statusBody{Status: "ok"})
	return nil
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) error {
	if err := s.ready(r.Context()); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "not ready", Err: err}
	}
	s.writeJSON(w, r, http.StatusOK, statusBody{Status: "ready"})
	return nil
}

func (s *Server) metrics(w http.ResponseWriter, r *http.Request) error {
	s.metricsHandler().ServeHTTP(w, r)
	return nil
}

// query parses the query string strictly: a malformed one is EINVALID
// rather than silently read as empty.
func query(r *http.Request) (url.Values, error) {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, vigil.Errorf(vigil.EINVALID, "malformed query string")
	}
	return q, nil
}

// parseLimit reads ?limit= (1..100, default 20).
func parseLimit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 20, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 100 {
		return 0, vigil.Errorf(vigil.EINVALID, "limit must be a whole number from 1 to 100")
	}
	return n, nil
}
