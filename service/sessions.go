package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/password"
)

// ErrBadCredentials is the one answer to a sign-in with an unknown
// identifier or a wrong password.
var ErrBadCredentials = vigil.Errorf(vigil.EUNAUTHENTICATED, "invalid username, email or password")

// NewSession is a freshly issued session and its token, which is handed to
// the client once and never stored.
type NewSession struct {
	Token   vigil.Token
	Session *vigil.Session
}

// Login signs in with a username or email and a password. Unknown
// identifiers and wrong passwords get the same error, ErrBadCredentials,
// after the same work (a password hash either way). Failed attempts are
// throttled per account and source, per account, and per source, with
// growing but bounded waits (ERATELIMITED); every attempt is recorded.
// Anyone may call it.
func (s *Service) Login(ctx context.Context, identifier string, pw vigil.Password) (*NewSession, error) {
	identifier = strings.ToLower(strings.TrimSpace(identifier))
	if identifier == "" || len(identifier) > 254 {
		return nil, vigil.Errorf(vigil.EINVALID, "identifier must be a username or an email address")
	}
	if len(pw) == 0 || len(pw) > 4096 {
		return nil, ErrBadCredentials
	}
	client := vigil.ClientFromContext(ctx)
	src := sourceKey(client.IP)

	var acct *vigil.Account
	var err error
	if strings.Contains(identifier, "@") {
		acct, err = s.store.AccountByEmail(ctx, identifier)
	} else {
		acct, err = s.store.AccountByUsername(ctx, identifier)
	}
	if err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return nil, err
	}
	// Throttle keys exist for unknown identifiers too, so throttling does
	// not tell which accounts exist.
	who := "name:" + identifier
	accountID := ""
	if acct != nil {
		who, accountID = "acct:"+acct.ID, acct.ID
	}
	// A source or network flagged for credential stuffing gets a tenth of
	// the free failures.
	sourceRule := s.cfg.ThrottleSource
	if s.detect.Tightened(srcKey(client.IP)) || s.detect.Tightened(netKey(client.IP)) {
		sourceRule = tighterRule(sourceRule)
	}
	attempt := &vigil.LoginAttempt{ID: vigil.NewID(), AccountID: accountID, IP: client.IP,
		UserAgent: client.UserAgent, DeviceLabel: DeviceLabel(client.UserAgent)}
	keys := []struct {
		key  string
		rule vigil.ThrottleRule
	}{
		{"login-src:" + src, sourceRule},
		{"login-" + who, s.cfg.ThrottleAccount},
		{"login-" + who + "|" + src, s.cfg.ThrottleAccountSource},
	}
	for _, k := range keys {
		ok, wait, err := s.store.Throttle(ctx, k.key, k.rule, s.now())
		if err != nil {
			return nil, err
		}
		if !ok {
			attempt.Result = vigil.LoginThrottled
			s.record(ctx, attempt)
			s.m.rateLimited.WithLabelValues("login").Inc()
			s.log.InfoContext(ctx, "sign-in throttled", "account_id", accountID, "ip", client.IP)
			return nil, vigil.RateLimited(wait)
		}
	}

	pw = password.Normalize(pw)
	if acct == nil {
		if err := s.hasher.VerifyDummy(ctx, pw); err != nil && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		attempt.Result = vigil.LoginFailed
		s.record(ctx, attempt)
		s.detect.LoginFailure(srcKey(client.IP), netKey(client.IP), "name:"+identifier, pwFingerprint(pw))
		return nil, ErrBadCredentials
	}
	ok, rehash, err := s.hasher.Verify(ctx, pw, acct.PasswordHash)
	if err != nil && ctx.Err() != nil {
		return nil, ctx.Err()
	}
	if err != nil {
		// A stored hash that does not parse is our fault, not the caller's;
		// log it and answer like a wrong password.
		s.log.ErrorContext(ctx, "stored password hash unusable", "account_id", acct.ID, "err", err)
	}
	if !ok {
		attempt.Result = vigil.LoginFailed
		s.record(ctx, attempt)
		s.log.InfoContext(ctx, "sign-in failed", "account_id", acct.ID, "ip", client.IP)
		s.noticeFailedBurst(ctx, acct, keys[1].key)
		s.detect.LoginFailure(srcKey(client.IP), netKey(client.IP), "acct:"+acct.ID, pwFingerprint(pw))
		return nil, ErrBadCredentials
	}
	// Proven: forget this account's failures. The source gets back only
	// this attempt, so successes never count against a shared address, yet
	// one good account cannot launder a source's failures on others.
	for _, k := range keys[1:] {
		if err := s.store.ResetThrottle(ctx, k.key); err != nil {
			return nil, err
		}
	}
	if err := s.store.RefundThrottle(ctx, keys[0].key); err != nil {
		return nil, err
	}
	if rehash {
		if h, err := s.hasher.Hash(ctx, pw); err == nil {
			if err := s.store.SetPasswordHash(ctx, acct.ID, h); err != nil {
				s.log.WarnContext(ctx, "password rehash not stored", "account_id", acct.ID, "err", err)
			}
		}
	}
	if must, err := s.mustReset(ctx, acct); err != nil {
		return nil, err
	} else if must {
		attempt.Result = vigil.LoginResetRequired
		s.record(ctx, attempt)
		return nil, ErrResetRequired
	}
	if acct.MFAEnabled {
		attempt.Result = vigil.LoginMFARequired
		s.record(ctx, attempt)
		return nil, s.mfaChallenge(ctx, acct)
	}
	now := s.now()
	tok := vigil.NewToken()
	sess := &vigil.Session{
		ID: vigil.NewID(), AccountID: acct.ID, TokenHash: tok.Hash(), CreatedAt: now, LastSeenAt: now, ReauthAt: now,
		ExpiresAt: now.Add(s.cfg.SessionLifetime), IP: client.IP, UserAgent: client.UserAgent,
		DeviceLabel: attempt.DeviceLabel,
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return nil, err
	}
	s.noticeNewDevice(ctx, acct, attempt)
	attempt.Result = vigil.LoginSuccess
	s.record(ctx, attempt)
	s.log.InfoContext(ctx, "signed in", "account_id", acct.ID, "session_id", sess.ID, "ip", client.IP)
	return &NewSession{Token: tok, Session: sess}, nil
}

