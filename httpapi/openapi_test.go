package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/httpapi"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/totp"
)

// MustOpenAPI loads the embedded document and fails tb unless it is a valid
// OpenAPI 3.1 document.
func MustOpenAPI(tb testing.TB) *openapi3.T {
	tb.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(httpapi.OpenAPI())
	if err != nil {
		tb.Fatalf("openapi.json does not load: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		tb.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		tb.Fatalf("openapi.json declares OpenAPI %q, want 3.1.0", doc.OpenAPI)
	}
	return doc
}

// The document is valid, describes vigil, and is kept in one stable,
// pretty-printed form so that its diffs stay readable.
func TestOpenAPIDocument(t *testing.T) {
	doc := MustOpenAPI(t)
	if doc.Info == nil || doc.Info.Title != "vigil" || doc.Info.Version == "" ||
		!strings.Contains(doc.Info.Description, "deny-by-default") {
		t.Errorf("info = %+v; want title vigil, a version, and a description that mentions deny-by-default", doc.Info)
	}
	var compact, pretty bytes.Buffer
	if err := json.Compact(&compact, httpapi.OpenAPI()); err != nil {
		t.Fatal(err)
	}
	if err := json.Indent(&pretty, compact.Bytes(), "", "  "); err != nil {
		t.Fatal(err)
	}
	pretty.WriteByte('\n')
	if !bytes.Equal(pretty.Bytes(), httpapi.OpenAPI()) {
		t.Errorf("openapi.json is not pretty-printed with two-space indents and a final newline")
	}

	bearer := doc.Components.SecuritySchemes["bearer"]
	if bearer == nil || bearer.Value == nil || bearer.Value.Type != "http" || bearer.Value.Scheme != "bearer" {
		t.Errorf("components.securitySchemes.bearer must be an http bearer scheme, got %+v", bearer)
	}
	if !isBearerOnly(doc.Security) {
		t.Errorf("the document's default security must be bearer (deny by default), got %v", doc.Security)
	}
	tags := map[string]bool{}
	for _, tg := range doc.Tags {
		tags[tg.Name] = true
	}
	problem := doc.Components.Schemas["Problem"]
	if problem == nil {
		t.Fatal("components.schemas.Problem is missing")
	}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			name := method + " " + path
			if op.OperationID == "" || op.Summary == "" || len(op.Tags) == 0 {
				t.Errorf("%s: needs an operationId, a summary and a tag", name)
			}
			for _, tg := range op.Tags {
				if !tags[tg] {
					t.Errorf("%s: tag %q is not declared in tags", name, tg)
				}
			}
			policy, _ := op.Extensions["x-vigil-policy"].(string)
			if !strings.Contains(op.Description, "Access policy: "+policy+".") {
				t.Errorf("%s: the description must state the access policy %q", name, policy)
			}
			if isPage(op) {
				// A page for browsers: HTML answers, a form body.
				for code, rr := range op.Responses.Map() {
					if rr.Value.Content.Get("text/html") == nil {
						t.Errorf("%s %s: a page answers text/html", name, code)
					}
				}
				continue
			}
			if body := op.RequestBody; body != nil {
				mt := body.Value.Content.Get("application/json")
				if !body.Value.Required || mt == nil || !closedObject(mt.Schema.Value) {
					t.Errorf("%s: the request body must be required application/json with additionalProperties false", name)
				}
			}
			for code, rr := range op.Responses.Map() {
				checkDocumentedResponse(t, name, code, rr.Value, problem)
			}
		}
	}
}

// checkDocumentedResponse holds every documented response to the house
// rules: JSON success bodies are closed objects (or a oneOf of them), errors
// are problems, 401 and 429 carry their headers.
func checkDocumentedResponse(t *testing.T, op, code string, r *openapi3.Response, problem *openapi3.SchemaRef) {
	t.Helper()
	status, err := strconv.Atoi(code)
	if err != nil {
		t.Errorf("%s: response %q is not a status code", op, code)
		return
	}
	if r.Description == nil || *r.Description == "" {
		t.Errorf("%s %d: response needs a description", op, status)
	}
	switch {
	case status >= 400:
		mt := r.Content.Get("application/problem+json")
		if mt == nil || mt.Schema.Value != problem.Value {
			t.Errorf("%s %d: an error response must be application/problem+json with the Problem schema", op, status)
		}
		if op != "GET /metrics" && len(r.Content) != 1 {
			t.Errorf("%s %d: an error response has only the problem content", op, status)
		}
	case status == http.StatusNoContent:
		if len(r.Content) != 0 {
			t.Errorf("%s 204 has content", op)
		}
	default:
		if mt := r.Content.Get("application/json"); mt != nil && op != "GET /openapi.json" {
			s := mt.Schema.Value
			ok := closedObject(s)
			if len(s.OneOf) > 0 {
				ok = true
				for _, b := range s.OneOf {
					ok = ok && closedObject(b.Value)
				}
			}
			if !ok {
				t.Errorf("%s %d: a JSON success body must be an object with additionalProperties false", op, status)
			}
		}
	}
	want := map[int]string{http.StatusUnauthorized: "WWW-Authenticate", http.StatusTooManyRequests: "Retry-After"}[status]
	if want != "" {
		if h := r.Headers[want]; h == nil || !h.Value.Required {
			t.Errorf("%s %d: response must document the required %s header", op, status, want)
		}
	}
}

