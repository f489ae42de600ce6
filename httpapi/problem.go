package httpapi

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/vigil-dev/vigil"
)

// ProblemTypePrefix starts every problem type URI; the rest is the slug.
const ProblemTypePrefix = "urn:vigil:problem:"

// Problem is an RFC 9457 problem details body.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Challenge completes a sign-in that needs a second factor
	// (mfa-required), with POST /v1/sessions/mfa.
	Challenge string `json:"challenge,omitempty"`
}

// codeStatus maps each vigil error code to its HTTP status and title. A code
// missing here is a 500.
var codeStatus = map[string]struct {
	status int
	title  string
}{
	vigil.EINVALID:         {http.StatusBadRequest, "Invalid request"},
	vigil.ETOOLARGE:        {http.StatusRequestEntityTooLarge, "Request too large"},
	vigil.EUNAUTHENTICATED: {http.StatusUnauthorized, "Authentication required"},
	vigil.EFORBIDDEN:       {http.StatusForbidden, "Forbidden"},
	vigil.ENOTFOUND:        {http.StatusNotFound, "Not found"},
	vigil.ECONFLICT:        {http.StatusConflict, "Conflict"},
	vigil.ERATELIMITED:     {http.StatusTooManyRequests, "Too many requests"},
	vigil.EUNSUPPORTED:     {http.StatusUnsupportedMediaType, "Unsupported media type"},
	vigil.EUNAVAILABLE:     {http.StatusServiceUnavailable, "Service unavailable"},
	vigil.EINTERNAL:        {http.StatusInternalServerError, "Internal error"},
}

// StatusOf returns the HTTP status for an error code.
func StatusOf(code string) int {
	if s, ok := codeStatus[code]; ok {
		return s.status
	}
	return http.StatusInternalServerError
}

// writeError answers with err as a problem. Only the public message of a
// *vigil.Error reaches the client; anything else is logged and answered as
// a bare 500.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	code := vigil.ErrorCode(err)
	cs, ok := codeStatus[code]
	if !ok {
		code, cs = vigil.EINTERNAL, codeStatus[vigil.EINTERNAL]
	}
	if code == vigil.EINTERNAL || code == vigil.EUNAVAILABLE {
		s.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	p := Problem{Type: ProblemTypePrefix + code, Title: cs.title, Status: cs.status, Detail: vigil.ErrorMessage(err)}
	var ve *vigil.Error
	if errors.As(err, &ve) {
		if ve.Type != "" {
			p.Type = ProblemTypePrefix + ve.Type
		}
		p.Challenge = ve.Challenge
	}
	h := w.Header()
	switch code {
	case vigil.EUNAUTHENTICATED:
		if r.Header.Get("Authorization") != "" {
			h.Set("WWW-Authenticate", `Bearer realm="vigil", error="invalid_token"`)
		} else {
			h.Set("WWW-Authenticate", `Bearer realm="vigil"`)
		}
	case vigil.ERATELIMITED:
		d := time.Second
		if ve != nil && ve.RetryAfter > 0 {
			d = ve.RetryAfter
		}
		h.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	writeProblem(w, p)
}

func writeProblem(w http.ResponseWriter, p Problem) {
	body, err := json.Marshal(p)
	if err != nil {
		body = []byte(`{"type":"` + ProblemTypePrefix + vigil.EINTERNAL + `","title":"Internal error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_, _ = w.Write(body)
}

// writeJSON answers with v as JSON. Secret types refuse to marshal, so a
// response that would carry one becomes a 500 instead of a leak.
func (s *Server) writeJSON(w http.ResponseWriter, r *http.Request, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		s.log.ErrorContext(r.Context(), "response not encodable", "path", r.URL.Path, slog.String("err", err.Error()))
		s.writeError(w, r, vigil.Internal(err))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
	_, _ = w.Write([]byte("\n"))
}
