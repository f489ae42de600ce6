package report

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/vigil-dev/vigil/hunt"
)

// WriteTable writes r for a person: a table of the findings (severity,
// confidence, rule, operation, identities, title), then each finding's
// evidence and fix, then a summary line with the stats. A clean report is
// one "no findings" line with the stats. Text that came from the target is
// escaped, so an answer cannot drive the terminal.
func WriteTable(w io.Writer, r *hunt.Report) error {
	bw := bufio.NewWriter(w)
	fs := sorted(r.Findings)
	if r.Target != "" {
		fmt.Fprintf(bw, "vigil hunt: %s", printable(r.Target))
		if r.Spec != "" {
			fmt.Fprintf(bw, " (spec %s)", printable(r.Spec))
		}
		fmt.Fprint(bw, "\n\n")
	}
	if len(fs) == 0 {
		fmt.Fprintf(bw, "no findings: %s\n", statsLine(r.Stats))
		return bw.Flush()
	}

	tw := tabwriter.NewWriter(bw, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tSEVERITY\tCONFIDENCE\tRULE\tOPERATION\tIDENTITIES\tTITLE")
	for i, f := range fs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", i+1,
			cell(f.Severity), cell(f.Confidence), cell(f.Rule), cell(operation(&f)), cell(who(f.Identities)), cell(truncate(title(&f), 80)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	for i, f := range fs {
		fmt.Fprintf(bw, "\n[%d] %s %s %s: %s\n", i+1, printable(f.Severity), printable(f.Rule), printable(operation(&f)), printable(title(&f)))
		detail := func(label, value string) {
			if value != "" {
				fmt.Fprintf(bw, "    %-12s %s\n", label+":", printable(value))
			}
		}
		detail("identities", who(f.Identities))
		req := f.Evidence.Request
		if f.Evidence.Status != 0 {
			req = fmt.Sprintf("%s -> %d", req, f.Evidence.Status)
		}
		detail("request", req)
		detail("proof", f.Evidence.Proof)
		detail("baseline", f.Evidence.Baseline)
		detail("answer", truncate(f.Evidence.Excerpt, 400))
		detail("fix", f.Fix)
		detail("fingerprint", f.Fingerprint)
	}
	fmt.Fprintf(bw, "\n%s (%s): %s\n", plural(len(fs), "finding", "findings"), countBySeverity(fs), statsLine(r.Stats))
	return bw.Flush()
}

// cell is a table cell: printable, one line, tabs out of the way.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.ReplaceAll(printable(s), `\t`, " ")
}

// statsLine sums up what the hunt did, in one line.
func statsLine(s hunt.Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s in the spec, %d probed, %d skipped; %s signed in; %s in %s",
		plural(s.Operations, "operation", "operations"), s.Probed, s.Skipped, plural(s.Identities, "identity", "identities"),
		plural(s.Requests, "request", "requests"), duration(s).Round(durationRound(s)))
	if s.Suppressed > 0 {
		fmt.Fprintf(&b, "; %d accepted by the baseline", s.Suppressed)
	}
	if s.BudgetSpent {
		b.WriteString("; REQUEST BUDGET SPENT: the hunt stopped early and may have missed findings")
	}
	return b.String()
}

// durationRound keeps a duration readable: milliseconds under a minute,
// seconds above.
func durationRound(s hunt.Stats) (unit time.Duration) {
	if duration(s) >= time.Minute {
		return time.Second
	}
	return time.Millisecond
}
