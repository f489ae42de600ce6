-- Channels per notice kind, and the account's webhook (its secret sealed).

-- +goose Up
CREATE TABLE alert_settings (
    account_id     TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    channels       TEXT NOT NULL,
    webhook_url    TEXT NOT NULL DEFAULT '',
    webhook_format TEXT NOT NULL DEFAULT '',
    webhook_secret BLOB,
    updated_at     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE alert_settings;
