package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

type registerRequest struct {
	Username string         `json:"username"`
	Email    string         `json:"email"`
	Password vigil.Password `json:"password"`
	Phone    string         `json:"phone,omitempty"`
}

// register answers 202 whether or not the address is registered.
func (s *Server) register(w http.ResponseWriter, r *http.Request) error {
	var req registerRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.Register(r.Context(), service.Registration{
		Username: req.Username, Email: req.Email, Password: req.Password, Phone: req.Phone,
	}); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, statusBody{Status: "verification_sent"})
	return nil
}

type verifyRequest struct {
	Email string `json:"email"`
	Code  string `json:"code"`
}

type verifyResponse struct {
	ID       string `json:"id"`
	Username string `json:"username"`
}

func (s *Server) verify(w http.ResponseWriter, r *http.Request) error {
	var req verifyRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	a, err := s.svc.Verify(r.Context(), req.Email, req.Code)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusCreated, verifyResponse{ID: a.ID, Username: a.Username})
	return nil
}

type loginRequest struct {
	Identifier string         `json:"identifier"`
	Password   vigil.Password `json:"password"`
}

type loginResponse struct {
	Token     string    `json:"token"`
	SessionID string    `json:"session_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ns, err := s.svc.Login(r.Context(), req.Identifier, req.Password)
	if err != nil {
		return err
	}
	s.writeSession(w, r, ns)
	return nil
}

// writeSession is the one place a session token leaves the server: to its
// owner, once, in the answer that created it.
func (s *Server) writeSession(w http.ResponseWriter, r *http.Request, ns *service.NewSession) {
	s.writeJSON(w, r, http.StatusCreated, loginResponse{
		Token: ns.Token.Reveal(), SessionID: ns.Session.ID, ExpiresAt: ns.Session.ExpiresAt.UTC(),
	})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Logout(r.Context()); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// userResponse documents the two shapes of a lookup: the public profile, or
// the owner's private view (a superset).
type userResponse = vigil.PrivateProfile

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.LookupUser(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.writeView(w, r, v)
	return nil
}

func (s *Server) findUser(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	if len(q) != 1 || len(q["username"]) != 1 {
		return vigil.Errorf(vigil.EINVALID, "give exactly one query parameter: username")
	}
	v, err := s.svc.LookupUsername(r.Context(), q.Get("username"))
	if err != nil {
		return err
	}
	s.writeView(w, r, v)
	return nil
}

func (s *Server) writeView(w http.ResponseWriter, r *http.Request, v service.UserView) {
	if v.Private != nil {
		s.writeJSON(w, r, http.StatusOK, v.Private)
		return
	}
	s.writeJSON(w, r, http.StatusOK, v.Public)
}

func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p, err := s.svc.Me(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, p)
	return nil
}

type updateMeRequest struct {
	DisplayName string `json:"display_name"`
}

func (s *Server) updateMe(w http.ResponseWriter, r *http.Request) error {
	var req updateMeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	p, err := s.svc.UpdateProfile(r.Context(), req.DisplayName)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, p)
	return nil
}

// pageResponse is one page of a listing, newest first.
type pageResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

type loginActivityResponse = pageResponse[*vigil.LoginAttempt]

// servePage answers a listing: ?cursor= and ?limit= read strictly, one
// service call, an empty list rather than null.
func servePage[T any](s *Server, w http.ResponseWriter, r *http.Request, list func(context.Context, vigil.Page) ([]T, string, error)) error {
	q, err := query(r)
	if err != nil {
		return err
	}
	limit, err := parseLimit(q)
	if err != nil {
		return err
	}
	items, next, err := list(r.Context(), vigil.Page{Cursor: q.Get("cursor"), Limit: limit})
	if err != nil {
		return err
	}
	if items == nil {
		items = []T{}
	}
	s.writeJSON(w, r, http.StatusOK, pageResponse[T]{Items: items, NextCursor: next})
	return nil
}

func (s *Server) loginActivity(w http.ResponseWriter, r *http.Request) error {
	return servePage(s, w, r, s.svc.LoginActivity)
}
