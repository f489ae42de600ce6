package report

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vigil-dev/vigil/hunt"
)

// sampleReport returns a report with findings of several rules and
// severities, in no particular order, one of them with an answer that
// tries to drive a terminal.
func sampleReport() *hunt.Report {
	return &hunt.Report{
		Target: "http://127.0.0.1:8080",
		Spec:   "openapi.json",
		Findings: []hunt.Finding{
			{
				Rule: hunt.RuleNoRateLimit, Severity: hunt.SeverityMedium, Confidence: hunt.Confirmed,
				Method: "POST", Path: "/auth/login", Identities: []string{"anonymous"},
				Title:       "200 login attempts answered without a 429",
				Evidence:    hunt.Evidence{Request: "POST /auth/login x200 as anonymous", Status: 401, Proof: "no 429 in 200 answers"},
				Fix:         "Limit attempts per caller and account.",
				Fingerprint: "fp-rate",
			},
			{
				Rule: hunt.RuleBOLA, Severity: hunt.SeverityHigh, Confidence: hunt.Confirmed,
				Method: "GET", Path: "/notes/{note_id}", Identities: []string{"bob", "alice"},
				Title: "bob reads alice's note",
				Evidence: hunt.Evidence{Request: "GET /notes/n-123 as bob", Status: 200,
					Excerpt: "{\"body\":\"alice's secret\x1b[2J\u202e\"}\n<b>&</b>", Proof: "answer carries a value only alice wrote",
					Baseline: "alice: 200, same body"},
				Fix:         "Scope the note query by the caller.",
				Fingerprint: "fp-bola",
			},
			{
				Rule: hunt.RuleBrokenAuthentication, Severity: hunt.SeverityCritical, Confidence: hunt.Confirmed,
				Method: "GET", Path: "/v1/users/{id}", Identities: []string{"anonymous"},
				Title:       "answers 200 without credentials",
				Evidence:    hunt.Evidence{Request: "GET /v1/users/42 as anonymous", Status: 200, Excerpt: `{"email":"a***@example.com"}`, Proof: "401 was due"},
				Fix:         "Require authentication.",
				Fingerprint: "fp-auth",
			},
			{
				Rule: hunt.RuleBOLA, Severity: hunt.SeverityMedium, Confidence: hunt.Suspected,
				Method: "GET", Path: "/notes/{note_id}", Identities: []string{"carol", "alice"},
				Title:       "carol gets an answer like alice's",
				Evidence:    hunt.Evidence{Request: "GET /notes/n-123 as carol", Status: 200},
				Fingerprint: "fp-bola-carol",
			},
			{
				Rule: hunt.RuleEnumerableID, Severity: hunt.SeverityLow, Confidence: hunt.Suspected,
				Method: "GET", Path: "/v1/users/{id}", // no identities: must not come out as null
				Title:       "sequential ids",
				Fingerprint: "fp-enum",
			},
		},
		Stats: hunt.Stats{Operations: 12, Probed: 10, Skipped: 2, Identities: 3, Requests: 345, Findings: 5, Duration: 2345 * time.Millisecond},
	}
}

func cleanReport() *hunt.Report {
	return &hunt.Report{Target: "http://127.0.0.1:8080", Spec: "openapi.json",
		Stats: hunt.Stats{Operations: 12, Probed: 12, Identities: 2, Requests: 100, DurationMS: 1500}}
}

func TestRuleDocsCoverEveryRule(t *testing.T) {
	for _, id := range hunt.Rules {
		d, ok := ruleDocs[id]
		if !ok {
			t.Errorf("rule %q has no ruleDoc", id)
			continue
		}
		if d.name == "" || d.short == "" || d.full == "" || d.help == "" || d.score == "" || len(d.tags) == 0 || hunt.SeverityRank(d.severity) < 0 {
			t.Errorf("rule %q: incomplete ruleDoc %+v", id, d)
		}
	}
	if len(ruleDocs) != len(hunt.Rules) {
		t.Errorf("%d ruleDocs for %d rules", len(ruleDocs), len(hunt.Rules))
	}
}

