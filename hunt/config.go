package hunt

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	// go.yaml.in/yaml/v3 is the YAML organisation's maintained continuation
	// of gopkg.in/yaml.v3 (same API, fixes still landing; the old import path
	// is archived). We walk its yaml.Node tree ourselves instead of
	// unmarshalling into a struct, so that every error names the exact key
	// (identities[1].login.tokn) and unknown keys are refused rather than
	// silently ignored.
	yaml "go.yaml.in/yaml/v3"
)

// Config is a hunt's YAML config. The keys are exactly those of issue #5:
//
//	target: http://127.0.0.1:8080          # base URL the spec's paths are appended to
//	spec: openapi.json                      # file path (relative to the config) or http(s) URL
//	public: ["GET /health", "POST /auth/login"]   # operations meant for anonymous callers
//	rate_limited: ["POST /auth/login"]      # operations that must answer 429 to a burst
//	identities:
//	  - name: alice
//	    role: user                          # one of roles; the lowest if omitted
//	    login: {method: POST, path: /auth/login, body: {username: alice, password: "..."}, token: access_token}
//	    owns: {note_id: ["n-123"], account_id: ["1"]}
//	  - name: admin
//	    role: admin
//	    headers: {Authorization: "Bearer static-token"}
//	roles: [user, admin]                    # lowest first
//	requires:                               # operations that need at least this role
//	  "GET /admin/users": admin
//
// One key is added: exclude, a list of operations ("METHOD /path") that the
// hunt never sends (say, an endpoint that would revoke the identities' own
// sessions). Operations are named by the spec's path template. Any string
// value may contain ${NAME}, replaced by the environment variable NAME when
// the config is loaded, so that passwords and tokens stay out of the file;
// an unset variable is an error.
type Config struct {
	Target      string            `yaml:"target"`       // base URL, http or https
	Spec        string            `yaml:"spec"`         // OpenAPI document: a file path (made absolute by LoadConfig) or an http(s) URL
	Public      []string          `yaml:"public"`       // operations meant for anonymous callers
	RateLimited []string          `yaml:"rate_limited"` // operations that must answer 429 to a burst (unsafe ones other than sign-ins only with unsafe methods)
	Identities  []Identity        `yaml:"identities"`   // who the hunt signs in as, in this order
	Roles       []string          `yaml:"roles"`        // role names, lowest first
	Requires    map[string]string `yaml:"requires"`     // operation -> least role it needs
	Exclude     []string          `yaml:"exclude"`      // operations never sent (an addition to the keys)
}

// Identity is one account the hunt acts as. It signs in through Login, or
// carries static Headers (or both: the headers go on every request it sends,
// its sign-in included).
type Identity struct {
	Name    string              `yaml:"name"`    // unique; "anonymous" and "invalid-credential" are reserved
	Role    string              `yaml:"role"`    // one of Config.Roles; the lowest role when empty
	Login   *Login              `yaml:"login"`   // how to sign in, or nil
	Headers map[string]string   `yaml:"headers"` // sent on every request of this identity
	Owns    map[string][]string `yaml:"owns"`    // path/query parameter name -> values of objects this identity owns
}

// Login says how an identity signs in: Method and Path (relative to the
// target, or an absolute http(s) URL) with Body sent as JSON; the answer is
// a JSON document and Token is the dotted path of the bearer token in it
// ("access_token", "data.session.token", "items.0.token"). Token may be
// empty: then access_token, token, accessToken, session_token and
// session.token are tried in turn. The token is sent as
// "Authorization: Bearer <token>".
type Login struct {
	Method string `yaml:"method"` // POST when empty
	Path   string `yaml:"path"`
	Body   any    `yaml:"body"` // any JSON-representable value; nil sends no body
	Token  string `yaml:"token"`
}

// Reserved identity names: the callers hunt always plays besides the
// configured identities.
const (
	Anonymous         = "anonymous"          // no credential at all
	InvalidCredential = "invalid-credential" // a plausible but wrong credential
)

