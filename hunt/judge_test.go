package hunt

import (
	"errors"
	goparser "go/parser"
	"go/token"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		key, val string
		str      bool
		want     string // kind of the first item, "" for none
	}{
		{"email", "alice@example.com", true, kindEmail},
		{"contact", "write to bob@example.org today", true, kindEmail},
		{"phone", "+1 555 0100 101", true, kindPhone},
		{"mobile", "0612345678", true, kindPhone},
		{"note", "+44 20 7946 0958", true, kindPhone},
		{"count", "1234567", true, ""},
		{"password_hash", "$argon2id$v=19$m=65536,t=2,p=2$c2FsdA$aGFzaA", true, kindHash},
		{"x", "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy", true, kindHash},
		{"t", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl", true, kindJWT},
		{"password_reset_token", "abc123def456", true, kindSecret},
		{"otp", "123456", false, kindSecret},
		{"token_type", "Bearer", true, ""},
		{"reset_at", "2026-11-20T08:10:00Z", true, ""},
		{"next_page_token", "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5", true, ""},
		{"shipping", "Express delivery", true, ""},
		{"blob", "Zq8xP2mL7vR4tN9wK3sB6yH1", true, kindToken},
		{"id", "Zq8xP2mL7vR4tN9wK3sB6yH1", true, ""},
		{"note_id", "n-a1c3e5", true, ""},
		{"request", "550e8400-e29b-41d4-a716-446655440000", true, ""},
		{"file", "image-2024-01-01-final.png", true, ""},
		{"title", "Maintenance on Sunday", true, ""},
		{"when", "2026-11-20T08:10:00Z", true, ""},
		{"short", "abc", true, ""},
	} {
		items := classifyAll(tc.key, tc.val, tc.str)
		got := ""
		if len(items) > 0 {
			got = items[0].kind
		}
		if got != tc.want {
			t.Errorf("classifyAll(%q, %q) = %v, want %q", tc.key, tc.val, items, tc.want)
		}
	}
}

