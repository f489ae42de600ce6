// Package service implements vigil's account service: sign-up with email
// verification, sign-in with throttling, sessions, and the user lookup. It
// holds the rules; sqlstore holds the data and httpapi speaks HTTP. Every
// method that acts for a caller reads the caller from the context
// (vigil.ActorFromContext) and decides there what the caller may see.
package service

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/detect"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
)

// Config holds the service's tunables. DefaultConfig has safe values.
type Config struct {
	PublicURL string // base of links in mail, no trailing slash
	MailFrom  string // From address of every mail

	PasswordPolicy password.Policy

	SignupCodeTTL     time.Duration // how long a verification code is good for
	SignupMaxAttempts int           // wrong codes before the signup is void

	SessionIdle     time.Duration // a session unused this long is over
	SessionLifetime time.Duration // a session is over this long after sign-in, used or not
	TouchInterval   time.Duration // last-seen is written at most this often per session
	// ResetTTL is how long a password-reset link works; ResetsPerHour caps
	// reset mails per account; ResetSourceLimit caps reset requests per
	// source address (beyond it requests are answered alike and dropped).
	ResetTTL          time.Duration
	ResetsPerHour     int
	ResetSourceLimit  ratelimit.Limit
	ResetConfirmLimit ratelimit.Limit

	// WebhookAllowPrivate lets users point webhooks at loopback and private
	// addresses over plain http: for tests and single-host development only.
	WebhookAllowPrivate bool

	// Issuer names the service in authenticator apps.
	Issuer string
	// MFAChallengeTTL is how long the second step of a sign-in may take;
	// MFAChallengeAttempts caps wrong codes per challenge.
	MFAChallengeTTL      time.Duration
	MFAChallengeAttempts int

	// ReauthWindow is how recent a password proof must be for sensitive
	// actions (revoke-all, and later password, email, phone and 2FA changes).
	ReauthWindow time.Duration

	// Operator says where security events are sent besides the admin API.
	Operator OperatorAlerts
	// Detect holds the breach detectors' thresholds and windows.
	Detect detect.Config

	// RevocationRefresh is how old this instance's copy of the revocations
	// in force may get before a credential check looks for new ones: the
	// bound on how long a revocation made on another instance takes to be
	// enforced here.
	RevocationRefresh time.Duration

	// LookupLimit caps how fast one caller may look up other users.
	LookupLimit ratelimit.Limit
	// SignupLimit caps sign-ups per source address; SignupMailLimit caps
	// verification mails per address, so nobody can flood an inbox.
	SignupLimit     ratelimit.Limit
	SignupMailLimit ratelimit.Limit
	// VerifyLimit caps code checks per source address.
	VerifyLimit ratelimit.Limit

	// Failed sign-in throttles: per account and source, per account from
	// anywhere (looser, short blocks, so no one can lock a victim out for
	// long), and per source across accounts.
	ThrottleAccountSource vigil.ThrottleRule
	ThrottleAccount       vigil.ThrottleRule
	ThrottleSource        vigil.ThrottleRule
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		PublicURL:             "http://127.0.0.1:8080",
		MailFrom:              "vigil <no-reply@localhost>",
		PasswordPolicy:        password.DefaultPolicy(),
		SignupCodeTTL:         15 * time.Minute,
		SignupMaxAttempts:     5,
		SessionIdle:           24 * time.Hour,
		SessionLifetime:       14 * 24 * time.Hour,
		TouchInterval:         time.Minute,
		ReauthWindow:          10 * time.Minute,
		RevocationRefresh:     500 * time.Millisecond,
		Detect:                detect.DefaultConfig(),
		Issuer:                "vigil",
		MFAChallengeTTL:       5 * time.Minute,
		MFAChallengeAttempts:  5,
		ResetTTL:              30 * time.Minute,
		ResetsPerHour:         3,
		ResetSourceLimit:      ratelimit.Limit{Rate: 20.0 / 3600, Burst: 20},
		ResetConfirmLimit:     ratelimit.Limit{Rate: 30.0 / 3600, Burst: 30},
		LookupLimit:           ratelimit.Limit{Rate: 1, Burst: 60},           // 60 at once, then 1/s
		SignupLimit:           ratelimit.Limit{Rate: 20.0 / 3600, Burst: 20}, // 20 an hour per source
		SignupMailLimit:       ratelimit.Limit{Rate: 5.0 / 3600, Burst: 5},   // 5 an hour per address
		VerifyLimit:           ratelimit.Limit{Rate: 30.0 / 3600, Burst: 30}, // 30 an hour per source
		ThrottleAccountSource: vigil.ThrottleRule{Free: 5, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour},
		ThrottleAccount:       vigil.ThrottleRule{Free: 20, Base: time.Second, Max: time.Minute, Window: time.Hour},
		ThrottleSource:        vigil.ThrottleRule{Free: 100, Base: time.Second, Max: 15 * time.Minute, Window: time.Hour},
	}
}

