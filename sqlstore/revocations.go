package sqlstore

import (
	"context"
	"strings"

	"github.com/vigil-dev/vigil"
)

// CreateRevocation implements vigil.Store.
func (db *DB) CreateRevocation(ctx context.Context, r *vigil.Revocation, fx vigil.Effects) error {
	return db.tx(ctx, func(t *txn) error {
		err := t.queryRow(ctx, `INSERT INTO revocations (id, kinds, issued_before, all_accounts, must_reset, reason, incident_id, created_by, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
			r.ID, strings.Join(r.Kinds, " "), micros(r.IssuedBefore), len(r.AccountIDs) == 0, r.MustReset, r.Reason,
			r.IncidentID, r.CreatedBy, micros(r.CreatedAt)).Scan(&r.Seq)
		if err != nil {
			if isUnique(err) {
				return vigil.Errorf(vigil.ECONFLICT, "revocation already exists")
			}
			return err
		}
		for _, id := range r.AccountIDs {
			if _, err := t.exec(ctx, `INSERT INTO revocation_accounts (revocation_id, account_id) VALUES (?, ?)
				ON CONFLICT DO NOTHING`, r.ID, id); err != nil {
				return err
			}
		}
		return insertEffects(ctx, t, fx)
	})
}

// Revocations implements vigil.Store. Accounts are read in one pass over
// revocation_accounts, so a revocation naming many accounts costs one
// query, not one per account.
func (db *DB) Revocations(ctx context.Context, after int64) ([]*vigil.Revocation, error) {
	rows, err := db.query(ctx, `SELECT seq, id, kinds, issued_before, all_accounts, must_reset, reason, incident_id, created_by, created_at
		FROM revocations WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vigil.Revocation
	byID := make(map[string]*vigil.Revocation)
	var named []*vigil.Revocation
	for rows.Next() {
		var r vigil.Revocation
		var kinds string
		var before, created int64
		var all bool
		if err := rows.Scan(&r.Seq, &r.ID, &kinds, &before, &all, &r.MustReset, &r.Reason, &r.IncidentID, &r.CreatedBy, &created); err != nil {
			return nil, err
		}
		r.Kinds = strings.Fields(kinds)
		r.IssuedBefore, r.CreatedAt = fromMicros(before), fromMicros(created)
		out = append(out, &r)
		if !all {
			byID[r.ID] = &r
			named = append(named, &r)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(named) == 0 {
		return out, nil
	}
	arows, err := db.query(ctx, `SELECT ra.revocation_id, ra.account_id FROM revocation_accounts ra
		JOIN revocations r ON r.id = ra.revocation_id WHERE r.seq > ? ORDER BY ra.revocation_id, ra.account_id`, after)
	if err != nil {
		return nil, err
	}
	defer arows.Close()
	for arows.Next() {
		var rid, aid string
		if err := arows.Scan(&rid, &aid); err != nil {
			return nil, err
		}
		if r := byID[rid]; r != nil {
			r.AccountIDs = append(r.AccountIDs, aid)
		}
	}
	if err := arows.Err(); err != nil {
		return nil, err
	}
	// A revocation for named accounts that lost them all (it cannot, but
	// if it did) must not turn into one for everybody.
	for _, r := range named {
		if len(r.AccountIDs) == 0 {
			r.AccountIDs = []string{""}
		}
	}
	return out, nil
}

// RevocationVersion implements vigil.Store.
func (db *DB) RevocationVersion(ctx context.Context) (count, maxSeq int64, err error) {
	err = db.queryRow(ctx, `SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM revocations`).Scan(&count, &maxSeq)
	return count, maxSeq, err
}
