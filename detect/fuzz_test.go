package detect

import (
	"strings"
	"testing"
	"time"
)

// FuzzObservations feeds arbitrary strings to every observation of one
// long-lived Detector with low thresholds, so that rules fire, keys are
// evicted and windows slide. Nothing may panic, every event must be well
// formed, and no summary may carry an input.
//
//	go test -fuzz FuzzObservations ./detect/
func FuzzObservations(f *testing.F) {
	cfg := DefaultConfig()
	cfg.MaxKeys = 128
	cfg.Enumeration.DistinctTargets = 3
	cfg.Enumeration.MinLookups = 2
	cfg.Enumeration.SequentialPairs = 2
	cfg.Stuffing.SourceAccounts = 2
	cfg.Stuffing.NetworkAccounts = 2
	cfg.Stuffing.SprayAccounts = 2
	cfg.Reset.AccountResets = 2
	cfg.Reset.SourceAccounts = 2
	cfg.Reset.Warmup = 0
	cfg.Reset.MinTotal = 3
	cfg.Revoked.SourceRejections = 2
	cfg.Cooldown = time.Second
	clock := newFakeClock()
	var inputs []string
	var cur *testing.T // the iteration running: emit reports to it
	d, err := New(cfg, clock.Now, func(e Event) {
		if e.Count < e.Threshold || e.Kind == "" || e.Severity == "" || e.Summary == "" || e.Window <= 0 {
			cur.Errorf("malformed event %+v", e)
		}
		for _, in := range inputs {
			// Inputs with a letter and a few bytes cannot be part of a
			// summary by chance.
			if len(in) >= 8 && strings.ContainsAny(in, "qzjxQZJX") && strings.Contains(e.Summary, in) {
				cur.Errorf("summary %q contains input %q", e.Summary, in)
			}
		}
	})
	if err != nil {
		f.Fatal(err)
	}

	f.Add("src:203.0.113.7", "1000", true, "net:203.0.113.0/24", "acct:1", uint64(42), "cutoff", int64(0))
	f.Add("caller:x", "user00009", false, "", "name:zed@example.com", uint64(0), "reuse", int64(time.Minute))
	f.Add("", "", false, "", "", uint64(0), "", int64(-time.Hour))
	f.Add("\x00\xff", strings.Repeat("9", 40), true, "net:\u2028", "acct:\xfe", ^uint64(0), "expired", int64(1<<62))
	f.Fuzz(func(t *testing.T, key, target string, found bool, network, account string, fp uint64, reason string, advance int64) {
		cur = t
		inputs = append(inputs[:0], key, target, network, account, reason)
		clock.Advance(time.Duration(advance % int64(24*time.Hour)))
		d.Lookup(key, target, found)
		d.Lookup(key, target+"1", !found)
		d.LoginFailure(key, network, account, fp)
		d.LoginFailure(key, network, target, fp)
		d.ResetRequest(account, key)
		d.ResetRequest(target, network)
		d.CredentialRejected(key, reason)
		d.CredentialRejected(network, reason)
		d.Tightened(key)
		d.Tightened(account)
		if s := d.Stats(); s.Callers > s.Cap || s.Penalties > s.Cap || s.Passwords > s.Cap {
			t.Fatalf("over cap: %+v", s)
		}
	})
}
