package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-dev/vigil/hunt"
)

// SARIF constants.
const (
	sarifSchema  = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
	sarifVersion = "2.1.0"
	// InformationURI is the tool's home page in SARIF's tool.driver.
	InformationURI = "https://github.com/vigil-dev/vigil"
	// FingerprintKey names the finding's fingerprint in SARIF's
	// partialFingerprints. Its "/v1" is the fingerprint scheme's version:
	// a new scheme gets a new key, so dashboards do not match old
	// fingerprints against new ones.
	FingerprintKey = "vigilHunt/v1"
)

// The SARIF 2.1.0 objects this package writes; field names and nesting
// follow the OASIS standard. Only what hunt has to say is modelled.
type (
	sarifLog struct {
		Schema  string     `json:"$schema"`
		Version string     `json:"version"`
		Runs    []sarifRun `json:"runs"`
	}
	sarifRun struct {
		Tool        sarifTool         `json:"tool"`
		Invocations []sarifInvocation `json:"invocations"`
		Results     []sarifResult     `json:"results"`
		Properties  map[string]any    `json:"properties,omitempty"`
	}
	sarifTool struct {
		Driver sarifDriver `json:"driver"`
	}
	sarifDriver struct {
		Name           string      `json:"name"`
		InformationURI string      `json:"informationUri"`
		Version        string      `json:"version,omitempty"`
		Rules          []sarifRule `json:"rules"`
	}
	sarifRule struct {
		ID                   string         `json:"id"`
		Name                 string         `json:"name"`
		ShortDescription     sarifText      `json:"shortDescription"`
		FullDescription      sarifText      `json:"fullDescription"`
		Help                 sarifText      `json:"help"`
		DefaultConfiguration sarifRuleConf  `json:"defaultConfiguration"`
		Properties           map[string]any `json:"properties"`
	}
	sarifText struct {
		Text     string `json:"text"`
		Markdown string `json:"markdown,omitempty"`
	}
	sarifRuleConf struct {
		Level string `json:"level"`
	}
	sarifInvocation struct {
		ExecutionSuccessful bool `json:"executionSuccessful"`
	}
	sarifResult struct {
		RuleID              string            `json:"ruleId"`
		RuleIndex           int               `json:"ruleIndex"`
		Kind                string            `json:"kind"`
		Level               string            `json:"level"`
		Message             sarifText         `json:"message"`
		Locations           []sarifLocation   `json:"locations"`
		PartialFingerprints map[string]string `json:"partialFingerprints"`
		Properties          map[string]any    `json:"properties"`
	}
	sarifLocation struct {
		PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
		LogicalLocations []sarifLogical `json:"logicalLocations"`
	}
	sarifPhysical struct {
		ArtifactLocation sarifArtifact `json:"artifactLocation"`
		Region           *sarifRegion  `json:"region,omitempty"`
	}
	sarifArtifact struct {
		URI string `json:"uri"`
	}
	sarifRegion struct {
		StartLine int `json:"startLine"`
	}
	sarifLogical struct {
		Name               string `json:"name"`
		FullyQualifiedName string `json:"fullyQualifiedName"`
		Kind               string `json:"kind"`
	}
)

// SARIFOptions are WriteSARIFOptions's settings.
type SARIFOptions struct {
	ToolVersion string // tool.driver.version; empty leaves it out

	// SpecURI and Spec, when both are set, give each result a physical
	// location as well: the line of the OpenAPI document (Spec, its text)
	// where the finding's operation is declared, in the file SpecURI (a
	// path relative to the repository's root, with forward slashes).
	// GitHub code scanning shows only results that have one.
	SpecURI string
	Spec    []byte
}

// WriteSARIF writes r as a SARIF 2.1.0 log with one run, whose tool is
// "vigil hunt" at toolVersion. Each result is located logically, by its
// operation ("GET /v1/users/{id}"); use WriteSARIFOptions to locate it in
// the OpenAPI document too.
func WriteSARIF(w io.Writer, r *hunt.Report, toolVersion string) error {
	return WriteSARIFOptions(w, r, SARIFOptions{ToolVersion: toolVersion})
}