// ConfigError says which key of a config is wrong and why.
type ConfigError struct {
	Key     string // dotted path of the key: "identities[0].login.path", "requires.GET /x"
	Problem string
}

// Error returns "config: <key>: <problem>".
func (e *ConfigError) Error() string { return "config: " + e.Key + ": " + e.Problem }

func cfgErr(key, format string, args ...any) *ConfigError {
	return &ConfigError{Key: key, Problem: fmt.Sprintf(format, args...)}
}

// maxConfigSize and maxConfigNodes bound what LoadConfig reads, so that a
// hostile or broken file (YAML aliases can expand exponentially) cannot
// exhaust memory.
const (
	maxConfigSize  = 1 << 20
	maxConfigNodes = 20000
)

// LoadConfig reads and validates the YAML config at path. A relative spec
// path is taken relative to the config file's directory (and must exist).
// Errors are *ConfigError naming the key and the problem; unknown keys are
// refused, so a typo is not silently ignored.
func LoadConfig(path string) (*Config, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, &ConfigError{Key: "file", Problem: err.Error()}
	}
	if st.Size() > maxConfigSize {
		return nil, cfgErr("file", "larger than %d bytes", maxConfigSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{Key: "file", Problem: err.Error()}
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return nil, &ConfigError{Key: "file", Problem: err.Error()}
	}
	cfg, err := parseConfig(data, dir, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if !isHTTPURL(cfg.Spec) {
		if _, err := os.Stat(cfg.Spec); err != nil {
			return nil, cfgErr("spec", "cannot read %s: %v", cfg.Spec, unwrapPathError(err))
		}
	}
	return cfg, nil
}

func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// parseConfig is LoadConfig without the file system: dir resolves a
// relative spec path, lookup resolves ${NAME}.
func parseConfig(data []byte, dir string, lookup func(string) (string, bool)) (*Config, error) {
	if len(data) > maxConfigSize {
		return nil, cfgErr("file", "larger than %d bytes", maxConfigSize)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, cfgErr("yaml", "%s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	p := &parser{lookup: lookup}
	root := &doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil, cfgErr("target", "missing (the config is empty)")
		}
		root = root.Content[0]
	}
	cfg := &Config{}
	if err := p.config(root, cfg); err != nil {
		return nil, err
	}
	if cfg.Spec != "" && !isHTTPURL(cfg.Spec) && !filepath.IsAbs(cfg.Spec) {
		cfg.Spec = filepath.Join(dir, cfg.Spec)
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

type parser struct {
	lookup func(string) (string, bool)
	nodes  int
}

// resolve follows aliases and counts nodes.
func (p *parser) resolve(key string, n *yaml.Node) (*yaml.Node, error) {
	for depth := 0; n != nil && n.Kind == yaml.AliasNode; depth++ {
		if depth > 32 {
			return nil, cfgErr(key, "alias chain too long")
		}
		n = n.Alias
	}
	if n == nil {
		return nil, cfgErr(key, "empty")
	}
	p.nodes++
	if p.nodes > maxConfigNodes {
		return nil, cfgErr(key, "the config has more than %d nodes", maxConfigNodes)
	}
	return n, nil
}

// pairs returns the key/value pairs of a mapping, refusing duplicates and
// merge keys.
func (p *parser) pairs(key string, n *yaml.Node) ([][2]*yaml.Node, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	if n.Kind != yaml.MappingNode {
		return nil, cfgErr(key, "must be a mapping, not %s", kindName(n))
	}
	seen := map[string]bool{}
	var out [][2]*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, err := p.resolve(key, n.Content[i])
		if err != nil {
			return nil, err
		}
		if k.Kind != yaml.ScalarNode {
			return nil, cfgErr(key, "keys must be scalars")
		}
		name := k.Value
		if name == "<<" && k.Tag == "!!merge" {
			return nil, cfgErr(join(key, name), "merge keys are not supported")
		}
		if seen[name] {
			return nil, cfgErr(join(key, name), "duplicate key")
		}
		seen[name] = true
		out = append(out, [2]*yaml.Node{k, n.Content[i+1]})
	}
	return out, nil
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return "a scalar"
	}
	return "something else"
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// str reads a scalar as a string, expanding ${NAME}. A null is "".
func (p *parser) str(key string, n *yaml.Node) (string, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return "", err
	}
	if n.Kind != yaml.ScalarNode {
		return "", cfgErr(key, "must be a string, not %s", kindName(n))
	}
	if n.Tag == "!!null" {
		return "", nil
	}
	return p.expand(key, n.Value)
}

func (p *parser) expand(key, s string) (string, error) {
	var missing string
	out := envRef.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := "", false
		if p.lookup != nil {
			v, ok = p.lookup(name)
		}
		if !ok && missing == "" {
			missing = name
		}
		return v
	})
	if missing != "" {
		return "", cfgErr(key, "environment variable %s is not set", missing)
	}
	return out, nil
}

