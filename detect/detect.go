// Package detect watches what an account service sees on its hot paths (user
// lookups, failed sign-ins, password-reset requests, rejected credentials)
// and raises a security Event when the pattern looks like an attack: account
// enumeration, credential stuffing and password spraying, surges of reset
// requests, and the use of revoked credentials. It stores nothing and sends
// nothing itself: the service hands each Event to its own storage and alerts,
// and asks Tightened whether to apply stricter limits to a key.
//
// # Rules and keys
//
// Each rule counts one thing per key over a sliding window and fires when the
// count reaches a threshold: distinct targets a caller looked up, distinct
// accounts a source failed to sign in to, reset requests an account received,
// and so on (see the Rule constants and Config). Keys are opaque strings
// chosen by the service and should name their kind: "src:203.0.113.7",
// "net:203.0.113.0/24", "caller:<account id>", "acct:<id>". A host on IPv6
// usually holds a whole /64, so the service should pass the /64, not the full
// address, as an IPv6 source; otherwise rotating addresses makes every
// request a new source.
//
// # Windows
//
// A window of length W is a ring of 20 slots of W/20 each. An observation
// counts from the moment it is made until its slot leaves the ring, that is
// for between W - W/20 and W. Distinct counts are real distinct counts: each
// key keeps its members (targets, accounts) with the slot each was last seen
// in, and drops the members whose slot has left the window.
//
// # Cooldown and penalty
//
// A rule fires for a key when its count reaches the threshold and the key's
// cooldown for that rule has passed; firing starts a new cooldown
// (Config.Cooldown, by default the rule's window). A continuing attack is
// thus one event per cooldown, not one per request. Every event also puts its
// Key under a penalty for Config.Penalty: Tightened(Key) reports true until
// it expires. All of this runs on the clock given to New.
//
// # Bounds
//
// Memory is bounded whatever the input. Each table of keys (callers, failing
// sources, failing networks, passwords, reset accounts, reset sources,
// rejecting sources, penalties) holds at most Config.MaxKeys keys, and a key
// keeps at most threshold+1 members: once a key has reached the threshold,
// more members would not change what it reports. (A new member that finds
// the set full is left out until older ones leave the window, so a count
// reads at most threshold+1, and may dip for a moment when a burst of old
// members leaves together.) When a new key arrives, a couple of keys that
// have seen nothing for longer than their window and cooldown are dropped,
// and if the table is still full the new key evicts an old one: among the
// eight least recently used keys, the one holding the least evidence (the
// fewest observations in its window). A flood of fresh keys, one observation
// each, thus mostly evicts itself, while a key that has gathered more
// evidence than that stays.
//
// Eviction, expiry and the member cap only forget: they can delay an event,
// never raise one that the observations did not earn. Keys are held as
// 64-bit hashes and members as 32-bit hashes under a random per-process
// seed, so long strings cost no more than short ones and nobody outside the
// process can aim for a collision. Two members that collide count as one,
// which only lowers a count; two keys that collide would share their counts,
// which with n keys tracked happens with probability about n²/2⁶⁵.
//
// # Concurrency and cost
//
// A Detector is safe for concurrent use. Each table is split into 64 shards
// by key hash, each with its own mutex, so callers working on different keys
// rarely wait for each other; the global reset total has one mutex of its
// own. An observation reads the clock once, hashes its strings before it
// locks, does a constant amount of work under the lock (amortized: pruning a
// key's expired members happens at most once per slot) and never blocks on
// I/O. It allocates only to create a key or grow its member set up to the
// cap, and to build an Event when a rule fires. Events are handed to emit
// after every lock is released.
//
// # What events never contain
//
// A Summary is fixed text and numbers only: it holds no key, target, account
// identifier or password fingerprint. Fingerprints are hashed again before
// they become a map key and are never stored in any other form.
package detect

