// Package report writes the outcome of a hunt (a *hunt.Report) for people
// and for CI: a table, JSON, SARIF 2.1.0 and JUnit XML. It also keeps the
// baseline file of accepted findings, decides the exit status (Exceeds),
// and draws the progress bar.
//
// Every writer orders findings the same way, most severe first, so that
// two runs over the same API give the same output and diffs stay quiet.
package report

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-dev/vigil/hunt"
)

// ruleDoc describes a rule for people: SARIF's rule metadata and the
// table's wording come from here.
type ruleDoc struct {
	name     string // a short PascalCase name, as SARIF's reportingDescriptor.name wants
	short    string // one line
	full     string // what the rule looks for
	help     string // how to fix it
	severity string // the usual severity of a confirmed finding
	score    string // GitHub's security-severity (CVSS-like, 0.0 to 10.0) of that severity
	tags     []string
}

// ruleDocs covers every id in hunt.Rules; a test checks it.
var ruleDocs = map[string]ruleDoc{
	hunt.RuleBrokenAuthentication: {
		name:     "BrokenAuthentication",
		short:    "An operation that needs credentials answers without them",
		full:     "An operation not declared public answered 2xx to a request with no credentials, or with an invalid or expired one, where 401 was due.",
		help:     "Put authentication in front of every route by default (one middleware that every non-public route passes through), list the public operations explicitly, and answer 401 to a missing, invalid or expired credential.",
		severity: hunt.SeverityCritical,
		score:    "9.1",
		tags:     []string{"security", "authentication", "CWE-306", "OWASP-API2:2023"},
	},
	hunt.RulePublicFallback: {
		name:     "PublicModeFallback",
		short:    "An anonymous answer still carries the owner's private fields",
		full:     "An anonymous request was answered with fields that the owner's answer has and that look private: the API fell back to a public view instead of refusing.",
		help:     "Refuse requests without valid credentials (401) instead of serving a reduced view, or build any anonymous view from an allow-list of fields that are public by design.",
		severity: hunt.SeverityHigh,
		score:    "7.5",
		tags:     []string{"security", "authentication", "CWE-200", "OWASP-API2:2023"},
	},
	hunt.RuleBOLA: {
		name:     "BrokenObjectLevelAuthorization",
		short:    "One identity reaches objects another identity owns (BOLA/IDOR)",
		full:     "An identity read, changed or deleted an object that belongs to another identity. Confirmed when the answer carries the owner's private values, or when the change is read back as the owner.",
		help:     "Check in the service or query layer that the caller may access each object (scope queries by the caller's identity), and answer 404 for objects the caller may not see.",
		severity: hunt.SeverityHigh,
		score:    "8.1",
		tags:     []string{"security", "authorization", "CWE-639", "OWASP-API1:2023"},
	},
	hunt.RuleBFLA: {
		name:     "BrokenFunctionLevelAuthorization",
		short:    "A lower role reaches an operation meant for a higher role (BFLA)",
		full:     "An identity whose role is below the one an operation requires (from the config, or the spec's tags and x- extensions) was let through.",
		help:     "Register each route together with the role it requires and enforce it before the handler runs, denying by default; test every role against every privileged operation.",
		severity: hunt.SeverityHigh,
		score:    "8.1",
		tags:     []string{"security", "authorization", "CWE-285", "OWASP-API5:2023"},
	},
	hunt.RuleDataExposure: {
		name:     "ExcessiveDataExposure",
		short:    "An answer shows sensitive data to someone other than its owner",
		full:     "An answer carried emails, phone numbers, JWTs, password hashes, high-entropy tokens, or fields named like password, secret, token or reset to a caller who does not own them.",
		help:     "Encode answers from an explicit allow-list of fields for each audience; never return secrets, password hashes or reset tokens, and show contact details only to their owner.",
		severity: hunt.SeverityMedium,
		score:    "6.5",
		tags:     []string{"security", "privacy", "CWE-213", "OWASP-API3:2023"},
	},
	hunt.RuleEnumerableID: {
		name:     "EnumerableIdentifier",
		short:    "Object identifiers are sequential and can be enumerated",
		full:     "Numeric identifiers in paths or parameters are sequential: the neighbours of a known id exist, so every object can be listed by counting.",
		help:     "Use random, unguessable identifiers (such as 128-bit random ids or UUIDv4) in URLs, and keep checking authorization on every object regardless.",
		severity: hunt.SeverityLow,
		score:    "3.7",
		tags:     []string{"security", "CWE-340", "OWASP-API1:2023"},
	},
	hunt.RuleNoRateLimit: {
		name:     "MissingRateLimit",
		short:    "A login or lookup operation has no rate limit",
		full:     "A login or lookup operation served a bounded burst of requests without ever answering 429, so credentials can be guessed or records harvested at full speed.",
		help:     "Limit attempts per caller and per target account or key, answer 429 with Retry-After when the limit is reached, and share the limiter between instances.",
		severity: hunt.SeverityMedium,
		score:    "5.3",
		tags:     []string{"security", "CWE-307", "CWE-770", "OWASP-API4:2023"},
	},
}