// strs reads a list of scalars; a single scalar is a list of one.
func (p *parser) strs(key string, n *yaml.Node) ([]string, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return nil, nil
		}
		s, err := p.str(key, n)
		if err != nil {
			return nil, err
		}
		return []string{s}, nil
	case yaml.SequenceNode:
		out := make([]string, 0, len(n.Content))
		for i, c := range n.Content {
			s, err := p.str(fmt.Sprintf("%s[%d]", key, i), c)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, cfgErr(key, "must be a list of strings, not %s", kindName(n))
}

// allowedKeys lists the keys of each mapping, for "did you mean".
var (
	topKeys      = []string{"target", "spec", "public", "rate_limited", "identities", "roles", "requires", "exclude"}
	identityKeys = []string{"name", "role", "login", "headers", "owns"}
	loginKeys    = []string{"method", "path", "body", "token"}
)

func unknownKey(key, name string, allowed []string) *ConfigError {
	problem := "unknown key"
	best, bestD := "", 3
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(name), a); d < bestD {
			best, bestD = a, d
		}
	}
	if best != "" {
		problem += fmt.Sprintf(" (did you mean %q?)", best)
	} else {
		problem += " (known keys: " + strings.Join(allowed, ", ") + ")"
	}
	return &ConfigError{Key: join(key, name), Problem: problem}
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 64
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := prev[j-1]
			if a[i-1] != b[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (p *parser) config(root *yaml.Node, cfg *Config) error {
	root, err := p.resolve("", root)
	if err != nil {
		return err
	}
	if root.Kind == 0 || root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return cfgErr("target", "missing (the config is empty)")
	}
	if root.Kind != yaml.MappingNode {
		return &ConfigError{Key: "file", Problem: "the config must be a mapping of keys"}
	}
	kvs, err := p.pairs("", root)
	if err != nil {
		return err
	}
	for _, kv := range kvs {
		name, v := kv[0].Value, kv[1]
		switch name {
		case "target":
			cfg.Target, err = p.str(name, v)
		case "spec":
			cfg.Spec, err = p.str(name, v)
		case "public":
			cfg.Public, err = p.strs(name, v)
		case "rate_limited":
			cfg.RateLimited, err = p.strs(name, v)
		case "exclude":
			cfg.Exclude, err = p.strs(name, v)
		case "roles":
			cfg.Roles, err = p.strs(name, v)
		case "requires":
			cfg.Requires, err = p.strMap(name, v)
		case "identities":
			cfg.Identities, err = p.identities(name, v)
		default:
			return unknownKey("", name, topKeys)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (p *parser) strMap(key string, n *yaml.Node) (map[string]string, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	kvs, err := p.pairs(key, n)
	if err != nil {
		return nil, err
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k := kv[0].Value
		v, err := p.str(join(key, k), kv[1])
		if err != nil {
			return nil, err
		}
		out[k] = v
	}
	return out, nil
}

func (p *parser) identities(key string, n *yaml.Node) ([]Identity, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	if n.Kind != yaml.SequenceNode {
		return nil, cfgErr(key, "must be a list of identities, not %s", kindName(n))
	}
	out := make([]Identity, 0, len(n.Content))
	for i, c := range n.Content {
		k := fmt.Sprintf("%s[%d]", key, i)
		kvs, err := p.pairs(k, c)
		if err != nil {
			return nil, err
		}
		var id Identity
		for _, kv := range kvs {
			name, v := kv[0].Value, kv[1]
			kk := join(k, name)
			switch name {
			case "name":
				id.Name, err = p.str(kk, v)
			case "role":
				id.Role, err = p.str(kk, v)
			case "headers":
				id.Headers, err = p.strMap(kk, v)
			case "owns":
				id.Owns, err = p.owns(kk, v)
			case "login":
				id.Login, err = p.login(kk, v)
			default:
				return nil, unknownKey(k, name, identityKeys)
			}
			if err != nil {
				return nil, err
			}
		}
		out = append(out, id)
	}
	return out, nil
}

func (p *parser) owns(key string, n *yaml.Node) (map[string][]string, error) {
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		return nil, nil
	}
	kvs, err := p.pairs(key, n)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]string, len(kvs))
	for _, kv := range kvs {
		k := kv[0].Value
		vs, err := p.strs(join(key, k), kv[1])
		if err != nil {
			return nil, err
		}
		out[k] = vs
	}
	return out, nil
}

