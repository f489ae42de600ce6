package service

import (
	"context"
	"fmt"
	"net/url"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/notify"
)

func phoneChangeCodeHash(changeID, code string) vigil.TokenHash {
	return vigil.ParseToken("phonechange:" + changeID + ":" + code).Hash()
}

// RequestPhoneChange starts setting the caller's phone number: a code goes
// to it by SMS. It needs a recent re-authentication; SMS to one number are
// capped. EUNAVAILABLE without an SMS sender.
func (s *Service) RequestPhoneChange(ctx context.Context, phone string) error {
	if s.sms == nil {
		return vigil.Errorf(vigil.EUNAVAILABLE, "SMS is not configured")
	}
	if _, err := s.requireRecentAuth(ctx); err != nil {
		return err
	}
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return err
	}
	phone, err = NormalizePhone(phone)
	if err != nil {
		return err
	}
	if phone == "" {
		return vigil.Errorf(vigil.EINVALID, "phone must be in E.164 form, like +15551234567")
	}
	if phone == acct.Phone && acct.PhoneVerified {
		return vigil.Errorf(vigil.EINVALID, "that is already your verified number")
	}
	res, err := s.limiter.Allow(ctx, "phonechange:"+phone, s.cfg.SignupMailLimit)
	if err != nil {
		return vigil.Internal(err)
	}
	if !res.Allowed {
		return vigil.RateLimited(res.RetryAfter)
	}
	now := s.now()
	code := newCode()
	c := &vigil.PhoneChange{ID: vigil.NewID(), AccountID: acct.ID, NewPhone: phone, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SignupCodeTTL)}
	c.CodeHash = phoneChangeCodeHash(c.ID, code)
	if err := s.store.PutPhoneChange(ctx, c); err != nil {
		return err
	}
	err = s.sms.SendSMS(ctx, phone, &notify.Notice{ID: c.ID, Kind: "phone_verification", AccountID: acct.ID, Title: "vigil verification code",
		Text: fmt.Sprintf("Your code is %s. It expires in %d minutes. vigil never asks for your password.", code, int(s.cfg.SignupCodeTTL.Minutes())), At: now})
	if err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "the SMS could not be sent; try again later", Err: err}
	}
	return nil
}

// ConfirmPhoneChange sets the number with the code sent to it, verified,
// and tells the owner (phone_changed, on the chosen channels) and the
// previous verified number. A wrong or expired code is ErrBadCode.
func (s *Service) ConfirmPhoneChange(ctx context.Context, code string) error {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return err
	}
	c, err := s.store.PhoneChangeByAccount(ctx, acct.ID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return ErrBadCode
	} else if err != nil {
		return err
	}
	now := s.now()
	if err := s.checkCode(code, now, c.ExpiresAt, c.Attempts, func(code string) vigil.TokenHash { return phoneChangeCodeHash(c.ID, code) },
		c.CodeHash, func() error { _, err := s.store.AddPhoneChangeAttempt(ctx, c.ID); return err }); err != nil {
		return err
	}
	fx := s.noticeEffects(ctx, acct, vigil.NoticePhoneChanged, "Your phone number was changed",
		fmt.Sprintf("The phone number of your account is now %s.", c.NewPhone))
	// The previous verified number may take the change back for a while.
	var undo *vigil.EmailUndo
	var tok vigil.Token
	told := acct.PhoneVerified && acct.Phone != "" && acct.Phone != c.NewPhone
	if told {
		tok = vigil.NewToken()
		undo = &vigil.EmailUndo{ID: vigil.NewID(), AccountID: acct.ID, Kind: "phone", OldEmail: acct.Phone, TokenHash: tok.Hash(),
			CreatedAt: now, ExpiresAt: now.Add(EmailUndoWindow)}
	}
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditPhoneChanged, acct.ID, map[string]any{"from": acct.Phone, "to": c.NewPhone, "undo_offered": told}))
	if err := s.store.CompletePhoneChange(ctx, c.ID, undo, fx); err != nil {
		return err
	}
	s.kick()
	if told {
		err := s.sms.SendSMS(ctx, acct.Phone, &notify.Notice{ID: undo.ID, Kind: vigil.NoticePhoneChanged, AccountID: acct.ID,
			Code: fx.Notices[0].Code, Title: "Your number was removed from your vigil account",
			Text: "Not you? Undo within 7 days: " + s.cfg.PublicURL + "/email-undo?token=" + url.QueryEscape(tok.Reveal()), At: now})
		if err != nil {
			s.log.ErrorContext(ctx, "SMS to the previous number not sent", "account_id", acct.ID, "err", err)
		}
	}
	s.log.InfoContext(ctx, "phone changed", "account_id", acct.ID)
	return nil
}
