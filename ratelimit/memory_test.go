package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

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

// MustAllow calls l.Allow and fails the test on error.
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

// checkInvariants verifies that every shard's map and heap hold the same
// entries, that the heap is ordered by TAT, and that no shard is over cap.
func checkInvariants(tb testing.TB, m *Memory) {
	tb.Helper()
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		if len(s.keys) != len(s.heap) {
			tb.Errorf("shard %d: %d keys in map, %d in heap", i, len(s.keys), len(s.heap))
		}
		if len(s.heap) > m.shardCap {
			tb.Errorf("shard %d: %d keys, cap %d", i, len(s.heap), m.shardCap)
		}
		seen := make(map[uint64]bool)
		for j, it := range s.heap {
			tat, ok := s.keys[it.hash]
			if !ok {
				tb.Errorf("shard %d: heap item %d has no key", i, j)
			}
			if seen[it.hash] {
				tb.Errorf("shard %d: key in the heap twice", i)
			}
			seen[it.hash] = true
			if it.hash%numShards != uint64(i) {
				tb.Errorf("shard %d: item %d belongs to shard %d", i, j, it.hash%numShards)
			}
			if j > 0 && s.heap[(j-1)/2].due > it.due {
				tb.Errorf("shard %d: heap order broken at %d", i, j)
			}
			if it.due > tat {
				tb.Errorf("shard %d: item %d due %d after its TAT %d", i, j, it.due, tat)
			}
		}
		s.mu.Unlock()
	}
}

func (m *Memory) shardOf(key string) int { return int(maphash.String(m.seed, key) % numShards) }

// keysInShard returns n distinct keys that all land in shard i.
func keysInShard(m *Memory, i, n int) []string {
	var keys []string
	for j := 0; len(keys) < n; j++ {
		if k := fmt.Sprintf("k%d", j); m.shardOf(k) == i {
			keys = append(keys, k)
		}
	}
	return keys
}

func TestMemoryBurstThenRetryAfter(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerSecond(10, 5) // one event per 100ms, 5 at once

	for i := range 5 {
		r := MustAllow(t, m, "k", limit)
		if !r.Allowed || r.Remaining != 4-i {
			t.Fatalf("event %d: got %+v, want allowed with %d remaining", i+1, r, 4-i)
		}
	}
	r := MustAllow(t, m, "k", limit)
	if r.Allowed || r.RetryAfter != 100*time.Millisecond {
		t.Fatalf("event 6: got %+v, want refused with RetryAfter 100ms", r)
	}

	clock.Advance(99 * time.Millisecond)
	if r := MustAllow(t, m, "k", limit); r.Allowed || r.RetryAfter != time.Millisecond {
		t.Fatalf("after 99ms: got %+v, want refused with RetryAfter 1ms", r)
	}
	clock.Advance(time.Millisecond)
	if r := MustAllow(t, m, "k", limit); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("after RetryAfter: got %+v, want allowed with 0 remaining", r)
	}
	if r := MustAllow(t, m, "k", limit); r.Allowed || r.RetryAfter != 100*time.Millisecond {
		t.Fatalf("right after: got %+v, want refused with RetryAfter 100ms", r)
	}

	// A full window later the key is back to a full burst, and no further.
	clock.Advance(time.Hour)
	if r := MustAllow(t, m, "k", limit); !r.Allowed || r.Remaining != 4 {
		t.Fatalf("after an hour: got %+v, want allowed with 4 remaining", r)
	}
}

// Hammering a refused key does not push its next allowed event further away.
func TestMemoryRefusedEventsCostNothing(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerMinute(1, 1)

	MustAllow(t, m, "k", limit)
	for range 1000 {
		clock.Advance(10 * time.Millisecond)
		if r := MustAllow(t, m, "k", limit); r.Allowed {
			t.Fatal("allowed before a minute passed")
		}
	}
	clock.Advance(time.Minute - 10*time.Second)
	if r := MustAllow(t, m, "k", limit); !r.Allowed {
		t.Fatalf("got %+v a minute after the first event, want allowed", r)
	}
}