func (p *parser) login(key string, n *yaml.Node) (*Login, error) {
	kvs, err := p.pairs(key, n)
	if err != nil {
		return nil, err
	}
	l := &Login{}
	for _, kv := range kvs {
		name, v := kv[0].Value, kv[1]
		kk := join(key, name)
		switch name {
		case "method":
			l.Method, err = p.str(kk, v)
		case "path":
			l.Path, err = p.str(kk, v)
		case "token":
			l.Token, err = p.str(kk, v)
		case "body":
			l.Body, err = p.value(kk, v, 0)
			if err == nil {
				if _, jerr := json.Marshal(l.Body); jerr != nil {
					err = cfgErr(kk, "cannot be sent as JSON: %v", jerr)
				}
			}
		default:
			return nil, unknownKey(key, name, loginKeys)
		}
		if err != nil {
			return nil, err
		}
	}
	return l, nil
}

// value converts any YAML node to a JSON-representable Go value.
func (p *parser) value(key string, n *yaml.Node, depth int) (any, error) {
	if depth > 32 {
		return nil, cfgErr(key, "nested too deeply")
	}
	n, err := p.resolve(key, n)
	if err != nil {
		return nil, err
	}
	switch n.Kind {
	case yaml.MappingNode:
		kvs, err := p.pairs(key, n)
		if err != nil {
			return nil, err
		}
		m := make(map[string]any, len(kvs))
		for _, kv := range kvs {
			v, err := p.value(join(key, kv[0].Value), kv[1], depth+1)
			if err != nil {
				return nil, err
			}
			m[kv[0].Value] = v
		}
		return m, nil
	case yaml.SequenceNode:
		s := make([]any, 0, len(n.Content))
		for i, c := range n.Content {
			v, err := p.value(fmt.Sprintf("%s[%d]", key, i), c, depth+1)
			if err != nil {
				return nil, err
			}
			s = append(s, v)
		}
		return s, nil
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil, nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err != nil {
				return n.Value, nil
			}
			return b, nil
		case "!!int":
			if i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64); err == nil {
				return i, nil
			}
			return n.Value, nil
		case "!!float":
			f, err := strconv.ParseFloat(n.Value, 64)
			if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
				return nil, cfgErr(key, "%q is not a number JSON can carry", n.Value)
			}
			return f, nil
		}
		return p.expand(key, n.Value)
	}
	return nil, cfgErr(key, "unsupported YAML node")
}

