// Package sqlstore implements vigil.Store on SQLite (the embedded default)
// and PostgreSQL (for several instances behind a load balancer).
//
// Queries are hand-written with ? placeholders and rewritten to $n for
// PostgreSQL; that and the column types in the per-dialect migrations are the
// only differences between the two. Migrations are embedded and applied by
// goose, each in its own transaction.
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" database/sql driver
	"github.com/mattn/go-sqlite3"
	"github.com/pressly/goose/v3"

	"github.com/vigil-dev/vigil"
)

//go:embed migrations
var migrations embed.FS

// Dialect names a supported database.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is an open vigil database. It implements vigil.Store.
type DB struct {
	dialect Dialect
	// rdb serves reads and wdb writes. On SQLite they are two pools on one
	// file: many readers, one writer, so writers queue in Go instead of
	// failing with SQLITE_BUSY. On PostgreSQL both are the same pool.
	rdb, wdb *sql.DB

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt
	// auditKey keys the audit chain (guarded by mu); see SetAuditKey.
	auditKey []byte
}

type stmtKey struct {
	write bool
	query string
}

var _ vigil.Store = (*DB)(nil)

// Open opens the database named by dsn: a postgres:// or postgresql:// URL,
// or else a SQLite file path. It does not migrate; call Migrate.
func Open(ctx context.Context, dsn string) (*DB, error) {
	if dsn == "" {
		return nil, errors.New("sqlstore: empty database name")
	}
	db := &DB{stmts: make(map[stmtKey]*sql.Stmt)}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		db.dialect = Postgres
		pool, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open postgres: %w", err)
		}
		pool.SetMaxOpenConns(32)
		pool.SetMaxIdleConns(32)
		pool.SetConnMaxIdleTime(5 * time.Minute)
		db.rdb, db.wdb = pool, pool
	} else {
		db.dialect = SQLite
		path := strings.TrimPrefix(dsn, "sqlite://")
		path = strings.TrimPrefix(path, "file:")
		if i := strings.IndexByte(path, '?'); i >= 0 {
			return nil, errors.New("sqlstore: give the SQLite database as a plain file path, without options")
		}
		common := url.Values{
			"_busy_timeout": {"10000"},
			"_foreign_keys": {"on"},
			"_journal_mode": {"WAL"},
			"_synchronous":  {"NORMAL"},
		}
		w := cloneValues(common)
		w.Set("_txlock", "immediate")
		wdb, err := sql.Open("sqlite3", "file:"+path+"?"+w.Encode())
		if err != nil {
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		wdb.SetMaxOpenConns(1)
		wdb.SetMaxIdleConns(1)
		wdb.SetConnMaxIdleTime(0)
		r := cloneValues(common)
		r.Set("_query_only", "true")
		rdb, err := sql.Open("sqlite3", "file:"+path+"?"+r.Encode())
		if err != nil {
			wdb.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite: %w", err)
		}
		rdb.SetMaxOpenConns(16)
		rdb.SetMaxIdleConns(16)
		rdb.SetConnMaxIdleTime(0)
		db.rdb, db.wdb = rdb, wdb
		// The writer creates the file and switches it to WAL before any
		// reader opens it.
		if err := wdb.PingContext(ctx); err != nil {
			db.Close()
			return nil, fmt.Errorf("sqlstore: open sqlite %s: %w", path, err)
		}
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func cloneValues(v url.Values) url.Values {
	c := make(url.Values, len(v))
	for k, vs := range v {
		c[k] = append([]string(nil), vs...)
	}
	return c
}

// Dialect reports which database db talks to.
func (db *DB) Dialect() Dialect { return db.dialect }

// Migrate applies every embedded migration not yet applied and reports how
// many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	p, err := db.migrator()
	if err != nil {
		return 0, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("sqlstore: migrate: %w", err)
	}
	return len(res), nil
}

// MigrationStatus reports the current and the latest schema version.
func (db *DB) MigrationStatus(ctx context.Context) (current, latest int64, err error) {
	p, err := db.migrator()
	if err != nil {
		return 0, 0, err
	}
	current, latest, err = p.GetVersions(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("sqlstore: migration status: %w", err)
	}
	return current, latest, nil
}

func (db *DB) migrator() (*goose.Provider, error) {
	sub, err := fs.Sub(migrations, "migrations/"+string(db.dialect))
	if err != nil {
		return nil, err
	}
	d := goose.DialectSQLite3
	if db.dialect == Postgres {
		d = goose.DialectPostgres
	}
	p, err := goose.NewProvider(d, db.wdb, sub, goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return nil, fmt.Errorf("sqlstore: migrations: %w", err)
	}
	return p, nil
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.rdb.PingContext(ctx); err != nil {
		return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "database unavailable", Err: err}
	}
	return nil
}

