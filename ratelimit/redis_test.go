package ratelimit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/ratelimit/redistest"
)

// newTestClient returns a client of its own (with its own connection pool)
// to the test Redis, closed when the test ends.
func newTestClient(tb testing.TB) redis.UniversalClient {
	tb.Helper()
	c, err := ParseRedisURL(redistest.URL(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// newTestPrefix returns a fresh random key prefix, whose keys are deleted
// from c's Redis when the test ends.
func newTestPrefix(tb testing.TB, c redis.UniversalClient) string {
	tb.Helper()
	b := make([]byte, 8)
	rand.Read(b)
	prefix := "vigil-test:" + hex.EncodeToString(b) + ":"
	tb.Cleanup(func() {
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			c.Del(ctx, iter.Val())
		}
		if err := iter.Err(); err != nil {
			tb.Logf("cleaning up %s*: %v", prefix, err)
		}
	})
	return prefix
}

// newTestRedis returns a Redis limiter with a client and a key prefix of its
// own.
func newTestRedis(tb testing.TB) *Redis {
	tb.Helper()
	c := newTestClient(tb)
	return NewRedis(c, WithKeyPrefix(newTestPrefix(tb, c)))
}

// serverTime returns the Redis server's clock.
func serverTime(tb testing.TB, c redis.UniversalClient) time.Time {
	tb.Helper()
	t, err := c.Time(context.Background()).Result()
	if err != nil {
		tb.Fatal(err)
	}
	return t
}

// Two instances, each with its own client, share one limit: the burst
// spent half on each is spent, and both refuse the next event. An instance
// under another prefix does not share it.
func TestRedisSharedAcrossClients(t *testing.T) {
	t.Parallel()
	c1 := newTestClient(t)
	prefix := newTestPrefix(t, c1)
	a := NewRedis(c1, WithKeyPrefix(prefix))
	b := NewRedis(newTestClient(t), WithKeyPrefix(prefix))
	limit := PerHour(10, 10) // one event per 6 minutes, 10 at once

	for i := range 10 {
		l, name := a, "a"
		if i%2 == 1 {
			l, name = b, "b"
		}
		if r := MustAllow(t, l, "signin:ip:203.0.113.7", limit); !r.Allowed || r.Remaining != 9-i {
			t.Fatalf("event %d on %s: got %+v, want allowed with %d remaining", i+1, name, r, 9-i)
		}
	}
	for name, l := range map[string]*Redis{"a": a, "b": b} {
		r := MustAllow(t, l, "signin:ip:203.0.113.7", limit)
		if r.Allowed || r.RetryAfter > 6*time.Minute || r.RetryAfter < 5*time.Minute {
			t.Errorf("event 11 on %s: got %+v, want refused for just under 6 minutes", name, r)
		}
	}

	other := NewRedis(c1, WithKeyPrefix(newTestPrefix(t, c1)))
	if r := MustAllow(t, other, "signin:ip:203.0.113.7", limit); !r.Allowed || r.Remaining != 9 {
		t.Errorf("another prefix: got %+v, want a fresh key", r)
	}
	if n, err := c1.Exists(context.Background(), prefix+"signin:ip:203.0.113.7").Result(); err != nil || n != 1 {
		t.Errorf("EXISTS %ssignin:ip:203.0.113.7 = %d, %v; want the key under the prefix", prefix, n, err)
	}
}

// 200 goroutines on two instances fire at once at a burst of 50 that does
// not refill during the test: exactly 50 get through, and their Remaining
// values are 49 down to 0, each once, as if the calls had come one by one.
func TestRedisConcurrentExact(t *testing.T) {
	t.Parallel()
	c1 := newTestClient(t)
	prefix := newTestPrefix(t, c1)
	limiters := []*Redis{NewRedis(c1, WithKeyPrefix(prefix)), NewRedis(newTestClient(t), WithKeyPrefix(prefix))}
	limit := PerHour(1, 50)

	const goroutines = 200
	var (
		allowed   atomic.Int64
		mu        sync.Mutex
		remaining = map[int]int{}
		wg        sync.WaitGroup
		start     = make(chan struct{})
	)
	for i := range goroutines {
		l := limiters[i%2]
		wg.Go(func() {
			<-start
			r, err := l.Allow(context.Background(), "hot", limit)
			if err != nil {
				t.Error(err)
				return
			}
			if r.Allowed {
				allowed.Add(1)
				mu.Lock()
				remaining[r.Remaining]++
				mu.Unlock()
			} else if r.RetryAfter <= 0 {
				t.Errorf("refused with RetryAfter %v", r.RetryAfter)
			}
		})
	}
	close(start)
	wg.Wait()
	if got := allowed.Load(); got != int64(limit.Burst) {
		t.Fatalf("allowed %d of %d calls, want exactly %d", got, goroutines, limit.Burst)
	}
	for i := range limit.Burst {
		if remaining[i] != 1 {
			t.Errorf("Remaining %d reported %d times, want once", i, remaining[i])
		}
	}
}

// A Redis that is not there, or that never answers, makes Allow and Ping
// fail fast with EUNAVAILABLE wrapping the cause, or with the context's
// error when the context ends first. An invalid limit is still EINVALID:
// it is refused before any call to Redis.
func TestRedisUnavailable(t *testing.T) {
	t.Parallel()
	// A port with nothing listening: take one, then give it back.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()
	// A server that accepts connections (the kernel does, into the backlog)
	// and never says a word.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mute.Close() })

	for _, tc := range []struct {
		name   string
		addr   string
		within time.Duration // ParseRedisURL's timeouts: 1s per try, one retry
	}{
		{"closed port", closedAddr, 2 * time.Second},
		{"mute server", mute.Addr().String(), 5 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := ParseRedisURL("redis://" + tc.addr + "/0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { c.Close() })
			r := NewRedis(c)
			ctx := context.Background()

			begin := time.Now()
			res, err := r.Allow(ctx, "k", PerMinute(1, 1))
			took := time.Since(begin)
			var verr *vigil.Error
			if !errors.As(err, &verr) || verr.Code != vigil.EUNAVAILABLE || verr.Err == nil {
				t.Fatalf("Allow: err = %v, want an EUNAVAILABLE *vigil.Error with a cause", err)
			}
			if res != (Result{}) {
				t.Errorf("Allow: got %+v with the error, want the zero Result", res)
			}
			if took > tc.within {
				t.Errorf("Allow took %v to fail, want at most %v", took, tc.within)
			}
			if err := r.Ping(ctx); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
				t.Errorf("Ping: err = %v, want EUNAVAILABLE", err)
			}

			if _, err := r.Allow(ctx, "k", Limit{}); vigil.ErrorCode(err) != vigil.EINVALID {
				t.Errorf("Allow with an invalid limit: err = %v, want EINVALID before any call", err)
			}

			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			defer cancel()
			begin = time.Now()
			if _, err := r.Allow(short, "k", PerMinute(1, 1)); tc.name == "mute server" && !errors.Is(err, context.DeadlineExceeded) {
				t.Errorf("Allow with a 100ms deadline: err = %v, want context.DeadlineExceeded", err)
			}
			if took := time.Since(begin); took > time.Second {
				t.Errorf("Allow with a 100ms deadline took %v", took)
			}
			cancelled, cancel := context.WithCancel(ctx)
			cancel()
			if _, err := r.Allow(cancelled, "k", PerMinute(1, 1)); !errors.Is(err, context.Canceled) {
				t.Errorf("Allow with a cancelled context: err = %v, want context.Canceled", err)
			}
		})
	}
}

// A key holds its TAT in nanoseconds of the server's clock, and expires at
// its TAT rounded up to a millisecond: never before, so Redis forgets
// nothing that still counts, and then it is gone.
func TestRedisKeyExpiresAtTAT(t *testing.T) {
	t.Parallel()
	c := newTestClient(t)
	prefix := newTestPrefix(t, c)
	r := NewRedis(c, WithKeyPrefix(prefix))
	ctx := context.Background()
	limit := PerMinute(3, 3) // T = 20s, W = 60s

	tat := func(key string) time.Time {
		t.Helper()
		v, err := c.Get(ctx, prefix+key).Result()
		if err != nil {
			t.Fatalf("GET %s: %v", key, err)
		}
		ns, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatalf("GET %s = %q, want nanoseconds", key, v)
		}
		return time.Unix(0, ns)
	}
	checkExpiry := func(key string, tat time.Time) {
		t.Helper()
		left := tat.Sub(serverTime(t, c)) // at most this long, plus rounding to milliseconds, by PTTL's reading
		pttl, err := c.PTTL(ctx, prefix+key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if pttl <= 0 || pttl < left-5*time.Second || pttl > left+2*time.Millisecond {
			t.Errorf("PTTL %s = %v, want the %v left to its TAT", key, pttl, left)
		}
		at, err := c.PExpireTime(ctx, prefix+key).Result()
		if err != nil {
			if strings.Contains(err.Error(), "unknown command") {
				return // PEXPIRETIME is Redis 7
			}
			t.Fatal(err)
		}
		if want := (tat.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond); at.Milliseconds() != want {
			t.Errorf("PEXPIRETIME %s = %d, want the TAT %d rounded up to a millisecond, %d", key, at.Milliseconds(), tat.UnixNano(), want)
		}
	}

	before := serverTime(t, c)
	MustAllow(t, r, "k", limit)
	after := serverTime(t, c)
	first := tat("k")
	if now := first.Add(-20 * time.Second); now.Before(before.Truncate(time.Microsecond)) || now.After(after) || now.UnixNano()%1000 != 0 {
		t.Fatalf("TAT %v: want 20s after a microsecond of the server's TIME between %v and %v", first, before, after)
	}
	checkExpiry("k", first)

	MustAllow(t, r, "k", limit)
	if got := tat("k"); got != first.Add(20*time.Second) {
		t.Fatalf("second TAT %v, want %v", got, first.Add(20*time.Second))
	}
	checkExpiry("k", first.Add(20*time.Second))
	MustAllow(t, r, "k", limit)
	if res := MustAllow(t, r, "k", limit); res.Allowed {
		t.Fatalf("fourth event allowed: %+v", res)
	}
	if got := tat("k"); got != first.Add(40*time.Second) {
		t.Fatalf("a refusal moved the TAT to %v, want %v", got, first.Add(40*time.Second))
	}
	checkExpiry("k", first.Add(40*time.Second))

	// A key with a short TAT goes away once it passes. EXISTS makes Redis
	// check the expiry on the spot, so the loop sees the key go within a
	// round trip; it waits only as long as the TAT.
	short := Every(500*time.Millisecond, 1)
	MustAllow(t, r, "short", short)
	var end time.Time // zero if the key is gone already (a stalled test)
	if v, err := c.Get(ctx, prefix+"short").Int64(); err == nil {
		end = time.Unix(0, v)
	} else if !errors.Is(err, redis.Nil) {
		t.Fatal(err)
	}
	poll := time.NewTicker(time.Millisecond)
	defer poll.Stop()
	deadline := time.Now().Add(10 * time.Second)
	for range poll.C {
		n, err := c.Exists(ctx, prefix+"short").Result()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("key still there 10s after it was set (TAT %v)", end)
		}
	}
	if now := serverTime(t, c); now.Before(end) {
		t.Fatalf("key gone at %v, before its TAT %v", now, end)
	}
	if res := MustAllow(t, r, "short", short); !res.Allowed {
		t.Fatalf("after expiry: got %+v, want a fresh key", res)
	}
}

