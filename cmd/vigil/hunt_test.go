package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/vigil-dev/vigil/hunt"
)

func TestExitCode(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{errors.New("boom"), 1},
		{&ConfigError{Setting: "listen", Problem: "bad"}, 1}, // serve's config errors keep status 1
		{usageError{"no command given"}, 2},
		{fmt.Errorf("wrapped: %w", usageError{"x"}), 2},
		{flag.ErrHelp, 2},
		{exitError{code: 1, err: errors.New("hunt: 3 findings")}, 1},
		{exitError{code: 2, err: errors.New("hunt: target unreachable")}, 2},
		{exitError{code: 2, err: &ConfigError{Setting: "rate", Problem: "bad"}}, 2},
		{fmt.Errorf("outer: %w", exitError{code: 1, err: errors.New("x")}), 1},
		{exitError{code: 1, err: usageError{"x"}}, 1}, // the command's own status wins
	} {
		if got := exitCode(tc.err); got != tc.want {
			t.Errorf("exitCode(%v) = %d, want %d", tc.err, got, tc.want)
		}
	}
	if err := (exitError{code: 2, err: usageError{"x"}}); !errors.As(err, new(usageError)) || err.Error() != "x" {
		t.Error("exitError does not unwrap to its cause")
	}
}

// runHuntCmd runs `vigil hunt args...` in-process and returns its exit
// status, stdout and stderr.
func runHuntCmd(t *testing.T, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"hunt"}, args...), envMap(env), &out, &errb)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		errb.WriteString("vigil: " + err.Error() + "\n") // as main prints it
	}
	return exitCode(err), out.String(), errb.String()
}

func TestHuntFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cfg := writeHuntTarget(t, dir, "http://127.0.0.1:1") // valid config; the target is never reached here
	badBaseline := filepath.Join(dir, "bad-baseline.json")
	if err := os.WriteFile(badBaseline, []byte(`{"version": 1, "acepted": []}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in stderr
	}{
		{"no config", nil, nil, "--config is required"},
		{"unknown flag", []string{"--config", cfg, "--colour"}, nil, "flag provided but not defined: -colour"},
		{"stray argument", []string{"--config", cfg, "extra"}, nil, `unexpected argument "extra"`},
		{"bad format", []string{"--config", cfg, "--format", "xml"}, nil, "invalid --format (VIGIL_FORMAT): must be one of table, json, sarif, junit"},
		{"bad fail-on", []string{"--config", cfg, "--fail-on", "severe"}, nil, "invalid --fail-on"},
		{"bad rate", []string{"--config", cfg, "--rate", "0"}, nil, "invalid --rate"},
		{"bad budget", []string{"--config", cfg, "--budget", "-1"}, nil, "invalid --budget"},
		{"bad timeout", []string{"--config", cfg, "--timeout", "0s"}, nil, "invalid --timeout"},
		{"bad concurrency", []string{"--config", cfg, "--concurrency", "0"}, nil, "invalid --concurrency"},
		{"bad burst", []string{"--config", cfg, "--burst", "0"}, nil, "invalid --burst"},
		{"bad env twin", []string{"--config", cfg}, map[string]string{"VIGIL_RATE": "fast"}, "invalid --rate (VIGIL_RATE): bad value from environment"},
		{"env twin checked", nil, map[string]string{"VIGIL_CONFIG": cfg, "VIGIL_FORMAT": "yaml"}, "invalid --format"},
		{"out is baseline", []string{"--config", cfg, "--baseline", badBaseline, "--out", badBaseline}, nil, "invalid --out"},
		{"missing config file", []string{"--config", filepath.Join(dir, "nope.yaml")}, nil, "nope.yaml: config: file:"},
		{"missing baseline", []string{"--config", cfg, "--baseline", filepath.Join(dir, "nope.json")}, nil, "no such file (create one with --write-baseline)"},
		{"bad baseline", []string{"--config", cfg, "--baseline", badBaseline}, nil, `unknown field "acepted"`},
		{"unwritable out", []string{"--config", cfg, "--out", filepath.Join(dir, "no", "such", "dir", "r.json")}, nil, "invalid --out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runHuntCmd(t, tc.env, tc.args...)
			if code != 2 {
				t.Errorf("exit status %d, want 2; stderr:\n%s", code, stderr)
			}
			if !strings.Contains(stderr, tc.want) {
				t.Errorf("stderr lacks %q:\n%s", tc.want, stderr)
			}
			if stdout != "" {
				t.Errorf("stdout = %q, want nothing", stdout)
			}
		})
	}

	code, stdout, stderr := runHuntCmd(t, nil, "--help")
	if code != 2 || !strings.Contains(stderr, "Exit status: 0 clean, 1 findings at or above --fail-on") || !strings.Contains(stderr, "VIGIL_FAIL_ON") || stdout != "" {
		t.Errorf("--help: status %d, stderr:\n%s", code, stderr)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(entries) > 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

// The notes API that the CLI tests hunt: alice and bob each own a note
// whose answer carries its owner's email. The vulnerable twin serves any
// note to anyone; the fixed one only to its owner.
const huntTestSpec = `{
  "openapi": "3.0.3",
  "info": {"title": "notes", "version": "1"},
  "security": [{"bearer": []}],
  "paths": {
    "/health": {
      "get": {"security": [], "responses": {"200": {"description": "up"}}}
    },
    "/notes/{note_id}": {
      "get": {
        "parameters": [{"name": "note_id", "in": "path", "required": true, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the note"}, "404": {"description": "no such note"}}
      }
    }
  },
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}}
}`

func notesServer(fixed bool) http.Handler {
	notes := map[string]map[string]string{
		"n-a1b2c3": {"id": "n-a1b2c3", "owner": "alice", "email": "alice.liddell@example.com", "text": "alice's first diary entry"},
		"n-d4e5f6": {"id": "n-d4e5f6", "owner": "bob", "email": "bob.builder@example.org", "text": "bob's shopping list"},
	}
	tokens := map[string]string{"Bearer alice-token-0123456789": "alice", "Bearer bob-token-9876543210": "bob"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok"}`)
	})
	mux.HandleFunc("GET /notes/{note_id}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		who, signedIn := tokens[r.Header.Get("Authorization")]
		if fixed && !signedIn {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"unauthenticated"}`)
			return
		}
		n, ok := notes[r.PathValue("note_id")]
		if !ok || (fixed && n["owner"] != who) {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":"not found"}`)
			return
		}
		json.NewEncoder(w).Encode(n)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) })
	return mux
}

