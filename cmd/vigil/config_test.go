package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseServe parses serve's flags and environment the way runServe does and
// validates the result, without starting anything.
func parseServe(args []string, getenv func(string) string) (Config, *flag.FlagSet, error) {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	secrets := serveFlags(fs, &cfg)
	if err := parseFlags(fs, args, getenv, secrets); err != nil {
		return cfg, fs, err
	}
	return cfg, fs, cfg.Validate()
}

// twinSamples holds, for every serve flag, two valid values that differ from
// the default and from each other, written as flag.Value.String prints them:
// one for the environment twin, one for the command line.
var twinSamples = map[string][2]string{
	"listen":                {"127.0.0.1:9001", "127.0.0.1:9002"},
	"database":              {"/tmp/env.db", "/tmp/flag.db"},
	"mail-dir":              {"/tmp/env-mail", "/tmp/flag-mail"},
	"public-url":            {"https://env.example.com", "https://flag.example.com"},
	"mail-from":             {"env <env@example.com>", "flag <flag@example.com>"},
	"smtp-addr":             {"smtp.env.example:587", "smtp.flag.example:587"},
	"smtp-username":         {"env-user", "flag-user"},
	"smtp-password":         {"env-secret", "flag-secret"},
	"secret-key":            {"c1Jkmdfw0gi7h3jUOYdkw7C6bNwIZuqf4Yp4XIFJn7c=", "rtzLMTdbMQZwn2Qz4DY8taTCWlQKFvR5MBiilDLzKU0="},
	"secret-key-file":       {"/tmp/env.key", "/tmp/flag.key"},
	"smtp-starttls":         {"opportunistic", "none"},
	"smtp-implicit-tls":     {"true", "false"},
	"password-min-length":   {"12", "20"},
	"argon2-memory":         {"32768", "16384"},
	"argon2-iterations":     {"3", "4"},
	"argon2-parallelism":    {"1", "4"},
	"session-idle":          {"2h0m0s", "3h0m0s"},
	"session-lifetime":      {"72h0m0s", "96h0m0s"},
	"lookup-rate":           {"5", "7.5"},
	"lookup-burst":          {"10", "20"},
	"redis-url":             {"redis://:env-secret@redis.env.example:6379/0", "rediss://flag.example:6380/1"},
	"debug-listen":          {"127.0.0.1:6061", "[::1]:6062"},
	"sms-dir":               {"/tmp/env-sms", "/tmp/flag-sms"},
	"sms-url":               {"https://sms.env.example/send", "https://sms.flag.example/send"},
	"sms-api-key":           {"env-key", "flag-key"},
	"reset-ttl":             {"20m0s", "45m0s"},
	"resets-per-hour":       {"2", "5"},
	"reauth-window":         {"5m0s", "15m0s"},
	"webhook-allow-private": {"true", "false"},
	"trusted-proxies":       {"10.0.0.0/8", "192.168.0.0/16,172.16.0.0/12"},
	"log-level":             {"debug", "warn"},
	"log-format":            {"text", "json"},
	"log-requests":          {"true", "false"},
	"shutdown-timeout":      {"5s", "20s"},
	"alert-webhook-url":     {"https://hooks.env.example/T1/B1/x", "https://hooks.flag.example/T2/B2/y"},
	"alert-webhook-secret":  {"env-secret-0123456789", "flag-secret-0123456789"},
	"alert-webhook-format":  {"slack", "JSON"}, // parsed only here; Validate wants json or slack
	"alert-mail":            {"soc@env.example", "soc@flag.example,oncall@flag.example"},
	"detect-config":         {"/tmp/env-detect.json", "/tmp/flag-detect.json"},
	"revocation-refresh":    {"250ms", "750ms"},
}

