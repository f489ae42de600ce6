package service

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/detect"
	vmail "github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
)

// ChannelReset is the outbox channel of password-reset requests: the
// request is queued as is, and the worker decides what, if anything, to
// send. The answer to the caller is then the same work for every
// identifier, known or not.
const ChannelReset = "reset"

type resetRequest struct {
	Identifier string `json:"identifier"`
	IP         string `json:"ip"`
	UserAgent  string `json:"user_agent"`
}

// RequestReset asks for a password-reset link. It answers the same for
// known and unknown accounts and does the same work for both: it queues
// the request in the outbox and returns. Too many requests from one source
// are dropped silently (the answer does not change). Only an identifier
// that cannot be a username or email is EINVALID. Anyone may call it.
func (s *Service) RequestReset(ctx context.Context, identifier string) error {
	identifier = strings.ToLower(strings.TrimSpace(identifier))
	if identifier == "" || len(identifier) > 254 {
		return vigil.Errorf(vigil.EINVALID, "identifier must be a username or an email address")
	}
	client := vigil.ClientFromContext(ctx)
	// During a surge of reset requests every source gets a tenth of its
	// usual allowance.
	key, limit := "reset-src:"+sourceKey(client.IP), s.cfg.ResetSourceLimit
	if s.detect.Tightened(detect.GlobalKey) || s.detect.Tightened(srcKey(client.IP)) {
		key, limit = "reset-src-surge:"+sourceKey(client.IP), tighter(limit)
	}
	res, err := s.limiter.Allow(ctx, key, limit)
	if err != nil {
		return vigil.Internal(err)
	}
	if !res.Allowed {
		s.m.rateLimited.WithLabelValues("reset-src").Inc()
		s.log.InfoContext(ctx, "reset request dropped by source limit", "ip", client.IP)
		return nil
	}
	payload, _ := json.Marshal(resetRequest{Identifier: identifier, IP: client.IP, UserAgent: client.UserAgent})
	now := s.now()
	if err := s.store.EnqueueOutbox(ctx, &vigil.OutboxItem{ID: vigil.NewID(), Channel: ChannelReset, Payload: payload,
		NextAttemptAt: now, CreatedAt: now}); err != nil {
		return err
	}
	s.m.resets.WithLabelValues("requested").Inc()
	s.kick()
	return nil
}

// ResetChannel handles queued reset requests: for a known account under
// its hourly cap, it issues a token (voiding older ones), records a
// reset_requested notice and mails the link, whose token exists nowhere
// else. Unknown identifiers and capped accounts end quietly.
func (s *Service) ResetChannel() outbox.Channel {
	return outbox.ChannelFunc(func(ctx context.Context, it *vigil.OutboxItem) error {
		var req resetRequest
		if err := json.Unmarshal(it.Payload, &req); err != nil {
			return outbox.Permanent(fmt.Errorf("reset payload: %w", err))
		}
		var acct *vigil.Account
		var err error
		if strings.Contains(req.Identifier, "@") {
			acct, err = s.store.AccountByEmail(ctx, req.Identifier)
		} else {
			acct, err = s.store.AccountByUsername(ctx, req.Identifier)
		}
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			s.detect.ResetRequest("", srcKey(req.IP))
			return nil
		} else if err != nil {
			return err
		}
		s.detect.ResetRequest("acct:"+acct.ID, srcKey(req.IP))
		now := s.now()
		n, err := s.store.CountResetTokens(ctx, acct.ID, now.Add(-time.Hour))
		if err != nil {
			return err
		}
		if n >= s.cfg.ResetsPerHour {
			s.m.rateLimited.WithLabelValues("reset-account").Inc()
			s.log.InfoContext(ctx, "reset mail suppressed by account cap", "account_id", acct.ID)
			s.audit(ctx, vigil.NewAuditEntry(now, vigil.AuditResetRequested, nil, req.IP, acct.ID,
				map[string]any{"result": "capped", "device": DeviceLabel(req.UserAgent)}))
			return nil
		}
		tok := vigil.NewToken()
		rt := &vigil.ResetToken{ID: vigil.NewID(), AccountID: acct.ID, TokenHash: tok.Hash(), CreatedAt: now, ExpiresAt: now.Add(s.cfg.ResetTTL)}
		fx := s.noticeEffects(ctx, acct, vigil.NoticeResetRequested, "Password reset requested",
			fmt.Sprintf("Someone asked to reset the password of your account from %s (%s).", DeviceLabel(req.UserAgent), req.IP))
		// The reset mail below is the mail of this notice, with its code; an
		// owner who chose SMS for resets gets the link by SMS too, below.
		bySMS := false
		fx.Outbox = slices.DeleteFunc(fx.Outbox, func(it *vigil.OutboxItem) bool {
			bySMS = bySMS || it.Channel == vigil.ChannelSMS
			return it.Channel == vigil.ChannelMail || it.Channel == vigil.ChannelSMS
		})
		// The requester was anonymous; the worker acts on their behalf.
		fx.Audit = append(fx.Audit, vigil.NewAuditEntry(now, vigil.AuditResetRequested, nil, req.IP, acct.ID,
			map[string]any{"result": "issued", "reset_id": rt.ID, "device": DeviceLabel(req.UserAgent)}))
		if err := s.store.CreateResetToken(ctx, rt, fx); err != nil {
			return err
		}
		code := fx.Notices[0].Code
		link := s.cfg.PublicURL + "/password-reset?token=" + url.QueryEscape(tok.Reveal())
		text := fmt.Sprintf("Hello %s,\n\nSomeone asked to reset the password of your account from %s (%s).\n\n"+
			"To choose a new password, open this link within %d minutes. It works once:\n\n%s\n\n"+
			"If you did not ask for this, ignore this mail: your password stays as it is. "+
			"If your account has two-factor authentication, the reset also needs a code from your authenticator app.\n\n"+
			"Notice code: %s\nYou find this notice, with the same code, in the app under security notices. "+
			"This mail never asks for your password, and its only link goes to %s.\n",
			acct.Username, DeviceLabel(req.UserAgent), req.IP, int(s.cfg.ResetTTL.Minutes()), link, code, s.cfg.PublicURL)
		if bySMS && s.sms != nil {
			err := s.sms.SendSMS(ctx, acct.Phone, &notify.Notice{ID: rt.ID, Kind: vigil.NoticeResetRequested, AccountID: acct.ID, Code: code,
				Title: "Reset your vigil password", Text: "Not you? Ignore this. Link, valid once: " + link, At: now})
			if err != nil {
				s.log.ErrorContext(ctx, "reset SMS not sent", "account_id", acct.ID, "err", err)
			}
		}
		err = s.mail.Send(ctx, &vmail.Message{ID: rt.ID, From: s.cfg.MailFrom, To: acct.Email, Subject: "Reset your password",
			Text: text, Headers: map[string]string{"X-Vigil-Notice-Code": code}})
		if err != nil && vmail.IsPermanent(err) {
			return outbox.Permanent(err)
		}
		return err
	})
}

