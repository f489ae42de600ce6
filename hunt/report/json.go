package report

import (
	"encoding/json"
	"io"

	"github.com/vigil-dev/vigil/hunt"
)

// jsonReport is the shape `--format json` prints, as issue #5 states it:
// {"target", "spec", "findings": [...], "stats": {...}}.
type jsonReport struct {
	Target   string         `json:"target"`
	Spec     string         `json:"spec"`
	Findings []hunt.Finding `json:"findings"`
	Stats    hunt.Stats     `json:"stats"`
}

// WriteJSON writes r as one indented JSON object: target, spec, findings
// (each in hunt.Finding's JSON form, most severe first; an empty array,
// never null, when clean) and stats (with duration_ms filled in).
func WriteJSON(w io.Writer, r *hunt.Report) error {
	out := jsonReport{Target: r.Target, Spec: r.Spec, Findings: normalized(r.Findings), Stats: r.Stats}
	out.Stats.DurationMS = duration(r.Stats).Milliseconds()
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false) // "<" stays readable: this is no HTML page
	return enc.Encode(out)
}

// normalized returns the findings sorted, with empty lists as [] rather
// than null, so consumers never meet a null where an array belongs.
func normalized(fs []hunt.Finding) []hunt.Finding {
	out := sorted(fs)
	if out == nil {
		out = []hunt.Finding{}
	}
	for i := range out {
		if out[i].Identities == nil {
			out[i].Identities = []string{}
		}
	}
	return out
}
