package hunt

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// fillMode says what parameter values are for.
type fillMode int

const (
	fillRead   fillMode = iota // owns, then objects it created, then learned values
	fillWrite                  // objects it created first, then owns, then learned values
	fillDelete                 // only objects it created or the config lists
)

// fill returns the parameter values for op as id (nil: examples and
// defaults only), which of them are id's own, and whether every required
// parameter has one. Ids are never invented: a required parameter with no
// known value and no example makes the operation unfillable.
func (h *hunter) fill(op *operation, id *identity, mode fillMode) (vals map[string]string, owned map[string]bool, ok bool) {
	vals = map[string]string{}
	owned = map[string]bool{}
	prev, items := pathContext(op.path)
	for _, p := range op.params {
		required := p.Required || p.In == openapi3.ParameterInPath
		if p.In == openapi3.ParameterInCookie {
			if required {
				return nil, nil, false
			}
			continue
		}
		if id != nil && p.In != openapi3.ParameterInHeader {
			if v := id.ownValue(p.Name, prev[p.Name], items[p.Name], mode); v != "" {
				vals[p.Name] = v
				owned[p.Name] = true
				continue
			}
		}
		if !required {
			continue
		}
		if mode == fillDelete && p.In == openapi3.ParameterInPath {
			return nil, nil, false
		}
		v := exampleValue(p)
		if v == "" {
			return nil, nil, false
		}
		vals[p.Name] = v
	}
	return vals, owned, true
}

// pathContext returns, for each path parameter of a template, the segment
// before it ("users" for /users/{id}) and the item template it ends
// ("/users/{id}" for /users/{id}/notes).
func pathContext(template string) (prev, items map[string]string) {
	prev, items = map[string]string{}, map[string]string{}
	segs := strings.Split(strings.Trim(template, "/"), "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			name := s[1 : len(s)-1]
			if i > 0 {
				prev[name] = segs[i-1]
			}
			items[name] = "/" + strings.Join(segs[:i+1], "/")
		}
	}
	return prev, items
}

// ownValue returns id's own value for a parameter, or "". item is the item
// template the parameter ends, for objects the hunt created.
func (id *identity) ownValue(name, prevSeg, item string, mode fillMode) string {
	id.mu.Lock()
	defer id.mu.Unlock()
	n := normKey(name)
	owns := func() string {
		if vs := id.cfg.Owns[name]; len(vs) > 0 {
			return vs[0]
		}
		for _, k := range sortedKeys(id.cfg.Owns) {
			if normKey(k) == n && len(id.cfg.Owns[k]) > 0 {
				return id.cfg.Owns[k][0]
			}
		}
		return ""
	}
	created := func() string {
		if vs := id.created[item]; item != "" && len(vs) > 0 {
			return vs[0]
		}
		// Objects created under another template with the same parameter
		// name (/docs/{doc_id} for /shared/{doc_id}).
		for _, k := range sortedKeys(id.created) {
			if strings.HasSuffix(k, "/{"+name+"}") && len(id.created[k]) > 0 {
				return id.created[k][0]
			}
		}
		return ""
	}
	learned := func() string {
		if n == "id" {
			if userCollections[strings.ToLower(prevSeg)] {
				return id.selfID
			}
			return ""
		}
		if vs := id.learned[n]; len(vs) > 0 {
			return vs[0]
		}
		if userParams[n] {
			return id.selfID
		}
		return ""
	}
	var order []func() string
	switch mode {
	case fillRead:
		order = []func() string{owns, created, learned}
	case fillWrite:
		order = []func() string{created, owns, learned}
	case fillDelete:
		order = []func() string{created, owns}
	}
	for _, f := range order {
		if v := f(); v != "" {
			return v
		}
	}
	return ""
}

// createdByHunt says whether v is the id of an object hunt created as id
// under the item template item.
func (id *identity) createdByHunt(item, v string) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	for _, c := range id.created[item] {
		if c == v {
			return true
		}
	}
	return false
}

// owns says whether v is one of id's known values for parameter name.
func (id *identity) owns(name, prevSeg, item, v string) bool {
	id.mu.Lock()
	defer id.mu.Unlock()
	n := normKey(name)
	for _, k := range sortedKeys(id.cfg.Owns) {
		if normKey(k) == n {
			for _, o := range id.cfg.Owns[k] {
				if o == v {
					return true
				}
			}
		}
	}
	for _, c := range id.created[item] {
		if c == v {
			return true
		}
	}
	for _, l := range id.learned[n] {
		if l == v {
			return true
		}
	}
	if id.selfID == v && (userParams[n] || n == "id" && userCollections[strings.ToLower(prevSeg)]) {
		return true
	}
	return false
}

// exampleValue returns a parameter's example, default or first enum value.
func exampleValue(p *openapi3.Parameter) string {
	if s := scalarText(p.Example); s != "" {
		return s
	}
	for _, k := range sortedKeys(p.Examples) {
		if ex := p.Examples[k]; ex != nil && ex.Value != nil {
			if s := scalarText(ex.Value.Value); s != "" {
				return s
			}
		}
	}
	if p.Schema == nil || p.Schema.Value == nil {
		return ""
	}
	s := p.Schema.Value
	if v := scalarText(s.Example); v != "" {
		return v
	}
	for _, e := range s.Examples {
		if v := scalarText(e); v != "" {
			return v
		}
	}
	if v := scalarText(s.Default); v != "" {
		return v
	}
	if v := scalarText(s.Const); v != "" {
		return v
	}
	for _, e := range s.Enum {
		if v := scalarText(e); v != "" {
			return v
		}
	}
	return ""
}

