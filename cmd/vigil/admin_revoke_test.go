package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// `vigil admin revoke` on the database of a running server: the server
// refuses the revoked sessions within its refresh interval, and the
// revocation is in the audit log.
func TestAdminRevokeWhileServing(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv)
	anna, bert := s.signup(t, "anna"), s.signup(t, "bert")
	s.mustDo(t, "GET", "/v1/me", anna.Token, nil, http.StatusOK, nil)

	start := time.Now()
	out := mustAdmin(t, "revoke", "--database", s.DB, "--kind", "sessions", "--user", "anna", "--reason", "laptop stolen")
	if !strings.Contains(out, "sessions issued before") || !strings.Contains(out, "for 1 account(s)") {
		t.Fatalf("revoke printed %q", out)
	}
	for {
		code, _ := s.do(t, "GET", "/v1/me", anna.Token, nil)
		if code == http.StatusUnauthorized {
			break
		}
		if code != http.StatusOK || time.Since(start) > time.Second {
			t.Fatalf("the server answered %d %v after the revocation", code, time.Since(start))
		}
	}
	s.mustDo(t, "GET", "/v1/me", bert.Token, nil, http.StatusOK, nil)

	// For everyone, with a cutoff and a forced reset.
	out = mustAdmin(t, "revoke", "--database", s.DB, "--kind", "sessions,reset_tokens", "--must-reset",
		"--before", time.Now().UTC().Format(time.RFC3339Nano), "--reason", "database copied")
	if !strings.Contains(out, "for every account; password reset required") {
		t.Fatalf("revoke printed %q", out)
	}
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	out = mustAdmin(t, "audit", "export", "--database", s.DB)
	if strings.Count(out, `"action":"admin.revocation"`) != 2 || !strings.Contains(out, `"actor_kind":"cli"`) {
		t.Fatalf("audit export lacks the revocations:\n%s", out)
	}
	mustAdmin(t, "audit", "verify", "--database", s.DB)
}

func TestAdminRevokeBadInput(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv)
	s.signup(t, "anna")
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"no kind":      {"--reason", "x"},
		"bad kind":     {"--kind", "cookies", "--reason", "x"},
		"no reason":    {"--kind", "sessions"},
		"bad time":     {"--kind", "sessions", "--reason", "x", "--before", "yesterday"},
		"future":       {"--kind", "sessions", "--reason", "x", "--before", time.Now().Add(time.Hour).UTC().Format(time.RFC3339)},
		"unknown user": {"--kind", "sessions", "--reason", "x", "--user", "nobody"},
		"extra arg":    {"--kind", "sessions", "--reason", "x", "everyone"},
	} {
		_, _, err := admin(t, append([]string{"revoke", "--database", s.DB}, args...)...)
		if err == nil {
			t.Errorf("%s: revoke succeeded", name)
		}
	}
	out := mustAdmin(t, "audit", "export", "--database", s.DB)
	if strings.Contains(out, "admin.revocation") {
		t.Fatal("a refused revocation reached the audit log")
	}
}
