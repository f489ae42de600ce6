package main

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/ratelimit/redistest"
)

func TestRedisURLFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "redis-url")
	if err := os.WriteFile(file, []byte("redis://:from-the-file@redis.example:6379/2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unset", nil, nil, ""},
		{"file", nil, map[string]string{"VIGIL_REDIS_URL_FILE": file}, "redis://:from-the-file@redis.example:6379/2"},
		{"variable beats file", nil, map[string]string{"VIGIL_REDIS_URL_FILE": file, "VIGIL_REDIS_URL": "redis://env.example/0"}, "redis://env.example/0"},
		{"flag beats file", []string{"--redis-url", "redis://flag.example/0"}, map[string]string{"VIGIL_REDIS_URL_FILE": file}, "redis://flag.example/0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parseServe(tc.args, envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RedisURL != tc.want {
				t.Errorf("RedisURL = %q, want %q", cfg.RedisURL, tc.want)
			}
		})
	}

	// A URL that does not parse is a ConfigError that does not repeat the
	// URL, password included.
	_, _, err := parseServe([]string{"--redis-url", "redis://:s3cret@redis.example:port/0"}, noEnv)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Setting != "redis-url" {
		t.Fatalf("bad URL: err = %v, want a ConfigError for redis-url", err)
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("bad URL: error %q shows the password", err)
	}
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"redis://:s3cret@redis.example:6379/0":      "redis://:xxxxx@redis.example:6379/0",
		"rediss://user:s3cret@redis.example/1?db=2": "rediss://user:xxxxx@redis.example/1?db=2",
		"redis://redis.example/0":                   "redis://redis.example/0",
		"redis://:s3cret@redis.example:bad":         "(unparsable URL)",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// With --redis-url naming a Redis that is not there, serve refuses to start,
// promptly, with an error that names the setting and the address but not
// the password.
func TestServeRedisUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	dir := t.TempDir()
	args := append([]string{"serve", "--listen", "127.0.0.1:0", "--database", filepath.Join(dir, "v.db"),
		"--mail-dir", filepath.Join(dir, "mail"), "--redis-url", "redis://:s3cret@" + addr + "/0"}, cheapArgon2...)
	var stdout, stderr bytes.Buffer
	begin := time.Now()
	err = run(context.Background(), args, noEnv, &stdout, &stderr)
	if err == nil {
		t.Fatal("serve started without its Redis")
	}
	if took := time.Since(begin); took > redisPingTimeout+time.Second {
		t.Errorf("serve took %v to give up on Redis", took)
	}
	msg := err.Error()
	if !strings.Contains(msg, "--redis-url") || !strings.Contains(msg, addr) || !strings.Contains(msg, "xxxxx") {
		t.Errorf("error %q does not name --redis-url and the redacted URL", msg)
	}
	if strings.Contains(msg+stderr.String(), "s3cret") {
		t.Errorf("the password shows in the error or the log: %q\n%s", msg, stderr.String())
	}
	if strings.Contains(stdout.String(), "listening") {
		t.Errorf("serve listened before refusing: %q", stdout.String())
	}
}

// serve uses the memory limiter by default and the Redis one with
// --redis-url, and logs which: a reset request, limited per source, leaves
// its key in Redis.
func TestServeRedisLimiter(t *testing.T) {
	t.Parallel()
	t.Run("memory", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, noEnv)
		s.Stderr.waitFor(t, `"backend":"memory"`, 10*time.Second)
	})
	t.Run("redis", func(t *testing.T) {
		t.Parallel()
		url := redistest.URL(t)
		client, err := ratelimit.ParseRedisURL(url)
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		ctx := context.Background()
		key := ratelimit.DefaultRedisPrefix + "reset-src:127.0.0.1"
		if err := client.Del(ctx, key).Err(); err != nil {
			t.Fatal(err)
		}

		s := startServe(t, envMap(map[string]string{"VIGIL_REDIS_URL": url}))
		s.Stderr.waitFor(t, `"backend":"redis"`, 10*time.Second)
		status, body := s.do(t, "POST", "/v1/password-resets", "", map[string]string{"identifier": "nobody"})
		if status != http.StatusAccepted {
			t.Fatalf("POST /v1/password-resets: %d %s", status, body)
		}
		if n, err := client.Exists(ctx, key).Result(); err != nil || n != 1 {
			t.Fatalf("EXISTS %s = %d, %v after a reset request; want the limiter's key in Redis", key, n, err)
		}
	})
}
