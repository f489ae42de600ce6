package sqlstore

import (
	"context"
	"encoding/base64"
	"strconv"
	"strings"

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

// LoginAttempts implements vigil.Store. The cursor is the (time, id) of the
// last row of the previous page; rows are ordered by both, newest first.
func (db *DB) LoginAttempts(ctx context.Context, accountID string, p vigil.Page) ([]*vigil.LoginAttempt, string, error) {
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
	rows, err := db.query(ctx, `SELECT id, at, result, ip, user_agent, device_label FROM login_attempts
		WHERE account_id = ? AND (at < ? OR (at = ? AND id < ?))
		ORDER BY at DESC, id DESC LIMIT ?`, accountID, at, at, id, limit+1)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []*vigil.LoginAttempt
	for rows.Next() {
		var a vigil.LoginAttempt
		var t int64
		if err := rows.Scan(&a.ID, &t, &a.Result, &a.IP, &a.UserAgent, &a.DeviceLabel); err != nil {
			return nil, "", err
		}
		a.AccountID, a.At = accountID, fromMicros(t)
		out = append(out, &a)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(micros(last.At), last.ID)
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
