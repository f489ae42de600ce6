package detect

import (
	"fmt"
	"testing"
	"time"
)

// Someone holds tokens issued before an incident-wide revocation.
func TestRevokedCutoffAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const src = "src:198.51.100.77"
	for range 5 {
		d.CredentialRejected(src, ReasonCutoff)
		clock.Advance(10 * time.Second)
	}
	got := rec.take()
	checkEvents(t, got, want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, src, 1})
	if got[0].Count != 1 {
		t.Errorf("count %d, want 1: the first rejection fires", got[0].Count)
	}
	// Another source is another event.
	d.CredentialRejected("src:198.51.100.78", ReasonCutoff)
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, "src:198.51.100.78", 1})
	// The same source once the cooldown (the 10m window) has passed.
	clock.Advance(10 * time.Minute)
	d.CredentialRejected(src, ReasonCutoff)
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleCutoffRevoked, SeverityHigh, src, 1})
}

// A source replays a stolen set of tokens.
func TestRevokedSourceRejectionsAttack(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	const src = "src:198.51.100.80"
	reasons := []string{ReasonRevoked, ReasonReuse, ReasonExpired, "something new"}
	for i := range 30 {
		d.CredentialRejected(src, reasons[i%len(reasons)])
		clock.Advance(10 * time.Second)
	}
	checkEvents(t, rec.take(), want{KindRevokedCredential, RuleSourceRejections, SeverityMedium, src, 20})
}

// People come back with expired sessions.
func TestRevokedNormal(t *testing.T) {
	d, clock, rec := MustNew(t, DefaultConfig())
	for i := range 30 {
		for range 1 + i%3 {
			d.CredentialRejected(fmt.Sprintf("src:192.0.2.%d", i), ReasonExpired)
		}
		clock.Advance(10 * time.Second)
	}
	for range 5 {
		d.CredentialRejected("src:192.0.2.200", ReasonExpired)
		d.CredentialRejected("src:192.0.2.200", ReasonRevoked) // signed out elsewhere
	}
	d.CredentialRejected("", ReasonCutoff) // no source: ignored
	checkEvents(t, rec.take())
}