func TestSortedOrder(t *testing.T) {
	var got []string
	for _, f := range sorted(sampleReport().Findings) {
		got = append(got, f.Fingerprint)
	}
	want := []string{"fp-auth", "fp-bola", "fp-rate", "fp-bola-carol", "fp-enum"}
	if !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v", got, want)
	}
}

func TestWriteTable(t *testing.T) {
	var b bytes.Buffer
	if err := WriteTable(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"vigil hunt: http://127.0.0.1:8080 (spec openapi.json)",
		"SEVERITY", "CONFIDENCE", "RULE", "OPERATION", "IDENTITIES", "TITLE",
		"critical  confirmed   broken-authentication  GET /v1/users/{id}",
		"bob -> alice",
		"[2] high bola GET /notes/{note_id}: bob reads alice's note",
		"request:     GET /notes/n-123 as bob -> 200",
		"proof:       answer carries a value only alice wrote",
		"baseline:    alice: 200, same body",
		"fix:         Scope the note query by the caller.",
		"fingerprint: fp-bola",
		`\x1b[2J\u202e"}\n<b>&</b>`, // escaped, not acted on
		"5 findings (1 critical, 1 high, 2 medium, 1 low): 12 operations in the spec, 10 probed, 2 skipped; 3 identities signed in; 345 requests in 2.345s",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if strings.ContainsAny(out, "\x1b\u202e\r") {
		t.Errorf("table passes control characters through:\n%q", out)
	}
	if strings.Index(out, "broken-authentication") > strings.Index(out, "enumerable-id") {
		t.Error("table does not put the most severe finding first")
	}
}

func TestWriteTableClean(t *testing.T) {
	var b bytes.Buffer
	r := cleanReport()
	r.Stats.Suppressed = 2
	r.Stats.BudgetSpent = true
	if err := WriteTable(&b, r); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"no findings: 12 operations in the spec, 12 probed, 0 skipped; 2 identities signed in; 100 requests in 1.5s",
		"2 accepted by the baseline",
		"REQUEST BUDGET SPENT",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("clean table lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SEVERITY") {
		t.Errorf("clean table prints a header:\n%s", out)
	}
}

func TestWriteJSON(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"findings", "spec", "stats", "target"}) {
		t.Errorf("top-level keys = %v", keys)
	}
	var findings []map[string]any
	if err := json.Unmarshal(got["findings"], &findings); err != nil {
		t.Fatal(err)
	}
	if len(findings) != 5 {
		t.Fatalf("%d findings, want 5", len(findings))
	}
	for _, f := range findings {
		// The fields issue #5 names for --format json.
		for _, k := range []string{"rule", "severity", "confidence", "method", "path", "identities", "evidence", "fingerprint"} {
			if _, ok := f[k]; !ok {
				t.Errorf("finding %v lacks %q", f["fingerprint"], k)
			}
		}
		if _, ok := f["identities"].([]any); !ok {
			t.Errorf("finding %v: identities = %#v, want an array", f["fingerprint"], f["identities"])
		}
	}
	if findings[0]["rule"] != hunt.RuleBrokenAuthentication || findings[0]["path"] != "/v1/users/{id}" {
		t.Errorf("first finding = %v, want the critical one", findings[0])
	}
	var stats map[string]any
	if err := json.Unmarshal(got["stats"], &stats); err != nil {
		t.Fatal(err)
	}
	if stats["duration_ms"] != float64(2345) || stats["requests"] != float64(345) {
		t.Errorf("stats = %v", stats)
	}
	if !strings.Contains(b.String(), "<b>&</b>") {
		t.Error("JSON escapes HTML characters: harder to read, for no gain")
	}
}

