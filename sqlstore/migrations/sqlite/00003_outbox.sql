-- The durable outbox of security notices: rows are written in the same
-- transaction as the change they report and delivered by a worker.

-- +goose Up
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,
    channel         TEXT NOT NULL,
    account_id      TEXT NOT NULL DEFAULT '',
    payload         BLOB NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    dead            BOOLEAN NOT NULL DEFAULT FALSE
);
-- Only pending rows are ever scanned by the worker.
CREATE INDEX outbox_due ON outbox (next_attempt_at, created_at) WHERE delivered_at = 0 AND NOT dead;

-- +goose Down
DROP TABLE outbox;