// writeHuntTarget writes the spec and a config for target into dir and
// returns the config's path.
func writeHuntTarget(t *testing.T, dir, target string) string {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), []byte(huntTestSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`target: %s
spec: openapi.json
public: ["GET /health"]
identities:
  - name: alice
    headers: {Authorization: "Bearer alice-token-0123456789"}
    owns: {note_id: ["n-a1b2c3"]}
  - name: bob
    headers: {Authorization: "Bearer bob-token-9876543210"}
    owns: {note_id: ["n-d4e5f6"]}
`, target)
	path := filepath.Join(dir, "hunt.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// huntFast are flags that keep a hunt of the small test API quick.
var huntFast = []string{"--rate", "2000", "--burst", "20", "--timeout", "5s"}

// huntJSON is the part of --format json the tests read.
type huntJSON struct {
	Findings []hunt.Finding `json:"findings"`
	Stats    hunt.Stats     `json:"stats"`
}

func readHuntJSON(t *testing.T, data []byte) huntJSON {
	t.Helper()
	var r huntJSON
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatalf("not the JSON report: %v\n%s", err, data)
	}
	if r.Findings == nil {
		t.Fatalf("findings is not an array:\n%s", data)
	}
	return r
}

func TestHuntEndToEnd(t *testing.T) {
	srv := httptest.NewServer(notesServer(false))
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeHuntTarget(t, dir, srv.URL)
	args := func(extra ...string) []string {
		return append(append([]string{"--config", cfg}, huntFast...), extra...)
	}

	// The vulnerable API: findings, status 1, the JSON report on stdout.
	code, stdout, stderr := runHuntCmd(t, nil, args("--format", "json")...)
	if code != 1 {
		t.Fatalf("vulnerable API: exit status %d, want 1; stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "at or above --fail-on medium") {
		t.Errorf("stderr does not say why the run failed:\n%s", stderr)
	}
	if strings.Contains(stderr, "\r") {
		t.Errorf("progress bar drawn on a stderr that is no terminal: %q", stderr)
	}
	rep := readHuntJSON(t, []byte(stdout))
	if len(rep.Findings) == 0 || rep.Stats.Findings != len(rep.Findings) {
		t.Fatalf("findings = %+v, stats %+v", rep.Findings, rep.Stats)
	}
	found := map[string]bool{}
	for _, f := range rep.Findings {
		found[f.Rule+" "+f.Method+" "+f.Path] = true
		if f.Fingerprint == "" {
			t.Errorf("finding without fingerprint: %+v", f)
		}
		if strings.Contains(f.Evidence.Excerpt, "token-") || strings.Contains(f.Evidence.Request, "token-") {
			t.Errorf("evidence shows a credential: %+v", f.Evidence)
		}
	}
	if !found["broken-authentication GET /notes/{note_id}"] {
		t.Errorf("no broken-authentication finding on GET /notes/{note_id}; found %v", found)
	}

	// --fail-on critical still fails (broken authentication is critical);
	// --fail-on none reports without failing.
	if code, _, stderr := runHuntCmd(t, nil, args("--format", "json", "--fail-on", "none")...); code != 0 {
		t.Errorf("--fail-on none: exit status %d, want 0; stderr:\n%s", code, stderr)
	}

	// Accept the findings, then hunt again with the baseline: clean.
	baseline := filepath.Join(dir, "baseline.json")
	code, _, stderr = runHuntCmd(t, nil, args("--format", "json", "--write-baseline", baseline)...)
	if code != 0 || !strings.Contains(stderr, fmt.Sprintf("wrote %d accepted findings to %s", len(rep.Findings), baseline)) {
		t.Fatalf("--write-baseline: exit status %d; stderr:\n%s", code, stderr)
	}
	code, stdout, stderr = runHuntCmd(t, nil, args("--format", "json", "--baseline", baseline)...)
	if code != 0 {
		t.Fatalf("with the baseline: exit status %d, want 0; stderr:\n%s", code, stderr)
	}
	accepted := readHuntJSON(t, []byte(stdout))
	if len(accepted.Findings) != 0 || accepted.Stats.Suppressed != len(rep.Findings) || accepted.Stats.Findings != 0 {
		t.Errorf("with the baseline: %d findings, stats %+v; want 0 and %d suppressed", len(accepted.Findings), accepted.Stats, len(rep.Findings))
	}

	// The other formats, to files.
	sarifPath, junitPath, tablePath := filepath.Join(dir, "hunt.sarif"), filepath.Join(dir, "hunt.xml"), filepath.Join(dir, "hunt.txt")
	for format, path := range map[string]string{"sarif": sarifPath, "junit": junitPath, "table": tablePath} {
		code, stdout, stderr := runHuntCmd(t, nil, args("--format", format, "--out", path)...)
		if code != 1 || stdout != "" {
			t.Errorf("--format %s --out: exit status %d, stdout %q; stderr:\n%s", format, code, stdout, stderr)
		}
	}
	var sarif struct {
		Version string `json:"version"`
		Runs    []struct {
			Results []struct {
				RuleID string `json:"ruleId"`
			} `json:"results"`
		} `json:"runs"`
	}
	if data, err := os.ReadFile(sarifPath); err != nil || json.Unmarshal(data, &sarif) != nil || sarif.Version != "2.1.0" ||
		len(sarif.Runs) != 1 || len(sarif.Runs[0].Results) != len(rep.Findings) {
		t.Errorf("SARIF file: %v, %+v", err, sarif)
	}
	var junit struct {
		Failures int `xml:"failures,attr"`
	}
	if data, err := os.ReadFile(junitPath); err != nil || xml.Unmarshal(data, &junit) != nil || junit.Failures == 0 {
		t.Errorf("JUnit file: %v, %d failures", err, junit.Failures)
	}
	if data, err := os.ReadFile(tablePath); err != nil || !strings.Contains(string(data), "broken-authentication") {
		t.Errorf("table file: %v\n%s", err, data)
	}
	if entries, _ := filepath.Glob(filepath.Join(dir, ".*.tmp")); len(entries) > 0 {
		t.Errorf("temporary files left behind: %v", entries)
	}
}

func TestHuntFixedAPIIsClean(t *testing.T) {
	srv := httptest.NewServer(notesServer(true))
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeHuntTarget(t, dir, srv.URL)
	baseline := filepath.Join(dir, "baseline.json")
	stale := `{"version": 1, "accepted": [{"fingerprint": "0123456789abcdef0123456789abcdef", "rule": "bola", "method": "GET", "path": "/gone", "note": ""}]}`
	if err := os.WriteFile(baseline, []byte(stale), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runHuntCmd(t, nil, append(append([]string{"--config", cfg}, huntFast...), "--baseline", baseline)...)
	if code != 0 {
		t.Fatalf("fixed API: exit status %d, want 0; stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if !strings.Contains(stdout, "no findings: ") {
		t.Errorf("table does not say the API is clean:\n%s", stdout)
	}
	if !strings.Contains(stderr, "1 findings accepted in "+baseline+" were not found this time") {
		t.Errorf("stale baseline entry not pointed out:\n%s", stderr)
	}
}

func TestHuntTargetErrors(t *testing.T) {
	dir := t.TempDir()
	// A port nothing listens on: take one, then close it.
	srv := httptest.NewServer(http.NotFoundHandler())
	down := srv.URL
	srv.Close()
	cfg := writeHuntTarget(t, dir, down)
	code, stdout, stderr := runHuntCmd(t, nil, append([]string{"--config", cfg}, huntFast...)...)
	if code != 2 || !strings.Contains(stderr, "is unreachable") || stdout != "" {
		t.Errorf("unreachable target: exit status %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 {
		t.Errorf("unreachable target: %d lines on stderr, want one:\n%s", n+1, stderr)
	}

	up := httptest.NewServer(notesServer(false))
	defer up.Close()
	cfg = writeHuntTarget(t, dir, up.URL)
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), []byte(`{"openapi": "3.0.3", "paths": [`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runHuntCmd(t, nil, append([]string{"--config", cfg}, huntFast...)...)
	if code != 2 || !strings.Contains(stderr, "does not load") && !strings.Contains(stderr, "not a valid OpenAPI") {
		t.Errorf("broken spec: exit status %d, stderr:\n%s", code, stderr)
	}

	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("target: ftp://example.com\nspec: openapi.json\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runHuntCmd(t, nil, "--config", bad)
	if code != 2 || !strings.Contains(stderr, "config: target") {
		t.Errorf("bad config: exit status %d, stderr:\n%s", code, stderr)
	}
}

// TestHuntExitStatus runs the real binary, so main's mapping of errors to
// exit statuses is what is checked.
func TestHuntExitStatus(t *testing.T) {
	bin := vigilBinary(t)
	srv := httptest.NewServer(notesServer(false))
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeHuntTarget(t, dir, srv.URL)
	for _, tc := range []struct {
		args []string
		want int
	}{
		{append([]string{"hunt", "--config", cfg, "--format", "json"}, huntFast...), 1},
		{append([]string{"hunt", "--config", cfg, "--fail-on", "none"}, huntFast...), 0},
		{[]string{"hunt", "--config", filepath.Join(dir, "missing.yaml")}, 2},
		{[]string{"hunt"}, 2},
	} {
		cmd := exec.Command(bin, tc.args...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != tc.want {
			t.Errorf("vigil %s: exit status %d, want %d; stderr:\n%s", strings.Join(tc.args, " "), code, tc.want, stderr.String())
		}
	}
}

// TestHuntSARIFLocatesInSpec hunts from the directory that holds the spec,
// as CI does from a repository's root: SARIF results then point at the
// operation's line in the spec, which code-scanning dashboards need, and
// the log is valid against the SARIF 2.1.0 schema.
func TestHuntSARIFLocatesInSpec(t *testing.T) {
	schemaPath, err := filepath.Abs(filepath.Join("..", "..", "hunt", "report", "testdata", "sarif-schema-2.1.0.json"))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(notesServer(false))
	defer srv.Close()
	dir := t.TempDir()
	cfg := writeHuntTarget(t, dir, srv.URL)
	t.Chdir(dir)
	code, stdout, stderr := runHuntCmd(t, nil, append([]string{"--config", filepath.Base(cfg), "--format", "sarif"}, huntFast...)...)
	if code != 1 {
		t.Fatalf("exit status %d, want 1; stderr:\n%s", code, stderr)
	}

	f, err := os.Open(schemaPath)
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
	if err := c.AddResource("https://vigil.invalid/sarif.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("https://vigil.invalid/sarif.json")
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(strings.NewReader(stdout))
	if err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout)
	}
	if err := sch.Validate(inst); err != nil {
		t.Errorf("invalid SARIF: %v\n%s", err, stdout)
	}

	var log struct {
		Runs []struct {
			Results []struct {
				Locations []struct {
					PhysicalLocation struct {
						ArtifactLocation struct{ URI string }
						Region           struct{ StartLine int }
					}
				}
			}
			Properties struct{ Spec string }
		}
	}
	if err := json.Unmarshal([]byte(stdout), &log); err != nil || len(log.Runs) != 1 || len(log.Runs[0].Results) == 0 {
		t.Fatalf("SARIF: %v\n%s", err, stdout)
	}
	wantLine := 1 + strings.Count(huntTestSpec[:strings.Index(huntTestSpec, `"/notes/{note_id}"`)], "\n") + 1 // the "get" under the path
	for _, r := range log.Runs[0].Results {
		pl := r.Locations[0].PhysicalLocation
		if pl.ArtifactLocation.URI != "openapi.json" || pl.Region.StartLine != wantLine {
			t.Errorf("physical location %+v, want openapi.json line %d", pl, wantLine)
		}
	}
	if got := log.Runs[0].Properties.Spec; got != "openapi.json" {
		t.Errorf("run's spec = %q, want the path relative to the working directory", got)
	}
}

func TestHuntInterrupted(t *testing.T) {
	srv := httptest.NewServer(notesServer(false))
	defer srv.Close()
	cfg := writeHuntTarget(t, t.TempDir(), srv.URL)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	err := run(ctx, append([]string{"hunt", "--config", cfg}, huntFast...), noEnv, &stdout, &stderr)
	if exitCode(err) != 2 || !strings.Contains(fmt.Sprint(err), "interrupted") || stdout.Len() != 0 {
		t.Errorf("interrupted hunt: err = %v (status %d), stdout %q", err, exitCode(err), stdout.String())
	}
}
