package detect

// rejectState is a source's state for the revoked-credential rules.
type rejectState struct {
	all     ring     // rejections of any reason, cutoffs included; first: see entry
	cutoffs ring     // rejections with ReasonCutoff
	quiet   [2]int64 // per rule: cutoff, source rejections
}

func (s *rejectState) reset()        { *s = rejectState{} }
func (s *rejectState) weight() int64 { return int64(s.all.total) }

// CredentialRejected records that source ("src:<address>") presented a
// credential that was refused, and why: ReasonRevoked, ReasonExpired,
// ReasonCutoff or ReasonReuse. A reason not in that list counts as a
// rejection of unknown cause. An empty source is ignored.
//
// A ReasonCutoff rejection fires RuleCutoffRevoked at once (then once per
// cooldown for the same source): whoever holds a credential issued before an
// incident-wide revocation may hold what the incident leaked. Rejections of
// any reason count toward RuleSourceRejections. It is safe for concurrent
// use.
func (d *Detector) CredentialRejected(source, reason string) {
	if d == nil || source == "" {
		return
	}
	at, now := d.now()
	h := d.hash(source)
	c := &d.cfg.Revoked
	var hits [2]hit
	n := 0

	sh, now := d.reject.lock(h, now)
	s := &d.reject.get(sh, h, now).s
	slot := now / d.reject.slot
	total := clampInt(s.all.add(slot))
	if reason == ReasonCutoff {
		cutoffs := clampInt(s.cutoffs.add(slot))
		if allow(&s.quiet[0], now, d.rejectCool) {
			hits[n] = hit{RuleCutoffRevoked, source, cutoffs, 1, c.Window}
			n++
		}
	} else {
		s.cutoffs.advance(slot)
	}
	if total >= c.SourceRejections && allow(&s.quiet[1], now, d.rejectCool) {
		hits[n] = hit{RuleSourceRejections, source, total, c.SourceRejections, c.Window}
		n++
	}
	sh.mu.Unlock()

	if n > 0 {
		d.raise(at, now, hits[:n])
	}
}
