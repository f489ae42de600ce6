package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/outbox"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/sqlstore"
	"github.com/vigil-dev/vigil/storecache"
)

func runServe(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	secrets := serveFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil serve [flags]\n\nRuns the account service. Flags, with their environment twins and defaults:")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args, getenv, secrets); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger, err := newLogger(cfg, stderr)
	if err != nil {
		return err
	}

	db, err := sqlstore.Open(ctx, cfg.Database)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		logger.Info("database migrated", "applied", n, "dialect", string(db.Dialect()))
	}

	sender, err := newMailSender(cfg)
	if err != nil {
		return err
	}
	hasher, err := password.NewHasher(cfg.argon2Params())
	if err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	sc := service.DefaultConfig()
	sc.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	sc.MailFrom = cfg.MailFrom
	sc.PasswordPolicy.MinLength = cfg.PasswordMinLength
	sc.SessionIdle, sc.SessionLifetime = cfg.SessionIdle, cfg.SessionLifetime
	sc.LookupLimit = ratelimit.Limit{Rate: cfg.LookupRate, Burst: cfg.LookupBurst}
	sc.WebhookAllowPrivate = cfg.WebhookAllowPrivate
	sc.ResetTTL, sc.ResetsPerHour, sc.ReauthWindow = cfg.ResetTTL, cfg.ResetsPerHour, cfg.ReauthWindow
	sc.RevocationRefresh = cfg.RevocationRefresh
	if sc.Operator, err = cfg.operatorAlerts(); err != nil {
		return err
	}
	if sc.Detect, err = cfg.detectConfig(); err != nil {
		return err
	}
	var sms notify.SMSSender
	if cfg.SMSURL != "" {
		if sms, err = notify.NewHTTPSMS(notify.HTTPSMSConfig{URL: cfg.SMSURL, APIKey: cfg.SMSAPIKey}); err != nil {
			return &ConfigError{Setting: "sms-url", Problem: vigil.ErrorMessage(err)}
		}
	} else if sms, err = notify.NewDirSMS(cfg.SMSDir); err != nil {
		return &ConfigError{Setting: "sms-dir", Problem: err.Error()}
	}
	key, created, err := cfg.secretKey()
	if err != nil {
		return err
	}
	db.SetAuditKey(auditKey(key)) // before anything is written: `vigil admin audit verify` derives the same
	if created {
		logger.Warn("created a new secret key; keep it, and give every instance the same", "file", cfg.SecretKeyFile)
	}
	sealer, err := seal.NewSealer(key)
	if err != nil {
		return err
	}
	limiter, closeLimiter, err := newLimiter(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer closeLimiter()
	store := storecache.New(db)
	var worker *outbox.Worker
	svc, err := service.New(sc, service.Deps{
		Store: store, Hasher: hasher, Mail: sender, Limiter: limiter, Logger: logger, Registry: reg,
		Kick: func() { worker.Notify() }, Sealer: sealer, RecoveryKey: recoveryKey(key), SMS: sms,
	})
	if err != nil {
		return err
	}
	worker = outbox.New(outbox.Config{}, store, map[string]outbox.Channel{
		vigil.ChannelMail:              service.MailChannel(sender, sc.MailFrom),
		service.ChannelReset:           svc.ResetChannel(),
		vigil.ChannelSMS:               svc.SMSChannel(sms),
		vigil.ChannelWebhook:           svc.WebhookChannel(notify.NewWebhookSender(notify.WebhookConfig{AllowPrivate: cfg.WebhookAllowPrivate})),
		service.ChannelOperatorWebhook: svc.OperatorWebhookChannel(notify.NewWebhookSender(notify.WebhookConfig{AllowPrivate: cfg.WebhookAllowPrivate})),
	}, nil, logger)
	proxies, _ := cfg.trustedProxies()
	api, err := httpapi.NewServer(httpapi.Config{
		TrustedProxies: proxies,
		HSTS:           strings.HasPrefix(cfg.PublicURL, "https://"),
		LogRequests:    cfg.LogRequests,
	}, httpapi.Deps{Service: svc, Ready: db.Ping, Logger: logger, Registry: reg})
	if err != nil {
		return err
	}

	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	srv := &http.Server{
		Handler:           api,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	go sweep(ctx, svc, logger)
	jobsDone := make(chan struct{})
	go func() { svc.RunJobs(ctx, 5*time.Second); close(jobsDone) }()
	defer func() { <-jobsDone }()
	workerDone := make(chan error, 1)
	go func() { workerDone <- worker.Run(ctx) }()
	defer func() { <-workerDone }()
	if cfg.DebugListen != "" {
		dbg, err := net.Listen("tcp", cfg.DebugListen)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", cfg.DebugListen, err)
		}
		dsrv := &http.Server{Handler: debugMux(), ReadHeaderTimeout: 5 * time.Second}
		defer dsrv.Close()
		go func() { _ = dsrv.Serve(dbg) }()
		logger.Info("profiles served", "addr", dbg.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	addr := ln.Addr().String()
	logger.Info("vigil listening", "addr", addr, "database", string(db.Dialect()), "version", version())
	fmt.Fprintf(stdout, "vigil listening on http://%s\n", addr)

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down", "timeout", cfg.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	logger.Info("stopped")
	return nil
}

// sweep removes expired sign-ups every few minutes until ctx ends.
func sweep(ctx context.Context, svc *service.Service, logger *slog.Logger) {
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
				logger.Warn("sweep failed", "err", err)
			}
		}
	}
}

func newMailSender(cfg Config) (mail.Sender, error) {
	if cfg.SMTPAddr != "" {
		sc := mail.SMTPConfig{
			Addr: cfg.SMTPAddr, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			StartTLS: cfg.SMTPStartTLS, ImplicitTLS: cfg.SMTPImplicitTLS,
		}
		if err := sc.Validate(); err != nil {
			return nil, &ConfigError{Setting: "smtp-addr", Problem: err.Error()}
		}
		return mail.NewSMTPSender(sc), nil
	}
	return mail.NewDirSender(cfg.MailDir)
}

func newLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(cfg.LogLevel)); err != nil {
		return nil, &ConfigError{Setting: "log-level", Problem: err.Error()}
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return slog.New(slog.NewJSONHandler(w, opts)), nil
}

// debugMux serves net/http/pprof, on its own listener so that profiles are
// never reachable through the API address.
func debugMux() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("/debug/pprof/", pprof.Index)
	m.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	m.HandleFunc("/debug/pprof/profile", pprof.Profile)
	m.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	m.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return m
}

// recoveryKey derives the key of recovery-code hashes from the secret key,
// apart from the sealing key that the key itself is.
func recoveryKey(k seal.Key) []byte {
	m := hmac.New(sha256.New, []byte(k.Reveal()))
	m.Write([]byte("vigil recovery codes v1"))
	return m.Sum(nil)
}
