package httpapi

import (
	"errors"
	"html/template"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/service"
)

type resetRequest struct {
	Identifier string `json:"identifier"`
}

// requestReset answers 202 with the same body whatever the identifier.
func (s *Server) requestReset(w http.ResponseWriter, r *http.Request) error {
	var req resetRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.RequestReset(r.Context(), req.Identifier); err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusAccepted, statusBody{Status: "reset_requested"})
	return nil
}

type confirmResetRequest struct {
	Token       string         `json:"token"`
	NewPassword vigil.Password `json:"new_password"`
	MFACode     string         `json:"mfa_code,omitempty"`
}

func (s *Server) confirmReset(w http.ResponseWriter, r *http.Request) error {
	var req confirmResetRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.ConfirmReset(r.Context(), req.Token, req.NewPassword, req.MFACode); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// The reset page: the link in the mail opens a plain HTML form that posts
// back to the same path. No script, no third-party anything; the token
// rides in a hidden field, and Referrer-Policy no-referrer keeps it out of
// Referer headers.
var resetPage = template.Must(template.New("reset").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>vigil: choose a new password</title></head>
<body>
<h1>Choose a new password</h1>
{{if .Message}}<p role="alert">{{.Message}}</p>{{end}}
{{if .Done}}<p>Your password was changed and every session was signed out. Sign in with the new password.</p>
{{else if .Gone}}<p>Ask for a new reset link in the app.</p>
{{else}}<form method="post" action="/password-reset">
<input type="hidden" name="token" value="{{.Token}}">
<p><label>New password (at least 15 characters)<br><input type="password" name="new_password" autocomplete="new-password" required minlength="8"></label></p>
<p><label>Code from your authenticator app (only if your account has two-factor authentication)<br><input name="mfa_code" inputmode="numeric" autocomplete="one-time-code"></label></p>
<p><button type="submit">Set password</button></p>
</form>{{end}}
<p>vigil never asks for your password by mail.</p>
</body></html>
`))

type resetPageData struct {
	Token, Message string
	Done           bool // the password was changed
	Gone           bool // the link cannot be used: no form
}

func (s *Server) writeResetPage(w http.ResponseWriter, status int, d resetPageData) error {
	return writePage(w, resetPage, status, d)
}

// writePage answers with a page for browsers: HTML, no script, forms only
// to this origin.
func writePage(w http.ResponseWriter, t *template.Template, status int, d resetPageData) error {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	return t.Execute(w, d)
}

// readPageForm reads a form posted by one of the pages, or says why not
// (a message for the page and its status).
func readPageForm(r *http.Request) (url.Values, int, string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/x-www-form-urlencoded" {
		return nil, http.StatusUnsupportedMediaType, "Send the form from this page."
	}
	if err := r.ParseForm(); err != nil {
		return nil, http.StatusBadRequest, "The form could not be read."
	}
	return r.PostForm, 0, ""
}

func (s *Server) resetPageGet(w http.ResponseWriter, r *http.Request) error {
	q, err := query(r)
	if err != nil {
		return s.writeResetPage(w, http.StatusBadRequest, resetPageData{Message: "This link is malformed. Ask for a new one."})
	}
	tok := q.Get("token")
	if tok == "" || len(tok) > 128 {
		return s.writeResetPage(w, http.StatusBadRequest, resetPageData{Message: "This link is incomplete. Ask for a new one."})
	}
	return s.writeResetPage(w, http.StatusOK, resetPageData{Token: tok})
}

func (s *Server) resetPagePost(w http.ResponseWriter, r *http.Request) error {
	form, status, msg := readPageForm(r)
	if form == nil {
		return s.writeResetPage(w, status, resetPageData{Message: msg})
	}
	tok := form.Get("token")
	err := s.svc.ConfirmReset(r.Context(), tok, vigil.Password(form.Get("new_password")), strings.TrimSpace(form.Get("mfa_code")))
	if err != nil {
		code := vigil.ErrorCode(err)
		if code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
			s.log.ErrorContext(r.Context(), "reset page failed", "err", err)
		}
		d := resetPageData{Token: tok, Message: vigil.ErrorMessage(err)}
		if errors.Is(err, service.ErrBadResetToken) {
			d.Token, d.Gone = "", true
		}
		return s.writeResetPage(w, StatusOf(code), d)
	}
	return s.writeResetPage(w, http.StatusOK, resetPageData{Done: true})
}
