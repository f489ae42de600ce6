// Package outbox delivers the durable outbox: items that the service wrote
// in the same transaction as the change they report are claimed, handed to
// their channel (mail, SMS, webhook) and marked delivered, with retries and
// exponential backoff. Delivery is at least once: a worker that dies after
// sending but before marking leaves the item to be sent again after its
// lease, with the same ID as idempotency key, so receivers drop the
// duplicate.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/vigil-dev/vigil"
)

// Channel delivers one item. The item's ID is the idempotency key and must
// travel with the delivery (a header, a Message-ID).
type Channel interface {
	Deliver(ctx context.Context, it *vigil.OutboxItem) error
}

// ChannelFunc adapts a function to Channel.
type ChannelFunc func(ctx context.Context, it *vigil.OutboxItem) error

// Deliver calls f.
func (f ChannelFunc) Deliver(ctx context.Context, it *vigil.OutboxItem) error { return f(ctx, it) }

// Permanent marks an error that no retry can fix (a refused address, a
// 4xx from a webhook): the item is given up at once.
func Permanent(err error) error { return permanentError{err} }

type permanentError struct{ error }

func (e permanentError) Unwrap() error { return e.error }

// IsPermanent reports whether err was marked with Permanent.
func IsPermanent(err error) bool {
	var p permanentError
	return errors.As(err, &p)
}

// Config tunes a Worker. Zero fields take the defaults.
type Config struct {
	Lease       time.Duration // how long a claimed item is hidden from other workers (default 1m)
	Batch       int           // items claimed at once (default 50)
	MaxAttempts int           // deliveries tried before giving up (default 12)
	BackoffBase time.Duration // wait after the first failure, doubling (default 5s)
	BackoffMax  time.Duration // longest wait between attempts (default 1h)
	Poll        time.Duration // how often an idle worker looks (default 1s)
}

func (c *Config) defaults() {
	if c.Lease <= 0 {
		c.Lease = time.Minute
	}
	if c.Batch <= 0 {
		c.Batch = 50
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 12
	}
	if c.BackoffBase <= 0 {
		c.BackoffBase = 5 * time.Second
	}
	if c.BackoffMax <= 0 {
		c.BackoffMax = time.Hour
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
}

// Worker delivers outbox items. Several workers, in one process or
// several, may run against one database.
type Worker struct {
	cfg      Config
	store    vigil.Store
	channels map[string]Channel
	now      func() time.Time
	log      *slog.Logger
	wake     chan struct{}
}

// New returns a worker delivering through channels, keyed by
// vigil.OutboxItem.Channel. now and log may be nil.
func New(cfg Config, store vigil.Store, channels map[string]Channel, now func() time.Time, log *slog.Logger) *Worker {
	cfg.defaults()
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, store: store, channels: channels, now: now, log: log, wake: make(chan struct{}, 1)}
}

// Notify wakes an idle worker at once, after a new item was enqueued.
func (w *Worker) Notify() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// Backoff returns the wait after the n-th failed attempt (n >= 1).
func (w *Worker) Backoff(n int) time.Duration {
	d := w.cfg.BackoffBase
	for i := 1; i < n && d < w.cfg.BackoffMax; i++ {
		d *= 2
	}
	return min(d, w.cfg.BackoffMax)
}

// RunOnce claims one batch of due items and tries each once. It reports
// how many were delivered and how many failed.
func (w *Worker) RunOnce(ctx context.Context) (delivered, failed int, err error) {
	items, err := w.store.ClaimOutbox(ctx, w.now(), w.cfg.Lease, w.cfg.Batch)
	if err != nil {
		return 0, 0, err
	}
	for _, it := range items {
		if err := w.deliver(ctx, it); err != nil {
			failed++
			if ctx.Err() != nil {
				return delivered, failed, ctx.Err()
			}
			continue
		}
		delivered++
	}
	return delivered, failed, nil
}

func (w *Worker) deliver(ctx context.Context, it *vigil.OutboxItem) error {
	ch, ok := w.channels[it.Channel]
	var err error
	if !ok {
		err = Permanent(fmt.Errorf("no channel %q configured", it.Channel))
	} else {
		dctx, cancel := context.WithTimeout(ctx, w.cfg.Lease/2)
		err = ch.Deliver(dctx, it)
		cancel()
	}
	if err == nil {
		if cerr := w.store.CompleteOutbox(context.WithoutCancel(ctx), it.ID, w.now()); cerr != nil {
			// Sent but not marked: it will be sent again after the lease,
			// and the receiver drops the duplicate by its id.
			w.log.ErrorContext(ctx, "outbox delivery not marked", "id", it.ID, "err", cerr)
		}
		return nil
	}
	dead := IsPermanent(err) || it.Attempts >= w.cfg.MaxAttempts
	next := w.now().Add(w.Backoff(it.Attempts))
	if ferr := w.store.FailOutbox(context.WithoutCancel(ctx), it.ID, next, err.Error(), dead); ferr != nil {
		w.log.ErrorContext(ctx, "outbox failure not recorded", "id", it.ID, "err", ferr)
	}
	level := slog.LevelWarn
	if dead {
		level = slog.LevelError
	}
	w.log.Log(ctx, level, "outbox delivery failed", "id", it.ID, "channel", it.Channel, "attempt", it.Attempts,
		"gave_up", dead, "err", err)
	return err
}

// Run delivers until ctx ends: a batch, then, if the batch was not full,
// a wait of Poll or until Notify.
func (w *Worker) Run(ctx context.Context) error {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-w.wake:
		}
		n, f, err := w.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			w.log.ErrorContext(ctx, "outbox claim failed", "err", err)
		}
		wait := w.cfg.Poll
		if n+f >= w.cfg.Batch {
			wait = 0 // more may be due
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(wait)
	}
}
