package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/vigil-dev/vigil"
)

// auditLockQuery takes the PostgreSQL advisory lock that serializes
// appends to the audit log until the transaction ends: every appender
// reads the last entry and writes the next, so two at once would fork the
// chain (the primary key on seq would then fail one of them). The number
// is arbitrary but fixed: every instance on the database must use the
// same.
const auditLockQuery = `SELECT pg_advisory_xact_lock(8343800018773365)`

// SetAuditKey sets the key of the audit chain (vigil.AuditChainHash). The
// server calls it once, before the first write, with a key derived from
// its secret key; every instance on one database must use the same, and
// so must whoever verifies the log. Without a call the key is empty: the
// chain still links entries but anyone can recompute it, which suits tests
// and tools that do not care.
func (db *DB) SetAuditKey(key []byte) {
	db.mu.Lock()
	db.auditKey = append([]byte(nil), key...)
	db.mu.Unlock()
}

func (db *DB) getAuditKey() []byte {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.auditKey
}

// insertAudit appends entries to the audit chain inside t, setting their
// Seq, PrevHash and Hash. Callers run it last in their transaction: on
// PostgreSQL it takes the append lock, held until commit, and a
// transaction holding it must not wait for any other lock.
func insertAudit(ctx context.Context, t *txn, entries []*vigil.AuditEntry) error {
	if len(entries) == 0 {
		return nil
	}
	for _, e := range entries {
		if e == nil || e.ID == "" || e.At.IsZero() || e.Action == "" || e.ActorKind == "" {
			return errors.New("sqlstore: an audit entry needs an id, a time, an action and an actor kind")
		}
	}
	if t.db.dialect == Postgres {
		// SQLite needs nothing: its one writer connection runs one
		// transaction at a time.
		if _, err := t.exec(ctx, auditLockQuery); err != nil {
			return err
		}
	}
	var last int64
	var prev string
	err := t.queryRow(ctx, `SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1`).Scan(&last, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	key := t.db.getAuditKey()
	for _, e := range entries {
		e.At = fromMicros(micros(e.At)) // hash what is stored
		last++
		e.Seq, e.PrevHash = last, prev
		e.Hash = vigil.AuditChainHash(key, prev, e)
		if _, err := t.exec(ctx, `INSERT INTO audit_log (seq, id, at, actor_id, actor_kind, action, target_id, ip, detail, prev_hash, hash)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.Seq, e.ID, micros(e.At), e.ActorID, e.ActorKind, e.Action, e.TargetID, e.IP, e.Detail, e.PrevHash, e.Hash); err != nil {
			return err
		}
		prev = e.Hash
	}
	return nil
}

// AuditEntries implements vigil.Store.
func (db *DB) AuditEntries(ctx context.Context, afterSeq int64, limit int) ([]*vigil.AuditEntry, error) {
	if limit <= 0 {
		return nil, vigil.Errorf(vigil.EINVALID, "limit must be positive")
	}
	rows, err := db.query(ctx, `SELECT seq, id, at, actor_id, actor_kind, action, target_id, ip, detail, prev_hash, hash
		FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?`, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*vigil.AuditEntry
	for rows.Next() {
		var e vigil.AuditEntry
		var at int64
		if err := rows.Scan(&e.Seq, &e.ID, &at, &e.ActorID, &e.ActorKind, &e.Action, &e.TargetID, &e.IP, &e.Detail,
			&e.PrevHash, &e.Hash); err != nil {
			return nil, err
		}
		e.At = fromMicros(at)
		out = append(out, &e)
	}
	return out, rows.Err()
}
