package ratelimit

import (
	"math"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

func TestLimitValidate(t *testing.T) {
	tests := []struct {
		name  string
		limit Limit
		ok    bool
	}{
		{"per second", PerSecond(10, 5), true},
		{"per minute", PerMinute(5, 1), true},
		{"per hour", PerHour(7, 3), true},
		{"per day", PerDay(1, 1), true},
		{"every", Every(time.Millisecond, 100), true},
		{"max rate", Limit{Rate: 1e9, Burst: 1}, true},
		{"slowest rate", Limit{Rate: 1 / maxWindow.Seconds(), Burst: 1}, true},
		{"zero", Limit{}, false},
		{"zero rate", Limit{Rate: 0, Burst: 1}, false},
		{"negative rate", Limit{Rate: -1, Burst: 1}, false},
		{"NaN rate", Limit{Rate: math.NaN(), Burst: 1}, false},
		{"infinite rate", Limit{Rate: math.Inf(1), Burst: 1}, false},
		{"rate above 1e9", Limit{Rate: 2e9, Burst: 1}, false},
		{"rate below one per ten years", Limit{Rate: 1e-9, Burst: 1}, false},
		{"zero burst", Limit{Rate: 1, Burst: 0}, false},
		{"negative burst", Limit{Rate: 1, Burst: -3}, false},
		{"window over ten years", PerDay(1, 4000), false},
		{"huge burst", Limit{Rate: 1e9, Burst: math.MaxInt}, false},
		{"zero interval", Every(0, 1), false},
		{"negative interval", Every(-time.Second, 1), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.limit.Validate()
			if tt.ok {
				if err != nil {
					t.Fatalf("Validate(%+v) = %v, want nil", tt.limit, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate(%+v) = nil, want an error", tt.limit)
			}
			if code := vigil.ErrorCode(err); code != vigil.EINVALID {
				t.Fatalf("Validate(%+v) code = %q, want %q", tt.limit, code, vigil.EINVALID)
			}
		})
	}
}

// The emission interval is exact where the rate allows and otherwise rounded
// up, never down.
func TestLimitInterval(t *testing.T) {
	tests := []struct {
		limit    Limit
		interval time.Duration
	}{
		{PerSecond(10, 1), 100 * time.Millisecond},
		{PerSecond(3, 1), 333333334},
		{PerMinute(5, 1), 12 * time.Second},
		{PerMinute(7, 1), 8571428572},
		{PerHour(6, 1), 10 * time.Minute},
		{PerHour(7, 1), 514285714286},
		{PerDay(1, 1), 24 * time.Hour},
		{PerDay(3, 1), 8 * time.Hour},
		{Every(1500*time.Millisecond, 1), 1500 * time.Millisecond},
		{Every(time.Nanosecond, 1), time.Nanosecond},
		{Every(7*time.Hour+3, 1), 7*time.Hour + 3},
	}
	for _, tt := range tests {
		interval, window, err := tt.limit.params()
		if err != nil {
			t.Fatalf("params(%+v): %v", tt.limit, err)
		}
		if time.Duration(interval) != tt.interval {
			t.Errorf("interval(%+v) = %d, want %d", tt.limit, interval, tt.interval)
		}
		if window != interval*int64(tt.limit.Burst) {
			t.Errorf("window(%+v) = %d, want %d", tt.limit, window, interval*int64(tt.limit.Burst))
		}
	}
}

func TestResultErr(t *testing.T) {
	if err := (Result{Allowed: true, Remaining: 3}).Err(); err != nil {
		t.Fatalf("allowed Result.Err() = %v, want nil", err)
	}
	err := Result{RetryAfter: 1500 * time.Millisecond}.Err()
	if code := vigil.ErrorCode(err); code != vigil.ERATELIMITED {
		t.Fatalf("refused Result.Err() code = %q, want %q", code, vigil.ERATELIMITED)
	}
	if got := err.(*vigil.Error).RetryAfter; got != 1500*time.Millisecond {
		t.Fatalf("RetryAfter = %v, want 1.5s", got)
	}
}
