package httpapi

import (
	"errors"
	"html/template"
	"net/http"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

type emailChangeRequest struct {
	Email string `json:"email"`
}

func (s *Server) requestEmailChange(w http.ResponseWriter, r *http.Request) error {
	var req emailChangeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.RequestEmailChange(r.Context(), req.Email); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, statusBody{Status: "verification_sent"})
	return nil
}

func (s *Server) confirmEmailChange(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.ConfirmEmailChange(r.Context(), req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type undoRequest struct {
	Token string `json:"token"`
}

func (s *Server) undoEmailChange(w http.ResponseWriter, r *http.Request) error {
	var req undoRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.UndoEmailChange(r.Context(), req.Token); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The page behind the undo link: one button that posts the token back.
var undoPage = template.Must(template.New("undo").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>vigil: undo a change of address</title></head>
<body>
<h1>Undo the change of your email address or phone number</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{if .Done}}<p>Your account is back at your previous address or number and every session was signed out. Reset your password now.</p>
{{else if .Token}}<form method="post" action="/email-undo">
<input type="hidden" name="token" value="{{.Token}}">
<p><button type="submit">Undo the change and sign out everywhere</button></p>
</form>{{end}}
<p>vigil never asks for your password by mail.</p>
</body></html>
`))

func (s *Server) writeUndoPage(w http.ResponseWriter, status int, d resetPageData) error {
	return writePage(w, undoPage, status, d)
}

func (s *Server) undoPageGet(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil || q.Get("token") == "" || len(q.Get("token")) > 128 {
		return s.writeUndoPage(w, http.StatusBadRequest, resetPageData{Message: "This link is malformed or incomplete."})
	}
	return s.writeUndoPage(w, http.StatusOK, resetPageData{Token: q.Get("token")})
}

func (s *Server) undoPagePost(w http.ResponseWriter, r *http.Request) error {
	form, status, msg := readPageForm(r)
	if form == nil {
		return s.writeUndoPage(w, status, resetPageData{Message: msg})
	}
	if err := s.svc.UndoEmailChange(r.Context(), form.Get("token")); err != nil {
		code := vigil.ErrorCode(err)
		if code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
			s.log.ErrorContext(r.Context(), "undo page failed", "err", err)
		}
		d := resetPageData{Message: vigil.ErrorMessage(err)}
		if !errors.Is(err, service.ErrBadUndo) {
			d.Token = form.Get("token")
		}
		return s.writeUndoPage(w, StatusOf(code), d)
	}
	return s.writeUndoPage(w, http.StatusOK, resetPageData{Done: true})
}

type phoneChangeRequest struct {
	Phone string `json:"phone"`
}

func (s *Server) requestPhoneChange(w http.ResponseWriter, r *http.Request) error {
	var req phoneChangeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.RequestPhoneChange(r.Context(), req.Phone); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, statusBody{Status: "verification_sent"})
	return nil
}

func (s *Server) confirmPhoneChange(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.ConfirmPhoneChange(r.Context(), req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