// Close closes the pools.
func (db *DB) Close() error {
	db.mu.Lock()
	for _, s := range db.stmts {
		s.Close()
	}
	db.stmts = nil
	db.mu.Unlock()
	err := db.rdb.Close()
	if db.wdb != db.rdb {
		err = errors.Join(err, db.wdb.Close())
	}
	return err
}

// rebind rewrites ? placeholders to $1, $2, ... for PostgreSQL. The queries
// here contain no literal question marks.
func (db *DB) rebind(q string) string {
	if db.dialect != Postgres {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// stmt returns a prepared statement for q, prepared once per store.
func (db *DB) stmt(ctx context.Context, write bool, q string) (*sql.Stmt, error) {
	k := stmtKey{write, q}
	db.mu.Lock()
	s, ok := db.stmts[k]
	db.mu.Unlock()
	if ok {
		return s, nil
	}
	pool := db.rdb
	if write {
		pool = db.wdb
	}
	s, err := pool.PrepareContext(ctx, db.rebind(q))
	if err != nil {
		return nil, err
	}
	db.mu.Lock()
	defer db.mu.Unlock()
	if db.stmts == nil {
		s.Close()
		return nil, errors.New("sqlstore: closed")
	}
	if old, ok := db.stmts[k]; ok {
		s.Close()
		return old, nil
	}
	db.stmts[k] = s
	return s, nil
}

func (db *DB) queryRow(ctx context.Context, q string, args ...any) *row {
	s, err := db.stmt(ctx, false, q)
	if err != nil {
		return &row{err: err}
	}
	return &row{r: s.QueryRowContext(ctx, args...)}
}

func (db *DB) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	s, err := db.stmt(ctx, false, q)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (db *DB) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s, err := db.stmt(ctx, true, q)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

// tx runs fn in a write transaction, committing if it returns nil.
func (db *DB) tx(ctx context.Context, fn func(*txn) error) error {
	t, err := db.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&txn{t: t, db: db}); err != nil {
		_ = t.Rollback()
		return err
	}
	return t.Commit()
}

type txn struct {
	t  *sql.Tx
	db *DB
}

func (t *txn) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return t.t.ExecContext(ctx, t.db.rebind(q), args...)
}

func (t *txn) queryRow(ctx context.Context, q string, args ...any) *row {
	return &row{r: t.t.QueryRowContext(ctx, t.db.rebind(q), args...)}
}

// row wraps *sql.Row so that a failed prepare surfaces at Scan, like a
// failed query does.
type row struct {
	r   *sql.Row
	err error
}

func (r *row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

// micros converts a time to the stored form; the zero time is 0.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros converts a stored time back; 0 is the zero time.
func fromMicros(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

// isUnique reports whether err is a uniqueness violation, in either dialect.
func isUnique(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintUnique || se.ExtendedCode == sqlite3.ErrConstraintPrimaryKey
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return false
}

// isForeignKey reports whether err is a foreign-key violation.
func isForeignKey(err error) bool {
	var se sqlite3.Error
	if errors.As(err, &se) {
		return se.ExtendedCode == sqlite3.ErrConstraintForeignKey
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return false
}

// uniqueField names the column of a uniqueness violation, as far as the
// driver tells: "username", "email" or "".
func uniqueField(err error) string {
	msg := err.Error()
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		msg = pe.ConstraintName + " " + pe.Detail
	}
	switch {
	case strings.Contains(msg, "username"):
		return "username"
	case strings.Contains(msg, "email"):
		return "email"
	}
	return ""
}

// notFound maps sql.ErrNoRows to ENOTFOUND with the given message.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return vigil.Errorf(vigil.ENOTFOUND, "%s not found", what)
	}
	return err
}

// writeRow runs a statement that changes rows and returns one (RETURNING).
func (db *DB) writeRow(ctx context.Context, q string, args ...any) *row {
	s, err := db.stmt(ctx, true, q)
	if err != nil {
		return &row{err: err}
	}
	return &row{r: s.QueryRowContext(ctx, args...)}
}

// RawQuery runs a read-only query whose rows have one text column and
// returns the values. It is for operators' tools and tests that inspect
// what is stored.
func (db *DB) RawQuery(ctx context.Context, q string, args ...any) ([]string, error) {
	rows, err := db.rdb.QueryContext(ctx, db.rebind(q), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// errNoRow reports that a statement meant to change one row changed none.
var errNoRow = errors.New("sqlstore: no row changed")

// oneRow turns the result of a statement meant to change exactly one row
// into errNoRow when it changed none.
func oneRow(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return errNoRow
	}
	return nil
}

// orNone returns none for errNoRow, and err otherwise.
func orNone(err, none error) error {
	if errors.Is(err, errNoRow) {
		return none
	}
	return err
}
