package detect

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock that moves only when told to. It is safe for
// concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// recorder collects emitted events. It is safe for concurrent use.
type recorder struct {
	mu     sync.Mutex
	events []Event
}

func (r *recorder) emit(e Event) {
	r.mu.Lock()
	r.events = append(r.events, e)
	r.mu.Unlock()
}

// take returns the events recorded since the last take.
func (r *recorder) take() []Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	ev := r.events
	r.events = nil
	return ev
}

// MustNew returns a Detector on a fake clock that records its events, and
// fails the test if cfg is invalid.
func MustNew(tb testing.TB, cfg Config) (*Detector, *fakeClock, *recorder) {
	tb.Helper()
	clock := newFakeClock()
	rec := &recorder{}
	d, err := New(cfg, clock.Now, rec.emit)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return d, clock, rec
}

// want describes an expected event.
type want struct {
	kind, rule, severity, key string
	threshold                 int
}

// checkEvents fails the test unless got is exactly the events described by
// wants, in order, each with a count at or above its threshold, a window, a
// time and a summary.
func checkEvents(tb testing.TB, got []Event, wants ...want) {
	tb.Helper()
	if len(got) != len(wants) {
		tb.Fatalf("got %d events, want %d:\n%s", len(got), len(wants), dump(got))
	}
	for i, w := range wants {
		e := got[i]
		if e.Kind != w.kind || e.Rule != w.rule || e.Severity != w.severity || e.Key != w.key || e.Threshold != w.threshold {
			tb.Errorf("event %d = %s\nwant kind %s rule %s severity %s key %s threshold %d",
				i, dump(got[i:i+1]), w.kind, w.rule, w.severity, w.key, w.threshold)
		}
		if e.Count < e.Threshold || e.Window <= 0 || e.At.IsZero() || e.Summary == "" {
			tb.Errorf("event %d = %s: want Count >= Threshold, a Window, a time and a Summary", i, dump(got[i:i+1]))
		}
	}
}

func dump(events []Event) string {
	var b strings.Builder
	for _, e := range events {
		fmt.Fprintf(&b, "  %s/%s %s key=%q count=%d threshold=%d window=%v %q\n",
			e.Kind, e.Rule, e.Severity, e.Key, e.Count, e.Threshold, e.Window, e.Summary)
	}
	return b.String()
}

// opaqueID returns a random identifier like the ones vigil issues.
func opaqueID(r *rand.Rand) string { return fmt.Sprintf("%016x%08x", r.Uint64(), r.Uint32()) }

func TestRuleInfo(t *testing.T) {
	rules := []string{
		RuleDistinctTargets, RuleNotFoundRatio, RuleSequential,
		RuleSourceAccounts, RuleNetworkAccounts, RulePasswordSpray,
		RuleAccountResets, RuleSourceResets, RuleTotalResets,
		RuleCutoffRevoked, RuleSourceRejections,
	}
	kinds := map[string]bool{KindEnumeration: true, KindCredentialStuffing: true, KindResetSurge: true, KindRevokedCredential: true}
	severities := map[string]bool{SeverityLow: true, SeverityMedium: true, SeverityHigh: true, SeverityCritical: true}
	for _, r := range rules {
		kind, sev := ruleInfo(r)
		if !kinds[kind] || !severities[sev] {
			t.Errorf("ruleInfo(%q) = %q, %q", r, kind, sev)
		}
		if s := summary(hit{rule: r, count: 12, threshold: 10, window: time.Minute}); s == r || !strings.Contains(s, "12") {
			t.Errorf("summary for %q = %q", r, s)
		}
	}
}

// A penalty starts with the event, restarts with the next one and ends
// Penalty later on the injected clock.
func TestPenaltyExpiry(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const src = "src:203.0.113.7"

	if d.Tightened(src) {
		t.Fatal("tightened before any event")
	}
	d.CredentialRejected(src, ReasonCutoff)
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, src, 1})
	if !d.Tightened(src) {
		t.Fatal("not tightened right after the event")
	}
	if d.Tightened("src:203.0.113.8") || d.Tightened(GlobalKey) || d.Tightened("") {
		t.Fatal("another key is tightened")
	}
	clock.Advance(15*time.Minute - time.Nanosecond)
	if !d.Tightened(src) {
		t.Fatal("not tightened just before the penalty ends")
	}
	clock.Advance(time.Nanosecond)
	if d.Tightened(src) {
		t.Fatal("still tightened when the penalty ends")
	}

	// A new event (the cooldown of 10m has passed) restarts the penalty.
	d.CredentialRejected(src, ReasonCutoff)
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, src, 1})
	clock.Advance(10 * time.Minute)
	if !d.Tightened(src) {
		t.Fatal("not tightened 10m into the second penalty")
	}
	clock.Advance(5 * time.Minute)
	if d.Tightened(src) {
		t.Fatal("second penalty outlasted Penalty")
	}
}

