-- When the session's holder last proved the password (or a second factor):
-- sensitive actions need it to be recent.

-- +goose Up
ALTER TABLE sessions ADD COLUMN reauth_at INTEGER NOT NULL DEFAULT 0;
UPDATE sessions SET reauth_at = created_at;

-- +goose Down
ALTER TABLE sessions DROP COLUMN reauth_at;
