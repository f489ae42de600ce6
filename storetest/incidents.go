package storetest

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

func testRevocations(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "anna")
	b := MustCreateAccount(t, s, "bert")
	if c, m, err := s.RevocationVersion(ctx); err != nil || c != 0 || m != 0 {
		t.Fatalf("empty version = %d, %d, %v", c, m, err)
	}
	all := &vigil.Revocation{ID: vigil.NewID(), Kinds: []string{vigil.CredSessions}, IssuedBefore: base, Reason: "leak",
		CreatedBy: "cli", CreatedAt: base}
	some := &vigil.Revocation{ID: vigil.NewID(), Kinds: []string{vigil.CredResetTokens, vigil.CredMFAChallenges},
		IssuedBefore: base.Add(time.Hour), AccountIDs: []string{a.ID, b.ID}, MustReset: true, Reason: "phished",
		IncidentID: "inc", CreatedBy: a.ID, CreatedAt: base.Add(time.Hour)}
	for _, r := range []*vigil.Revocation{all, some} {
		if err := s.CreateRevocation(ctx, r, vigil.Effects{}); err != nil {
			t.Fatal(err)
		}
	}
	if all.Seq <= 0 || some.Seq <= all.Seq {
		t.Fatalf("seqs %d, %d: want increasing and positive", all.Seq, some.Seq)
	}
	wantCode(t, s.CreateRevocation(ctx, all, vigil.Effects{}), vigil.ECONFLICT)
	c, m, err := s.RevocationVersion(ctx)
	if err != nil || c != 2 || m != some.Seq {
		t.Fatalf("version = %d, %d, %v", c, m, err)
	}
	got, err := s.Revocations(ctx, 0)
	if err != nil || len(got) != 2 {
		t.Fatalf("revocations = %v, %v", got, err)
	}
	g := got[1]
	slices.Sort(g.AccountIDs)
	want := []string{a.ID, b.ID}
	slices.Sort(want)
	if g.ID != some.ID || !slices.Equal(g.Kinds, some.Kinds) || !g.IssuedBefore.Equal(some.IssuedBefore) || !slices.Equal(g.AccountIDs, want) ||
		!g.MustReset || g.Reason != "phished" || g.IncidentID != "inc" || g.CreatedBy != a.ID || !g.CreatedAt.Equal(some.CreatedAt) {
		t.Fatalf("read back %+v, wrote %+v", g, some)
	}
	if len(got[0].AccountIDs) != 0 {
		t.Fatalf("a revocation for everyone read back with accounts %v", got[0].AccountIDs)
	}
	after, err := s.Revocations(ctx, all.Seq)
	if err != nil || len(after) != 1 || after[0].ID != some.ID || len(after[0].AccountIDs) != 2 {
		t.Fatalf("revocations after %d = %v, %v", all.Seq, after, err)
	}
}

func testSecurityEvents(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	for i, k := range []string{"enumeration", "credential_stuffing", "enumeration"} {
		e := &vigil.SecurityEvent{ID: vigil.NewID(), Kind: k, Rule: "r", Severity: "high", Subject: "src:203.0.113.7",
			Summary: "s", Count: 10 + i, Threshold: 5, WindowSeconds: 600, At: base.Add(time.Duration(i) * time.Minute)}
		if err := s.AddSecurityEvent(ctx, e, vigil.Effects{}); err != nil {
			t.Fatal(err)
		}
	}
	list, next, err := s.SecurityEvents(ctx, vigil.SecurityEventFilter{Kind: "enumeration"}, vigil.Page{Limit: 1})
	if err != nil || len(list) != 1 || next == "" || list[0].Count != 12 || list[0].WindowSeconds != 600 {
		t.Fatalf("first page = %v, %q, %v", list, next, err)
	}
	list, next, err = s.SecurityEvents(ctx, vigil.SecurityEventFilter{Kind: "enumeration"}, vigil.Page{Limit: 1, Cursor: next})
	if err != nil || len(list) != 1 || list[0].Count != 10 || next != "" {
		t.Fatalf("second (last) page = %v, %q, %v", list, next, err)
	}
	list, _, err = s.SecurityEvents(ctx, vigil.SecurityEventFilter{Since: base.Add(time.Minute), Until: base.Add(2 * time.Minute)}, vigil.Page{})
	if err != nil || len(list) != 1 || list[0].Kind != "credential_stuffing" {
		t.Fatalf("time window = %v, %v", list, err)
	}
	_, _, err = s.SecurityEvents(ctx, vigil.SecurityEventFilter{}, vigil.Page{Cursor: "garbage"})
	wantCode(t, err, vigil.EINVALID)
}