func TestWriteJSONClean(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, cleanReport()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"findings": []`) {
		t.Errorf("clean JSON has no empty findings array:\n%s", b.String())
	}
}

// compileSARIFSchema compiles the official SARIF 2.1.0 schema in testdata (see
// testdata/README.md for where it comes from), with formats asserted.
func compileSARIFSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	const loc = "https://vigil.invalid/sarif-schema-2.1.0.json"
	if err := c.AddResource(loc, doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile(loc)
	if err != nil {
		t.Fatal(err)
	}
	return sch
}

func TestSARIFValidatesAgainstSchema(t *testing.T) {
	sch := compileSARIFSchema(t)
	spec := []byte("{\n  \"paths\": {\n    \"/v1/users/{id}\": {\n      \"get\": {}\n    }\n  }\n}\n")
	for name, write := range map[string]func(*bytes.Buffer) error{
		"findings": func(b *bytes.Buffer) error { return WriteSARIF(b, sampleReport(), "v1.2.3") },
		"clean":    func(b *bytes.Buffer) error { return WriteSARIF(b, cleanReport(), "") },
		"with spec": func(b *bytes.Buffer) error {
			return WriteSARIFOptions(b, sampleReport(), SARIFOptions{ToolVersion: "dev", SpecURI: "api/openapi.json", Spec: spec})
		},
		"unknown rule": func(b *bytes.Buffer) error {
			return WriteSARIF(b, &hunt.Report{Findings: []hunt.Finding{{Rule: "new-rule", Severity: "weird"}}}, "dev")
		},
		"empty finding": func(b *bytes.Buffer) error { return WriteSARIF(b, &hunt.Report{Findings: []hunt.Finding{{}}}, "dev") },
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := write(&b); err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b.Bytes()))
			if err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("invalid SARIF: %v\n%s", err, b.String())
			}
		})
	}
}

// TestSARIFSchemaCatchesMistakes makes sure the validation above can fail.
func TestSARIFSchemaCatchesMistakes(t *testing.T) {
	sch := compileSARIFSchema(t)
	for _, bad := range []string{
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]}`,                                            // driver without name
		`{"version": "2.0.0", "runs": []}`,                                                                    // wrong version
		`{"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "x"}}, "results": [{"level": "high"}]}]}`, // no message, bad level
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if err != nil {
			t.Fatal(err)
		}
		if sch.Validate(inst) == nil {
			t.Errorf("schema accepts %s", bad)
		}
	}
}

// sarifOut is the part of a SARIF log the tests look at.
type sarifOut struct {
	Schema  string `json:"$schema"`
	Version string `json:"version"`
	Runs    []struct {
		Tool struct {
			Driver struct {
				Name, InformationURI, Version string
				Rules                         []struct {
					ID                   string
					ShortDescription     struct{ Text string }
					FullDescription      struct{ Text string }
					Help                 struct{ Text, Markdown string }
					DefaultConfiguration struct{ Level string }
					Properties           map[string]any
				}
			}
		}
		Results []struct {
			RuleID    string
			RuleIndex int
			Level     string
			Message   struct{ Text string }
			Locations []struct {
				PhysicalLocation *struct {
					ArtifactLocation struct{ URI string }
					Region           struct{ StartLine int }
				}
				LogicalLocations []struct{ Name, FullyQualifiedName, Kind string }
			}
			PartialFingerprints map[string]string
			Properties          map[string]any
		}
	}
}

