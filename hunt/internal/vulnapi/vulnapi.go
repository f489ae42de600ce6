// Package vulnapi is a small, deliberately vulnerable HTTP API (in memory,
// net/http only) that `vigil hunt` is tested against, and its fixed twin:
// the same routes and the same OpenAPI document with every check in place.
//
// It reproduces the incident's endpoint exactly —
// GET /api/v1/accounts/get_user_info/?user_id=N answering unauthenticated
// callers with email, phone, a live password-reset token, last-login time
// and device fingerprint, by sequential numeric id, without a limit (hunt
// reports it as broken-authentication, data-exposure, enumerable-id and
// no-rate-limit: the rows of the incident's table) — and plants one
// example of each rule hunt knows:
//
//	broken-authentication  GET   /v1/me                       accepts a bearer token whose signature is wrong
//	public-fallback        GET   /v1/cards/{username}         the anonymous "public mode" still shows the email
//	bola (read)            GET   /v1/notes/{note_id}          any signed-in user reads any note
//	bola (write)           PATCH /v1/notes/{note_id}          any signed-in user edits any note
//	bfla                   GET   /admin/users                 needs admin, checks only that the caller signed in
//	data-exposure          GET   /v1/directory                member list with emails and password hashes
//	enumerable-id          GET   /v1/orders/{order_id}        sequential ids; 403 for others' orders, 404 for none
//	no-rate-limit          POST  /auth/login                  no limit on sign-in attempts
//
// and traps that must not be reported, in both twins:
//
//	GET /health                                  truly public (security: [])
//	GET /v1/announcements                        answers everyone alike with nothing private
//	GET /account/settings                        302 to a login page for anonymous callers
//	PUT /v1/accounts/{account_id}/preferences    answers 204 to anyone, but changes only the caller's own preferences
//	GET /v1/users/{username}                     a public profile any signed-in user may see of others
//	GET /admin/audit                             admin only, declared by x-required-role in the spec alone
//	DELETE /v1/notes/{note_id}                   owner only
//
// Tokens are HS256 JWTs signed with a key made at New; the admin signs in
// with a static token (AdminToken). Limits are plain counters that never
// refill, so that a test sees the same thing every time.
package vulnapi

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
)

//go:embed testdata/openapi.json
var spec []byte

// Spec returns the OpenAPI 3.1 document both twins implement.
func Spec() []byte { return append([]byte(nil), spec...) }

// AdminToken is the static bearer token of the admin, carol.
const AdminToken = "vk-admin-6Qm2xR9pL4tZ8wN3kV7s"

// Limits of the rate-limited routes, per key, for the server's lifetime.
const (
	LoginLimit  = 10 // sign-ins per username (fixed twin only)
	LookupLimit = 30 // lookups per caller and route
)

// Passwords of the seeded users, as the test config uses them.
var Passwords = map[string]string{
	"alice": "alice-password-1",
	"bob":   "bob-password-2",
	"carol": "carol-password-3",
	"dave":  "dave-password-4",
	"erin":  "erin-password-5",
}

type user struct {
	ID          int
	Username    string
	DisplayName string
	Bio         string
	Email       string
	Phone       string
	Role        string
	Hash        string // a password hash as a leaky API would serialise it
	ResetToken  string // a live password-reset token
	LastLogin   string
	Fingerprint string
}

type note struct {
	ID    string `json:"id"`
	Owner int    `json:"owner_id"`
	Title string `json:"title"`
	Body  string `json:"body"`
}

type order struct {
	ID    int    `json:"id"`
	Owner int    `json:"owner_id"`
	Item  string `json:"item"`
	Total int    `json:"total_cents"`
}

type prefs struct {
	Theme     string `json:"theme"`
	Language  string `json:"language"`
	Signature string `json:"signature"`
}

// API is one twin. New returns it as an http.Handler; tests type-assert
// it to read Secrets.
type API struct {
	mux    *http.ServeMux
	fixed  bool
	key    []byte
	mu     sync.Mutex
	users  []*user
	notes  map[string]*note
	orders map[int]*order
	prefs  map[int]*prefs
	counts map[string]int
	issued []string
}

// ServeHTTP serves the API.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// Secrets returns every private value the API holds or has handed out:
// emails, phone numbers, reset tokens, device fingerprints, password
// hashes, passwords, the notes' private addresses, the admin token and the
// bearer tokens issued so far. None may appear in a hunt's evidence.
func (a *API) Secrets() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []string{AdminToken, "alice.private@example.net", "bob.private@example.net"}
	for _, u := range a.users {
		out = append(out, u.Email, u.Phone, u.ResetToken, u.Fingerprint, u.Hash, Passwords[u.Username])
	}
	return append(out, a.issued...)
}

func randHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// New returns the vulnerable API, or its fixed twin.
func New(fixed bool) http.Handler {
	a := &API{fixed: fixed, key: []byte(randHex(32)), notes: map[string]*note{}, orders: map[int]*order{},
		prefs: map[int]*prefs{}, counts: map[string]int{}}
	seed := []struct{ name, display, role, phone string }{
		{"alice", "Alice Liddell", "user", "+1 555 0100 101"},
		{"bob", "Bob Marley", "user", "+1 555 0100 202"},
		{"carol", "Carol Danvers", "admin", "+1 555 0100 303"},
		{"dave", "Dave Bowman", "user", "+1 555 0100 404"},
		{"erin", "Erin Brockovich", "user", "+1 555 0100 505"},
	}
	for i, s := range seed {
		u := &user{ID: i + 1, Username: s.name, DisplayName: s.display, Role: s.role,
			Bio: "Hi, I am " + s.display + ".", Email: s.name + "@vulnapi.example.com", Phone: s.phone,
			Hash:       "$argon2id$v=19$m=65536,t=2,p=2$" + base64.RawStdEncoding.EncodeToString([]byte(randHex(8))) + "$" + base64.RawStdEncoding.EncodeToString([]byte(randHex(16))),
			ResetToken: randHex(20), LastLogin: fmt.Sprintf("2026-11-2%dT08:1%d:00Z", i, i), Fingerprint: "df-" + randHex(12)}
		a.users = append(a.users, u)
		a.orders[1001+i] = &order{ID: 1001 + i, Owner: u.ID, Item: "item " + strconv.Itoa(i+1), Total: 1000 * (i + 1)}
		a.prefs[u.ID] = &prefs{Theme: "light", Language: "en", Signature: "-- " + s.display}
	}
	a.notes["n-a1c3e5"] = &note{ID: "n-a1c3e5", Owner: 1, Title: "diary", Body: "private: reach me at alice.private@example.net"}
	a.notes["n-b2d4f6"] = &note{ID: "n-b2d4f6", Owner: 2, Title: "todo", Body: "private: reach me at bob.private@example.net"}

	mux := http.NewServeMux()
	a.mux = mux
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("POST /auth/login", a.login)
	mux.HandleFunc("GET /api/v1/accounts/get_user_info/{$}", a.getUserInfo)
	mux.HandleFunc("GET /v1/me", a.me)
	mux.HandleFunc("GET /v1/users/{username}", a.profile)
	mux.HandleFunc("GET /v1/cards/{username}", a.card)
	mux.HandleFunc("GET /v1/notes", a.listNotes)
	mux.HandleFunc("POST /v1/notes", a.createNote)
	mux.HandleFunc("GET /v1/notes/{note_id}", a.getNote)
	mux.HandleFunc("PATCH /v1/notes/{note_id}", a.patchNote)
	mux.HandleFunc("DELETE /v1/notes/{note_id}", a.deleteNote)
	mux.HandleFunc("GET /v1/accounts/{account_id}/preferences", a.getPrefs)
	mux.HandleFunc("PUT /v1/accounts/{account_id}/preferences", a.putPrefs)
	mux.HandleFunc("GET /admin/users", a.adminUsers)
	mux.HandleFunc("GET /admin/audit", a.adminAudit)
	mux.HandleFunc("GET /v1/directory", a.directory)
	mux.HandleFunc("GET /v1/orders/{order_id}", a.getOrder)
	mux.HandleFunc("GET /v1/announcements", a.announcements)
	mux.HandleFunc("GET /account/settings", a.settings)
	mux.HandleFunc("GET /login", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Sign in</title><form method="post" action="/auth/login"><input name="username"><input type="password" name="password"><button>Sign in</button></form>`)
	})
	return a
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func fail(w http.ResponseWriter, status int, msg string) {
	if status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", "60")
	}
	writeJSON(w, status, map[string]string{"error": msg})
}

// token issues an HS256 JWT for u.
func (a *API) token(u *user) string {
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims, _ := json.Marshal(map[string]any{"sub": strconv.Itoa(u.ID), "name": u.Username, "jti": randHex(8)})
	body := head + "." + enc.EncodeToString(claims)
	return body + "." + enc.EncodeToString(a.sign(body))
}

func (a *API) sign(s string) []byte {
	m := hmac.New(sha256.New, a.key)
	m.Write([]byte(s))
	return m.Sum(nil)
}

// caller returns the signed-in user, verifying the token's signature unless
// verify is false (the planted broken-authentication flaw).
func (a *API) caller(r *http.Request, verify bool) *user {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	if hmac.Equal([]byte(tok), []byte(AdminToken)) {
		return a.byName("carol")
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return nil
	}
	if verify {
		sig, err := base64.RawURLEncoding.DecodeString(parts[2])
		if err != nil || !hmac.Equal(sig, a.sign(parts[0]+"."+parts[1])) {
			return nil
		}
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c struct{ Sub string }
	if json.Unmarshal(raw, &c) != nil {
		return nil
	}
	id, _ := strconv.Atoi(c.Sub)
	return a.byID(id)
}

func (a *API) byID(id int) *user {
	for _, u := range a.users {
		if u.ID == id {
			return u
		}
	}
	return nil
}

func (a *API) byName(name string) *user {
	for _, u := range a.users {
		if u.Username == name {
			return u
		}
	}
	return nil
}

// allow counts one event for key and says whether it is within limit.
func (a *API) allow(key string, limit int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.counts[key]++
	return a.counts[key] <= limit
}

// signedIn returns the verified caller, or answers 401.
func (a *API) signedIn(w http.ResponseWriter, r *http.Request) *user {
	u := a.caller(r, true)
	if u == nil {
		fail(w, http.StatusUnauthorized, "unauthenticated")
	}
	return u
}

func (a *API) login(w http.ResponseWriter, r *http.Request) {
	var in struct{ Username, Password string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, 400, "invalid body")
		return
	}
	if a.fixed && !a.allow("login:"+in.Username, LoginLimit) {
		fail(w, http.StatusTooManyRequests, "too many attempts")
		return
	}
	u := a.byName(in.Username)
	if u == nil || Passwords[u.Username] != in.Password {
		fail(w, http.StatusUnauthorized, "unauthenticated")
		return
	}
	tok := a.token(u)
	a.mu.Lock()
	a.issued = append(a.issued, tok)
	a.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok, "token_type": "Bearer",
		"user": map[string]any{"id": u.ID, "username": u.Username, "email": u.Email}})
}

func fullRecord(u *user) map[string]any {
	return map[string]any{"user_id": u.ID, "username": u.Username, "email": u.Email, "phone": u.Phone,
		"password_reset_token": u.ResetToken, "last_login": u.LastLogin, "device_fingerprint": u.Fingerprint}
}

// getUserInfo is the incident's endpoint.
func (a *API) getUserInfo(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.URL.Query().Get("user_id"))
	if !a.fixed {
		// No authentication, no limit: anyone walks user_id=1,2,3...
		if err != nil {
			fail(w, 400, "user_id must be a number")
			return
		}
		if u := a.byID(id); u != nil {
			writeJSON(w, 200, fullRecord(u))
			return
		}
		fail(w, 404, "not found")
		return
	}
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	if !a.allow(fmt.Sprintf("lookup:%d:user_info", me.ID), LookupLimit) {
		fail(w, http.StatusTooManyRequests, "too many lookups")
		return
	}
	if err != nil || id != me.ID {
		fail(w, 404, "not found")
		return
	}
	writeJSON(w, 200, fullRecord(me))
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	// The vulnerable twin decodes the token without checking its signature.
	u := a.caller(r, a.fixed)
	if u == nil {
		fail(w, http.StatusUnauthorized, "unauthenticated")
		return
	}
	writeJSON(w, 200, map[string]any{"id": u.ID, "username": u.Username, "display_name": u.DisplayName, "email": u.Email, "phone": u.Phone})
}

func (a *API) profile(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	if !a.allow(fmt.Sprintf("lookup:%d:profile", me.ID), LookupLimit) {
		fail(w, http.StatusTooManyRequests, "too many lookups")
		return
	}
	u := a.byName(r.PathValue("username"))
	if u == nil {
		fail(w, 404, "not found")
		return
	}
	writeJSON(w, 200, map[string]any{"username": u.Username, "display_name": u.DisplayName, "bio": u.Bio})
}

func (a *API) card(w http.ResponseWriter, r *http.Request) {
	u := a.byName(r.PathValue("username"))
	if u == nil {
		fail(w, 404, "not found")
		return
	}
	if me := a.caller(r, true); me != nil && me.ID == u.ID {
		writeJSON(w, 200, map[string]any{"username": u.Username, "display_name": u.DisplayName, "email": u.Email, "phone": u.Phone})
		return
	}
	// "Public mode" for everyone else.
	card := map[string]any{"username": u.Username, "display_name": u.DisplayName}
	if !a.fixed {
		card["email"] = u.Email
	}
	writeJSON(w, 200, card)
}

func (a *API) listNotes(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	out := []*note{}
	for _, n := range a.notes {
		if n.Owner == me.ID {
			out = append(out, n)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	writeJSON(w, 200, map[string]any{"notes": out})
}

func (a *API) createNote(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	var in struct{ Title, Body string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Title == "" {
		fail(w, 400, "title is required")
		return
	}
	n := &note{ID: "n-" + randHex(6), Owner: me.ID, Title: in.Title, Body: in.Body}
	a.mu.Lock()
	a.notes[n.ID] = n
	a.mu.Unlock()
	w.Header().Set("Location", "/v1/notes/"+n.ID)
	writeJSON(w, 201, n)
}

// findNote returns the note if the caller may see it: anyone signed in in
// the vulnerable twin, the owner only in the fixed one.
func (a *API) findNote(me *user, id string) (note, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.notes[id]
	if !ok || (a.fixed && n.Owner != me.ID) {
		return note{}, false
	}
	return *n, true
}

func (a *API) getNote(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	n, ok := a.findNote(me, r.PathValue("note_id"))
	if !ok {
		fail(w, 404, "not found")
		return
	}
	writeJSON(w, 200, n)
}

func (a *API) patchNote(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	if _, ok := a.findNote(me, r.PathValue("note_id")); !ok {
		fail(w, 404, "not found")
		return
	}
	var in struct{ Title, Body *string }
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, 400, "invalid body")
		return
	}
	a.mu.Lock()
	n := a.notes[r.PathValue("note_id")]
	if n == nil {
		a.mu.Unlock()
		fail(w, 404, "not found")
		return
	}
	if in.Title != nil {
		n.Title = *in.Title
	}
	if in.Body != nil {
		n.Body = *in.Body
	}
	out := *n
	a.mu.Unlock()
	writeJSON(w, 200, out)
}

func (a *API) deleteNote(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	n, ok := a.notes[r.PathValue("note_id")]
	if !ok || n.Owner != me.ID {
		fail(w, 404, "not found")
		return
	}
	delete(a.notes, n.ID)
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) getPrefs(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("account_id"))
	if id != me.ID {
		fail(w, 404, "not found")
		return
	}
	a.mu.Lock()
	p := *a.prefs[me.ID]
	a.mu.Unlock()
	writeJSON(w, 200, p)
}

// putPrefs answers 204 to any signed-in caller but, in the vulnerable twin,
// changes only the caller's own preferences, whatever account the path
// names: the trap for scanners that trust a success status.
func (a *API) putPrefs(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("account_id"))
	if a.fixed && id != me.ID {
		fail(w, 404, "not found")
		return
	}
	var in prefs
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		fail(w, 400, "invalid body")
		return
	}
	a.mu.Lock()
	p := a.prefs[me.ID]
	if in.Theme != "" {
		p.Theme = in.Theme
	}
	if in.Language != "" {
		p.Language = in.Language
	}
	if in.Signature != "" {
		p.Signature = in.Signature
	}
	a.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) adminUsers(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	if a.fixed && me.Role != "admin" {
		fail(w, 403, "forbidden")
		return
	}
	out := []map[string]any{}
	for _, u := range a.users {
		out = append(out, map[string]any{"id": u.ID, "username": u.Username, "email": u.Email, "role": u.Role})
	}
	writeJSON(w, 200, map[string]any{"users": out})
}

func (a *API) adminAudit(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	if me.Role != "admin" {
		fail(w, 403, "forbidden")
		return
	}
	writeJSON(w, 200, map[string]any{"entries": []map[string]any{
		{"action": "role.granted", "actor": "carol", "at": "2026-11-20T10:00:00Z"},
		{"action": "user.locked", "actor": "carol", "at": "2026-11-21T11:00:00Z"},
	}})
}

func (a *API) directory(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	out := []map[string]any{}
	for _, u := range a.users {
		m := map[string]any{"username": u.Username, "display_name": u.DisplayName}
		if !a.fixed {
			// The whole row, serialised.
			m["email"] = u.Email
			m["password_hash"] = u.Hash
		}
		out = append(out, m)
	}
	writeJSON(w, 200, map[string]any{"members": out})
}

func (a *API) getOrder(w http.ResponseWriter, r *http.Request) {
	me := a.signedIn(w, r)
	if me == nil {
		return
	}
	id, _ := strconv.Atoi(r.PathValue("order_id"))
	a.mu.Lock()
	o, ok := a.orders[id]
	a.mu.Unlock()
	switch {
	case !ok:
		fail(w, 404, "not found")
	case o.Owner != me.ID && a.fixed:
		fail(w, 404, "not found")
	case o.Owner != me.ID:
		// Refused, but differently from an order that does not exist.
		fail(w, 403, "this order belongs to another customer")
	default:
		writeJSON(w, 200, o)
	}
}

func (a *API) announcements(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"items": []map[string]string{
		{"title": "Maintenance on Sunday", "body": "The service will be read-only from 02:00 to 03:00 UTC."},
		{"title": "New feature", "body": "Notes can now be shared."},
	}})
}

func (a *API) settings(w http.ResponseWriter, r *http.Request) {
	me := a.caller(r, true)
	if me == nil {
		http.Redirect(w, r, "/login?next=/account/settings", http.StatusFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	fmt.Fprintf(w, "<!doctype html><title>Settings</title><h1>Settings of %s</h1><p>Theme, language and signature.</p>", me.Username)
}
