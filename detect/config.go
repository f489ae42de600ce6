package detect

import (
	"fmt"
	"math"
	"time"

	"github.com/vigil-dev/vigil"
)

// Bounds that Validate enforces.
const (
	// MinWindow and MaxWindow bound every window, cooldown and penalty. A
	// window shorter than a second is a unit mistake, and one longer than
	// thirty days is better served by offline analysis of stored events.
	MinWindow = time.Second
	MaxWindow = 30 * 24 * time.Hour
	// MaxDistinct bounds the thresholds of distinct counts: a key keeps up
	// to threshold+1 members, so it also bounds the memory a key can take.
	MaxDistinct = 10_000
	// MaxCount bounds the thresholds of plain counts.
	MaxCount = 1_000_000
	// MaxMaxKeys bounds Config.MaxKeys.
	MaxMaxKeys = 1 << 24
	// MaxLookback bounds EnumerationConfig.Lookback.
	MaxLookback = 8
	// MaxWarmup bounds ResetConfig.Warmup.
	MaxWarmup = 1000
)

// Config holds every threshold and window. Counts are numbers of events or
// of distinct members; windows are sliding (see the package doc). The zero
// Config is invalid: start from DefaultConfig.
type Config struct {
	Enumeration EnumerationConfig
	Stuffing    StuffingConfig
	Reset       ResetConfig
	Revoked     RevokedConfig

	// Cooldown is the least time between two events of the same rule about
	// the same key. 0 means each rule's own window, so that a continuing
	// attack is reported once per window: each event then stands for a
	// fresh window's worth of evidence. Otherwise MinWindow to MaxWindow.
	// (A key evicted from a full table forgets its cooldown with its
	// counts, and fires again only once it reaches the threshold anew.)
	Cooldown time.Duration
	// Penalty is how long Tightened reports a key after an event about it:
	// 0 (never) or MinWindow to MaxWindow. Each event restarts it.
	Penalty time.Duration
	// MaxKeys caps the keys each table tracks (callers, failing sources,
	// failing networks, passwords, reset accounts, reset sources, rejecting
	// sources, penalties), 1 to MaxMaxKeys, rounded up to a multiple of 64
	// and enforced per shard (a 64th each), so a table may start evicting
	// a little before it holds MaxKeys keys. It should exceed the number of
	// keys active within a window; when it
	// does not, the least recently used keys with the least evidence are
	// forgotten (see the package doc).
	MaxKeys int
}

// EnumerationConfig configures the rules fed by Lookup, all over one window.
type EnumerationConfig struct {
	// Window is the sliding window of every enumeration rule.
	Window time.Duration
	// DistinctTargets fires RuleDistinctTargets: distinct targets one caller
	// looked up in the window, 1 to MaxDistinct.
	DistinctTargets int
	// NotFoundPercent and MinLookups fire RuleNotFoundRatio: the percentage
	// of a caller's lookups in the window that found nothing (1 to 100),
	// once it made at least MinLookups (1 to MaxCount).
	NotFoundPercent int
	MinLookups      int
	// SequentialPairs fires RuleSequential: lookups in the window of a
	// target near one of the caller's Lookback previous distinct targets
	// (1 to MaxCount). Two targets are near if both are decimal numbers
	// (at most 18 digits) 1 to 10 apart, or strings of the same length, at
	// least 5 bytes, that differ only in their last two bytes. A target
	// equal to a recent one is not a step. With Lookback 1 this counts
	// consecutive near pairs; a larger Lookback also catches a walker that
	// interleaves a few sequences.
	SequentialPairs int
	// Lookback is how many previous distinct targets a lookup is compared
	// with, 1 to MaxLookback.
	Lookback int
}

// StuffingConfig configures the rules fed by LoginFailure.
type StuffingConfig struct {
	// Window is the sliding window of RuleSourceAccounts and
	// RuleNetworkAccounts.
	Window time.Duration
	// SourceAccounts fires RuleSourceAccounts: distinct accounts one source
	// failed to sign in to in Window, 1 to MaxDistinct.
	SourceAccounts int
	// NetworkAccounts fires RuleNetworkAccounts: distinct accounts one
	// network failed to sign in to in Window, 1 to MaxDistinct.
	NetworkAccounts int
	// SprayWindow is the sliding window of RulePasswordSpray.
	SprayWindow time.Duration
	// SprayAccounts fires RulePasswordSpray: distinct accounts one password
	// fingerprint failed on in SprayWindow, from any source, 1 to
	// MaxDistinct.
	SprayAccounts int
}

