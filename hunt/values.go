package hunt

import (
	"bytes"
	"encoding/json"
	"math"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"
)

// Kinds of private-looking values.
const (
	kindEmail   = "email"
	kindPhone   = "phone number"
	kindJWT     = "JWT"
	kindHash    = "password hash"
	kindSecret  = "secret"
	kindToken   = "high-entropy token"
	kindWritten = "value it wrote"
)

// item is a private-looking value found in an answer.
type item struct {
	kind  string
	value string
}

var (
	reEmail     = regexp.MustCompile(`^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$`)
	reEmailIn   = regexp.MustCompile(`[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}`)
	reJWT       = regexp.MustCompile(`^eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*$`)
	reJWTIn     = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+`)
	reHash      = regexp.MustCompile(`^\$(argon2(id|i|d)|2[abxy]?|5|6|y|gy|7|pbkdf2(-sha\d+)?|scrypt|sha1|md5|bcrypt(-sha256)?)\$[^\s]{8,}$`)
	reHashIn    = regexp.MustCompile(`\$(argon2(id|i|d)|2[abxy]|pbkdf2(-sha\d+)?|scrypt)\$[^\s"']{8,}`)
	rePhone     = regexp.MustCompile(`^\+?[0-9][0-9 ().-]{5,}[0-9]$`)
	rePhoneIn   = regexp.MustCompile(`\+[1-9][0-9 ().-]{6,18}[0-9]`)
	reTokenish  = regexp.MustCompile(`^[A-Za-z0-9+/=_.~:-]+$`)
	reUUID      = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	reTimestamp = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}`)
	reFileish   = regexp.MustCompile(`\.[A-Za-z]{2,5}$`)
	reLongWord  = regexp.MustCompile(`[A-Za-z0-9+/=_~-]{20,}`)
)

// normKey lower-cases a key and drops separators: "Reset_Token" -> "resettoken".
func normKey(k string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(k) {
		if r != '_' && r != '-' && r != '.' && r != ' ' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

var (
	secretWords    = []string{"password", "passwd", "passphrase", "secret", "token", "reset", "apikey", "privatekey", "credential", "recovery", "fingerprint", "sessionid", "ssn", "cvv", "otp", "pin"}
	secretExcluded = []string{"type", "expires", "expiresin", "expiresat", "expiry", "at", "on", "count", "ttl", "url", "uri", "endpoint", "required", "enabled", "sent", "length", "policy", "hint", "changed", "set", "status", "method", "kind", "scheme", "algorithm", "format"}
	secretNot      = []string{"page", "cursor", "next", "continuation", "csrf", "idempotency", "opinion", "pinned", "spinner", "mapping", "shipping", "ping"}
)

// secretKey says whether a field name says its value is secret: password,
// secret, token, reset, api key... but not token_type, reset_at, page_token.
func secretKey(k string) bool {
	n := normKey(k)
	hit := false
	for _, w := range secretWords {
		if w == "otp" || w == "pin" || w == "ssn" || w == "cvv" {
			if n == w || strings.HasSuffix(n, w) {
				hit = true
			}
			continue
		}
		if strings.Contains(n, w) {
			hit = true
		}
	}
	if !hit {
		return false
	}
	for _, s := range secretExcluded {
		if strings.HasSuffix(n, s) {
			return false
		}
	}
	for _, s := range secretNot {
		if strings.Contains(n, s) {
			return false
		}
	}
	return true
}

// idKey says whether a field name names an identifier: id, user_id, noteId,
// uuid, ref, slug.
func idKey(k string) bool {
	n := normKey(k)
	return n == "id" || strings.HasSuffix(n, "id") || strings.HasSuffix(n, "ids") || strings.HasSuffix(n, "uuid") ||
		strings.HasSuffix(n, "ref") || n == "slug" || n == "etag" || n == "cursor" || n == "version" || n == "rev"
}

// opaqueKey says whether a field holds a random value that is not private:
// a page cursor, an etag, a nonce, a checksum, a trace id.
func opaqueKey(k string) bool {
	n := normKey(k)
	for _, w := range []string{"page", "cursor", "next", "continuation", "etag", "nonce", "checksum", "digest", "trace", "request", "version", "sha"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

func phoneKey(k string) bool {
	n := normKey(k)
	return strings.Contains(n, "phone") || strings.Contains(n, "mobile") || strings.Contains(n, "msisdn") || n == "tel" || strings.HasSuffix(n, "telephone")
}

func phoneLike(v string) bool {
	if !rePhone.MatchString(v) {
		return false
	}
	d := 0
	for _, r := range v {
		if r >= '0' && r <= '9' {
			d++
		}
	}
	return d >= 7 && d <= 15
}

// entropy is the Shannon entropy of s in bits per character.
func entropy(s string) float64 {
	var counts [256]int
	for i := 0; i < len(s); i++ {
		counts[s[i]]++
	}
	var e float64
	n := float64(len(s))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			e -= p * math.Log2(p)
		}
	}
	return e
}

// highEntropy says whether v looks like a random token: long, no spaces,
// letters and digits, and high entropy.
func highEntropy(v string) bool {
	if len(v) < 20 || len(v) > 4096 || !reTokenish.MatchString(v) || reTimestamp.MatchString(v) || reFileish.MatchString(v) || strings.HasPrefix(v, "/") {
		return false
	}
	letters, digits, hex := false, false, true
	for _, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits = true
		case r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F':
			letters = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letters, hex = true, false
		default:
			hex = false
		}
	}
	if !letters || !digits {
		return false
	}
	if hex {
		return entropy(v) >= 3.0
	}
	return entropy(v) >= 3.5
}

// classifyAll returns the private-looking values in one scalar, given the
// field name it came under. str says whether it was a string (a number is
// only private under a secret or phone field name).
func classifyAll(key, v string, str bool) []item {
	v = strings.TrimSpace(v)
	if len(v) < 6 {
		return nil
	}
	if !str {
		if secretKey(key) && !idKey(key) {
			return []item{{kindSecret, v}}
		}
		if phoneKey(key) && phoneLike(v) {
			return []item{{kindPhone, v}}
		}
		return nil
	}
	switch {
	case reHash.MatchString(v):
		return []item{{kindHash, v}}
	case reJWT.MatchString(v):
		return []item{{kindJWT, v}}
	case reEmail.MatchString(v):
		return []item{{kindEmail, v}}
	}
	if secretKey(key) && !reTimestamp.MatchString(v) && v != "true" && v != "false" {
		return []item{{kindSecret, v}}
	}
	if phoneLike(v) && (phoneKey(key) || strings.HasPrefix(v, "+")) {
		return []item{{kindPhone, v}}
	}
	if idKey(key) {
		return nil
	}
	if !strings.ContainsAny(v, " \t\n") {
		if opaqueKey(key) || strings.HasPrefix(v, canaryPrefix) {
			return nil
		}
		if highEntropy(v) && !reUUID.MatchString(v) {
			return []item{{kindToken, v}}
		}
		return nil
	}
	// Free text: look inside.
	var out []item
	for _, m := range reEmailIn.FindAllString(v, 8) {
		out = append(out, item{kindEmail, m})
	}
	for _, m := range reJWTIn.FindAllString(v, 8) {
		out = append(out, item{kindJWT, m})
	}
	for _, m := range reHashIn.FindAllString(v, 8) {
		out = append(out, item{kindHash, m})
	}
	for _, m := range rePhoneIn.FindAllString(v, 8) {
		if phoneLike(m) {
			out = append(out, item{kindPhone, m})
		}
	}
	return out
}

// itemsIn returns the private-looking values of an answer, with the field
// each came under.
func itemsIn(a *answer) []struct {
	item
	key string
} {
	var out []struct {
		item
		key string
	}
	if a == nil {
		return nil
	}
	if a.isJSON {
		for _, l := range a.leaves {
			for _, it := range classifyAll(l.key, l.val, l.str) {
				out = append(out, struct {
					item
					key string
				}{it, l.key})
			}
		}
		return out
	}
	for _, it := range textItems(string(a.body)) {
		out = append(out, struct {
			item
			key string
		}{it, ""})
	}
	return out
}

// textItems finds private-looking values in a non-JSON body.
func textItems(s string) []item {
	var out []item
	for _, m := range reEmailIn.FindAllString(s, 32) {
		out = append(out, item{kindEmail, m})
	}
	for _, m := range reJWTIn.FindAllString(s, 32) {
		out = append(out, item{kindJWT, m})
	}
	for _, m := range reHashIn.FindAllString(s, 32) {
		out = append(out, item{kindHash, m})
	}
	return out
}

// mask shortens a private value to a prefix and "…", keeping just enough to
// recognise it.
func mask(kind, v string) string {
	switch kind {
	case kindEmail:
		if at := strings.LastIndexByte(v, '@'); at > 0 {
			r, _ := utf8.DecodeRuneInString(v)
			return string(r) + "…" + v[at:]
		}
	case kindHash:
		if i := strings.IndexByte(v[1:], '$'); i > 0 {
			return v[:i+2] + "…"
		}
	case kindWritten:
		return v
	}
	n := min(4, len(v)/4)
	if n < 1 {
		n = 1
	}
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + "…"
}

// maskScalar masks the private-looking parts of one scalar.
func maskScalar(key, v string, str bool) string {
	items := classifyAll(key, v, str)
	if len(items) == 0 {
		return v
	}
	if len(items) == 1 && items[0].value == strings.TrimSpace(v) {
		return mask(items[0].kind, v)
	}
	for _, it := range items {
		v = strings.ReplaceAll(v, it.value, mask(it.kind, it.value))
	}
	return v
}

// maxExcerpt bounds an evidence excerpt, in bytes.
const maxExcerpt = 480

// excerpt returns a redacted, bounded excerpt of an answer's body: every
// private-looking value is masked before anything is cut.
func excerpt(a *answer) string {
	if a == nil || len(a.body) == 0 {
		return ""
	}
	var s string
	if a.isJSON {
		v := redactJSON(a.doc, "")
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err == nil {
			s = strings.TrimSpace(buf.String())
		}
	} else {
		s = string(a.body)
		if len(s) > 64<<10 {
			s = s[:64<<10]
		}
		s = redactText(s)
		s = strings.Join(strings.Fields(s), " ")
	}
	return cut(s, maxExcerpt)
}

func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func redactJSON(v any, key string) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = redactJSON(e, k)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = redactJSON(e, key)
		}
		return out
	case string:
		return maskScalar(key, x, true)
	case json.Number:
		if m := maskScalar(key, x.String(), false); m != x.String() {
			return m
		}
		return x
	}
	return v
}

// redactText masks what looks private in free text: emails, JWTs, password
// hashes and long random-looking words.
func redactText(s string) string {
	s = reJWTIn.ReplaceAllStringFunc(s, func(m string) string { return mask(kindJWT, m) })
	s = reHashIn.ReplaceAllStringFunc(s, func(m string) string { return mask(kindHash, m) })
	s = reEmailIn.ReplaceAllStringFunc(s, func(m string) string { return mask(kindEmail, m) })
	s = reLongWord.ReplaceAllStringFunc(s, func(m string) string {
		if highEntropy(m) {
			return mask(kindToken, m)
		}
		return m
	})
	return s
}

// strongKind says whether a kind of value is private wherever it shows:
// contact details and credentials. A high-entropy string or a value the
// identity wrote proves whose object an answer is, but may well be meant
// for a public view (a display name, a title).
func strongKind(k string) bool {
	return k == kindEmail || k == kindPhone || k == kindJWT || k == kindHash || k == kindSecret
}

func strong(hits []marker) []marker {
	var out []marker
	for _, m := range hits {
		if strongKind(m.kind) {
			out = append(out, m)
		}
	}
	return out
}

// marker is a private value of one identity: private-looking, seen in its
// own views and in no other identity's.
type marker struct {
	owner string
	kind  string
	field string // the field it was seen under, when known
	value string
}

// label names a marker for people: its kind, or for a secret its field.
func (m marker) label() string {
	if m.kind == kindSecret && m.field != "" {
		return m.field
	}
	return m.kind
}

// markerHits returns the markers of identities other than except found in
// a, in a stable order.
func (h *hunter) markerHits(a *answer, except string) []marker {
	if a == nil || len(h.markers) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var out []marker
	add := func(m *marker) {
		if m.owner != except && !seen[m.value] {
			seen[m.value] = true
			out = append(out, *m)
		}
	}
	if a.isJSON {
		for _, l := range a.leaves {
			if m := h.markerByValue[strings.TrimSpace(l.val)]; m != nil {
				add(m)
				continue
			}
			if len(l.val) < 8 {
				continue
			}
			for i := range h.markers {
				m := &h.markers[i]
				if len(m.value) >= 8 && strings.Contains(l.val, m.value) {
					add(m)
				}
			}
		}
	} else {
		for i := range h.markers {
			m := &h.markers[i]
			if bytes.Contains(a.body, []byte(m.value)) {
				add(m)
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if h.idIndex[out[i].owner] != h.idIndex[out[j].owner] {
			return h.idIndex[out[i].owner] < h.idIndex[out[j].owner]
		}
		return out[i].value < out[j].value
	})
	return out
}

// describeHits says what the markers are, masked: "alice's email a…@x.io and
// phone number +1 5…".
func describeHits(hits []marker) string {
	var parts []string
	for i, m := range hits {
		if i == 4 {
			parts = append(parts, "…")
			break
		}
		parts = append(parts, m.owner+"'s "+m.label()+" "+mask(m.kind, m.value))
	}
	return strings.Join(parts, ", ")
}
