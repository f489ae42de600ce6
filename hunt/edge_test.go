package hunt_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/vigil-dev/vigil/hunt"
)

// edgeSpec describes edgeAPI: judgements the vulnerable twin does not
// exercise.
const edgeSpec = `{
  "openapi": "3.0.3",
  "info": {"title": "edge", "version": "1"},
  "security": [{"bearer": []}],
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
  "paths": {
    "/admin/stats": {"get": {"x-required-role": "admin", "responses": {"200": {"description": "ok"}}}},
    "/v1/people/{person}": {"get": {"parameters": [{"name": "person", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}},
    "/v1/docs": {"post": {"requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string"}}}}}}, "responses": {"201": {"description": "ok"}}}},
    "/v1/docs/{doc_id}": {
      "parameters": [{"name": "doc_id", "in": "path", "required": true, "schema": {"type": "string"}}],
      "get": {"responses": {"200": {"description": "ok"}}},
      "delete": {"responses": {"204": {"description": "ok"}}}
    },
    "/v1/docs/{doc_id}/share": {"post": {"parameters": [{"name": "doc_id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}},
    "/v1/mine/{doc_id}": {"get": {"parameters": [{"name": "doc_id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}}
  }
}`

// edgeAPI: an admin route open to anyone; a people lookup, without a
// limit, whose view for others still shows the email; documents anyone may
// delete or share but only the owner may read; and a route that ignores the
// id it is given and answers with the caller's own document (which must
// stay quiet).
type edgeAPI struct {
	mu   sync.Mutex
	docs map[string]map[string]string
}

var edgeTokens = map[string]string{"tok-alice": "alice", "tok-bob": "bob", "tok-admin": "admin"}

func (e *edgeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	if r.URL.Path == "/admin/stats" {
		out(200, map[string]any{"accounts": 3, "sessions": 7, "signups_today": 1})
		return
	}
	who := edgeTokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
	if who == "" {
		out(401, map[string]string{"error": "unauthenticated"})
		return
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case len(seg) == 3 && seg[1] == "people":
		p := seg[2]
		card := map[string]string{"name": p, "email": p + "@edge.example.com"}
		if p == who {
			card["phone"] = "+1 555 0199 " + map[string]string{"alice": "111", "bob": "222", "admin": "333"}[p]
			card["address"] = "1 Main St"
		}
		out(200, card)
	case r.Method == "POST" && r.URL.Path == "/v1/docs":
		var in map[string]string
		_ = json.NewDecoder(r.Body).Decode(&in)
		b := make([]byte, 5)
		_, _ = rand.Read(b)
		d := map[string]string{"id": "d-" + hex.EncodeToString(b), "owner": who, "title": in["title"]}
		e.docs[d["id"]] = d
		out(201, d)
	case len(seg) == 3 && seg[1] == "docs":
		d := e.docs[seg[2]]
		switch {
		case d == nil:
			out(404, map[string]string{"error": "not found"})
		case r.Method == "DELETE": // anyone signed in
			delete(e.docs, seg[2])
			w.WriteHeader(204)
		case d["owner"] != who:
			out(404, map[string]string{"error": "not found"})
		default:
			out(200, d)
		}
	case len(seg) == 4 && seg[3] == "share": // anyone signed in
		if e.docs[seg[2]] == nil {
			out(404, map[string]string{"error": "not found"})
			return
		}
		out(200, map[string]any{"shared": true, "doc_id": seg[2]})
	case len(seg) == 3 && seg[1] == "mine": // the caller's own, whatever the id
		for _, d := range e.docs {
			if d["owner"] == who {
				out(200, d)
				return
			}
		}
		out(404, map[string]string{"error": "not found"})
	default:
		out(404, map[string]string{"error": "not found"})
	}
}

func TestHuntEdgeCases(t *testing.T) {
	srv, c := MustServe(t, &edgeAPI{docs: map[string]map[string]string{}})
	spec := filepath.Join(t.TempDir(), "edge.json")
	if err := os.WriteFile(spec, []byte(edgeSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &hunt.Config{Target: srv.URL, Spec: spec, Roles: []string{"user", "admin"}, Identities: []hunt.Identity{
		{Name: "alice", Role: "user", Headers: map[string]string{"Authorization": "Bearer tok-alice"}, Owns: map[string][]string{"person": {"alice"}}},
		{Name: "bob", Role: "user", Headers: map[string]string{"Authorization": "Bearer tok-bob"}, Owns: map[string][]string{"person": {"bob"}}},
		{Name: "admin", Role: "admin", Headers: map[string]string{"Authorization": "Bearer tok-admin"}},
	}}
	rep, err := hunt.Run(context.Background(), cfg, fast(true))
	if err != nil {
		t.Fatal(err)
	}
	want := map[key][]string{
		// An admin-only operation anyone reaches, though it shows nothing
		// private: the higher role's view is the proof.
		{hunt.RuleBrokenAuthentication, "GET", "/admin/stats"}: {"anonymous", "admin"},
		// Others get a smaller view, which is allowed, but it still shows
		// the email: exposure, not BOLA.
		{hunt.RuleDataExposure, "GET", "/v1/people/{person}"}: {"bob", "alice"},
		// A lookup of people by name, without a limit.
		{hunt.RuleNoRateLimit, "GET", "/v1/people/{person}"}: {"alice"},
		// bob's DELETE made alice's document disappear for alice.
		{hunt.RuleBOLA, "DELETE", "/v1/docs/{doc_id}"}: {"bob", "alice"},
	}
	got := map[key]hunt.Finding{}
	for _, f := range rep.Findings {
		got[key{f.Rule, f.Method, f.Path}] = f
	}
	// A write that cannot be read back is only suspected.
	share := key{hunt.RuleBOLA, "POST", "/v1/docs/{doc_id}/share"}
	if f, ok := got[share]; !ok || f.Confidence != hunt.Suspected || f.Severity != hunt.SeverityMedium {
		t.Errorf("%s: %+v, want a suspected finding of medium severity", share, f)
	}
	delete(got, share)
	rep.Findings = rep.Findings[:0]
	for _, f := range got {
		rep.Findings = append(rep.Findings, f)
	}
	checkExactly(t, rep, want)
	mine := 0
	for m, n := range c.methods {
		if strings.HasPrefix(m, "GET /v1/mine/") {
			mine += n
		}
	}
	if mine < 6 { // each identity on its own and on the others' ids
		t.Errorf("GET /v1/mine/{doc_id} was sent %d times", mine)
	}
}
