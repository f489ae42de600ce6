package detect

import (
	"hash/maphash"
	"sync/atomic"
)

// LoginFailure records a failed sign-in. source is "src:<address>", network
// "net:<prefix>" (the /24 of an IPv4 source, the /48 of an IPv6 one), and
// account "acct:<id>" for a known account or "name:<identifier>" for an
// identifier that matched none. pwFingerprint is a keyed hash of the password
// tried, computed by the caller so that equal passwords give equal values; 0
// means unknown. Empty strings leave out the rules that need them, and a
// failure without an account counts for nothing.
//
// It may fire RuleSourceAccounts for source, RuleNetworkAccounts for network
// and RulePasswordSpray (Key GlobalKey). The fingerprint is hashed again
// before it is stored and appears in no event. It is safe for concurrent use.
func (d *Detector) LoginFailure(source, network, account string, pwFingerprint uint64) {
	if d == nil || account == "" {
		return
	}
	at, now := d.now()
	a := d.hash(account)
	c := &d.cfg.Stuffing
	var hits [3]hit
	n := 0

	if source != "" {
		if count, ok := d.countDistinct(&d.srcFail, d.hash(source), a, now, c.SourceAccounts, d.stuffCool); ok {
			hits[n] = hit{RuleSourceAccounts, source, count, c.SourceAccounts, c.Window}
			n++
		}
	}
	if network != "" {
		if count, ok := d.countDistinct(&d.netFail, d.hash(network), a, now, c.NetworkAccounts, d.stuffCool); ok {
			hits[n] = hit{RuleNetworkAccounts, network, count, c.NetworkAccounts, c.Window}
			n++
		}
	}
	if pwFingerprint != 0 {
		p := maphash.Comparable(d.seed, pwFingerprint)
		// The cooldown is global (the Key is), so the table keeps none.
		if count, ok := d.countDistinct(&d.spray, p, a, now, c.SprayAccounts, -1); ok && d.allowGlobal(&d.sprayQuiet, now, d.sprayCool) {
			hits[n] = hit{RulePasswordSpray, GlobalKey, count, c.SprayAccounts, c.SprayWindow}
			n++
		}
	}
	if n > 0 {
		d.raise(at, now, hits[:n])
	}
}

// countDistinct records member under key h in t, a table whose state is a
// distinct count, and returns the key's count. It reports whether the rule
// fires: the count reached threshold and, unless cooldown is negative (the
// caller then keeps the cooldown), the key's cooldown allows it.
func (d *Detector) countDistinct(t *table[distinctState], h, member uint64, now int64, threshold int, cooldown int64) (int, bool) {
	sh, now := t.lock(h, now)
	s := &t.get(sh, h, now).s
	count := s.set.add(member, now/t.slot, threshold+1)
	fire := count >= threshold && (cooldown < 0 || allow(&s.quiet, now, cooldown))
	sh.mu.Unlock()
	return count, fire
}

// allowGlobal is allow for a cooldown shared by all goroutines.
func (d *Detector) allowGlobal(quiet *atomic.Int64, now, cooldown int64) bool {
	for {
		q := quiet.Load()
		if now < q {
			return false
		}
		if quiet.CompareAndSwap(q, now+cooldown) {
			return true
		}
	}
}
