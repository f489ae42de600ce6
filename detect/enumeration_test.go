package detect

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"
)

// The incident's harvester: one caller walks through many accounts.
func TestEnumerationDistinctTargetsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(1, 1))
	const caller = "src:203.0.113.7"
	for range 150 {
		d.Lookup(caller, opaqueID(r), true)
		clock.Advance(2 * time.Second) // 150 in 5 minutes
	}
	got := rec.take()
	checkEvents(t, got, want{KindEnumeration, RuleDistinctTargets, SeverityHigh, caller, 100})
	if got[0].Count != 100 || got[0].Window != 10*time.Minute {
		t.Errorf("count %d over %v, want 100 over 10m (fired at the 100th)", got[0].Count, got[0].Window)
	}
	if !d.Tightened(caller) {
		t.Error("caller not tightened")
	}
}

// A person browsing profiles: 30 an hour's every ten minutes, revisiting
// some, mistyping a couple, for a working day.
func TestEnumerationNormalBrowsing(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(2, 2))
	const caller = "caller:01J9ZK3V4M5N6P7Q8R9S0T1U2V"
	var seen []string
	for range 8 * 6 {
		for i := range 30 {
			target := opaqueID(r)
			if len(seen) > 0 && i%4 == 0 {
				target = seen[r.IntN(len(seen))] // back to one seen before
			}
			seen = append(seen, target)
			d.Lookup(caller, target, i%13 != 5) // now and then a miss
			clock.Advance(20 * time.Second)
		}
	}
	checkEvents(t, rec.take())
}

// A caller guessing usernames: most guesses find nothing.
func TestEnumerationNotFoundRatioAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const caller = "src:198.51.100.4"
	names := []string{"admin", "root", "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"}
	for i := range 40 {
		name := names[i%len(names)] + strconv.Itoa(i)
		d.Lookup(caller, name, i%2 == 1) // half miss
		clock.Advance(5 * time.Second)
	}
	got := rec.take()
	checkEvents(t, got, want{KindEnumeration, RuleNotFoundRatio, SeverityMedium, caller, 50})
	if got[0].Count != 50 {
		t.Errorf("count %d%%, want 50%% (fired at the 20th lookup)", got[0].Count)
	}
}

func TestEnumerationNotFoundRatioNormal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(3, 3))
	// A few typos, all misses, but too few lookups to judge.
	typos := []string{"alcie", "jhon", "mraia", "petre", "sarha", "davdi", "lnia"}
	for i := range 19 {
		d.Lookup("caller:typist", typos[i%len(typos)], false)
		clock.Advance(10 * time.Second)
	}
	// Many lookups, one in five a miss.
	for i := range 60 {
		d.Lookup("caller:reader", opaqueID(r), i%5 != 0)
		clock.Advance(5 * time.Second)
	}
	checkEvents(t, rec.take())
}

// Walks through adjacent identifiers, in the shapes a harvester uses.
func TestEnumerationSequentialAttack(t *testing.T) {
	walks := map[string]func(i int) string{
		"ascending ids":  func(i int) string { return strconv.Itoa(4_810_000 + i) },
		"small ids":      func(i int) string { return strconv.Itoa(90 + i) }, // short, and across 100
		"descending ids": func(i int) string { return strconv.Itoa(4_810_000 - i) },
		// A walker with six requests in flight: ids arrive out of order.
		"parallel walker": func(i int) string {
			order := []int{3, 0, 5, 1, 4, 2}
			return strconv.Itoa(1_000_000 + i/6*6 + order[i%6])
		},
		"stride of 7": func(i int) string { return strconv.Itoa(77_000 + 7*i) },
		"padded usernames": func(i int) string {
			s := strconv.Itoa(i + 1)
			return "user" + "00000"[:5-len(s)] + s
		},
		"two interleaved walks": func(i int) string {
			if i%2 == 0 {
				return strconv.Itoa(100 + i/2)
			}
			return strconv.Itoa(900_000 + i/2)
		},
	}
	for name, walk := range walks {
		t.Run(name, func(t *testing.T) {
			d, clock, rec := MustNew(t, DefaultConfig())
			const caller = "src:192.0.2.99"
			for i := range 30 {
				d.Lookup(caller, walk(i), true)
				clock.Advance(3 * time.Second)
			}
			checkEvents(t, rec.take(), want{KindEnumeration, RuleSequential, SeverityHigh, caller, 10})
		})
	}
}

func TestEnumerationSequentialNormal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	r := rand.New(rand.NewPCG(4, 4))
	// Random numeric ids, as a service with random numeric ids sees them.
	for range 99 {
		d.Lookup("caller:numeric", strconv.FormatUint(r.Uint64N(1e9), 10), true)
		clock.Advance(5 * time.Second)
	}
	// Going back and forth between two adjacent profiles is not a walk.
	for i := range 60 {
		d.Lookup("caller:flipper", strconv.Itoa(5000+i%2), true)
		clock.Advance(5 * time.Second)
	}
	// Random five-digit ids: a small space where chance nearness is common.
	for range 90 {
		d.Lookup("caller:small-space", strconv.Itoa(10_000+r.IntN(90_000)), true)
		clock.Advance(5 * time.Second)
	}
	// Random usernames of all shapes.
	for range 90 {
		name := []string{"anna", "ben", "chloe", "dmitri", "emma"}[r.IntN(5)] + strconv.Itoa(r.IntN(10_000))
		d.Lookup("caller:names", name, true)
		clock.Advance(5 * time.Second)
	}
	checkEvents(t, rec.take())
}

func TestNear(t *testing.T) {
	d, _, _ := MustNew(t, DefaultConfig())
	tests := []struct {
		a, b string
		near bool
	}{
		{"100", "101", true},
		{"101", "100", true},
		{"100", "110", true},
		{"100", "111", false},
		{"100", "100", false}, // the same target: handled as a repeat
		{"0042", "43", true},  // numbers by value
		{"999999999999999999", "999999999999999998", true},
		{"user0009", "user0010", true}, // same length, last two bytes differ
		{"user0099", "user0100", false},
		{"abcde", "abcxy", true},
		{"abcd", "abxy", false}, // too short for the string form
		{"abcde", "abcdef", false},
		{"-1", "-2", false},
		{"", "1", false},
		{"1x", "2x", false},
	}
	for _, tt := range tests {
		if got := tt.a != tt.b && near(d.digest(tt.a), d.digest(tt.b)); got != tt.near {
			t.Errorf("near(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.near)
		}
	}
}

// A key keeps at most threshold+1 members, however many it sees.
func TestEnumerationMembersBounded(t *testing.T) {
	cfg := DefaultConfig()
	d, clock, rec := MustNew(t, cfg)
	r := rand.New(rand.NewPCG(5, 5))
	for range 10_000 {
		d.Lookup("caller:hog", opaqueID(r), true)
		clock.Advance(time.Millisecond)
	}
	h := d.hash("caller:hog")
	sh, _ := d.enum.lock(h, 0)
	n := len(sh.m[h].s.targets.m)
	sh.mu.Unlock()
	if n > cfg.Enumeration.DistinctTargets+1 {
		t.Fatalf("caller holds %d targets, want at most %d", n, cfg.Enumeration.DistinctTargets+1)
	}
	checkEvents(t, rec.take(), want{KindEnumeration, RuleDistinctTargets, SeverityHigh, "caller:hog", 100})
}