// ErrResetRequired answers the right password of an account that an
// operator's revocation obliges to choose a new one (its password may be
// among leaked data): only a reset by mail opens it again.
var ErrResetRequired = &vigil.Error{Code: vigil.EFORBIDDEN, Type: "password-reset-required",
	Message: "this account must choose a new password before signing in: use the password reset"}

// mustReset reports whether a revocation obliges acct to reset its
// password before signing in.
func (s *Service) mustReset(ctx context.Context, acct *vigil.Account) (bool, error) {
	set, err := s.revocations(ctx)
	if err != nil {
		return true, err
	}
	return set.MustReset(acct.ID, acct.PasswordSetAt()), nil
}

// rejected counts a credential refused at validation, and tells the
// detectors who presented it.
func (s *Service) rejected(ctx context.Context, reason string) {
	s.m.rejected.WithLabelValues(reason).Inc()
	s.detect.CredentialRejected(srcKey(vigil.ClientFromContext(ctx).IP), reason)
}

// record stores a login attempt, counts it and appends it to the audit
// log. A failure to store is logged; it must not turn a refusal into a
// success or the reverse.
func (s *Service) record(ctx context.Context, a *vigil.LoginAttempt) {
	s.recordAs(ctx, a, loginAuditAction(a.Result))
}

// recordAs is record with the audit action given.
func (s *Service) recordAs(ctx context.Context, a *vigil.LoginAttempt, action string) {
	a.At = s.now()
	s.m.logins.WithLabelValues(a.Result).Inc()
	if err := s.store.AddLoginAttempt(context.WithoutCancel(ctx), a); err != nil {
		s.log.ErrorContext(ctx, "login attempt not recorded", "err", err)
	}
	s.audit(ctx, loginAuditEntry(a, action))
}

