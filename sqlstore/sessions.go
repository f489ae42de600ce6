package sqlstore

import (
	"context"
	"time"

	"github.com/vigil-dev/vigil"
)

// CreateSession implements vigil.Store.
func (db *DB) CreateSession(ctx context.Context, s *vigil.Session) error {
	return db.tx(ctx, func(t *txn) error { return insertSession(ctx, t, s) })
}

// insertSession stores a session and the account's last login time inside
// a transaction.
func insertSession(ctx context.Context, t *txn, s *vigil.Session) error {
	_, err := t.exec(ctx, `INSERT INTO sessions (id, account_id, token_hash, created_at, last_seen_at, expires_at, revoked_at, reauth_at, ip, user_agent, device_label, mfa_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.AccountID, s.TokenHash.Bytes(), micros(s.CreatedAt), micros(s.LastSeenAt), micros(s.ExpiresAt),
		micros(s.RevokedAt), micros(s.ReauthAt), s.IP, s.UserAgent, s.DeviceLabel, micros(s.MFAAt))
	if err != nil {
		if isUnique(err) {
			return vigil.Errorf(vigil.ECONFLICT, "session already exists")
		}
		return err
	}
	if err := oneRow(t.exec(ctx, `UPDATE accounts SET last_login_at = ? WHERE id = ?`, micros(s.CreatedAt), s.AccountID)); err != nil {
		return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "account not found"))
	}
	return nil
}

const sessionColumns = `id, account_id, token_hash, created_at, last_seen_at, expires_at, revoked_at, reauth_at, ip, user_agent, device_label, mfa_at`

func scanSession(r interface{ Scan(...any) error }) (*vigil.Session, error) {
	var s vigil.Session
	var hash []byte
	var created, seen, expires, revoked, reauth, mfa int64
	if err := r.Scan(&s.ID, &s.AccountID, &hash, &created, &seen, &expires, &revoked, &reauth, &s.IP, &s.UserAgent, &s.DeviceLabel, &mfa); err != nil {
		return nil, err
	}
	copy(s.TokenHash[:], hash)
	s.CreatedAt, s.LastSeenAt = fromMicros(created), fromMicros(seen)
	s.ExpiresAt, s.RevokedAt, s.ReauthAt, s.MFAAt = fromMicros(expires), fromMicros(revoked), fromMicros(reauth), fromMicros(mfa)
	return &s, nil
}

// SessionByTokenHash implements vigil.Store.
func (db *DB) SessionByTokenHash(ctx context.Context, h vigil.TokenHash) (*vigil.Session, error) {
	s, err := scanSession(db.queryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE token_hash = ?`, h.Bytes()))
	return s, notFound(err, "session")
}

// SessionsByAccount implements vigil.Store.
func (db *DB) SessionsByAccount(ctx context.Context, accountID string, now time.Time) ([]*vigil.Session, error) {
	rows, err := db.query(ctx, `SELECT `+sessionColumns+` FROM sessions
		WHERE account_id = ? AND revoked_at = 0 AND expires_at > ? ORDER BY created_at DESC, id DESC LIMIT 1000`,
		accountID, micros(now))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vigil.Session
	for rows.Next() {
		s, err := scanSession(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// RevokeAccountSessions implements vigil.Store.
func (db *DB) RevokeAccountSessions(ctx context.Context, accountID, except string, at time.Time, fx vigil.Effects) (int64, error) {
	var n int64
	err := db.tx(ctx, func(t *txn) error {
		res, err := t.exec(ctx, `UPDATE sessions SET revoked_at = ? WHERE account_id = ? AND revoked_at = 0 AND id <> ?`,
			micros(at), accountID, except)
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
	return n, err
}

// HasSignedInFrom implements vigil.Store.
func (db *DB) HasSignedInFrom(ctx context.Context, accountID, deviceLabel, ip string) (device, any bool, err error) {
	var d, a int
	err = db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM (SELECT 1 FROM login_attempts WHERE account_id = ? AND result = 'success' AND device_label = ? AND ip = ? LIMIT 1) x),
		(SELECT COUNT(*) FROM (SELECT 1 FROM login_attempts WHERE account_id = ? AND result = 'success' LIMIT 1) y)`,
		accountID, deviceLabel, ip, accountID).Scan(&d, &a)
	return d > 0, a > 0, err
}

// SetSessionReauth implements vigil.Store.
func (db *DB) SetSessionReauth(ctx context.Context, id string, at time.Time) error {
	_, err := db.exec(ctx, `UPDATE sessions SET reauth_at = ? WHERE id = ?`, micros(at), id)
	return err
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
