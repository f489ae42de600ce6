package hunt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/getkin/kin-openapi/openapi3"
)

// maxSpecSize bounds an OpenAPI document fetched over HTTP.
const maxSpecSize = 32 << 20

// loadSpec reads and validates the document at cfg.Spec. A document fetched
// over HTTP goes through the hunt's own client, so it counts against the
// budget and the rate cap like any other request.
func (h *hunter) loadSpec(ctx context.Context) (*openapi3.T, error) {
	loader := openapi3.NewLoader()
	loader.Context = ctx
	var (
		data []byte
		loc  *url.URL
	)
	if isHTTPURL(h.cfg.Spec) {
		a, err := h.send(ctx, &request{method: "GET", url: h.cfg.Spec, who: Anonymous, header: map[string][]string{"Accept": {"application/json, application/yaml;q=0.9, */*;q=0.1"}}, limit: maxSpecSize})
		if err != nil {
			if ctx.Err() != nil {
				return nil, err
			}
			return nil, &TargetError{Problem: fmt.Sprintf("spec %s does not load", h.cfg.Spec), Err: err}
		}
		if a.status/100 != 2 {
			return nil, &TargetError{Problem: fmt.Sprintf("spec %s does not load: the server answered %d", h.cfg.Spec, a.status)}
		}
		data = a.body
		loc, _ = url.Parse(h.cfg.Spec)
		// References to other documents would be fetched outside the
		// budget and the rate cap; a served spec must be self-contained.
		loader.IsExternalRefsAllowed = false
	} else {
		var err error
		data, err = os.ReadFile(h.cfg.Spec)
		if err != nil {
			return nil, &TargetError{Problem: fmt.Sprintf("spec %s does not load", h.cfg.Spec), Err: unwrapPathError(err)}
		}
		abs, _ := filepath.Abs(h.cfg.Spec)
		loc = &url.URL{Path: filepath.ToSlash(abs)}
		loader.IsExternalRefsAllowed = true
	}
	doc, err := loader.LoadFromDataWithPath(data, loc)
	if err != nil {
		return nil, &TargetError{Problem: fmt.Sprintf("spec %s does not load", h.cfg.Spec), Err: err}
	}
	if doc.Paths == nil || doc.Paths.Len() == 0 {
		return nil, &TargetError{Problem: fmt.Sprintf("spec %s is not a valid OpenAPI document: it has no paths", h.cfg.Spec)}
	}
	// Examples that do not match their schema are a documentation bug, not
	// a reason to refuse a hunt.
	if err := doc.Validate(ctx, openapi3.DisableExamplesValidation()); err != nil {
		return nil, &TargetError{Problem: fmt.Sprintf("spec %s is not a valid OpenAPI document", h.cfg.Spec), Err: err}
	}
	return doc, nil
}

// operation is one method on one path template of the spec, with what hunt
// knows about who may call it.
type operation struct {
	key    string // "GET /v1/notes/{note_id}"
	method string
	path   string
	op     *openapi3.Operation
	params []*openapi3.Parameter // path, query and header parameters

	bodySchema   *openapi3.Schema // JSON request body schema, nil if none
	bodyExample  any              // JSON request body example, when there is no schema
	bodyRequired bool
	bodyUnusable bool // a required body hunt cannot build (not JSON)

	public   bool   // meant for anonymous callers (config public, security: [] or {}, x-vigil-policy: public)
	declared bool   // the spec or config says it needs a credential
	role     string // least role it needs; "" for any signed-in identity
	rank     int    // index of role in Config.Roles, 0 when role is ""

	rateLimited bool   // listed in rate_limited
	excluded    bool   // listed in exclude, or a sign-out that would end the hunt's sessions
	login       string // name of the identity that signs in through it, "" if none
	self        bool   // a view of the caller itself (GET /me ...)
	createFor   string // a collection create: the item's path parameter ("note_id")
	itemPath    string // with createFor: the item's path template
	readBack    *operation

	skipReason string      // why it is not replayed; "" if it is
	sent       atomic.Bool // a request of it was sent
}

var (
	signOut        = regexp.MustCompile(`(?i)(log-?out|sign-?out|log_out|sign_out|revoke[-_]?all)`)
	currentSession = regexp.MustCompile(`(?i)/sessions?(/current)?$`)
)

// endsSessions says whether sending op would sign the hunt's identities
// out: a sign-out, a "revoke all", deleting the current session.
func endsSessions(op *operation) bool {
	return signOut.MatchString(op.path) || (op.method == "DELETE" && currentSession.MatchString(op.path))
}

