package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/detect"
	"github.com/vigil-dev/vigil/notify"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
)

// Config is everything `vigil serve` can be told. DefaultConfig gives the
// embedded default: SQLite in the working directory, mail as files, loopback.
type Config struct {
	Listen          string
	Database        string
	MailDir         string
	PublicURL       string
	MailFrom        string
	SMTPAddr        string
	SMTPUsername    string
	SMTPPassword    string
	SMTPStartTLS    string
	SMTPImplicitTLS bool

	PasswordMinLength int
	Argon2Memory      uint // KiB
	Argon2Iterations  uint
	Argon2Parallelism uint

	SessionIdle     time.Duration
	SessionLifetime time.Duration
	LookupRate      float64 // lookups of other users per second, per caller
	LookupBurst     int
	RedisURL        string // Redis shared by every instance for rate limits; empty: in memory

	// Operators' alerts of security events, and the detectors' settings.
	AlertWebhookURL    string
	AlertWebhookSecret string
	AlertWebhookFormat string
	AlertMail          string // comma-separated addresses
	DetectConfig       string // JSON file overlaying detect.DefaultConfig
	RevocationRefresh  time.Duration

	DebugListen         string // loopback address for net/http/pprof; empty: off
	SMSDir              string
	SMSURL              string
	SMSAPIKey           string
	ResetTTL            time.Duration
	ResetsPerHour       int
	ReauthWindow        time.Duration
	WebhookAllowPrivate bool
	SecretKey           string // base64 32 bytes; empty: read or create SecretKeyFile
	SecretKeyFile       string
	TrustedProxies      string // comma-separated CIDRs
	LogLevel            string
	LogFormat           string
	LogRequests         bool
	ShutdownTimeout     time.Duration
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	svc := service.DefaultConfig()
	pp := password.DefaultParams()
	return Config{
		Listen:             "127.0.0.1:8080",
		Database:           "vigil.db",
		MailDir:            "vigil-mail",
		SMSDir:             "vigil-sms",
		ResetTTL:           svc.ResetTTL,
		ResetsPerHour:      svc.ResetsPerHour,
		ReauthWindow:       svc.ReauthWindow,
		PublicURL:          "http://127.0.0.1:8080",
		MailFrom:           svc.MailFrom,
		SMTPStartTLS:       "required",
		PasswordMinLength:  svc.PasswordPolicy.MinLength,
		Argon2Memory:       uint(pp.Memory),
		Argon2Iterations:   uint(pp.Iterations),
		Argon2Parallelism:  uint(pp.Parallelism),
		SessionIdle:        svc.SessionIdle,
		SessionLifetime:    svc.SessionLifetime,
		LookupRate:         svc.LookupLimit.Rate,
		LookupBurst:        svc.LookupLimit.Burst,
		AlertWebhookFormat: notify.FormatJSON,
		RevocationRefresh:  svc.RevocationRefresh,
		LogLevel:           "info",
		LogFormat:          "json",
		ShutdownTimeout:    15 * time.Second,
	}
}

// ConfigError says which setting is wrong and why.
type ConfigError struct {
	Setting string // the flag name
	Problem string
}

func (e *ConfigError) Error() string {
	return fmt.Sprintf("invalid --%s (%s): %s", e.Setting, envName(e.Setting), e.Problem)
}

