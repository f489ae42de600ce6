package hunt_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/hunt"
)

// The issue's example config, verbatim, loads as written.
const issueExample = `
target: http://127.0.0.1:8080          # base URL
spec: openapi.json                      # file path (relative to the config) or URL
public: ["GET /health", "POST /auth/login"]   # operations meant for anonymous callers
rate_limited: ["POST /auth/login"]      # operations that must answer 429 to a burst (others are judged by heuristics)
identities:
  - name: alice
    role: user                          # roles are ordered by the ` + "`roles`" + ` list below
    login: {method: POST, path: /auth/login, body: {username: alice, password: "..."}, token: access_token}
    # token: the JSON field (dotted path) of the answer that holds the bearer token
    owns: {note_id: ["n-123"], account_id: ["1"]}   # path/query parameter name -> ids this identity owns
  - name: admin
    role: admin
    headers: {Authorization: "Bearer static-token"}
roles: [user, admin]                    # lowest first
requires:                               # operations that need at least this role; the rest need any signed-in identity
  "GET /admin/users": admin             # (spec tags or x- extensions may say the same; path names alone are only a hint)
`

// MustWriteConfig writes a config and an (empty) openapi.json beside it.
func MustWriteConfig(tb testing.TB, body string) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), []byte("{}"), 0o600); err != nil {
		tb.Fatal(err)
	}
	p := filepath.Join(dir, "hunt.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		tb.Fatal(err)
	}
	return p
}

func TestLoadConfigIssueExample(t *testing.T) {
	p := MustWriteConfig(t, issueExample)
	cfg, err := hunt.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	want := &hunt.Config{
		Target:      "http://127.0.0.1:8080",
		Spec:        filepath.Join(filepath.Dir(p), "openapi.json"),
		Public:      []string{"GET /health", "POST /auth/login"},
		RateLimited: []string{"POST /auth/login"},
		Identities: []hunt.Identity{
			{Name: "alice", Role: "user",
				Login: &hunt.Login{Method: "POST", Path: "/auth/login", Body: map[string]any{"username": "alice", "password": "..."}, Token: "access_token"},
				Owns:  map[string][]string{"note_id": {"n-123"}, "account_id": {"1"}}},
			{Name: "admin", Role: "admin", Headers: map[string]string{"Authorization": "Bearer static-token"}},
		},
		Roles:    []string{"user", "admin"},
		Requires: map[string]string{"GET /admin/users": "admin"},
	}
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("LoadConfig =\n%#v\nwant\n%#v", cfg, want)
	}
}

func TestLoadConfigTestdata(t *testing.T) {
	cfg, err := hunt.LoadConfig(vulnConfigPath)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(cfg.Spec) || filepath.Base(cfg.Spec) != "openapi.json" || len(cfg.Identities) != 3 {
		t.Errorf("cfg = %+v", cfg)
	}
}

func TestLoadConfigExpandsEnvironment(t *testing.T) {
	t.Setenv("HUNT_TEST_PASSWORD", "s3cret")
	t.Setenv("HUNT_TEST_TARGET", "http://127.0.0.1:9")
	p := MustWriteConfig(t, `
target: ${HUNT_TEST_TARGET}
spec: openapi.json
identities:
  - name: alice
    login: {path: /login, body: {password: "${HUNT_TEST_PASSWORD}", n: 3, ok: true}}
`)
	cfg, err := hunt.LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Target != "http://127.0.0.1:9" || !reflect.DeepEqual(cfg.Identities[0].Login.Body, map[string]any{"password": "s3cret", "n": int64(3), "ok": true}) {
		t.Errorf("cfg = %+v, body %#v", cfg, cfg.Identities[0].Login.Body)
	}
}

