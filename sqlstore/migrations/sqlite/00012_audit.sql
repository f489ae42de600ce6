-- The tamper-evident audit log: each entry carries the hash of the one
-- before (vigil.AuditChainHash). seq is assigned by the store, one past the
-- last, never by AUTOINCREMENT, so a deleted row leaves a visible gap.
-- detail is TEXT, kept byte for byte: the hash covers its exact bytes.

-- +goose Up
CREATE TABLE audit_log (
    seq        INTEGER PRIMARY KEY,
    id         TEXT NOT NULL UNIQUE,
    at         INTEGER NOT NULL,
    actor_id   TEXT NOT NULL DEFAULT '',
    actor_kind TEXT NOT NULL,
    action     TEXT NOT NULL,
    target_id  TEXT NOT NULL DEFAULT '',
    ip         TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT '{}',
    prev_hash  TEXT NOT NULL,
    hash       TEXT NOT NULL
);

-- +goose Down
DROP TABLE audit_log;
