package detect

import "hash/maphash"

const (
	// maxNearDistance is how far apart two numeric targets may be and still
	// be near: a walker running a few requests in parallel sends ids
	// slightly out of order, or skips a few.
	maxNearDistance = 10
	// minNearLen is the shortest target the string form of nearness applies
	// to. Strings that differ only in their last two bytes share all but
	// those two; with fewer than three shared bytes, random short names
	// would often look near (and short numbers are judged as numbers).
	minNearLen = 5
	// maxNumLen is the longest decimal target read as a number: 18 digits
	// always fit in 63 bits.
	maxNumLen = 18
)

// enumState is a caller's state for the enumeration rules.
type enumState struct {
	lookups  ring // first: see entry
	targets  distinct
	notFound ring
	steps    ring     // lookups near one of the recent ones
	quiet    [3]int64 // per rule: distinct targets, not found, sequential
	// recent holds the last Lookback distinct targets, a ring; inline, so
	// that a lookup follows no pointer to reach it.
	recent [MaxLookback]digest
	n, pos int // Lookback, and where the next target goes in recent
}

func (s *enumState) reset(lookback int) {
	s.targets.reset()
	m := s.targets
	*s = enumState{targets: m, n: lookback}
}

func (s *enumState) weight() int64 { return int64(s.lookups.total) }

// digest is what nearness needs to know of a target, in 24 bytes whatever
// its length.
type digest struct {
	h   uint64 // hash of the whole target: two targets are the same if equal
	num uint64 // 1 + the target's value if it is a decimal number of at most maxNumLen digits, else 0
	pre uint64 // hash of all but the last two bytes if at least minNearLen long, else 0
}

// digest computes the digest of a target.
func (d *Detector) digest(target string) digest {
	g := digest{h: maphash.String(d.seed, target)}
	if n := len(target); n > 0 && n <= maxNumLen {
		var v uint64
		i := 0
		for ; i < n && '0' <= target[i] && target[i] <= '9'; i++ {
			v = v*10 + uint64(target[i]-'0')
		}
		if i == n {
			g.num = v + 1
		}
	}
	if n := len(target); n >= minNearLen {
		// Equal prefixes have equal lengths, so equal pre means equal length.
		g.pre = maphash.String(d.seed, target[:n-2]) | 1 // never 0: 0 means none
	}
	return g
}

// near reports whether two different targets look adjacent: both numbers
// 1 to maxNearDistance apart, or strings of the same length (at least
// minNearLen) that differ only in their last two bytes.
func near(a, b digest) bool {
	if a.num != 0 && b.num != 0 {
		diff := a.num - b.num
		if a.num < b.num {
			diff = b.num - a.num
		}
		if 1 <= diff && diff <= maxNearDistance {
			return true
		}
	}
	return a.pre != 0 && a.pre == b.pre
}

// step records g among the caller's recent targets and reports whether it
// is a sequential step: a target not among the recent ones but near one of
// them. A repeated target is neither a step nor recorded again, so going
// back and forth between two adjacent profiles is not probing.
func (s *enumState) step(g digest) bool {
	isNear := false
	for _, r := range s.recent[:s.n] {
		if r.h == g.h {
			return false
		}
		if !isNear && near(r, g) {
			isNear = true
		}
	}
	s.recent[s.pos] = g
	if s.pos++; s.pos >= s.n {
		s.pos = 0
	}
	return isNear
}

// Lookup records that caller looked up target (an account id or a username)
// and whether an account was found. caller is "caller:<account id>" for a
// signed-in caller and "src:<address>" otherwise; an empty caller is
// ignored. Only direct lookups of one account should be fed, not searches or
// type-ahead, whose misses are normal.
//
// It may fire RuleDistinctTargets, RuleNotFoundRatio and RuleSequential for
// caller. It is safe for concurrent use and cheap enough for every lookup.
func (d *Detector) Lookup(caller, target string, found bool) {
	if d == nil || caller == "" {
		return
	}
	at, now := d.now()
	h := d.hash(caller)
	g := d.digest(target)
	c := &d.cfg.Enumeration
	var hits [3]hit
	n := 0

	sh, now := d.enum.lock(h, now)
	s := &d.enum.get(sh, h, now).s
	slot := now / d.enum.slot
	targets := s.targets.add(g.h, slot, c.DistinctTargets+1)
	lookups := clampInt(s.lookups.add(slot))
	if !found {
		s.notFound.add(slot)
	} else {
		s.notFound.advance(slot)
	}
	notFound := clampInt(s.notFound.total)
	if s.step(g) {
		s.steps.add(slot)
	} else {
		s.steps.advance(slot)
	}
	steps := clampInt(s.steps.total)

	if targets >= c.DistinctTargets && allow(&s.quiet[0], now, d.enumCool) {
		hits[n] = hit{RuleDistinctTargets, caller, targets, c.DistinctTargets, c.Window}
		n++
	}
	if lookups >= c.MinLookups && uint64(notFound)*100 >= uint64(c.NotFoundPercent)*uint64(lookups) &&
		allow(&s.quiet[1], now, d.enumCool) {
		pct := int(uint64(notFound) * 100 / uint64(lookups))
		hits[n] = hit{RuleNotFoundRatio, caller, pct, c.NotFoundPercent, c.Window}
		n++
	}
	if steps >= c.SequentialPairs && allow(&s.quiet[2], now, d.enumCool) {
		hits[n] = hit{RuleSequential, caller, steps, c.SequentialPairs, c.Window}
		n++
	}
	sh.mu.Unlock()

	if n > 0 {
		d.raise(at, now, hits[:n])
	}
}
