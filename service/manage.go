package service

import (
	"context"
	"fmt"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/password"
)

// ErrReauthRequired answers a sensitive action whose session has not proved
// the password recently (Config.ReauthWindow).
var ErrReauthRequired = &vigil.Error{Code: vigil.EFORBIDDEN, Type: "reauth-required",
	Message: "this action needs a recent sign-in: re-authenticate with POST /v1/sessions/current/reauth"}

// Sessions lists the caller's live sessions, newest first, marking the one
// in use. EUNAUTHENTICATED without a caller.
func (s *Service) Sessions(ctx context.Context) ([]vigil.SessionView, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.ErrUnauthenticated
	}
	now := s.now()
	list, err := s.store.SessionsByAccount(ctx, a.AccountID, now)
	if err != nil {
		return nil, err
	}
	set, err := s.revocations(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]vigil.SessionView, 0, len(list))
	for _, x := range list {
		if now.Sub(x.LastSeenAt) >= s.cfg.SessionIdle || set.Revoked(vigil.CredSessions, x.AccountID, x.CreatedAt) {
			continue // over by idleness or a revocation, though not marked
		}
		out = append(out, vigil.SessionView{ID: x.ID, DeviceLabel: x.DeviceLabel, UserAgent: x.UserAgent, IP: x.IP,
			CreatedAt: x.CreatedAt, LastSeenAt: x.LastSeenAt, Current: x.ID == a.SessionID})
	}
	return out, nil
}

// RevokeSession ends one of the caller's sessions, the current one
// included. A session of another account, or none, is ENOTFOUND: the
// caller learns nothing of sessions that are not theirs.
func (s *Service) RevokeSession(ctx context.Context, id string) error {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return vigil.ErrUnauthenticated
	}
	notFound := vigil.Errorf(vigil.ENOTFOUND, "session not found")
	if !vigil.ValidID(id) {
		return notFound
	}
	list, err := s.store.SessionsByAccount(ctx, a.AccountID, s.now())
	if err != nil {
		return err
	}
	for _, x := range list {
		if x.ID == id {
			if err := s.store.RevokeSession(ctx, id, s.now()); err != nil {
				return err
			}
			s.audit(ctx, s.auditEntry(ctx, vigil.AuditSessionRevoked, a.AccountID, map[string]any{"session_id": id, "current": id == a.SessionID}))
			s.log.InfoContext(ctx, "session revoked", "account_id", a.AccountID, "session_id", id, "by_session", a.SessionID)
			return nil
		}
	}
	return notFound
}

// RevokeAllSessions logs the caller out everywhere: every session of the
// account, and the current one too if includeCurrent. It needs a recent
// re-authentication (ErrReauthRequired). It reports how many sessions it
// ended.
func (s *Service) RevokeAllSessions(ctx context.Context, includeCurrent bool) (int64, error) {
	a, err := s.requireRecentAuth(ctx)
	if err != nil {
		return 0, err
	}
	except := a.SessionID
	if includeCurrent {
		except = ""
	}
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return 0, err
	}
	client := vigil.ClientFromContext(ctx)
	fx := s.noticeEffects(ctx, acct, vigil.NoticeSessionsRevoked, "You were signed out everywhere",
		fmt.Sprintf("Every session of your account was signed out from %s (%s).", DeviceLabel(client.UserAgent), client.IP))
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditSessionsRevokedAll, a.AccountID, map[string]any{"include_current": includeCurrent}))
	n, err := s.store.RevokeAccountSessions(ctx, a.AccountID, except, s.now(), fx)
	if err != nil {
		return 0, err
	}
	s.kick()
	s.log.InfoContext(ctx, "all sessions revoked", "account_id", a.AccountID, "count", n, "include_current", includeCurrent)
	return n, nil
}

// requireRecentAuth returns the actor if its session proved the password
// within the ReauthWindow, else ErrReauthRequired.
func (s *Service) requireRecentAuth(ctx context.Context) (*vigil.Actor, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, vigil.ErrUnauthenticated
	}
	sess, err := s.store.SessionByTokenHash(ctx, a.TokenHash)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, vigil.ErrUnauthenticated
	} else if err != nil {
		return nil, err
	}
	if s.now().Sub(sess.ReauthAt) > s.cfg.ReauthWindow {
		return nil, ErrReauthRequired
	}
	return a, nil
}

// Reauthenticate proves the caller's password, or on an account with 2FA
// a current code, again for the current session, opening the window for
// sensitive actions. A wrong password is ErrWrongPassword, a wrong code
// ErrBadMFACode; both count against throttles.
func (s *Service) Reauthenticate(ctx context.Context, pw vigil.Password, code string) error {
	a, acct, err := s.caller(ctx)
	if err != nil {
		return err
	}
	switch {
	case (pw == "") == (code == ""):
		return vigil.Errorf(vigil.EINVALID, "give either the password or a code from the authenticator app")
	case code != "":
		// A TOTP code (or recovery code) proves presence as well as the
		// password does, for an account with 2FA.
		if !acct.MFAEnabled {
			return vigil.Errorf(vigil.EINVALID, "this account has no two-factor authentication: give the password")
		}
		if err := s.checkSecondFactor(ctx, acct.ID, code); err != nil {
			return err
		}
	default:
		if err := s.checkPassword(ctx, acct, pw); err != nil {
			return err
		}
	}
	return s.store.SetSessionReauth(ctx, a.SessionID, s.now())
}

// checkPassword verifies a signed-in caller's password under the account
// and source throttle of sign-in.
func (s *Service) checkPassword(ctx context.Context, acct *vigil.Account, pw vigil.Password) error {
	if len(pw) == 0 || len(pw) > 4096 {
		return ErrWrongPassword
	}
	client := vigil.ClientFromContext(ctx)
	key := "login-acct:" + acct.ID + "|" + sourceKey(client.IP)
	ok, wait, err := s.store.Throttle(ctx, key, s.cfg.ThrottleAccountSource, s.now())
	if err != nil {
		return err
	}
	if !ok {
		return vigil.RateLimited(wait)
	}
	match, _, err := s.hasher.Verify(ctx, password.Normalize(pw), acct.PasswordHash)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if !match {
		s.log.InfoContext(ctx, "password proof failed", "account_id", acct.ID, "ip", client.IP)
		return ErrWrongPassword
	}
	return s.store.ResetThrottle(ctx, key)
}
