package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/vigil-dev/vigil"
)

// PutTOTP implements vigil.Store.
func (db *DB) PutTOTP(ctx context.Context, t *vigil.TOTP) error {
	return db.tx(ctx, func(tx *txn) error {
		var confirmed int64
		err := tx.queryRow(ctx, `SELECT confirmed_at FROM mfa_totp WHERE account_id = ?`, t.AccountID).Scan(&confirmed)
		switch {
		case err == nil && confirmed != 0:
			return vigil.Errorf(vigil.ECONFLICT, "two-factor authentication is already on")
		case err != nil && !errors.Is(err, sql.ErrNoRows):
			return err
		}
		if _, err := tx.exec(ctx, `DELETE FROM mfa_totp WHERE account_id = ?`, t.AccountID); err != nil {
			return err
		}
		_, err = tx.exec(ctx, `INSERT INTO mfa_totp (account_id, secret, confirmed_at, last_step, created_at) VALUES (?, ?, 0, 0, ?)`,
			t.AccountID, t.Sealed, micros(t.CreatedAt))
		return err
	})
}

// TOTPByAccount implements vigil.Store.
func (db *DB) TOTPByAccount(ctx context.Context, accountID string) (*vigil.TOTP, error) {
	t := vigil.TOTP{AccountID: accountID}
	var confirmed, created int64
	err := db.queryRow(ctx, `SELECT secret, confirmed_at, last_step, created_at FROM mfa_totp WHERE account_id = ?`, accountID).
		Scan(&t.Sealed, &confirmed, &t.LastStep, &created)
	if err != nil {
		return nil, notFound(err, "enrolment")
	}
	t.ConfirmedAt, t.CreatedAt = fromMicros(confirmed), fromMicros(created)
	return &t, nil
}

// EnableTOTP implements vigil.Store.
func (db *DB) EnableTOTP(ctx context.Context, accountID string, step int64, codes []vigil.TokenHash, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE mfa_totp SET confirmed_at = ?, last_step = ? WHERE account_id = ? AND confirmed_at = 0`,
			micros(at), step, accountID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "no enrolment waiting for confirmation"))
		}
		if _, err := t.exec(ctx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID); err != nil {
			return err
		}
		for _, h := range codes {
			if _, err := t.exec(ctx, `INSERT INTO recovery_codes (account_id, code_hash) VALUES (?, ?)`, accountID, h.Bytes()); err != nil {
				return err
			}
		}
		if _, err := t.exec(ctx, `UPDATE accounts SET mfa_enabled = TRUE WHERE id = ?`, accountID); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

// UseTOTPStep implements vigil.Store: a conditional update, so two
// requests carrying one code cannot both pass.
func (db *DB) UseTOTPStep(ctx context.Context, accountID string, step int64) (bool, error) {
	res, err := db.exec(ctx, `UPDATE mfa_totp SET last_step = ? WHERE account_id = ? AND confirmed_at <> 0 AND last_step < ?`,
		step, accountID, step)
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// UseRecoveryCode implements vigil.Store.
func (db *DB) UseRecoveryCode(ctx context.Context, accountID string, h vigil.TokenHash, at time.Time) (bool, error) {
	res, err := db.exec(ctx, `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND code_hash = ? AND used_at = 0`,
		micros(at), accountID, h.Bytes())
	if err != nil {
		return false, err
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// DisableTOTP implements vigil.Store.
func (db *DB) DisableTOTP(ctx context.Context, accountID string, at time.Time, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		for _, q := range []string{`DELETE FROM mfa_totp WHERE account_id = ?`, `DELETE FROM recovery_codes WHERE account_id = ?`,
			`UPDATE accounts SET mfa_enabled = FALSE WHERE id = ?`} {
			if _, err := t.exec(ctx, q, accountID); err != nil {
				return err
			}
		}
		return insertEffects(ctx, t, fx)
	})
}

// CreateMFAChallenge implements vigil.Store.
func (db *DB) CreateMFAChallenge(ctx context.Context, c *vigil.MFAChallenge) error {
	_, err := db.exec(ctx, `INSERT INTO mfa_challenges (id, account_id, token_hash, created_at, expires_at, ip, user_agent) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AccountID, c.TokenHash.Bytes(), micros(c.CreatedAt), micros(c.ExpiresAt), c.IP, c.UserAgent)
	return err
}

// MFAChallengeByHash implements vigil.Store.
func (db *DB) MFAChallengeByHash(ctx context.Context, h vigil.TokenHash) (*vigil.MFAChallenge, error) {
	c := vigil.MFAChallenge{TokenHash: h}
	var created, expires, used int64
	err := db.queryRow(ctx, `SELECT id, account_id, created_at, expires_at, attempts, used_at, ip, user_agent FROM mfa_challenges WHERE token_hash = ?`,
		h.Bytes()).Scan(&c.ID, &c.AccountID, &created, &expires, &c.Attempts, &used, &c.IP, &c.UserAgent)
	if err != nil {
		return nil, notFound(err, "challenge")
	}
	c.CreatedAt, c.ExpiresAt, c.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return &c, nil
}

// AddMFAChallengeAttempt implements vigil.Store.
func (db *DB) AddMFAChallengeAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := db.writeRow(ctx, `UPDATE mfa_challenges SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	return n, notFound(err, "challenge")
}

// CompleteMFAChallenge implements vigil.Store.
func (db *DB) CompleteMFAChallenge(ctx context.Context, id string, s *vigil.Session) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `UPDATE mfa_challenges SET used_at = ? WHERE id = ? AND used_at = 0`, micros(s.CreatedAt), id)); err != nil {
			return orNone(err, vigil.Errorf(vigil.EINVALID, "challenge already used"))
		}
		return insertSession(ctx, t, s)
	})
}