func TestWriteSARIF(t *testing.T) {
	var b bytes.Buffer
	if err := WriteSARIF(&b, sampleReport(), "v1.2.3"); err != nil {
		t.Fatal(err)
	}
	var log sarifOut
	if err := json.Unmarshal(b.Bytes(), &log); err != nil {
		t.Fatal(err)
	}
	if log.Version != "2.1.0" || !strings.Contains(log.Schema, "sarif-schema-2.1.0.json") || len(log.Runs) != 1 {
		t.Fatalf("log = %s %s with %d runs", log.Schema, log.Version, len(log.Runs))
	}
	run := log.Runs[0]
	d := run.Tool.Driver
	if d.Name != "vigil hunt" || d.Version != "v1.2.3" || d.InformationURI == "" {
		t.Errorf("driver = %q %q %q", d.Name, d.Version, d.InformationURI)
	}
	var ids []string
	for _, r := range d.Rules {
		ids = append(ids, r.ID)
		if r.ShortDescription.Text == "" || r.FullDescription.Text == "" || r.Help.Text == "" || r.DefaultConfiguration.Level == "" {
			t.Errorf("rule %s lacks descriptions or a level", r.ID)
		}
		if _, ok := r.Properties["security-severity"].(string); !ok {
			t.Errorf("rule %s: security-severity = %#v, want a string", r.ID, r.Properties["security-severity"])
		}
		if tags, _ := r.Properties["tags"].([]any); !slices.Contains(tags, any("security")) {
			t.Errorf("rule %s: tags = %v", r.ID, tags)
		}
	}
	if !slices.Equal(ids, hunt.Rules) {
		t.Errorf("rules = %v, want %v", ids, hunt.Rules)
	}
	if len(run.Results) != 5 {
		t.Fatalf("%d results, want 5", len(run.Results))
	}
	levels := map[string]string{}
	for _, r := range run.Results {
		if d.Rules[r.RuleIndex].ID != r.RuleID {
			t.Errorf("result %s has ruleIndex %d, which is %s", r.RuleID, r.RuleIndex, d.Rules[r.RuleIndex].ID)
		}
		fp := r.PartialFingerprints[FingerprintKey]
		levels[fp] = r.Level
		if len(r.Locations) != 1 || len(r.Locations[0].LogicalLocations) != 1 || r.Locations[0].PhysicalLocation != nil {
			t.Errorf("result %s: locations = %+v", fp, r.Locations)
			continue
		}
		if r.Properties["confidence"] == nil || r.Properties["identities"] == nil || r.Properties["evidence"] == nil {
			t.Errorf("result %s: properties = %v", fp, r.Properties)
		}
	}
	want := map[string]string{"fp-auth": "error", "fp-bola": "error", "fp-rate": "warning", "fp-bola-carol": "warning", "fp-enum": "note"}
	for fp, level := range want {
		if levels[fp] != level {
			t.Errorf("result %s: level %q, want %q", fp, levels[fp], level)
		}
	}
	first := run.Results[0]
	if ll := first.Locations[0].LogicalLocations[0]; ll.FullyQualifiedName != "GET /v1/users/{id}" || ll.Name != "/v1/users/{id}" {
		t.Errorf("logical location = %+v", ll)
	}
	if !strings.Contains(first.Message.Text, "GET /v1/users/{id}: answers 200 without credentials") {
		t.Errorf("message = %q", first.Message.Text)
	}
}

func TestWriteSARIFLocatesInSpec(t *testing.T) {
	yamlSpec := []byte(`openapi: 3.0.3
paths:
  /notes/{note_id}:
    parameters: []
    get:
      summary: read a note
  /v1/users/{id}:
    get:
      summary: a user
  /auth/login:
    post: {}
`)
	jsonSpec := []byte(`{"openapi": "3.1.0", "paths": {
  "/auth/login": {
    "post": {}
  },
  "/v1/users/{id}": {"get": {}},
  "/notes/{note_id}": {
    "get": {}
  }
}}`)
	for name, tc := range map[string]struct {
		spec []byte
		want map[string]int
	}{
		"yaml": {yamlSpec, map[string]int{"GET /notes/{note_id}": 5, "GET /v1/users/{id}": 8, "POST /auth/login": 11}},
		"json": {jsonSpec, map[string]int{"GET /notes/{note_id}": 7, "GET /v1/users/{id}": 5, "POST /auth/login": 3}},
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteSARIFOptions(&b, sampleReport(), SARIFOptions{SpecURI: "api/openapi." + name, Spec: tc.spec}); err != nil {
				t.Fatal(err)
			}
			var log sarifOut
			if err := json.Unmarshal(b.Bytes(), &log); err != nil {
				t.Fatal(err)
			}
			for _, r := range log.Runs[0].Results {
				loc := r.Locations[0]
				op := loc.LogicalLocations[0].FullyQualifiedName
				if loc.PhysicalLocation == nil {
					t.Errorf("%s: no physical location", op)
					continue
				}
				if got := loc.PhysicalLocation.ArtifactLocation.URI; got != "api/openapi."+name {
					t.Errorf("%s: uri %q", op, got)
				}
				if got := loc.PhysicalLocation.Region.StartLine; got != tc.want[op] {
					t.Errorf("%s: line %d, want %d", op, got, tc.want[op])
				}
			}
		})
	}
}