// TestServeEnvTwins walks every serve flag: its VIGIL_ twin applies when the
// flag is absent, and the flag wins when both are set.
func TestServeEnvTwins(t *testing.T) {
	t.Parallel()
	_, fs, err := parseServe(nil, noEnv)
	if err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if _, ok := twinSamples[f.Name]; !ok {
			t.Errorf("flag --%s has no sample values in twinSamples: add them", f.Name)
		}
	})
	envOnly, both := map[string]string{}, map[string]string{}
	var flagArgs []string
	for name, v := range twinSamples {
		if fs.Lookup(name) == nil {
			t.Errorf("twinSamples names --%s, which serve does not have", name)
			continue
		}
		if v[0] == fs.Lookup(name).DefValue || v[0] == v[1] {
			t.Errorf("samples for --%s must differ from the default and each other", name)
		}
		envOnly[envName(name)] = v[0]
		both[envName(name)] = v[0]
		flagArgs = append(flagArgs, "--"+name+"="+v[1])
	}

	// Parse only (no Validate): SMTP settings and mail-dir together are
	// fine here.
	parse := func(args []string, env map[string]string) *flag.FlagSet {
		t.Helper()
		cfg := DefaultConfig()
		fs := flag.NewFlagSet("vigil serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		if err := parseFlags(fs, args, envMap(env), serveFlags(fs, &cfg)); err != nil {
			t.Fatal(err)
		}
		return fs
	}
	got := parse(nil, envOnly)
	for name, v := range twinSamples {
		if f := got.Lookup(name); f != nil && f.Value.String() != v[0] {
			t.Errorf("%s=%q: --%s = %q, want the environment's value", envName(name), v[0], name, f.Value.String())
		}
	}
	got = parse(flagArgs, both)
	for name, v := range twinSamples {
		if f := got.Lookup(name); f != nil && f.Value.String() != v[1] {
			t.Errorf("--%s=%q and %s=%q: got %q, want the flag's value", name, v[1], envName(name), v[0], f.Value.String())
		}
	}

	// The values reach Config, and a whole configuration from the
	// environment validates.
	cfg, _, err := parseServe(nil, envMap(map[string]string{
		"VIGIL_LISTEN": "127.0.0.1:9100", "VIGIL_LOOKUP_RATE": "2.5", "VIGIL_SESSION_IDLE": "90m",
		"VIGIL_LOG_REQUESTS": "true", "VIGIL_ARGON2_MEMORY": "19456",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != "127.0.0.1:9100" || cfg.LookupRate != 2.5 || cfg.SessionIdle.Minutes() != 90 || !cfg.LogRequests || cfg.Argon2Memory != 19456 {
		t.Errorf("Config from environment = %+v", cfg)
	}
}

// TestServeEnvTwinsThroughRun starts the real program configured from the
// environment only, except for one bad environment value that a flag
// overrides.
func TestServeEnvTwinsThroughRun(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	env := map[string]string{
		"VIGIL_LISTEN":             "127.0.0.1:0",
		"VIGIL_DATABASE":           filepath.Join(dir, "from-env.db"),
		"VIGIL_MAIL_DIR":           filepath.Join(dir, "from-env-mail"),
		"VIGIL_ARGON2_MEMORY":      "64",
		"VIGIL_ARGON2_ITERATIONS":  "1",
		"VIGIL_ARGON2_PARALLELISM": "1",
		"VIGIL_LOG_FORMAT":         "not-a-format", // the flag below wins
	}
	s := &testServer{Stderr: &logBuffer{}, done: make(chan error, 1)}
	s.start(t, envMap(env), []string{"serve", "--log-format", "text"})
	s.MailDir = env["VIGIL_MAIL_DIR"]
	s.signup(t, "greta") // mail lands in VIGIL_MAIL_DIR
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env["VIGIL_DATABASE"]); err != nil {
		t.Errorf("database not at VIGIL_DATABASE: %v", err)
	}
	if logs := s.Stderr.String(); !strings.Contains(logs, "msg=\"vigil listening\"") {
		t.Errorf("--log-format text did not override VIGIL_LOG_FORMAT; log:\n%s", logs)
	}
}

func TestSMTPPasswordFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "smtp-password")
	if err := os.WriteFile(file, []byte("from-the-file\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"file", nil, map[string]string{"VIGIL_SMTP_PASSWORD_FILE": file}, "from-the-file"},
		{"variable beats file", nil, map[string]string{"VIGIL_SMTP_PASSWORD_FILE": file, "VIGIL_SMTP_PASSWORD": "from-env"}, "from-env"},
		{"flag beats file", []string{"--smtp-password", "from-flag"}, map[string]string{"VIGIL_SMTP_PASSWORD_FILE": file}, "from-flag"},
		{"_FILE only for secrets", nil, map[string]string{"VIGIL_SMTP_USERNAME_FILE": file}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, err := parseServe(tc.args, envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SMTPPassword != tc.want {
				t.Errorf("SMTPPassword = %q, want %q", cfg.SMTPPassword, tc.want)
			}
			if cfg.SMTPUsername != "" {
				t.Errorf("SMTPUsername = %q, want it untouched", cfg.SMTPUsername)
			}
		})
	}
	_, _, err := parseServe(nil, envMap(map[string]string{"VIGIL_SMTP_PASSWORD_FILE": filepath.Join(dir, "missing")}))
	if err == nil || !strings.Contains(err.Error(), "VIGIL_SMTP_PASSWORD_FILE") {
		t.Errorf("missing password file: err = %v, want one naming VIGIL_SMTP_PASSWORD_FILE", err)
	}
	if err != nil && strings.Contains(err.Error(), "from-the-file") {
		t.Errorf("error shows a secret: %v", err)
	}
}