// Calling at a fine, unaligned step for a long simulated time lets through
// exactly the burst plus one event per (rounded) interval, never more than
// the rate. (With a burst of 1 a call that comes late by part of a step loses
// that part, as in any token bucket of capacity 1; a larger burst absorbs it.)
func TestMemorySteadyRate(t *testing.T) {
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
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%+v", tt.limit), func(t *testing.T) {
			clock := newFakeClock()
			m := NewMemory(WithClock(clock.Now))
			interval, _, err := tt.limit.params()
			if err != nil {
				t.Fatal(err)
			}
			allowed := 0
			var elapsed time.Duration
			for ; elapsed <= tt.duration; elapsed += tt.step {
				if MustAllow(t, m, "k", tt.limit).Allowed {
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
}

// Sleeping exactly RetryAfter after each refusal gets an event through every
// interval, exactly.
func TestMemoryRetryAfterPacing(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerMinute(7, 4)
	interval, _, _ := limit.params()

	start := clock.Now()
	var last time.Time
	for allowed := 0; allowed < 10000; {
		r := MustAllow(t, m, "k", limit)
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
	if got, want := last.Sub(start), time.Duration(interval)*time.Duration(10000-limit.Burst); got != want {
		t.Fatalf("10000 events took %v, want %v", got, want)
	}
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

func TestMemoryMatchesTokenBucket(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	clock := newFakeClock()
	start := clock.Now()
	m := NewMemory(WithClock(clock.Now))

	limits := []Limit{PerSecond(10, 5), PerSecond(3, 1), PerMinute(5, 3), PerHour(7, 20), Every(time.Millisecond, 1)}
	type model struct {
		key    string
		limit  Limit
		bucket *tokenBucket
	}
	var models []model
	for i := range 50 {
		l := limits[i%len(limits)]
		interval, window, _ := l.params()
		models = append(models, model{fmt.Sprintf("key-%d", i), l, &tokenBucket{interval: interval, window: window, level: window}})
	}
	steps := []time.Duration{0, time.Nanosecond, time.Millisecond, 50 * time.Millisecond, time.Second, time.Minute}
	for i := range 200000 {
		clock.Advance(steps[rng.IntN(len(steps))] * time.Duration(rng.IntN(3)))
		mo := models[rng.IntN(len(models))]
		got := MustAllow(t, m, mo.key, mo.limit)
		want := mo.bucket.take(int64(clock.Now().Sub(start)))
		if got != want {
			t.Fatalf("call %d on %s under %+v: got %+v, want %+v", i, mo.key, mo.limit, got, want)
		}
	}
	checkInvariants(t, m)
}

func TestMemoryIndependentKeys(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerMinute(1, 2)

	for range 2 {
		MustAllow(t, m, "signin:account:alice", limit)
	}
	if r := MustAllow(t, m, "signin:account:alice", limit); r.Allowed {
		t.Fatal("alice allowed past her burst")
	}
	for _, key := range []string{"signin:account:bob", "signin:ip:alice", "", "signin:account:alice "} {
		if r := MustAllow(t, m, key, limit); !r.Allowed || r.Remaining != 1 {
			t.Errorf("key %q: got %+v, want a fresh key", key, r)
		}
	}
}

func TestMemoryInvalidLimit(t *testing.T) {
	m := NewMemory()
	for _, l := range []Limit{{}, {Rate: 1, Burst: 0}, {Rate: -1, Burst: 1}} {
		r, err := m.Allow(context.Background(), "k", l)
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("Allow with %+v: err = %v, want EINVALID", l, err)
		}
		if r.Allowed {
			t.Errorf("Allow with %+v: allowed", l)
		}
	}
	if n := m.Len(); n != 0 {
		t.Fatalf("Len() = %d after invalid limits, want 0", n)
	}
}

// All goroutines hitting one key within one instant get exactly the burst.
func TestMemoryConcurrentOneInstant(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerMinute(1, 10)

	const goroutines, calls = 64, 200
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range calls {
				r, err := m.Allow(context.Background(), "hot", limit)
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
}

// Many goroutines on many keys while the clock moves, with a small cap so
// that sweeping and eviction run too; the race detector and the invariants
// check the bookkeeping.
func TestMemoryConcurrentChurn(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now), WithMaxKeys(512))
	limit := PerSecond(100, 3)

	var wg sync.WaitGroup
	for g := range 64 {
		wg.Go(func() {
			for i := range 500 {
				if g == 0 && i%10 == 0 {
					clock.Advance(3 * time.Millisecond)
				}
				MustAllow(t, m, fmt.Sprintf("k%d", (g*7919+i)%2000), limit)
			}
		})
	}
	wg.Wait()
	checkInvariants(t, m)
}

func TestMemoryMaxKeys(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now), WithMaxKeys(256)) // 4 per shard
	limit := PerHour(1, 5)

	for i := range 10000 {
		if r := MustAllow(t, m, fmt.Sprintf("k%d", i), limit); !r.Allowed {
			t.Fatalf("new key %d refused", i)
		}
	}
	if n := m.Len(); n != 256 {
		t.Fatalf("Len() = %d, want 256 (every shard full)", n)
	}
	checkInvariants(t, m)

	if m := NewMemory(WithMaxKeys(10)); m.shardCap != 1 {
		t.Errorf("WithMaxKeys(10): shard cap %d, want 1", m.shardCap)
	}
	if m := NewMemory(WithMaxKeys(0)); m.shardCap != DefaultMaxKeys/numShards {
		t.Errorf("WithMaxKeys(0): shard cap %d, want the default %d", m.shardCap, DefaultMaxKeys/numShards)
	}
}