// buildOps turns the document into operations, applying the config.
func (h *hunter) buildOps(doc *openapi3.T) ([]*operation, error) {
	cfg := h.cfg
	known := map[string]*operation{}
	var ops []*operation
	paths := doc.Paths.Keys()
	sort.Strings(paths)
	for _, p := range paths {
		item := doc.Paths.Value(p)
		if item == nil {
			continue
		}
		methods := sortedKeys(item.Operations())
		for _, m := range methods {
			o := item.Operations()[m]
			op := &operation{method: strings.ToUpper(m), path: p, op: o}
			op.key = op.method + " " + p
			op.params = mergeParams(item.Parameters, o.Parameters)
			h.classifyBody(op)
			h.classifyAccess(doc, op)
			ops = append(ops, op)
			known[op.key] = op
		}
	}
	// The config must name operations that exist: a typo in a role or
	// rate-limit requirement would otherwise silently check nothing.
	check := func(field, ref string) (*operation, error) {
		m, p, _ := parseOpRef(ref)
		op := known[m+" "+p]
		if op == nil {
			return nil, cfgErr(field, "the spec has no operation %s %s", m, p)
		}
		return op, nil
	}
	for i, r := range cfg.Public {
		op, err := check(fmt.Sprintf("public[%d]", i), r)
		if err != nil {
			return nil, err
		}
		op.public, op.declared = true, false
	}
	for i, r := range cfg.RateLimited {
		op, err := check(fmt.Sprintf("rate_limited[%d]", i), r)
		if err != nil {
			return nil, err
		}
		op.rateLimited = true
	}
	for i, r := range cfg.Exclude {
		op, err := check(fmt.Sprintf("exclude[%d]", i), r)
		if err != nil {
			return nil, err
		}
		op.excluded = true
		op.skipReason = "excluded by the config"
	}
	for _, r := range sortedKeys(cfg.Requires) {
		op, err := check("requires."+r, r)
		if err != nil {
			return nil, err
		}
		op.role = cfg.Requires[r]
		op.rank = h.rank(op.role)
		op.declared = true
	}
	// Sign-in operations are exercised by signing in (and by the rate-limit
	// burst), never replayed as ordinary operations: their answers belong
	// to whoever proved the credentials.
	for _, id := range cfg.Identities {
		if id.Login == nil || isHTTPURL(id.Login.Path) {
			continue
		}
		m := strings.ToUpper(id.Login.Method)
		if m == "" {
			m = "POST"
		}
		for _, op := range ops {
			if op.method == m && matchTemplate(op.path, id.Login.Path) && op.login == "" {
				op.login = id.Name
			}
		}
	}
	byPath := map[string]map[string]*operation{}
	for _, op := range ops {
		if byPath[op.path] == nil {
			byPath[op.path] = map[string]*operation{}
		}
		byPath[op.path][op.method] = op
	}
	for _, op := range ops {
		if op.method != "GET" {
			op.readBack = byPath[op.path]["GET"]
		}
		if op.method == "GET" && !hasPathParams(op.path) && isSelfPath(op.path) {
			op.self = true
		}
		if op.method == "POST" && !strings.HasSuffix(op.path, "}") {
			// A create: POST /notes next to /notes/{note_id}.
			for _, p := range paths {
				rest, ok := strings.CutPrefix(p, strings.TrimSuffix(op.path, "/")+"/{")
				if ok && strings.HasSuffix(rest, "}") && !strings.ContainsAny(rest[:len(rest)-1], "/{}") {
					op.createFor = rest[:len(rest)-1]
					op.itemPath = p
					break
				}
			}
		}
		if op.method != "GET" && op.login == "" && endsSessions(op) && op.skipReason == "" {
			op.excluded = true
			op.skipReason = "would end the hunt's own sessions"
		}
		switch op.method {
		case "GET", "POST", "PUT", "PATCH", "DELETE":
		default:
			if op.skipReason == "" {
				op.skipReason = "method " + op.method + " is not replayed"
			}
		}
		if op.skipReason == "" && op.method != "GET" && op.login == "" && !h.opts.UnsafeMethods {
			op.skipReason = "unsafe method (replayed only with unsafe methods on)"
		}
		if op.skipReason == "" && op.bodyUnusable && op.login == "" {
			op.skipReason = "request body is not JSON"
		}
	}
	return ops, nil
}

func mergeParams(pathLevel, opLevel openapi3.Parameters) []*openapi3.Parameter {
	var out []*openapi3.Parameter
	seen := map[string]bool{}
	for _, list := range []openapi3.Parameters{opLevel, pathLevel} {
		for _, r := range list {
			if r == nil || r.Value == nil {
				continue
			}
			p := r.Value
			k := p.In + ":" + p.Name
			if seen[k] {
				continue
			}
			seen[k] = true
			if p.In == openapi3.ParameterInPath || p.In == openapi3.ParameterInQuery || p.In == openapi3.ParameterInHeader || p.In == openapi3.ParameterInCookie {
				out = append(out, p)
			}
		}
	}
	return out
}

