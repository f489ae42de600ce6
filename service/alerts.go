package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
)

// AlertKinds are the notice kinds whose channels an owner chooses.
var AlertKinds = []string{
	vigil.NoticeNewDeviceLogin, vigil.NoticeFailedLoginBurst, vigil.NoticePasswordChanged, vigil.NoticeEmailChanged,
	vigil.NoticePhoneChanged, vigil.NoticeMFAEnabled, vigil.NoticeMFADisabled, vigil.NoticeResetRequested,
	vigil.NoticeResetCompleted, vigil.NoticeSessionsRevoked, vigil.NoticeSecurityIncident,
}

// AlertSettingsView is what the owner sees of their alert settings.
type AlertSettingsView struct {
	Channels      map[string][]string
	WebhookURL    string
	WebhookFormat string
	SMSAvailable  bool // a verified phone exists
}

func webhookAD(accountID string) []byte { return []byte("vigil webhook secret:" + accountID) }

// AlertSettings returns the caller's alert settings, every kind listed
// (mail where nothing was chosen).
func (s *Service) AlertSettings(ctx context.Context) (*AlertSettingsView, error) {
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return nil, err
	}
	v := &AlertSettingsView{Channels: map[string][]string{}, SMSAvailable: acct.PhoneVerified && acct.Phone != ""}
	set, err := s.store.AlertSettings(ctx, acct.ID)
	if err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return nil, err
	}
	for _, k := range AlertKinds {
		v.Channels[k] = []string{vigil.ChannelMail}
		if set != nil {
			if ch, ok := set.Channels[k]; ok {
				v.Channels[k] = ch
			}
		}
	}
	if set != nil {
		v.WebhookURL, v.WebhookFormat = set.WebhookURL, set.WebhookFormat
	}
	return v, nil
}

// SetAlertSettings replaces the caller's choices. Every kind needs at
// least one channel; SMS needs a verified phone and webhook a webhook URL.
// A new or changed webhook URL gets a new signing secret, returned this
// once (base64) and stored sealed. It needs a recent re-authentication:
// whoever holds a session must not quietly redirect or mute alerts.
func (s *Service) SetAlertSettings(ctx context.Context, channels map[string][]string, webhookURL, webhookFormat string) (string, error) {
	if _, err := s.requireRecentAuth(ctx); err != nil {
		return "", err
	}
	acct, err := s.actorAccount(ctx)
	if err != nil {
		return "", err
	}
	if webhookURL != "" {
		if webhookFormat == "" {
			webhookFormat = notify.FormatJSON
		}
		if err := (notify.Webhook{URL: webhookURL, Secret: make([]byte, 32), Format: webhookFormat}).Validate(s.cfg.WebhookAllowPrivate); err != nil {
			return "", vigil.Errorf(vigil.EINVALID, "webhook: %s", vigil.ErrorMessage(err))
		}
	} else if webhookFormat != "" {
		return "", vigil.Errorf(vigil.EINVALID, "webhook format given without a webhook url")
	}
	for kind, chs := range channels {
		if !slices.Contains(AlertKinds, kind) {
			return "", vigil.Errorf(vigil.EINVALID, "unknown notice kind %q", kind)
		}
		if len(chs) == 0 || len(chs) > 3 {
			return "", vigil.Errorf(vigil.EINVALID, "%s: give one to three channels", kind)
		}
		for i, ch := range chs {
			switch {
			case ch != vigil.ChannelMail && ch != vigil.ChannelSMS && ch != vigil.ChannelWebhook:
				return "", vigil.Errorf(vigil.EINVALID, "%s: unknown channel %q (mail, sms, webhook)", kind, ch)
			case slices.Contains(chs[:i], ch):
				return "", vigil.Errorf(vigil.EINVALID, "%s: channel %q twice", kind, ch)
			case ch == vigil.ChannelSMS && !(acct.PhoneVerified && acct.Phone != ""):
				return "", vigil.Errorf(vigil.EINVALID, "%s: SMS needs a verified phone number", kind)
			case ch == vigil.ChannelWebhook && webhookURL == "":
				return "", vigil.Errorf(vigil.EINVALID, "%s: webhook needs a webhook url", kind)
			}
		}
	}
	old, err := s.store.AlertSettings(ctx, acct.ID)
	if err != nil && vigil.ErrorCode(err) != vigil.ENOTFOUND {
		return "", err
	}
	set := &vigil.AlertSettings{AccountID: acct.ID, Channels: channels, WebhookURL: webhookURL, WebhookFormat: webhookFormat, UpdatedAt: s.now()}
	newSecret := ""
	switch {
	case webhookURL == "":
	case old != nil && old.WebhookURL == webhookURL && len(old.WebhookSecret) > 0:
		set.WebhookSecret = old.WebhookSecret
	default:
		raw := make([]byte, 32)
		_, _ = rand.Read(raw)
		if set.WebhookSecret, err = s.sealer.Seal(raw, webhookAD(acct.ID)); err != nil {
			return "", vigil.Internal(err)
		}
		newSecret = base64.StdEncoding.EncodeToString(raw)
	}
	if err := s.store.PutAlertSettings(ctx, set); err != nil {
		return "", err
	}
	s.audit(ctx, s.auditEntry(ctx, vigil.AuditAlertSettingsChanged, acct.ID, map[string]any{
		"webhook": webhookURL != "", "webhook_changed": newSecret != "", "kinds": len(channels)}))
	s.log.InfoContext(ctx, "alert settings changed", "account_id", acct.ID, "webhook", webhookURL != "")
	return newSecret, nil
}

func decodeChannelPayload(it *vigil.OutboxItem) (*channelPayload, error) {
	var p channelPayload
	if err := json.Unmarshal(it.Payload, &p); err != nil {
		return nil, outbox.Permanent(fmt.Errorf("%s payload: %w", it.Channel, err))
	}
	p.Notice.ID = it.ID // the idempotency key of every delivery of this item
	return &p, nil
}

func channelErr(err error) error {
	if err != nil && notify.IsPermanent(err) {
		return outbox.Permanent(err)
	}
	return err
}

// SMSChannel delivers outbox items of the SMS channel through sender.
func (s *Service) SMSChannel(sender notify.SMSSender) outbox.Channel {
	return outbox.ChannelFunc(func(ctx context.Context, it *vigil.OutboxItem) error {
		p, err := decodeChannelPayload(it)
		if err != nil {
			return err
		}
		return channelErr(sender.SendSMS(ctx, p.To, &p.Notice))
	})
}

// WebhookChannel delivers outbox items of the webhook channel to the
// account's webhook as it is at delivery time, signed with its secret. An
// account whose webhook was removed meanwhile gets nothing.
func (s *Service) WebhookChannel(sender *notify.WebhookSender) outbox.Channel {
	return outbox.ChannelFunc(func(ctx context.Context, it *vigil.OutboxItem) error {
		p, err := decodeChannelPayload(it)
		if err != nil {
			return err
		}
		set, err := s.store.AlertSettings(ctx, it.AccountID)
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			return nil
		} else if err != nil {
			return err
		}
		if set.WebhookURL == "" {
			return nil
		}
		secret, err := s.sealer.Open(set.WebhookSecret, webhookAD(it.AccountID))
		if err != nil {
			return outbox.Permanent(err)
		}
		return channelErr(sender.Send(ctx, notify.Webhook{URL: set.WebhookURL, Secret: secret, Format: set.WebhookFormat}, &p.Notice))
	})
}