func TestMask(t *testing.T) {
	for _, tc := range []struct{ kind, in, want string }{
		{kindEmail, "alice@example.com", "a…@example.com"},
		{kindHash, "$argon2id$v=19$m=65536$abc", "$argon2id$…"},
		{kindSecret, "4aef0c1d2e3f", "4ae…"},
		{kindJWT, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln", "eyJh…"},
		{kindPhone, "+1 555 0100 101", "+1 …"},
	} {
		if got := mask(tc.kind, tc.in); got != tc.want {
			t.Errorf("mask(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	a := &answer{req: &request{method: "GET", url: "http://x/y?token=abcdefabcdefabcdef&q=1", who: "bob"}, status: 200, ctype: "text/html",
		body: []byte("<p>mail carol@example.com, jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl hash $2a$10$N9qo8uLOickgx2ZMRZoMye</p>")}
	ex := excerpt(a)
	for _, s := range []string{"carol@", "eyJzdWIi", "N9qo8u"} {
		if strings.Contains(ex, s) {
			t.Errorf("excerpt %q carries %q", ex, s)
		}
	}
	if d := a.req.display(); strings.Contains(d, "abcdefabcdef") || !strings.Contains(d, "q=1") || !strings.HasSuffix(d, " as bob") {
		t.Errorf("display = %q", d)
	}
	long := &answer{body: []byte(`{"a":"` + strings.Repeat("x", 2000) + `"}`)}
	long.parse()
	if ex := excerpt(long); len(ex) > maxExcerpt+len("…") {
		t.Errorf("excerpt of %d bytes", len(ex))
	}
}

func mkAnswer(status int, ctype, body string) *answer {
	a := &answer{req: &request{method: "GET", url: "http://x/", who: "t"}, status: status, ctype: ctype, body: []byte(body)}
	a.parse()
	return a
}

// What counts as the API saying no.
func TestServed(t *testing.T) {
	for _, tc := range []struct {
		a    *answer
		want bool
	}{
		{mkAnswer(200, "application/json", `{"id":1}`), true},
		{mkAnswer(204, "", ``), true},
		{mkAnswer(302, "text/html", `moved`), false},
		{mkAnswer(401, "application/json", `{"id":1}`), false},
		{mkAnswer(403, "application/json", `{}`), false},
		{mkAnswer(404, "application/json", `{}`), false},
		{mkAnswer(405, "", ``), false},
		{mkAnswer(429, "", ``), false},
		{mkAnswer(500, "", ``), false},
		{mkAnswer(200, "application/problem+json", `{"title":"Unauthorized"}`), false},
		{mkAnswer(200, "application/json", `{"error":"unauthorized"}`), false},
		{mkAnswer(200, "application/json", `{"errors":[{"message":"denied"}]}`), false},
		{mkAnswer(200, "application/json", `{"data":{"id":1},"errors":[]}`), true},
		{mkAnswer(200, "application/json", `{"success":false,"message":"login required"}`), false},
		{mkAnswer(200, "text/html", `<form><input type="password" name="p"></form>`), false},
		{mkAnswer(200, "text/html", `<h1>Settings</h1>`), true},
	} {
		if got := served(tc.a); got != tc.want {
			t.Errorf("served(%d %s %s) = %v, want %v", tc.a.status, tc.a.ctype, tc.a.body, got, tc.want)
		}
	}
}

func TestShapes(t *testing.T) {
	owner := mkAnswer(200, "application/json", `{"username":"a","email":"a@x.io","phone":"+1 555 0100"}`)
	public := mkAnswer(200, "application/json", `{"username":"a"}`)
	same := mkAnswer(200, "application/json", `{"username":"b","email":"b@x.io","phone":"+1 555 0200"}`)
	if !reduced(public, owner) || reduced(same, owner) || reduced(owner, nil) {
		t.Errorf("reduced is wrong")
	}
	if !similar(same, owner) || similar(public, owner) {
		t.Errorf("similar is wrong")
	}
	if alike(same, owner) || !alike(owner, mkAnswer(200, "application/json", `{"username":"a","email":"a@x.io","phone":"+1 555 0100"}`)) {
		t.Errorf("alike is wrong")
	}
}

func TestTamper(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"
	got := tamper(jwt)
	if got == jwt || !strings.HasPrefix(got, "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.") || len(got) != len(jwt) {
		t.Errorf("tamper(jwt) = %q", got)
	}
	if got := tamper("0123abcXYZ"); got == "0123abcXYZ" || len(got) != 10 {
		t.Errorf("tamper = %q", got)
	}
	if tamper("---") == "---" {
		t.Errorf("tamper of symbols is unchanged")
	}
}

func TestDotted(t *testing.T) {
	a := mkAnswer(200, "application/json", `{"data":{"items":[{"token":"t1"}]},"access_token":"t0"}`)
	if dotted(a.doc, "access_token") != "t0" || dotted(a.doc, "data.items.0.token") != "t1" || dotted(a.doc, "data.items.5.token") != nil || dotted(a.doc, "x.y") != nil {
		t.Errorf("dotted is wrong")
	}
}

func TestMatchTemplate(t *testing.T) {
	for _, tc := range []struct {
		tmpl, path string
		want       bool
	}{
		{"/auth/login", "/auth/login", true},
		{"/v1/users/{id}", "/v1/users/42", true},
		{"/v1/users/{id}", "/v1/users/", false},
		{"/v1/users/{id}", "/v1/users/42/x", false},
		{"/a", "/a?x=1", true},
	} {
		if got := matchTemplate(tc.tmpl, tc.path); got != tc.want {
			t.Errorf("matchTemplate(%q, %q) = %v", tc.tmpl, tc.path, got)
		}
	}
}

const accessSpec = `{
  "openapi": "3.0.3",
  "info": {"title": "t", "version": "1"},
  "security": [{"bearer": []}],
  "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
  "paths": {
    "/health": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}},
    "/cards/{u}": {"get": {"security": [{}, {"bearer": []}], "parameters": [{"name": "u", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}},
    "/admin/a": {"get": {"x-required-role": "admin", "responses": {"200": {"description": "ok"}}}},
    "/admin/b": {"get": {"x-vigil-policy": "admin", "responses": {"200": {"description": "ok"}}}},
    "/admin/c": {"get": {"tags": ["admin"], "responses": {"200": {"description": "ok"}}}},
    "/admin/d": {"get": {"x-roles": ["admin", "auditor"], "responses": {"200": {"description": "ok"}}}},
    "/open": {"get": {"x-vigil-policy": "public", "responses": {"200": {"description": "ok"}}}},
    "/me": {"get": {"x-vigil-policy": "owner", "responses": {"200": {"description": "ok"}}}},
    "/me/sessions/revoke-all": {"post": {"responses": {"200": {"description": "ok"}}}},
    "/sessions/current": {"delete": {"responses": {"204": {"description": "ok"}}}},
    "/notes": {"post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object", "required": ["title"], "properties": {"title": {"type": "string", "maxLength": 12}, "id": {"type": "string"}, "when": {"type": "string", "format": "date-time"}, "n": {"type": "integer"}}}}}}, "responses": {"201": {"description": "ok"}}}},
    "/notes/{note_id}": {"get": {"parameters": [{"name": "note_id", "in": "path", "required": true, "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}},
    "/search": {"get": {"parameters": [{"name": "email", "in": "query", "required": true, "schema": {"type": "string", "example": "x@example.com"}}], "responses": {"200": {"description": "ok"}}}},
    "/files": {"post": {"requestBody": {"required": true, "content": {"multipart/form-data": {"schema": {"type": "object"}}}}, "responses": {"200": {"description": "ok"}}}}
  }
}`

func mustOps(t *testing.T, cfg *Config, opts Options) (*hunter, map[string]*operation) {
	t.Helper()
	h, err := newHunter(cfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(accessSpec))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := h.buildOps(doc)
	if err != nil {
		t.Fatal(err)
	}
	h.ops = ops
	m := map[string]*operation{}
	for _, op := range ops {
		m[op.key] = op
	}
	return h, m
}

// Access is read from security, x- extensions, tags named like roles and
// the config, in that order of strength.
func TestOperationAccess(t *testing.T) {
	cfg := &Config{Target: "http://x", Spec: "s.json", Roles: []string{"user", "auditor", "admin"},
		Requires: map[string]string{"GET /admin/c": "auditor"}, Exclude: []string{"GET /open"}}
	_, ops := mustOps(t, cfg, Options{UnsafeMethods: true})
	for key, want := range map[string]struct {
		public, declared bool
		role             string
	}{
		"GET /health":          {true, false, ""},
		"GET /cards/{u}":       {true, false, ""},
		"GET /admin/a":         {false, true, "admin"},
		"GET /admin/b":         {false, true, "admin"},
		"GET /admin/c":         {false, true, "auditor"},
		"GET /admin/d":         {false, true, "auditor"},
		"GET /open":            {true, false, ""},
		"GET /me":              {false, true, ""},
		"GET /notes/{note_id}": {false, true, ""},
	} {
		op := ops[key]
		if op.public != want.public || op.declared != want.declared || op.role != want.role {
			t.Errorf("%s: public %v declared %v role %q, want %+v", key, op.public, op.declared, op.role, want)
		}
	}
	if !ops["GET /me"].self || ops["GET /health"].self {
		t.Errorf("self detection is wrong")
	}
	if ops["POST /notes"].createFor != "note_id" || ops["POST /notes"].itemPath != "/notes/{note_id}" {
		t.Errorf("create detection: %+v", ops["POST /notes"])
	}
	for _, k := range []string{"POST /me/sessions/revoke-all", "DELETE /sessions/current", "GET /open", "POST /files"} {
		if ops[k].skipReason == "" {
			t.Errorf("%s is replayed", k)
		}
	}
	if !lookupLike(ops["GET /search"]) || lookupLike(ops["GET /health"]) {
		t.Errorf("lookupLike is wrong")
	}

	_, safe := mustOps(t, &Config{Target: "http://x", Spec: "s.json"}, Options{})
	if safe["POST /notes"].skipReason == "" {
		t.Errorf("an unsafe method is replayed without UnsafeMethods")
	}
}

// Parameter values come from owns, created objects and learned values, in
// an order that depends on what they are for; examples fill the rest, and
// ids are never invented.
func TestFill(t *testing.T) {
	cfg := &Config{Target: "http://x", Spec: "s.json", Identities: []Identity{
		{Name: "alice", Headers: map[string]string{"A": "b"}, Owns: map[string][]string{"note_id": {"n-config"}}},
		{Name: "bob", Headers: map[string]string{"A": "b"}},
	}}
	h, ops := mustOps(t, cfg, Options{UnsafeMethods: true})
	alice, bob := h.byName["alice"], h.byName["bob"]
	alice.created["/notes/{note_id}"] = []string{"n-created"}
	get := ops["GET /notes/{note_id}"]
	if v, owned, ok := h.fill(get, alice, fillRead); !ok || v["note_id"] != "n-config" || !owned["note_id"] {
		t.Errorf("read fill = %v %v %v", v, owned, ok)
	}
	if v, _, _ := h.fill(get, alice, fillWrite); v["note_id"] != "n-created" {
		t.Errorf("write fill = %v", v)
	}
	if _, _, ok := h.fill(get, bob, fillRead); ok {
		t.Errorf("bob has no note, yet the operation filled")
	}
	if _, _, ok := h.fill(get, nil, fillRead); ok {
		t.Errorf("an id was invented")
	}
	if v, owned, ok := h.fill(ops["GET /search"], nil, fillRead); !ok || v["email"] != "x@example.com" || owned["email"] {
		t.Errorf("example fill = %v %v %v", v, owned, ok)
	}
	bob.learned["email"] = []string{"bob@example.com"}
	if v, owned, _ := h.fill(ops["GET /search"], bob, fillRead); v["email"] != "bob@example.com" || !owned["email"] {
		t.Errorf("learned fill = %v", v)
	}

	body, cans, err := h.bodyFor(ops["POST /notes"], "alice", nil)
	if err != nil || len(cans) != 1 || !strings.Contains(string(body), cans[0]) || len(cans[0]) > 12 || strings.Contains(string(body), `"id"`) {
		t.Errorf("bodyFor = %s %v %v", body, cans, err)
	}
}

// Values are learned from a sign-in answer: the account id under a user
// object, named fields, never secrets.
func TestLearn(t *testing.T) {
	id := &identity{learned: map[string][]string{}}
	id.learn(mkAnswer(200, "application/json", `{"access_token":"t","session":{"id":"s-1"},"user":{"id":7,"username":"al","reset_token":"zzz"}}`), false)
	if id.selfID != "7" || id.learned["username"][0] != "al" || id.learned["resettoken"] != nil {
		t.Errorf("selfID %q learned %v", id.selfID, id.learned)
	}
	me := &identity{learned: map[string][]string{}}
	me.learn(mkAnswer(200, "application/json", `{"id":"acc-9","email":"a@b.co"}`), true)
	if me.selfID != "acc-9" {
		t.Errorf("selfID %q", me.selfID)
	}
}

// A client given in Options is copied with redirects off and no jar.
func TestClientCopied(t *testing.T) {
	c := &http.Client{}
	h, err := newHunter(&Config{Target: "http://x", Spec: "s"}, Options{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	if h.client == c || h.client.CheckRedirect == nil || c.CheckRedirect != nil {
		t.Errorf("the client was not copied with redirects off")
	}
	if err := h.client.CheckRedirect(nil, nil); !errors.Is(err, http.ErrUseLastResponse) {
		t.Errorf("CheckRedirect = %v", err)
	}
}

// The engine shares no code path with the server: it imports none of the
// server's packages.
func TestNoServerImports(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		pf, err := goparser.ParseFile(fset, f, nil, goparser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		for _, imp := range pf.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if strings.HasPrefix(p, "github.com/vigil-dev/vigil") {
				t.Errorf("%s imports %s", f, p)
			}
		}
	}
}

// The loader takes any bytes without panicking; what it accepts is valid.
func FuzzParseConfig(f *testing.F) {
	seed, _ := os.ReadFile("internal/vulnapi/testdata/hunt.yaml")
	f.Add(seed)
	f.Add([]byte("target: http://x\nspec: s.json\nidentities:\n  - {name: a, login: {path: /l, body: {p: ${X}}}, owns: {id: [1, 2]}}\n"))
	f.Add([]byte("a: &a [*a, *a]\nb: *a\n"))
	f.Add([]byte("target: http://x\nspec: s.json\nroles: [u]\nrequires: {\"GET /x\": u}\nexclude: GET /y\n"))
	f.Add([]byte("{target: [1], spec: {a: b}}"))
	f.Add([]byte("identities:\n  - login: {body: [.nan, .inf, !!binary aGk=]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := parseConfig(data, "/tmp", func(k string) (string, bool) { return "v-" + k, k != "UNSET" })
		if err != nil {
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %v is a %T, not a *ConfigError", err, err)
			}
			return
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("accepted config does not validate: %v", err)
		}
	})
}