// ResetConfig configures the rules fed by ResetRequest.
type ResetConfig struct {
	// AccountWindow is the sliding window of RuleAccountResets and
	// RuleSourceResets.
	AccountWindow time.Duration
	// AccountResets fires RuleAccountResets: reset requests for one account
	// in AccountWindow, 1 to MaxCount.
	AccountResets int
	// SourceAccounts fires RuleSourceResets: distinct accounts one source
	// requested resets for in AccountWindow, 1 to MaxDistinct.
	SourceAccounts int

	// Window is the sliding window of RuleTotalResets, and the period whose
	// totals the baseline learns from.
	Window time.Duration
	// RuleTotalResets fires when the requests in Window exceed
	// max(MinTotal, Factor × baseline). MinTotal (1 to MaxCount) keeps a
	// quiet service from alerting on a handful of requests; Factor (1 to
	// 1000) is how many times the usual volume counts as a surge.
	MinTotal int
	Factor   float64
	// Alpha is the weight of the latest period in the baseline, in (0, 1]:
	// the baseline forgets half of what it knew in about 0.7/Alpha periods.
	Alpha float64
	// Warmup is how many periods the baseline learns from, as their mean,
	// before the rule may fire (0 to MaxWarmup). Until then nothing is known
	// about the usual volume, so no volume can be called a surge.
	Warmup int
}

// RevokedConfig configures the rules fed by CredentialRejected.
type RevokedConfig struct {
	// Window is the sliding window of both rules; it is also the cooldown of
	// RuleCutoffRevoked unless Config.Cooldown is set.
	Window time.Duration
	// SourceRejections fires RuleSourceRejections: credentials one source
	// presented and had rejected in Window, for any reason, 1 to MaxCount.
	SourceRejections int
}

// DefaultConfig returns thresholds for a production service. Each sits well
// above what one person does and well below what an automated attack needs
// to be worth running; the comments give the reasoning.
func DefaultConfig() Config {
	return Config{
		Enumeration: EnumerationConfig{
			// A person reading profiles opens a few dozen in ten minutes;
			// 100 is over three per minute, sustained, for every minute.
			// A harvester of millions of accounts needs far more, so it
			// must either trip this or spread over thousands of callers,
			// which the per-caller rate limits make slow.
			Window:          10 * time.Minute,
			DistinctTargets: 100,
			// People mistype a name now and then; a caller for whom half of
			// 20 or more lookups miss is guessing identifiers.
			NotFoundPercent: 50,
			MinLookups:      20,
			// Random (opaque) identifiers are almost never near each other:
			// ten near steps in a window is a walk, as in the incident.
			SequentialPairs: 10,
			// Catches up to four interleaved walks while keeping chance
			// nearness among random targets rare.
			Lookback: 4,
		},
		Stuffing: StuffingConfig{
			// One address failing on 20 different accounts in ten minutes
			// is not a person mistyping; a small office behind one address
			// is a handful of people, each on their own account.
			Window:         10 * time.Minute,
			SourceAccounts: 20,
			// A /24 (or /48) holds many people, so more room: 50.
			NetworkAccounts: 50,
			// Two people rarely mistype their way to the same wrong
			// password; ten accounts failing with one password in half an
			// hour is a spray, however many addresses it comes from.
			SprayWindow:   30 * time.Minute,
			SprayAccounts: 10,
		},
		Reset: ResetConfig{
			// A person who lost their mail asks two or three times; five in
			// an hour is someone else flooding the account's inbox, the
			// prelude to "your password was reset" phishing.
			AccountWindow: time.Hour,
			AccountResets: 5,
			// Resets for 30 different accounts from one address in an hour
			// is a campaign, not a shared office.
			SourceAccounts: 30,
			// Ten-minute periods see a surge within minutes; five times the
			// usual volume is beyond daily swings, and 50 keeps a small
			// service from alerting on noise. Alpha 0.1 remembers about an
			// hour (half-life seven periods), enough to follow the daily
			// curve while a sharp spike stands out. Three periods of warm-up
			// give a mean to start from.
			Window:   10 * time.Minute,
			MinTotal: 50,
			Factor:   5,
			Alpha:    0.1,
			Warmup:   3,
		},
		Revoked: RevokedConfig{
			// People coming back after a while present one or two expired
			// credentials each; 20 from one address in ten minutes is
			// replay of a stolen set.
			Window:           10 * time.Minute,
			SourceRejections: 20,
		},
		Cooldown: 0, // each rule's window
		// Long enough to outlast a burst and cover its retries, short enough
		// that people behind a shared address are not held back for long.
		Penalty: 15 * time.Minute,
		// 16384 keys per table: with the defaults a caller holds at most
		// about 2.5 KiB (its targets included) and a key of the other
		// tables less, so every table full, every key at its member cap,
		// measures about 100 MiB; and the keys active in an ordinary window
		// fit several times over.
		MaxKeys: 1 << 14,
	}
}

