package detect

import (
	"math"
	"sync"
	"time"
)

const (
	// numShards splits each table so that goroutines working on different
	// keys rarely wait for the same mutex.
	numShards = 64
	// numSlots is how many slots a window is split into: the window slides
	// by a twentieth of itself, and a ring of counts costs 80 bytes.
	numSlots = 20
	// evictSample is how many of the least recently used keys a full shard
	// weighs to choose the one to evict.
	evictSample = 8
	// expireBudget bounds how many idle keys a new key drops from its
	// shard. It is more than one so that idle keys go faster than new keys
	// come.
	expireBudget = 2
)

// table maps keys (as hashes) to per-key state S. It is sharded by hash and
// bounded: see the package doc. The methods that take a shard must be called
// with its mutex held, which lock returns.
type table[S any] struct {
	shards   [numShards]shard[S]
	shardCap int
	slot     int64 // slot length in nanoseconds: the window / numSlots
	// retain is how long a key may go untouched before it is dropped: past
	// it, its counts have left the window and its cooldowns have ended, so
	// it is indistinguishable from a key never seen.
	retain int64
	reset  func(*S)       // makes a recycled state like new
	weight func(*S) int64 // the evidence a state holds; the lightest is evicted
}

// shard is one mutex's worth of keys. Its entries form a list from the most
// recently touched (newest) to the least (oldest). Per-shard time never runs
// backwards, so the list is also ordered by entry.last.
type shard[S any] struct {
	mu     sync.Mutex
	m      map[uint64]*entry[S]
	newest *entry[S]
	oldest *entry[S]
	spare  *entry[S] // one dropped entry, kept for reuse with its buffers
	now    int64     // latest time applied, in nanoseconds since New
	_      [16]byte  // keeps neighbouring shards' mutexes off one cache line
}

// entry is a key and its state. It is laid out so that the list links and
// the first fields of the state, which weight reads, share a cache line:
// victim walks eight entries and should touch one line of each.
type entry[S any] struct {
	hash         uint64
	last         int64 // when the key was last touched
	newer, older *entry[S]
	s            S
}

// init sets up a table for a window and a cooldown.
func (t *table[S]) init(maxKeys int, window time.Duration, cooldown int64, reset func(*S), weight func(*S) int64) {
	slot := int64(window) / numSlots
	t.initRetain(maxKeys, slot, max(int64(window)+slot, cooldown), reset, weight)
}

// initRetain sets up a table with an explicit slot length and retention.
func (t *table[S]) initRetain(maxKeys int, slot, retain int64, reset func(*S), weight func(*S) int64) {
	t.shardCap = max(1, (maxKeys+numShards-1)/numShards)
	t.slot = max(1, slot)
	t.retain = retain
	t.reset = reset
	t.weight = weight
	for i := range t.shards {
		t.shards[i].m = make(map[uint64]*entry[S])
	}
}

// lock locks the shard of h and returns it with now clamped so that the
// shard's time never runs backwards.
func (t *table[S]) lock(h uint64, now int64) (*shard[S], int64) {
	sh := &t.shards[h>>58] // the top 6 bits: 64 shards
	sh.mu.Lock()
	if now < sh.now {
		now = sh.now
	} else {
		sh.now = now
	}
	return sh, now
}

// get returns the entry of h in sh, creating it if need be, and marks it
// touched at now. Creating may drop idle keys and, if the shard is full,
// evict one (see victim). The state of a new entry has been reset.
func (t *table[S]) get(sh *shard[S], h uint64, now int64) *entry[S] {
	e := sh.m[h]
	if e != nil {
		if now-e.last > t.retain {
			// Idle past retention: as good as new, and reset so that no
			// state is ever older than retain (see distinct).
			t.reset(&e.s)
		}
		if e != sh.newest {
			sh.unlink(e)
			sh.pushNewest(e)
		}
		e.last = now
		return e
	}
	// Idle keys are dropped only here, when a key is added: a known key's
	// observation then touches no other entry, and the shard cannot grow
	// without this running.
	for i := 0; i < expireBudget && sh.oldest != nil && now-sh.oldest.last > t.retain; i++ {
		sh.drop(sh.oldest)
	}
	switch {
	case len(sh.m) >= t.shardCap:
		e = t.victim(sh)
		sh.unlink(e)
		delete(sh.m, e.hash)
	case sh.spare != nil:
		e, sh.spare = sh.spare, nil
	default:
		e = new(entry[S])
	}
	t.reset(&e.s)
	e.hash, e.last = h, now
	sh.m[h] = e
	sh.pushNewest(e)
	return e
}

// victim chooses the entry a full shard gives up: of the evictSample least
// recently used, the one with the least weight, the older on a tie. A flood
// of fresh keys, each with the weight of one observation, thus evicts itself
// and not the keys that have gathered evidence, while a key that is both
// old and light, the cheapest to forget, goes first.
func (t *table[S]) victim(sh *shard[S]) *entry[S] {
	best := sh.oldest
	bw := int64(math.MaxInt64)
	for e, i := sh.oldest, 0; e != nil && i < evictSample; e, i = e.newer, i+1 {
		if w := t.weight(&e.s); w < bw {
			best, bw = e, w
		}
	}
	return best
}

