package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"

	"github.com/vigil-dev/vigil/hunt"
)

// BaselineVersion is the version of the baseline file's format that this
// package reads and writes.
const BaselineVersion = 1

// maxBaselineSize bounds the baseline file LoadBaseline reads: far above
// any real list of accepted findings, far below trouble.
const maxBaselineSize = 16 << 20

// Baseline is a file of accepted findings: known problems a team has
// decided to live with for now, which a hunt then neither reports nor
// fails on. Findings are matched by fingerprint alone (rule, method, path
// template and identities, as the engine computes it); the other fields
// are there for the people who read and review the file.
//
//	{
//	  "version": 1,
//	  "accepted": [
//	    {"fingerprint": "...", "rule": "bola", "method": "GET", "path": "/notes/{id}",
//	     "identities": ["bob", "alice"], "title": "...", "note": "tracked in #123"}
//	  ]
//	}
type Baseline struct {
	Version  int             `json:"version"`
	Accepted []BaselineEntry `json:"accepted"`
}

// BaselineEntry is one accepted finding.
type BaselineEntry struct {
	Fingerprint string   `json:"fingerprint"`
	Rule        string   `json:"rule"`
	Method      string   `json:"method"`
	Path        string   `json:"path"`
	Identities  []string `json:"identities,omitempty"`
	Title       string   `json:"title,omitempty"`
	Note        string   `json:"note"` // why it is accepted: for people, kept when the file is rewritten
}

// BaselineError says why a baseline file cannot be used.
type BaselineError struct {
	Path    string
	Problem string
}

// Error names the file and the problem.
func (e *BaselineError) Error() string {
	return fmt.Sprintf("baseline %s: %s", e.Path, e.Problem)
}

// LoadBaseline reads the baseline file at path. It returns a
// *BaselineError if the file cannot be read, is not a baseline (unknown
// fields are refused, so a misspelt key is not silently ignored), has
// another version, or has an entry without a fingerprint.
func LoadBaseline(path string) (*Baseline, error) {
	bad := func(problem string) error { return &BaselineError{Path: path, Problem: problem} }
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, bad("no such file (create one with --write-baseline)")
		}
		return nil, bad(err.Error())
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBaselineSize+1))
	if err != nil {
		return nil, bad(err.Error())
	}
	if len(data) > maxBaselineSize {
		return nil, bad(fmt.Sprintf("larger than %d MiB", maxBaselineSize>>20))
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var b Baseline
	if err := dec.Decode(&b); err != nil {
		return nil, bad("not a baseline file: " + err.Error())
	}
	if dec.More() {
		return nil, bad("not a baseline file: data after the JSON object")
	}
	if b.Version != BaselineVersion {
		return nil, bad(fmt.Sprintf("version %d, want %d", b.Version, BaselineVersion))
	}
	for i, e := range b.Accepted {
		if e.Fingerprint == "" {
			return nil, bad(fmt.Sprintf("accepted[%d] has no fingerprint", i))
		}
	}
	return &b, nil
}

// NewBaseline returns a baseline that accepts every finding of fs, one
// entry per fingerprint, in the report's order. Notes are carried over
// from prev (which may be nil) for the fingerprints it already accepted.
func NewBaseline(fs []hunt.Finding, prev *Baseline) *Baseline {
	notes := map[string]string{}
	if prev != nil {
		for _, e := range prev.Accepted {
			notes[e.Fingerprint] = e.Note
		}
	}
	b := &Baseline{Version: BaselineVersion, Accepted: []BaselineEntry{}}
	seen := map[string]bool{}
	for _, f := range sorted(fs) {
		fp := fingerprint(&f)
		if seen[fp] {
			continue
		}
		seen[fp] = true
		b.Accepted = append(b.Accepted, BaselineEntry{
			Fingerprint: fp,
			Rule:        f.Rule,
			Method:      f.Method,
			Path:        f.Path,
			Identities:  slices.Clone(f.Identities),
			Title:       f.Title,
			Note:        notes[fp],
		})
	}
	return b
}

// Write writes b as indented JSON, the form LoadBaseline reads.
func (b *Baseline) Write(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(b)
}

// WriteBaseline writes a baseline that accepts every finding of r.
func WriteBaseline(w io.Writer, r *hunt.Report) error {
	return NewBaseline(r.Findings, nil).Write(w)
}

// Apply moves the findings b accepts out of r: they are neither reported
// nor counted against --fail-on. r.Stats.Suppressed grows by their number
// and r.Stats.Findings is set to what is left. It returns the entries that
// matched no finding of r, so that stale acceptances (fixed problems, or
// an API that changed) can be pointed out and pruned. A nil b accepts
// nothing.
func (b *Baseline) Apply(r *hunt.Report) (stale []BaselineEntry) {
	if b == nil {
		r.Stats.Findings = len(r.Findings)
		return nil
	}
	accepted := make(map[string]bool, len(b.Accepted))
	for _, e := range b.Accepted {
		accepted[e.Fingerprint] = true
	}
	used := map[string]bool{}
	kept := r.Findings[:0:0]
	for _, f := range r.Findings {
		if fp := fingerprint(&f); accepted[fp] {
			used[fp] = true
			r.Stats.Suppressed++
			continue
		}
		kept = append(kept, f)
	}
	r.Findings = kept
	r.Stats.Findings = len(kept)
	for _, e := range b.Accepted {
		if !used[e.Fingerprint] {
			stale = append(stale, e)
			used[e.Fingerprint] = true // name each stale fingerprint once
		}
	}
	return stale
}