// A key that holds something other than a TAT (another program's key under
// the same prefix) is a failure, not a silently reset limit.
func TestRedisForeignValue(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := context.Background()
	for _, v := range []string{"not a number", "-5", "1.5e18", ""} {
		if err := r.client.Set(ctx, r.prefix+"k", v, time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Allow(ctx, "k", PerMinute(1, 1)); vigil.ErrorCode(err) != vigil.EUNAVAILABLE {
			t.Errorf("key holding %q: err = %v, want EUNAVAILABLE", v, err)
		}
		if got, _ := r.client.Get(ctx, r.prefix+"k").Result(); got != v {
			t.Errorf("key holding %q now holds %q, want it untouched", v, got)
		}
	}
}

// The script is loaded on first use and reloaded after SCRIPT FLUSH.
func TestRedisScriptFlushed(t *testing.T) {
	t.Parallel()
	r := newTestRedis(t)
	ctx := context.Background()
	MustAllow(t, r, "k", PerMinute(1, 3))
	if err := r.client.ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH on the test Redis: %v", err)
	}
	if res := MustAllow(t, r, "k", PerMinute(1, 3)); !res.Allowed || res.Remaining != 1 {
		t.Fatalf("after SCRIPT FLUSH: got %+v, want allowed with 1 remaining", res)
	}
}

func TestParseRedisURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"redis://127.0.0.1:6379/0", "redis://:pw@localhost/2?read_timeout=2s", "rediss://user:pw@redis.example:6380", "unix:///run/redis.sock?db=1"} {
		c, err := ParseRedisURL(u)
		if err != nil {
			t.Errorf("ParseRedisURL(%q): %v", u, err)
			continue
		}
		c.Close()
	}
	for _, u := range []string{"", "http://localhost", "redis://localhost/x", "redis://:s3cret@host:bad/0", "redis://:s3cret@host/0?bogus=1", "redis://:s3cret@host/0?dial_timeout=x", "redis://:s3cret@h%zz/0"} {
		c, err := ParseRedisURL(u)
		if err == nil {
			c.Close()
			t.Errorf("ParseRedisURL(%q) = nil error, want one", u)
			continue
		}
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("ParseRedisURL(%q): err = %v, want EINVALID", u, err)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseRedisURL(%q): error %q shows the password", u, err)
		}
	}

	// The limiter defaults apply unless the URL sets its own.
	c, err := ParseRedisURL("redis://localhost/0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	o := c.(*redis.Client).Options()
	if o.DialTimeout != time.Second || o.ReadTimeout != time.Second || o.WriteTimeout != time.Second || o.MaxRetries != 1 || !o.ContextTimeoutEnabled {
		t.Errorf("defaults: dial %v read %v write %v retries %d context %v", o.DialTimeout, o.ReadTimeout, o.WriteTimeout, o.MaxRetries, o.ContextTimeoutEnabled)
	}
	c2, err := ParseRedisURL("redis://localhost/0?dial_timeout=3s&max_retries=4")
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	if o := c2.(*redis.Client).Options(); o.DialTimeout != 3*time.Second || o.MaxRetries != 4 {
		t.Errorf("URL settings: dial %v retries %d, want 3s and 4", o.DialTimeout, o.MaxRetries)
	}
}

// Many keys, many goroutines (GOMAXPROCS·8) on one client: the throughput
// of one instance against a local Redis, one round trip per call.
func BenchmarkRedisAllow(b *testing.B) {
	for _, n := range []int{1, 1000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			r := newTestRedis(b)
			limit := PerSecond(1000, 100)
			keys := make([]string, n)
			for i := range keys {
				keys[i] = fmt.Sprintf("signin:ip:10.%d.%d.%d", i>>16, (i>>8)&255, i&255)
			}
			ctx := context.Background()
			MustAllow(b, r, keys[0], limit) // loads the script
			var start atomic.Uint64
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := start.Add(7919)
				for pb.Next() {
					if _, err := r.Allow(ctx, keys[i%uint64(len(keys))], limit); err != nil {
						b.Error(err)
						return
					}
					i++
				}
			})
		})
	}
}