func closedObject(s *openapi3.Schema) bool {
	return s != nil && s.Type.Is("object") && s.AdditionalProperties.Has != nil && !*s.AdditionalProperties.Has
}

func isBearerOnly(sr openapi3.SecurityRequirements) bool {
	if len(sr) != 1 || len(sr[0]) != 1 {
		return false
	}
	scopes, ok := sr[0]["bearer"]
	return ok && len(scopes) == 0
}

// The document lists exactly the routes the server registers, each with the
// access policy it was registered with: public ones open, all others behind
// the bearer scheme; and its schemas have exactly the fields of the Go types
// the handlers encode and decode.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := MustOpenAPI(t)
	e := newEnv(t, "sqlite")

	ops := map[string]*openapi3.Operation{}
	for _, path := range doc.Paths.InMatchingOrder() {
		for method, op := range doc.Paths.Value(path).Operations() {
			ops[method+" "+path] = op
		}
	}
	routes := map[string]httpapi.Route{}
	for _, rt := range e.Server.Routes() {
		routes[rt.Pattern] = rt
	}
	for _, p := range sortedKeys(routes) {
		if ops[p] == nil {
			t.Errorf("route %q is not in openapi.json", p)
		}
	}
	for _, p := range sortedKeys(ops) {
		if _, ok := routes[p]; !ok {
			t.Errorf("openapi.json documents %q, which the server does not serve", p)
		}
	}

	for _, p := range sortedKeys(routes) {
		rt, op := routes[p], ops[p]
		if op == nil {
			continue
		}
		if got, _ := op.Extensions["x-vigil-policy"].(string); got != rt.Policy.String() {
			t.Errorf("%s: x-vigil-policy = %q, want %q", p, got, rt.Policy)
		}
		switch {
		case op.Security == nil:
			t.Errorf("%s: operation must state its security (security: [] for public)", p)
		case rt.Policy == httpapi.PolicyPublic && len(*op.Security) != 0:
			t.Errorf("%s: public route must have security: [], got %v", p, *op.Security)
		case rt.Policy != httpapi.PolicyPublic && !isBearerOnly(*op.Security):
			t.Errorf("%s: %s route must require bearer, got %v", p, rt.Policy, *op.Security)
		}

		switch {
		case isPage(op):
			// Pages read forms, not JSON bodies; their fields are in the
			// document's form schema and checked live.
		case rt.Request == nil && op.RequestBody != nil:
			t.Errorf("%s: documents a request body the handler does not read", p)
		case rt.Request != nil && op.RequestBody == nil:
			t.Errorf("%s: the handler reads a %T body that is not documented", p, rt.Request)
		case rt.Request != nil:
			s := op.RequestBody.Value.Content.Get("application/json").Schema.Value
			checkSchemaFields(t, p+" request", s, reflect.TypeOf(rt.Request))
		}
		if rt.Response != nil {
			s := successSchema(op)
			if s == nil {
				t.Errorf("%s: no JSON success response documented for %T", p, rt.Response)
				continue
			}
			if len(s.OneOf) > 0 {
				// A lookup answers one of several views; the Go type is the
				// widest of them.
				s = widestBranch(s)
			}
			checkSchemaFields(t, p+" response", s, reflect.TypeOf(rt.Response))
		}
	}

	// Component schemas of domain types not named by a route.
	for name, v := range map[string]any{
		"PublicProfile":  vigil.PublicProfile{},
		"PrivateProfile": vigil.PrivateProfile{},
		"LoginAttempt":   vigil.LoginAttempt{},
		"Problem":        httpapi.Problem{},
	} {
		s := doc.Components.Schemas[name]
		if s == nil {
			t.Errorf("components.schemas.%s is missing", name)
			continue
		}
		checkSchemaFields(t, "schema "+name, s.Value, reflect.TypeOf(v))
	}
}

func successSchema(op *openapi3.Operation) *openapi3.Schema {
	for code, rr := range op.Responses.Map() {
		if strings.HasPrefix(code, "2") {
			if mt := rr.Value.Content.Get("application/json"); mt != nil && mt.Schema != nil {
				return mt.Schema.Value
			}
		}
	}
	return nil
}

func widestBranch(s *openapi3.Schema) *openapi3.Schema {
	w := s.OneOf[0].Value
	for _, b := range s.OneOf[1:] {
		if len(b.Value.Properties) > len(w.Properties) {
			w = b.Value
		}
	}
	return w
}

// jsonField is what encoding/json makes of one struct field.
type jsonField struct {
	required bool     // always present (no omitempty)
	types    []string // JSON Schema types of its values
}

// jsonFields lists the JSON object members of struct type t, following
// embedded structs as encoding/json does.
func jsonFields(t reflect.Type) map[string]jsonField {
	out := map[string]jsonField{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			for k, v := range jsonFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		out[name] = jsonField{required: !slices.Contains(strings.Split(opts, ","), "omitempty"), types: jsonTypes(f.Type)}
	}
	return out
}

