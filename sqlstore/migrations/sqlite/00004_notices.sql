-- Security notices as their owners see them in the app; each carries the
-- code printed in every message about it.

-- +goose Up
CREATE TABLE notices (
    id         TEXT PRIMARY KEY,
    account_id TEXT NOT NULL,
    kind       TEXT NOT NULL,
    code       TEXT NOT NULL,
    title      TEXT NOT NULL,
    text       TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notices_account ON notices (account_id, created_at DESC, id DESC);

-- +goose Down
DROP TABLE notices;