// TestServeInvalidSettings runs the real program with each bad value and
// expects a *ConfigError naming the setting, before anything starts. The
// context is already cancelled, so a value wrongly accepted makes run
// return at once instead of serving.
func TestServeInvalidSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // the setting the error must name
	}{
		{name: "listen empty", args: []string{"--listen", ""}, want: "listen"},
		{name: "database empty", args: []string{"--database", ""}, want: "database"},
		{name: "public-url scheme", args: []string{"--public-url", "ftp://example.com"}, want: "public-url"},
		{name: "public-url relative", args: []string{"--public-url", "example.com/vigil"}, want: "public-url"},
		{name: "public-url query", args: []string{"--public-url", "https://example.com/?a=b"}, want: "public-url"},
		{name: "public-url no host", args: []string{"--public-url", "https://"}, want: "public-url"},
		{name: "no mail at all", args: []string{"--mail-dir", ""}, want: "mail-dir"},
		{name: "smtp-starttls", args: []string{"--smtp-starttls", "sometimes"}, want: "smtp-starttls"},
		{name: "password-min-length low", args: []string{"--password-min-length", "7"}, want: "password-min-length"},
		{name: "password-min-length high", args: []string{"--password-min-length", "65"}, want: "password-min-length"},
		{name: "password-min-length from env", env: map[string]string{"VIGIL_PASSWORD_MIN_LENGTH": "many"}, want: "password-min-length"},
		{name: "argon2-memory low", args: []string{"--argon2-memory", "7"}, want: "argon2-memory"},
		{name: "argon2-memory high", args: []string{"--argon2-memory", "4194305"}, want: "argon2-memory"},
		{name: "argon2-memory per lane", args: []string{"--argon2-memory", "64", "--argon2-parallelism", "16"}, want: "argon2-memory"},
		{name: "argon2-iterations zero", args: []string{"--argon2-iterations", "0"}, want: "argon2-iterations"},
		{name: "argon2-iterations high", args: []string{"--argon2-iterations", "65"}, want: "argon2-iterations"},
		{name: "argon2-parallelism zero", args: []string{"--argon2-parallelism", "0"}, want: "argon2-parallelism"},
		{name: "argon2-parallelism over 255", args: []string{"--argon2-parallelism", "300"}, want: "argon2-parallelism"},
		{name: "session-idle short", args: []string{"--session-idle", "30s"}, want: "session-idle"},
		{name: "session-idle above lifetime", args: []string{"--session-idle", "2h", "--session-lifetime", "1h"}, want: "session-idle"},
		{name: "lookup-rate zero", args: []string{"--lookup-rate", "0"}, want: "lookup-rate"},
		{name: "lookup-rate negative", args: []string{"--lookup-rate", "-1"}, want: "lookup-rate"},
		{name: "lookup-rate NaN", args: []string{"--lookup-rate", "NaN"}, want: "lookup-rate"},
		{name: "lookup-rate infinite", args: []string{"--lookup-rate", "+Inf"}, want: "lookup-rate"},
		{name: "lookup-rate above 1e9", args: []string{"--lookup-rate", "2e9"}, want: "lookup-rate"},
		{name: "lookup-burst zero", args: []string{"--lookup-burst", "0"}, want: "lookup-burst"},
		{name: "redis-url scheme", args: []string{"--redis-url", "http://localhost:6379"}, want: "redis-url"},
		{name: "redis-url database", args: []string{"--redis-url", "redis://localhost:6379/zero"}, want: "redis-url"},
		{name: "redis-url option", env: map[string]string{"VIGIL_REDIS_URL": "redis://localhost/0?dial_timeout=soon"}, want: "redis-url"},
		{name: "trusted-proxies bits", args: []string{"--trusted-proxies", "10.0.0.0/33"}, want: "trusted-proxies"},
		{name: "trusted-proxies bare address", args: []string{"--trusted-proxies", "127.0.0.1"}, want: "trusted-proxies"},
		{name: "trusted-proxies second", args: []string{"--trusted-proxies", "10.0.0.0/8, nonsense"}, want: "trusted-proxies"},
		{name: "log-format", args: []string{"--log-format", "xml"}, want: "log-format"},
		{name: "log-format from env", env: map[string]string{"VIGIL_LOG_FORMAT": "xml"}, want: "log-format"},
		{name: "log-level", args: []string{"--log-level", "trace"}, want: "log-level"},
		{name: "debug-listen not loopback", args: []string{"--debug-listen", "0.0.0.0:6060"}, want: "debug-listen"},
		{name: "reset-ttl short", args: []string{"--reset-ttl", "10s"}, want: "reset-ttl"},
		{name: "resets-per-hour zero", args: []string{"--resets-per-hour", "0"}, want: "resets-per-hour"},
		{name: "reauth-window zero", args: []string{"--reauth-window", "0s"}, want: "reauth-window"},
		{name: "sms-url plain http", args: []string{"--sms-url", "http://sms.example.com/send", "--sms-api-key", "k"}, want: "sms-url"},
		{name: "sms-url without key", args: []string{"--sms-url", "https://sms.example.com/send"}, want: "sms-url"},
		{name: "alert-webhook-url plain http", args: []string{"--alert-webhook-url", "http://hooks.example.com/x", "--alert-webhook-secret", "0123456789abcdef0"}, want: "alert-webhook-url"},
		{name: "alert-webhook-url without secret", args: []string{"--alert-webhook-url", "https://hooks.example.com/x"}, want: "alert-webhook-url"},
		{name: "alert-webhook-format", args: []string{"--alert-webhook-url", "https://hooks.example.com/x", "--alert-webhook-secret", "0123456789abcdef0", "--alert-webhook-format", "teams"}, want: "alert-webhook-format"},
		{name: "alert-webhook-secret alone", args: []string{"--alert-webhook-secret", "0123456789abcdef0"}, want: "alert-webhook-secret"},
		{name: "alert-mail", args: []string{"--alert-mail", "soc@example.com, not-an-address"}, want: "alert-mail"},
		{name: "detect-config missing", args: []string{"--detect-config", "/nonexistent/detect.json"}, want: "detect-config"},
		{name: "detect-config unknown field", args: []string{"--detect-config", writeTemp(t, `{"Enumeration":{"Treshold":5}}`)}, want: "detect-config"},
		{name: "detect-config invalid", args: []string{"--detect-config", writeTemp(t, `{"Enumeration":{"DistinctTargets":0}}`)}, want: "detect-config"},
		{name: "revocation-refresh long", args: []string{"--revocation-refresh", "5s"}, want: "revocation-refresh"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--database", filepath.Join(dir, "v.db"),
				"--mail-dir", filepath.Join(dir, "mail")}, cheapArgon2...)
			var stdout, stderr bytes.Buffer
			err := run(ctx, append(args, tc.args...), envMap(tc.env), &stdout, &stderr)
			var ce *ConfigError
			isCE := errors.As(err, &ce)
			if isCE && ce.Setting == tc.want {
				if msg := err.Error(); !strings.Contains(msg, "--"+tc.want) || !strings.Contains(msg, envName(tc.want)) {
					t.Errorf("error %q does not name --%s and %s", msg, tc.want, envName(tc.want))
				}
				if stdout.Len() > 0 {
					t.Errorf("printed %q before refusing the configuration", stdout.String())
				}
				return
			}
			t.Errorf("run = %v (%T), want a *ConfigError for setting %q", err, err, tc.want)
		})
	}
}

