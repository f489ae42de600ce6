package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/audit"
)

// auditEntry returns an entry as the service would record it.
func auditEntry(action, target string, at time.Time, detail map[string]any) *vigil.AuditEntry {
	return vigil.NewAuditEntry(at, action, &vigil.Actor{AccountID: target}, "192.0.2.10", target, detail)
}

// MustVerifyAudit verifies the store's audit log with key (nil for a store
// never given one) and fails the test unless it is one good chain of want
// entries.
func MustVerifyAudit(tb testing.TB, s vigil.AuditStore, key []byte, want int64) audit.Report {
	tb.Helper()
	r, err := audit.Verify(context.Background(), s, key)
	if err != nil {
		tb.Fatal(err)
	}
	if r.FirstBad != nil {
		tb.Fatalf("audit log broken after %d good entries: %s", r.Entries, r.FirstBad)
	}
	if r.Entries != want || r.HeadSeq != want {
		tb.Fatalf("audit log has %d entries (head %d), want %d", r.Entries, r.HeadSeq, want)
	}
	return r
}

func testAuditChain(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	if got, err := s.AuditEntries(ctx, 0, 10); err != nil || len(got) != 0 {
		t.Fatalf("new store's audit log = %d entries, %v", len(got), err)
	}
	MustVerifyAudit(t, s, nil, 0)
	a := MustCreateAccount(t, s, "audrey")

	var written []*vigil.AuditEntry
	add := func(es ...*vigil.AuditEntry) []*vigil.AuditEntry {
		written = append(written, es...)
		return es
	}
	// On their own, several at once.
	first := auditEntry(vigil.AuditLoginFailed, a.ID, base, map[string]any{"result": "failed", "device": "Firefox on Linux"})
	first.ActorKind, first.ActorID = vigil.AuditActorAnonymous, ""
	if err := s.AddEffects(ctx, vigil.Effects{Audit: add(first,
		auditEntry(vigil.AuditLoginSucceeded, a.ID, base.Add(time.Second), nil))}); err != nil {
		t.Fatal(err)
	}
	if first.Seq != 1 || first.PrevHash != "" || first.Hash == "" || written[1].Seq != 2 || written[1].PrevHash != first.Hash {
		t.Fatalf("appended entries not chained in place: %+v, %+v", first, written[1])
	}
	// With the changes they record, through every kind of Effects-taking
	// method that the service uses for an audited action.
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base, LastSeenAt: base,
		ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if err := s.ChangePassword(ctx, a.ID, "$argon2id$audited", sess.ID, base.Add(2*time.Second),
		vigil.Effects{Audit: add(auditEntry(vigil.AuditPasswordChanged, a.ID, base.Add(2*time.Second), nil))}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RevokeAccountSessions(ctx, a.ID, "", base.Add(3*time.Second),
		vigil.Effects{Audit: add(auditEntry(vigil.AuditSessionsRevokedAll, a.ID, base.Add(3*time.Second), map[string]any{"count": 1}))}); err != nil {
		t.Fatal(err)
	}
	rt := &vigil.ResetToken{ID: vigil.NewID(), AccountID: a.ID, TokenHash: vigil.NewToken().Hash(), CreatedAt: base.Add(4 * time.Second),
		ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateResetToken(ctx, rt, vigil.Effects{Audit: add(auditEntry(vigil.AuditResetRequested, a.ID, base.Add(4*time.Second), nil))}); err != nil {
		t.Fatal(err)
	}
	su := &vigil.Signup{ID: vigil.NewID(), Username: "audra", Email: "audra@example.com", PasswordHash: "x",
		CodeHash: vigil.NewToken().Hash(), CreatedAt: base, ExpiresAt: base.Add(time.Hour)}
	if err := s.PutSignup(ctx, su); err != nil {
		t.Fatal(err)
	}
	b := &vigil.Account{ID: vigil.NewID(), Username: "audra", DisplayName: "audra", Email: su.Email, PasswordHash: "x", CreatedAt: base}
	if err := s.CompleteSignup(ctx, su.ID, b, vigil.Effects{Audit: add(auditEntry(vigil.AuditAccountCreated, b.ID, base.Add(5*time.Second), nil))}); err != nil {
		t.Fatal(err)
	}

	// A change that fails writes no entry, and leaves no gap either.
	lost := auditEntry(vigil.AuditPasswordChanged, "nobody", base.Add(6*time.Second), nil)
	wantCode(t, s.ChangePassword(ctx, vigil.NewID(), "x", "", base.Add(6*time.Second), vigil.Effects{Audit: []*vigil.AuditEntry{lost}}), vigil.ENOTFOUND)
	// An entry without an action is refused, with the rest of its effects.
	n := &vigil.Notice{ID: vigil.NewID(), AccountID: a.ID, Kind: vigil.NoticeNewDeviceLogin, Code: "AAAA-BBBB", Title: "t", Text: "x", CreatedAt: base}
	if err := s.AddEffects(ctx, vigil.Effects{Notices: []*vigil.Notice{n}, Audit: []*vigil.AuditEntry{{ID: vigil.NewID(), At: base}}}); err == nil {
		t.Fatal("an audit entry without action or actor kind was stored")
	}
	if list, _, _ := s.Notices(ctx, a.ID, vigil.Page{Limit: 10}); len(list) != 0 {
		t.Fatal("a refused audit entry let the rest of its effects through")
	}
	if err := s.AddEffects(ctx, vigil.Effects{Audit: add(auditEntry(vigil.AuditLogout, a.ID, base.Add(7*time.Second),
		map[string]any{"session_id": sess.ID}))}); err != nil {
		t.Fatal(err)
	}

	// Read back exactly as written, in order.
	got, err := s.AuditEntries(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(written) {
		t.Fatalf("%d entries stored, want %d", len(got), len(written))
	}
	for i, w := range written {
		g := got[i]
		if g.Seq != int64(i+1) || g.Seq != w.Seq || g.ID != w.ID || !g.At.Equal(w.At) || g.ActorID != w.ActorID || g.ActorKind != w.ActorKind ||
			g.Action != w.Action || g.TargetID != w.TargetID || g.IP != w.IP || g.Detail != w.Detail || g.PrevHash != w.PrevHash || g.Hash != w.Hash {
			t.Fatalf("entry %d read back differs:\n got %+v\nwant %+v", i+1, g, w)
		}
	}
	// Paged by seq.
	page, err := s.AuditEntries(ctx, 2, 3)
	if err != nil || len(page) != 3 || page[0].Seq != 3 || page[2].Seq != 5 {
		t.Fatalf("AuditEntries(2, 3) = %d entries, %v", len(page), err)
	}
	if page, err := s.AuditEntries(ctx, int64(len(written)), 10); err != nil || len(page) != 0 {
		t.Fatalf("AuditEntries past the end = %d entries, %v", len(page), err)
	}
	_, err = s.AuditEntries(ctx, 0, 0)
	wantCode(t, err, vigil.EINVALID)

	r := MustVerifyAudit(t, s, nil, int64(len(written)))
	if r.HeadHash != written[len(written)-1].Hash {
		t.Fatalf("head %s, want the last entry's hash", r.HeadHash)
	}
	// Another key: the very first entry fails.
	if r, _ := audit.Verify(ctx, s, []byte("some other key")); r.FirstBad == nil || r.FirstBad.Seq != 1 {
		t.Fatalf("verified with another key: %+v", r)
	}
}

// testAuditConcurrent appends from many goroutines at once, alone and with
// changes: the log must stay one chain, without a duplicate or lost seq
// (on PostgreSQL this needs the appenders serialized).
func testAuditConcurrent(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	const workers, each = 8, 25
	accts := make([]*vigil.Account, workers)
	for w := range accts {
		accts[w] = MustCreateAccount(t, s, fmt.Sprintf("auditor%d", w))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(a *vigil.Account) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				at := base.Add(time.Duration(i) * time.Millisecond)
				e := auditEntry(vigil.AuditLoginSucceeded, a.ID, at, map[string]any{"i": i})
				var err error
				if i%5 == 0 {
					e.Action = vigil.AuditPasswordChanged
					err = s.ChangePassword(ctx, a.ID, vigil.PasswordHash(fmt.Sprintf("$argon2id$%d", i)), "", at, vigil.Effects{Audit: []*vigil.AuditEntry{e}})
				} else {
					err = s.AddEffects(ctx, vigil.Effects{Audit: []*vigil.AuditEntry{e}})
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}(accts[w])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent append failed: %v", err)
	}
	MustVerifyAudit(t, s, nil, workers*each)
}