func testIncidents(t *testing.T, s vigil.Store) {
	ctx := context.Background()
	a := MustCreateAccount(t, s, "anna")
	b := MustCreateAccount(t, s, "bert")
	inc := &vigil.Incident{ID: vigil.NewID(), Title: "t", Severity: "high", Status: vigil.IncidentOpen, DetectedAt: base,
		CreatedAt: base.Add(time.Minute), CreatedBy: "cli"}
	entry := func(kind string, at time.Time) *vigil.TimelineEntry {
		return &vigil.TimelineEntry{ID: vigil.NewID(), IncidentID: inc.ID, At: at, Kind: kind, Text: kind, ActorID: "cli"}
	}
	if err := s.CreateIncident(ctx, inc, vigil.Effects{Timeline: []*vigil.TimelineEntry{entry(vigil.TimelineOpened, base)}}); err != nil {
		t.Fatal(err)
	}
	// A timeline entry for an unknown incident is refused, with its change.
	bad := entry(vigil.TimelineNote, base)
	bad.IncidentID = vigil.NewID()
	wantCode(t, s.AddEffects(ctx, vigil.Effects{Timeline: []*vigil.TimelineEntry{bad}}), vigil.ENOTFOUND)

	n, err := s.AddAffectedAccounts(ctx, inc.ID, []string{a.ID, b.ID}, vigil.Effects{Timeline: []*vigil.TimelineEntry{entry(vigil.TimelineAffected, base.Add(time.Second))}})
	if err != nil || n != 2 {
		t.Fatalf("affected = %d, %v", n, err)
	}
	if n, err = s.AddAffectedAccounts(ctx, inc.ID, []string{a.ID}, vigil.Effects{}); err != nil || n != 0 {
		t.Fatalf("affected again = %d, %v", n, err)
	}
	_, err = s.AddAffectedAccounts(ctx, inc.ID, []string{vigil.NewID()}, vigil.Effects{Timeline: []*vigil.TimelineEntry{entry(vigil.TimelineAffected, base)}})
	wantCode(t, err, vigil.EINVALID)
	got, err := s.IncidentByID(ctx, inc.ID)
	if err != nil || got.Affected != 2 || got.Title != "t" || !got.DetectedAt.Equal(base) {
		t.Fatalf("incident = %+v, %v", got, err)
	}
	_, err = s.IncidentByID(ctx, vigil.NewID())
	wantCode(t, err, vigil.ENOTFOUND)

	got.Status, got.ClosedAt, got.NotifiedAt = vigil.IncidentClosed, base.Add(time.Hour), base.Add(time.Hour)
	if err := s.UpdateIncident(ctx, got, vigil.Effects{Timeline: []*vigil.TimelineEntry{entry(vigil.TimelineStatus, base.Add(time.Hour))}}); err != nil {
		t.Fatal(err)
	}
	tl, err := s.Timeline(ctx, inc.ID)
	if err != nil || len(tl) != 3 || tl[0].Kind != vigil.TimelineOpened || tl[2].Kind != vigil.TimelineStatus {
		t.Fatalf("timeline = %v, %v (the refused entries must not be there)", tl, err)
	}
	ids, err := s.AffectedAccounts(ctx, inc.ID, "", 1)
	if err != nil || len(ids) != 1 {
		t.Fatalf("affected page = %v, %v", ids, err)
	}
	rest, err := s.AffectedAccounts(ctx, inc.ID, ids[0], 10)
	if err != nil || len(rest) != 1 || rest[0] == ids[0] {
		t.Fatalf("affected rest = %v, %v", rest, err)
	}
	list, _, err := s.Incidents(ctx, vigil.Page{})
	if err != nil || len(list) != 1 || list[0].Status != vigil.IncidentClosed || !list[0].NotifiedAt.Equal(base.Add(time.Hour)) {
		t.Fatalf("incidents = %v, %v", list, err)
	}

	// A notification run advances only from the cursor it was read at.
	run := &vigil.IncidentNotification{ID: vigil.NewID(), IncidentID: inc.ID, Subject: "s", Body: "b", PerMinute: 60, Total: 2,
		NextDue: base, Status: "running", CreatedBy: "cli", CreatedAt: base}
	if err := s.CreateIncidentNotification(ctx, run, vigil.Effects{}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.RunningNotifications(ctx)
	if err != nil || len(runs) != 1 {
		t.Fatalf("running = %v, %v", runs, err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := *run
			r.Cursor, r.Enqueued = a.ID, 1
			errs[i] = s.AdvanceNotification(ctx, &r, "", vigil.Effects{Outbox: []*vigil.OutboxItem{{ID: vigil.NewID(), Channel: vigil.ChannelMail,
				AccountID: a.ID, Payload: []byte("{}"), NextAttemptAt: base, CreatedAt: base, Batch: run.ID}}})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantCode(t, err, vigil.ECONFLICT)
		}
	}
	if ok != 1 {
		t.Fatalf("%d advances from one cursor succeeded, want 1", ok)
	}
	p, err := s.BatchProgress(ctx, run.ID)
	if err != nil || p.Queued != 1 || p.Delivered != 0 {
		t.Fatalf("progress = %+v, %v (one chunk, written once)", p, err)
	}
	runs, err = s.IncidentNotifications(ctx, inc.ID)
	if err != nil || len(runs) != 1 || runs[0].Cursor != a.ID || runs[0].Enqueued != 1 {
		t.Fatalf("runs = %v, %v", runs, err)
	}
}