func jsonTypes(t reflect.Type) []string {
	if t == reflect.TypeOf(time.Time{}) {
		return []string{"string"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return append(jsonTypes(t.Elem()), "null")
	case reflect.String:
		return []string{"string"}
	case reflect.Bool:
		return []string{"boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return []string{"integer"}
	case reflect.Float32, reflect.Float64:
		return []string{"number"}
	case reflect.Slice, reflect.Array:
		return []string{"array"}
	}
	return []string{"object"}
}

// checkSchemaFields fails t unless schema s has exactly the members of Go
// type typ, with the same types, and requires exactly those that are always
// encoded.
func checkSchemaFields(t *testing.T, what string, s *openapi3.Schema, typ reflect.Type) {
	t.Helper()
	fields := jsonFields(typ)
	for _, name := range sortedKeys(fields) {
		f := fields[name]
		p := s.Properties[name]
		if p == nil {
			t.Errorf("%s: field %q of %v is not in the schema", what, name, typ)
			continue
		}
		got := slices.Clone(p.Value.Type.Slice())
		sort.Strings(got)
		want := slices.Clone(f.types)
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: property %q has type %v, want %v", what, name, got, want)
		}
		if slices.Contains(s.Required, name) != f.required {
			t.Errorf("%s: property %q required = %v, want %v (omitempty decides)", what, name, !f.required, f.required)
		}
	}
	for _, name := range sortedKeys(s.Properties) {
		if _, ok := fields[name]; !ok {
			t.Errorf("%s: schema property %q is not a field of %v", what, name, typ)
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// apiCheck validates live answers against the document.
type apiCheck struct {
	t      *testing.T
	e      *env
	router routers.Router
	opts   *openapi3filter.Options
	seen   map[string][]int // "METHOD /template" -> statuses validated
}

// isPage reports whether op is an HTML page for browsers (x-vigil-page),
// which the JSON house rules do not bind.
func isPage(op *openapi3.Operation) bool {
	v, _ := op.Extensions["x-vigil-page"].(bool)
	return v
}

func init() {
	// Pages answer HTML; the validator only needs to read it as a string.
	openapi3filter.RegisterBodyDecoder("text/html", func(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
		b, err := io.ReadAll(body)
		return string(b), err
	})
}

func newAPICheck(t *testing.T, e *env, doc *openapi3.T) *apiCheck {
	t.Helper()
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	return &apiCheck{t: t, e: e, router: router, seen: map[string][]int{}, opts: &openapi3filter.Options{
		IncludeResponseStatus: true, // an undocumented status is a failure
		MultiError:            true,
		AuthenticationFunc:    bearerPresent,
	}}
}

// bearerPresent is the request-side check of the bearer scheme: a request
// the server accepted on a protected operation must have carried a token.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme, tok, _ := strings.Cut(in.RequestValidationInput.Request.Header.Get("Authorization"), " ")
	if in.SecuritySchemeName != "bearer" || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return in.NewError(nil)
	}
	return nil
}

// do is e.do with the exchange validated against the document.
func (c *apiCheck) do(method, path, token string, body any) *response {
	c.t.Helper()
	r := c.e.do(method, path, token, body)
	h := http.Header{}
	var b []byte
	if body != nil {
		h.Set("Content-Type", "application/json")
		b = bodyBytes(c.t, body)
	}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	c.validate(method, path, h, b, r)
	return r
}

// raw sends a request with exactly the headers h, records it for the
// harness's leak check, and validates the exchange.
func (c *apiCheck) raw(method, path string, h http.Header, body []byte) *response {
	c.t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, c.e.URL+path, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header = h.Clone()
	res, err := c.e.client.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(res.Body); err != nil {
		c.t.Fatal(err)
	}
	r := &response{Status: res.StatusCode, Header: res.Header, Body: buf.Bytes()}
	c.e.mu.Lock()
	c.e.responses = append(c.e.responses, r)
	c.e.mu.Unlock()
	c.validate(method, path, h, body, r)
	return r
}

// serve runs one request through handler h in memory (for servers built
// with broken dependencies) and validates the exchange.
func (c *apiCheck) serve(h http.Handler, method, path string, hdr http.Header, body []byte) *response {
	c.t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header = hdr.Clone()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	r := &response{Status: res.StatusCode, Header: res.Header, Body: rec.Body.Bytes()}
	c.validate(method, path, hdr, body, r)
	return r
}

func bodyBytes(tb testing.TB, body any) []byte {
	switch b := body.(type) {
	case string:
		return []byte(b)
	case []byte:
		return b
	}
	j, err := json.Marshal(body)
	if err != nil {
		tb.Fatal(err)
	}
	return j
}

// validationRequest rebuilds a request sent to the server as input for
// openapi3filter.
func validationRequest(method, path string, h http.Header, body []byte) *http.Request {
	req := httptest.NewRequest(method, "http://vigil.test"+path, bytes.NewReader(body))
	req.Header = h.Clone()
	return req
}

// validate fails the test unless the answer r to the request (method, path,
// h, body) is what the document says: a documented status, headers and a
// body matching its schema. Requests the server accepted must also match
// the document, so it never refuses what the server takes.
func (c *apiCheck) validate(method, path string, h http.Header, body []byte, r *response) {
	c.t.Helper()
	ctx := context.Background()
	what := fmt.Sprintf("%s %s -> %d", method, path, r.Status)
	req := validationRequest(method, path, h, body)
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		c.t.Errorf("%s: no operation in openapi.json: %v", what, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: c.opts}
	if r.Status >= 200 && r.Status < 300 {
		if err := openapi3filter.ValidateRequest(ctx, in); err != nil {
			c.t.Errorf("%s: the server accepted a request that openapi.json refuses: %v", what, err)
		}
	}
	res := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: r.Status, Header: r.Header, Options: c.opts}
	res.SetBodyBytes(r.Body)
	if err := openapi3filter.ValidateResponse(ctx, res); err != nil {
		c.t.Errorf("%s: the answer does not match openapi.json: %v\nbody: %s", what, err, r.Body)
	}
	checkHeaders(c.t, what, h, r)
	key := method + " " + route.Path
	c.seen[key] = append(c.seen[key], r.Status)
}

// checkHeaders checks what schemas cannot say: a problem's status is the
// answer's, 401 carries the right challenge, 429 says when to come back.
func checkHeaders(t *testing.T, what string, req http.Header, r *response) {
	t.Helper()
	if r.Status >= 400 && !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") {
		var p httpapi.Problem
		if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
			t.Errorf("%s: Content-Type %q, want application/problem+json", what, ct)
		} else if err := json.Unmarshal(r.Body, &p); err != nil || p.Status != r.Status ||
			!strings.HasPrefix(p.Type, httpapi.ProblemTypePrefix) || p.Title == "" {
			t.Errorf("%s: problem %s does not state this status and a vigil type", what, r.Body)
		}
	}
	switch r.Status {
	case http.StatusUnauthorized:
		want := `Bearer realm="vigil"`
		if req.Get("Authorization") != "" {
			want += `, error="invalid_token"`
		}
		if got := r.Header.Values("WWW-Authenticate"); len(got) != 1 || got[0] != want {
			t.Errorf("%s: WWW-Authenticate = %q, want %q", what, got, want)
		}
	case http.StatusTooManyRequests:
		if n, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: Retry-After = %q, want whole seconds >= 1", what, r.Header.Get("Retry-After"))
		}
	}
}