// WriteSARIFOptions writes r as a SARIF 2.1.0 log: tool.driver describes
// every rule (descriptions, help, default level, tags and GitHub's
// security-severity); each finding is a result with its rule, a level from
// its severity (critical and high: error; medium: warning; low and info:
// note), a message, its operation as a logical location, its fingerprint
// under FingerprintKey, and its confidence, severity, identities,
// evidence and fix as properties.
func WriteSARIFOptions(w io.Writer, r *hunt.Report, o SARIFOptions) error {
	fs := sorted(r.Findings)
	ids := rules(fs)
	driver := sarifDriver{Name: "vigil hunt", InformationURI: InformationURI, Version: o.ToolVersion, Rules: make([]sarifRule, 0, len(ids))}
	index := map[string]int{}
	for i, id := range ids {
		index[id] = i
		d := doc(id)
		driver.Rules = append(driver.Rules, sarifRule{
			ID:                   id,
			Name:                 d.name,
			ShortDescription:     sarifText{Text: d.short},
			FullDescription:      sarifText{Text: d.full},
			Help:                 sarifText{Text: d.help, Markdown: fmt.Sprintf("**%s**\n\n%s\n\n**Fix:** %s", d.short, d.full, d.help)},
			DefaultConfiguration: sarifRuleConf{Level: sarifLevel(d.severity)},
			Properties: map[string]any{
				"tags":              d.tags,
				"security-severity": d.score,
				"problem.severity":  problemSeverity(d.severity),
			},
		})
	}
	var lines map[string]int
	if o.SpecURI != "" && o.Spec != nil {
		lines = operationLines(o.Spec, fs)
	}

	results := make([]sarifResult, 0, len(fs))
	for _, f := range fs {
		op := operation(&f)
		loc := sarifLocation{LogicalLocations: []sarifLogical{{Name: f.Path, FullyQualifiedName: op, Kind: "function"}}}
		if lines != nil {
			loc.PhysicalLocation = &sarifPhysical{ArtifactLocation: sarifArtifact{URI: o.SpecURI}, Region: &sarifRegion{StartLine: max(lines[op], 1)}}
		}
		msg := f.Title // it names the operation, or is prefixed with it
		if title(&f) == f.Title {
			msg = op + ": " + f.Title
		}
		if f.Evidence.Proof != "" {
			msg += ". " + f.Evidence.Proof
		}
		res := sarifResult{
			RuleID:    f.Rule,
			RuleIndex: index[f.Rule],
			Kind:      "fail",
			Level:     sarifLevel(f.Severity),
			Message:   sarifText{Text: msg},
			Locations: []sarifLocation{loc},
			Properties: map[string]any{
				"severity":   f.Severity,
				"confidence": f.Confidence,
				"method":     f.Method,
				"path":       f.Path,
				"identities": nonNil(f.Identities),
				"evidence":   f.Evidence,
				"fix":        f.Fix,
			},
		}
		res.PartialFingerprints = map[string]string{FingerprintKey: fingerprint(&f)}
		results = append(results, res)
	}

	stats := r.Stats
	stats.DurationMS = duration(r.Stats).Milliseconds()
	run := sarifRun{
		Tool:        sarifTool{Driver: driver},
		Invocations: []sarifInvocation{{ExecutionSuccessful: true}},
		Results:     results,
		Properties:  map[string]any{"target": r.Target, "spec": r.Spec, "stats": stats},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(sarifLog{Schema: sarifSchema, Version: sarifVersion, Runs: []sarifRun{run}})
}

// sarifLevel maps a severity to SARIF's result level.
func sarifLevel(severity string) string {
	switch severity {
	case hunt.SeverityCritical, hunt.SeverityHigh:
		return "error"
	case hunt.SeverityMedium:
		return "warning"
	case hunt.SeverityLow, hunt.SeverityInfo:
		return "note"
	}
	return "error" // unknown: fail closed, as Exceeds does
}

// problemSeverity maps a severity to the "problem.severity" property that
// CodeQL-style consumers read.
func problemSeverity(severity string) string {
	switch sarifLevel(severity) {
	case "error":
		return "error"
	case "warning":
		return "warning"
	}
	return "recommendation"
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// operationLines finds, in the text of an OpenAPI document (JSON or YAML),
// the line where each finding's operation is declared: the method's key
// under the path's key, or the path's key itself. Operations it cannot
// find are left out (the caller uses line 1). It reads the text, not the
// structure, which is enough for locating and never fails.
func operationLines(spec []byte, fs []hunt.Finding) map[string]int {
	text := strings.Split(string(spec), "\n")
	out := map[string]int{}
	for _, f := range fs {
		op := operation(&f)
		if _, done := out[op]; done {
			continue
		}
		pathLine := -1
		for i, l := range text {
			if isKey(l, f.Path) {
				pathLine = i
				break
			}
		}
		if pathLine < 0 {
			continue
		}
		out[op] = pathLine + 1
		method := strings.ToLower(f.Method)
		for i := pathLine + 1; i < len(text); i++ {
			if isKey(text[i], method) {
				out[op] = i + 1
				break
			}
			if t := strings.TrimSpace(text[i]); strings.HasPrefix(t, "/") || strings.HasPrefix(t, `"/`) || strings.HasPrefix(t, "'/") {
				break // the next path: this one does not declare the method on a line of its own
			}
		}
	}
	return out
}

// isKey reports whether line declares the mapping key k, as JSON ("k":)
// or YAML (k:, "k":, 'k':).
func isKey(line, k string) bool {
	t := strings.TrimSpace(line)
	for _, q := range []string{`"`, `'`, ""} {
		if rest, ok := strings.CutPrefix(t, q+k+q); ok && strings.HasPrefix(strings.TrimSpace(rest), ":") {
			return true
		}
	}
	return false
}
