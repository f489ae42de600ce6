package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/vigil-dev/vigil/hunt"
)

// The JUnit XML elements WriteJUnit writes, in the common (Ant/Jenkins,
// GitLab, GitHub test-report actions) dialect.
type (
	junitSuites struct {
		XMLName  xml.Name     `xml:"testsuites"`
		Name     string       `xml:"name,attr"`
		Tests    int          `xml:"tests,attr"`
		Failures int          `xml:"failures,attr"`
		Errors   int          `xml:"errors,attr"`
		Time     string       `xml:"time,attr"`
		Suites   []junitSuite `xml:"testsuite"`
	}
	junitSuite struct {
		Name       string          `xml:"name,attr"`
		Tests      int             `xml:"tests,attr"`
		Failures   int             `xml:"failures,attr"`
		Errors     int             `xml:"errors,attr"`
		Skipped    int             `xml:"skipped,attr"`
		Properties []junitProperty `xml:"properties>property,omitempty"`
		Cases      []junitCase     `xml:"testcase"`
	}
	junitProperty struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	junitCase struct {
		Name      string        `xml:"name,attr"`
		Classname string        `xml:"classname,attr"`
		Failure   *junitFailure `xml:"failure,omitempty"`
	}
	junitFailure struct {
		Message string `xml:"message,attr"`
		Type    string `xml:"type,attr"`
		Text    string `xml:",chardata"`
	}
)

// WriteJUnit writes r as JUnit XML: one testsuite per rule, and in it one
// testcase per operation the rule found something on (named "METHOD
// /path", classname the rule id) that fails with the findings' details,
// or a single passing "no findings" testcase when the rule found nothing.
// A clean report is thus seven passing tests, which CI test dashboards
// show as such.
func WriteJUnit(w io.Writer, r *hunt.Report) error {
	fs := sorted(r.Findings)
	out := junitSuites{Name: "vigil hunt", Time: fmt.Sprintf("%.3f", duration(r.Stats).Seconds())}
	var props []junitProperty
	if r.Target != "" {
		props = append(props, junitProperty{Name: "target", Value: r.Target})
	}
	if r.Spec != "" {
		props = append(props, junitProperty{Name: "spec", Value: r.Spec})
	}
	for _, rule := range rules(fs) {
		suite := junitSuite{Name: "vigil hunt: " + rule, Properties: props}
		var ops []string
		byOp := map[string][]hunt.Finding{}
		for _, f := range fs {
			if f.Rule != rule {
				continue
			}
			op := operation(&f)
			if byOp[op] == nil {
				ops = append(ops, op)
			}
			byOp[op] = append(byOp[op], f)
		}
		for _, op := range ops {
			suite.Cases = append(suite.Cases, junitCase{Name: op, Classname: rule, Failure: junitFailureOf(byOp[op])})
			suite.Failures++
		}
		if len(ops) == 0 {
			suite.Cases = append(suite.Cases, junitCase{Name: "no findings", Classname: rule})
		}
		suite.Tests = len(suite.Cases)
		out.Tests += suite.Tests
		out.Failures += suite.Failures
		out.Suites = append(out.Suites, suite)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}

// junitFailureOf describes the findings of one rule on one operation,
// most severe first (fs is sorted).
func junitFailureOf(fs []hunt.Finding) *junitFailure {
	top := fs[0]
	msg := fmt.Sprintf("[%s, %s] %s", top.Severity, top.Confidence, top.Title)
	if len(fs) > 1 {
		msg = fmt.Sprintf("%d findings, the most severe: %s", len(fs), msg)
	}
	var b strings.Builder
	for i, f := range fs {
		if i > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s (%s, %s)\n", f.Title, f.Severity, f.Confidence)
		line := func(label, value string) {
			if value != "" {
				// printable: a CI page shows this text, and it came from the target.
				fmt.Fprintf(&b, "  %s: %s\n", label, printable(value))
			}
		}
		line("identities", who(f.Identities))
		req := f.Evidence.Request
		if f.Evidence.Status != 0 {
			req = fmt.Sprintf("%s -> %d", req, f.Evidence.Status)
		}
		line("request", req)
		line("proof", f.Evidence.Proof)
		line("baseline", f.Evidence.Baseline)
		line("answer", f.Evidence.Excerpt)
		line("fix", f.Fix)
		line("fingerprint", f.Fingerprint)
	}
	return &junitFailure{Message: msg, Type: top.Severity, Text: b.String()}
}
