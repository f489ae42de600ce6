package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

// The tests in this file state what every Limiter must do, and run against
// each backend: Memory always, Redis when VIGIL_TEST_REDIS_URL names a server
// (see redis_test.go). Both are timed by a fake clock, so the results are
// exact; Redis takes the clock through a test-only hook in place of the
// server's TIME.

// fakeClock is a clock that moves only when told to. It is safe for
// concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// backend makes fresh, empty Limiters of one kind.
type backend struct {
	name string
	// new returns a Limiter with no keys, timed by clock. It may skip tb
	// (or fail it, in CI) if the backend's server is not configured.
	new func(tb testing.TB, clock *fakeClock) Limiter
	// remote backends pay a round trip per call: long tests scale their
	// number of calls down by this factor.
	scale int
}

var backends = []backend{
	{name: "memory", scale: 1, new: func(tb testing.TB, clock *fakeClock) Limiter {
		return NewMemory(WithClock(clock.Now))
	}},
	{name: "redis", scale: 10, new: func(tb testing.TB, clock *fakeClock) Limiter {
		r := newTestRedis(tb)
		r.clock, r.keep = clock.Now, time.Hour
		return r
	}},
}

// forEachBackend runs f as a parallel subtest per backend.
func forEachBackend(t *testing.T, f func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// MustAllow calls l.Allow and fails the test on error or on a Result that
// contradicts itself.
func MustAllow(tb testing.TB, l Limiter, key string, limit Limit) Result {
	tb.Helper()
	r, err := l.Allow(context.Background(), key, limit)
	if err != nil {
		tb.Fatalf("Allow(%q, %+v): %v", key, limit, err)
	}
	if r.Allowed != (r.RetryAfter == 0) || r.RetryAfter < 0 || r.Remaining < 0 || (!r.Allowed && r.Remaining != 0) {
		tb.Fatalf("Allow(%q, %+v) = %+v: inconsistent result", key, limit, r)
	}
	return r
}

// checkState runs the backend's own consistency checks, if it has any.
func checkState(tb testing.TB, l Limiter) {
	tb.Helper()
	if m, ok := l.(*Memory); ok {
		checkInvariants(tb, m)
	}
}

func TestLimiterBurstThenRetryAfter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := newFakeClock()
		l := b.new(t, clock)
		limit := PerSecond(10, 5) // one event per 100ms, 5 at once

		for i := range 5 {
			r := MustAllow(t, l, "k", limit)
			if !r.Allowed || r.Remaining != 4-i {
				t.Fatalf("event %d: got %+v, want allowed with %d remaining", i+1, r, 4-i)
			}
		}
		r := MustAllow(t, l, "k", limit)
		if r.Allowed || r.RetryAfter != 100*time.Millisecond {
			t.Fatalf("event 6: got %+v, want refused with RetryAfter 100ms", r)
		}

		clock.Advance(99 * time.Millisecond)
		if r := MustAllow(t, l, "k", limit); r.Allowed || r.RetryAfter != time.Millisecond {
			t.Fatalf("after 99ms: got %+v, want refused with RetryAfter 1ms", r)
		}
		clock.Advance(time.Millisecond - time.Nanosecond)
		if r := MustAllow(t, l, "k", limit); r.Allowed || r.RetryAfter != time.Nanosecond {
			t.Fatalf("a nanosecond early: got %+v, want refused with RetryAfter 1ns", r)
		}
		clock.Advance(time.Nanosecond)
		if r := MustAllow(t, l, "k", limit); !r.Allowed || r.Remaining != 0 {
			t.Fatalf("after RetryAfter: got %+v, want allowed with 0 remaining", r)
		}
		if r := MustAllow(t, l, "k", limit); r.Allowed || r.RetryAfter != 100*time.Millisecond {
			t.Fatalf("right after: got %+v, want refused with RetryAfter 100ms", r)
		}

		// Half a burst later, half the burst is back.
		clock.Advance(250 * time.Millisecond)
		if r := MustAllow(t, l, "k", limit); !r.Allowed || r.Remaining != 1 {
			t.Fatalf("after 250ms: got %+v, want allowed with 1 remaining", r)
		}

		// A full window later the key is back to a full burst, and no further.
		clock.Advance(time.Hour)
		if r := MustAllow(t, l, "k", limit); !r.Allowed || r.Remaining != 4 {
			t.Fatalf("after an hour: got %+v, want allowed with 4 remaining", r)
		}
	})
}

