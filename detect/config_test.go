package detect

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/vigil-dev/vigil"
)

func TestDefaultConfigIsValid(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		field  string // expected in the message
		change func(*Config)
	}{
		{"Enumeration.Window", func(c *Config) { c.Enumeration.Window = 0 }},
		{"Enumeration.Window", func(c *Config) { c.Enumeration.Window = time.Millisecond }},
		{"Enumeration.Window", func(c *Config) { c.Enumeration.Window = 31 * 24 * time.Hour }},
		{"Enumeration.DistinctTargets", func(c *Config) { c.Enumeration.DistinctTargets = 0 }},
		{"Enumeration.DistinctTargets", func(c *Config) { c.Enumeration.DistinctTargets = MaxDistinct + 1 }},
		{"Enumeration.NotFoundPercent", func(c *Config) { c.Enumeration.NotFoundPercent = 101 }},
		{"Enumeration.NotFoundPercent", func(c *Config) { c.Enumeration.NotFoundPercent = 0 }},
		{"Enumeration.MinLookups", func(c *Config) { c.Enumeration.MinLookups = -1 }},
		{"Enumeration.SequentialPairs", func(c *Config) { c.Enumeration.SequentialPairs = 0 }},
		{"Enumeration.Lookback", func(c *Config) { c.Enumeration.Lookback = MaxLookback + 1 }},
		{"Stuffing.Window", func(c *Config) { c.Stuffing.Window = -time.Minute }},
		{"Stuffing.SourceAccounts", func(c *Config) { c.Stuffing.SourceAccounts = 0 }},
		{"Stuffing.NetworkAccounts", func(c *Config) { c.Stuffing.NetworkAccounts = math.MaxInt }},
		{"Stuffing.SprayWindow", func(c *Config) { c.Stuffing.SprayWindow = 0 }},
		{"Stuffing.SprayAccounts", func(c *Config) { c.Stuffing.SprayAccounts = 0 }},
		{"Reset.AccountWindow", func(c *Config) { c.Reset.AccountWindow = 0 }},
		{"Reset.AccountResets", func(c *Config) { c.Reset.AccountResets = 0 }},
		{"Reset.SourceAccounts", func(c *Config) { c.Reset.SourceAccounts = 0 }},
		{"Reset.Window", func(c *Config) { c.Reset.Window = 999 * time.Millisecond }},
		{"Reset.MinTotal", func(c *Config) { c.Reset.MinTotal = 0 }},
		{"Reset.Factor", func(c *Config) { c.Reset.Factor = 0.5 }},
		{"Reset.Factor", func(c *Config) { c.Reset.Factor = math.NaN() }},
		{"Reset.Factor", func(c *Config) { c.Reset.Factor = math.Inf(1) }},
		{"Reset.Alpha", func(c *Config) { c.Reset.Alpha = 0 }},
		{"Reset.Alpha", func(c *Config) { c.Reset.Alpha = 1.5 }},
		{"Reset.Alpha", func(c *Config) { c.Reset.Alpha = math.NaN() }},
		{"Reset.Warmup", func(c *Config) { c.Reset.Warmup = -1 }},
		{"Reset.Warmup", func(c *Config) { c.Reset.Warmup = MaxWarmup + 1 }},
		{"Revoked.Window", func(c *Config) { c.Revoked.Window = 0 }},
		{"Revoked.SourceRejections", func(c *Config) { c.Revoked.SourceRejections = 0 }},
		{"Cooldown", func(c *Config) { c.Cooldown = -1 }},
		{"Cooldown", func(c *Config) { c.Cooldown = time.Millisecond }},
		{"Penalty", func(c *Config) { c.Penalty = -time.Second }},
		{"Penalty", func(c *Config) { c.Penalty = MaxWindow + 1 }},
		{"MaxKeys", func(c *Config) { c.MaxKeys = 0 }},
		{"MaxKeys", func(c *Config) { c.MaxKeys = MaxMaxKeys + 1 }},
	}
	for _, tt := range tests {
		cfg := DefaultConfig()
		tt.change(&cfg)
		err := cfg.Validate()
		if vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%s: Validate() = %v, want EINVALID", tt.field, err)
			continue
		}
		if msg := vigil.ErrorMessage(err); !strings.Contains(msg, "Config."+tt.field+" ") {
			t.Errorf("%s: message %q does not name the field", tt.field, msg)
		}
		if d, err := New(cfg, nil, nil); d != nil || vigil.ErrorCode(err) != vigil.EINVALID {
			t.Errorf("%s: New = %v, %v; want nil, EINVALID", tt.field, d, err)
		}
	}

	// The edges of each range are accepted.
	cfg := DefaultConfig()
	cfg.Enumeration.Window = MinWindow
	cfg.Stuffing.SprayWindow = MaxWindow
	cfg.Enumeration.NotFoundPercent = 100
	cfg.Enumeration.Lookback = 1
	cfg.Reset.Factor = 1
	cfg.Reset.Alpha = 1
	cfg.Reset.Warmup = 0
	cfg.Cooldown = MinWindow
	cfg.Penalty = 0
	cfg.MaxKeys = 1
	if err := cfg.Validate(); err != nil {
		t.Errorf("edges refused: %v", err)
	}
	if _, err := New(cfg, nil, nil); err != nil {
		t.Errorf("New with edges: %v", err)
	}
}
