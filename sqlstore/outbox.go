package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

const outboxColumns = `id, channel, account_id, payload, attempts, next_attempt_at, created_at, delivered_at, last_error, dead, batch`

func scanOutbox(r interface{ Scan(...any) error }) (*vigil.OutboxItem, error) {
	var it vigil.OutboxItem
	var next, created, delivered int64
	if err := r.Scan(&it.ID, &it.Channel, &it.AccountID, &it.Payload, &it.Attempts, &next, &created, &delivered, &it.LastError, &it.Dead, &it.Batch); err != nil {
		return nil, err
	}
	it.NextAttemptAt, it.CreatedAt, it.DeliveredAt = fromMicros(next), fromMicros(created), fromMicros(delivered)
	return &it, nil
}

// EnqueueOutbox implements vigil.Store.
func (db *DB) EnqueueOutbox(ctx context.Context, items ...*vigil.OutboxItem) error {
	return db.tx(ctx, func(t *txn) error { return insertOutbox(ctx, t, items) })
}

// insertOutbox adds items inside a transaction, so that methods that change
// state can enqueue their notices atomically with the change.
func insertOutbox(ctx context.Context, t *txn, items []*vigil.OutboxItem) error {
	for _, it := range items {
		if _, err := t.exec(ctx, `INSERT INTO outbox (`+outboxColumns+`) VALUES (?, ?, ?, ?, 0, ?, ?, 0, '', FALSE, ?)`,
			it.ID, it.Channel, it.AccountID, it.Payload, micros(it.NextAttemptAt), micros(it.CreatedAt), it.Batch); err != nil {
			return err
		}
	}
	return nil
}

// ClaimOutbox implements vigil.Store: one write transaction selects the
// due rows (locked with SKIP LOCKED on PostgreSQL, so concurrent workers
// take different rows; SQLite has a single writer) and moves them past the
// lease.
func (db *DB) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]*vigil.OutboxItem, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	lock := ""
	if db.dialect == Postgres {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	var out []*vigil.OutboxItem
	err := db.tx(ctx, func(t *txn) error {
		out = out[:0]
		rows, err := t.t.QueryContext(ctx, db.rebind(`SELECT `+outboxColumns+` FROM outbox
			WHERE delivered_at = 0 AND NOT dead AND next_attempt_at <= ?
			ORDER BY next_attempt_at, created_at LIMIT ?`+lock), micros(now), limit)
		if err != nil {
			return err
		}
		for rows.Next() {
			it, err := scanOutbox(rows)
			if err != nil {
				rows.Close()
				return err
			}
			out = append(out, it)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		until := now.Add(lease)
		for _, it := range out {
			if _, err := t.exec(ctx, `UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE id = ?`,
				micros(until), it.ID); err != nil {
				return err
			}
			it.Attempts++
			it.NextAttemptAt = until
		}
		return nil
	})
	return out, err
}

// CompleteOutbox implements vigil.Store.
func (db *DB) CompleteOutbox(ctx context.Context, id string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE outbox SET delivered_at = ?, last_error = '' WHERE id = ?`, micros(at), id)
	return err
}

// FailOutbox implements vigil.Store.
func (db *DB) FailOutbox(ctx context.Context, id string, next time.Time, reason string, dead bool) error {
	if len(reason) > 1000 {
		reason = strings.ToValidUTF8(reason[:1000], "")
	}
	_, err := db.exec(ctx, `UPDATE outbox SET next_attempt_at = ?, last_error = ?, dead = ? WHERE id = ? AND delivered_at = 0`,
		micros(next), reason, dead, id)
	return err
}

// PurgeOutbox implements vigil.Store.
func (db *DB) PurgeOutbox(ctx context.Context, t time.Time) (int64, error) {
	var n int64
	err := db.tx(ctx, func(tx *txn) error {
		res, err := tx.exec(ctx, `DELETE FROM outbox WHERE (delivered_at <> 0 AND delivered_at < ?) OR (dead AND next_attempt_at < ?)`,
			micros(t), micros(t))
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `DELETE FROM throttles WHERE updated_at < ?`, micros(t))
		return err
	})
	return n, err
}

// OutboxItemByID implements vigil.Store.
func (db *DB) OutboxItemByID(ctx context.Context, id string) (*vigil.OutboxItem, error) {
	it, err := scanOutbox(db.queryRow(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = ?`, id))
	return it, notFound(err, "outbox item")
}