func (h *hunter) classifyBody(op *operation) {
	rb := op.op.RequestBody
	if rb == nil || rb.Value == nil {
		return
	}
	op.bodyRequired = rb.Value.Required
	for ct, mt := range rb.Value.Content {
		base := strings.ToLower(strings.TrimSpace(strings.Split(ct, ";")[0]))
		if base != "application/json" && !strings.HasSuffix(base, "+json") {
			continue
		}
		if mt == nil {
			continue
		}
		if mt.Schema != nil && mt.Schema.Value != nil {
			op.bodySchema = mt.Schema.Value
		}
		if mt.Example != nil {
			op.bodyExample = mt.Example
		} else {
			for _, name := range sortedKeys(mt.Examples) {
				if ex := mt.Examples[name]; ex != nil && ex.Value != nil && ex.Value.Value != nil {
					op.bodyExample = ex.Value.Value
					break
				}
			}
		}
		return
	}
	if len(rb.Value.Content) > 0 && op.bodyRequired {
		op.bodyUnusable = true
	}
}

// roleExtensions are the x- extensions read as an operation's required role,
// in order of preference.
var roleExtensions = []string{"x-required-role", "x-role", "x-roles", "x-vigil-policy", "x-access", "x-access-policy", "x-policy", "x-permission"}

func (h *hunter) classifyAccess(doc *openapi3.T, op *operation) {
	sec := doc.Security
	if op.op.Security != nil {
		sec = *op.op.Security
	}
	switch {
	case op.op.Security != nil && len(*op.op.Security) == 0:
		op.public = true
	case len(sec) == 0:
		// The document says nothing: judge by behaviour.
	default:
		op.declared = true
		for _, req := range sec {
			if len(req) == 0 { // {} among the alternatives: a credential is optional
				op.public, op.declared = true, false
			}
		}
	}
	for _, ext := range roleExtensions {
		v, ok := op.op.Extensions[ext]
		if !ok {
			continue
		}
		for _, s := range extStrings(v) {
			switch strings.ToLower(s) {
			case "public", "anonymous", "anyone", "none":
				op.public, op.declared = true, false
				continue
			case "authenticated", "owner", "user", "signed-in", "any":
				op.declared = true
			}
			if r := h.rank(s); r > 0 && (op.role == "" || r < op.rank) {
				op.role, op.rank, op.declared = s, r, true
				op.public = false
			}
		}
		if op.role != "" {
			return
		}
	}
	// Tags named exactly like a role above the lowest are a declaration too;
	// path names alone are only a hint and are not used.
	for _, t := range op.op.Tags {
		if r := h.rank(t); r > 0 && r > op.rank {
			op.role, op.rank, op.declared = t, r, true
			op.public = false
		}
	}
}

// extStrings reads an extension value as strings (a string or a list).
func extStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case []string:
		return x
	case []byte:
		return []string{strings.Trim(string(x), `"`)}
	}
	return nil
}

// rank returns the index of role in Config.Roles (0 for unknown or "").
func (h *hunter) rank(role string) int {
	for i, r := range h.cfg.Roles {
		if r == role {
			return i
		}
	}
	return 0
}

func hasPathParams(p string) bool { return strings.Contains(p, "{") }

var selfSegments = map[string]bool{"me": true, "self": true, "current": true, "whoami": true, "my": true, "mine": true, "myself": true, "current_user": true, "current-user": true, "userinfo": true}

// isSelfPath says whether a parameterless path names the caller itself:
// /me, /v1/users/me/settings, /whoami, /account, /profile.
func isSelfPath(p string) bool {
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for _, s := range segs {
		if selfSegments[strings.ToLower(s)] {
			return true
		}
	}
	last := strings.ToLower(segs[len(segs)-1])
	return last == "account" || last == "profile" || last == "user"
}

// matchTemplate reports whether a concrete path matches a path template.
func matchTemplate(template, path string) bool {
	t := strings.Split(strings.Trim(template, "/"), "/")
	p := strings.Split(strings.Trim(strings.SplitN(path, "?", 2)[0], "/"), "/")
	if len(t) != len(p) {
		return false
	}
	for i := range t {
		if strings.HasPrefix(t[i], "{") && strings.HasSuffix(t[i], "}") {
			if p[i] == "" {
				return false
			}
			continue
		}
		if t[i] != p[i] {
			return false
		}
	}
	return true
}

// errNoBody says a request body could not be built.
var errNoBody = errors.New("no JSON body can be built")
