package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// benchArgs are tiny bench settings for tests: cheap argon2 to match the
// test server, short phases.
func benchArgs(s *testServer, extra ...string) []string {
	args := append([]string{"bench", "--target", s.URL, "--mail-dir", s.MailDir, "--accounts", "4",
		"--concurrency", "2,4", "--login-concurrency", "2", "--duration", "200ms", "--warmup", "50ms"}, cheapArgon2...)
	return append(args, extra...)
}

// TestBench runs the bench against the real server, in-process, and checks
// that every phase did work and nothing failed.
func TestBench(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv, "--lookup-rate", "1000000", "--lookup-burst", "1000000", "--trusted-proxies", "127.0.0.1/32")

	var stdout, stderr bytes.Buffer
	if err := run(context.Background(), benchArgs(s, "--json"), noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, &stderr)
	}
	var rep benchReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("--json output: %v\n%s", err, &stdout)
	}
	if !rep.SourcesSpread {
		t.Errorf("sources_spread = false: the server should take X-Forwarded-For from the bench")
	}
	if len(rep.Lookups) != 2 || rep.Lookups[0].Concurrency != 2 || rep.Lookups[1].Concurrency != 4 {
		t.Fatalf("lookup levels = %+v, want concurrency 2 then 4", rep.Lookups)
	}
	check := func(name string, p benchPhase) {
		t.Helper()
		if p.OK == 0 || p.PerSecond <= 0 {
			t.Errorf("%s: %d ok, %.1f/s; want some", name, p.OK, p.PerSecond)
		}
		if p.Non2xx != 0 || p.Status429 != 0 || p.Errors != 0 {
			t.Errorf("%s: %d non-2xx (%d were 429), %d errors; want none", name, p.Non2xx, p.Status429, p.Errors)
		}
		if p.P50ms <= 0 || p.P50ms > p.P90ms || p.P90ms > p.P99ms || p.P99ms > p.MaxMs {
			t.Errorf("%s: latencies p50 %v p90 %v p99 %v max %v are not ordered", name, p.P50ms, p.P90ms, p.P99ms, p.MaxMs)
		}
	}
	for _, p := range rep.Lookups {
		check("lookups", p)
	}
	check("logins", rep.Logins)
	if rep.Hashes.PerSecond <= 0 || rep.LoginHashRate <= 0 {
		t.Errorf("hashes/s %v, ratio %v; want both above 0", rep.Hashes.PerSecond, rep.LoginHashRate)
	}
	if rep.Lookup429 != 0 {
		t.Errorf("%d lookups answered 429", rep.Lookup429)
	}
	if rep.Argon2.MemoryKiB != 64 || rep.Argon2.Iterations != 1 || rep.Argon2.Parallelism != 1 {
		t.Errorf("argon2 params = %+v, want the flags' 64/1/1", rep.Argon2)
	}

	// The table, from a second run against the same server.
	stdout.Reset()
	if err := run(context.Background(), benchArgs(s), noEnv, &stdout, &stderr); err != nil {
		t.Fatalf("bench: %v\nstderr:\n%s", err, &stderr)
	}
	out := stdout.String()
	for _, want := range []string{"concurrency", "req/s", "p50", "p90", "p99", "max", "non-2xx", "429",
		"server lookup limit: see server flags; 0 answers were 429", "logins/s", "hashes/s", "ratio"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

// TestBenchSignupLimitExplained runs the bench against a server that does
// not trust it as a proxy: its 21st sign-up from one address is refused,
// and the bench says why and what to do.
func TestBenchSignupLimitExplained(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv)
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), benchArgs(s, "--accounts", "21"), noEnv, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "--trusted-proxies 127.0.0.1/32") || !strings.Contains(err.Error(), "429") {
		t.Fatalf("bench = %v, want a refused sign-up explained with --trusted-proxies", err)
	}
	if stdout.Len() != 0 {
		t.Errorf("printed a report after failing: %s", &stdout)
	}
}

