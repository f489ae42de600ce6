package httpapi

import (
	"net/http"

	"github.com/vigil-dev/vigil"
)

type reauthRequest struct {
	Password vigil.Password `json:"password,omitempty"`
	Code     string         `json:"code,omitempty"`
}

func (s *Server) reauth(w http.ResponseWriter, r *http.Request) error {
	var req reauthRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.Reauthenticate(r.Context(), req.Password, req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type sessionsResponse struct {
	Items []vigil.SessionView `json:"items"`
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	items, err := s.svc.Sessions(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, sessionsResponse{Items: items})
	return nil
}

func (s *Server) revokeSession(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.RevokeSession(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type revokeAllRequest struct {
	IncludeCurrent bool `json:"include_current"`
}

type revokeAllResponse struct {
	Revoked int64 `json:"revoked"`
}

func (s *Server) revokeAll(w http.ResponseWriter, r *http.Request) error {
	var req revokeAllRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	n, err := s.svc.RevokeAllSessions(r.Context(), req.IncludeCurrent)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, revokeAllResponse{Revoked: n})
	return nil
}

type changePasswordRequest struct {
	CurrentPassword vigil.Password `json:"current_password"`
	NewPassword     vigil.Password `json:"new_password"`
}

func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	var req changePasswordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.ChangePassword(r.Context(), req.CurrentPassword, req.NewPassword); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type noticesResponse = pageResponse[*vigil.Notice]

func (s *Server) notifications(w http.ResponseWriter, r *http.Request) error {
	return servePage(s, w, r, s.svc.Notices)
}