// Hammering a refused key does not push its next allowed event further away.
func TestLimiterRefusedEventsCostNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := newFakeClock()
		l := b.new(t, clock)
		limit := PerMinute(1, 1)

		MustAllow(t, l, "k", limit)
		for range 1000 / b.scale {
			clock.Advance(10 * time.Millisecond * time.Duration(b.scale))
			if r := MustAllow(t, l, "k", limit); r.Allowed {
				t.Fatal("allowed before a minute passed")
			}
		}
		clock.Advance(time.Minute - 10*time.Second)
		if r := MustAllow(t, l, "k", limit); !r.Allowed {
			t.Fatalf("got %+v a minute after the first event, want allowed", r)
		}
	})
}

// Calling at a fine, unaligned step for a long simulated time lets through
// exactly the burst plus one event per (rounded) interval, never more than
// the rate. (With a burst of 1 a call that comes late by part of a step loses
// that part, as in any token bucket of capacity 1; a larger burst absorbs it.)
func TestLimiterSteadyRate(t *testing.T) {
	tests := []struct {
		limit    Limit
		step     time.Duration
		duration time.Duration
	}{
		{PerSecond(10, 5), 7 * time.Millisecond, 10 * time.Minute},
		{PerSecond(3, 2), 10 * time.Millisecond, 15 * time.Minute},
		{PerSecond(4, 1), 10 * time.Millisecond, 15 * time.Minute}, // burst 1: the step divides the interval
		{PerMinute(5, 3), time.Second, 24 * time.Hour},
		{PerHour(7, 2), 7100 * time.Millisecond, 7 * 24 * time.Hour},
		{Every(1500*time.Millisecond, 10), 13 * time.Millisecond, 20 * time.Minute},
	}
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%+v", tt.limit), func(t *testing.T) {
				clock := newFakeClock()
				l := b.new(t, clock)
				interval, _, err := tt.limit.params()
				if err != nil {
					t.Fatal(err)
				}
				duration := tt.duration / time.Duration(b.scale)
				allowed := 0
				var elapsed time.Duration
				for ; elapsed <= duration; elapsed += tt.step {
					if MustAllow(t, l, "k", tt.limit).Allowed {
						allowed++
					}
					clock.Advance(tt.step)
				}
				elapsed -= tt.step // time of the last call
				want := tt.limit.Burst + int(int64(elapsed)/interval)
				if allowed != want {
					t.Errorf("allowed %d events in %v, want %d", allowed, elapsed, want)
				}
				if ceiling := tt.limit.Burst + int(elapsed.Seconds()*tt.limit.Rate); allowed > ceiling {
					t.Errorf("allowed %d events in %v, more than burst+rate·t = %d", allowed, elapsed, ceiling)
				}
			})
		}
	})
}

// Sleeping exactly RetryAfter after each refusal gets an event through every
// interval, exactly.
func TestLimiterRetryAfterPacing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := newFakeClock()
		l := b.new(t, clock)
		limit := PerMinute(7, 4)
		interval, _, _ := limit.params()
		events := 10000 / b.scale

		start := clock.Now()
		var last time.Time
		for allowed := 0; allowed < events; {
			r := MustAllow(t, l, "k", limit)
			if !r.Allowed {
				clock.Advance(r.RetryAfter)
				continue
			}
			allowed++
			if allowed > limit.Burst {
				if gap := clock.Now().Sub(last); gap != time.Duration(interval) {
					t.Fatalf("event %d came %v after the previous one, want %v", allowed, gap, time.Duration(interval))
				}
			}
			last = clock.Now()
		}
		if got, want := last.Sub(start), time.Duration(interval)*time.Duration(events-limit.Burst); got != want {
			t.Fatalf("%d events took %v, want %v", events, got, want)
		}
	})
}

// tokenBucket is a reference model: a bucket of Burst·T nanoseconds' worth
// of credit refilled at one nanosecond per nanosecond, an event costing T.
// GCRA must agree with it on every call.
type tokenBucket struct {
	interval, window int64
	level, last      int64
}

func (b *tokenBucket) take(now int64) Result {
	b.level = min(b.window, b.level+now-b.last)
	b.last = now
	if b.level < b.interval {
		return Result{RetryAfter: time.Duration(b.interval - b.level)}
	}
	b.level -= b.interval
	return Result{Allowed: true, Remaining: int(b.level / b.interval)}
}

