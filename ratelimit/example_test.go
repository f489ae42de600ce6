package ratelimit_test

import (
	"context"
	"fmt"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/ratelimit"
)

// A service guards sign-in attempts per address: three at once, then one
// every twenty seconds.
func Example() {
	var limiter ratelimit.Limiter = ratelimit.NewMemory()
	limit := ratelimit.PerMinute(3, 3)
	ctx := context.Background()

	for range 4 {
		r, err := limiter.Allow(ctx, "signin:ip:203.0.113.7", limit)
		if err != nil {
			fmt.Println(err) // an invalid limit, or a backend that is down
			return
		}
		if err := r.Err(); err != nil {
			fmt.Println(vigil.ErrorCode(err), r.RetryAfter > 0)
			continue
		}
		fmt.Println("allowed, remaining", r.Remaining)
	}
	// Output:
	// allowed, remaining 2
	// allowed, remaining 1
	// allowed, remaining 0
	// rate-limited true
}