// ErrBadResetToken is the one answer to a reset token that is unknown,
// used, voided or expired.
var ErrBadResetToken = vigil.Errorf(vigil.EINVALID, "invalid or expired reset link; ask for a new one")

// ConfirmReset sets a new password with a reset token. The token works
// once, within ResetTTL, and not after a newer token or a password change.
// On an account with two-factor authentication the second factor is
// required too. Success revokes every
// session and outstanding token of the account and notifies the owner.
func (s *Service) ConfirmReset(ctx context.Context, token string, newPassword vigil.Password, mfaCode string) error {
	err := s.confirmReset(ctx, token, newPassword, mfaCode)
	if err == ErrBadResetToken {
		s.m.resets.WithLabelValues("refused").Inc()
	}
	return err
}

func (s *Service) confirmReset(ctx context.Context, token string, newPassword vigil.Password, mfaCode string) error {
	client := vigil.ClientFromContext(ctx)
	if err := s.allow(ctx, "reset-confirm:"+sourceKey(client.IP), s.cfg.ResetConfirmLimit); err != nil {
		return err
	}
	if !wellFormedToken(token) {
		return ErrBadResetToken
	}
	rt, err := s.store.ResetTokenByHash(ctx, vigil.ParseToken(token).Hash())
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return ErrBadResetToken
	} else if err != nil {
		return err
	}
	now := s.now()
	if !rt.UsedAt.IsZero() || !rt.VoidedAt.IsZero() || !now.Before(rt.ExpiresAt) {
		return ErrBadResetToken
	}
	if cut, err := s.revoked(ctx, vigil.CredResetTokens, rt.AccountID, rt.CreatedAt); err != nil {
		return err
	} else if cut {
		s.rejected(ctx, "cutoff")
		return ErrBadResetToken
	}
	acct, err := s.store.AccountByID(ctx, rt.AccountID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return ErrBadResetToken
	} else if err != nil {
		return err
	}
	local, _, _ := cutAt(acct.Email)
	pw, err := s.cfg.PasswordPolicy.Check(newPassword, acct.Username, local)
	if err != nil {
		return err
	}
	if acct.MFAEnabled {
		// A stolen reset link alone never takes an account with 2FA.
		if strings.TrimSpace(mfaCode) == "" {
			return &vigil.Error{Code: vigil.EFORBIDDEN, Type: "mfa-required", Message: "this account has two-factor authentication: the reset needs a code from the app or a recovery code"}
		}
		if err := s.checkSecondFactor(ctx, acct.ID, mfaCode); err != nil {
			return err
		}
	}
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticeResetCompleted, "Your password was reset",
		fmt.Sprintf("The password of your account was reset with a link from your mail, from %s (%s). Every session was signed out. "+
			"If this was not you, reset your password again at once.", DeviceLabel(client.UserAgent), client.IP))
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditResetCompleted, acct.ID, map[string]any{"reset_id": rt.ID, "mfa": acct.MFAEnabled}))
	if err := s.store.CompleteReset(ctx, rt.ID, acct.ID, h, now, fx); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return ErrBadResetToken
		}
		return err
	}
	s.kick()
	s.m.resets.WithLabelValues("completed").Inc()
	s.log.InfoContext(ctx, "password reset", "account_id", acct.ID, "ip", client.IP)
	return nil
}