// junitOut is JUnit XML as a consumer reads it.
type junitOut struct {
	XMLName  xml.Name `xml:"testsuites"`
	Tests    int      `xml:"tests,attr"`
	Failures int      `xml:"failures,attr"`
	Suites   []struct {
		Name     string `xml:"name,attr"`
		Tests    int    `xml:"tests,attr"`
		Failures int    `xml:"failures,attr"`
		Cases    []struct {
			Name      string `xml:"name,attr"`
			Classname string `xml:"classname,attr"`
			Failure   *struct {
				Message string `xml:"message,attr"`
				Type    string `xml:"type,attr"`
				Text    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

func TestWriteJUnit(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	var got junitOut
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatalf("not XML: %v\n%s", err, b.String())
	}
	if !strings.HasPrefix(b.String(), "<?xml") {
		t.Error("no XML declaration")
	}
	// 7 rules, 4 of them with findings; bola's two findings are on one
	// operation, so one testcase; the other 3 rules pass.
	if len(got.Suites) != 7 || got.Tests != 7 || got.Failures != 4 {
		t.Errorf("%d suites, %d tests, %d failures; want 7, 7, 4", len(got.Suites), got.Tests, got.Failures)
	}
	failures := map[string]string{}
	for _, s := range got.Suites {
		n := 0
		for _, c := range s.Cases {
			if c.Failure != nil {
				n++
				failures[c.Classname+" "+c.Name] = c.Failure.Message
				if c.Failure.Type == "" || c.Failure.Text == "" {
					t.Errorf("%s %s: failure without type or text", c.Classname, c.Name)
				}
			} else if c.Name != "no findings" {
				t.Errorf("passing testcase %q", c.Name)
			}
		}
		if n != s.Failures || len(s.Cases) != s.Tests {
			t.Errorf("suite %s: counts %d/%d, cases %d/%d", s.Name, s.Failures, n, s.Tests, len(s.Cases))
		}
	}
	if msg := failures["bola GET /notes/{note_id}"]; !strings.HasPrefix(msg, "2 findings, the most severe: [high, confirmed] bob reads alice's note") {
		t.Errorf("bola failure message = %q", msg)
	}
	if _, ok := failures["broken-authentication GET /v1/users/{id}"]; !ok {
		t.Errorf("failures = %v", failures)
	}
}

func TestWriteJUnitClean(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJUnit(&b, cleanReport()); err != nil {
		t.Fatal(err)
	}
	var got junitOut
	if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	if got.Tests != 7 || got.Failures != 0 {
		t.Errorf("clean: %d tests, %d failures; want 7 passing", got.Tests, got.Failures)
	}
}

func TestBaselineRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "baseline.json")
	var b bytes.Buffer
	if err := WriteBaseline(&b, sampleReport()); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	bl, err := LoadBaseline(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.Accepted) != 5 || bl.Accepted[0].Fingerprint != "fp-auth" || bl.Accepted[0].Rule != hunt.RuleBrokenAuthentication ||
		bl.Accepted[0].Method != "GET" || bl.Accepted[0].Path != "/v1/users/{id}" {
		t.Errorf("baseline = %+v", bl.Accepted)
	}
	if !strings.Contains(b.String(), `"note": ""`) {
		t.Errorf("baseline has no note field to fill in:\n%s", b.String())
	}

	r := sampleReport()
	if stale := bl.Apply(r); len(stale) != 0 {
		t.Errorf("stale = %v", stale)
	}
	if len(r.Findings) != 0 || r.Stats.Findings != 0 || r.Stats.Suppressed != 5 {
		t.Errorf("after Apply: %d findings, stats %+v", len(r.Findings), r.Stats)
	}
	if Exceeds(r, hunt.SeverityLow) {
		t.Error("accepted findings still fail the run")
	}
}

func TestBaselineApplyPartial(t *testing.T) {
	bl := &Baseline{Version: BaselineVersion, Accepted: []BaselineEntry{
		{Fingerprint: "fp-bola", Note: "tracked in #12"},
		{Fingerprint: "fp-gone", Rule: hunt.RuleBFLA},
		{Fingerprint: "fp-gone"},
	}}
	r := sampleReport()
	stale := bl.Apply(r)
	if len(stale) != 1 || stale[0].Fingerprint != "fp-gone" {
		t.Errorf("stale = %+v, want fp-gone once", stale)
	}
	if len(r.Findings) != 4 || r.Stats.Findings != 4 || r.Stats.Suppressed != 1 {
		t.Errorf("after Apply: %d findings, stats %+v", len(r.Findings), r.Stats)
	}
	for _, f := range r.Findings {
		if f.Fingerprint == "fp-bola" {
			t.Error("accepted finding still reported")
		}
	}
	// Rewriting the baseline from a full run keeps the notes.
	nb := NewBaseline(sampleReport().Findings, bl)
	for _, e := range nb.Accepted {
		if e.Fingerprint == "fp-bola" && e.Note != "tracked in #12" {
			t.Errorf("note lost: %+v", e)
		}
	}
	var nilBaseline *Baseline
	r = sampleReport()
	if stale := nilBaseline.Apply(r); stale != nil || len(r.Findings) != 5 || r.Stats.Findings != 5 {
		t.Errorf("nil baseline changed the report: %d findings", len(r.Findings))
	}
}

func TestLoadBaselineErrors(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"not json":       "accepted: [fp]",
		"unknown field":  `{"version": 1, "accepted": [{"fingerprint": "x", "fingerprnt": "y"}]}`,
		"wrong version":  `{"version": 2, "accepted": []}`,
		"no version":     `{"accepted": []}`,
		"no fingerprint": `{"version": 1, "accepted": [{"rule": "bola"}]}`,
		"trailing data":  `{"version": 1, "accepted": []} {}`,
	} {
		path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := LoadBaseline(path)
		var be *BaselineError
		if !errors.As(err, &be) || be.Path != path {
			t.Errorf("%s: err = %v, want a *BaselineError", name, err)
		}
	}
	_, err := LoadBaseline(filepath.Join(dir, "missing.json"))
	if err == nil || !strings.Contains(err.Error(), "--write-baseline") {
		t.Errorf("missing file: err = %v", err)
	}
}

