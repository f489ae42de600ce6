package hunt

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// defaultBodyLimit bounds how much of an answer hunt reads.
const defaultBodyLimit = 1 << 20

// errBudget is returned by send once the request budget is spent.
var errBudget = errors.New("hunt: request budget spent")

// request is one HTTP request hunt is about to send.
type request struct {
	method string
	url    string // absolute
	who    string // the caller it plays, for evidence
	header http.Header
	body   []byte
	limit  int64    // bytes of the answer to read; defaultBodyLimit when 0
	masks  []string // parameter values that are private, masked in display
}

// display returns the request as evidence shows it: method, path and query
// (with private-looking values masked) and who sent it. Headers never appear.
func (r *request) display() string {
	u, err := url.Parse(r.url)
	if err != nil {
		return r.method + " ? as " + r.who
	}
	p := u.EscapedPath()
	if p == "" {
		p = "/"
	}
	for _, m := range r.masks {
		p = strings.ReplaceAll(p, url.PathEscape(m), url.PathEscape(mask(kindSecret, m)))
	}
	if u.RawQuery != "" {
		q := u.Query()
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var parts []string
		for _, k := range keys {
			for _, v := range q[k] {
				if items := classifyAll(k, v, true); len(items) > 0 {
					v = mask(items[0].kind, v)
				} else {
					for _, m := range r.masks {
						if m == v {
							v = mask(kindSecret, v)
						}
					}
				}
				parts = append(parts, url.QueryEscape(k)+"="+url.QueryEscape(v))
			}
		}
		p += "?" + strings.Join(parts, "&")
	}
	return r.method + " " + p + " as " + r.who
}

// answer is what came back.
type answer struct {
	req        *request
	status     int
	ctype      string // media type, lower case, without parameters
	location   string
	retryAfter string
	body       []byte
	doc        any // decoded JSON, when the body is JSON
	isJSON     bool
	leaves     []leaf
	shape      map[string]bool
}

// leaf is one scalar of a JSON answer.
type leaf struct {
	path string // "user.emails[].value"
	key  string // the nearest object key: "value"
	val  string // the scalar as text
	str  bool   // it was a JSON string
}

// send sends r through the shared client: at most Concurrency requests in
// flight, at most Rate per second, never more than Budget in all, each with
// its own timeout. A transport error is returned as is; the caller decides
// whether it matters.
func (h *hunter) send(ctx context.Context, r *request) (*answer, error) {
	select {
	case h.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-h.sem }()
	if !h.reserve() {
		return nil, errBudget
	}
	// Once reserved, a request is sent: it waits for the rate cap and runs
	// under the caller's context, not the run's, so that spending the
	// budget (which ends the run) stops new requests but not these.
	parent := h.parent
	if parent == nil {
		parent = ctx
	}
	if err := h.limiter.Wait(parent); err != nil {
		h.sent.Add(-1)
		return nil, err
	}
	rctx, cancel := context.WithTimeout(parent, h.opts.Timeout)
	defer cancel()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	hreq, err := http.NewRequestWithContext(rctx, r.method, r.url, body)
	if err != nil {
		return nil, err
	}
	for k, vs := range r.header {
		for _, v := range vs {
			hreq.Header.Add(k, v)
		}
	}
	if hreq.Header.Get("User-Agent") == "" {
		hreq.Header.Set("User-Agent", "vigil-hunt")
	}
	if r.body != nil && hreq.Header.Get("Content-Type") == "" {
		hreq.Header.Set("Content-Type", "application/json")
	}
	if hreq.Header.Get("Accept") == "" {
		hreq.Header.Set("Accept", "application/json, */*;q=0.5")
	}
	resp, err := h.client.Do(hreq)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	limit := r.limit
	if limit <= 0 {
		limit = defaultBodyLimit
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit))
	if err != nil && parent.Err() != nil {
		return nil, parent.Err()
	}
	a := &answer{req: r, status: resp.StatusCode, location: resp.Header.Get("Location"), body: data,
		retryAfter: resp.Header.Get("Retry-After")}
	if mt, _, err := mime.ParseMediaType(resp.Header.Get("Content-Type")); err == nil {
		a.ctype = strings.ToLower(mt)
	}
	// A client that followed a redirect to a login page was sent there.
	if resp.Request != nil && resp.Request.URL != nil && resp.Request.URL.String() != r.url && loginish(resp.Request.URL.Path) {
		a.location = resp.Request.URL.String()
		a.status = http.StatusFound
	}
	a.parse()
	return a, nil
}

// reserve takes one request from the budget, or reports it spent (and
// stops the run).
func (h *hunter) reserve() bool {
	if h.sent.Add(1) > int64(h.opts.Budget) {
		h.sent.Add(-1)
		if !h.budgetSpent.Swap(true) && h.stop != nil {
			h.stop()
		}
		return false
	}
	return true
}

// maxLeaves bounds the scalars kept of one answer.
const maxLeaves = 5000

func (a *answer) parse() {
	b := bytes.TrimSpace(a.body)
	if len(b) == 0 || (b[0] != '{' && b[0] != '[' && !strings.Contains(a.ctype, "json")) {
		return
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return
	}
	a.doc, a.isJSON = v, true
	a.shape = map[string]bool{}
	flatten(v, "", "", &a.leaves, a.shape)
}

