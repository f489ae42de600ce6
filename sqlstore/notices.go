package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/vigil-dev/vigil"
)

func insertEffects(ctx context.Context, t *txn, fx vigil.Effects) error {
	for _, n := range fx.Notices {
		if _, err := t.exec(ctx, `INSERT INTO notices (id, account_id, kind, code, title, text, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			n.ID, n.AccountID, n.Kind, n.Code, n.Title, n.Text, micros(n.CreatedAt)); err != nil {
			return err
		}
	}
	if err := insertTimeline(ctx, t, fx.Timeline); err != nil {
		return err
	}
	if err := insertOutbox(ctx, t, fx.Outbox); err != nil {
		return err
	}
	// Last: it takes the audit append lock, held until commit.
	return insertAudit(ctx, t, fx.Audit)
}

// AddEffects implements vigil.Store.
func (db *DB) AddEffects(ctx context.Context, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error { return insertEffects(ctx, t, fx) })
}

// Notices implements vigil.Store.
func (db *DB) Notices(ctx context.Context, accountID string, p vigil.Page) ([]*vigil.Notice, string, error) {
	return keysetPage(ctx, db, `SELECT id, kind, code, title, text, created_at FROM notices
		WHERE account_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`, accountID, p,
		func(r *sql.Rows) (*vigil.Notice, error) {
			n := vigil.Notice{AccountID: accountID}
			var created int64
			err := r.Scan(&n.ID, &n.Kind, &n.Code, &n.Title, &n.Text, &created)
			n.CreatedAt = fromMicros(created)
			return &n, err
		},
		func(n *vigil.Notice) (time.Time, string) { return n.CreatedAt, n.ID })
}

// ChangePassword implements vigil.Store.
func (db *DB) ChangePassword(ctx context.Context, accountID string, h vigil.PasswordHash, keepSession string, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE accounts SET password_hash = ?, password_changed_at = ? WHERE id = ?`, string(h), micros(at), accountID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "account not found"))
		}
		if _, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at = 0 AND id <> ?`,
			micros(at), accountID, keepSession); err != nil {
			return err
		}
		// A reset link mailed before the change must not undo it.
		if err := voidResetTokens(ctx, t, accountID, at); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}
