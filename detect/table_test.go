package detect

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// checkTable verifies that every shard's map and list hold the same entries,
// that the list runs from newest to oldest, that each entry is in its own
// shard, and that no shard is over its cap.
func checkTable[S any](tb testing.TB, name string, t *table[S]) {
	tb.Helper()
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n := 0
		var prev *entry[S]
		for e := sh.newest; e != nil; prev, e = e, e.older {
			n++
			if e.newer != prev {
				tb.Errorf("%s shard %d: broken link at entry %d", name, i, n)
			}
			if sh.m[e.hash] != e {
				tb.Errorf("%s shard %d: listed entry not in the map", name, i)
			}
			if int(e.hash>>58) != i {
				tb.Errorf("%s shard %d: entry of shard %d", name, i, e.hash>>58)
			}
			if prev != nil && prev.last < e.last {
				tb.Errorf("%s shard %d: list out of order", name, i)
			}
			if n > len(sh.m)+1 {
				break // a cycle
			}
		}
		if sh.oldest != prev {
			tb.Errorf("%s shard %d: oldest is not the list's end", name, i)
		}
		if n != len(sh.m) {
			tb.Errorf("%s shard %d: %d listed, %d in the map", name, i, n, len(sh.m))
		}
		if n > t.shardCap {
			tb.Errorf("%s shard %d: %d entries, cap %d", name, i, n, t.shardCap)
		}
		sh.mu.Unlock()
	}
}

func checkInvariants(tb testing.TB, d *Detector) {
	tb.Helper()
	checkTable(tb, "enum", &d.enum)
	checkTable(tb, "srcFail", &d.srcFail)
	checkTable(tb, "netFail", &d.netFail)
	checkTable(tb, "spray", &d.spray)
	checkTable(tb, "resetAcct", &d.resetAcct)
	checkTable(tb, "resetSrc", &d.resetSrc)
	checkTable(tb, "reject", &d.reject)
	checkTable(tb, "penalty", &d.penalty)
}

// A flood of fresh keys cannot grow memory past the cap, in any table, and
// raises no event.
func TestMemoryBounds(t *testing.T) {
	for _, maxKeys := range []int{1000, DefaultConfig().MaxKeys} {
		t.Run(strconv.Itoa(maxKeys), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.MaxKeys = maxKeys
			d, clock, rec := MustNew(t, cfg)
			const n = 100_000
			for i := range n {
				k := strconv.Itoa(i)
				d.Lookup("src:"+k, k, false)
				d.LoginFailure("src:"+k, "net:"+k, "acct:"+k, uint64(i)+1)
				d.ResetRequest("acct:"+k, "src:"+k)
				d.CredentialRejected("src:"+k, ReasonExpired)
				if i%10 == 0 {
					clock.Advance(time.Millisecond)
				}
			}
			checkEvents(t, rec.take())
			// Penalties: one cutoff event per fresh source.
			for i := range n {
				d.CredentialRejected("src:cut"+strconv.Itoa(i), ReasonCutoff)
			}
			if got := len(rec.take()); got != n {
				t.Fatalf("%d cutoff events, want %d", got, n)
			}

			s := d.Stats()
			wantCap := (maxKeys + numShards - 1) / numShards * numShards
			if s.Cap != wantCap {
				t.Fatalf("cap %d, want %d", s.Cap, wantCap)
			}
			for name, got := range map[string]int{
				"callers": s.Callers, "failure sources": s.FailureSources, "failure networks": s.FailureNetworks,
				"passwords": s.Passwords, "reset accounts": s.ResetAccounts, "reset sources": s.ResetSources,
				"rejection sources": s.RejectionSources, "penalties": s.Penalties,
			} {
				if got > s.Cap {
					t.Errorf("%s: %d tracked, cap %d", name, got, s.Cap)
				}
				if got < s.Cap*9/10 {
					t.Errorf("%s: %d tracked, want the table nearly full (cap %d)", name, got, s.Cap)
				}
			}
			checkInvariants(t, d)
		})
	}
}

// Keys idle past their window and cooldown are dropped as the table is
// used, without any background goroutine.
func TestIdleKeysExpire(t *testing.T) {
	d, clock, _ := MustNew(t, DefaultConfig())
	for i := range 5000 {
		d.Lookup("src:"+strconv.Itoa(i), "x", true)
	}
	if n := d.Stats().Callers; n != 5000 {
		t.Fatalf("%d callers, want 5000", n)
	}
	clock.Advance(11 * time.Minute)
	for i := range 5000 {
		d.Lookup("src:new"+strconv.Itoa(i), "x", true)
	}
	if n := d.Stats().Callers; n != 5000 {
		t.Fatalf("%d callers after the old ones went idle, want 5000 (the old ones dropped)", n)
	}
	checkInvariants(t, d)
}

// A harvester that has gathered evidence keeps it under a flood of fresh
// callers that fills the table many times over (a full shard evicts the
// lightest of its oldest keys), and is reported; none of the flood is. Under
// plain LRU the harvester would be evicted between any two of its lookups
// and never reach the threshold.
func TestEvictionKeepsEvidence(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 64 * 16 // 16 keys a shard
	d, clock, rec := MustNew(t, cfg)
	r := rand.New(rand.NewPCG(9, 9))
	const harvester = "src:203.0.113.66"
	for range 50 {
		d.Lookup(harvester, opaqueID(r), true)
		clock.Advance(5 * time.Second)
	}
	flood := 0
	for range 50 {
		d.Lookup(harvester, opaqueID(r), true)
		// 2,000 fresh callers between two of its lookups: 31 a shard.
		for range 2000 {
			d.Lookup("src:flood"+strconv.Itoa(flood), opaqueID(r), true)
			flood++
		}
		clock.Advance(5 * time.Second)
	}
	checkEvents(t, rec.take(), want{KindEnumeration, RuleDistinctTargets, SeverityHigh, harvester, 100})
	checkInvariants(t, d)
}

// Many goroutines observe at once, with the clock moving and penalties being
// read. Run with -race.
func TestConcurrentObservers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 640 // small, so that eviction runs concurrently too
	clock := newFakeClock()
	var events atomic.Int64
	var d *Detector
	d, err := New(cfg, clock.Now, func(e Event) {
		events.Add(1)
		d.Tightened(e.Key)
	})
	if err != nil {
		t.Fatal(err)
	}
	const workers, ops = 8, 4000
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := range ops {
				src := fmt.Sprintf("src:10.0.%d.%d", r.IntN(4), r.IntN(300))
				switch i % 6 {
				case 0:
					d.Lookup(src, strconv.Itoa(r.IntN(500)), r.IntN(3) > 0)
				case 1:
					d.LoginFailure(src, "net:10.0.0.0/24", "acct:"+strconv.Itoa(r.IntN(200)), uint64(r.IntN(20)))
				case 2:
					d.ResetRequest("acct:"+strconv.Itoa(r.IntN(50)), src)
				case 3:
					d.CredentialRejected(src, []string{ReasonRevoked, ReasonExpired, ReasonCutoff, ReasonReuse}[r.IntN(4)])
				case 4:
					d.Tightened(src)
				case 5:
					if w == 0 {
						clock.Advance(time.Duration(r.IntN(2000)) * time.Millisecond)
					}
					if i%600 == 5 {
						d.Stats()
					}
				}
			}
		}()
	}
	wg.Wait()
	if events.Load() == 0 {
		t.Error("no events: the test does not exercise emit under concurrency")
	}
	checkInvariants(t, d)
}
