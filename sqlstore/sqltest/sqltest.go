// Package sqltest opens throwaway, migrated sqlstore databases for tests:
// always SQLite, and PostgreSQL when VIGIL_TEST_POSTGRES_URL names a server
// (each database then lives in a schema of its own, dropped at the end).
package sqltest

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/sqlstore"
)

// PostgresEnv names the environment variable with the PostgreSQL test URL.
const PostgresEnv = "VIGIL_TEST_POSTGRES_URL"

// Backends returns the backends to test: "sqlite", and "postgres" when
// PostgresEnv is set. In CI (CI=true) a missing PostgreSQL URL fails the
// test instead of quietly testing less.
func Backends(tb testing.TB) []string {
	tb.Helper()
	b := []string{"sqlite"}
	if os.Getenv(PostgresEnv) != "" {
		b = append(b, "postgres")
	} else if os.Getenv("CI") == "true" {
		tb.Fatalf("%s is not set in CI; .ci/run must start PostgreSQL", PostgresEnv)
	}
	return b
}

// DSN returns a fresh database name for backend: a SQLite file in a
// temporary directory, or a PostgreSQL URL whose search_path is a new,
// empty schema that is dropped when the test ends.
func DSN(tb testing.TB, backend string) string {
	tb.Helper()
	switch backend {
	case "sqlite":
		return filepath.Join(tb.TempDir(), "vigil.db")
	case "postgres":
		base := os.Getenv(PostgresEnv)
		if base == "" {
			tb.Skipf("%s not set", PostgresEnv)
		}
		schema := "t_" + vigil.NewID()
		admin, err := sql.Open("pgx", base)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
			admin.Close()
			tb.Fatalf("create schema: %v", err)
		}
		tb.Cleanup(func() {
			_, _ = admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			tb.Fatal(err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	tb.Fatalf("unknown backend %q", backend)
	return ""
}

// Open returns a migrated store on a fresh database of backend, closed when
// the test ends.
func Open(tb testing.TB, backend string) *sqlstore.DB {
	tb.Helper()
	return OpenDSN(tb, DSN(tb, backend))
}

// OpenDSN opens and migrates the database dsn (from DSN), closed when the
// test ends. Opening one DSN twice gives two stores on one database, as two
// server instances would have.
func OpenDSN(tb testing.TB, dsn string) *sqlstore.DB {
	tb.Helper()
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	return db
}
