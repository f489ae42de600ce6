package service

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	vmail "github.com/vigil-dev/vigil/mail"
)

// EmailUndoWindow is how long the previous address can take an email
// change back.
const EmailUndoWindow = 7 * 24 * time.Hour

func emailChangeCodeHash(changeID, code string) vigil.TokenHash {
	return vigil.ParseToken("emailchange:" + changeID + ":" + code).Hash()
}

// RequestEmailChange starts moving the caller's account to a new address:
// a code goes to that address. It needs a recent re-authentication. It
// answers the same whether or not the address belongs to another account
// (whose owner gets a notice instead), and mails to one address are capped.
func (s *Service) RequestEmailChange(ctx context.Context, newEmail string) error {
	if _, err := s.requireRecentAuth(ctx); err != nil {
		return err
	}
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return err
	}
	email, err := NormalizeEmail(newEmail)
	if err != nil {
		return err
	}
	if email == acct.Email {
		return vigil.Errorf(vigil.EINVALID, "that is already your address")
	}
	if other, err := s.store.AccountByEmail(ctx, email); err == nil {
		return s.sendNoticeMail(ctx, "signupmail:"+email, other, email, vigil.NoticeAddressClaimAttempt, "Someone tried to use your address",
			fmt.Sprintf("Someone tried to move another account at %s to this email address, which belongs to your account. "+
				"Nothing changed on yours.", s.cfg.PublicURL))
	} else if vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return err
	}
	now := s.now()
	code := newCode()
	c := &vigil.EmailChange{ID: vigil.NewID(), AccountID: acct.ID, NewEmail: email, CreatedAt: now, ExpiresAt: now.Add(s.cfg.SignupCodeTTL)}
	c.CodeHash = emailChangeCodeHash(c.ID, code)
	if err := s.store.PutEmailChange(ctx, c); err != nil {
		return err
	}
	return s.sendNoticeMailWith(ctx, "signupmail:"+email, acct, email, vigil.NoticeEmailChangeRequested, "Confirm your new email address",
		fmt.Sprintf("A code was mailed to %s to move your account there.", email),
		fmt.Sprintf("Your verification code is: %s\n\nEnter it in the app to move your account to this address. "+
			"It expires in %d minutes. If you did not ask for this, ignore this mail.", code, int(s.cfg.SignupCodeTTL.Minutes())))
}

// ConfirmEmailChange completes a pending change with the code from the new
// address. The old address gets a notice with a link that undoes the
// change within EmailUndoWindow. A wrong or expired code is ErrBadCode.
func (s *Service) ConfirmEmailChange(ctx context.Context, code string) error {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return err
	}
	c, err := s.store.EmailChangeByAccount(ctx, acct.ID)
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return ErrBadCode
	} else if err != nil {
		return err
	}
	now := s.now()
	if err := s.checkCode(code, now, c.ExpiresAt, c.Attempts, func(code string) vigil.TokenHash { return emailChangeCodeHash(c.ID, code) },
		c.CodeHash, func() error { _, err := s.store.AddEmailChangeAttempt(ctx, c.ID); return err }); err != nil {
		return err
	}
	tok := vigil.NewToken()
	undo := &vigil.EmailUndo{ID: vigil.NewID(), AccountID: acct.ID, Kind: "email", OldEmail: acct.Email, TokenHash: tok.Hash(), CreatedAt: now,
		ExpiresAt: now.Add(EmailUndoWindow)}
	moved := *acct
	moved.Email = c.NewEmail
	fx := s.noticeEffects(ctx, &moved, vigil.NoticeEmailChanged, "Your email address was changed",
		fmt.Sprintf("The email address of your account was changed from %s to %s.", acct.Email, c.NewEmail))
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditEmailChanged, acct.ID, map[string]any{"from": acct.Email, "to": c.NewEmail, "undo_id": undo.ID}))
	if err := s.store.CompleteEmailChange(ctx, c.ID, undo, now, fx); err != nil {
		return err
	}
	s.kick()
	link := s.cfg.PublicURL + "/email-undo?token=" + url.QueryEscape(tok.Reveal())
	err = s.mail.Send(ctx, &vmail.Message{ID: undo.ID, From: s.cfg.MailFrom, To: acct.Email, Subject: "Your email address was changed",
		Headers: map[string]string{"X-Vigil-Notice-Code": fx.Notices[0].Code},
		Text: fmt.Sprintf("Hello %s,\n\nThe email address of your account was changed from this address to %s.\n\n"+
			"If this was not you, open this link within 7 days to undo the change; it also signs out every session:\n\n%s\n\n"+
			"Then reset your password.\n\nNotice code: %s\nThis mail never asks for your password, and its only link goes to %s.\n",
			acct.Username, c.NewEmail, link, fx.Notices[0].Code, s.cfg.PublicURL)})
	if err != nil {
		// The change stands; the notice still reaches the new address.
		s.log.ErrorContext(ctx, "undo mail to the old address not sent", "account_id", acct.ID, "err", err)
	}
	s.log.InfoContext(ctx, "email changed", "account_id", acct.ID)
	return nil
}

