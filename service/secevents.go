package service

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
)

// ChannelOperatorWebhook is the outbox channel of alerts to the operators'
// webhook (Slack-compatible when its format is "slack").
const ChannelOperatorWebhook = "operator_webhook"

// OperatorAlerts are where security events are sent besides the admin
// API: a webhook (JSON signed like account webhooks, or Slack) and mail
// addresses. Both optional.
type OperatorAlerts struct {
	Webhook notify.Webhook
	Mail    []string
}

// SecurityEvents lists security events, newest first, filtered and paged.
// Admins only.
func (s *Service) SecurityEvents(ctx context.Context, f vigil.SecurityEventFilter, p vigil.Page) ([]*vigil.SecurityEvent, string, error) {
	if _, err := s.Admin(ctx); err != nil {
		return nil, "", err
	}
	if len(f.Kind) > 64 || len(f.Severity) > 16 || len(f.Subject) > 200 {
		return nil, "", vigil.Errorf(vigil.EINVALID, "filter values are too long")
	}
	return s.store.SecurityEvents(ctx, f, p)
}

// raise stores a security event and queues the operators' alerts with it,
// in one transaction. It never fails the request that tripped it: a
// failure is logged.
func (s *Service) raise(ctx context.Context, e *vigil.SecurityEvent) {
	if e.ID == "" {
		e.ID = vigil.NewID()
	}
	if e.At.IsZero() {
		e.At = s.now()
	}
	s.m.events.WithLabelValues(e.Kind).Inc()
	fx := s.operatorAlerts(e)
	if err := s.store.AddSecurityEvent(context.WithoutCancel(ctx), e, fx); err != nil {
		s.log.ErrorContext(ctx, "security event not stored", "kind", e.Kind, "rule", e.Rule, "err", err)
		return
	}
	s.log.WarnContext(ctx, "security event", "kind", e.Kind, "rule", e.Rule, "severity", e.Severity,
		"subject", e.Subject, "count", e.Count, "threshold", e.Threshold)
	if len(fx.Outbox) > 0 {
		s.kick()
	}
}

// operatorAlerts builds the outbox items that tell the operators of e.
func (s *Service) operatorAlerts(e *vigil.SecurityEvent) vigil.Effects {
	var fx vigil.Effects
	title := fmt.Sprintf("[vigil %s] %s: %s", e.Severity, e.Kind, e.Rule)
	text := fmt.Sprintf("%s (%s; %d against a threshold of %d over %ds). Security event %s; see GET /admin/v1/security-events.",
		e.Summary, e.Subject, e.Count, e.Threshold, e.WindowSeconds, e.ID)
	if s.cfg.Operator.Webhook.URL != "" {
		payload, _ := json.Marshal(channelPayload{Notice: notify.Notice{Kind: "security_event." + e.Kind, Title: title, Text: text, At: e.At}})
		fx.Outbox = append(fx.Outbox, &vigil.OutboxItem{ID: vigil.NewID(), Channel: ChannelOperatorWebhook, Payload: payload,
			NextAttemptAt: e.At, CreatedAt: e.At})
	}
	for _, to := range s.cfg.Operator.Mail {
		payload, _ := json.Marshal(mailPayload{To: to, Subject: title, Text: text + "\n"})
		fx.Outbox = append(fx.Outbox, &vigil.OutboxItem{ID: vigil.NewID(), Channel: vigil.ChannelMail, Payload: payload,
			NextAttemptAt: e.At, CreatedAt: e.At})
	}
	return fx
}

// OperatorWebhookChannel delivers operator alerts to the configured
// webhook.
func (s *Service) OperatorWebhookChannel(sender *notify.WebhookSender) outbox.Channel {
	return outbox.ChannelFunc(func(ctx context.Context, it *vigil.OutboxItem) error {
		p, err := decodeChannelPayload(it)
		if err != nil {
			return err
		}
		if s.cfg.Operator.Webhook.URL == "" {
			return nil // unset since: nobody to tell
		}
		return channelErr(sender.Send(ctx, s.cfg.Operator.Webhook, &p.Notice))
	})
}
