// Package ratelimit limits how often something may happen per key: sign-in
// attempts per account or per address, reset mails per account, and the like.
//
// There is one abstraction, Limiter, and one algorithm, GCRA (the generic cell
// rate algorithm). A Limit of rate r and burst b lets a fresh key take b events
// at once and then one event every 1/r seconds, exactly like a token bucket of
// capacity b refilled at r, but the whole state of a key is a single
// timestamp, its theoretical arrival time (TAT): the instant at which the key
// would be back to a full burst. Taking an event at time now works like this,
// with T = 1/r and W = b·T:
//
//	tat  := max(stored TAT, now)
//	next := tat + T
//	if next-now > W { refuse; RetryAfter = next-W-now; keep the stored TAT }
//	else            { allow;  store next; Remaining = (W-(next-now)) / T }
//
// A key whose TAT is in the past is indistinguishable from a key never seen,
// so state can be forgotten as soon as the TAT passes. Refused events cost
// nothing: a caller that keeps hammering is refused until the rate lets it
// through again, and no longer.
//
// Memory keeps that state in the process. Redis implements the same
// interface with one Lua script per call that runs the lines above atomically,
// reads now from the server's TIME (so every instance sharing the Redis agrees
// on the clock and the limits) and stores next set to expire at next (rounded
// up to a millisecond), so that Redis forgets the key as soon as it stops
// mattering. T and W are worked out in Go from the Limit, in whole
// nanoseconds, and passed to the script, so both backends round a Limit the
// same way; the script does its arithmetic exactly, in integer seconds and
// nanoseconds, so both give the same Result at the same now.
//
// Keys are opaque strings chosen by the caller. They should name the purpose
// as well as the subject ("signin:ip:203.0.113.7", "reset:account:42"), and a
// key should always be used with the same Limit: the TAT means nothing under
// a different rate.
package ratelimit

import (
	"context"
	"math"
	"time"

	"github.com/vigil-dev/vigil"
)

// maxWindow bounds Burst/Rate, the time a key needs to go from empty back to
// a full burst. It keeps every TAT far from int64 overflow and refuses limits
// that are almost certainly a unit mistake.
const maxWindow = 10 * 365 * 24 * time.Hour

// Limit is a rate limit: a sustained Rate of events per second and a Burst of
// events a fresh (or fully recovered) key may take at once.
//
// The zero Limit is invalid; Validate says why a Limit is refused.
type Limit struct {
	Rate  float64 // sustained events per second; finite, > 0 and at most 1e9
	Burst int     // events allowed at once; >= 1
}

// PerSecond returns a Limit of n events per second with the given burst.
func PerSecond(n, burst int) Limit { return Limit{Rate: float64(n), Burst: burst} }

// PerMinute returns a Limit of n events per minute with the given burst.
func PerMinute(n, burst int) Limit { return Limit{Rate: float64(n) / 60, Burst: burst} }

// PerHour returns a Limit of n events per hour with the given burst.
func PerHour(n, burst int) Limit { return Limit{Rate: float64(n) / 3600, Burst: burst} }

// PerDay returns a Limit of n events per day with the given burst.
func PerDay(n, burst int) Limit { return Limit{Rate: float64(n) / 86400, Burst: burst} }

// Every returns a Limit of one event per interval with the given burst. A
// non-positive interval gives an invalid Limit.
func Every(interval time.Duration, burst int) Limit {
	if interval <= 0 {
		return Limit{Rate: math.Inf(1), Burst: burst}
	}
	return Limit{Rate: float64(time.Second) / float64(interval), Burst: burst}
}

// Validate returns nil if l can be enforced, and otherwise an EINVALID
// *vigil.Error naming the problem: Rate must be finite, positive and at most
// 1e9 (one event per nanosecond), Burst must be at least 1, and Burst/Rate
// (the time to recover a full burst) must not exceed ten years.
func (l Limit) Validate() error {
	_, _, err := l.params()
	return err
}

// params returns the emission interval T and the window W = Burst·T in
// nanoseconds, or the error Validate reports.
//
// T is 1/Rate rounded to a whole nanosecond. Float noise below a thousandth
// of a nanosecond is rounded away, so that PerMinute(5, b) is exactly 12s;
// any real fraction is rounded up, so the limiter may run a nanosecond per
// event slow but never lets more than Rate through.
func (l Limit) params() (interval, window int64, err error) {
	if !(l.Rate > 0) || math.IsInf(l.Rate, 0) { // also catches NaN
		return 0, 0, vigil.Errorf(vigil.EINVALID, "rate limit: rate must be a positive number of events per second, got %v", l.Rate)
	}
	if l.Burst < 1 {
		return 0, 0, vigil.Errorf(vigil.EINVALID, "rate limit: burst must be at least 1, got %d", l.Burst)
	}
	f := float64(time.Second) / l.Rate
	if f > float64(maxWindow) {
		return 0, 0, vigil.Errorf(vigil.EINVALID, "rate limit: rate %v per second is below one event per ten years", l.Rate)
	}
	r := math.Round(f)
	if math.Abs(f-r) > 1e-3 {
		r = math.Ceil(f)
	}
	interval = int64(r)
	if l.Rate > 1e9 || interval < 1 {
		return 0, 0, vigil.Errorf(vigil.EINVALID, "rate limit: rate must be at most 1e9 events per second, got %v", l.Rate)
	}
	if int64(l.Burst) > int64(maxWindow)/interval {
		return 0, 0, vigil.Errorf(vigil.EINVALID, "rate limit: burst %d at rate %v per second takes more than ten years to recover", l.Burst, l.Rate)
	}
	return interval, int64(l.Burst) * interval, nil
}

// Result is the outcome of one Allow call.
type Result struct {
	// Allowed reports whether the event was taken. A refused event changes
	// no state.
	Allowed bool
	// RetryAfter is how long from now until the next event for the key would
	// be allowed. It is > 0 exactly when Allowed is false.
	RetryAfter time.Duration
	// Remaining is how many more events the key could take right now, after
	// this one; 0 when Allowed is false.
	Remaining int
}

// Err returns nil if the event was allowed and otherwise an ERATELIMITED
// *vigil.Error carrying RetryAfter (vigil.RateLimited rounds it up to at
// least a second), ready to return from a service method.
func (r Result) Err() error {
	if r.Allowed {
		return nil
	}
	return vigil.RateLimited(r.RetryAfter)
}

// Limiter takes events against per-key rate limits. Implementations are safe
// for concurrent use, and all callers of one Limiter (or, for a shared
// backend such as Redis, of every Limiter on that backend) share the state of
// each key.
type Limiter interface {
	// Allow takes one event for key under l, if l permits it at the current
	// time, and reports the outcome. Being refused is not an error: it is
	// Result{Allowed: false}. Allow returns an EINVALID error, and takes
	// nothing, if l is invalid (see Limit.Validate); a backend that cannot
	// reach its store returns that failure (EUNAVAILABLE, or the context's
	// error), and the caller decides whether to fail open or closed.
	Allow(ctx context.Context, key string, l Limit) (Result, error)
}
