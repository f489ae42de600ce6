package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/vigil-dev/vigil"
)

// DefaultRedisPrefix is the prefix a Redis puts before every key unless
// WithKeyPrefix says otherwise.
const DefaultRedisPrefix = "vigil:rl:"

// gcra is the GCRA step of the package doc, run atomically by Redis.
//
// Numbers in Redis's Lua are doubles, exact only up to 2^53 (about 104 days
// in nanoseconds), while a nanosecond timestamp is near 2^61 and a window may
// be ten years. So every instant and duration is held as two exact integers,
// whole seconds and nanoseconds 0..999999999, and added, subtracted and
// compared with a carry. Nothing is rounded: given the same now, the script
// computes exactly what Memory computes. The TAT is stored as a decimal
// string of nanoseconds since the Unix epoch, set to expire at the TAT
// rounded up to a millisecond (SET PXAT, Redis 6.2 or later): an absolute
// expiry on the clock TIME reads, so the key is gone only once the TAT has
// passed, and at most a millisecond later.
//
// KEYS[1] is the key. ARGV[1] and ARGV[2] are T and W in whole nanoseconds,
// as decimal strings. ARGV[3] and ARGV[4] are for tests only: now in
// nanoseconds since the epoch instead of the server's TIME, and milliseconds
// to keep the key beyond its TAT; a test clock is not the clock Redis expires
// keys by, so the key then expires next-now (rounded up) plus that long
// after the call instead.
//
// The reply is {1, s, ns} when the event is taken, s·1e9+ns being W-(next-now)
// (Go divides it by T for Remaining), or {0, s, ns} when it is refused,
// s·1e9+ns being next-W-now, the RetryAfter.
var gcra = redis.NewScript(`
local B = 1000000000
local function split(v)
  local n = string.len(v)
  if n <= 9 then return 0, tonumber(v) end
  return tonumber(string.sub(v, 1, n - 9)), tonumber(string.sub(v, n - 8))
end
local function join(s, ns)
  if s == 0 then return string.format('%d', ns) end
  return string.format('%d%09d', s, ns)
end
local function add(as, an, bs, bn)
  local s, n = as + bs, an + bn
  if n >= B then return s + 1, n - B end
  return s, n
end
local function sub(as, an, bs, bn)
  local s, n = as - bs, an - bn
  if n < 0 then return s - 1, n + B end
  return s, n
end
local function less(as, an, bs, bn)
  return as < bs or (as == bs and an < bn)
end
local function ms(s, ns)
  return s * 1000 + math.ceil(ns / 1000000)
end

local ts, tn = split(ARGV[1])
local ws, wn = split(ARGV[2])
local nows, nown
if ARGV[3] then
  nows, nown = split(ARGV[3])
else
  local t = redis.call('TIME')
  nows, nown = tonumber(t[1]), tonumber(t[2]) * 1000
end

local tats, tatn = nows, nown
local stored = redis.call('GET', KEYS[1])
if stored then
  if not string.match(stored, '^%d+$') then
    return redis.error_reply('ratelimit: key ' .. KEYS[1] .. ' does not hold a TAT')
  end
  local ss, sn = split(stored)
  if less(nows, nown, ss, sn) then tats, tatn = ss, sn end
end

local nexts, nextn = add(tats, tatn, ts, tn)
local ds, dn = sub(nexts, nextn, nows, nown)
if less(ws, wn, ds, dn) then
  local rs, rn = sub(ds, dn, ws, wn)
  return {0, rs, rn}
end
if ARGV[3] then
  redis.call('SET', KEYS[1], join(nexts, nextn), 'PX', ms(ds, dn) + tonumber(ARGV[4]))
else
  redis.call('SET', KEYS[1], join(nexts, nextn), 'PXAT', ms(nexts, nextn))
end
local rs, rn = sub(ws, wn, ds, dn)
return {1, rs, rn}
`)

// Redis is a Limiter that keeps its state in Redis, so that every instance
// using the same Redis (and key prefix) shares every limit. A Redis is safe
// for concurrent use and must be made with NewRedis.
//
// Each Allow is one script call (EVALSHA, falling back to EVAL when the
// server does not have the script cached) that runs the GCRA step of the
// package doc atomically on the server. The script reads now from the
// server's TIME, so instances need not agree on the clock; TIME has
// microsecond resolution, so now is a whole microsecond, but the arithmetic
// is exact to the nanosecond, with T and W rounded by the same code as
// Memory's: at any one now, both backends give the same Result. As in
// Memory, a clock that steps backwards frees no key: a key stays limited
// until the server's clock is past its TAT again.
//
// A key of the caller's is one Redis key, prefix+key, holding the TAT as a
// decimal string of nanoseconds since the Unix epoch and expiring when the
// TAT passes (rounded up to a millisecond). One script call touches one key
// only, so a Redis Cluster client works as well. Redis must be 6.2 or later
// (for SET PXAT).
type Redis struct {
	client redis.UniversalClient
	prefix string
	// clock, set only by tests, replaces the server's TIME; keep is then
	// added to every key's expiry, since Redis expires keys by its own clock.
	clock func() time.Time
	keep  time.Duration
}

