package detect

import (
	"math"
	"sync"
)

// ResetRequest records a password-reset request. account is "acct:<id>", or
// "" if the identifier given matched no account; source is "src:<address>"
// ("" if unknown).
//
// It may fire RuleAccountResets for account, RuleSourceResets for source
// (which counts only requests that matched an account) and RuleTotalResets
// (Key GlobalKey, counting every request). It is safe for concurrent use.
func (d *Detector) ResetRequest(account, source string) {
	if d == nil {
		return
	}
	at, now := d.now()
	c := &d.cfg.Reset
	var hits [3]hit
	n := 0

	if account != "" {
		a := d.hash(account)
		sh, now := d.resetAcct.lock(a, now)
		s := &d.resetAcct.get(sh, a, now).s
		count := clampInt(s.n.add(now / d.resetAcct.slot))
		fire := count >= c.AccountResets && allow(&s.quiet, now, d.acctResetCool)
		sh.mu.Unlock()
		if fire {
			hits[n] = hit{RuleAccountResets, account, count, c.AccountResets, c.AccountWindow}
			n++
		}
		if source != "" {
			if count, ok := d.countDistinct(&d.resetSrc, d.hash(source), a, now, c.SourceAccounts, d.acctResetCool); ok {
				hits[n] = hit{RuleSourceResets, source, count, c.SourceAccounts, c.AccountWindow}
				n++
			}
		}
	}
	if count, threshold, ok := d.surge.add(now); ok {
		hits[n] = hit{RuleTotalResets, GlobalKey, count, threshold, c.Window}
		n++
	}
	if n > 0 {
		d.raise(at, now, hits[:n])
	}
}

// surge is the state of RuleTotalResets. Time is cut into periods of one
// window, counted from New. Each completed period's total is folded into
// the baseline: during the first Warmup periods as their plain mean, and
// after that as an exponentially weighted moving average,
//
//	baseline += Alpha × (min(total, limit) - baseline)
//
// where limit = max(MinTotal, Factor × baseline) is the largest total that
// does not fire. Any rise that stays under the limit is learned at full
// speed; clipping at the limit slows how fast a surge is learned (with the
// defaults a sustained tenfold surge is reported for three windows rather
// than two) without ever refusing to learn, so that a service whose traffic
// has moved for good, or that starts its day from silence, stops alerting
// on its own. The rule compares the total over the sliding window (not the
// current period, so that a spike across a period boundary counts whole)
// with the limit, and stays silent during the warm-up: with no history, no
// volume can be called abnormal.
type surge struct {
	mu       sync.Mutex
	cfg      ResetConfig
	cooldown int64
	now      int64
	slot     int64 // slot length in nanoseconds
	period   int64 // the current period, counted from New
	inPeriod uint64
	baseline float64
	learned  int // periods folded, counted up to cfg.Warmup
	n        ring
	quiet    int64
}

func (s *surge) init(c ResetConfig, cooldown int64) {
	s.cfg = c
	s.cooldown = cooldown
	s.slot = max(1, int64(c.Window)/numSlots)
}

// add counts one request at now and returns the total in the window and the
// threshold (the smallest total that fires), and whether the rule fires.
func (s *surge) add(now int64) (count, threshold int, fire bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now < s.now {
		now = s.now
	} else {
		s.now = now
	}
	if p := now / int64(s.cfg.Window); p > s.period {
		s.fold(float64(s.inPeriod))
		s.foldEmpty(p - s.period - 1)
		s.period, s.inPeriod = p, 0
	}
	s.inPeriod++
	count = clampInt(s.n.add(now / s.slot))
	threshold = s.threshold()
	fire = s.learned >= s.cfg.Warmup && count >= threshold && allow(&s.quiet, now, s.cooldown)
	return count, threshold, fire
}

// limit returns the largest total that does not fire.
func (s *surge) limit() float64 {
	return max(float64(s.cfg.MinTotal), s.cfg.Factor*s.baseline)
}

// threshold returns the smallest total that fires.
func (s *surge) threshold() int {
	return int(min(math.Floor(s.limit()), 1<<40)) + 1
}

// fold learns a completed period's total.
func (s *surge) fold(total float64) {
	if s.learned < s.cfg.Warmup {
		s.baseline = (s.baseline*float64(s.learned) + total) / float64(s.learned+1)
		s.learned++
		return
	}
	s.baseline += s.cfg.Alpha * (min(total, s.limit()) - s.baseline)
}

// foldEmpty learns k periods without a request, in constant time however
// long the silence.
func (s *surge) foldEmpty(k int64) {
	for ; k > 0 && s.learned < s.cfg.Warmup; k-- {
		s.fold(0)
	}
	if k > 0 {
		s.baseline *= math.Pow(1-s.cfg.Alpha, float64(k))
	}
}
