package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/term"

	"github.com/vigil-dev/vigil/hunt"
	"github.com/vigil-dev/vigil/hunt/report"
)

// huntConfig is everything `vigil hunt` can be told on its command line;
// the target, spec and identities are in the YAML file --config names.
type huntConfig struct {
	Config        string
	Format        string
	Out           string
	FailOn        string
	Baseline      string
	WriteBaseline string
	UnsafeMethods bool
	Rate          float64
	Budget        int
	Timeout       time.Duration
	Concurrency   int
	Burst         int
}

// Bounds that keep one hunt modest whatever it is told.
const (
	huntMaxRate        = 10000
	huntMaxBudget      = 10_000_000
	huntMaxConcurrency = 256
	huntMaxBurst       = 100_000
	huntMaxTimeout     = 10 * time.Minute
	huntMaxSpecSize    = 64 << 20 // read back for SARIF locations
)

// huntFormats are the values of --format.
var huntFormats = []string{"table", "json", "sarif", "junit"}

// huntFailOn are the values of --fail-on: the severities, and "none".
var huntFailOn = append(slices.Clone(hunt.SeverityOrder), "none")

// defaultHuntConfig: a default --fail-on of medium fails CI on every
// authentication and authorization problem and on missing rate limits or
// data exposure, while low-severity hygiene (sequential ids, weak
// suspicions) is reported without breaking the build; teams that want
// those to fail too say --fail-on low.
func defaultHuntConfig() huntConfig {
	return huntConfig{
		Format:      "table",
		FailOn:      hunt.SeverityMedium,
		Rate:        hunt.DefaultRate,
		Budget:      hunt.DefaultBudget,
		Timeout:     hunt.DefaultTimeout,
		Concurrency: hunt.DefaultConcurrency,
		Burst:       hunt.DefaultBurst,
	}
}

func huntFlags(fs *flag.FlagSet, c *huntConfig) {
	fs.StringVar(&c.Config, "config", c.Config, "the hunt's YAML file: target, spec, public operations, identities, roles (required)")
	fs.StringVar(&c.Format, "format", c.Format, "output format: table, json, sarif or junit")
	fs.StringVar(&c.Out, "out", c.Out, "write the report to this file instead of stdout")
	fs.StringVar(&c.FailOn, "fail-on", c.FailOn, "exit with status 1 when a finding is at or above this severity: info, low, medium, high, critical, or none")
	fs.StringVar(&c.Baseline, "baseline", c.Baseline, "JSON file of accepted findings (made by --write-baseline): they are neither reported nor failed on")
	fs.StringVar(&c.WriteBaseline, "write-baseline", c.WriteBaseline, "write every finding of this run to this baseline file (keeping --baseline's notes) and exit 0")
	fs.BoolVar(&c.UnsafeMethods, "unsafe-methods", c.UnsafeMethods, "also send POST, PUT, PATCH and DELETE (they change data: use a test deployment)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "at most this many requests per second, in all")
	fs.IntVar(&c.Budget, "budget", c.Budget, "at most this many requests in all, logins included; the hunt stops there")
	fs.DurationVar(&c.Timeout, "timeout", c.Timeout, "timeout of each request")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "requests in flight at once")
	fs.IntVar(&c.Burst, "burst", c.Burst, "requests sent to a login or lookup operation to see whether it ever answers 429")
}

// validate checks the flags and returns a *ConfigError for the first
// problem, or a usageError when --config is missing.
func (c *huntConfig) validate() error {
	bad := func(s, p string) error { return &ConfigError{Setting: s, Problem: p} }
	switch {
	case c.Config == "":
		return usageError{"hunt: --config is required (a YAML file naming the target, its spec and the identities)"}
	case !slices.Contains(huntFormats, c.Format):
		return bad("format", "must be one of "+strings.Join(huntFormats, ", "))
	case !slices.Contains(huntFailOn, c.FailOn):
		return bad("fail-on", "must be one of "+strings.Join(huntFailOn, ", "))
	case !(c.Rate > 0 && c.Rate <= huntMaxRate):
		return bad("rate", fmt.Sprintf("must be above 0 and at most %d requests per second", huntMaxRate))
	case c.Budget < 1 || c.Budget > huntMaxBudget:
		return bad("budget", fmt.Sprintf("must be from 1 to %d requests", huntMaxBudget))
	case c.Timeout <= 0 || c.Timeout > huntMaxTimeout:
		return bad("timeout", fmt.Sprintf("must be above 0 and at most %s", huntMaxTimeout))
	case c.Concurrency < 1 || c.Concurrency > huntMaxConcurrency:
		return bad("concurrency", fmt.Sprintf("must be from 1 to %d", huntMaxConcurrency))
	case c.Burst < 1 || c.Burst > huntMaxBurst:
		return bad("burst", fmt.Sprintf("must be from 1 to %d requests", huntMaxBurst))
	case c.Baseline != "" && c.Baseline == c.Out, c.WriteBaseline != "" && c.WriteBaseline == c.Out:
		return bad("out", "must not be the baseline file")
	}
	return nil
}

const huntUsage = `Usage: vigil hunt --config hunt.yaml [flags]

Replays every operation of an API's OpenAPI document as anonymous callers
and as the identities of the config, and reports missing authentication
and authorization checks, data exposure, enumerable ids and missing rate
limits.

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage, config
or target errors.

Flags:
`

