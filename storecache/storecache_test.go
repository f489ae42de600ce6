package storecache_test

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
	"github.com/vigil-dev/vigil/storecache"
	"github.com/vigil-dev/vigil/storetest"
)

// The cached store is a vigil.Store like any other.
func TestConformance(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) vigil.Store { return storecache.New(sqltest.Open(t, backend)) })
		})
	}
}

// Writes through the cache are seen at once; writes behind its back are
// seen once the TTL passes, and not before.
func TestInvalidation(t *testing.T) {
	ctx := context.Background()
	db := sqltest.Open(t, "sqlite")
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := storecache.New(db, storecache.WithClock(func() time.Time { return now }), storecache.WithTTL(time.Second))
	a := storetest.MustCreateAccount(t, c, "alice")
	tok := vigil.NewToken()
	sess := &vigil.Session{ID: vigil.NewID(), AccountID: a.ID, TokenHash: tok.Hash(), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := c.CreateSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	if _, err := c.SessionByTokenHash(ctx, tok.Hash()); err != nil {
		t.Fatal(err)
	}
	// Through the cache: the revocation shows on the next read.
	if err := c.RevokeSession(ctx, sess.ID, now); err != nil {
		t.Fatal(err)
	}
	got, _ := c.SessionByTokenHash(ctx, tok.Hash())
	if got.RevokedAt.IsZero() {
		t.Fatal("revocation through the cache not seen at once")
	}
	// A cached value handed out cannot be changed by its receiver.
	got.AccountID = "tampered"
	if again, _ := c.SessionByTokenHash(ctx, tok.Hash()); again.AccountID != a.ID {
		t.Fatal("cache entry aliased to a caller's copy")
	}

	// Behind the cache's back: stale until the TTL passes.
	if _, err := c.AccountByID(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := db.SetDisplayName(ctx, a.ID, "Changed"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.AccountByID(ctx, a.ID); got.DisplayName != "alice" {
		t.Fatalf("display name = %q before the TTL, want the cached value (the test would prove nothing)", got.DisplayName)
	}
	now = now.Add(time.Second)
	if got, _ := c.AccountByID(ctx, a.ID); got.DisplayName != "Changed" {
		t.Fatalf("display name = %q after the TTL", got.DisplayName)
	}
	// Through the cache: at once.
	if err := c.SetDisplayName(ctx, a.ID, "Again"); err != nil {
		t.Fatal(err)
	}
	if got, _ := c.AccountByUsername(ctx, "alice"); got.DisplayName != "Again" {
		t.Fatalf("display name by username = %q", got.DisplayName)
	}
}
