package sqlstore

import (
	"context"
	"time"

	"github.com/vigil-dev/vigil"
)

// voidResetTokens voids an account's unused tokens inside a transaction.
func voidResetTokens(ctx context.Context, t *txn, accountID string, at time.Time) error {
	_, err := t.exec(ctx, `UPDATE reset_tokens SET voided_at = ? WHERE account_id = ? AND used_at = 0 AND voided_at = 0`,
		micros(at), accountID)
	return err
}

// CreateResetToken implements vigil.Store.
func (db *DB) CreateResetToken(ctx context.Context, rt *vigil.ResetToken, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := voidResetTokens(ctx, t, rt.AccountID, rt.CreatedAt); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO reset_tokens (id, account_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)`,
			rt.ID, rt.AccountID, rt.TokenHash.Bytes(), micros(rt.CreatedAt), micros(rt.ExpiresAt)); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// ResetTokenByHash implements vigil.Store.
func (db *DB) ResetTokenByHash(ctx context.Context, h vigil.TokenHash) (*vigil.ResetToken, error) {
	rt := vigil.ResetToken{TokenHash: h}
	var created, expires, used, voided int64
	err := db.queryRow(ctx, `SELECT id, account_id, created_at, expires_at, used_at, voided_at FROM reset_tokens WHERE token_hash = ?`,
		h.Bytes()).Scan(&rt.ID, &rt.AccountID, &created, &expires, &used, &voided)
	if err != nil {
		return nil, notFound(err, "reset token")
	}
	rt.CreatedAt, rt.ExpiresAt, rt.UsedAt, rt.VoidedAt = fromMicros(created), fromMicros(expires), fromMicros(used), fromMicros(voided)
	return &rt, nil
}

// CountResetTokens implements vigil.Store.
func (db *DB) CountResetTokens(ctx context.Context, accountID string, since time.Time) (int, error) {
	var n int
	err := db.queryRow(ctx, `SELECT COUNT(*) FROM reset_tokens WHERE account_id = ? AND created_at >= ?`, accountID, micros(since)).Scan(&n)
	return n, err
}

// CompleteReset implements vigil.Store.
func (db *DB) CompleteReset(ctx context.Context, tokenID, accountID string, h vigil.PasswordHash, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE reset_tokens SET used_at = ? WHERE id = ? AND account_id = ? AND used_at = 0 AND voided_at = 0`,
			micros(at), tokenID, accountID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.EINVALID, "invalid or expired reset token"))
		}
		if err := voidResetTokens(ctx, t, accountID, at); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?`, string(h), micros(at), accountID); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at = 0`, micros(at), accountID); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}