func TestExceeds(t *testing.T) {
	r := sampleReport() // critical .. low
	only := func(sev string) *hunt.Report {
		return &hunt.Report{Findings: []hunt.Finding{{Rule: hunt.RuleBOLA, Severity: sev}}}
	}
	for _, tc := range []struct {
		r      *hunt.Report
		failOn string
		want   bool
	}{
		{r, hunt.SeverityCritical, true},
		{r, hunt.SeverityInfo, true},
		{r, "none", false},
		{cleanReport(), hunt.SeverityInfo, false},
		{only(hunt.SeverityMedium), hunt.SeverityMedium, true},
		{only(hunt.SeverityMedium), hunt.SeverityHigh, false},
		{only(hunt.SeverityLow), hunt.SeverityMedium, false},
		{only(hunt.SeverityHigh), hunt.SeverityMedium, true},
		{only(hunt.SeverityCritical), hunt.SeverityCritical, true},
		{only("bogus"), hunt.SeverityCritical, true}, // unknown severity fails closed
		{only(hunt.SeverityInfo), "bogus", true},     // unknown threshold fails closed
	} {
		if got := Exceeds(tc.r, tc.failOn); got != tc.want || got != (CountAtOrAbove(tc.r, tc.failOn) > 0) {
			t.Errorf("Exceeds(%d findings, %q) = %v, want %v", len(tc.r.Findings), tc.failOn, got, tc.want)
		}
	}
}

