package vigil

import (
	"context"
	"time"
)

// AlertSettings are an account's choices of channels per notice kind, and
// its webhook. The webhook's signing secret is stored sealed: it must be
// read back to sign deliveries.
type AlertSettings struct {
	AccountID     string
	Channels      map[string][]string // notice kind -> channels; a kind not listed goes by mail
	WebhookURL    string
	WebhookFormat string // "json" or "slack"
	WebhookSecret []byte // sealed
	UpdatedAt     time.Time
}

// AlertStore keeps alert settings.
type AlertStore interface {
	// AlertSettings returns the account's settings (ENOTFOUND if it never
	// set any).
	AlertSettings(ctx context.Context, accountID string) (*AlertSettings, error)
	// PutAlertSettings replaces the account's settings.
	PutAlertSettings(ctx context.Context, s *AlertSettings) error
}
