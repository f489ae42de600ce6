package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/vigil-dev/vigil/sqlstore"
)

func runMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	database := DefaultConfig().Database
	status := false
	fs := flag.NewFlagSet("vigil migrate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&database, "database", database, "SQLite file path, or postgres:// URL")
	fs.BoolVar(&status, "status", false, "only report the schema version")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil migrate [flags]\n\nApplies the embedded migrations not yet applied. Flags:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, getenv, nil); err != nil {
		return err
	}
	db, err := sqlstore.Open(ctx, database)
	if err != nil {
		return err
	}
	defer db.Close()
	if !status {
		n, err := db.Migrate(ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "applied %d migration(s)\n", n)
	}
	cur, latest, err := db.MigrationStatus(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s schema version %d of %d\n", db.Dialect(), cur, latest)
	return nil
}
