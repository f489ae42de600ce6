package outbox_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/outbox"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/sqlstore/sqltest"
)

var t0 = time.Date(2026, 1, 10, 23, 0, 0, 0, time.UTC)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func item(ch string) *vigil.OutboxItem {
	return &vigil.OutboxItem{ID: vigil.NewID(), Channel: ch, Payload: []byte("hello"), NextAttemptAt: t0, CreatedAt: t0}
}

// recorder is a channel that fails the first n deliveries, then records.
type recorder struct {
	mu        sync.Mutex
	failFirst int
	permanent bool
	got       []string
	tries     int
}

func (r *recorder) Deliver(_ context.Context, it *vigil.OutboxItem) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tries++
	if r.tries <= r.failFirst {
		if r.permanent {
			return outbox.Permanent(errors.New("550 no such user"))
		}
		return errors.New("451 try again later")
	}
	r.got = append(r.got, it.ID)
	return nil
}

func TestRetriesWithBackoff(t *testing.T) {
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			db := sqltest.Open(t, backend)
			c := &clock{t: t0}
			rec := &recorder{failFirst: 3}
			w := outbox.New(outbox.Config{BackoffBase: time.Second, BackoffMax: 4 * time.Second}, db,
				map[string]outbox.Channel{vigil.ChannelMail: rec}, c.now, nil)
			it := item(vigil.ChannelMail)
			if err := db.EnqueueOutbox(ctx, it); err != nil {
				t.Fatal(err)
			}
			waits := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second}
			for i, wait := range waits {
				if d, f, _ := w.RunOnce(ctx); d != 0 || f != 1 {
					t.Fatalf("attempt %d: delivered %d failed %d", i+1, d, f)
				}
				// Not due before the backoff has passed.
				c.add(wait - time.Millisecond)
				if d, f, _ := w.RunOnce(ctx); d+f != 0 {
					t.Fatalf("retried %v early", time.Millisecond)
				}
				c.add(time.Millisecond)
			}
			if d, _, _ := w.RunOnce(ctx); d != 1 {
				t.Fatal("not delivered on the fourth attempt")
			}
			got, _ := db.OutboxItemByID(ctx, it.ID)
			if got.DeliveredAt.IsZero() || got.Attempts != 4 || len(rec.got) != 1 || rec.got[0] != it.ID {
				t.Fatalf("item after delivery = %+v, deliveries %v", got, rec.got)
			}
			c.add(time.Hour)
			if d, f, _ := w.RunOnce(ctx); d+f != 0 {
				t.Fatal("a delivered item was sent again")
			}
		})
	}
}

func TestGivesUp(t *testing.T) {
	ctx := context.Background()
	db := sqltest.Open(t, "sqlite")
	c := &clock{t: t0}
	perm := &recorder{failFirst: 1, permanent: true}
	flaky := &recorder{failFirst: 100}
	w := outbox.New(outbox.Config{MaxAttempts: 3, BackoffBase: time.Second}, db,
		map[string]outbox.Channel{vigil.ChannelMail: perm, vigil.ChannelSMS: flaky}, c.now, nil)
	a, b, unknown := item(vigil.ChannelMail), item(vigil.ChannelSMS), item("pigeon")
	if err := db.EnqueueOutbox(ctx, a, b, unknown); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		if _, _, err := w.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		c.add(time.Hour)
	}
	for _, x := range []*vigil.OutboxItem{a, b, unknown} {
		got, _ := db.OutboxItemByID(ctx, x.ID)
		if !got.Dead || !got.DeliveredAt.IsZero() || got.LastError == "" {
			t.Fatalf("%s: %+v, want given up with a reason", x.Channel, got)
		}
	}
	if perm.tries != 1 || flaky.tries != 3 {
		t.Fatalf("permanent failure tried %d times (want 1), transient %d (want MaxAttempts 3)", perm.tries, flaky.tries)
	}
}