// Validate checks the configuration and returns a *ConfigError for the
// first problem.
func (c *Config) Validate() error {
	bad := func(s, p string) error { return &ConfigError{Setting: s, Problem: p} }
	if c.Listen == "" {
		return bad("listen", "must be host:port")
	}
	if c.Database == "" {
		return bad("database", "must be a SQLite file path or a postgres:// URL")
	}
	u, err := url.Parse(c.PublicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return bad("public-url", "must be an absolute http(s) URL without query or fragment")
	}
	if c.SMTPAddr == "" && c.MailDir == "" {
		return bad("mail-dir", "set a mail directory or an SMTP server")
	}
	switch c.SMTPStartTLS {
	case "required", "opportunistic", "none":
	default:
		return bad("smtp-starttls", `must be "required", "opportunistic" or "none"`)
	}
	if c.PasswordMinLength < 8 || c.PasswordMinLength > 64 {
		return bad("password-min-length", "must be from 8 to 64")
	}
	if c.Argon2Memory < password.MinMemory || c.Argon2Memory > password.MaxMemory {
		return bad("argon2-memory", fmt.Sprintf("must be from %d to %d KiB", password.MinMemory, password.MaxMemory))
	}
	if c.Argon2Iterations < password.MinIterations || c.Argon2Iterations > password.MaxIterations {
		return bad("argon2-iterations", fmt.Sprintf("must be from %d to %d", password.MinIterations, password.MaxIterations))
	}
	if c.Argon2Parallelism < password.MinParallelism || c.Argon2Parallelism > password.MaxParallelism {
		return bad("argon2-parallelism", fmt.Sprintf("must be from %d to %d", password.MinParallelism, password.MaxParallelism))
	}
	if err := c.argon2Params().Validate(); err != nil {
		return bad("argon2-memory", err.Error())
	}
	if c.SessionIdle < time.Minute || c.SessionLifetime < c.SessionIdle {
		return bad("session-idle", "must be at least 1m and at most --session-lifetime")
	}
	if c.LookupBurst < 1 {
		return bad("lookup-burst", "must be at least 1")
	}
	if err := (ratelimit.Limit{Rate: c.LookupRate, Burst: c.LookupBurst}).Validate(); err != nil {
		return bad("lookup-rate", vigil.ErrorMessage(err))
	}
	if c.RedisURL != "" {
		client, err := ratelimit.ParseRedisURL(c.RedisURL) // connects to nothing
		if err != nil {
			return bad("redis-url", vigil.ErrorMessage(err))
		}
		client.Close()
	}
	if _, err := c.operatorAlerts(); err != nil {
		return err
	}
	if _, err := c.detectConfig(); err != nil {
		return err
	}
	if c.RevocationRefresh < 10*time.Millisecond || c.RevocationRefresh > time.Second {
		return bad("revocation-refresh", "must be from 10ms to 1s: it bounds how long another instance's revocation takes to apply here")
	}
	if c.SecretKey != "" {
		if _, err := seal.ParseKey(c.SecretKey); err != nil {
			return bad("secret-key", err.Error())
		}
	}
	if c.ResetTTL < time.Minute || c.ResetTTL > 24*time.Hour {
		return bad("reset-ttl", "must be from 1m to 24h")
	}
	if c.ResetsPerHour < 1 || c.ResetsPerHour > 100 {
		return bad("resets-per-hour", "must be from 1 to 100")
	}
	if c.ReauthWindow < time.Minute || c.ReauthWindow > 24*time.Hour {
		return bad("reauth-window", "must be from 1m to 24h")
	}
	if c.SMSURL != "" {
		if _, err := notify.NewHTTPSMS(notify.HTTPSMSConfig{URL: c.SMSURL, APIKey: c.SMSAPIKey}); err != nil {
			return bad("sms-url", vigil.ErrorMessage(err))
		}
	}
	if c.DebugListen != "" {
		host, _, err := net.SplitHostPort(c.DebugListen)
		ip, perr := netip.ParseAddr(host)
		if err != nil || perr != nil || !ip.IsLoopback() {
			return bad("debug-listen", "must be a loopback host:port such as 127.0.0.1:6060: profiles are not for the network")
		}
	}
	if _, err := c.trustedProxies(); err != nil {
		return bad("trusted-proxies", err.Error())
	}
	switch c.LogFormat {
	case "json", "text":
	default:
		return bad("log-format", `must be "json" or "text"`)
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return bad("log-level", "must be debug, info, warn or error")
	}
	return nil
}

func (c *Config) argon2Params() password.Params {
	p := password.DefaultParams()
	// Validate has checked each value's range, so the conversions are exact.
	p.Memory, p.Iterations, p.Parallelism = uint32(c.Argon2Memory), uint32(c.Argon2Iterations), uint8(c.Argon2Parallelism)
	return p
}

