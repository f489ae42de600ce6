package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/vigil-dev/vigil"
)

// AlertSettings implements vigil.Store.
func (db *DB) AlertSettings(ctx context.Context, accountID string) (*vigil.AlertSettings, error) {
	a := vigil.AlertSettings{AccountID: accountID}
	var channels string
	var updated int64
	err := db.queryRow(ctx, `SELECT channels, webhook_url, webhook_format, webhook_secret, updated_at FROM alert_settings WHERE account_id = ?`,
		accountID).Scan(&channels, &a.WebhookURL, &a.WebhookFormat, &a.WebhookSecret, &updated)
	if err != nil {
		return nil, notFound(err, "alert settings")
	}
	if err := json.Unmarshal([]byte(channels), &a.Channels); err != nil {
		return nil, err
	}
	a.UpdatedAt = fromMicros(updated)
	return &a, nil
}

// PutAlertSettings implements vigil.Store.
func (db *DB) PutAlertSettings(ctx context.Context, a *vigil.AlertSettings) error {
	channels, err := json.Marshal(a.Channels)
	if err != nil {
		return err
	}
	_, err = db.exec(ctx, `INSERT INTO alert_settings (account_id, channels, webhook_url, webhook_format, webhook_secret, updated_at)
		VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET channels = excluded.channels, webhook_url = excluded.webhook_url,
			webhook_format = excluded.webhook_format, webhook_secret = excluded.webhook_secret, updated_at = excluded.updated_at`,
		a.AccountID, string(channels), a.WebhookURL, a.WebhookFormat, a.WebhookSecret, micros(a.UpdatedAt))
	return err
}
