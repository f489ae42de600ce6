-- Core schema: accounts, pending signups, sessions, login attempts and
-- throttles. Times are Unix microseconds (UTC) in both dialects, so one code
-- path reads and compares them; 0 stands for "never".

-- +goose Up
CREATE TABLE accounts (
    id             TEXT PRIMARY KEY,
    username       TEXT NOT NULL UNIQUE,
    display_name   TEXT NOT NULL,
    email          TEXT NOT NULL UNIQUE,
    email_verified BOOLEAN NOT NULL DEFAULT FALSE,
    phone          TEXT NOT NULL DEFAULT '',
    phone_verified BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash  TEXT NOT NULL,
    roles          TEXT NOT NULL DEFAULT '',
    mfa_enabled    BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     INTEGER NOT NULL,
    last_login_at  INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE signups (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE,
    phone         TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    code_hash     BLOB NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL
);
CREATE INDEX signups_expires_at ON signups (expires_at);

CREATE TABLE sessions (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    revoked_at   INTEGER NOT NULL DEFAULT 0,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    device_label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sessions_account ON sessions (account_id, created_at);

-- account_id is '' when the identifier matched no account; such rows are
-- kept for detection but never shown to anyone.
CREATE TABLE login_attempts (
    id           TEXT PRIMARY KEY,
    account_id   TEXT NOT NULL,
    at           INTEGER NOT NULL,
    result       TEXT NOT NULL,
    ip           TEXT NOT NULL DEFAULT '',
    user_agent   TEXT NOT NULL DEFAULT '',
    device_label TEXT NOT NULL DEFAULT ''
);
CREATE INDEX login_attempts_account ON login_attempts (account_id, at DESC, id DESC);

CREATE TABLE throttles (
    key           TEXT PRIMARY KEY,
    failures      INTEGER NOT NULL,
    blocked_until INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- +goose Down
DROP TABLE throttles;
DROP TABLE login_attempts;
DROP TABLE sessions;
DROP TABLE signups;
DROP TABLE accounts;
