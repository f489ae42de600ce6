package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/ratelimit"
)

// redisPingTimeout bounds serve's start-up check of --redis-url.
const redisPingTimeout = 5 * time.Second

// newLimiter returns the rate limiter serve uses, and a func that releases
// it. With --redis-url it is the Redis limiter, once Redis has answered a
// PING (so a wrong URL stops serve at start, not at the first sign-in);
// otherwise an in-memory limiter, whose limits are per instance. It logs
// which, and never the URL's password.
func newLimiter(ctx context.Context, cfg Config, logger *slog.Logger) (ratelimit.Limiter, func(), error) {
	if cfg.RedisURL == "" {
		logger.Info("rate limits kept in memory, per instance", "backend", "memory")
		return ratelimit.NewMemory(), func() {}, nil
	}
	client, err := ratelimit.ParseRedisURL(cfg.RedisURL)
	if err != nil {
		return nil, nil, &ConfigError{Setting: "redis-url", Problem: vigil.ErrorMessage(err)}
	}
	where := redactURL(cfg.RedisURL)
	limiter := ratelimit.NewRedis(client)
	pctx, cancel := context.WithTimeout(ctx, redisPingTimeout)
	defer cancel()
	if err := limiter.Ping(pctx); err != nil {
		client.Close()
		var verr *vigil.Error
		if errors.As(err, &verr) && verr.Err != nil {
			err = verr.Err
		}
		return nil, nil, fmt.Errorf("rate limits: Redis at %s (--redis-url) does not answer: %w", where, err)
	}
	logger.Info("rate limits shared through Redis", "backend", "redis", "redis", where)
	return limiter, func() { client.Close() }, nil
}

// redactURL returns u with its password, if any, replaced by "xxxxx".
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable URL)"
	}
	return p.Redacted()
}