// checkCode checks a code mailed or texted for a pending change: not
// expired, not past SignupMaxAttempts wrong codes, and hashing (with hash)
// to want; a wrong code is counted with addAttempt. Every failure is
// ErrBadCode.
func (s *Service) checkCode(code string, now, expires time.Time, attempts int, hash func(string) vigil.TokenHash,
	want vigil.TokenHash, addAttempt func() error) error {
	code = strings.TrimSpace(code)
	if !now.Before(expires) || attempts >= s.cfg.SignupMaxAttempts {
		return ErrBadCode
	}
	if len(code) != codeDigits || !want.Equal(hash(code)) {
		if err := addAttempt(); err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
			return err
		}
		return ErrBadCode
	}
	return nil
}

// ErrBadUndo answers an unknown, used or expired undo link.
var ErrBadUndo = vigil.Errorf(vigil.EINVALID, "invalid or expired undo link")

// UndoEmailChange moves an account back to the email address or phone
// number it was moved away from, with the token sent there, and signs out
// every session. Anyone
// holding the token may call it.
func (s *Service) UndoEmailChange(ctx context.Context, token string) error {
	client := vigil.ClientFromContext(ctx)
	if err := s.allow(ctx, "reset-confirm:"+sourceKey(client.IP), s.cfg.ResetConfirmLimit); err != nil {
		return err
	}
	if !wellFormedToken(token) {
		return ErrBadUndo
	}
	u, err := s.store.EmailUndoByHash(ctx, vigil.ParseToken(token).Hash())
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return ErrBadUndo
	} else if err != nil {
		return err
	}
	now := s.now()
	if !u.UsedAt.IsZero() || !now.Before(u.ExpiresAt) {
		return ErrBadUndo
	}
	acct, err := s.store.AccountByID(ctx, u.AccountID)
	if err != nil {
		return err
	}
	back := *acct
	kind, what := vigil.NoticeEmailChanged, "email address"
	if u.Kind == "phone" {
		back.Phone, back.PhoneVerified = u.OldEmail, true
		kind, what = vigil.NoticePhoneChanged, "phone number"
	} else {
		back.Email = u.OldEmail
	}
	fx := s.noticeEffects(ctx, &back, kind, "The change of your "+what+" was undone",
		fmt.Sprintf("Your account is back at %s, and every session was signed out. Reset your password now.", u.OldEmail))
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditEmailChangeUndone, acct.ID, map[string]any{"kind": u.Kind, "restored": u.OldEmail, "undo_id": u.ID}))
	if err := s.store.UndoEmailChange(ctx, u.ID, now, fx); err != nil {
		if vigil.ErrorCode(err) == vigil.EINVALID {
			return ErrBadUndo
		}
		return err
	}
	s.kick()
	s.log.InfoContext(ctx, "email change undone", "account_id", acct.ID, "ip", client.IP)
	return nil
}