// Service is the account service. Create it with New.
type Service struct {
	cfg         Config
	store       vigil.Store
	hasher      *password.Hasher
	mail        mail.Sender
	limiter     ratelimit.Limiter
	now         func() time.Time
	log         *slog.Logger
	m           *metrics
	kick        func()
	sealer      *seal.Sealer
	recoveryKey []byte
	sms         notify.SMSSender
	revs        revocationCache
	jobKick     chan struct{}
	detect      *detect.Detector
}

// Deps are the service's collaborators.
type Deps struct {
	Store    vigil.Store
	Hasher   *password.Hasher
	Mail     mail.Sender
	Limiter  ratelimit.Limiter
	Now      func() time.Time      // nil: time.Now
	Logger   *slog.Logger          // nil: discard
	Registry prometheus.Registerer // nil: metrics are kept but not exported
	// SMS sends verification codes to phones (nil: phone changes are
	// unavailable).
	SMS notify.SMSSender
	// Sealer encrypts TOTP secrets at rest; RecoveryKey keys the hashes of
	// recovery codes. Both come from the server's secret key.
	Sealer      *seal.Sealer
	RecoveryKey []byte
	// Kick is called after a change has committed outbox items, to wake
	// the delivery worker (nil: the worker finds them when it polls).
	Kick func()
}

// New returns a service. It fails if a dependency is missing.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Hasher == nil || d.Mail == nil || d.Limiter == nil || d.Sealer == nil || len(d.RecoveryKey) < 32 {
		return nil, errors.New("service: store, hasher, mail, limiter, sealer and a 32-byte recovery key are required")
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	clock := d.Now
	// The store keeps microseconds; so does everything the service hands
	// out, so a value read back equals the value issued.
	d.Now = func() time.Time { return clock().UTC().Truncate(time.Microsecond) }
	if d.Logger == nil {
		d.Logger = slog.New(slog.DiscardHandler)
	}
	m, err := newMetrics(d.Registry)
	if err != nil {
		return nil, err
	}
	if d.Kick == nil {
		d.Kick = func() {}
	}
	s := &Service{cfg: cfg, store: d.Store, hasher: d.Hasher, mail: d.Mail, limiter: d.Limiter,
		now: d.Now, log: d.Logger, m: m, kick: d.Kick, sealer: d.Sealer, recoveryKey: d.RecoveryKey, sms: d.SMS,
		jobKick: make(chan struct{}, 1)}
	if err := s.newDetector(cfg.Detect); err != nil {
		return nil, err
	}
	return s, nil
}

// Config returns the configuration the service runs with.
func (s *Service) Config() Config { return s.cfg }

// allow takes one event from key under l, and turns a refusal into
// ERATELIMITED with the wait.
func (s *Service) allow(ctx context.Context, key string, l ratelimit.Limit) error {
	res, err := s.limiter.Allow(ctx, key, l)
	if err != nil {
		if vigil.ErrorCode(err) == vigil.EUNAVAILABLE {
			return err // a shared limiter that is down: 503, try again
		}
		return vigil.Internal(err)
	}
	if !res.Allowed {
		s.m.rateLimited.WithLabelValues(limitName(key)).Inc()
		return vigil.RateLimited(res.RetryAfter)
	}
	return nil
}

func limitName(key string) string {
	for i := 0; i < len(key); i++ {
		if key[i] == ':' {
			return key[:i]
		}
	}
	return key
}

// sourceKey groups client addresses the way an attacker's resources group:
// one IPv4 address, or one IPv6 /64 (what a single host usually gets).
func sourceKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "unknown"
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Retention is how long delivered notices' outbox rows (which hold
// addresses and identifiers) and idle throttle rows are kept.
const Retention = 30 * 24 * time.Hour

// Sweep deletes expired sign-ups, and outbox and throttle rows past
// Retention. The server calls it periodically.
func (s *Service) Sweep(ctx context.Context) error {
	n, err := s.store.DeleteExpiredSignups(ctx, s.now())
	if err != nil {
		return err
	}
	m, err := s.store.PurgeOutbox(ctx, s.now().Add(-Retention))
	if err != nil {
		return err
	}
	if n+m > 0 {
		s.log.InfoContext(ctx, "swept", "expired_signups", n, "old_outbox_items", m)
	}
	return nil
}