// Each mistake is one ConfigError naming the key.
func TestLoadConfigErrors(t *testing.T) {
	const base = "target: http://127.0.0.1:8080\nspec: openapi.json\n"
	const ids = "roles: [user, admin]\nidentities:\n  - name: alice\n    role: user\n    headers: {X-Api-Key: k}\n"
	for _, tc := range []struct {
		name, body, key, problem string
	}{
		{"unknown key", base + "targets: x\n", "targets", `did you mean "target"`},
		{"unknown key, far from any", base + "frobnicate: 1\n", "frobnicate", "unknown key"},
		{"unknown nested key", base + "identities:\n  - name: a\n    login: {path: /l, tokn: t}\n", "identities[0].login.tokn", `did you mean "token"`},
		{"unknown identity key", base + "identities:\n  - name: a\n    header: {A: b}\n", "identities[0].header", `did you mean "headers"`},
		{"missing target", "spec: openapi.json\n", "target", "missing"},
		{"target not http", "target: ftp://x\nspec: openapi.json\n", "target", "not an http(s) URL"},
		{"target with query", "target: http://x/?a=1\nspec: openapi.json\n", "target", "query"},
		{"missing spec", "target: http://x\n", "spec", "missing"},
		{"spec file absent", "target: http://x\nspec: nope.json\n", "spec", "cannot read"},
		{"bad role", base + "roles: [user, admin]\nidentities:\n  - name: a\n    role: root\n    headers: {A: b}\n", "identities[0].role", `unknown role "root" (roles: user, admin)`},
		{"role without roles", base + "identities:\n  - name: a\n    role: user\n    headers: {A: b}\n", "identities[0].role", "none are listed"},
		{"requires unknown role", base + ids + "requires: {\"GET /admin\": root}\n", "requires.GET /admin", `unknown role "root"`},
		{"requires bad operation", base + ids + "requires: {\"/admin\": admin}\n", "requires./admin", "not an operation"},
		{"identity cannot sign in", base + "identities:\n  - name: a\n", "identities[0]", "needs a login or headers"},
		{"identity without name", base + "identities:\n  - headers: {A: b}\n", "identities[0].name", "missing"},
		{"duplicate identity", base + "identities:\n  - {name: a, headers: {A: b}}\n  - {name: a, headers: {A: b}}\n", "identities[1].name", "listed twice"},
		{"reserved identity", base + "identities:\n  - {name: anonymous, headers: {A: b}}\n", "identities[0].name", "reserved"},
		{"login path", base + "identities:\n  - {name: a, login: {path: login}}\n", "identities[0].login.path", "must start with /"},
		{"login method", base + "identities:\n  - {name: a, login: {method: FETCH, path: /l}}\n", "identities[0].login.method", "not an HTTP method"},
		{"public not an operation", base + "public: [health]\n", "public[0]", "not an operation"},
		{"public bad method", base + "public: [\"FETCH /health\"]\n", "public[0]", "not an HTTP method"},
		{"exclude path", base + "exclude: [\"GET health\"]\n", "exclude[0]", "must start with /"},
		{"duplicate key", base + "target: http://y\n", "target", "duplicate key"},
		{"wrong type", base + "identities: alice\n", "identities", "must be a list"},
		{"wrong scalar type", base + "public: {a: b}\n", "public", "must be a list of strings"},
		{"owns not a map", base + "identities:\n  - {name: a, headers: {A: b}, owns: [1]}\n", "identities[0].owns", "must be a mapping"},
		{"unset variable", base + "identities:\n  - {name: a, login: {path: /l, body: {password: \"${HUNT_TEST_UNSET_VAR}\"}}}\n", "identities[0].login.body.password", "HUNT_TEST_UNSET_VAR is not set"},
		{"syntax", base + "public: [\n", "yaml", ""},
		{"empty", "", "target", "missing"},
		{"not a mapping", "- a\n- b\n", "file", "mapping"},
		{"merge key", base + "x: &x {name: a}\n", "x", "unknown key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := hunt.LoadConfig(MustWriteConfig(t, tc.body))
			var ce *hunt.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want a *ConfigError", err, err)
			}
			if ce.Key != tc.key || !strings.Contains(ce.Problem, tc.problem) {
				t.Errorf("err = %q, want key %q and a problem containing %q", err, tc.key, tc.problem)
			}
			if want := "config: " + ce.Key + ": " + ce.Problem; err.Error() != want {
				t.Errorf("Error() = %q, want %q", err.Error(), want)
			}
		})
	}
	if _, err := hunt.LoadConfig(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Errorf("a missing file loads")
	}
}
