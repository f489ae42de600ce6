-- The notice code printed in a verification mail, so the account's first
-- notice carries it.

-- +goose Up
ALTER TABLE signups ADD COLUMN notice_code TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE signups DROP COLUMN notice_code;