func scalarText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'f', -1, 64)
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	case int, int64, int32, uint64:
		return fmt.Sprint(x)
	}
	return ""
}

// bodyFor builds a JSON request body for op as who: required fields from
// the schema, and every string field set to a fresh canary (returned), so
// that a write can be recognised when it is read back. Id-like fields take
// the caller's parameter values or the schema's examples, never invented
// ids.
func (h *hunter) bodyFor(op *operation, who string, vals map[string]string) ([]byte, []string, error) {
	if op.bodySchema == nil {
		if op.bodyExample != nil {
			b, err := json.Marshal(op.bodyExample)
			return b, nil, err
		}
		if op.bodyRequired {
			return nil, nil, errNoBody
		}
		if op.op.RequestBody != nil {
			return []byte("{}"), nil, nil
		}
		return nil, nil, nil
	}
	g := &gen{who: who, vals: vals}
	v, ok := g.value(op.bodySchema, "", true, 0)
	if !ok {
		return nil, nil, errNoBody
	}
	b, err := json.Marshal(v)
	return b, g.canaries, err
}

type gen struct {
	who      string
	vals     map[string]string
	canaries []string
}

func schemaType(s *openapi3.Schema) string {
	if s.Type != nil {
		for _, t := range s.Type.Slice() {
			if t != "null" {
				return t
			}
		}
	}
	switch {
	case len(s.Properties) > 0:
		return "object"
	case s.Items != nil:
		return "array"
	}
	return ""
}

func (g *gen) value(s *openapi3.Schema, key string, required bool, depth int) (any, bool) {
	if s == nil || depth > 5 {
		return nil, false
	}
	if s.Const != nil {
		return s.Const, true
	}
	if len(s.Enum) > 0 {
		return s.Enum[0], true
	}
	if len(s.AllOf) > 0 {
		merged := map[string]any{}
		for _, r := range s.AllOf {
			if r == nil || r.Value == nil {
				continue
			}
			v, ok := g.value(r.Value, key, required, depth+1)
			if m, isMap := v.(map[string]any); ok && isMap {
				for k, e := range m {
					merged[k] = e
				}
			}
		}
		return merged, true
	}
	for _, alts := range []openapi3.SchemaRefs{s.OneOf, s.AnyOf} {
		for _, r := range alts {
			if r != nil && r.Value != nil {
				if v, ok := g.value(r.Value, key, required, depth+1); ok {
					return v, true
				}
			}
		}
	}
	if idKey(key) {
		if v, ok := g.vals[key]; ok {
			return v, true
		}
		if s.Example != nil {
			return s.Example, true
		}
		if s.Default != nil {
			return s.Default, true
		}
		return nil, false
	}
	switch schemaType(s) {
	case "object":
		m := map[string]any{}
		req := map[string]bool{}
		for _, r := range s.Required {
			req[r] = true
		}
		for _, name := range sortedKeys(s.Properties) {
			ref := s.Properties[name]
			if ref == nil || ref.Value == nil || ref.Value.ReadOnly {
				continue
			}
			ps := ref.Value
			if !req[name] && (schemaType(ps) != "string" || len(ps.Enum) > 0 || idKey(name) || secretKey(name) || ps.Format == "uuid" || ps.Pattern != "") {
				continue
			}
			v, ok := g.value(ps, name, req[name], depth+1)
			if !ok {
				if req[name] {
					return nil, false
				}
				continue
			}
			m[name] = v
		}
		return m, true
	case "array":
		if !required || s.Items == nil || s.Items.Value == nil {
			return []any{}, true
		}
		v, ok := g.value(s.Items.Value, key, true, depth+1)
		if !ok {
			return []any{}, true
		}
		return []any{v}, true
	case "integer", "number":
		for _, v := range []any{s.Example, s.Default} {
			if v != nil {
				return v, true
			}
		}
		if s.Min != nil {
			return *s.Min, true
		}
		return 1, true
	case "boolean":
		for _, v := range []any{s.Example, s.Default} {
			if v != nil {
				return v, true
			}
		}
		return true, true
	case "string", "":
		return g.str(s)
	}
	return nil, false
}

func (g *gen) str(s *openapi3.Schema) (any, bool) {
	switch s.Format {
	case "date-time":
		return "2024-01-02T03:04:05Z", true
	case "date":
		return "2024-01-02", true
	case "uuid", "byte", "binary", "password":
		if s.Example != nil {
			return s.Example, true
		}
		if s.Format == "password" {
			return canary(g.who, 0) + "-Pw1!", true
		}
		return nil, false
	}
	if s.Pattern != "" {
		if s.Example != nil {
			return s.Example, true
		}
		if s.Default != nil {
			return s.Default, true
		}
	}
	maxLen := 0
	if s.MaxLength != nil {
		maxLen = int(*s.MaxLength)
	}
	c := canary(g.who, maxLen)
	switch s.Format {
	case "email":
		c = c + "@example.com"
	case "uri", "url":
		c = "https://example.com/" + c
	}
	for uint64(len(c)) < s.MinLength {
		c += "x"
	}
	g.canaries = append(g.canaries, c)
	return c, true
}