// A full shard evicts the key with the oldest TAT: the one closest to a full
// burst, so a key deep in debt survives a flood of fresh keys.
func TestMemoryEvictsOldestTAT(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now), WithMaxKeys(4*numShards))
	limit := PerMinute(1, 10)
	keys := keysInShard(m, 7, 5)
	hammered, light, mid1, mid2, newcomer := keys[0], keys[1], keys[2], keys[3], keys[4]
	s := &m.shards[7]
	tracked := func(key string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.keys[maphash.String(m.seed, key)]
		return ok
	}

	for key, events := range map[string]int{hammered: 10, light: 1, mid1: 3, mid2: 2} {
		for range events {
			MustAllow(t, m, key, limit)
		}
	}
	MustAllow(t, m, newcomer, limit)
	if tracked(light) {
		t.Fatal("the key with the oldest TAT was not evicted")
	}
	for _, key := range []string{hammered, mid1, mid2, newcomer} {
		if !tracked(key) {
			t.Fatalf("key %s was evicted; only the oldest TAT should go", key)
		}
	}

	// A flood of fresh keys into the shard never evicts the hammered key.
	for _, key := range keysInShard(m, 7, 1000)[5:] {
		MustAllow(t, m, key, limit)
	}
	if !tracked(hammered) {
		t.Fatal("the hammered key was evicted by a flood of fresh keys")
	}
	if r := MustAllow(t, m, hammered, limit); r.Allowed {
		t.Fatal("the hammered key got its burst back")
	}
	checkInvariants(t, m)
}

// Keys whose TAT has passed are dropped as other calls come through.
func TestMemorySweepsExpired(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerSecond(1, 5)

	for i := range 640 {
		MustAllow(t, m, fmt.Sprintf("old%d", i), limit)
	}
	clock.Advance(time.Second) // old keys' TAT was now+1s: all expire now
	MustAllow(t, m, "old0", limit)

	// One live key per shard, touched a few times: each call may drop up to
	// sweepBudget expired keys from its shard.
	live := make([]string, numShards)
	for i := range live {
		live[i] = keysInShard(m, i, 1)[0]
	}
	for range 20 {
		for _, key := range live {
			MustAllow(t, m, key, limit)
		}
	}
	if n, want := m.Len(), 1+len(live); n > want {
		t.Fatalf("Len() = %d after sweeping, want at most %d", n, want)
	}
	checkInvariants(t, m)
}

// A clock that jumps backwards neither frees a key nor breaks anything.
func TestMemoryClockBackwards(t *testing.T) {
	clock := newFakeClock()
	m := NewMemory(WithClock(clock.Now))
	limit := PerMinute(1, 1)

	MustAllow(t, m, "k", limit)
	clock.Advance(-time.Hour)
	r := MustAllow(t, m, "k", limit)
	if r.Allowed || r.RetryAfter != time.Minute {
		t.Fatalf("after the clock went back: got %+v, want refused for a minute", r)
	}
	clock.Advance(time.Hour + time.Minute)
	if r := MustAllow(t, m, "k", limit); !r.Allowed {
		t.Fatalf("after the clock caught up: got %+v, want allowed", r)
	}
}

// Single key, one goroutine: the cost of a call without contention.
func BenchmarkMemoryAllow(b *testing.B) {
	m := NewMemory()
	limit := PerSecond(1000, 100)
	ctx := context.Background()
	for b.Loop() {
		m.Allow(ctx, "signin:ip:203.0.113.7", limit)
	}
}

// Many keys, GOMAXPROCS·32 goroutines (64 on 2 cores), with the real clock
// and the default key cap: 1,000 keys stay in cache, 100,000 do not.
func BenchmarkMemoryAllowParallel(b *testing.B) {
	for _, n := range []int{1000, 100000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			m := NewMemory()
			limit := PerSecond(10, 5)
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("signin:ip:10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
			}
			ctx := context.Background()
			var start atomic.Uint64
			b.SetParallelism(32)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := start.Add(7919) // each goroutine walks the keys from its own offset
				for pb.Next() {
					m.Allow(ctx, keys[i%uint64(len(keys))], limit)
					i++
				}
			})
		})
	}
}

// One hot key, 64 goroutines on 2 cores: the worst case for one shard lock.
func BenchmarkMemoryAllowParallelOneKey(b *testing.B) {
	m := NewMemory()
	limit := PerSecond(1000, 100)
	ctx := context.Background()
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Allow(ctx, "signin:ip:203.0.113.7", limit)
		}
	})
}
