package hunt

import "time"

// Rule ids, exactly as the issue names them.
const (
	RuleBrokenAuthentication = "broken-authentication"
	RulePublicFallback       = "public-fallback"
	RuleBOLA                 = "bola"
	RuleBFLA                 = "bfla"
	RuleDataExposure         = "data-exposure"
	RuleEnumerableID         = "enumerable-id"
	RuleNoRateLimit          = "no-rate-limit"
)

// Rules lists every rule id.
var Rules = []string{RuleBrokenAuthentication, RulePublicFallback, RuleBOLA, RuleBFLA, RuleDataExposure, RuleEnumerableID, RuleNoRateLimit}

// Severities, lowest first.
const (
	SeverityInfo     = "info"
	SeverityLow      = "low"
	SeverityMedium   = "medium"
	SeverityHigh     = "high"
	SeverityCritical = "critical"
)

// SeverityOrder lists the severities, lowest first; SeverityRank gives a
// severity's index in it (-1 if unknown).
var SeverityOrder = []string{SeverityInfo, SeverityLow, SeverityMedium, SeverityHigh, SeverityCritical}

// SeverityRank returns the index of s in SeverityOrder, or -1.
func SeverityRank(s string) int {
	for i, v := range SeverityOrder {
		if v == s {
			return i
		}
	}
	return -1
}

// Confidence of a finding.
const (
	Confirmed = "confirmed" // proof in hand: the victim's private markers, or a write read back as the victim
	Suspected = "suspected" // weaker signs: similar body or schema, status alone
)

// Finding is one problem hunt found. Its JSON form is the one `--format
// json` prints.
type Finding struct {
	Rule        string   `json:"rule"`
	Severity    string   `json:"severity"`
	Confidence  string   `json:"confidence"`
	Method      string   `json:"method"`
	Path        string   `json:"path"`       // the spec's path template, e.g. /v1/users/{id}
	Identities  []string `json:"identities"` // who was involved: "anonymous", attacker then victim, ...
	Title       string   `json:"title"`      // one line
	Evidence    Evidence `json:"evidence"`
	Fix         string   `json:"fix"`         // how to fix it
	Fingerprint string   `json:"fingerprint"` // stable across runs: rule + method + path template + identities
}

// Evidence is the request that showed a finding and a redacted excerpt of
// the answer. Secrets (tokens, passwords, cookies, Authorization headers)
// never appear in it.
type Evidence struct {
	Request  string `json:"request"`  // e.g. "GET /v1/users/42 as bob"
	Status   int    `json:"status"`   // the answer's status
	Excerpt  string `json:"excerpt"`  // redacted, bounded excerpt of the answer's body
	Proof    string `json:"proof"`    // why this is a finding, e.g. "answer carries alice's email"
	Baseline string `json:"baseline"` // what the owner/anonymous baseline was, when it matters
}

// Stats counts what a hunt did.
type Stats struct {
	Operations  int           `json:"operations"`  // operations in the spec
	Probed      int           `json:"probed"`      // operations replayed
	Skipped     int           `json:"skipped"`     // operations not replayed (unsafe methods without --unsafe-methods, no parameters known, ...)
	Identities  int           `json:"identities"`  // identities signed in, anonymous not counted
	Requests    int           `json:"requests"`    // HTTP requests sent, logins included
	Findings    int           `json:"findings"`    // after the baseline file
	Suppressed  int           `json:"suppressed"`  // findings accepted by the baseline file
	Duration    time.Duration `json:"-"`           //
	DurationMS  int64         `json:"duration_ms"` //
	BudgetSpent bool          `json:"budget_spent"`
}

// Report is the outcome of a hunt.
type Report struct {
	Target   string    `json:"target"`
	Spec     string    `json:"spec"`
	Findings []Finding `json:"findings"`
	Stats    Stats     `json:"stats"`
}