// Validate checks a Config built in code the way LoadConfig checks a file,
// and returns the first problem as a *ConfigError. It fills no defaults and
// does not touch the file system.
func (c *Config) Validate() error {
	if c.Target == "" {
		return cfgErr("target", "missing")
	}
	u, err := url.Parse(c.Target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfgErr("target", "%q is not an http(s) URL", c.Target)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return cfgErr("target", "must not carry a query or fragment")
	}
	if c.Spec == "" {
		return cfgErr("spec", "missing")
	}
	if strings.Contains(c.Spec, "://") && !isHTTPURL(c.Spec) {
		return cfgErr("spec", "%q is neither a file nor an http(s) URL", c.Spec)
	}
	roles := map[string]bool{}
	for i, r := range c.Roles {
		k := fmt.Sprintf("roles[%d]", i)
		if strings.TrimSpace(r) == "" {
			return cfgErr(k, "empty role name")
		}
		if roles[r] {
			return cfgErr(k, "role %q is listed twice", r)
		}
		roles[r] = true
	}
	for _, l := range []struct {
		name string
		refs []string
	}{{"public", c.Public}, {"rate_limited", c.RateLimited}, {"exclude", c.Exclude}} {
		for i, s := range l.refs {
			if _, _, err := parseOpRef(s); err != nil {
				return cfgErr(fmt.Sprintf("%s[%d]", l.name, i), "%v", err)
			}
		}
	}
	for _, k := range sortedKeys(c.Requires) {
		kk := "requires." + k
		if _, _, err := parseOpRef(k); err != nil {
			return cfgErr(kk, "%v", err)
		}
		if !roles[c.Requires[k]] {
			return cfgErr(kk, "unknown role %q (roles: %s)", c.Requires[k], listOrNone(c.Roles))
		}
	}
	names := map[string]bool{}
	for i, id := range c.Identities {
		k := fmt.Sprintf("identities[%d]", i)
		switch {
		case strings.TrimSpace(id.Name) == "":
			return cfgErr(k+".name", "missing")
		case id.Name == Anonymous || id.Name == InvalidCredential:
			return cfgErr(k+".name", "%q is reserved", id.Name)
		case names[id.Name]:
			return cfgErr(k+".name", "identity %q is listed twice", id.Name)
		}
		names[id.Name] = true
		if id.Role != "" && !roles[id.Role] {
			return cfgErr(k+".role", "unknown role %q (roles: %s)", id.Role, listOrNone(c.Roles))
		}
		if id.Login == nil && len(id.Headers) == 0 {
			return cfgErr(k, "needs a login or headers to sign in")
		}
		for _, h := range sortedKeys(id.Headers) {
			if h == "" || strings.ContainsAny(h, " :\r\n") {
				return cfgErr(k+".headers", "%q is not a header name", h)
			}
		}
		for _, name := range sortedKeys(id.Owns) {
			vals := id.Owns[name]
			if name == "" {
				return cfgErr(k+".owns", "empty parameter name")
			}
			for j, v := range vals {
				if v == "" {
					return cfgErr(fmt.Sprintf("%s.owns.%s[%d]", k, name, j), "empty value")
				}
			}
		}
		if l := id.Login; l != nil {
			if l.Method != "" && !validMethod(strings.ToUpper(l.Method)) {
				return cfgErr(k+".login.method", "%q is not an HTTP method", l.Method)
			}
			if l.Path == "" {
				return cfgErr(k+".login.path", "missing")
			}
			if !strings.HasPrefix(l.Path, "/") && !isHTTPURL(l.Path) {
				return cfgErr(k+".login.path", "%q must start with / or be an http(s) URL", l.Path)
			}
		}
	}
	return nil
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none are listed"
	}
	return strings.Join(s, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

var methods = []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"}

func validMethod(m string) bool {
	for _, v := range methods {
		if v == m {
			return true
		}
	}
	return false
}

// parseOpRef parses "METHOD /path/{template}".
func parseOpRef(s string) (method, path string, err error) {
	f := strings.Fields(s)
	if len(f) != 2 {
		return "", "", fmt.Errorf("%q is not an operation like \"GET /path\"", s)
	}
	method = strings.ToUpper(f[0])
	if !validMethod(method) {
		return "", "", fmt.Errorf("%q is not an HTTP method", f[0])
	}
	if !strings.HasPrefix(f[1], "/") {
		return "", "", fmt.Errorf("path %q must start with /", f[1])
	}
	return method, f[1], nil
}