func (c *Config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range strings.Split(c.TrustedProxies, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a CIDR prefix", s)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// serveFlags binds every setting to a flag. Secret flags also accept a
// _FILE environment twin.
func serveFlags(fs *flag.FlagSet, c *Config) (secrets []string) {
	fs.StringVar(&c.Listen, "listen", c.Listen, "address to listen on (host:port)")
	fs.StringVar(&c.Database, "database", c.Database, "SQLite file path, or postgres:// URL")
	fs.StringVar(&c.MailDir, "mail-dir", c.MailDir, "directory where mail is written as .eml files (when no SMTP server is set)")
	fs.StringVar(&c.PublicURL, "public-url", c.PublicURL, "public base URL of the service, used in links in mail")
	fs.StringVar(&c.MailFrom, "mail-from", c.MailFrom, "From address of outgoing mail")
	fs.StringVar(&c.SMTPAddr, "smtp-addr", c.SMTPAddr, "SMTP server host:port; when set, mail goes there instead of --mail-dir")
	fs.StringVar(&c.SMTPUsername, "smtp-username", c.SMTPUsername, "SMTP AUTH user name")
	fs.StringVar(&c.SMTPPassword, "smtp-password", c.SMTPPassword, "SMTP AUTH password (prefer VIGIL_SMTP_PASSWORD_FILE)")
	fs.StringVar(&c.SMTPStartTLS, "smtp-starttls", c.SMTPStartTLS, `STARTTLS policy: "required", "opportunistic" or "none"`)
	fs.BoolVar(&c.SMTPImplicitTLS, "smtp-implicit-tls", c.SMTPImplicitTLS, "connect to the SMTP server with TLS from the start (port 465)")
	fs.IntVar(&c.PasswordMinLength, "password-min-length", c.PasswordMinLength, "minimum password length in characters (NIST SP 800-63B: 15 without MFA)")
	fs.UintVar(&c.Argon2Memory, "argon2-memory", c.Argon2Memory, "argon2id memory in KiB")
	fs.UintVar(&c.Argon2Iterations, "argon2-iterations", c.Argon2Iterations, "argon2id passes")
	fs.UintVar(&c.Argon2Parallelism, "argon2-parallelism", c.Argon2Parallelism, "argon2id lanes")
	fs.DurationVar(&c.SessionIdle, "session-idle", c.SessionIdle, "a session unused this long ends")
	fs.DurationVar(&c.SessionLifetime, "session-lifetime", c.SessionLifetime, "a session ends this long after sign-in")
	fs.Float64Var(&c.LookupRate, "lookup-rate", c.LookupRate, "user lookups of others per second allowed per caller, after the burst")
	fs.IntVar(&c.LookupBurst, "lookup-burst", c.LookupBurst, "user lookups of others a caller may make at once")
	fs.StringVar(&c.RedisURL, "redis-url", c.RedisURL, "redis:// (or rediss://) URL of a Redis that every instance shares for rate limits; empty: each instance keeps its own limits in memory (prefer VIGIL_REDIS_URL_FILE when the URL holds a password)")
	fs.StringVar(&c.SecretKey, "secret-key", c.SecretKey, "the server's secret key (32 bytes, base64): seals 2FA secrets and keys recovery-code hashes; every instance needs the same (prefer VIGIL_SECRET_KEY_FILE)")
	fs.StringVar(&c.SecretKeyFile, "secret-key-file", c.SecretKeyFile, "file holding the secret key when --secret-key is not given; created with a new key (mode 0600) if missing (default: vigil.key beside the SQLite database, or in the working directory)")
	fs.StringVar(&c.SMSDir, "sms-dir", c.SMSDir, "directory where SMS are written as .json files (when no --sms-url is set)")
	fs.StringVar(&c.SMSURL, "sms-url", c.SMSURL, "HTTP SMS provider endpoint (https); when set, SMS go there instead of --sms-dir")
	fs.StringVar(&c.SMSAPIKey, "sms-api-key", c.SMSAPIKey, "bearer key of the SMS provider (prefer VIGIL_SMS_API_KEY_FILE)")
	fs.DurationVar(&c.ResetTTL, "reset-ttl", c.ResetTTL, "how long a password-reset link works")
	fs.IntVar(&c.ResetsPerHour, "resets-per-hour", c.ResetsPerHour, "password-reset mails per account per hour")
	fs.DurationVar(&c.ReauthWindow, "reauth-window", c.ReauthWindow, "how recent a password proof sensitive actions need")
	fs.BoolVar(&c.WebhookAllowPrivate, "webhook-allow-private", c.WebhookAllowPrivate, "let user webhooks reach loopback and private addresses over plain http (development only: otherwise a server-side request forgery)")
	fs.StringVar(&c.DebugListen, "debug-listen", c.DebugListen, "loopback address (host:port) serving Go profiles at /debug/pprof/; empty: off")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated CIDRs of proxies whose X-Forwarded-For is believed")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, `"json" or "text"`)
	fs.BoolVar(&c.LogRequests, "log-requests", c.LogRequests, "log every request at info level")
	fs.DurationVar(&c.ShutdownTimeout, "shutdown-timeout", c.ShutdownTimeout, "how long to wait for requests in flight on SIGTERM")
	fs.StringVar(&c.AlertWebhookURL, "alert-webhook-url", c.AlertWebhookURL, "https URL that receives security events for the operators (a Slack incoming webhook with --alert-webhook-format slack); prefer VIGIL_ALERT_WEBHOOK_URL_FILE")
	fs.StringVar(&c.AlertWebhookSecret, "alert-webhook-secret", c.AlertWebhookSecret, "HMAC key (at least 16 bytes) signing the operators' webhook deliveries (Vigil-Signature); prefer VIGIL_ALERT_WEBHOOK_SECRET_FILE")
	fs.StringVar(&c.AlertWebhookFormat, "alert-webhook-format", c.AlertWebhookFormat, `"json" or "slack"`)
	fs.StringVar(&c.AlertMail, "alert-mail", c.AlertMail, "comma-separated addresses mailed each security event")
	fs.StringVar(&c.DetectConfig, "detect-config", c.DetectConfig, "JSON file with breach-detector thresholds and windows, overlaying the defaults (see detect.Config)")
	fs.DurationVar(&c.RevocationRefresh, "revocation-refresh", c.RevocationRefresh, "how stale this instance's copy of the revocations may get: a revocation made on another instance applies here within it")
	return []string{"smtp-password", "sms-api-key", "redis-url", "alert-webhook-url", "alert-webhook-secret"}
}

// envName returns the environment twin of a flag: listen -> VIGIL_LISTEN.
func envName(flagName string) string {
	return "VIGIL_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// parseFlags parses args, then fills every flag not given on the command
// line from its environment twin (and secrets from NAME_FILE). Flag usage
// texts are extended with their twin, so --help documents both.
func parseFlags(fs *flag.FlagSet, args []string, getenv func(string) string, secrets []string) error {
	isSecret := map[string]bool{}
	for _, s := range secrets {
		isSecret[s] = true
	}
	fs.VisitAll(func(f *flag.Flag) {
		f.Usage += " (env " + envName(f.Name)
		if isSecret[f.Name] {
			f.Usage += ", or " + envName(f.Name) + "_FILE"
		}
		f.Usage += ")"
	})
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if given[f.Name] {
			return
		}
		name := envName(f.Name)
		v, ok := getenv(name), getenv(name) != ""
		if !ok && isSecret[f.Name] {
			if path := getenv(name + "_FILE"); path != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					errs = append(errs, fmt.Errorf("%s_FILE: %w", name, err))
					return
				}
				v, ok = strings.TrimRight(string(b), "\r\n"), true
			}
		}
		if !ok {
			return
		}
		if err := f.Value.Set(v); err != nil {
			errs = append(errs, &ConfigError{Setting: f.Name, Problem: fmt.Sprintf("bad value from environment: %v", err)})
		}
	})
	return errors.Join(errs...)
}

