package detect

import (
	"fmt"
	"math"
	"testing"
	"time"
)

// Someone floods one account's inbox with reset mails.
func TestResetAccountResetsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	for i := range 8 {
		d.ResetRequest("acct:42", fmt.Sprintf("src:203.0.113.%d", i%3))
		clock.Advance(4 * time.Minute)
	}
	checkEvents(t, rec.take(), want{KindResetSurge, RuleAccountResets, SeverityLow, "acct:42", 5})
}

// One address asks for resets of many accounts: mass reset mails.
func TestResetSourceResetsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const src = "src:203.0.113.50"
	for i := range 40 {
		d.ResetRequest(fmt.Sprintf("acct:%d", i), src)
		d.ResetRequest("", src) // identifiers that match nothing count for the total only
		clock.Advance(30 * time.Second)
	}
	checkEvents(t, rec.take(), want{KindResetSurge, RuleSourceResets, SeverityMedium, src, 30})
}

func TestResetNormal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	// A user who does not find the mail asks three times, and again the
	// next day.
	for range 3 {
		d.ResetRequest("acct:7", "src:192.0.2.1")
		clock.Advance(5 * time.Minute)
	}
	clock.Advance(24 * time.Hour)
	for range 3 {
		d.ResetRequest("acct:7", "src:192.0.2.1")
		clock.Advance(5 * time.Minute)
	}
	// An office: 20 people reset their passwords in an hour.
	for i := range 20 {
		d.ResetRequest(fmt.Sprintf("acct:%d", 100+i), "src:192.0.2.10")
		clock.Advance(3 * time.Minute)
	}
	checkEvents(t, rec.take())
}

// resetTraffic sends n reset requests spread evenly over one window of w.
func resetTraffic(d *Detector, clock *fakeClock, w time.Duration, n int, tag string) {
	if n == 0 {
		clock.Advance(w)
		return
	}
	step := w / time.Duration(n)
	for i := range n {
		d.ResetRequest(fmt.Sprintf("acct:%s-%d", tag, i), fmt.Sprintf("src:%s-%d", tag, i))
		clock.Advance(step)
	}
	clock.Advance(w - step*time.Duration(n))
}

// The baseline learns steady traffic, and a tenfold spike fires once.
func TestResetSurgeSpike(t *testing.T) {
	cfg := DefaultConfig()
	w := cfg.Reset.Window
	d, clock, rec := MustNew(t, cfg)
	for i := range 24 {
		resetTraffic(d, clock, w, 100, fmt.Sprint(i))
	}
	checkEvents(t, rec.take())
	if b := d.surge.baseline; math.Abs(b-100) > 1 {
		t.Fatalf("baseline %.2f after steady 100 per window, want 100", b)
	}
	resetTraffic(d, clock, w, 1000, "spike")
	got := rec.take()
	checkEvents(t, got, want{KindResetSurge, RuleTotalResets, SeverityCritical, GlobalKey, 501})
	if !d.Tightened(GlobalKey) {
		t.Error("global key not tightened")
	}
	// The spike is learned clipped to the limit (500) when the next window
	// starts: 100 + 0.1×(500-100), not 100 + 0.1×(1000-100).
	resetTraffic(d, clock, w, 100, "after-spike")
	if b := d.surge.baseline; math.Abs(b-140) > 1 {
		t.Errorf("baseline %.2f after one spike, want 140", b)
	}
	checkEvents(t, rec.take())
	// It decays back, and the same spike fires again.
	for i := range 12 {
		resetTraffic(d, clock, w, 100, fmt.Sprint("after", i))
	}
	checkEvents(t, rec.take())
	resetTraffic(d, clock, w, 1000, "spike2")
	checkEvents(t, rec.take(), want{KindResetSurge, RuleTotalResets, SeverityCritical, GlobalKey, d.surge.threshold()})
}

// A sustained tenfold surge is reported once a window until the baseline,
// learning it clipped, catches up.
func TestResetSurgeSustained(t *testing.T) {
	cfg := DefaultConfig()
	w := cfg.Reset.Window
	d, clock, rec := MustNew(t, cfg)
	for i := range 12 {
		resetTraffic(d, clock, w, 100, fmt.Sprint(i))
	}
	for i := range 8 {
		resetTraffic(d, clock, w, 1000, fmt.Sprint("surge", i))
	}
	got := rec.take()
	if len(got) != 3 {
		t.Fatalf("got %d events for eight windows of a tenfold surge, want 3:\n%s", len(got), dump(got))
	}
	for _, e := range got {
		if e.Rule != RuleTotalResets {
			t.Errorf("unexpected event:\n%s", dump([]Event{e}))
		}
	}
}

// A gentle rise (10% a window, sixfold over four hours) is learned, not
// reported.
func TestResetSurgeGentleRise(t *testing.T) {
	cfg := DefaultConfig()
	d, clock, rec := MustNew(t, cfg)
	n := 100.0
	for i := range 24 {
		resetTraffic(d, clock, cfg.Reset.Window, int(n), fmt.Sprint(i))
		n *= 1.1
	}
	checkEvents(t, rec.take())
	if b := d.surge.baseline; b < 250 {
		t.Errorf("baseline %.1f after a rise to %.0f per window; want it to follow", b, n)
	}
}

// The first windows have no baseline: ordinary volume, even well above
// MinTotal, does not fire, during the warm-up or after.
func TestResetSurgeWarmup(t *testing.T) {
	cfg := DefaultConfig()
	d, clock, rec := MustNew(t, cfg)
	for i := range 12 {
		resetTraffic(d, clock, cfg.Reset.Window, 400, fmt.Sprint(i))
	}
	checkEvents(t, rec.take())

	// Without a warm-up the rule judges the first window against MinTotal.
	cfg.Reset.Warmup = 0
	d, clock, rec = MustNew(t, cfg)
	resetTraffic(d, clock, cfg.Reset.Window, 60, "x")
	checkEvents(t, rec.take(), want{KindResetSurge, RuleTotalResets, SeverityCritical, GlobalKey, 51})
}

// A long silence decays the baseline in constant time, back to MinTotal.
func TestResetSurgeAfterSilence(t *testing.T) {
	cfg := DefaultConfig()
	d, clock, rec := MustNew(t, cfg)
	for i := range 10 {
		resetTraffic(d, clock, cfg.Reset.Window, 300, fmt.Sprint(i))
	}
	clock.Advance(365 * 24 * time.Hour)
	resetTraffic(d, clock, cfg.Reset.Window, 60, "back")
	checkEvents(t, rec.take(), want{KindResetSurge, RuleTotalResets, SeverityCritical, GlobalKey, 51})
}
