package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/audit"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
	"github.com/vigil-dev/vigil/storetest"
)

var auditKey = []byte("audit key of the tests, 32 bytes")

// tamperable opens a migrated store keyed with auditKey and holding n
// audit entries, and returns with it a function that runs SQL on the same
// database behind the store's back (? placeholders in both dialects).
func tamperable(t *testing.T, backend string, n int) (*sqlstore.DB, func(q string, args ...any)) {
	t.Helper()
	ctx := context.Background()
	dsn := sqltest.DSN(t, backend)
	db := sqltest.OpenDSN(t, dsn)
	db.SetAuditKey(auditKey)
	at := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
	actions := []string{vigil.AuditLoginFailed, vigil.AuditLoginSucceeded, vigil.AuditPasswordChanged, vigil.AuditMFAEnabled, vigil.AuditLogout}
	for i := 1; i <= n; i++ {
		e := vigil.NewAuditEntry(at.Add(time.Duration(i)*time.Minute), actions[i%len(actions)], &vigil.Actor{AccountID: "acct" + strconv.Itoa(i%3)},
			"198.51.100."+strconv.Itoa(i), "acct"+strconv.Itoa(i%3), map[string]any{"i": i, "result": "ok"})
		if err := db.AddEffects(ctx, vigil.Effects{Audit: []*vigil.AuditEntry{e}}); err != nil {
			t.Fatal(err)
		}
	}
	driver := "sqlite3"
	if backend == "postgres" {
		driver = "pgx"
	}
	raw, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	return db, func(q string, args ...any) {
		t.Helper()
		if backend == "postgres" {
			for i := 1; strings.Contains(q, "?"); i++ {
				q = strings.Replace(q, "?", "$"+strconv.Itoa(i), 1)
			}
		}
		if _, err := raw.ExecContext(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

func verifyAudit(t *testing.T, db *sqlstore.DB, key []byte, anchors ...audit.Anchor) audit.Report {
	t.Helper()
	r, err := audit.Verify(context.Background(), db, key, anchors...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func wantFirstBad(t *testing.T, r audit.Report, seq int64, reason string) {
	t.Helper()
	if r.FirstBad == nil {
		t.Fatalf("tampered log verified (%d entries)", r.Entries)
	}
	if r.FirstBad.Seq != seq || !strings.Contains(r.FirstBad.Reason, reason) {
		t.Fatalf("first bad = %s, want entry %d: %s", r.FirstBad, seq, reason)
	}
}

// TestAuditTampering changes the stored log with plain SQL, as someone with
// write access to the database but without the key could, and checks that
// verification names the first entry touched.
func TestAuditTampering(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			t.Run("intact", func(t *testing.T) {
				db, _ := tamperable(t, backend, 10)
				storetest.MustVerifyAudit(t, db, auditKey, 10)
				// The key set is the key used: without it, entry 1 fails.
				wantFirstBad(t, verifyAudit(t, db, nil), 1, audit.ReasonEdited)
				wantFirstBad(t, verifyAudit(t, db, []byte("a wrong key")), 1, audit.ReasonEdited)
			})
			t.Run("detail edited", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				exec(`UPDATE audit_log SET detail = ? WHERE seq = 4`, `{"i":4,"result":"nothing happened"}`)
				wantFirstBad(t, verifyAudit(t, db, auditKey), 4, audit.ReasonEdited)
				// The store goes on appending; the damage stays named.
				e := vigil.NewAuditEntry(time.Now(), vigil.AuditLogout, nil, "", "", nil)
				if err := db.AddEffects(context.Background(), vigil.Effects{Audit: []*vigil.AuditEntry{e}}); err != nil || e.Seq != 11 {
					t.Fatalf("append after tampering: seq %d, %v", e.Seq, err)
				}
				wantFirstBad(t, verifyAudit(t, db, auditKey), 4, audit.ReasonEdited)
			})
			t.Run("actor edited", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				exec(`UPDATE audit_log SET actor_id = '', actor_kind = 'system' WHERE seq = 9`)
				wantFirstBad(t, verifyAudit(t, db, auditKey), 9, audit.ReasonEdited)
			})
			t.Run("middle row deleted", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				exec(`DELETE FROM audit_log WHERE seq = 5`)
				wantFirstBad(t, verifyAudit(t, db, auditKey), 6, "sequence gap after 4 (entry removed)")
			})
			t.Run("rows deleted and renumbered", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				exec(`DELETE FROM audit_log WHERE seq = 5`)
				for s := 6; s <= 10; s++ {
					exec(`UPDATE audit_log SET seq = ? WHERE seq = ?`, s-1, s)
				}
				wantFirstBad(t, verifyAudit(t, db, auditKey), 5, audit.ReasonLinkBroken)
			})
			t.Run("two rows swapped", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				got, err := db.AuditEntries(context.Background(), 0, 10)
				if err != nil {
					t.Fatal(err)
				}
				a, b := got[2], got[6] // seq 3 and 7
				set := `UPDATE audit_log SET id = ?, at = ?, actor_id = ?, actor_kind = ?, action = ?, target_id = ?, ip = ?, detail = ?,
					prev_hash = ?, hash = ? WHERE seq = ?`
				exec(`UPDATE audit_log SET id = 'moving' WHERE seq = 7`)
				for _, x := range []struct {
					e   *vigil.AuditEntry
					seq int
				}{{b, 3}, {a, 7}} {
					exec(set, x.e.ID, x.e.At.UnixMicro(), x.e.ActorID, x.e.ActorKind, x.e.Action, x.e.TargetID, x.e.IP, x.e.Detail,
						x.e.PrevHash, x.e.Hash, x.seq)
				}
				wantFirstBad(t, verifyAudit(t, db, auditKey), 3, audit.ReasonLinkBroken)
			})
			t.Run("hash changed", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				exec(`UPDATE audit_log SET hash = ? WHERE seq = 6`, strings.Repeat("f", 64))
				wantFirstBad(t, verifyAudit(t, db, auditKey), 6, audit.ReasonEdited)
			})
			t.Run("entry forged at the end", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				r := verifyAudit(t, db, auditKey)
				forged := vigil.NewAuditEntry(time.Now(), vigil.AuditRoleGranted, nil, "", "acct1", map[string]any{"role": "admin"})
				forged.Seq, forged.PrevHash, forged.ActorKind = 11, r.HeadHash, vigil.AuditActorCLI
				forged.Hash = vigil.AuditChainHash(nil, forged.PrevHash, forged) // without the key
				exec(`INSERT INTO audit_log (seq, id, at, actor_id, actor_kind, action, target_id, ip, detail, prev_hash, hash)
					VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, forged.Seq, forged.ID, forged.At.UnixMicro(), forged.ActorID, forged.ActorKind,
					forged.Action, forged.TargetID, forged.IP, forged.Detail, forged.PrevHash, forged.Hash)
				wantFirstBad(t, verifyAudit(t, db, auditKey), 11, audit.ReasonEdited)
			})
			t.Run("tail removed", func(t *testing.T) {
				db, exec := tamperable(t, backend, 10)
				head := verifyAudit(t, db, auditKey)
				anchor := audit.Anchor{Seq: head.HeadSeq, Hash: head.HeadHash}
				exec(`DELETE FROM audit_log WHERE seq > 7`)
				// The documented limit: a shorter chain is still a chain...
				storetest.MustVerifyAudit(t, db, auditKey, 7)
				// ...which a head recorded elsewhere shows up.
				wantFirstBad(t, verifyAudit(t, db, auditKey, anchor), 8, "removed from the end")
			})
		})
	}
}

// TestAuditTwoInstances appends through two stores on one database, like
// two servers behind a load balancer: still one chain.
func TestAuditTwoInstances(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			dsn := sqltest.DSN(t, backend)
			var dbs []*sqlstore.DB
			for i := 0; i < 2; i++ {
				db, err := sqlstore.Open(ctx, dsn)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				if _, err := db.Migrate(ctx); err != nil {
					t.Fatal(err)
				}
				db.SetAuditKey(auditKey)
				dbs = append(dbs, db)
			}
			const perStore, each = 4, 15
			var wg sync.WaitGroup
			errs := make(chan error, 2*perStore)
			for i := 0; i < 2*perStore; i++ {
				wg.Add(1)
				go func(db *sqlstore.DB, w int) {
					defer wg.Done()
					for j := 0; j < each; j++ {
						e := vigil.NewAuditEntry(time.Now(), vigil.AuditLoginSucceeded, nil, "", fmt.Sprint(w), map[string]any{"j": j})
						if err := db.AddEffects(ctx, vigil.Effects{Audit: []*vigil.AuditEntry{e}}); err != nil {
							errs <- err
							return
						}
					}
				}(dbs[i%2], i)
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			storetest.MustVerifyAudit(t, dbs[0], auditKey, 2*perStore*each)
		})
	}
}

// BenchmarkAuditAppend measures appends from parallel writers, each its own
// transaction: the cost the log adds to every audited event, and how the
// append lock bounds their rate.
func BenchmarkAuditAppend(b *testing.B) {
	for _, backend := range sqltest.Backends(b) {
		b.Run(backend, func(b *testing.B) {
			db := sqltest.Open(b, backend)
			db.SetAuditKey(auditKey)
			ctx := context.Background()
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					e := vigil.NewAuditEntry(time.Now(), vigil.AuditLoginFailed, nil, "192.0.2.1", "", map[string]any{"result": "failed"})
					if err := db.AddEffects(ctx, vigil.Effects{Audit: []*vigil.AuditEntry{e}}); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
