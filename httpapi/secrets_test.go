package httpapi_test

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil"
)

var secretType = reflect.TypeOf((*vigil.Secret)(nil)).Elem()

// findSecrets walks t and returns the paths of fields whose type is a
// vigil.Secret, however deeply nested.
func findSecrets(t reflect.Type, path string, seen map[reflect.Type]bool) []string {
	if t.Implements(secretType) || reflect.PointerTo(t).Implements(secretType) {
		return []string{path + " (" + t.String() + ")"}
	}
	if seen[t] {
		return nil
	}
	seen[t] = true
	var out []string
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		out = append(out, findSecrets(t.Elem(), path+"[]", seen)...)
	case reflect.Map:
		out = append(out, findSecrets(t.Key(), path+"{key}", seen)...)
		out = append(out, findSecrets(t.Elem(), path+"{}", seen)...)
	case reflect.Struct:
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			out = append(out, findSecrets(f.Type, path+"."+f.Name, seen)...)
		}
	case reflect.Interface:
		out = append(out, path+" (interface: could hold anything)")
	}
	return out
}

// No response type of any route can hold a password hash or a token
// secret: the types are walked, not the values.
func TestNoResponseTypeHoldsASecret(t *testing.T) {
	e := newEnv(t, "sqlite")
	checked := 0
	for _, rt := range e.Server.Routes() {
		types := []any{rt.Response}
		for _, v := range types {
			if v == nil {
				continue
			}
			checked++
			if found := findSecrets(reflect.TypeOf(v), rt.Pattern, map[reflect.Type]bool{}); len(found) > 0 {
				t.Errorf("response of %s can hold secrets: %v", rt.Pattern, found)
			}
		}
	}
	// Views that handlers build on the fly are domain types: check them too.
	for _, v := range []any{vigil.PublicProfile{}, vigil.PrivateProfile{}, vigil.LoginAttempt{}} {
		if found := findSecrets(reflect.TypeOf(v), reflect.TypeOf(v).String(), map[reflect.Type]bool{}); len(found) > 0 {
			t.Errorf("%v", found)
		}
	}
	if checked < 8 {
		t.Fatalf("only %d response types checked", checked)
	}
	// The walker itself finds a secret where there is one.
	type leaky struct {
		Inner struct{ H []vigil.PasswordHash }
	}
	if len(findSecrets(reflect.TypeOf(leaky{}), "leaky", map[reflect.Type]bool{})) != 1 {
		t.Fatal("walker missed a nested secret")
	}
}

// Secret types refuse to marshal and print redacted everywhere.
func TestSecretTypesRefuseToLeak(t *testing.T) {
	tok := vigil.NewToken()
	values := []any{tok, tok.Hash(), vigil.PasswordHash("$argon2id$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA"), vigil.Password("hunter2hunter2hunter2")}
	for _, v := range values {
		if b, err := json.Marshal(v); err == nil {
			t.Errorf("%T marshalled to %s", v, b)
		}
		if b, err := json.Marshal(struct{ X any }{v}); err == nil {
			t.Errorf("%T inside a struct marshalled to %s", v, b)
		}
		var sb strings.Builder
		slog.New(slog.NewJSONHandler(&sb, nil)).Info("x", "v", v)
		slog.New(slog.NewTextHandler(&sb, nil)).Info("x", "v", v)
		fmt.Fprintf(&sb, "%v %+v %#v %s %q %x", v, v, v, v, v, v)
		out := sb.String()
		for _, leak := range []string{tok.Reveal(), "argon2id", "hunter2"} {
			if strings.Contains(out, leak) {
				t.Errorf("%T leaked %q in: %s", v, leak, out)
			}
		}
	}
}

// Through a full flow, with every request logged at debug level, no log
// line carries a password, a code, a token or a hash.
func TestLogsCarryNoSecrets(t *testing.T) {
	forEachBackend(t, func(t *testing.T, backend string) {
		e := newEnv(t, backend)
		alice, bob := e.signup("alice"), e.signup("bob")
		e.do("GET", "/v1/users/"+bob.ID, alice.Token, nil).expect(t, http.StatusOK)
		e.do("POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": "a wrong password here"}).expect(t, http.StatusUnauthorized)
		e.do("GET", "/v1/me", "bogus-token-value-that-should-not-be-logged", nil).expect(t, http.StatusUnauthorized)
		e.do("DELETE", "/v1/sessions/current", bob.Token, nil).expect(t, http.StatusNoContent)
		logs := e.Logs.String()
		if !strings.Contains(logs, "signed in") || !strings.Contains(logs, `"route":"GET /v1/users/{id}"`) {
			t.Fatalf("logs lack the flow; the check below would prove nothing:\n%s", logs)
		}
		hashes, err := e.Store.RawQuery(t.Context(), "SELECT password_hash FROM accounts")
		if err != nil || len(hashes) != 2 {
			t.Fatal(hashes, err)
		}
		secrets := append([]string{alice.Password, bob.Password, alice.Token, bob.Token, "a wrong password here",
			"bogus-token-value-that-should-not-be-logged", "$argon2id"}, hashes...)
		for _, c := range e.codes {
			// Codes are six digits, which timestamps may contain by chance;
			// a logged code would be a quoted value or follow "code".
			secrets = append(secrets, `"`+c+`"`, "code="+c, "code: "+c)
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("logs contain a secret (%d chars)", len(s))
			}
		}
	})
}
