package service

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"strings"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/totp"
)

// Enrolment is what a user needs to add vigil to an authenticator app. It
// is answered once, to the owner, and the secret is stored only sealed.
type Enrolment struct {
	Secret string
	URI    string
	QRPNG  []byte
}

// ErrBadMFACode is the one answer to a wrong, replayed or used-up second
// factor.
var ErrBadMFACode = &vigil.Error{Code: vigil.EFORBIDDEN, Type: "invalid-mfa-code", Message: "the code is wrong, used or expired"}

func totpAD(accountID string) []byte { return []byte("vigil totp secret:" + accountID) }

// StartTOTP begins a TOTP enrolment for the caller: a new secret, its
// otpauth URI and a QR code. It needs a recent re-authentication, and
// ECONFLICT if 2FA is already on.
func (s *Service) StartTOTP(ctx context.Context) (*Enrolment, error) {
	if _, err := s.requireRecentAuth(ctx); err != nil {
		return nil, err
	}
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return nil, err
	}
	if acct.MFAEnabled {
		return nil, vigil.Errorf(vigil.ECONFLICT, "two-factor authentication is already on; turn it off first")
	}
	secret := totp.GenerateSecret()
	sealed, err := s.sealer.Seal([]byte(secret), totpAD(acct.ID))
	if err != nil {
		return nil, vigil.Internal(err)
	}
	if err := s.store.PutTOTP(ctx, &vigil.TOTP{AccountID: acct.ID, Sealed: sealed, CreatedAt: s.now()}); err != nil {
		return nil, err
	}
	uri := totp.URI(s.cfg.Issuer, acct.Username, secret)
	png, err := totp.QRPNG(uri, 256)
	if err != nil {
		return nil, vigil.Internal(err)
	}
	return &Enrolment{Secret: secret, URI: uri, QRPNG: png}, nil
}

// ConfirmTOTP turns 2FA on with a first code from the app and returns ten
// recovery codes, shown this once and stored as keyed hashes. A wrong
// code is ErrBadMFACode; no pending enrolment is ENOTFOUND.
func (s *Service) ConfirmTOTP(ctx context.Context, code string) ([]string, error) {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return nil, err
	}
	t, err := s.store.TOTPByAccount(ctx, acct.ID)
	if err != nil {
		return nil, err
	}
	if !t.ConfirmedAt.IsZero() {
		return nil, vigil.Errorf(vigil.ECONFLICT, "two-factor authentication is already on")
	}
	secret, err := s.sealer.Open(t.Sealed, totpAD(acct.ID))
	if err != nil {
		return nil, vigil.Internal(err)
	}
	step, ok := totp.Verify(string(secret), strings.TrimSpace(code), s.now(), 0)
	if !ok {
		return nil, ErrBadMFACode
	}
	codes := totp.GenerateRecoveryCodes(10)
	hashes := make([]vigil.TokenHash, len(codes))
	for i, c := range codes {
		hashes[i] = s.recoveryHash(acct.ID, c)
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticeMFAEnabled, "Two-factor authentication is on",
		"Two-factor authentication was turned on for your account. Keep your recovery codes somewhere safe.")
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditMFAEnabled, acct.ID, map[string]any{"method": "totp", "recovery_codes": len(codes)}))
	if err := s.store.EnableTOTP(ctx, acct.ID, step, hashes, s.now(), fx); err != nil {
		return nil, err
	}
	s.kick()
	s.log.InfoContext(ctx, "2FA enabled", "account_id", acct.ID)
	return codes, nil
}

// DisableTOTP turns 2FA off; it needs the password and a current code (or
// a recovery code).
func (s *Service) DisableTOTP(ctx context.Context, pw vigil.Password, code string) error {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return err
	}
	if !acct.MFAEnabled {
		return vigil.Errorf(vigil.ECONFLICT, "two-factor authentication is off")
	}
	if err := s.checkPassword(ctx, acct, pw); err != nil {
		return err
	}
	if err := s.checkSecondFactor(ctx, acct.ID, code); err != nil {
		return err
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticeMFADisabled, "Two-factor authentication is off",
		"Two-factor authentication was turned off for your account. If this was not you, change your password and turn it on again.")
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditMFADisabled, acct.ID, map[string]any{"method": "totp"}))
	if err := s.store.DisableTOTP(ctx, acct.ID, s.now(), fx); err != nil {
		return err
	}
	s.kick()
	s.log.InfoContext(ctx, "2FA disabled", "account_id", acct.ID)
	return nil
}

// recoveryHash keys the hash of a recovery code with the server's secret:
// the codes have 50 bits, which a plain hash would not protect from a
// stolen database.
func (s *Service) recoveryHash(accountID, code string) vigil.TokenHash {
	m := hmac.New(sha256.New, s.recoveryKey)
	fmt.Fprintf(m, "%s:%s", accountID, totp.NormalizeRecoveryCode(code))
	var h vigil.TokenHash
	copy(h[:], m.Sum(nil))
	return h
}