func TestPenaltyZeroNeverTightens(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Penalty = 0
	d, _, rec := MustNew(t, cfg)
	d.CredentialRejected("src:a", ReasonCutoff)
	if len(rec.take()) != 1 {
		t.Fatal("want the event even without a penalty")
	}
	if d.Tightened("src:a") {
		t.Fatal("tightened with Penalty 0")
	}
	if n := d.Stats().Penalties; n != 0 {
		t.Fatalf("%d penalties tracked with Penalty 0", n)
	}
}

// A continuing attack raises one event per cooldown, whatever its volume.
func TestCooldown(t *testing.T) {
	for _, tt := range []struct {
		name     string
		cooldown time.Duration
		want     int
	}{
		{"default is the window (10m)", 0, 4},
		{"30m", 30 * time.Minute, 2},
		{"1m", time.Minute, 35},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Cooldown = tt.cooldown
			d, clock, rec := MustNew(t, cfg)
			r := rand.New(rand.NewPCG(1, 2))
			const caller = "src:198.51.100.23"
			// Ten distinct lookups a second for 35 minutes: 21,000 lookups,
			// the threshold crossed 10s in.
			start := clock.Now()
			for range 35 * 60 * 10 {
				d.Lookup(caller, opaqueID(r), true)
				clock.Advance(100 * time.Millisecond)
			}
			got := rec.take()
			wants := make([]want, tt.want)
			for i := range wants {
				wants[i] = want{KindEnumeration, RuleDistinctTargets, SeverityHigh, caller, 100}
			}
			checkEvents(t, got, wants...)
			cool := tt.cooldown
			if cool == 0 {
				cool = cfg.Enumeration.Window
			}
			for i := 1; i < len(got); i++ {
				if gap := got[i].At.Sub(got[i-1].At); gap < cool || gap > cool+time.Second {
					t.Errorf("events %d and %d are %v apart, want just over %v", i-1, i, gap, cool)
				}
			}
			if len(got) > 0 && got[0].At.Sub(start) > 10*time.Second {
				t.Errorf("first event at %v, want at the 100th lookup (9.9s)", got[0].At.Sub(start))
			}
		})
	}
}

// Observations older than the window stop counting; those just inside it
// still count. With a 10m window in 20 slots of 30s, an observation counts
// until its slot leaves the window: for between 9m30s and 10m.
func TestWindowSliding(t *testing.T) {
	cfg := DefaultConfig()
	r := rand.New(rand.NewPCG(3, 4))
	lookups := func(d *Detector, caller string, n int) {
		for range n {
			d.Lookup(caller, opaqueID(r), true)
		}
	}

	t.Run("inside the window", func(t *testing.T) {
		d, clock, rec := MustNew(t, cfg)
		lookups(d, "caller:1", 60)
		clock.Advance(9*time.Minute + 29*time.Second)
		lookups(d, "caller:1", 40)
		checkEvents(t, rec.take(), want{KindEnumeration, RuleDistinctTargets, SeverityHigh, "caller:1", 100})
	})
	t.Run("a full window later", func(t *testing.T) {
		d, clock, rec := MustNew(t, cfg)
		lookups(d, "caller:1", 60)
		clock.Advance(10 * time.Minute)
		lookups(d, "caller:1", 40)
		checkEvents(t, rec.take())
		// The 40 still count: 60 more fire.
		clock.Advance(5 * time.Minute)
		lookups(d, "caller:1", 60)
		checkEvents(t, rec.take(), want{KindEnumeration, RuleDistinctTargets, SeverityHigh, "caller:1", 100})
	})
	t.Run("steady below the threshold forever", func(t *testing.T) {
		// 99 distinct targets per window, for a day: the count never
		// reaches 100 because each window forgets the one before.
		d, clock, rec := MustNew(t, cfg)
		for range 24 * 6 {
			for range 33 {
				lookups(d, "caller:1", 1)
				clock.Advance(time.Minute / 11) // 33 lookups per 3m
			}
			clock.Advance(10*time.Minute - 33*(time.Minute/11))
		}
		checkEvents(t, rec.take())
	})
	t.Run("counts too", func(t *testing.T) {
		d, clock, rec := MustNew(t, cfg)
		for range 4 {
			d.ResetRequest("acct:1", "src:a")
		}
		clock.Advance(time.Hour)
		for range 4 {
			d.ResetRequest("acct:1", "src:a")
		}
		checkEvents(t, rec.take())
		clock.Advance(30 * time.Minute)
		d.ResetRequest("acct:1", "src:a")
		checkEvents(t, rec.take(), want{KindResetSurge, RuleAccountResets, SeverityLow, "acct:1", 5})
	})
}

