-- Password-reset tokens, by hash only.

-- +goose Up
CREATE TABLE reset_tokens (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER NOT NULL DEFAULT 0,
    voided_at  INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX reset_tokens_account ON reset_tokens (account_id, created_at);

-- +goose Down
DROP TABLE reset_tokens;