// checkSecondFactor accepts a current TOTP code (each time step once) or
// an unused recovery code, and spends it. Failures count against the
// account's sign-in throttle.
func (s *Service) checkSecondFactor(ctx context.Context, accountID, code string) error {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return ErrBadMFACode
	}
	key := "mfa-acct:" + accountID
	ok, wait, err := s.store.Throttle(ctx, key, s.cfg.ThrottleAccountSource, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return vigil.RateLimited(wait)
	}
	good := false
	if len(code) == totp.Digits {
		t, err := s.store.TOTPByAccount(ctx, accountID)
		if err != nil {
			return err
		}
		secret, err := s.sealer.Open(t.Sealed, totpAD(accountID))
		if err != nil {
			return vigil.Internal(err)
		}
		if step, ok := totp.Verify(string(secret), code, s.now(), t.LastStep); ok {
			if good, err = s.store.UseTOTPStep(ctx, accountID, step); err != nil {
				return err
			}
		}
	} else {
		if good, err = s.store.UseRecoveryCode(ctx, accountID, s.recoveryHash(accountID, code), s.now()); err != nil {
			return err
		}
	}
	if !good {
		return ErrBadMFACode
	}
	return s.store.ResetThrottle(ctx, key)
}

// mfaChallenge answers a right password on an account with 2FA: an
// mfa-required refusal carrying a challenge for POST /v1/sessions/mfa.
func (s *Service) mfaChallenge(ctx context.Context, acct *vigil.Account) error {
	tok := vigil.NewToken()
	now := s.now()
	c := vigil.ClientFromContext(ctx)
	ch := &vigil.MFAChallenge{ID: vigil.NewID(), AccountID: acct.ID, TokenHash: tok.Hash(), CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.MFAChallengeTTL), IP: c.IP, UserAgent: c.UserAgent}
	if err := s.store.CreateMFAChallenge(ctx, ch); err != nil {
		return err
	}
	return &vigil.Error{Code: vigil.EUNAUTHENTICATED, Type: "mfa-required",
		Message:   "a second factor is required: send a code from your authenticator app or a recovery code with the challenge",
		Challenge: tok.Reveal()}
}

// ErrBadChallenge answers an unknown, expired, used or exhausted challenge.
var ErrBadChallenge = vigil.Errorf(vigil.EUNAUTHENTICATED, "the sign-in challenge is invalid or expired; sign in again")

// CompleteMFA finishes a sign-in with 2FA: the challenge from the
// mfa-required answer and a TOTP or recovery code. A challenge takes at
// most MFAChallengeAttempts wrong codes.
func (s *Service) CompleteMFA(ctx context.Context, challenge, code string) (*NewSession, error) {
	if !wellFormedToken(challenge) {
		return nil, ErrBadChallenge
	}
	ch, err := s.store.MFAChallengeByHash(ctx, vigil.ParseToken(challenge).Hash())
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, ErrBadChallenge
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if !ch.UsedAt.IsZero() || !now.Before(ch.ExpiresAt) || ch.Attempts >= s.cfg.MFAChallengeAttempts {
		return nil, ErrBadChallenge
	}
	if cut, err := s.revoked(ctx, vigil.CredMFAChallenges, ch.AccountID, ch.CreatedAt); err != nil {
		return nil, err
	} else if cut {
		s.rejected(ctx, "cutoff")
		return nil, ErrBadChallenge
	}
	client := vigil.ClientFromContext(ctx)
	attempt := &vigil.LoginAttempt{ID: vigil.NewID(), AccountID: ch.AccountID, IP: client.IP,
		UserAgent: client.UserAgent, DeviceLabel: DeviceLabel(client.UserAgent)}
	if err := s.checkSecondFactor(ctx, ch.AccountID, code); err != nil {
		if vigil.ErrorCode(err) == vigil.EFORBIDDEN {
			if _, aerr := s.store.AddMFAChallengeAttempt(ctx, ch.ID); aerr != nil {
				return nil, aerr
			}
			attempt.Result = vigil.LoginFailed
			s.recordAs(ctx, attempt, vigil.AuditMFAChallengeFailed)
		}
		return nil, err
	}
	tok := vigil.NewToken()
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: ch.AccountID, TokenHash: tok.Hash(), CreatedAt: now, LastSeenAt: now,
		ReauthAt: now, MFAAt: now, ExpiresAt: now.Add(s.cfg.SessionLifetime), IP: client.IP, UserAgent: client.UserAgent,
		DeviceLabel: attempt.DeviceLabel}
	if err := s.store.CompleteMFAChallenge(ctx, ch.ID, sess); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return nil, ErrBadChallenge
		}
		return nil, err
	}
	if acct, err := s.store.AccountByID(ctx, ch.AccountID); err == nil {
		s.noticeNewDevice(ctx, acct, attempt)
	}
	attempt.Result = vigil.LoginSuccess
	s.recordAs(ctx, attempt, vigil.AuditMFAChallengePassed)
	s.log.InfoContext(ctx, "signed in with 2FA", "account_id", ch.AccountID, "session_id", sess.ID)
	return &NewSession{Token: tok, Session: sess}, nil
}
