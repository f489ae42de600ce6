package sqlstore_test

import (
	"context"
	"testing"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
	"github.com/vigil-dev/vigil/storetest"
)

func TestConformance(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) vigil.Store { return sqltest.Open(t, backend) })
		})
	}
}

func TestMigrateIsIdempotent(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := sqltest.DSN(t, backend)
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			n, err := db.Migrate(ctx)
			if err != nil || n == 0 {
				t.Fatalf("first migrate applied %d, %v", n, err)
			}
			n, err = db.Migrate(ctx)
			if err != nil || n != 0 {
				t.Fatalf("second migrate applied %d, %v; want 0", n, err)
			}
			cur, latest, err := db.MigrationStatus(ctx)
			if err != nil || cur != latest || cur == 0 {
				t.Fatalf("status = %d/%d, %v", cur, latest, err)
			}
		})
	}
}

func TestOpenRefusesOptionsInPath(t *testing.T) {
	if _, err := sqlstore.Open(context.Background(), "file:x.db?mode=memory"); err == nil {
		t.Fatal("accepted a SQLite name with options")
	}
}
