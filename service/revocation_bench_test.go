package service_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
)

// benchSessions is the number of live sessions the revocation benchmark
// loads: VIGIL_BENCH_SESSIONS, default 100000 (BENCHMARKS.md has the
// figures for 1000000).
func benchSessions(b *testing.B) int {
	n := 100000
	if v := os.Getenv("VIGIL_BENCH_SESSIONS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			b.Fatalf("VIGIL_BENCH_SESSIONS=%q: want a number >= 1000", v)
		}
	}
	return n
}

// loadSessions writes n live sessions spread over n/1000 accounts with
// multi-row inserts on a connection of its own, and returns the tokens of
// a sample of them.
func loadSessions(b *testing.B, raw *sql.DB, pg bool, n int, at time.Time) []vigil.Token {
	b.Helper()
	ph := func(i int) string {
		if pg {
			return "$" + strconv.Itoa(i)
		}
		return "?"
	}
	accounts := n / 1000
	ids := make([]string, accounts)
	ctx := context.Background()
	tx, err := raw.BeginTx(ctx, nil)
	if err != nil {
		b.Fatal(err)
	}
	for i := range ids {
		ids[i] = vigil.NewID()
		if _, err := tx.Exec(fmt.Sprintf(`INSERT INTO accounts (id, username, display_name, email, password_hash, created_at)
			VALUES (%s, %s, '', %s, 'x', %s)`, ph(1), ph(2), ph(3), ph(4)),
			ids[i], fmt.Sprintf("u%d", i), fmt.Sprintf("u%d@example.com", i), at.UnixMicro()); err != nil {
			b.Fatal(err)
		}
	}
	var sample []vigil.Token
	const batch = 500
	for done := 0; done < n; done += batch {
		var q strings.Builder
		q.WriteString(`INSERT INTO sessions (id, account_id, token_hash, created_at, last_seen_at, expires_at) VALUES `)
		args := make([]any, 0, batch*6)
		for j := 0; j < batch && done+j < n; j++ {
			if j > 0 {
				q.WriteString(",")
			}
			k := len(args)
			fmt.Fprintf(&q, "(%s,%s,%s,%s,%s,%s)", ph(k+1), ph(k+2), ph(k+3), ph(k+4), ph(k+5), ph(k+6))
			tok := vigil.NewToken()
			if (done+j)%(n/100) == 0 {
				sample = append(sample, tok)
			}
			args = append(args, vigil.NewID(), ids[(done+j)%accounts], tok.Hash().Bytes(), at.UnixMicro(), at.UnixMicro(),
				at.Add(24*time.Hour).UnixMicro())
		}
		if _, err := tx.Exec(q.String(), args...); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	if pg {
		_, err = raw.Exec(`ANALYZE sessions`)
	} else {
		_, err = raw.Exec(`ANALYZE`)
	}
	if err != nil {
		b.Fatal(err)
	}
	return sample
}

// BenchmarkRevocation measures revocation by cutoff over many live
// sessions: validating a session before any revocation, issuing a
// revocation for everyone (one record), validating after it, and for
// comparison marking every session revoked row by row.
//
//	VIGIL_BENCH_SESSIONS=1000000 go test -run '^$' -bench Revocation -benchtime 20000x ./service/
func BenchmarkRevocation(b *testing.B) {
	for _, backend := range sqltest.Backends(b) {
		b.Run(backend, func(b *testing.B) { benchRevocation(b, backend) })
	}
}

func benchRevocation(b *testing.B, backend string) {
	ctx := context.Background()
	n := benchSessions(b)
	dsn := sqltest.DSN(b, backend)
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Microsecond)
	issued := now.Add(-time.Hour)
	start := time.Now()
	pg := backend == "postgres"
	driver := "sqlite3"
	if pg {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer raw.Close()
	rebind := func(q string) string {
		if pg {
			return strings.Replace(strings.Replace(q, "?", "$1", 1), "?", "$2", 1)
		}
		return q
	}
	sample := loadSessions(b, raw, pg, n, issued)
	b.Logf("%s: loaded %d sessions in %v", backend, n, time.Since(start).Round(time.Millisecond))

	hasher, _ := password.NewHasher(password.TestParams())
	sealer, _ := seal.NewSealer(seal.GenerateKey())
	sender, err := mail.NewDirSender(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := service.New(service.DefaultConfig(), service.Deps{Store: db, Hasher: hasher, Mail: sender, Limiter: ratelimit.NewMemory(),
		Sealer: sealer, RecoveryKey: make([]byte, 32), Now: func() time.Time { return now }})
	if err != nil {
		b.Fatal(err)
	}
	validate := func(b *testing.B, wantOK bool) {
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			_, err := svc.Authenticate(ctx, sample[i%len(sample)])
			if (err == nil) != wantOK {
				b.Fatalf("validation: err = %v, want ok = %v", err, wantOK)
			}
		}
	}
	b.Run("validate-before", func(b *testing.B) { validate(b, true) })
	b.Run("issue", func(b *testing.B) {
		// Each iteration is one revocation for everyone, as an operator
		// would issue it; its cost must not depend on the sessions.
		adm := vigil.NewContextWithActor(ctx, vigil.CLIActor())
		b.ReportAllocs()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := svc.Revoke(adm, service.RevocationRequest{Kinds: []string{vigil.CredSessions}, IssuedBefore: now.Add(-time.Minute),
				Reason: "benchmark"}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("validate-after", func(b *testing.B) { validate(b, false) })
	b.Run("row-by-row-update", func(b *testing.B) {
		// What the revocation replaces: one UPDATE touching every session.
		// Each iteration undoes itself, untimed, so every one does the
		// same work.
		for i := 0; i < b.N; i++ {
			res, err := raw.ExecContext(ctx, rebind(`UPDATE sessions SET revoked_at = ? WHERE revoked_at = 0 AND created_at < ?`),
				now.UnixMicro(), now.Add(-time.Minute).UnixMicro())
			if err != nil {
				b.Fatal(err)
			}
			if rows, _ := res.RowsAffected(); rows != int64(n) {
				b.Fatalf("updated %d sessions, want %d", rows, n)
			}
			b.StopTimer()
			if _, err := raw.ExecContext(ctx, `UPDATE sessions SET revoked_at = 0`); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
		}
		b.ReportMetric(float64(n), "sessions")
	})
}