func TestBenchRefusesRemoteTargets(t *testing.T) {
	t.Parallel()
	for _, target := range []string{"http://192.0.2.1:8080", "http://[2001:db8::1]:8080", "https://10.0.0.1", "http://0.0.0.0:8080"} {
		var stderr bytes.Buffer
		err := run(context.Background(), []string{"bench", "--target", target}, noEnv, &bytes.Buffer{}, &stderr)
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Setting != "target" || !strings.Contains(err.Error(), "--allow-remote") {
			t.Errorf("bench --target %s = %v, want a *ConfigError for --target naming --allow-remote", target, err)
		}
	}
	// The dialer checks every connection too, whatever name resolution or
	// redirects say.
	for addr, ok := range map[string]bool{
		"127.0.0.1:80": true, "127.9.9.9:80": true, "[::1]:80": true, "[::ffff:127.0.0.1]:80": true,
		"192.0.2.1:80": false, "[2001:db8::1]:80": false, "0.0.0.0:80": false, "garbage": false,
	} {
		if err := loopbackOnly("tcp", addr, nil); (err == nil) != ok {
			t.Errorf("loopbackOnly(%s) = %v, want allowed %v", addr, err, ok)
		}
	}
}

// TestBenchUnreachable checks that a loopback target with nothing listening
// fails fast with a clear message instead of measuring nothing.
func TestBenchUnreachable(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// Port 1 (tcpmux) is privileged and not served on a test machine.
	err := run(ctx, []string{"bench", "--target", "http://127.0.0.1:1"}, noEnv, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "does not answer") {
		t.Errorf("bench against nothing = %v, want \"does not answer\"", err)
	}
}

func TestBenchInvalidFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--concurrency", "0"}, "concurrency"},
		{[]string{"--concurrency", "8,lots"}, "concurrency"},
		{[]string{"--concurrency", ","}, "concurrency"},
		{[]string{"--concurrency", "100000"}, "concurrency"},
		{[]string{"--accounts", "1"}, "accounts"},
		{[]string{"--login-concurrency", "0"}, "login-concurrency"},
		{[]string{"--duration", "0s"}, "duration"},
		{[]string{"--duration", "2h"}, "duration"},
		{[]string{"--warmup", "-1s"}, "warmup"},
		{[]string{"--mail-dir", ""}, "mail-dir"},
		{[]string{"--target", "127.0.0.1:8080"}, "target"},
		{[]string{"--target", "http://user:pw@127.0.0.1:8080"}, "target"},
		{[]string{"--argon2-memory", "4"}, "argon2-memory"},
		{[]string{"--argon2-memory", "64", "--argon2-parallelism", "16"}, "argon2-memory"},
		{[]string{"--argon2-iterations", "0"}, "argon2-iterations"},
		{[]string{"--argon2-parallelism", "300"}, "argon2-parallelism"},
	} {
		err := run(context.Background(), append([]string{"bench"}, tc.args...), noEnv, &bytes.Buffer{}, &bytes.Buffer{})
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Setting != tc.want {
			t.Errorf("bench %v = %v, want a *ConfigError for --%s", tc.args, err, tc.want)
		}
	}
	// Environment twins work for the bench too.
	err := run(context.Background(), []string{"bench"}, envMap(map[string]string{"VIGIL_TARGET": "http://192.0.2.1"}), &bytes.Buffer{}, &bytes.Buffer{})
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "target" {
		t.Errorf("VIGIL_TARGET=http://192.0.2.1: %v, want a refused --target", err)
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	ms := func(n ...int) []time.Duration {
		var out []time.Duration
		for _, v := range n {
			out = append(out, time.Duration(v)*time.Millisecond)
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2), 50, 1 * time.Millisecond},
		{ms(1, 2, 3, 4), 90, 4 * time.Millisecond},
		{ms(hundred...), 50, 50 * time.Millisecond},
		{ms(hundred...), 90, 90 * time.Millisecond},
		{ms(hundred...), 99, 99 * time.Millisecond},
		{ms(hundred...), 100, 100 * time.Millisecond},
	} {
		if got := percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("percentile(%d samples, %v) = %v, want %v", len(tc.sorted), tc.p, got, tc.want)
		}
	}
}