// The clock may jump backwards: time then stands still, nothing panics and
// nothing fires that should not.
func TestClockBackwards(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	clock.Advance(-time.Hour)
	d.Lookup("caller:1", "x", true)
	d.LoginFailure("src:a", "net:a", "acct:1", 1)
	d.ResetRequest("acct:1", "src:a")
	d.CredentialRejected("src:a", ReasonExpired)
	clock.Advance(2 * time.Hour)
	d.Lookup("caller:1", "y", true)
	clock.Advance(-30 * time.Minute)
	d.Lookup("caller:1", "z", true)
	checkEvents(t, rec.take())
	d.CredentialRejected("src:a", ReasonCutoff)
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, "src:a", 1})
	if !d.Tightened("src:a") {
		t.Fatal("not tightened after the clock went back")
	}
}

func TestNilDetector(t *testing.T) {
	var d *Detector
	d.Lookup("caller:1", "1", true)
	d.LoginFailure("src:a", "net:a", "acct:1", 1)
	d.ResetRequest("acct:1", "src:a")
	d.CredentialRejected("src:a", ReasonCutoff)
	if d.Tightened("src:a") {
		t.Fatal("a nil Detector tightened a key")
	}
	if d.Stats() != (Stats{}) {
		t.Fatal("a nil Detector tracks keys")
	}
}

// emit runs outside every lock, so it may call the Detector back.
func TestEmitMayCallDetector(t *testing.T) {
	clock := newFakeClock()
	var d *Detector
	var tightened, calls int
	d, err := New(DefaultConfig(), clock.Now, func(e Event) {
		calls++
		if d.Tightened(e.Key) {
			tightened++
		}
		d.Lookup(e.Key, "again", false)
		d.CredentialRejected(e.Key, ReasonExpired)
	})
	if err != nil {
		t.Fatal(err)
	}
	d.CredentialRejected("src:a", ReasonCutoff)
	if calls != 1 || tightened != 1 {
		t.Fatalf("emit called %d times, saw the key tightened %d times; want 1 and 1", calls, tightened)
	}
}

// Summaries are fixed text and numbers: no key, target, account or
// fingerprint reaches them, whatever the input.
func TestSummariesHoldNoSecrets(t *testing.T) {
	cfg := DefaultConfig()
	d, _, rec := MustNew(t, cfg)
	const fp = 0x5ec7e75ec7e75ec7
	secret := func(i int) string { return "secret-" + strconv.Itoa(i) + "-token" }
	for i := range 200 {
		d.Lookup("src:secret-caller", secret(i), i%2 == 0)
		d.Lookup("caller:secret-seq", "secret-id-"+strconv.Itoa(1000+i), true)
		d.LoginFailure("src:secret-src", "net:secret-net", "name:"+secret(i), fp)
		d.ResetRequest("acct:"+secret(i%3), "src:secret-src")
		d.ResetRequest("acct:"+secret(i), "src:secret-src")
		d.CredentialRejected("src:secret-src", []string{ReasonCutoff, ReasonReuse}[i%2])
	}
	got := rec.take()
	rules := map[string]bool{}
	for _, e := range got {
		rules[e.Rule] = true
		for _, bad := range []string{"secret", "src:", "net:", "acct:", "name:", "caller:",
			strconv.FormatUint(fp, 10), strconv.FormatUint(fp, 16), "5ec7"} {
			if strings.Contains(e.Summary, bad) {
				t.Errorf("summary %q contains %q", e.Summary, bad)
			}
		}
	}
	for _, r := range []string{RuleDistinctTargets, RuleNotFoundRatio, RuleSequential, RuleSourceAccounts,
		RuleNetworkAccounts, RulePasswordSpray, RuleAccountResets, RuleSourceResets, RuleCutoffRevoked, RuleSourceRejections} {
		if !rules[r] {
			t.Errorf("rule %s did not fire; the test does not cover its summary", r)
		}
	}
}
