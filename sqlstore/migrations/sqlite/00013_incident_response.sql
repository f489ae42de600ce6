-- Incident response: revocations by cutoff, security events raised by the
-- detectors, incidents with their timelines, affected accounts and
-- notification runs. Also what revocation needs from existing tables: when
-- each account last set its password (for "must reset at next login") and
-- whether a session was signed in with a second factor (for admin access).

-- +goose Up
-- A revocation is one row however many credentials it kills: validation
-- compares a credential's issue time with the cutoffs held in memory.
CREATE TABLE revocations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id            TEXT NOT NULL UNIQUE,
    kinds         TEXT NOT NULL,
    issued_before INTEGER NOT NULL,
    all_accounts  BOOLEAN NOT NULL,
    must_reset    BOOLEAN NOT NULL DEFAULT FALSE,
    reason        TEXT NOT NULL,
    incident_id   TEXT NOT NULL DEFAULT '',
    created_by    TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE revocation_accounts (
    revocation_id TEXT NOT NULL REFERENCES revocations (id) ON DELETE CASCADE,
    account_id    TEXT NOT NULL,
    PRIMARY KEY (revocation_id, account_id)
);

ALTER TABLE accounts ADD COLUMN password_changed_at INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET password_changed_at = created_at;
ALTER TABLE sessions ADD COLUMN mfa_at INTEGER NOT NULL DEFAULT 0;

CREATE TABLE security_events (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    rule        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    subject     TEXT NOT NULL,
    summary     TEXT NOT NULL,
    count       INTEGER NOT NULL,
    threshold   INTEGER NOT NULL,
    window_secs INTEGER NOT NULL,
    at          INTEGER NOT NULL
);
CREATE INDEX security_events_at ON security_events (at, id);
CREATE INDEX security_events_kind ON security_events (kind, at, id);

CREATE TABLE incidents (
    id           TEXT PRIMARY KEY,
    title        TEXT NOT NULL,
    severity     TEXT NOT NULL,
    description  TEXT NOT NULL,
    status       TEXT NOT NULL,
    detected_at  INTEGER NOT NULL,
    created_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    notified_at  INTEGER NOT NULL DEFAULT 0,
    closed_at    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX incidents_created ON incidents (created_at, id);

CREATE TABLE incident_timeline (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at          INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    text        TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    ref_id      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX incident_timeline_incident ON incident_timeline (incident_id, at, id);

CREATE TABLE incident_accounts (
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    account_id  TEXT NOT NULL,
    PRIMARY KEY (incident_id, account_id)
);

-- A notification run sends one templated notice to each affected account.
-- cursor is the last account id enqueued, so a run interrupted by a restart
-- goes on where it stopped; outbox rows carry the run's id as batch, so
-- delivery progress is counted from the outbox itself.
CREATE TABLE incident_notifications (
    id          TEXT PRIMARY KEY,
    incident_id TEXT NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    per_minute  INTEGER NOT NULL,
    total       INTEGER NOT NULL,
    enqueued    INTEGER NOT NULL DEFAULT 0,
    cursor      TEXT NOT NULL DEFAULT '',
    next_due    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    finished_at INTEGER NOT NULL DEFAULT 0
);

ALTER TABLE outbox ADD COLUMN batch TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_batch ON outbox (batch) WHERE batch <> '';

-- +goose Down
DROP INDEX outbox_batch;
ALTER TABLE outbox DROP COLUMN batch;
DROP TABLE incident_notifications;
DROP TABLE incident_accounts;
DROP TABLE incident_timeline;
DROP TABLE incidents;
DROP TABLE security_events;
ALTER TABLE sessions DROP COLUMN mfa_at;
ALTER TABLE accounts DROP COLUMN password_changed_at;
DROP TABLE revocation_accounts;
DROP TABLE revocations;