var _ Limiter = (*Redis)(nil)

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithKeyPrefix makes the Redis store key k under prefix+k instead of
// DefaultRedisPrefix+k. Limiters share limits only if they use the same
// prefix (and Redis database); an empty prefix is allowed.
func WithKeyPrefix(prefix string) RedisOption {
	return func(r *Redis) { r.prefix = prefix }
}

// NewRedis returns a Limiter that keeps its state in client's Redis. It
// makes no call to Redis; see Ping. The caller still owns client and closes
// it when done.
func NewRedis(client redis.UniversalClient, opts ...RedisOption) *Redis {
	r := &Redis{client: client, prefix: DefaultRedisPrefix}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Allow takes one event for key under l; see Limiter. It returns an EINVALID
// error without calling Redis if l is invalid; ctx's error if ctx ends before
// Redis answers; and an EUNAVAILABLE *vigil.Error wrapping the cause if Redis
// cannot be reached or answers with an error.
func (r *Redis) Allow(ctx context.Context, key string, l Limit) (Result, error) {
	interval, window, err := l.params()
	if err != nil {
		return Result{}, err
	}
	args := []any{interval, window}
	if r.clock != nil {
		args = append(args, r.clock().UnixNano(), r.keep.Milliseconds())
	}
	v, err := gcra.Run(ctx, r.client, []string{r.prefix + key}, args...).Int64Slice()
	if err != nil {
		return Result{}, r.fail(ctx, err)
	}
	if len(v) != 3 {
		return Result{}, r.fail(ctx, fmt.Errorf("ratelimit: script replied %v", v))
	}
	d := v[1]*int64(time.Second) + v[2]
	if v[0] == 0 {
		return Result{RetryAfter: time.Duration(d)}, nil
	}
	return Result{Allowed: true, Remaining: int(d / interval)}, nil
}

// Ping checks that Redis answers, and returns an error as Allow does
// otherwise. It suits a start-up check or a readiness probe.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return r.fail(ctx, err)
	}
	return nil
}

// fail turns a Redis failure into ctx's error if ctx has ended, and
// otherwise into EUNAVAILABLE.
func (r *Redis) fail(ctx context.Context, err error) error {
	if cerr := ctx.Err(); cerr != nil {
		return cerr
	}
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "rate limiter unavailable", Err: err}
}

// Client defaults for ParseRedisURL. A limit is checked on the request path,
// so a Redis that is down or stalled must fail a call in about a second, not
// stall it for the go-redis defaults (5s timeouts, 3 retries, 5 dial
// attempts each).
const (
	redisDialTimeout = time.Second
	redisIOTimeout   = time.Second
	redisMaxRetries  = 1
)

// ParseRedisURL returns a client for the Redis that rawURL names, in the form
// go-redis's ParseURL accepts: redis://[user:password@]host[:port][/db],
// rediss:// for TLS, or unix:///path/to.sock, with options such as
// ?dial_timeout=2s&read_timeout=500ms&max_retries=2 as query parameters.
// Timeouts and retries the URL leaves out default to values suited to a
// rate limiter on the request path: a one-second dial timeout and read and
// write timeouts, one retry, one dial attempt per try. Context deadlines are
// always honoured.
//
// It does not connect; Redis.Ping does. Errors never include the URL, which
// may hold a password. The caller closes the client when done.
func ParseRedisURL(rawURL string) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err // *url.Error repeats the whole URL
		}
		return nil, vigil.Errorf(vigil.EINVALID, "redis URL: %v", err)
	}
	if opt.DialTimeout == 0 {
		opt.DialTimeout = redisDialTimeout
	}
	if opt.ReadTimeout == 0 {
		opt.ReadTimeout = redisIOTimeout
	}
	if opt.WriteTimeout == 0 {
		opt.WriteTimeout = redisIOTimeout
	}
	if opt.MaxRetries == 0 {
		opt.MaxRetries = redisMaxRetries
	}
	opt.DialerRetries = 1
	opt.ContextTimeoutEnabled = true
	return redis.NewClient(opt), nil
}