// Random calls at random, often unaligned times agree with the model exactly,
// to the nanosecond, for limits from a nanosecond per event to windows of
// ten years (past 2^53 nanoseconds, where Redis's Lua numbers stop being
// exact).
func TestLimiterMatchesTokenBucket(t *testing.T) {
	limits := []Limit{
		PerSecond(10, 5), PerSecond(3, 1), PerMinute(5, 3), PerHour(7, 20), Every(time.Millisecond, 1),
		{Rate: 1e9, Burst: 1000},               // T = 1ns
		Every(1500*time.Millisecond+7, 3),      // T and W not whole milliseconds
		PerHour(1, 87000),                      // W ≈ 9.9 years ≈ 2^58 ns
		Every(5*365*24*time.Hour-999999999, 2), // T > 2^57 ns, with nanoseconds
	}
	steps := []time.Duration{0, time.Nanosecond, time.Millisecond, 50 * time.Millisecond, time.Second, time.Minute, 999999999}
	forEachBackend(t, func(t *testing.T, b backend) {
		rng := rand.New(rand.NewPCG(1, 2))
		clock := newFakeClock()
		start := clock.Now()
		l := b.new(t, clock)

		type model struct {
			key    string
			limit  Limit
			bucket *tokenBucket
		}
		var models []model
		for i := range 50 {
			lim := limits[i%len(limits)]
			interval, window, err := lim.params()
			if err != nil {
				t.Fatalf("%+v: %v", lim, err)
			}
			models = append(models, model{fmt.Sprintf("key-%d", i), lim, &tokenBucket{interval: interval, window: window, level: window}})
		}
		for i := range 200000 / b.scale {
			step := steps[rng.IntN(len(steps))] * time.Duration(rng.IntN(3))
			if rng.IntN(4) == 0 {
				step += time.Duration(rng.Int64N(int64(time.Second)))
			}
			clock.Advance(step)
			mo := models[rng.IntN(len(models))]
			got := MustAllow(t, l, mo.key, mo.limit)
			want := mo.bucket.take(int64(clock.Now().Sub(start)))
			if got != want {
				t.Fatalf("call %d on %s under %+v: got %+v, want %+v", i, mo.key, mo.limit, got, want)
			}
		}
		checkState(t, l)
	})
}

func TestLimiterIndependentKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clock := newFakeClock()
		l := b.new(t, clock)
		limit := PerMinute(1, 2)

		for range 2 {
			MustAllow(t, l, "signin:account:alice", limit)
		}
		if r := MustAllow(t, l, "signin:account:alice", limit); r.Allowed {
			t.Fatal("alice allowed past her burst")
		}
		for _, key := range []string{"signin:account:bob", "signin:ip:alice", "", "signin:account:alice ", "signin:account:ALICE", "signin:account:alice\x00"} {
			if r := MustAllow(t, l, key, limit); !r.Allowed || r.Remaining != 1 {
				t.Errorf("key %q: got %+v, want a fresh key", key, r)
			}
		}
	})
}

// An invalid limit is an EINVALID error and takes nothing.
func TestLimiterInvalidLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.new(t, newFakeClock())
		for _, lim := range []Limit{{}, {Rate: 1, Burst: 0}, {Rate: -1, Burst: 1}, {Rate: 2e9, Burst: 1}, PerDay(1, 4000)} {
			r, err := l.Allow(context.Background(), "k", lim)
			if vigil.ErrorCode(err) != vigil.EINVALID {
				t.Errorf("Allow with %+v: err = %v, want EINVALID", lim, err)
			}
			if r != (Result{}) {
				t.Errorf("Allow with %+v: got %+v, want the zero Result", lim, r)
			}
		}
		if m, ok := l.(*Memory); ok && m.Len() != 0 {
			t.Fatalf("Len() = %d after invalid limits, want 0", m.Len())
		}
		if r := MustAllow(t, l, "k", PerMinute(1, 3)); !r.Allowed || r.Remaining != 2 {
			t.Fatalf("first valid call after invalid ones: got %+v, want a fresh key", r)
		}
	})
}

// All goroutines hitting one key within one instant get exactly the burst.
func TestLimiterConcurrentOneInstant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		l := b.new(t, newFakeClock())
		limit := PerMinute(1, 10)

		goroutines, calls := 64, 200/b.scale
		var allowed atomic.Int64
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range calls {
					r, err := l.Allow(context.Background(), "hot", limit)
					if err != nil {
						t.Error(err)
						return
					}
					if r.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != int64(limit.Burst) {
			t.Fatalf("allowed %d of %d calls, want exactly %d", got, goroutines*calls, limit.Burst)
		}
	})
}