import (
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// Event kinds: what kind of attack an Event reports.
const (
	KindEnumeration        = "enumeration"            // someone walks the account space through lookups
	KindCredentialStuffing = "credential_stuffing"    // passwords tried across many accounts
	KindResetSurge         = "reset_surge"            // more password-reset requests than is normal
	KindRevokedCredential  = "revoked_credential_use" // revoked, expired or replayed credentials presented
)

// Rules: which rule raised an Event. Each belongs to one kind and has a fixed
// severity, both given in parentheses; the Key it reports comes after the
// colon.
const (
	// RuleDistinctTargets (enumeration, high): caller: the caller looked up
	// at least Enumeration.DistinctTargets distinct targets in the window.
	RuleDistinctTargets = "distinct_targets"
	// RuleNotFoundRatio (enumeration, medium): caller: at least
	// Enumeration.NotFoundPercent percent of the caller's lookups in the
	// window found nothing, over at least Enumeration.MinLookups lookups.
	// Count and Threshold are percentages.
	RuleNotFoundRatio = "not_found_ratio"
	// RuleSequential (enumeration, high): caller: at least
	// Enumeration.SequentialPairs of the caller's lookups in the window were
	// near one of the few lookups before them (see EnumerationConfig).
	RuleSequential = "sequential"
	// RuleSourceAccounts (credential stuffing, high): source: the source
	// failed to sign in to at least Stuffing.SourceAccounts distinct
	// accounts in the window.
	RuleSourceAccounts = "source_accounts"
	// RuleNetworkAccounts (credential stuffing, medium): network: the
	// network failed to sign in to at least Stuffing.NetworkAccounts
	// distinct accounts in the window.
	RuleNetworkAccounts = "network_accounts"
	// RulePasswordSpray (credential stuffing, high): "global": one password
	// failed on at least Stuffing.SprayAccounts distinct accounts in the
	// spray window, from anywhere. The Key is "global" because a spray comes
	// from everywhere and the password must not appear in an event; the
	// cooldown is global too, so several passwords sprayed at once are one
	// event per cooldown.
	RulePasswordSpray = "password_spray"
	// RuleAccountResets (reset surge, low): account: the account received at
	// least Reset.AccountResets reset requests in the account window.
	RuleAccountResets = "account_resets"
	// RuleSourceResets (reset surge, medium): source: the source requested
	// resets for at least Reset.SourceAccounts distinct accounts in the
	// account window.
	RuleSourceResets = "source_resets"
	// RuleTotalResets (reset surge, critical): "global": reset requests in
	// the window exceed max(Reset.MinTotal, Reset.Factor × baseline); see
	// ResetConfig. Threshold is the smallest total that fires.
	RuleTotalResets = "total_resets"
	// RuleCutoffRevoked (revoked credential use, high): source: the source
	// presented a credential killed by an incident-wide cutoff, which means
	// it holds a credential issued before the incident. Fires on the first
	// such rejection; Count is the number in the window, Threshold is 1.
	RuleCutoffRevoked = "cutoff_revoked"
	// RuleSourceRejections (revoked credential use, medium): source: the
	// source presented at least Revoked.SourceRejections rejected
	// credentials (any reason) in the window.
	RuleSourceRejections = "source_rejections"
)

// Severities, lowest first. "low" is worth a look, "medium" likely an attack
// on a few accounts, "high" an attack in progress, "critical" an attack on
// the service as a whole.
const (
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// GlobalKey is the Key of events about the service as a whole
// (RulePasswordSpray, RuleTotalResets). Tightened(GlobalKey) is true after
// either; the service tells them apart by the event's Kind if it tightens
// sign-in and resets separately.
const GlobalKey = "global"

// Reasons a credential is rejected, for CredentialRejected.
const (
	ReasonRevoked = "revoked" // revoked by its user or an administrator
	ReasonExpired = "expired" // past its lifetime
	ReasonCutoff  = "cutoff"  // killed by an incident-wide revocation
	ReasonReuse   = "reuse"   // a one-time credential presented again
)

// Event is one security event. It is a value: the Detector keeps no
// reference to it once emitted.
type Event struct {
	Kind     string // one of the Kind constants
	Rule     string // one of the Rule constants
	Severity string // one of the Severity constants; fixed per rule
	// Key is what the event is about and what Tightened reports on: the
	// caller, source, network or account key passed to the observation, or
	// GlobalKey.
	Key string
	// Summary is one human sentence made of fixed text and numbers, e.g.
	// "caller looked up 100 distinct targets in 10m0s". It holds no key,
	// target, account identifier or password fingerprint.
	Summary   string
	Count     int           // the measured figure that reached Threshold; Count >= Threshold
	Threshold int           // the figure at which the rule fires
	Window    time.Duration // the window Count was measured over
	At        time.Time     // the clock's time of the observation that fired the rule
}

// Detector holds the state of every rule. It is safe for concurrent use and
// must be made with New. A nil *Detector ignores every observation and
// reports no key as tightened, so a service may run without one.
type Detector struct {
	cfg   Config
	clock func() time.Time
	epoch time.Time
	emit  func(Event)
	seed  maphash.Seed

	enum    table[enumState]
	srcFail table[distinctState] // member: account
	netFail table[distinctState] // member: account
	spray   table[distinctState] // key: password fingerprint; member: account
	// sprayQuiet is when RulePasswordSpray may fire again: its Key is
	// global, so its cooldown is too, whichever password it is about.
	sprayQuiet atomic.Int64
	resetAcct  table[countState]
	resetSrc   table[distinctState] // member: account
	surge      surge
	reject     table[rejectState]
	penalty    table[penaltyState]

	// Cooldowns in nanoseconds, per window.
	enumCool, stuffCool, sprayCool, acctResetCool, surgeCool, rejectCool int64
}

// New returns a Detector for cfg, which must pass Validate (New returns its
// error otherwise). Start from DefaultConfig and change what needs changing.
//
// now is the clock (nil means time.Now); it must be safe for concurrent use,
// and is read once per observation. A clock that moves backwards is
// tolerated: time stands still until it catches up. Windows move in slots of
// a twentieth of themselves, so a coarse clock (one updated every few
// milliseconds) loses nothing where time.Now is slow.
//
// emit (nil means none: events then only drive Tightened) is called once for
// each event, synchronously, on the goroutine of the observation that fired
// it, after the Detector has released its locks and after the penalty on the
// event's Key has started. It delays that observation, and with it a request
// on a hot path, so it must be quick and must not block: hand the event to a
// buffered channel or a queue and store or send it elsewhere. It may call the
// Detector. Several emits may run at once.
func New(cfg Config, now func() time.Time, emit func(Event)) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if now == nil {
		now = time.Now
	}
	d := &Detector{cfg: cfg, clock: now, emit: emit, seed: maphash.MakeSeed()}
	// Time is measured from here: with time.Now this uses the monotonic
	// clock, so wall-clock steps neither expire nor extend anything.
	d.epoch = now()

	cool := func(w time.Duration) int64 {
		if cfg.Cooldown > 0 {
			return int64(cfg.Cooldown)
		}
		return int64(w)
	}
	d.enumCool = cool(cfg.Enumeration.Window)
	d.stuffCool = cool(cfg.Stuffing.Window)
	d.sprayCool = cool(cfg.Stuffing.SprayWindow)
	d.acctResetCool = cool(cfg.Reset.AccountWindow)
	d.surgeCool = cool(cfg.Reset.Window)
	d.rejectCool = cool(cfg.Revoked.Window)

	lookback := cfg.Enumeration.Lookback
	d.enum.init(cfg.MaxKeys, cfg.Enumeration.Window, d.enumCool,
		func(s *enumState) { s.reset(lookback) }, (*enumState).weight)
	d.srcFail.init(cfg.MaxKeys, cfg.Stuffing.Window, d.stuffCool, (*distinctState).reset, (*distinctState).weight)
	d.netFail.init(cfg.MaxKeys, cfg.Stuffing.Window, d.stuffCool, (*distinctState).reset, (*distinctState).weight)
	d.spray.init(cfg.MaxKeys, cfg.Stuffing.SprayWindow, d.sprayCool, (*distinctState).reset, (*distinctState).weight)
	d.resetAcct.init(cfg.MaxKeys, cfg.Reset.AccountWindow, d.acctResetCool, (*countState).reset, (*countState).weight)
	d.resetSrc.init(cfg.MaxKeys, cfg.Reset.AccountWindow, d.acctResetCool, (*distinctState).reset, (*distinctState).weight)
	d.reject.init(cfg.MaxKeys, cfg.Revoked.Window, d.rejectCool, (*rejectState).reset, (*rejectState).weight)
	// A penalty entry is touched only when set, so it is dropped once
	// Penalty has passed since, exactly when it expires. Its weight is its
	// expiry: a full table gives up the penalty closest to its end.
	d.penalty.initRetain(cfg.MaxKeys, int64(cfg.Penalty), int64(cfg.Penalty),
		func(s *penaltyState) { *s = penaltyState{} }, func(s *penaltyState) int64 { return s.until })
	d.surge.init(cfg.Reset, d.surgeCool)
	return d, nil
}

// Tightened reports whether key is under a penalty: whether an event with
// that Key fired within the last Config.Penalty. The service uses it to apply
// stricter limits to the key. It is cheap, safe for concurrent use, and false
// for every key when Config.Penalty is 0. A key forgotten because the
// penalty table was full (see Config.MaxKeys) reports false early.
func (d *Detector) Tightened(key string) bool {
	if d == nil || d.cfg.Penalty <= 0 {
		return false
	}
	_, now := d.now()
	h := d.hash(key)
	sh, now := d.penalty.lock(h, now)
	e := sh.m[h]
	tight := e != nil && now < e.s.until
	sh.mu.Unlock()
	return tight
}

// Stats counts the keys a Detector tracks, for metrics and tests. Each count
// is at most Cap. A key idle past its window and cooldown is counted until a
// new key arrives in its shard and drops it.
type Stats struct {
	Callers          int // lookup callers (enumeration)
	FailureSources   int // sources with failed sign-ins
	FailureNetworks  int // networks with failed sign-ins
	Passwords        int // password fingerprints with failed sign-ins
	ResetAccounts    int // accounts with reset requests
	ResetSources     int // sources of reset requests
	RejectionSources int // sources of rejected credentials
	Penalties        int // keys under a penalty
	// Cap is the most keys one table may hold: Config.MaxKeys rounded up to
	// a multiple of 64.
	Cap int
}

// Stats returns the current counts. It locks each shard in turn, so it is
// meant for occasional use (metrics, tests), not for hot paths.
func (d *Detector) Stats() Stats {
	if d == nil {
		return Stats{}
	}
	return Stats{
		Callers:          d.enum.len(),
		FailureSources:   d.srcFail.len(),
		FailureNetworks:  d.netFail.len(),
		Passwords:        d.spray.len(),
		ResetAccounts:    d.resetAcct.len(),
		ResetSources:     d.resetSrc.len(),
		RejectionSources: d.reject.len(),
		Penalties:        d.penalty.len(),
		Cap:              d.enum.shardCap * numShards,
	}
}

// now returns the clock's time and the nanoseconds since New, never negative.
func (d *Detector) now() (time.Time, int64) {
	t := d.clock()
	ns := int64(t.Sub(d.epoch))
	if ns < 0 {
		ns = 0
	}
	return t, ns
}

func (d *Detector) hash(s string) uint64 { return maphash.String(d.seed, s) }

// hit is a rule that fired during an observation, recorded under a lock and
// turned into an Event after it is released.
type hit struct {
	rule      string
	key       string
	count     int
	threshold int
	window    time.Duration
}

// allow reports whether a rule in cooldown until *quiet may fire at now,
// and if so starts a new cooldown.
func allow(quiet *int64, now, cooldown int64) bool {
	if now < *quiet {
		return false
	}
	*quiet = now + cooldown
	return true
}

// raise turns hits into events: it starts each one's penalty, then emits it.
// It must be called without any lock held.
func (d *Detector) raise(at time.Time, now int64, hits []hit) {
	for _, h := range hits {
		kind, severity := ruleInfo(h.rule)
		ev := Event{
			Kind:      kind,
			Rule:      h.rule,
			Severity:  severity,
			Key:       h.key,
			Summary:   summary(h),
			Count:     h.count,
			Threshold: h.threshold,
			Window:    h.window,
			At:        at,
		}
		if d.cfg.Penalty > 0 {
			k := d.hash(h.key)
			sh, n := d.penalty.lock(k, now)
			e := d.penalty.get(sh, k, n)
			e.s.until = n + int64(d.cfg.Penalty)
			sh.mu.Unlock()
		}
		if d.emit != nil {
			d.emit(ev)
		}
	}
}

// ruleInfo returns the kind and severity of a rule.
func ruleInfo(rule string) (kind, severity string) {
	switch rule {
	case RuleDistinctTargets, RuleSequential:
		return KindEnumeration, SeverityHigh
	case RuleNotFoundRatio:
		return KindEnumeration, SeverityMedium
	case RuleSourceAccounts, RulePasswordSpray:
		return KindCredentialStuffing, SeverityHigh
	case RuleNetworkAccounts:
		return KindCredentialStuffing, SeverityMedium
	case RuleAccountResets:
		return KindResetSurge, SeverityLow
	case RuleSourceResets:
		return KindResetSurge, SeverityMedium
	case RuleTotalResets:
		return KindResetSurge, SeverityCritical
	case RuleCutoffRevoked:
		return KindRevokedCredential, SeverityHigh
	case RuleSourceRejections:
		return KindRevokedCredential, SeverityMedium
	}
	return "", "" // unreachable: every rule is listed above (see TestRuleInfo)
}

// summary returns the Summary of h: fixed text and numbers, nothing else.
func summary(h hit) string {
	w := h.window
	switch h.rule {
	case RuleDistinctTargets:
		return fmt.Sprintf("caller looked up %d distinct targets in %v", h.count, w)
	case RuleNotFoundRatio:
		return fmt.Sprintf("%d%% of the caller's lookups in %v found nothing", h.count, w)
	case RuleSequential:
		return fmt.Sprintf("caller looked up %d targets adjacent to a recent one in %v", h.count, w)
	case RuleSourceAccounts:
		return fmt.Sprintf("source failed to sign in to %d distinct accounts in %v", h.count, w)
	case RuleNetworkAccounts:
		return fmt.Sprintf("network failed to sign in to %d distinct accounts in %v", h.count, w)
	case RulePasswordSpray:
		return fmt.Sprintf("one password failed on %d distinct accounts in %v", h.count, w)
	case RuleAccountResets:
		return fmt.Sprintf("account received %d password-reset requests in %v", h.count, w)
	case RuleSourceResets:
		return fmt.Sprintf("source requested password resets for %d distinct accounts in %v", h.count, w)
	case RuleTotalResets:
		return fmt.Sprintf("%d password-reset requests in %v, above the usual-volume limit of %d", h.count, w, h.threshold-1)
	case RuleCutoffRevoked:
		return fmt.Sprintf("source presented a credential revoked by an incident-wide cutoff (%d in %v)", h.count, w)
	case RuleSourceRejections:
		return fmt.Sprintf("source presented %d rejected credentials in %v", h.count, w)
	}
	return h.rule
}

// clampInt converts a count to int, saturating.
func clampInt(n uint64) int {
	const maxInt = int(^uint(0) >> 1)
	if n > uint64(maxInt) {
		return maxInt
	}
	return int(n)
}
