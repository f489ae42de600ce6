-- Undo tokens serve phone changes too: kind says which contact old_email
-- (then the old value, whatever its kind) restores.

-- +goose Up
ALTER TABLE email_undos ADD COLUMN kind TEXT NOT NULL DEFAULT 'email';

-- +goose Down
ALTER TABLE email_undos DROP COLUMN kind;