// runHunt is `vigil hunt`. Every failure other than findings at or above
// --fail-on exits with status 2, so CI tells "the API has problems" (1)
// from "the hunt could not run" (2).
func runHunt(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := huntMain(ctx, args, getenv, stdout, stderr)
	var ee exitError
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.As(err, &ee) {
		return err
	}
	return exitError{code: 2, err: err}
}

func huntMain(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	c := defaultHuntConfig()
	fs := flag.NewFlagSet("vigil hunt", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), huntUsage)
		fs.PrintDefaults()
	}
	huntFlags(fs, &c)
	if err := parseFlags(fs, args, getenv, nil); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}

	// Everything that can be checked before the hunt is: a mistake found
	// after minutes of probing wastes them.
	var baseline *report.Baseline
	if c.Baseline != "" {
		b, err := report.LoadBaseline(c.Baseline)
		if err != nil {
			return err
		}
		baseline = b
	}
	out, err := newOutput(c.Out, stdout)
	if err != nil {
		return &ConfigError{Setting: "out", Problem: err.Error()}
	}
	defer out.abort()
	var baselineOut *output
	if c.WriteBaseline != "" {
		if baselineOut, err = newOutput(c.WriteBaseline, nil); err != nil {
			return &ConfigError{Setting: "write-baseline", Problem: err.Error()}
		}
		defer baselineOut.abort()
	}
	cfg, err := hunt.LoadConfig(c.Config)
	if err != nil {
		return fmt.Errorf("hunt: %s: %w", c.Config, err)
	}

	opts := hunt.Options{
		UnsafeMethods: c.UnsafeMethods,
		Rate:          c.Rate,
		Budget:        c.Budget,
		Timeout:       c.Timeout,
		Concurrency:   c.Concurrency,
		Burst:         c.Burst,
	}
	progress := report.NewProgress(stderr, isTerminal(stderr))
	opts.Progress = progress
	rep, err := hunt.Run(ctx, cfg, opts)
	progress(-1, -1)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("hunt: interrupted before it finished: no report (%w)", err)
		}
		return fmt.Errorf("hunt: %w", err)
	}
	specText := relativeSpec(rep)

	if baselineOut != nil {
		nb := report.NewBaseline(rep.Findings, baseline)
		if err := nb.Write(baselineOut); err != nil {
			return err
		}
		if err := baselineOut.commit(); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "vigil hunt: wrote %d accepted findings to %s\n", len(nb.Accepted), c.WriteBaseline)
	}
	if stale := baseline.Apply(rep); len(stale) > 0 && baselineOut == nil {
		fmt.Fprintf(stderr, "vigil hunt: %d findings accepted in %s were not found this time (fixed, or the API changed); --write-baseline prunes them\n",
			len(stale), c.Baseline)
	}

	switch c.Format {
	case "json":
		err = report.WriteJSON(out, rep)
	case "sarif":
		err = report.WriteSARIFOptions(out, rep, report.SARIFOptions{ToolVersion: version(), SpecURI: rep.Spec, Spec: specText})
	case "junit":
		err = report.WriteJUnit(out, rep)
	default:
		err = report.WriteTable(out, rep)
	}
	if err != nil {
		return err
	}
	if err := out.commit(); err != nil {
		return err
	}
	if rep.Stats.BudgetSpent {
		fmt.Fprintf(stderr, "vigil hunt: the request budget (--budget %d) ran out before the hunt finished: findings may be missing\n", c.Budget)
	}
	if baselineOut != nil || !report.Exceeds(rep, c.FailOn) {
		return nil
	}
	return exitError{code: 1, err: fmt.Errorf("hunt: %d of %d findings at or above --fail-on %s",
		report.CountAtOrAbove(rep, c.FailOn), len(rep.Findings), c.FailOn)}
}

// isTerminal reports whether w is a terminal, where the progress bar goes.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// output is where a report goes: stdout, or a file written in full or not
// at all (a temporary file beside it, renamed into place by commit), so a
// hunt that fails never leaves half a report or truncates the last good
// one.
type output struct {
	io.Writer
	tmp  *os.File
	path string
}

// newOutput opens the output for path, or w when path is empty. It
// creates the temporary file at once, so an unwritable path fails before
// the hunt rather than after it.
func newOutput(path string, w io.Writer) (*output, error) {
	if path == "" {
		return &output{Writer: w}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	return &output{Writer: tmp, tmp: tmp, path: path}, nil
}

// commit moves the file into place.
func (o *output) commit() error {
	if o.tmp == nil {
		return nil
	}
	tmp := o.tmp
	o.tmp = nil
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), o.path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

// abort removes the temporary file unless commit has moved it.
func (o *output) abort() {
	if o.tmp != nil {
		o.tmp.Close()
		os.Remove(o.tmp.Name())
		o.tmp = nil
	}
}

// relativeSpec makes rep.Spec relative to the working directory (in CI,
// the repository's root) when it is a local file below it, so reports do
// not change with where the repository is checked out, and returns the
// file's text, with which SARIF locates findings in the document
// (code-scanning dashboards show only results with such a location). It
// returns nil, leaving rep.Spec alone, for a URL or a file elsewhere.
func relativeSpec(rep *hunt.Report) []byte {
	spec := rep.Spec
	if spec == "" || strings.Contains(spec, "://") {
		return nil
	}
	abs, err := filepath.Abs(spec)
	if err != nil {
		return nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return nil
	}
	rel, err := filepath.Rel(wd, abs)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return nil
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil
	}
	defer f.Close()
	text, err := io.ReadAll(io.LimitReader(f, huntMaxSpecSize))
	if err != nil {
		return nil
	}
	rep.Spec = filepath.ToSlash(rel)
	return text
}