func TestProgress(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, false)
	p(1, 10)
	p(10, 10)
	p(-1, -1)
	if b.Len() != 0 {
		t.Errorf("not a terminal, yet it drew %q", b.String())
	}

	b.Reset()
	p = NewProgress(&b, true)
	p(0, 200)
	p(1, 200) // within progressEvery of the last draw: skipped
	p(200, 200)
	out := b.String()
	if strings.Contains(out, "\n") {
		t.Errorf("the bar writes newlines: %q", out)
	}
	if !strings.Contains(out, "\rhunting [>                             ]   0%  0/200") ||
		!strings.Contains(out, "\rhunting [==============================] 100%  200/200") ||
		strings.Contains(out, "1/200") {
		t.Errorf("bar = %q", out)
	}
	b.Reset()
	p(-1, -1)
	if out := b.String(); !strings.HasPrefix(out, "\r ") || !strings.HasSuffix(out, " \r") || strings.TrimSpace(out) != "" {
		t.Errorf("clear = %q", out)
	}
	b.Reset()
	p(-1, -1)
	if b.Len() != 0 {
		t.Errorf("clearing twice writes %q", b.String())
	}

	if got := progressLine(50, 200); got != "hunting [=======>                      ]  25%  50/200" {
		t.Errorf("progressLine(50, 200) = %q", got)
	}
	if got := progressLine(7, 0); got != "hunting... 7" {
		t.Errorf("progressLine(7, 0) = %q", got)
	}
	if got := progressLine(300, 200); !strings.Contains(got, "100%  200/200") {
		t.Errorf("progressLine(300, 200) = %q", got)
	}
}

func TestTitleWithoutOperation(t *testing.T) {
	f := hunt.Finding{Method: "GET", Path: "/notes/{id}", Title: "GET /notes/{id} answers anonymous callers"}
	if got := title(&f); got != "answers anonymous callers" {
		t.Errorf("title = %q", got)
	}
	var b bytes.Buffer
	if err := WriteTable(&b, &hunt.Report{Findings: []hunt.Finding{f}}); err != nil {
		t.Fatal(err)
	}
	if strings.Count(b.String(), "/notes/{id}") != 2 || !strings.Contains(b.String(), "GET /notes/{id}: answers anonymous callers") {
		t.Errorf("table repeats the operation, or lost it:\n%s", b.String())
	}
	b.Reset()
	if err := WriteSARIF(&b, &hunt.Report{Findings: []hunt.Finding{f}}, ""); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"text": "GET /notes/{id} answers anonymous callers"`) {
		t.Errorf("SARIF message repeats the operation:\n%s", b.String())
	}
	f.Title = "sequential ids"
	if got := title(&f); got != "sequential ids" {
		t.Errorf("title = %q", got)
	}
}

func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"plain text, ünïcode ✓": "plain text, ünïcode ✓",
		"a\nb\tc\rd":            `a\nb\tc\rd`,
		"\x1b[31mred":           `\x1b[31mred`,
		"rtl\u202eevil":         `rtl\u202eevil`,
		"bad\xffutf8":           `bad\xffutf8`,
		"\x00\x7f":              `\x00\x7f`,
	} {
		if got := printable(in); got != want {
			t.Errorf("printable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCountAtOrAbove(t *testing.T) {
	r := sampleReport() // 1 critical, 1 high, 2 medium, 1 low
	for sev, want := range map[string]int{"critical": 1, "high": 2, "medium": 4, "low": 5, "info": 5, "none": 0} {
		if got := CountAtOrAbove(r, sev); got != want {
			t.Errorf("CountAtOrAbove(%q) = %d, want %d", sev, got, want)
		}
	}
}

func TestBaselineFingerprintFallback(t *testing.T) {
	f := hunt.Finding{Rule: hunt.RuleBOLA, Severity: hunt.SeverityHigh, Method: "GET", Path: "/notes/{id}", Identities: []string{"bob", "alice"}}
	b := NewBaseline([]hunt.Finding{f}, nil)
	if len(b.Accepted) != 1 || b.Accepted[0].Fingerprint != hunt.Fingerprint(&f) {
		t.Fatalf("baseline = %+v, want the engine's fingerprint", b.Accepted)
	}
	r := &hunt.Report{Findings: []hunt.Finding{f}}
	b.Apply(r)
	if len(r.Findings) != 0 || r.Stats.Suppressed != 1 {
		t.Errorf("a finding without a fingerprint is not matched by its computed one: %+v", r)
	}
}
