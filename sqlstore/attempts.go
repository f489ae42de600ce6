package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
)

// AddLoginAttempt implements vigil.Store.
func (db *DB) AddLoginAttempt(ctx context.Context, a *vigil.LoginAttempt) error {
	_, err := db.exec(ctx, `INSERT INTO login_attempts (id, account_id, at, result, ip, user_agent, device_label)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ID, a.AccountID, micros(a.At), a.Result, a.IP, a.UserAgent, a.DeviceLabel)
	return err
}

// maxPage bounds every listing, whatever the caller asks for.
const maxPage = 100

// LoginAttempts implements vigil.Store.
func (db *DB) LoginAttempts(ctx context.Context, accountID string, p vigil.Page) ([]*vigil.LoginAttempt, string, error) {
	return keysetPage(ctx, db, `SELECT id, at, result, ip, user_agent, device_label FROM login_attempts
		WHERE account_id = ? AND (at < ? OR (at = ? AND id < ?))
		ORDER BY at DESC, id DESC LIMIT ?`, accountID, p,
		func(r *sql.Rows) (*vigil.LoginAttempt, error) {
			a := vigil.LoginAttempt{AccountID: accountID}
			var t int64
			err := r.Scan(&a.ID, &t, &a.Result, &a.IP, &a.UserAgent, &a.DeviceLabel)
			a.At = fromMicros(t)
			return &a, err
		},
		func(a *vigil.LoginAttempt) (time.Time, string) { return a.At, a.ID })
}

// keysetPage runs a newest-first listing of one account's rows, keyed by
// (time, id): q takes the account id, the cursor's time twice, its id and
// the limit, in that order. The cursor is the key of the last row of the
// previous page, so pages neither skip nor repeat rows as new ones arrive.
func keysetPage[T any](ctx context.Context, db *DB, q, accountID string, p vigil.Page,
	scan func(*sql.Rows) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
	return keysetPageArgs(ctx, db, q, []any{accountID}, p, scan, key)
}

// keysetPageArgs is keysetPage for queries whose leading arguments are
// other than one account id: q takes pre, then the cursor's time twice, its
// id and the limit.
func keysetPageArgs[T any](ctx context.Context, db *DB, q string, pre []any, p vigil.Page,
	scan func(*sql.Rows) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
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
	rows, err := db.query(ctx, q, append(pre[:len(pre):len(pre)], at, at, id, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		t, id := key(out[limit-1])
		next = encodeCursor(micros(t), id)
	}
	return out, next, nil
}

func encodeCursor(at int64, id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(at, 10) + "." + id))
}

func decodeCursor(c string) (int64, string, bool) {
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, "", false
	}
	ts, id, ok := strings.Cut(string(b), ".")
	if !ok || !vigil.ValidID(id) {
		return 0, "", false
	}
	at, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || at <= 0 {
		return 0, "", false
	}
	return at, id, true
}