// doc returns the rule's description, or a generic one for an id this
// package does not know, so a newer engine never makes a writer fail.
func doc(rule string) ruleDoc {
	if d, ok := ruleDocs[rule]; ok {
		return d
	}
	return ruleDoc{name: rule, short: rule, full: rule, help: "See the finding's fix.", severity: hunt.SeverityMedium, score: "5.0", tags: []string{"security"}}
}

// rules returns the ids to describe: hunt.Rules, then any other id the
// findings use, so every result's ruleIndex points at its rule.
func rules(fs []hunt.Finding) []string {
	ids := slices.Clone(hunt.Rules)
	for _, f := range fs {
		if !slices.Contains(ids, f.Rule) {
			ids = append(ids, f.Rule)
		}
	}
	return ids
}

// sorted returns the findings, most severe first, then confirmed before
// suspected, then by rule, path, method and fingerprint: one stable order
// for every format.
func sorted(fs []hunt.Finding) []hunt.Finding {
	out := slices.Clone(fs)
	ruleRank := func(id string) int {
		if i := slices.Index(hunt.Rules, id); i >= 0 {
			return i
		}
		return len(hunt.Rules)
	}
	slices.SortStableFunc(out, func(a, b hunt.Finding) int {
		return cmp.Or(
			cmp.Compare(hunt.SeverityRank(b.Severity), hunt.SeverityRank(a.Severity)),
			cmp.Compare(confidenceRank(a.Confidence), confidenceRank(b.Confidence)),
			cmp.Compare(ruleRank(a.Rule), ruleRank(b.Rule)),
			cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.Path, b.Path),
			cmp.Compare(a.Method, b.Method),
			cmp.Compare(a.Fingerprint, b.Fingerprint),
		)
	})
	return out
}

func confidenceRank(c string) int {
	switch c {
	case hunt.Confirmed:
		return 0
	case hunt.Suspected:
		return 1
	}
	return 2
}

// Exceeds reports whether r has a finding at or above the severity failOn
// (one of hunt.SeverityOrder): the "findings" exit status. failOn "none"
// never fails; an unknown failOn counts as the lowest severity, so a typo
// fails closed. The CLI checks the flag before it gets here.
func Exceeds(r *hunt.Report, failOn string) bool {
	return CountAtOrAbove(r, failOn) > 0
}

// CountAtOrAbove counts the findings of r at or above the severity
// failOn, as Exceeds judges them. A finding of unknown severity counts as
// the most severe.
func CountAtOrAbove(r *hunt.Report, failOn string) int {
	if failOn == "none" {
		return 0
	}
	threshold := max(hunt.SeverityRank(failOn), 0)
	n := 0
	for _, f := range r.Findings {
		if rank := hunt.SeverityRank(f.Severity); rank < 0 || rank >= threshold {
			n++
		}
	}
	return n
}

// duration is the hunt's wall time, from Duration or else DurationMS.
func duration(s hunt.Stats) time.Duration {
	if s.Duration > 0 {
		return s.Duration
	}
	return time.Duration(s.DurationMS) * time.Millisecond
}

// operation names a finding's operation: "GET /v1/users/{id}".
func operation(f *hunt.Finding) string {
	return strings.ToUpper(f.Method) + " " + f.Path
}

// title is a finding's title without a leading "METHOD /path " when the
// finding's operation is shown beside it anyway.
func title(f *hunt.Finding) string {
	if rest, ok := strings.CutPrefix(f.Title, operation(f)+" "); ok && rest != "" {
		return rest
	}
	return f.Title
}

// fingerprint is the finding's fingerprint, computed by the engine's
// rule when a finding comes without one.
func fingerprint(f *hunt.Finding) string {
	if f.Fingerprint != "" {
		return f.Fingerprint
	}
	return hunt.Fingerprint(f)
}

// who joins a finding's identities, attacker first: "bob -> alice".
func who(ids []string) string {
	if len(ids) == 0 {
		return "-"
	}
	return strings.Join(ids, " -> ")
}

// countBySeverity returns "1 critical, 2 high" for the findings, most
// severe first; empty when there are none.
func countBySeverity(fs []hunt.Finding) string {
	n := map[string]int{}
	for _, f := range fs {
		n[f.Severity]++
	}
	var parts []string
	for i := len(hunt.SeverityOrder) - 1; i >= 0; i-- {
		s := hunt.SeverityOrder[i]
		if n[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[s], s))
			delete(n, s)
		}
	}
	others := 0
	for _, c := range n {
		others += c
	}
	if others > 0 {
		parts = append(parts, fmt.Sprintf("%d of unknown severity", others))
	}
	return strings.Join(parts, ", ")
}

// plural returns "1 finding" or "2 findings".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// printable makes text that came from the target safe to show on a
// terminal: control characters (escape sequences included), bidirectional
// overrides and invalid UTF-8 are shown as Go escapes instead of acting.
func printable(s string) string {
	clean := true
	for _, r := range s {
		if r == utf8.RuneError || !(unicode.IsGraphic(r) || r == ' ') {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case unicode.IsGraphic(r) || r == ' ':
			b.WriteRune(r)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		default:
			fmt.Fprintf(&b, `\u%04x`, r)
		}
		i += size
	}
	return b.String()
}

// truncate shortens s to at most n runes, marking the cut with "...".
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-3]) + "..."
}
