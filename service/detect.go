package service

import (
	"context"
	"hash/maphash"
	"net/netip"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/detect"
	"github.com/vigil-dev/vigil/ratelimit"
)

// pwSeed keys the fingerprints of tried passwords that the spray detector
// compares. It is random per process and the fingerprints live only in the
// detector's memory, so they cannot be looked up against a password list.
var pwSeed = maphash.MakeSeed()

func pwFingerprint(pw vigil.Password) uint64 {
	if len(pw) == 0 {
		return 0
	}
	return maphash.String(pwSeed, string(pw))
}

// newDetector builds the breach detectors, whose events s.raise stores and
// sends to the operators. The event is written in the goroutine of the
// request that tripped the rule, after the detector released its locks:
// one insert, at most once per rule, key and cooldown, so an attack costs
// one write per window, and a test (or an operator) sees the event as soon
// as the request that raised it has been answered.
func (s *Service) newDetector(cfg detect.Config) error {
	d, err := detect.New(cfg, s.now, func(e detect.Event) {
		s.raise(context.Background(), &vigil.SecurityEvent{Kind: e.Kind, Rule: e.Rule, Severity: e.Severity, Subject: e.Key,
			Summary: e.Summary, Count: e.Count, Threshold: e.Threshold, WindowSeconds: int64(e.Window.Seconds()), At: e.At})
	})
	if err != nil {
		return err
	}
	s.detect = d
	return nil
}

// srcKey and netKey name a client address for the detectors: the address
// (an IPv6 /64, see sourceKey) and its network (/24 or /48).
func srcKey(ip string) string { return "src:" + sourceKey(ip) }

func netKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "net:unknown"
	}
	a = a.Unmap()
	bits := 24
	if a.Is6() {
		bits = 48
	}
	p, _ := a.Prefix(bits)
	return "net:" + p.String()
}

// tighter returns l cut to a tenth (at least one event at once), for keys
// a detector has flagged.
func tighter(l ratelimit.Limit) ratelimit.Limit {
	l.Rate /= 10
	if l.Burst = l.Burst / 10; l.Burst < 1 {
		l.Burst = 1
	}
	return l
}

// tighterRule is a throttle rule with a tenth of the free failures.
func tighterRule(r vigil.ThrottleRule) vigil.ThrottleRule {
	if r.Free = r.Free / 10; r.Free < 1 {
		r.Free = 1
	}
	return r
}
