package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

const accountColumns = `id, username, display_name, email, email_verified, phone, phone_verified,
	password_hash, roles, mfa_enabled, created_at, last_login_at, password_changed_at`

func scanAccount(r interface{ Scan(...any) error }) (*vigil.Account, error) {
	var a vigil.Account
	var hash, roles string
	var created, lastLogin, pwChanged int64
	err := r.Scan(&a.ID, &a.Username, &a.DisplayName, &a.Email, &a.EmailVerified, &a.Phone,
		&a.PhoneVerified, &hash, &roles, &a.MFAEnabled, &created, &lastLogin, &pwChanged)
	if err != nil {
		return nil, err
	}
	a.PasswordHash = vigil.PasswordHash(hash)
	a.Roles = splitRoles(roles)
	a.CreatedAt = fromMicros(created)
	a.LastLoginAt = fromMicros(lastLogin)
	a.PasswordChangedAt = fromMicros(pwChanged)
	return &a, nil
}

func splitRoles(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// PutSignup implements vigil.Store.
func (db *DB) PutSignup(ctx context.Context, s *vigil.Signup) error {
	_, err := db.exec(ctx, `INSERT INTO signups (id, username, email, phone, password_hash, code_hash, notice_code, attempts, created_at, expires_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, 0, ?, ?)
		ON CONFLICT (email) DO UPDATE SET id = excluded.id, username = excluded.username, phone = excluded.phone,
			password_hash = excluded.password_hash, code_hash = excluded.code_hash, notice_code = excluded.notice_code, attempts = 0,
			created_at = excluded.created_at, expires_at = excluded.expires_at`,
		s.ID, s.Username, s.Email, s.Phone, string(s.PasswordHash), s.CodeHash.Bytes(), s.NoticeCode, micros(s.CreatedAt), micros(s.ExpiresAt))
	return err
}

// SignupByEmail implements vigil.Store.
func (db *DB) SignupByEmail(ctx context.Context, email string) (*vigil.Signup, error) {
	var s vigil.Signup
	var hash string
	var code []byte
	var created, expires int64
	err := db.queryRow(ctx, `SELECT id, username, email, phone, password_hash, code_hash, notice_code, attempts, created_at, expires_at
		FROM signups WHERE email = ?`, email).
		Scan(&s.ID, &s.Username, &s.Email, &s.Phone, &hash, &code, &s.NoticeCode, &s.Attempts, &created, &expires)
	if err != nil {
		return nil, notFound(err, "signup")
	}
	s.PasswordHash = vigil.PasswordHash(hash)
	copy(s.CodeHash[:], code)
	s.CreatedAt, s.ExpiresAt = fromMicros(created), fromMicros(expires)
	return &s, nil
}

// AddSignupAttempt implements vigil.Store.
func (db *DB) AddSignupAttempt(ctx context.Context, id string) (int, error) {
	var n int
	err := db.writeRow(ctx, `UPDATE signups SET attempts = attempts + 1 WHERE id = ? RETURNING attempts`, id).Scan(&n)
	if err != nil {
		return 0, notFound(err, "signup")
	}
	return n, nil
}

// CompleteSignup implements vigil.Store.
func (db *DB) CompleteSignup(ctx context.Context, signupID string, a *vigil.Account, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		if err := oneRow(t.exec(ctx, `DELETE FROM signups WHERE id = ?`, signupID)); err != nil {
			return orNone(err, vigil.Errorf(vigil.ENOTFOUND, "signup not found"))
		}
		if err := insertAccount(ctx, t, a); err != nil {
			return err
		}
		return insertEffects(ctx, t, fx)
	})
}

func insertAccount(ctx context.Context, t *txn, a *vigil.Account) error {
	_, err := t.exec(ctx, `INSERT INTO accounts (`+accountColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Username, a.DisplayName, a.Email, a.EmailVerified, a.Phone, a.PhoneVerified,
		string(a.PasswordHash), strings.Join(a.Roles, " "), a.MFAEnabled, micros(a.CreatedAt), micros(a.LastLoginAt),
		micros(a.PasswordSetAt()))
	if isUnique(err) {
		switch uniqueField(err) {
		case "username":
			return vigil.Errorf(vigil.ECONFLICT, "username is taken")
		case "email":
			return vigil.Errorf(vigil.ECONFLICT, "email address is already registered")
		}
		return vigil.Errorf(vigil.ECONFLICT, "account already exists")
	}
	return err
}

// DeleteExpiredSignups implements vigil.Store.
func (db *DB) DeleteExpiredSignups(ctx context.Context, now time.Time) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM signups WHERE expires_at < ?`, micros(now))
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// AccountByID implements vigil.Store.
func (db *DB) AccountByID(ctx context.Context, id string) (*vigil.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE id = ?`, id))
	return a, notFound(err, "account")
}

// AccountByUsername implements vigil.Store.
func (db *DB) AccountByUsername(ctx context.Context, username string) (*vigil.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE username = ?`, username))
	return a, notFound(err, "account")
}

// AccountByEmail implements vigil.Store.
func (db *DB) AccountByEmail(ctx context.Context, email string) (*vigil.Account, error) {
	a, err := scanAccount(db.queryRow(ctx, `SELECT `+accountColumns+` FROM accounts WHERE email = ?`, email))
	return a, notFound(err, "account")
}

// SetPasswordHash implements vigil.Store.
func (db *DB) SetPasswordHash(ctx context.Context, accountID string, h vigil.PasswordHash) error {
	return db.updateAccount(ctx, `UPDATE accounts SET password_hash = ? WHERE id = ?`, string(h), accountID)
}

// SetDisplayName implements vigil.Store.
func (db *DB) SetDisplayName(ctx context.Context, accountID, name string) error {
	return db.updateAccount(ctx, `UPDATE accounts SET display_name = ? WHERE id = ?`, name, accountID)
}

// SetRoles implements vigil.Store.
func (db *DB) SetRoles(ctx context.Context, accountID string, roles []string) error {
	return db.updateAccount(ctx, `UPDATE accounts SET roles = ? WHERE id = ?`, strings.Join(roles, " "), accountID)
}

func (db *DB) updateAccount(ctx context.Context, q string, args ...any) error {
	return orNone(oneRow(db.exec(ctx, q, args...)), vigil.Errorf(vigil.ENOTFOUND, "account not found"))
}