// Authenticate checks a bearer token and returns the actor it stands for.
// Every failure (malformed, unknown, expired, idle, revoked) is
// vigil.ErrUnauthenticated. It refreshes the session's last-seen time at
// most once per TouchInterval.
func (s *Service) Authenticate(ctx context.Context, tok vigil.Token) (*vigil.Actor, error) {
	if !wellFormedToken(tok.Reveal()) {
		return nil, vigil.ErrUnauthenticated
	}
	sess, err := s.store.SessionByTokenHash(ctx, tok.Hash())
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, vigil.ErrUnauthenticated
	} else if err != nil {
		return nil, err
	}
	now := s.now()
	if !sess.RevokedAt.IsZero() {
		s.rejected(ctx, "revoked")
		return nil, vigil.ErrUnauthenticated
	}
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.cfg.SessionIdle {
		s.rejected(ctx, "expired")
		return nil, vigil.ErrUnauthenticated
	}
	if cut, err := s.revoked(ctx, vigil.CredSessions, sess.AccountID, sess.CreatedAt); err != nil {
		return nil, err
	} else if cut {
		s.rejected(ctx, "cutoff")
		return nil, vigil.ErrUnauthenticated
	}
	if now.Sub(sess.LastSeenAt) >= s.cfg.TouchInterval {
		if err := s.store.TouchSession(ctx, sess.ID, now); err != nil {
			s.log.WarnContext(ctx, "session last-seen not stored", "session_id", sess.ID, "err", err)
		}
	}
	c := vigil.ClientFromContext(ctx)
	return &vigil.Actor{AccountID: sess.AccountID, SessionID: sess.ID, TokenHash: sess.TokenHash, IP: c.IP, UserAgent: c.UserAgent,
		MFA: !sess.MFAAt.IsZero()}, nil
}

// wellFormedToken reports whether t looks like a token from vigil.NewToken:
// 43 characters of base64url. Anything else is refused before any lookup.
func wellFormedToken(t string) bool {
	if len(t) != 43 {
		return false
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Logout revokes the caller's current session. EUNAUTHENTICATED without
// one.
func (s *Service) Logout(ctx context.Context) error {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return vigil.ErrUnauthenticated
	}
	if err := s.store.RevokeSession(ctx, a.SessionID, s.now()); err != nil {
		return err
	}
	s.audit(ctx, s.auditEntry(ctx, vigil.AuditLogout, a.AccountID, map[string]any{"session_id": a.SessionID}))
	s.log.InfoContext(ctx, "signed out", "account_id", a.AccountID, "session_id", a.SessionID)
	return nil
}

// Roles returns the roles of the caller's account; access policies that
// need a role call it, so ordinary requests do not pay for it.
func (s *Service) Roles(ctx context.Context) ([]string, error) {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return nil, err
	}
	return acct.Roles, nil
}

// actorAccount returns the caller's account. A caller whose account is
// gone is no caller: EUNAUTHENTICATED.
func (s *Service) actorAccount(ctx context.Context) (*vigil.Account, error) {
	_, acct, err := s.caller(ctx)
	return acct, err
}

// caller returns the actor and its account, or EUNAUTHENTICATED.
func (s *Service) caller(ctx context.Context) (*vigil.Actor, *vigil.Account, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, nil, vigil.ErrUnauthenticated
	}
	acct, err := s.store.AccountByID(ctx, a.AccountID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, nil, vigil.ErrUnauthenticated
	}
	return a, acct, err
}

// noticeNewDevice tells the owner of a sign-in from a device and address
// never seen signing in before (not for the very first sign-in). Call it
// before recording the success. A failure is logged: the sign-in stands.
func (s *Service) noticeNewDevice(ctx context.Context, acct *vigil.Account, at *vigil.LoginAttempt) {
	known, any, err := s.store.HasSignedInFrom(ctx, acct.ID, at.DeviceLabel, at.IP)
	if err != nil {
		s.log.ErrorContext(ctx, "new-device check failed", "account_id", acct.ID, "err", err)
		return
	}
	if known || !any {
		return
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticeNewDeviceLogin, "New sign-in to your account",
		fmt.Sprintf("Your account was signed in to from a new device: %s, address %s. If this was not you, change your password "+
			"and sign out everywhere.", at.DeviceLabel, at.IP))
	if err := s.store.AddEffects(ctx, fx); err != nil {
		s.log.ErrorContext(ctx, "new-device notice not stored", "account_id", acct.ID, "err", err)
		return
	}
	s.kick()
}

// noticeFailedBurst tells the owner once per burst, when failed sign-ins
// reach the point where the account's throttle starts blocking.
func (s *Service) noticeFailedBurst(ctx context.Context, acct *vigil.Account, key string) {
	st, err := s.store.ThrottleState(ctx, key)
	if err != nil || st.Failures != s.cfg.ThrottleAccount.Free {
		return
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticeFailedLoginBurst, "Many failed sign-ins to your account",
		fmt.Sprintf("There were %d failed sign-ins to your account in a short time; further attempts are slowed down. "+
			"If they were not yours, someone may be guessing your password: make sure it is unique, and turn on two-factor authentication.", st.Failures))
	if err := s.store.AddEffects(ctx, fx); err != nil {
		s.log.ErrorContext(ctx, "failed-burst notice not stored", "account_id", acct.ID, "err", err)
		return
	}
	s.kick()
}