// signup is env.signup with every exchange validated.
func (c *apiCheck) signup(username string) *user {
	c.t.Helper()
	u := &user{Username: username, Email: username + "@example.com", Password: testPassword + " " + vigil.NewID()[:10]}
	c.do("POST", "/v1/accounts", "", map[string]string{"username": username, "email": u.Email, "password": u.Password}).
		expect(c.t, http.StatusAccepted)
	v := c.do("POST", "/v1/accounts/verify", "", map[string]string{"email": u.Email, "code": c.e.mailCode(u.Email)}).
		expect(c.t, http.StatusCreated).JSON(c.t)
	u.ID, _ = v["id"].(string)
	u.Token, u.SessionID = c.login(u.Username, u.Password)
	return u
}

// login is env.login with the exchange validated.
func (c *apiCheck) login(identifier, pw string) (token, sessionID string) {
	c.t.Helper()
	r := c.do("POST", "/v1/sessions", "", map[string]string{"identifier": identifier, "password": pw}).
		expect(c.t, http.StatusCreated)
	s := r.JSON(c.t)
	token, _ = s["token"].(string)
	sessionID, _ = s["session_id"].(string)
	c.e.mu.Lock()
	c.e.tokens[token] = r
	c.e.mu.Unlock()
	return token, sessionID
}

// The limits of TestOpenAPILiveResponses. The clock stands still, so the
// lookup past the allowance is refused, and so is the sign-in after the free
// failures.
const (
	lookupBurst = 10
	freeLogins  = 3
)

