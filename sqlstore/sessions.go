package sqlstore

import (
	"context"
	"time"

	"github.com/vigil-dev/vigil"
)

// CreateSession implements vigil.Store.
func (db *DB) CreateSession(ctx context.Context, s *vigil.Session) error {
	return db.tx(ctx, func(t *txn) error {
		_, err := t.exec(ctx, `INSERT INTO sessions (id, account_id, token_hash, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, device_label)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			s.ID, s.AccountID, s.TokenHash.Bytes(), micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt),
			micros(s.RevokedAt), s.IP, s.UserAgent, s.DeviceLabel)
		if err != nil {
			if isUnique(err) {
				return vigil.Errorf(vigil.ECONFLICT, "session already exists")
			}
			return err
		}
		res, err := t.exec(ctx, `UPDATE accounts SET last_login_at = ? WHERE id = ?`, micros(s.CreatedAt), s.AccountID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return vigil.Errorf(vigil.ENOTFOUND, "account not found")
		}
		return nil
	})
}

// SessionByTokenHash implements vigil.Store.
func (db *DB) SessionByTokenHash(ctx context.Context, h vigil.TokenHash) (*vigil.Session, error) {
	var s vigil.Session
	var created, seen, expires, revoked int64
	err := db.queryRow(ctx, `SELECT id, account_id, created_at, last_seen_at, expires_at, revoked_at, ip, user_agent, device_label
		FROM sessions WHERE token_hash = ?`, h.Bytes()).
		Scan(&s.ID, &s.AccountID, &created, &seen, &expires, &revoked, &s.IP, &s.UserAgent, &s.DeviceLabel)
	if err != nil {
		return nil, notFound(err, "session")
	}
	s.TokenHash = h
	s.CreatedAt, s.LastSeenAt = fromMicros(created), fromMicros(seen)
	s.ExpiresAt, s.RevokedAt = fromMicros(expires), fromMicros(revoked)
	return &s, nil
}

// TouchSession implements vigil.Store.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at < ?`, micros(at), id, micros(at))
	return err
}

// RevokeSession implements vigil.Store.
func (db *DB) RevokeSession(ctx context.Context, id string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE id = ? AND revoked_at = 0`, micros(at), id)
	return err
}
