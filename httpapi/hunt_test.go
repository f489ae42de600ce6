package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/hunt"
)

// huntConfig writes a hunt config for e's server: alice and bob sign in
// through the API, the admin comes with a session that passed 2FA (the
// 2FA step is not something a config can script); spec is the document
// to hunt by, public and admin operations read from its x-vigil-policy.
func huntConfig(t *testing.T, target string, alice, bob, adm *user, spec []byte) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "openapi.json"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	var public []string
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(spec, &doc); err != nil {
		t.Fatal(err)
	}
	var requires []string
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				Policy string `json:"x-vigil-policy"`
			}
			if json.Unmarshal(raw, &op) != nil {
				continue
			}
			switch op.Policy {
			case "public":
				public = append(public, fmt.Sprintf("%q", strings.ToUpper(method)+" "+path))
			case "admin":
				requires = append(requires, fmt.Sprintf("  %q: admin", strings.ToUpper(method)+" "+path))
			}
		}
	}
	login := func(u *user) string {
		return fmt.Sprintf(`{method: POST, path: /v1/sessions, body: {identifier: %q, password: %q}, token: token}`, u.Username, u.Password)
	}
	cfg := fmt.Sprintf(`target: %s
spec: openapi.json
public: [%s]
rate_limited: ["POST /v1/sessions", "GET /v1/users/{id}"]
identities:
  - name: alice
    role: user
    login: %s
    owns: {id: [%q]}
  - name: bob
    role: user
    login: %s
    owns: {id: [%q]}
  - name: root
    role: admin
    headers: {Authorization: "Bearer %s"}
roles: [user, admin]
requires:
%s
`, target, strings.Join(public, ", "), login(alice), alice.ID, login(bob), bob.ID, adm.Token, strings.Join(requires, "\n"))
	p := filepath.Join(dir, "hunt.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runHunt(t *testing.T, cfgPath string, unsafe ...bool) *hunt.Report {
	t.Helper()
	cfg, err := hunt.LoadConfig(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := hunt.Run(context.Background(), cfg, hunt.Options{Rate: 2000, Burst: 70, Concurrency: 4, UnsafeMethods: len(unsafe) > 0 && unsafe[0]})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// vigil hunt against vigil: nothing to report. The lookup limit is the
// default (60 at once, then 1/s), which the no-rate-limit probe must meet.
func TestHuntVigilReportsNothing(t *testing.T) {
	e := newEnv(t, "sqlite")
	alice, bob := e.signup("alice"), e.signup("bob")
	adm := e.admin("root")
	rep := runHunt(t, huntConfig(t, e.URL, alice, bob, adm, httpapi.OpenAPI()))
	for _, f := range rep.Findings {
		t.Errorf("finding on vigil: %s %s %s %s (%s): %s", f.Rule, f.Severity, f.Method, f.Path, f.Confidence, f.Evidence.Proof)
	}
	if rep.Stats.Probed < 15 {
		t.Errorf("only %d operations probed: %+v", rep.Stats.Probed, rep.Stats)
	}
}

// The same with writes: PUT, PATCH and DELETE of each identity's objects
// tried by the others.
func TestHuntVigilWithWritesReportsNothing(t *testing.T) {
	e := newEnv(t, "sqlite")
	alice, bob := e.signup("alice"), e.signup("bob")
	adm := e.admin("root")
	rep := runHunt(t, huntConfig(t, e.URL, alice, bob, adm, httpapi.OpenAPI()), true)
	for _, f := range rep.Findings {
		t.Errorf("finding on vigil: %s %s %s %s (%s): %s", f.Rule, f.Severity, f.Method, f.Path, f.Confidence, f.Evidence.Proof)
	}
	t.Logf("stats: %+v", rep.Stats)
}

// A check taken out of a throwaway route is caught: the incident's
// endpoint, mounted in front of vigil and declared in its document as
// needing a session, answers anyone with an account's private data.
func TestHuntCatchesAMissingCheck(t *testing.T) {
	e := newEnv(t, "sqlite")
	alice, bob := e.signup("alice"), e.signup("bob")
	adm := e.admin("root")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/debug/accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		// The bug: no authentication, and the owner's private view.
		acct, err := e.Store.AccountByID(r.Context(), r.PathValue("id"))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(acct.Private())
	})
	mux.Handle("/", e.Server)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)

	var doc map[string]any
	if err := json.Unmarshal(httpapi.OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	doc["paths"].(map[string]any)["/v1/debug/accounts/{id}"] = map[string]any{
		"get": map[string]any{
			"operationId":    "debugAccount",
			"x-vigil-policy": "authenticated",
			"security":       []any{map[string]any{"bearer": []any{}}},
			"parameters":     []any{map[string]any{"name": "id", "in": "path", "required": true, "schema": map[string]any{"type": "string"}}},
			"responses":      map[string]any{"200": map[string]any{"description": "the account"}},
		},
	}
	spec, _ := json.Marshal(doc)
	rep := runHunt(t, huntConfig(t, srv.URL, alice, bob, adm, spec))
	rules := map[string]bool{}
	for _, f := range rep.Findings {
		if f.Path != "/v1/debug/accounts/{id}" {
			t.Errorf("finding elsewhere: %s %s %s", f.Rule, f.Method, f.Path)
			continue
		}
		rules[f.Rule] = true
	}
	for _, want := range []string{hunt.RuleBrokenAuthentication, hunt.RuleDataExposure} {
		if !rules[want] {
			t.Errorf("the missing check was not reported as %s; findings: %+v", want, rep.Findings)
		}
	}
}