func flatten(v any, path, key string, out *[]leaf, shape map[string]bool) {
	if len(*out) >= maxLeaves {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(x) {
			p := k
			if path != "" {
				p = path + "." + k
			}
			shape[p] = true
			flatten(x[k], p, k, out, shape)
		}
	case []any:
		for _, e := range x {
			flatten(e, path+"[]", key, out, shape)
		}
	case string:
		*out = append(*out, leaf{path: path, key: key, val: x, str: true})
	case json.Number:
		*out = append(*out, leaf{path: path, key: key, val: x.String()})
	case bool:
		*out = append(*out, leaf{path: path, key: key, val: strconv.FormatBool(x)})
	}
}

// loginish says whether a path looks like a sign-in page.
func loginish(p string) bool {
	p = strings.ToLower(p)
	for _, w := range []string{"login", "signin", "sign-in", "sign_in", "auth", "sso", "oauth"} {
		if strings.Contains(p, w) {
			return true
		}
	}
	return false
}

// served says whether the API let the request through: a 2xx that is not
// an error body or a login form. Redirects, 4xx (401, 403, 404, 405 ...)
// and error bodies are the API saying no; 429 and 5xx say nothing either
// way and are not served either.
func served(a *answer) bool {
	if a == nil || a.status < 200 || a.status > 299 {
		return false
	}
	return !errorBody(a) && !loginForm(a)
}

// errorBody recognises problem details and the common error envelopes.
func errorBody(a *answer) bool {
	if a.ctype == "application/problem+json" || a.ctype == "application/problem+xml" {
		return true
	}
	m, ok := a.doc.(map[string]any)
	if !ok {
		return false
	}
	if d, ok := m["data"]; ok && d != nil {
		return false
	}
	if e, ok := m["error"]; ok && truthy(e) {
		return true
	}
	if e, ok := m["errors"]; ok && truthy(e) && len(m) <= 4 {
		return true
	}
	for _, k := range []string{"success", "ok"} {
		if b, ok := m[k].(bool); ok && !b {
			return true
		}
	}
	if s, ok := m["status"].(string); ok && (strings.EqualFold(s, "error") || strings.EqualFold(s, "fail")) && len(m) <= 4 {
		return true
	}
	return false
}

func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

// loginForm recognises an HTML page with a password field: an app that
// answers 200 with its sign-in page has said no.
func loginForm(a *answer) bool {
	if !strings.Contains(a.ctype, "html") {
		return false
	}
	b := bytes.ToLower(a.body)
	return bytes.Contains(b, []byte(`type="password"`)) || bytes.Contains(b, []byte(`type='password'`)) || bytes.Contains(b, []byte(`type=password`))
}

// trivial says whether a served answer carries nothing: no body, null, {}
// or [].
func trivial(a *answer) bool {
	b := bytes.TrimSpace(a.body)
	if len(b) == 0 {
		return true
	}
	if a.isJSON {
		return len(a.leaves) == 0
	}
	return false
}

// similar says whether two served answers are the same kind of view: the
// same JSON key paths mostly (Jaccard >= 0.75), or equal bodies.
func similar(a, b *answer) bool {
	if a == nil || b == nil {
		return false
	}
	if bytes.Equal(a.body, b.body) {
		return true
	}
	if a.isJSON && b.isJSON {
		if len(a.shape) == 0 && len(b.shape) == 0 {
			return sameJSONKind(a.doc, b.doc)
		}
		return jaccard(a.shape, b.shape) >= 0.75
	}
	if a.isJSON != b.isJSON || a.ctype != b.ctype {
		return false
	}
	la, lb := len(a.body), len(b.body)
	return min(la, lb)*5 >= max(la, lb)*4
}

func sameJSONKind(a, b any) bool {
	switch a.(type) {
	case map[string]any:
		_, ok := b.(map[string]any)
		return ok
	case []any:
		_, ok := b.([]any)
		return ok
	}
	return false
}

// reduced says whether a is a smaller view than ref: its key paths a strict
// subset of ref's, or not similar at all. Without a reference it is not.
func reduced(a, ref *answer) bool {
	if a == nil || ref == nil || !served(ref) {
		return false
	}
	if !a.isJSON || !ref.isJSON {
		return !similar(a, ref)
	}
	if len(a.shape) < len(ref.shape) {
		for k := range a.shape {
			if !ref.shape[k] {
				return !similar(a, ref)
			}
		}
		return true
	}
	return !similar(a, ref)
}

// alike says whether two answers are the same answer: equal bodies, or the
// same shape with at least 90% equal scalars (timestamps and request ids
// differ between calls).
func alike(a, b *answer) bool {
	if a == nil || b == nil || a.status != b.status {
		return false
	}
	if bytes.Equal(a.body, b.body) {
		return true
	}
	if !a.isJSON || !b.isJSON || jaccard(a.shape, b.shape) < 1 || len(a.leaves) != len(b.leaves) {
		return false
	}
	same := 0
	for i := range a.leaves {
		if a.leaves[i] == b.leaves[i] {
			same++
		}
	}
	return same*10 >= len(a.leaves)*9
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 && len(b) == 0 {
		return 1
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	union := len(a) + len(b) - inter
	return float64(inter) / float64(union)
}
