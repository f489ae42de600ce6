package sqlstore

import (
	"context"
	"time"

	"github.com/vigil-dev/vigil"
)

// PutEmailChange implements vigil.Store.
func (db *DB) PutEmailChange(ctx context.Context, c *vigil.EmailChange) error {
	_, err := db.exec(ctx, `INSERT INTO email_changes (id, account_id, new_email, code_hash, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET id = excluded.id, new_email = excluded.new_email, code_hash = excluded.code_hash,
			attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.ID, c.AccountID, c.NewEmail, c.CodeHash.Bytes(), micros(c.CreatedAt), micros(c.ExpiresAt))
	return err
}

// EmailChangeByAccount implements vigil.Store.
func (db *DB) EmailChangeByAccount(ctx context.Context, accountID string) (*vigil.EmailChange, error) {
	c := vigil.EmailChange{AccountID: accountID}
	var code []byte
	var created, expires int64
	err := db.queryRow(ctx, `SELECT id, new_email, code_hash, attempts, created_at, expires_at FROM email_changes WHERE account_id = ?`,
		accountID).Scan(&c.ID, &c.NewEmail, &code, &c.Attempts, &created, &expires)
	if err != nil {
		return nil, notFound(err, "email change")
	}
	copy(c.CodeHash[:], code)
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// AddEmailChangeAttempt implements vigil.Store.
func (db *DB) AddEmailChangeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := db.writeRow(ctx, `UPDATE email_changes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	return n, notFound(err, "email change")
}

// setEmail moves an account to an address inside a transaction.
func setEmail(ctx context.Context, t *txn, accountID, email string) error {
	err := oneRow(t.exec(ctx, `UPDATE accounts SET email = ?, email_verified = TRUE WHERE id = ?`, email, accountID))
	if isUnique(err) {
		return vigil.Errorf(vigil.ECONFLICT, "email address is already registered")
	}
	return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "account not found"))
}

// CompleteEmailChange implements vigil.Store.
func (db *DB) CompleteEmailChange(ctx context.Context, changeID string, undo *vigil.EmailUndo, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		var accountID, email string
		if err := t.queryRow(ctx, `SELECT account_id, new_email FROM email_changes WHERE id = ?`, changeID).Scan(&accountID, &email); err != nil {
			return notFound(err, "email change")
		}
		if _, err := t.exec(ctx, `DELETE FROM email_changes WHERE id = ?`, changeID); err != nil {
			return err
		}
		if err := setEmail(ctx, t, accountID, email); err != nil {
			return err
		}
		if err := insertUndo(ctx, t, accountID, "email", undo); err != nil {
			return err
		}
		if err := voidResetTokens(ctx, t, accountID, at); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// EmailUndoByHash implements vigil.Store.
func (db *DB) EmailUndoByHash(ctx context.Context, h vigil.TokenHash) (*vigil.EmailUndo, error) {
	u := vigil.EmailUndo{TokenHash: h}
	var created, expires, used int64
	err := db.queryRow(ctx, `SELECT id, account_id, kind, old_email, created_at, expires_at, used_at FROM email_undos WHERE token_hash = ?`,
		h.Bytes()).Scan(&u.ID, &u.AccountID, &u.Kind, &u.OldEmail, &created, &expires, &used)
	if err != nil {
		return nil, notFound(err, "undo")
	}
	u.CreatedAt, u.ExpiresAt, u.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return &u, nil
}

// UndoEmailChange implements vigil.Store.
func (db *DB) UndoEmailChange(ctx context.Context, undoID string, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		var accountID, kind, old string
		if err := t.queryRow(ctx, `SELECT account_id, kind, old_email FROM email_undos WHERE id = ?`, undoID).Scan(&accountID, &kind, &old); err != nil {
			return notFound(err, "undo")
		}
		if err := oneRow(t.exec(ctx, `UPDATE email_undos SET used_at = ? WHERE id = ? AND used_at = 0`, micros(at), undoID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.EINVALID, "this undo link was used already"))
		}
		if kind == "phone" {
			if _, err := t.exec(ctx, `UPDATE accounts SET phone = ?, phone_verified = TRUE WHERE id = ?`, old, accountID); err != nil {
				return err
			}
		} else if err := setEmail(ctx, t, accountID, old); err != nil {
			return err
		}
		// Whoever moved the account may hold its sessions: end them all.
		if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at = 0`, micros(at), accountID); err != nil {
			return err
		}
		if err := voidResetTokens(ctx, t, accountID, at); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// PutPhoneChange implements vigil.Store.
func (db *DB) PutPhoneChange(ctx context.Context, c *vigil.PhoneChange) error {
	_, err := db.exec(ctx, `INSERT INTO phone_changes (id, account_id, new_phone, code_hash, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (account_id) DO UPDATE SET id = excluded.id, new_phone = excluded.new_phone, code_hash = excluded.code_hash,
			attempts = 0, created_at = excluded.created_at, expires_at = excluded.expires_at`,
		c.ID, c.AccountID, c.NewPhone, c.CodeHash.Bytes(), micros(c.CreatedAt), micros(c.ExpiresAt))
	return err
}

// PhoneChangeByAccount implements vigil.Store.
func (db *DB) PhoneChangeByAccount(ctx context.Context, accountID string) (*vigil.PhoneChange, error) {
	c := vigil.PhoneChange{AccountID: accountID}
	var code []byte
	var created, expires int64
	err := db.queryRow(ctx, `SELECT id, new_phone, code_hash, attempts, created_at, expires_at FROM phone_changes WHERE account_id = ?`,
		accountID).Scan(&c.ID, &c.NewPhone, &code, &c.Attempts, &created, &expires)
	if err != nil {
		return nil, notFound(err, "phone change")
	}
	copy(c.CodeHash[:], code)
	c.CreatedAt, c.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &c, nil
}

// AddPhoneChangeAttempt implements vigil.Store.
func (db *DB) AddPhoneChangeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := db.writeRow(ctx, `UPDATE phone_changes SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	return n, notFound(err, "phone change")
}

// CompletePhoneChange implements vigil.Store.
func (db *DB) CompletePhoneChange(ctx context.Context, changeID string, undo *vigil.EmailUndo, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		var accountID, phone string
		if err := t.queryRow(ctx, `SELECT account_id, new_phone FROM phone_changes WHERE id = ?`, changeID).Scan(&accountID, &phone); err != nil {
			return notFound(err, "phone change")
		}
		if _, err := t.exec(ctx, `DELETE FROM phone_changes WHERE id = ?`, changeID); err != nil {
			return err
		}
		if err := oneRow(t.exec(ctx, `UPDATE accounts SET phone = ?, phone_verified = TRUE WHERE id = ?`, phone, accountID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "account not found"))
		}
		if undo != nil {
			if err := insertUndo(ctx, t, accountID, "phone", undo); err != nil {
				return err
			}
		}
		return insertEffects(ctx, t, fx)
	})
}

func insertUndo(ctx context.Context, t *txn, accountID, kind string, u *vigil.EmailUndo) error {
	_, err := t.exec(ctx, `INSERT INTO email_undos (id, account_id, kind, old_email, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, accountID, kind, u.OldEmail, u.TokenHash.Bytes(), micros(u.CreatedAt), micros(u.ExpiresAt))
	return err
}