// Real flows, success and failure, through a real server: every answer
// must match the document.
func TestOpenAPILiveResponses(t *testing.T) {
	doc := MustOpenAPI(t)
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend, func(sc *service.Config, _ *httpapi.Config) {
			sc.LookupLimit = ratelimit.Limit{Rate: 1.0 / 60, Burst: lookupBurst}
			sc.ThrottleAccountSource = vigil.ThrottleRule{Free: freeLogins, Base: time.Minute, Max: time.Hour, Window: time.Hour}
		})
		c := newAPICheck(t, e, doc)

		// Operations.
		c.do("GET", "/healthz", "", nil).expect(t, http.StatusOK)
		c.do("GET", "/readyz", "", nil).expect(t, http.StatusOK)
		if m := c.do("GET", "/metrics", "", nil).expect(t, http.StatusOK); !bytes.Contains(m.Body, []byte("vigil_http_request_duration_seconds")) {
			t.Errorf("/metrics does not expose the request histogram: %.300s", m.Body)
		}
		spec := c.do("GET", "/openapi.json", "", nil).expect(t, http.StatusOK)
		if !bytes.Equal(spec.Body, httpapi.OpenAPI()) {
			t.Errorf("GET /openapi.json is not the embedded document")
		}

		// Sign-up, sign-in, the caller's own account.
		alice := c.signup("alice")
		bob := c.signup("bob")
		me := c.do("GET", "/v1/me", alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		if me["id"] != alice.ID || me["last_login_at"] == nil {
			t.Errorf("GET /v1/me = %v", me)
		}
		patched := c.do("PATCH", "/v1/me", alice.Token, map[string]string{"display_name": "Alice Ångström"}).
			expect(t, http.StatusOK).JSON(t)
		if patched["display_name"] != "Alice Ångström" {
			t.Errorf("PATCH /v1/me = %v", patched)
		}
		// Signing up again with a registered address answers as for a new one.
		c.do("POST", "/v1/accounts", "", map[string]string{"username": "alice2", "email": alice.Email,
			"password": testPassword + " again"}).expect(t, http.StatusAccepted)

		// Lookups: the private view of oneself, the public profile of others.
		for _, path := range []string{"/v1/users/" + alice.ID, "/v1/users?username=alice"} {
			if v := c.do("GET", path, alice.Token, nil).expect(t, http.StatusOK).JSON(t); v["email"] != alice.Email {
				t.Errorf("GET %s as alice = %v, want the private view", path, v)
			}
		}
		for _, path := range []string{"/v1/users/" + bob.ID, "/v1/users?username=BOB"} {
			v := c.do("GET", path, alice.Token, nil).expect(t, http.StatusOK).JSON(t)
			if _, leaked := v["email"]; leaked || v["id"] != bob.ID {
				t.Errorf("GET %s as alice = %v, want bob's public profile", path, v)
			}
		}

		// Login activity, paged: the sign-in of signup, a failure, another
		// sign-in, a second apart so that "newest first" is one order.
		e.Clock.Advance(time.Second)
		c.do("POST", "/v1/sessions", "", map[string]string{"identifier": alice.Email, "password": "wrong " + testPassword}).
			expect(t, http.StatusUnauthorized)
		e.Clock.Advance(time.Second)
		second, _ := c.login(alice.Email, alice.Password)
		var results []string
		cursor := ""
		for page := 0; ; page++ {
			path := "/v1/me/login-activity?limit=2"
			if cursor != "" {
				path += "&cursor=" + url.QueryEscape(cursor)
			}
			var la struct {
				Items []struct {
					Result string `json:"result"`
				} `json:"items"`
				NextCursor string `json:"next_cursor"`
			}
			if err := json.Unmarshal(c.do("GET", path, alice.Token, nil).expect(t, http.StatusOK).Body, &la); err != nil {
				t.Fatal(err)
			}
			for _, it := range la.Items {
				results = append(results, it.Result)
			}
			if cursor = la.NextCursor; cursor == "" || page > 3 {
				break
			}
		}
		if want := []string{"success", "failed", "success"}; !slices.Equal(results, want) {
			t.Errorf("login activity = %v, want %v (newest first)", results, want)
		}
		c.do("GET", "/v1/me/login-activity", alice.Token, nil).expect(t, http.StatusOK)

		// 400.
		c.do("POST", "/v1/accounts", "", `{"username": "carol", "email":`).expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/accounts", "", map[string]string{"username": "carol", "email": "carol@example.com",
			"password": testPassword, "nickname": "c"}).expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/accounts", "", map[string]string{"username": "x", "email": "carol@example.com",
			"password": testPassword}).expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/accounts", "", "").expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/accounts/verify", "", map[string]string{"email": "not an address", "code": "000000"}).
			expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/sessions", "", map[string]string{"identifier": " ", "password": "x"}).expect(t, http.StatusBadRequest)
		c.do("PATCH", "/v1/me", alice.Token, `{"display_name": 7}`).expect(t, http.StatusBadRequest)
		c.do("PATCH", "/v1/me", alice.Token, map[string]string{"display_name": " "}).expect(t, http.StatusBadRequest)
		c.do("GET", "/v1/users?username=bob&extra=1", alice.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/v1/users", alice.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/v1/me/login-activity?limit=0", alice.Token, nil).expect(t, http.StatusBadRequest)
		c.do("GET", "/v1/me/login-activity?cursor=garbage", alice.Token, nil).expect(t, http.StatusBadRequest)

		// 401: every protected route, without a token and with a bad one;
		// a wrong password; a revoked session.
		for _, rt := range e.Server.Routes() {
			if rt.Policy == httpapi.PolicyPublic {
				continue
			}
			method, path := fillPath(rt.Pattern, bob.ID)
			c.do(method, path, "", nil).expect(t, http.StatusUnauthorized)
			c.do(method, path, vigil.NewToken().Reveal(), nil).expect(t, http.StatusUnauthorized)
			c.raw(method, path, http.Header{"Authorization": {"Basic " + alice.Token}}, nil).expect(t, http.StatusUnauthorized)
		}
		c.do("POST", "/v1/sessions", "", map[string]string{"identifier": "nobody", "password": testPassword}).
			expect(t, http.StatusUnauthorized)
		c.do("DELETE", "/v1/sessions/current", second, nil).expect(t, http.StatusNoContent)
		c.do("GET", "/v1/me", second, nil).expect(t, http.StatusUnauthorized)

		// 404.
		c.do("GET", "/v1/users/"+vigil.NewID(), alice.Token, nil).expect(t, http.StatusNotFound)
		c.do("GET", "/v1/users/not-an-id", alice.Token, nil).expect(t, http.StatusNotFound)
		c.do("GET", "/v1/users?username=nobody", alice.Token, nil).expect(t, http.StatusNotFound)

		// 409.
		c.do("POST", "/v1/accounts", "", map[string]string{"username": "bob", "email": "other-bob@example.com",
			"password": testPassword}).expect(t, http.StatusConflict)

		// 413.
		big := `{"display_name": "` + strings.Repeat("x", httpapi.MaxBodyBytes) + `"}`
		c.do("PATCH", "/v1/me", alice.Token, big).expect(t, http.StatusRequestEntityTooLarge)
		c.do("POST", "/v1/accounts", "", big).expect(t, http.StatusRequestEntityTooLarge)

		// 415.
		login := []byte(`{"identifier": "alice", "password": "x"}`)
		c.raw("POST", "/v1/sessions", http.Header{"Content-Type": {"text/plain"}}, login).
			expect(t, http.StatusUnsupportedMediaType)
		c.raw("PATCH", "/v1/me", http.Header{"Content-Type": {"application/x-www-form-urlencoded"},
			"Authorization": {"Bearer " + alice.Token}}, []byte("display_name=x")).expect(t, http.StatusUnsupportedMediaType)

		// 429: lookups past the allowance (the clock stands still), and
		// failed sign-ins past the free ones.
		carol := c.signup("carol")
		for i := 0; i < lookupBurst; i++ {
			c.do("GET", "/v1/users/"+bob.ID, carol.Token, nil).expect(t, http.StatusOK)
		}
		c.do("GET", "/v1/users/"+bob.ID, carol.Token, nil).expect(t, http.StatusTooManyRequests)
		c.do("GET", "/v1/users?username=bob", carol.Token, nil).expect(t, http.StatusTooManyRequests)
		c.do("GET", "/v1/users/"+carol.ID, carol.Token, nil).expect(t, http.StatusOK) // oneself by id is free
		for i := 0; i < freeLogins; i++ {
			c.do("POST", "/v1/sessions", "", map[string]string{"identifier": "mallory", "password": "guess " + strconv.Itoa(i)}).
				expect(t, http.StatusUnauthorized)
		}
		throttled := c.do("POST", "/v1/sessions", "", map[string]string{"identifier": "mallory", "password": "one more guess"}).
			expect(t, http.StatusTooManyRequests)
		if got := throttled.Header.Get("Retry-After"); got != "60" {
			t.Errorf("throttled sign-in: Retry-After = %q, want 60 (the block of the first failure past the free ones)", got)
		}

		// Sessions: list, end one, re-authenticate, log out everywhere.
		extra, _ := c.login(bob.Username, bob.Password)
		sessions := c.do("GET", "/v1/me/sessions", extra, nil).expect(t, http.StatusOK).JSON(t)["items"].([]any)
		c.do("DELETE", "/v1/me/sessions/"+bob.SessionID, extra, nil).expect(t, http.StatusNoContent)
		c.do("DELETE", "/v1/me/sessions/"+bob.SessionID, extra, nil).expect(t, http.StatusNotFound)
		if len(sessions) != 2 {
			t.Errorf("bob has %d sessions, want 2", len(sessions))
		}
		e.Clock.Advance(e.Service.Config().ReauthWindow + time.Second)
		c.do("POST", "/v1/me/sessions/revoke-all", extra, map[string]bool{"include_current": false}).expect(t, http.StatusForbidden)
		c.do("POST", "/v1/sessions/current/reauth", extra, map[string]string{"password": bob.Password}).expect(t, http.StatusNoContent)
		c.do("POST", "/v1/me/sessions/revoke-all", extra, map[string]bool{"include_current": true}).expect(t, http.StatusOK)

		// Password reset: the request, the page, the confirmation.
		c.do("POST", "/v1/password-resets", "", map[string]string{"identifier": "nobody"}).expect(t, http.StatusAccepted)
		tok := e.resetToken("carol", carol.Email)
		c.do("GET", "/password-reset?token="+url.QueryEscape(tok), "", nil).expect(t, http.StatusOK)
		c.raw("POST", "/password-reset", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte(url.Values{"token": {"bogus"}, "new_password": {"whatever it is here"}}.Encode())).expect(t, http.StatusBadRequest)
		c.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok, "new_password": "short"}).expect(t, http.StatusBadRequest)
		c.raw("POST", "/password-reset", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte(url.Values{"token": {tok}, "new_password": {"a brand new passphrase for her"}}.Encode())).expect(t, http.StatusOK)
		tok2 := e.resetToken("carol", carol.Email)
		c.do("POST", "/v1/password-resets/confirm", "", map[string]string{"token": tok2, "new_password": "a second new passphrase for her"}).
			expect(t, http.StatusNoContent)

		// Two-factor authentication: enrol, confirm, sign in with it, off.
		erin := c.signup("erin")
		en := c.do("POST", "/v1/me/mfa/totp", erin.Token, nil).expect(t, http.StatusOK).JSON(t)
		secret := en["secret"].(string)
		code, _ := totp.Code(secret, e.Clock.Now())
		c.do("POST", "/v1/me/mfa/totp/confirm", erin.Token, map[string]string{"code": code}).expect(t, http.StatusOK)
		c.do("POST", "/v1/me/mfa/totp", erin.Token, nil).expect(t, http.StatusConflict)
		mr := c.do("POST", "/v1/sessions", "", map[string]string{"identifier": "erin", "password": erin.Password}).expect(t, http.StatusUnauthorized)
		challenge := mr.JSON(t)["challenge"].(string)
		c.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": challenge, "code": code}).expect(t, http.StatusForbidden)
		e.Clock.Advance(30 * time.Second)
		code, _ = totp.Code(secret, e.Clock.Now())
		c.do("POST", "/v1/sessions/mfa", "", map[string]string{"challenge": challenge, "code": code}).expect(t, http.StatusCreated)
		e.Clock.Advance(30 * time.Second)
		code, _ = totp.Code(secret, e.Clock.Now())
		c.do("DELETE", "/v1/me/mfa/totp", erin.Token, map[string]string{"password": erin.Password, "code": code}).expect(t, http.StatusNoContent)

		// Alert settings.
		c.do("GET", "/v1/me/alert-settings", erin.Token, nil).expect(t, http.StatusOK)
		c.do("PUT", "/v1/me/alert-settings", erin.Token, map[string]any{"channels": map[string][]string{"password_changed": {"sms"}}}).
			expect(t, http.StatusBadRequest)
		c.do("PUT", "/v1/me/alert-settings", erin.Token, map[string]any{"channels": map[string][]string{"password_changed": {"mail", "webhook"}},
			"webhook": map[string]string{"url": "http://127.0.0.1:9/hook", "format": "slack"}}).expect(t, http.StatusOK)

		// Phone change.
		c.do("POST", "/v1/me/phone", erin.Token, map[string]string{"phone": "+15550003333"}).expect(t, http.StatusAccepted)
		c.do("POST", "/v1/me/phone/confirm", erin.Token, map[string]string{"code": e.smsCode("+15550003333")}).expect(t, http.StatusNoContent)

		// Email change and its undo.
		c.do("POST", "/v1/me/email", erin.Token, map[string]string{"email": "erin.new@example.com"}).expect(t, http.StatusAccepted)
		c.do("POST", "/v1/me/email/confirm", erin.Token, map[string]string{"code": e.mailCode("erin.new@example.com")}).expect(t, http.StatusNoContent)
		var undoTok string
		for _, m := range mails(t, e) {
			if m.To == erin.Email && m.Subject == "Your email address was changed" {
				undoTok, _ = url.QueryUnescape(undoLinkRE.FindStringSubmatch(m.Text)[1])
			}
		}
		c.do("GET", "/email-undo?token="+url.QueryEscape(undoTok), "", nil).expect(t, http.StatusOK)
		c.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": "nope"}).expect(t, http.StatusBadRequest)
		c.raw("POST", "/email-undo", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}},
			[]byte(url.Values{"token": {undoTok}}.Encode())).expect(t, http.StatusOK)
		erin.Token, _ = c.login("erin", erin.Password)
		c.do("POST", "/v1/me/email", erin.Token, map[string]string{"email": "erin.again@example.com"}).expect(t, http.StatusAccepted)
		c.do("POST", "/v1/me/email/confirm", erin.Token, map[string]string{"code": e.mailCode("erin.again@example.com")}).expect(t, http.StatusNoContent)
		for _, m := range mails(t, e) {
			if m.To == erin.Email && m.Subject == "Your email address was changed" {
				undoTok, _ = url.QueryUnescape(undoLinkRE.FindStringSubmatch(m.Text)[1])
			}
		}
		c.do("POST", "/v1/email-changes/undo", "", map[string]string{"token": undoTok}).expect(t, http.StatusNoContent)

		// Password change and the notice it leaves.
		bobToken, _ := c.login(bob.Username, bob.Password)
		c.do("PUT", "/v1/me/password", bobToken, map[string]string{"current_password": "wrong", "new_password": "x"}).expect(t, http.StatusBadRequest)
		c.do("PUT", "/v1/me/password", bobToken, map[string]string{"current_password": "not bob's password at all", "new_password": "a brand new passphrase here"}).
			expect(t, http.StatusForbidden)
		c.do("PUT", "/v1/me/password", bobToken, map[string]string{"current_password": bob.Password, "new_password": "a brand new passphrase here"}).
			expect(t, http.StatusNoContent)
		c.do("GET", "/v1/me/notifications?limit=1", bobToken, nil).expect(t, http.StatusOK)

		// 503: a server whose database is down, and one whose mail is.
		down, err := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: e.Service,
			Ready: func(context.Context) error { return errors.New("database down") }})
		if err != nil {
			t.Fatal(err)
		}
		c.serve(down, "GET", "/readyz", http.Header{}, nil).expect(t, http.StatusServiceUnavailable)
		c.serve(noMailServer(t, e), "POST", "/v1/accounts", http.Header{"Content-Type": {"application/json"}},
			bodyBytes(t, map[string]string{"username": "dave", "email": "dave@example.com", "password": testPassword})).
			expect(t, http.StatusServiceUnavailable)

		exerciseAdminAPI(t, e, c)

		// Every route was exercised, with at least one success.
		for _, rt := range e.Server.Routes() {
			statuses := c.seen[rt.Pattern]
			if !slices.ContainsFunc(statuses, func(s int) bool { return s >= 200 && s < 300 }) {
				t.Errorf("%s: no success answer was validated (saw %v)", rt.Pattern, statuses)
			}
		}
	})
}

