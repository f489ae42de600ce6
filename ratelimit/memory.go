package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// DefaultMaxKeys is the number of keys a Memory tracks unless WithMaxKeys
// says otherwise. A key costs about 56 bytes, so the default keeps the state
// under 8 MB.
const DefaultMaxKeys = 1 << 17

const (
	// numShards splits the key space so that goroutines working on
	// different keys rarely wait for the same mutex.
	numShards = 64
	// sweepBudget bounds the upkeep one Allow does on its shard: expired keys
	// dropped plus stale heap roots settled (see shard). It is more than one
	// so that expired keys go faster than calls add keys (one at most each).
	sweepBudget = 8
)

// Memory is a Limiter that keeps its state in the process. It suits a single
// instance; instances that must share limits need a shared backend. A Memory
// is safe for concurrent use and must be made with NewMemory.
//
// Keys are stored as 64-bit hashes keyed with a random per-process seed
// (hash/maphash), so a key costs the same memory however long it is. Two
// distinct keys share a state only if their hashes collide: with n keys
// tracked that happens with probability about n²/2⁶⁵, nobody outside the
// process can aim for it, and a collision only makes both keys stricter.
//
// Memory stays bounded. A key is forgotten once its TAT has passed (it then
// behaves as a fresh key anyway): every Allow drops a few such keys from its
// shard, oldest first, so there is no background goroutine and nothing to
// close. And the number of keys is capped (see WithMaxKeys). When a shard is
// full, admitting a new key evicts the key with the oldest TAT: that is an
// expired key if there is one, and otherwise the key closest to a full burst,
// whose eviction gives away the least. Refusing new keys instead would let
// anyone who can mint keys (addresses, usernames) lock everybody else out;
// evicting by oldest TAT means that a flood of fresh keys, each one event in
// debt, mostly evicts itself, while the keys deepest in debt, the ones being
// hammered, are the last to go.
type Memory struct {
	seed     maphash.Seed
	clock    func() time.Time
	epoch    time.Time
	shardCap int
	shards   [numShards]shard
}

// shard is one lock's worth of keys. keys maps a key's hash to its TAT, and
// heap holds one item per key, ordered by due, earliest first. Neither holds
// a pointer, so the garbage collector never scans them and a new key
// allocates nothing once the map and slice have grown.
//
// The heap is maintained lazily. An item's due is its key's TAT when the item
// was last placed; a call that raises a TAT leaves the heap alone, so
// due <= TAT always, and a call on a known key costs a map lookup and a store,
// never a sift. Whoever looks at the root settles it: if the key's TAT has
// moved on, due catches up and the item sinks; otherwise the root is exact,
// and since every other key's TAT is at least its item's due, which is at
// least the root's, the root holds the oldest TAT in the shard. Each settle
// follows at least one raise, so the upkeep is amortized O(log n) per call.
// Only the root is ever settled, popped or replaced, so items need no back
// pointer from the map.
type shard struct {
	mu   sync.Mutex
	keys map[uint64]int64
	heap []item
	now  int64    // latest time applied, in nanoseconds since Memory.epoch
	_    [16]byte // keeps neighbouring shards' mutexes off one cache line
}

type item struct {
	due  int64 // nanoseconds since Memory.epoch; <= the key's TAT
	hash uint64
}

var _ Limiter = (*Memory)(nil)

// MemoryOption configures NewMemory.
type MemoryOption func(*Memory)

// WithClock makes the Memory read the time from now instead of time.Now.
// Tests pass a fake clock; now must be safe for concurrent use. A clock that
// moves backwards is tolerated: time stands still until it catches up.
func WithClock(now func() time.Time) MemoryOption {
	return func(m *Memory) { m.clock = now }
}

