// Package redistest gives tests the Redis they may use: the one named by
// VIGIL_TEST_REDIS_URL (scripts/test-services.sh starts one on loopback).
// It is the Redis twin of sqlstore/sqltest.
package redistest

import (
	"os"
	"testing"
)

// Env names the environment variable holding the test Redis's URL.
const Env = "VIGIL_TEST_REDIS_URL"

// URL returns the test Redis's URL. Without one the test is skipped,
// except in CI (CI=true), where testing less must not pass quietly.
func URL(tb testing.TB) string {
	tb.Helper()
	u := os.Getenv(Env)
	if u == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set in CI: .ci/run must install redis-server and scripts/test.sh start it", Env)
		}
		tb.Skipf("%s is not set: no Redis to test against (eval \"$(scripts/test-services.sh start DIR redis)\")", Env)
	}
	return u
}