// Validate returns nil if c can be used, and otherwise an EINVALID
// *vigil.Error naming the first bad field and its bounds.
func (c Config) Validate() error {
	type check struct {
		field   string
		problem string // "" if the value is good
	}
	e := &c.Enumeration
	s := &c.Stuffing
	r := &c.Reset
	v := &c.Revoked
	for _, ch := range []check{
		{"Enumeration.Window", window(e.Window)},
		{"Enumeration.DistinctTargets", between(e.DistinctTargets, 1, MaxDistinct)},
		{"Enumeration.NotFoundPercent", between(e.NotFoundPercent, 1, 100)},
		{"Enumeration.MinLookups", between(e.MinLookups, 1, MaxCount)},
		{"Enumeration.SequentialPairs", between(e.SequentialPairs, 1, MaxCount)},
		{"Enumeration.Lookback", between(e.Lookback, 1, MaxLookback)},
		{"Stuffing.Window", window(s.Window)},
		{"Stuffing.SourceAccounts", between(s.SourceAccounts, 1, MaxDistinct)},
		{"Stuffing.NetworkAccounts", between(s.NetworkAccounts, 1, MaxDistinct)},
		{"Stuffing.SprayWindow", window(s.SprayWindow)},
		{"Stuffing.SprayAccounts", between(s.SprayAccounts, 1, MaxDistinct)},
		{"Reset.AccountWindow", window(r.AccountWindow)},
		{"Reset.AccountResets", between(r.AccountResets, 1, MaxCount)},
		{"Reset.SourceAccounts", between(r.SourceAccounts, 1, MaxDistinct)},
		{"Reset.Window", window(r.Window)},
		{"Reset.MinTotal", between(r.MinTotal, 1, MaxCount)},
		{"Reset.Factor", betweenFloat(r.Factor, 1, 1000, true)},
		{"Reset.Alpha", betweenFloat(r.Alpha, 0, 1, false)},
		{"Reset.Warmup", between(r.Warmup, 0, MaxWarmup)},
		{"Revoked.Window", window(v.Window)},
		{"Revoked.SourceRejections", between(v.SourceRejections, 1, MaxCount)},
		{"Cooldown", optionalWindow(c.Cooldown)},
		{"Penalty", optionalWindow(c.Penalty)},
		{"MaxKeys", between(c.MaxKeys, 1, MaxMaxKeys)},
	} {
		if ch.problem != "" {
			return vigil.Errorf(vigil.EINVALID, "detect: Config.%s %s", ch.field, ch.problem)
		}
	}
	return nil
}

// The checks below return why a value is refused, or "" if it is good.

func between(n, lo, hi int) string {
	if n < lo || n > hi {
		return fmt.Sprintf("must be between %d and %d, got %d", lo, hi, n)
	}
	return ""
}

// betweenFloat checks lo <= f <= hi, or lo < f <= hi if !loIncluded.
func betweenFloat(f, lo, hi float64, loIncluded bool) string {
	ok := f <= hi && (f > lo || (loIncluded && f == lo)) // false for NaN
	if !ok || math.IsInf(f, 0) {
		open := "("
		if loIncluded {
			open = "["
		}
		return fmt.Sprintf("must be in %s%v, %v], got %v", open, lo, hi, f)
	}
	return ""
}

func window(d time.Duration) string {
	if d < MinWindow || d > MaxWindow {
		return fmt.Sprintf("must be between %v and %v, got %v", MinWindow, MaxWindow, d)
	}
	return ""
}

func optionalWindow(d time.Duration) string {
	if d != 0 && (d < MinWindow || d > MaxWindow) {
		return fmt.Sprintf("must be 0 or between %v and %v, got %v", MinWindow, MaxWindow, d)
	}
	return ""
}