// len returns the number of keys the table holds.
func (t *table[S]) len() int {
	n := 0
	for i := range t.shards {
		sh := &t.shards[i]
		sh.mu.Lock()
		n += len(sh.m)
		sh.mu.Unlock()
	}
	return n
}

// drop removes e from the shard and keeps it as the spare.
func (sh *shard[S]) drop(e *entry[S]) {
	sh.unlink(e)
	delete(sh.m, e.hash)
	if sh.spare == nil {
		sh.spare = e
	}
}

func (sh *shard[S]) unlink(e *entry[S]) {
	if e.newer != nil {
		e.newer.older = e.older
	} else {
		sh.newest = e.older
	}
	if e.older != nil {
		e.older.newer = e.newer
	} else {
		sh.oldest = e.newer
	}
	e.newer, e.older = nil, nil
}

func (sh *shard[S]) pushNewest(e *entry[S]) {
	e.older = sh.newest
	e.newer = nil
	if sh.newest != nil {
		sh.newest.newer = e
	} else {
		sh.oldest = e
	}
	sh.newest = e
}

// ring counts observations over a sliding window of numSlots slots. Slots
// are numbered from New; head is the latest slot the ring has been moved to,
// and c[s%numSlots] holds the count of slot s for the numSlots slots up to
// head. The zero ring is empty.
type ring struct {
	head  int64
	total uint64
	c     [numSlots]uint32
}

// advance moves the ring to slot, forgetting the slots that leave the window.
func (r *ring) advance(slot int64) {
	if slot <= r.head {
		return
	}
	if slot-r.head >= numSlots {
		r.c = [numSlots]uint32{}
		r.total = 0
	} else {
		for s := r.head + 1; s <= slot; s++ {
			i := s % numSlots
			r.total -= uint64(r.c[i])
			r.c[i] = 0
		}
	}
	r.head = slot
}

// add counts one observation in slot and returns the count in the window.
// A slot's count saturates rather than wrap.
func (r *ring) add(slot int64) uint64 {
	r.advance(slot)
	if i := slot % numSlots; r.c[i] < math.MaxUint32 {
		r.c[i]++
		r.total++
	}
	return r.total
}

// distinct counts distinct members over a sliding window of numSlots slots.
// The zero distinct is empty.
//
// Members are held as 32-bit hashes, with the slot they were last seen in
// cut to 32 bits, so that a member costs 8 bytes in the map. Two members
// whose hashes collide count as one: that can only lower a count, by one,
// and it touches about one key in a million at the default thresholds (at
// most 101 members), one in a hundred at MaxDistinct. Slots are compared by
// their wrapping difference, which is exact because a member is never kept
// 2³¹ slots: a touched key prunes its expired members, and a key untouched
// for longer than its table's retention is reset before use (see get).
type distinct struct {
	n int // len(m), kept here so that weight need not read the map
	// low is a slot no member is older than. It may be lower than the
	// oldest member's slot (a member seen again moves on without it), so a
	// prune may find nothing to drop, but after a prune it is exact, and
	// the next prune waits until the window has moved past it: pruning
	// costs at most one pass over the members per slot.
	low int64
	m   map[uint32]uint32 // member hash -> latest slot it was seen in
}

// add records member as seen in slot and returns the number of distinct
// members seen in the window ending with slot. It keeps at most limit
// members: a new member that finds the set full is not recorded, so the
// count saturates at limit.
func (d *distinct) add(member uint64, slot int64, limit int) int {
	if d.m == nil {
		d.m = make(map[uint32]uint32)
	}
	if len(d.m) > 0 && d.low <= slot-numSlots {
		cur := uint32(slot)
		low := slot
		for k, s := range d.m {
			if age := cur - s; age >= numSlots {
				delete(d.m, k)
			} else if seen := slot - int64(age); seen < low {
				low = seen
			}
		}
		d.low = low
	}
	if len(d.m) == 0 {
		d.low = slot
	}
	k := uint32(member>>32) ^ uint32(member)
	if _, ok := d.m[k]; ok || len(d.m) < limit {
		d.m[k] = uint32(slot)
	}
	d.n = len(d.m)
	return d.n
}

func (d *distinct) reset() {
	if len(d.m) > 0 {
		clear(d.m)
	}
	d.n, d.low = 0, 0
}

// distinctState is the state of a key under a distinct-count rule.
type distinctState struct {
	set   distinct // first: see entry
	quiet int64    // the rule's cooldown ends here
}

func (s *distinctState) reset()        { s.set.reset(); s.quiet = 0 }
func (s *distinctState) weight() int64 { return int64(s.set.n) }

// countState is the state of a key under a counting rule.
type countState struct {
	n     ring
	quiet int64
}

func (s *countState) reset()        { *s = countState{} }
func (s *countState) weight() int64 { return int64(s.n.total) }

// penaltyState is a key under penalty until the time until.
type penaltyState struct{ until int64 }