// TestHelpListsEveryFlag checks that --help prints every flag with its
// environment twin, and returns flag.ErrHelp.
func TestHelpListsEveryFlag(t *testing.T) {
	t.Parallel()
	for _, cmd := range []struct {
		name    string
		flags   func(*flag.FlagSet)
		secrets []string
	}{
		{"serve", func(fs *flag.FlagSet) { c := DefaultConfig(); serveFlags(fs, &c) }, []string{"smtp-password", "redis-url"}},
		{"bench", func(fs *flag.FlagSet) { c := defaultBenchConfig(); benchFlags(fs, &c) }, nil},
	} {
		t.Run(cmd.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), []string{cmd.name, "--help"}, noEnv, &stdout, &stderr)
			if !errors.Is(err, flag.ErrHelp) {
				t.Fatalf("%s --help: err = %v, want flag.ErrHelp", cmd.name, err)
			}
			help := stderr.String()
			blocks := flagBlocks(help)
			fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
			cmd.flags(fs)
			n := 0
			fs.VisitAll(func(f *flag.Flag) {
				n++
				b, ok := blocks[f.Name]
				if !ok {
					t.Errorf("%s --help does not list --%s", cmd.name, f.Name)
					return
				}
				if !strings.Contains(b, "(env "+envName(f.Name)) {
					t.Errorf("%s --help: --%s does not name %s: %q", cmd.name, f.Name, envName(f.Name), b)
				}
			})
			for _, s := range cmd.secrets {
				if !strings.Contains(blocks[s], envName(s)+"_FILE") {
					t.Errorf("%s --help: --%s does not name %s_FILE", cmd.name, s, envName(s))
				}
			}
			if len(blocks) != n {
				t.Errorf("%s --help lists %d flags, the FlagSet has %d", cmd.name, len(blocks), n)
			}
		})
	}
}

// flagBlocks splits flag.PrintDefaults output into each flag's text, by
// name.
func flagBlocks(help string) map[string]string {
	out := map[string]string{}
	cur := ""
	for _, line := range strings.Split(help, "\n") {
		if rest, ok := strings.CutPrefix(line, "  -"); ok {
			cur, _, _ = strings.Cut(rest, " ")
			out[cur] = line
			continue
		}
		if cur != "" && strings.HasPrefix(line, "    \t") {
			out[cur] += "\n" + line
		}
	}
	return out
}

// writeTemp writes content to a new file and returns its path.
func writeTemp(t *testing.T, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "f.json")
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// A detector configuration file overlays the defaults.
func TestDetectConfigFile(t *testing.T) {
	t.Parallel()
	p := writeTemp(t, `{"Enumeration":{"DistinctTargets":42},"Penalty":1800000000000}`)
	cfg, _, err := parseServe([]string{"--detect-config", p}, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	d, err := cfg.detectConfig()
	if err != nil {
		t.Fatal(err)
	}
	if d.Enumeration.DistinctTargets != 42 || d.Penalty.Minutes() != 30 || d.Stuffing.SourceAccounts == 0 {
		t.Fatalf("detect config = %+v", d)
	}
}
