package service

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"

	"github.com/vigil-dev/vigil"
	vmail "github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
)

// noticeAlphabet is Crockford's base32: no I, L, O or U to misread.
const noticeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// newNoticeCode returns a code like "7KQ2-M9XD": 40 random bits, short
// enough to compare by eye.
func newNoticeCode() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	out := make([]byte, 0, 9)
	for i, c := range b {
		if i == 4 {
			out = append(out, '-')
		}
		out = append(out, noticeAlphabet[c&31])
	}
	return string(out)
}

// mailPayload is what an outbox item of the mail channel holds.
type mailPayload struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	Code    string `json:"code"`
}

// noticeEffects builds the notice of a security event for acct and the
// outbox items that tell the owner on each channel chosen for its kind
// (mail when nothing was chosen), to be written with the change.
func (s *Service) noticeEffects(ctx context.Context, acct *vigil.Account, kind, title, body string) vigil.Effects {
	now := s.now()
	n := &vigil.Notice{ID: vigil.NewID(), AccountID: acct.ID, Kind: kind, Code: newNoticeCode(), Title: title, Text: body, CreatedAt: now}
	fx := vigil.Effects{Notices: []*vigil.Notice{n}}
	item := func(channel string, payload []byte) {
		fx.Outbox = append(fx.Outbox, &vigil.OutboxItem{ID: vigil.NewID(), Channel: channel, AccountID: acct.ID, Payload: payload,
			NextAttemptAt: now, CreatedAt: now})
	}
	for _, ch := range s.channelsFor(ctx, acct, kind) {
		switch ch {
		case vigil.ChannelMail:
			text := fmt.Sprintf("Hello %s,\n\n%s\n\nNotice code: %s\nYou find this notice, with the same code, in the app under security notices "+
				"(%s). If the code there differs or the notice is missing, this mail is not from us.\n\n"+
				"This mail never asks for your password and has nothing to click.\n", acct.Username, body, n.Code, s.cfg.PublicURL)
			payload, _ := json.Marshal(mailPayload{To: acct.Email, Subject: title, Text: text, Code: n.Code})
			item(vigil.ChannelMail, payload)
		case vigil.ChannelSMS, vigil.ChannelWebhook:
			payload, _ := json.Marshal(channelPayload{To: acct.Phone, Notice: notify.Notice{Kind: kind, AccountID: acct.ID,
				Code: n.Code, Title: title, Text: body, At: now}})
			item(ch, payload)
		}
	}
	return fx
}

// channelsFor returns the channels the owner chose for kind that can be
// used now: SMS only to a verified phone, webhook only when one is set.
// Without a choice, or if the settings cannot be read, it is mail.
func (s *Service) channelsFor(ctx context.Context, acct *vigil.Account, kind string) []string {
	set, err := s.store.AlertSettings(ctx, acct.ID)
	if err != nil {
		if vigil.ErrorCode(err) != vigil.ENOTFOUND {
			s.log.ErrorContext(ctx, "alert settings unreadable; notifying by mail", "account_id", acct.ID, "err", err)
		}
		return []string{vigil.ChannelMail}
	}
	chosen, ok := set.Channels[kind]
	if !ok {
		return []string{vigil.ChannelMail}
	}
	var out []string
	for _, ch := range chosen {
		switch {
		case ch == vigil.ChannelSMS && !(acct.PhoneVerified && acct.Phone != ""):
		case ch == vigil.ChannelWebhook && set.WebhookURL == "":
		default:
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return []string{vigil.ChannelMail}
	}
	return out
}

// channelPayload is what an outbox item of the SMS or webhook channel
// holds; the item's id becomes the notice id, the idempotency key.
type channelPayload struct {
	To     string        `json:"to,omitempty"`
	Notice notify.Notice `json:"notice"`
}

// MailChannel delivers outbox items of the mail channel through sender.
// The item id is the Message-ID, so a retried mail is recognisably the
// same mail.
func MailChannel(sender vmail.Sender, from string) outbox.Channel {
	return outbox.ChannelFunc(func(ctx context.Context, it *vigil.OutboxItem) error {
		var p mailPayload
		if err := json.Unmarshal(it.Payload, &p); err != nil {
			return outbox.Permanent(fmt.Errorf("mail payload: %w", err))
		}
		err := sender.Send(ctx, &vmail.Message{ID: it.ID, From: from, To: p.To, Subject: p.Subject, Text: p.Text,
			Headers: map[string]string{"X-Vigil-Notice-Code": p.Code}})
		if err != nil && vmail.IsPermanent(err) {
			return outbox.Permanent(err)
		}
		return err
	})
}

// Notices returns the caller's security notices, newest first.
func (s *Service) Notices(ctx context.Context, p vigil.Page) ([]*vigil.Notice, string, error) {
	a := vigil.ActorFromContext(ctx)
	if a == nil {
		return nil, "", vigil.ErrUnauthenticated
	}
	return s.store.Notices(ctx, a.AccountID, p)
}

// ErrWrongPassword answers a signed-in caller whose password proof failed.
// It is 403, not 401: the session itself is fine.
var ErrWrongPassword = &vigil.Error{Code: vigil.EFORBIDDEN, Type: "wrong-password", Message: "the password is wrong"}

// ChangePassword replaces the caller's password after checking the
// current one, revokes every other session, and tells the owner, all in
// one transaction. A wrong current password is ErrWrongPassword and counts
// against the sign-in throttle; a new password that breaks the policy is
// EINVALID.
func (s *Service) ChangePassword(ctx context.Context, current, next vigil.Password) error {
	a, acct, err := s.caller(ctx)
	if err != nil {
		return err
	}
	local, _, _ := cutAt(acct.Email)
	pw, err := s.cfg.PasswordPolicy.Check(next, acct.Username, local)
	if err != nil {
		return err
	}
	if err := s.checkPassword(ctx, acct, current); err != nil {
		return err
	}
	h, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return err
	}
	client := vigil.ClientFromContext(ctx)
	fx := s.noticeEffects(ctx, acct, vigil.NoticePasswordChanged, "Your password was changed",
		fmt.Sprintf("The password of your account was changed from %s (%s). Every other session was signed out. "+
			"If this was not you, reset your password at once and review your sessions.", DeviceLabel(client.UserAgent), client.IP))
	fx.Audit = append(fx.Audit, s.auditEntry(ctx, vigil.AuditPasswordChanged, acct.ID, map[string]any{"kept_session_id": a.SessionID}))
	if err := s.store.ChangePassword(ctx, acct.ID, h, a.SessionID, s.now(), fx); err != nil {
		return err
	}
	s.kick()
	s.log.InfoContext(ctx, "password changed", "account_id", acct.ID, "session_id", a.SessionID)
	return nil
}

func cutAt(email string) (string, string, bool) {
	for i := len(email) - 1; i >= 0; i-- {
		if email[i] == '@' {
			return email[:i], email[i+1:], true
		}
	}
	return email, "", false
}
