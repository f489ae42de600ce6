package httpapi

import (
	"encoding/base64"
	"net/http"

	"github.com/vigil-dev/vigil"
)

type totpEnrolment struct {
	Secret     string `json:"secret"`
	OTPAuthURI string `json:"otpauth_uri"`
	QRPNG      string `json:"qr_png"` // a PNG, base64
}

// startTOTP answers the new secret to its owner, once; the store keeps it
// sealed.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request) error {
	en, err := s.svc.StartTOTP(r.Context())
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, totpEnrolment{Secret: en.Secret, OTPAuthURI: en.URI, QRPNG: base64.StdEncoding.EncodeToString(en.QRPNG)})
	return nil
}

type codeRequest struct {
	Code string `json:"code"`
}

type recoveryCodes struct {
	RecoveryCodes []string `json:"recovery_codes"`
}

func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	var req codeRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	codes, err := s.svc.ConfirmTOTP(r.Context(), req.Code)
	if err != nil {
		return err
	}
	s.writeJSON(w, r, http.StatusOK, recoveryCodes{RecoveryCodes: codes})
	return nil
}

type disableTOTPRequest struct {
	Password vigil.Password `json:"password"`
	Code     string         `json:"code"`
}

func (s *Server) disableTOTP(w http.ResponseWriter, r *http.Request) error {
	var req disableTOTPRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := s.svc.DisableTOTP(r.Context(), req.Password, req.Code); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type mfaLoginRequest struct {
	Challenge string `json:"challenge"`
	Code      string `json:"code"`
}

func (s *Server) loginMFA(w http.ResponseWriter, r *http.Request) error {
	var req mfaLoginRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	ns, err := s.svc.CompleteMFA(r.Context(), req.Challenge, req.Code)
	if err != nil {
		return err
	}
	s.writeSession(w, r, ns)
	return nil
}