// The kill test: a process commits an item and dies in the middle of
// delivering it. Nothing is lost: a new worker delivers it once the lease
// has passed, under the same id (the idempotency key).
func TestKillBetweenCommitAndDelivery(t *testing.T) {
	if os.Getenv("VIGIL_OUTBOX_CHILD") != "" {
		child()
		return
	}
	for _, backend := range sqltest.Backends(t) {
		t.Run(backend, func(t *testing.T) {
			dsn := sqltest.DSN(t, backend)
			cmd := exec.Command(os.Args[0], "-test.run=^TestKillBetweenCommitAndDelivery$")
			idFile := t.TempDir() + "/id"
			cmd.Env = append(os.Environ(), "VIGIL_OUTBOX_CHILD="+dsn, "VIGIL_OUTBOX_ID_FILE="+idFile)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 3 {
				t.Fatalf("child did not die mid-delivery: %v\n%s", err, out)
			}
			ctx := context.Background()
			db, err := sqlstore.Open(ctx, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			c := &clock{t: time.Now()}
			rec := &recorder{}
			w := outbox.New(outbox.Config{Lease: time.Minute}, db, map[string]outbox.Channel{vigil.ChannelMail: rec}, c.now, nil)
			if d, _, _ := w.RunOnce(ctx); d != 0 {
				t.Fatal("the dead worker's lease was not respected")
			}
			c.add(time.Minute + time.Second)
			if d, _, err := w.RunOnce(ctx); d != 1 || err != nil {
				t.Fatalf("delivered %d after the lease (%v), want the one the dead process left", d, err)
			}
			id, _ := os.ReadFile(idFile)
			if len(rec.got) != 1 || rec.got[0] != string(id) {
				t.Fatalf("delivered %v, want the item %s", rec.got, id)
			}
		})
	}
}

// child enqueues an item (committed), starts delivering it and dies.
func child() {
	ctx := context.Background()
	dsn := os.Getenv("VIGIL_OUTBOX_CHILD")
	db, err := sqlstore.Open(ctx, dsn)
	if err != nil {
		os.Exit(1)
	}
	if _, err := db.Migrate(ctx); err != nil {
		os.Exit(1)
	}
	it := item(vigil.ChannelMail)
	it.NextAttemptAt = time.Now()
	if err := db.EnqueueOutbox(ctx, it); err != nil {
		os.Exit(1)
	}
	if err := os.WriteFile(os.Getenv("VIGIL_OUTBOX_ID_FILE"), []byte(it.ID), 0o600); err != nil {
		os.Exit(1)
	}
	w := outbox.New(outbox.Config{Lease: time.Minute}, db, map[string]outbox.Channel{
		vigil.ChannelMail: outbox.ChannelFunc(func(context.Context, *vigil.OutboxItem) error { os.Exit(3); return nil }),
	}, nil, nil)
	_, _, _ = w.RunOnce(ctx)
	os.Exit(1) // not reached: delivery killed the process
}

func TestRunWakesOnNotify(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	db := sqltest.Open(t, "sqlite")
	delivered := make(chan string, 2)
	w := outbox.New(outbox.Config{Poll: time.Hour}, db, map[string]outbox.Channel{
		vigil.ChannelMail: outbox.ChannelFunc(func(_ context.Context, it *vigil.OutboxItem) error { delivered <- it.ID; return nil }),
	}, nil, nil)
	// A first item is delivered by the worker's first pass; after it the
	// worker idles for an hour, so only Notify can deliver the second.
	first := item(vigil.ChannelMail)
	first.NextAttemptAt = time.Now()
	if err := db.EnqueueOutbox(ctx, first); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- w.Run(ctx) }()
	wait := func(want string) {
		t.Helper()
		select {
		case id := <-delivered:
			if id != want {
				t.Fatalf("delivered %s, want %s", id, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("nothing delivered within 10s")
		}
	}
	wait(first.ID)
	second := item(vigil.ChannelMail)
	second.NextAttemptAt = time.Now()
	if err := db.EnqueueOutbox(ctx, second); err != nil {
		t.Fatal(err)
	}
	w.Notify()
	wait(second.ID)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
