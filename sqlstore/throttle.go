package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigil-dev/vigil"
)

// Throttle implements vigil.Store. The read, rule.Apply and write happen in
// one write transaction (BEGIN IMMEDIATE on SQLite, a row lock on
// PostgreSQL), so parallel attempts are counted one by one and none slips
// past a block that an earlier one set.
func (db *DB) Throttle(ctx context.Context, key string, rule vigil.ThrottleRule, now time.Time) (allowed bool, wait time.Duration, err error) {
	err = db.tx(ctx, func(t *txn) error {
		if _, err := t.exec(ctx, `INSERT INTO throttles (key, failures, blocked_until, updated_at) VALUES (?, 0, 0, 0)
			ON CONFLICT (key) DO NOTHING`, key); err != nil {
			return err
		}
		lock := ""
		if db.dialect == Postgres {
			lock = " FOR UPDATE"
		}
		var s vigil.ThrottleState
		var blocked, updated int64
		if err := t.queryRow(ctx, `SELECT failures, blocked_until, updated_at FROM throttles WHERE key = ?`+lock, key).
			Scan(&s.Failures, &blocked, &updated); err != nil {
			return err
		}
		s.BlockedUntil, s.UpdatedAt = fromMicros(blocked), fromMicros(updated)
		var next vigil.ThrottleState
		next, allowed, wait = rule.Apply(s, now)
		_, err := t.exec(ctx, `UPDATE throttles SET failures = ?, blocked_until = ?, updated_at = ? WHERE key = ?`,
			next.Failures, micros(next.BlockedUntil), micros(next.UpdatedAt), key)
		return err
	})
	return allowed, wait, err
}

// ThrottleState implements vigil.Store.
func (db *DB) ThrottleState(ctx context.Context, key string) (vigil.ThrottleState, error) {
	var s vigil.ThrottleState
	var blocked, updated int64
	err := db.queryRow(ctx, `SELECT failures, blocked_until, updated_at FROM throttles WHERE key = ?`, key).
		Scan(&s.Failures, &blocked, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.ThrottleState{}, nil
	}
	if err != nil {
		return s, err
	}
	s.BlockedUntil, s.UpdatedAt = fromMicros(blocked), fromMicros(updated)
	return s, nil
}

// ResetThrottle implements vigil.Store.
func (db *DB) ResetThrottle(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `DELETE FROM throttles WHERE key = ?`, key)
	return err
}

// RefundThrottle implements vigil.Store.
func (db *DB) RefundThrottle(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `UPDATE throttles SET failures = failures - 1 WHERE key = ? AND failures > 0`, key)
	return err
}