// WithMaxKeys caps the number of keys the Memory tracks at n, rounded up to
// a multiple of 64 (the cap is enforced per shard, n/64 keys each, at least
// one). n <= 0 means DefaultMaxKeys.
func WithMaxKeys(n int) MemoryOption {
	return func(m *Memory) {
		if n <= 0 {
			n = DefaultMaxKeys
		}
		m.shardCap = (n + numShards - 1) / numShards
	}
}

// NewMemory returns an empty in-memory Limiter. It starts no goroutine.
func NewMemory(opts ...MemoryOption) *Memory {
	m := &Memory{
		seed:     maphash.MakeSeed(),
		clock:    time.Now,
		shardCap: DefaultMaxKeys / numShards,
	}
	for _, o := range opts {
		o(m)
	}
	// Time is measured from here: with time.Now this uses the monotonic
	// clock, so wall-clock steps do not free or freeze keys.
	m.epoch = m.clock()
	for i := range m.shards {
		m.shards[i].keys = make(map[uint64]int64)
	}
	return m
}

// Allow takes one event for key under l; see Limiter. Memory never blocks on
// anything but its own short critical sections, ignores ctx, and returns an
// error only for an invalid Limit.
func (m *Memory) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	interval, window, err := l.params()
	if err != nil {
		return Result{}, err
	}
	h := maphash.String(m.seed, key)
	s := &m.shards[h%numShards]
	// The clock is read outside the lock (it may be slow) and then clamped to
	// the latest time the shard has seen, so that within a shard time never
	// runs backwards in lock order: GCRA's guarantee holds for the sequence
	// of events as the shard applies them, each timed no later than the
	// moment it was applied.
	now := int64(m.clock().Sub(m.epoch))

	s.mu.Lock()
	if now < s.now {
		now = s.now
	} else {
		s.now = now
	}
	s.sweep(now)
	tat, known := s.keys[h]
	if tat < now {
		tat = now
	}
	next := tat + interval
	if next-now > window {
		s.mu.Unlock()
		return Result{RetryAfter: time.Duration(next - window - now)}, nil
	}
	if !known && len(s.heap) >= m.shardCap {
		s.evict()
	}
	s.keys[h] = next
	if !known {
		s.push(item{due: next, hash: h})
	}
	s.mu.Unlock()
	return Result{Allowed: true, Remaining: int((window - (next - now)) / interval)}, nil
}

// Len returns the number of keys the Memory currently tracks, expired ones
// not yet dropped included. It is meant for metrics and tests.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.heap)
		s.mu.Unlock()
	}
	return n
}

// sweep drops keys whose TAT is not after now, settling stale roots on the
// way, and takes at most sweepBudget steps of either kind.
func (s *shard) sweep(now int64) {
	for i := 0; i < sweepBudget && len(s.heap) > 0 && s.heap[0].due <= now; i++ {
		if tat := s.keys[s.heap[0].hash]; tat > now {
			s.heap[0].due = tat
			s.down()
		} else {
			s.pop()
		}
	}
}

// evict drops the key with the oldest TAT. The shard must not be empty. The
// loop settles as many stale roots as it meets, each paid for by an earlier
// raise, so its cost is amortized like the rest of the upkeep.
func (s *shard) evict() {
	for {
		if tat := s.keys[s.heap[0].hash]; tat != s.heap[0].due {
			s.heap[0].due = tat
			s.down()
			continue
		}
		s.pop()
		return
	}
}

// pop drops the root and its key.
func (s *shard) pop() {
	delete(s.keys, s.heap[0].hash)
	last := len(s.heap) - 1
	s.heap[0] = s.heap[last]
	s.heap = s.heap[:last]
	s.down()
}

// push adds it to the heap.
func (s *shard) push(it item) {
	s.heap = append(s.heap, it)
	h := s.heap
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if h[p].due <= h[i].due {
			break
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// down sinks the root to its place.
func (s *shard) down() {
	h := s.heap
	for i := 0; ; {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && h[r].due < h[c].due {
			c = r
		}
		if h[i].due <= h[c].due {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}
