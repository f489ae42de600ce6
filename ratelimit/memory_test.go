package ratelimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

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
