package httpapi_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Bad input gets a clear 4xx problem and changes nothing.
func TestBadInput(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice := e.signup("alice")
		big := `{"username":"x","email":"x@example.com","password":"` + strings.Repeat("a", 1<<20) + `"}`
		cases := []struct {
			name, method, path, token, ctype, body string
			status                                 int
			detail                                 string
		}{
			{"malformed", "POST", "/v1/accounts", "", "application/json", `{"username":`, 400, "malformed JSON"},
			{"not an object", "POST", "/v1/accounts", "", "application/json", `[1,2]`, 400, "JSON object"},
			{"unknown field", "POST", "/v1/accounts", "", "application/json", `{"username":"zed","email":"z@example.com","password":"correct horse battery staple","admin":true}`, 400, `unknown field "admin"`},
			{"wrong type", "POST", "/v1/accounts", "", "application/json", `{"username":7,"email":"z@example.com","password":"correct horse battery staple"}`, 400, `field "username" must be a string`},
			{"bad utf-8", "POST", "/v1/accounts", "", "application/json", "{\"username\":\"z\xff\xfe\",\"email\":\"z@example.com\",\"password\":\"correct horse battery staple\"}", 400, "UTF-8"},
			{"empty", "POST", "/v1/sessions", "", "application/json", ``, 400, "empty"},
			{"trailing data", "POST", "/v1/sessions", "", "application/json", `{"identifier":"alice","password":"x"} {"x":1}`, 400, "single JSON object"},
			{"oversize", "POST", "/v1/accounts", "", "application/json", big, 413, "at most 1048576 bytes"},
			{"form body", "POST", "/v1/accounts", "", "application/x-www-form-urlencoded", `username=zed`, 415, "application/json"},
			{"null", "POST", "/v1/accounts/verify", "", "application/json", `null`, 400, "email"},
			{"deep nesting", "POST", "/v1/sessions", "", "application/json", strings.Repeat("[", 100000), 400, ""},
			{"patch unknown", "PATCH", "/v1/me", alice.Token, "application/json", `{"email":"evil@example.com"}`, 400, "unknown field"},
			{"bad limit", "GET", "/v1/me/login-activity?limit=0", alice.Token, "", ``, 400, "limit"},
			{"bad cursor", "GET", "/v1/me/login-activity?cursor=garbage", alice.Token, "", ``, 400, "cursor"},
			{"bad query", "GET", "/v1/me/login-activity?cursor=%zz", alice.Token, "", ``, 400, "query"},
			{"unknown route", "GET", "/v1/nope", "", "", ``, 404, "no such endpoint"},
			{"wrong method", "DELETE", "/v1/accounts", "", "", ``, 405, "does not take DELETE"},
		}
		for _, c := range cases {
			req, _ := http.NewRequest(c.method, e.URL+c.path, strings.NewReader(c.body))
			if c.ctype != "" {
				req.Header.Set("Content-Type", c.ctype)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := e.client.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != c.status {
				t.Errorf("%s: status %d, want %d: %s", c.name, res.StatusCode, c.status, b)
				continue
			}
			if res.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: content type %q", c.name, res.Header.Get("Content-Type"))
			}
			var p struct{ Detail string }
			_ = json.Unmarshal(b, &p)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("%s: body %s lacks %q", c.name, b, c.detail)
			}
		}
		// Nothing changed: alice's profile is as it was, no new mail, no
		// pending signup for the names in the bad requests.
		me := e.do("GET", "/v1/me", alice.Token, nil).expect(t, http.StatusOK).JSON(t)
		if me["email"] != alice.Email || me["display_name"] != "alice" {
			t.Fatalf("profile changed: %v", me)
		}
		if n := len(mails(t, e)); n != 1 {
			t.Fatalf("%d mails after bad requests, want only alice's code", n)
		}
	})
}

// FuzzHandlers throws arbitrary bodies at every JSON endpoint: the answer
// is never a 5xx, and always JSON.
func FuzzHandlers(f *testing.F) {
	for _, s := range []string{`{}`, `{"username":"a","email":"a@b.co","password":"xxxxxxxxxxxxxxxxxxx"}`, `{"identifier":"a","password":"b"}`,
		`{"email":"a@b.co","code":"123456"}`, `{"display_name":"x"}`, "\xff", `{"a":[[[[`, `"str"`, `1e999`} {
		f.Add(s)
	}
	e := newEnv(f, "sqlite", withLookupLimit(1e9, 1e9))
	u := e.signup("fuzzer")
	f.Fuzz(func(t *testing.T, body string) {
		for _, ep := range []struct{ method, path, token string }{
			{"POST", "/v1/accounts", ""}, {"POST", "/v1/accounts/verify", ""}, {"POST", "/v1/sessions", ""},
			{"PATCH", "/v1/me", u.Token},
		} {
			req, _ := http.NewRequest(ep.method, e.URL+ep.path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if ep.token != "" {
				req.Header.Set("Authorization", "Bearer "+ep.token)
			}
			res, err := e.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode >= 500 {
				t.Fatalf("%s %s: %d %s", ep.method, ep.path, res.StatusCode, b)
			}
			if ct := res.Header.Get("Content-Type"); !strings.Contains(ct, "json") {
				t.Fatalf("%s %s: content type %q", ep.method, ep.path, ct)
			}
		}
	})
}
