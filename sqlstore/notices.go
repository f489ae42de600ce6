package sqlstore

import (
	"context"
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
	return insertOutbox(ctx, t, fx.Outbox)
}

// AddEffects implements vigil.Store.
func (db *DB) AddEffects(ctx context.Context, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error { return insertEffects(ctx, t, fx) })
}

// Notices implements vigil.Store.
func (db *DB) Notices(ctx context.Context, accountID string, p vigil.Page) ([]*vigil.Notice, string, error) {
	limit := p.Limit
	if limit <= 0 || limit > maxPage {
		limit = maxPage
	}
	at, id := int64(1<<62), ""
	if p.Cursor != "" {
		var ok bool
		if at, id, ok = decodeCursor(p.Cursor); !ok {
			return nil, "", vigil.Errorf(vigil.EINVALID, "invalid cursor")
		}
	}
	rows, err := db.query(ctx, `SELECT id, kind, code, title, text, created_at FROM notices
		WHERE account_id = ? AND (created_at < ? OR (created_at = ? AND id < ?))
		ORDER BY created_at DESC, id DESC LIMIT ?`, accountID, at, at, id, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*vigil.Notice
	for rows.Next() {
		n := vigil.Notice{AccountID: accountID}
		var created int64
		if err := rows.Scan(&n.ID, &n.Kind, &n.Code, &n.Title, &n.Text, &created); err != nil {
			return nil, "", err
		}
		n.CreatedAt = fromMicros(created)
		out = append(out, &n)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(micros(last.CreatedAt), last.ID)
	}
	return out, next, nil
}

// ChangePassword implements vigil.Store.
func (db *DB) ChangePassword(ctx context.Context, accountID string, h vigil.PasswordHash, keepSession string, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, string(h), accountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "account not found")
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