// defaultSecretKeyFile sets SecretKeyFile, if empty, to vigil.key beside
// the SQLite database, or in the working directory.
func (c *Config) defaultSecretKeyFile() {
	if c.SecretKeyFile == "" {
		c.SecretKeyFile = "vigil.key"
		if !strings.Contains(c.Database, "://") {
			c.SecretKeyFile = filepath.Join(filepath.Dir(c.Database), "vigil.key")
		}
	}
}

// secretKey returns the configured key, or the one in SecretKeyFile,
// creating that file with a new key if it does not exist.
func (c *Config) secretKey() (seal.Key, bool, error) {
	if c.SecretKey != "" {
		k, err := seal.ParseKey(c.SecretKey)
		return k, false, err
	}
	c.defaultSecretKeyFile()
	b, err := os.ReadFile(c.SecretKeyFile)
	if err == nil {
		k, err := seal.ParseKey(strings.TrimSpace(string(b)))
		if err != nil {
			return seal.Key{}, false, &ConfigError{Setting: "secret-key-file", Problem: err.Error()}
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return seal.Key{}, false, &ConfigError{Setting: "secret-key-file", Problem: err.Error()}
	}
	k := seal.GenerateKey()
	f, err := os.OpenFile(c.SecretKeyFile, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return seal.Key{}, false, &ConfigError{Setting: "secret-key-file", Problem: err.Error()}
	}
	if _, err := f.WriteString(k.Reveal() + "\n"); err != nil {
		f.Close()
		return seal.Key{}, false, err
	}
	return k, true, f.Close()
}

// operatorAlerts builds where security events go from the alert settings.
func (c *Config) operatorAlerts() (service.OperatorAlerts, error) {
	var a service.OperatorAlerts
	for _, m := range strings.Split(c.AlertMail, ",") {
		if m = strings.TrimSpace(m); m == "" {
			continue
		}
		addr, err := service.NormalizeEmail(m)
		if err != nil {
			return a, &ConfigError{Setting: "alert-mail", Problem: fmt.Sprintf("%q is not an email address", m)}
		}
		a.Mail = append(a.Mail, addr)
	}
	if c.AlertWebhookFormat != notify.FormatJSON && c.AlertWebhookFormat != notify.FormatSlack {
		return a, &ConfigError{Setting: "alert-webhook-format", Problem: `must be "json" or "slack"`}
	}
	if c.AlertWebhookURL == "" {
		if c.AlertWebhookSecret != "" {
			return a, &ConfigError{Setting: "alert-webhook-secret", Problem: "is set but --alert-webhook-url is not"}
		}
		return a, nil
	}
	a.Webhook = notify.Webhook{URL: c.AlertWebhookURL, Secret: notify.WebhookSecret(c.AlertWebhookSecret), Format: c.AlertWebhookFormat}
	if err := a.Webhook.Validate(c.WebhookAllowPrivate); err != nil {
		return a, &ConfigError{Setting: "alert-webhook-url", Problem: vigil.ErrorMessage(err)}
	}
	return a, nil
}

// detectConfig reads --detect-config over the detectors' defaults. Unknown
// fields are refused, so a misspelt threshold does not silently stay at
// its default.
func (c *Config) detectConfig() (detect.Config, error) {
	d := detect.DefaultConfig()
	if c.DetectConfig == "" {
		return d, nil
	}
	b, err := os.ReadFile(c.DetectConfig)
	if err != nil {
		return d, &ConfigError{Setting: "detect-config", Problem: err.Error()}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&d); err != nil {
		return d, &ConfigError{Setting: "detect-config", Problem: "not a detector configuration: " + err.Error()}
	}
	if err := d.Validate(); err != nil {
		return d, &ConfigError{Setting: "detect-config", Problem: vigil.ErrorMessage(err)}
	}
	return d, nil
}