// failingSender is a mail server that is down.
type failingSender struct{}

func (failingSender) Send(context.Context, *mail.Message) error {
	return &vigil.Error{Code: vigil.EUNAVAILABLE, Message: "mail not sent", Err: errors.New("connection refused")}
}

// noMailServer is a server over e's store whose mail cannot be sent.
func noMailServer(t *testing.T, e *env) *httpapi.Server {
	t.Helper()
	hasher, err := password.NewHasher(password.TestParams())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := seal.NewSealer(seal.GenerateKey())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.DefaultConfig(), service.Deps{Store: e.Store, Hasher: hasher, Mail: failingSender{},
		Limiter: ratelimit.NewMemory(), Sealer: sealer, RecoveryKey: make([]byte, 32)})
	if err != nil {
		t.Fatal(err)
	}
	s, err := httpapi.NewServer(httpapi.Config{}, httpapi.Deps{Service: svc})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// The validator used above does catch drift: answers that break the
// document fail it.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	doc := MustOpenAPI(t)
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true}
	id := vigil.NewID()
	public := `{"id":"` + id + `","username":"bob","display_name":"Bob","created_at":"2026-01-02T03:04:05Z"}`
	private := `{"id":"` + id + `","username":"bob","display_name":"Bob","created_at":"2026-01-02T03:04:05Z",` +
		`"email":"bob@example.com","email_verified":true,"phone":"","phone_verified":false,"last_login_at":null,"mfa_enabled":false}`
	problem := func(status int) string {
		return fmt.Sprintf(`{"type":"urn:vigil:problem:x","title":"X","status":%d,"detail":"d"}`, status)
	}
	jsonCT := http.Header{"Content-Type": {"application/json"}}
	problemCT := http.Header{"Content-Type": {"application/problem+json"}}
	with := func(h http.Header, k, v string) http.Header {
		h = h.Clone()
		h.Set(k, v)
		return h
	}
	for _, tt := range []struct {
		name, method, path string
		status             int
		header             http.Header
		body               string
		ok                 bool
	}{
		{"public profile", "GET", "/v1/users/" + id, 200, jsonCT, public, true},
		{"private view", "GET", "/v1/users/" + id, 200, jsonCT, private, true},
		{"private view that signed in", "GET", "/v1/me", 200, jsonCT,
			strings.Replace(private, `null`, `"2026-01-02T03:04:05.123456Z"`, 1), true},
		{"public profile with an email", "GET", "/v1/users/" + id, 200, jsonCT,
			strings.Replace(public, `"username"`, `"email":"bob@example.com","username"`, 1), false},
		{"private view without last_login_at", "GET", "/v1/users?username=bob", 200, jsonCT,
			strings.Replace(private, `"last_login_at":null,`, ``, 1), false},
		{"profile with a bad time", "GET", "/v1/users/" + id, 200, jsonCT,
			strings.Replace(public, `2026-01-02T03:04:05Z`, `yesterday`, 1), false},
		{"me as the public profile", "GET", "/v1/me", 200, jsonCT, public, false},
		{"a password hash", "GET", "/v1/me", 200, jsonCT,
			strings.Replace(private, `"mfa_enabled"`, `"password_hash":"$argon2id$","mfa_enabled"`, 1), false},
		{"undocumented status", "GET", "/v1/me", 418, problemCT, problem(418), false},
		{"error as plain JSON", "GET", "/v1/users/" + id, 404, jsonCT, problem(404), false},
		{"problem with a stack", "GET", "/v1/users/" + id, 404, problemCT,
			strings.Replace(problem(404), `"detail"`, `"stack":"main.go:1","detail"`, 1), false},
		{"401 with its challenge", "GET", "/v1/me", 401,
			with(problemCT, "WWW-Authenticate", `Bearer realm="vigil"`), problem(401), true},
		{"401 without a challenge", "GET", "/v1/me", 401, problemCT, problem(401), false},
		{"429 with Retry-After", "GET", "/v1/users/" + id, 429, with(problemCT, "Retry-After", "3"), problem(429), true},
		{"429 without Retry-After", "GET", "/v1/users/" + id, 429, problemCT, problem(429), false},
		{"429 with a date", "POST", "/v1/sessions", 429,
			with(problemCT, "Retry-After", "Wed, 21 Oct 2026 07:28:00 GMT"), problem(429), false},
		{"token of the wrong shape", "POST", "/v1/sessions", 201, jsonCT,
			`{"token":"short","session_id":"` + id + `","expires_at":"2026-01-02T03:04:05Z"}`, false},
		{"activity with an unknown result", "GET", "/v1/me/login-activity", 200, jsonCT,
			`{"items":[{"id":"` + id + `","at":"2026-01-02T03:04:05Z","result":"maybe","ip":"","user_agent":"","device_label":""}]}`, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := validationRequest(tt.method, tt.path, http.Header{}, nil)
			route, params, err := router.FindRoute(req)
			if err != nil {
				t.Fatal(err)
			}
			in := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
				Status:                 tt.status, Header: tt.header, Options: opts,
			}
			in.SetBodyBytes([]byte(tt.body))
			err = openapi3filter.ValidateResponse(context.Background(), in)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidateResponse = %v, want ok = %v", err, tt.ok)
			}
		})
	}
}
