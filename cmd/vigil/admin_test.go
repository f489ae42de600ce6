package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/sqlstore"
)

// admin runs `vigil admin args...` in-process and returns its output.
func admin(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	err = run(context.Background(), append([]string{"admin"}, args...), noEnv, &out, &errb)
	return out.String(), errb.String(), err
}

// mustAdmin is admin that fails the test on an error.
func mustAdmin(t *testing.T, args ...string) string {
	t.Helper()
	out, errb, err := admin(t, args...)
	if err != nil {
		t.Fatalf("vigil admin %s: %v\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, out, errb)
	}
	return out
}

var headRE = regexp.MustCompile(`(?m)^head: (\d+:[0-9a-f]{64})$`)

// TestAdminRolesAndAudit runs the server, which writes audit entries under
// the key it derives from its secret key, then the admin commands on its
// database: they derive the same key, grant a role (recorded in the log),
// verify, export, and name the entry a direct change to the database
// broke.
func TestAdminRolesAndAudit(t *testing.T) {
	t.Parallel()
	s := startServe(t, noEnv)
	alice := s.signup(t, "alice")
	s.mustDo(t, "POST", "/v1/sessions", "", map[string]string{"identifier": "alice", "password": "not her passphrase 0000"}, 401, nil)
	if err := s.stop(); err != nil {
		t.Fatal(err)
	}
	db := []string{"--database", s.DB}

	out := mustAdmin(t, append([]string{"grant-role", "alice", "admin"}, db...)...)
	if !strings.Contains(out, "granted role admin to alice ("+alice.ID+")") {
		t.Fatalf("grant-role printed %q", out)
	}
	if roles := storedRoles(t, s.DB, alice.ID); !slices.Equal(roles, []string{"admin"}) {
		t.Fatalf("roles after grant = %v", roles)
	}
	// Again, by email, flags first: nothing to do, nothing recorded.
	if out := mustAdmin(t, "grant-role", "--database", s.DB, "ALICE@example.com", "admin"); !strings.Contains(out, "already has role admin; nothing changed") {
		t.Fatalf("second grant printed %q", out)
	}
	// A second role, by account id.
	mustAdmin(t, append([]string{"grant-role", alice.ID, "incident_responder"}, db...)...)
	out = mustAdmin(t, append([]string{"revoke-role", "alice", "incident_responder"}, db...)...)
	if !strings.Contains(out, "revoked role incident_responder from alice") || !strings.Contains(out, "roles now: admin") {
		t.Fatalf("revoke-role printed %q", out)
	}

	out = mustAdmin(t, append([]string{"audit", "verify"}, db...)...)
	m := headRE.FindStringSubmatch(out)
	if !strings.Contains(out, "audit log intact: ") || m == nil {
		t.Fatalf("verify printed %q", out)
	}
	head := m[1]
	out = mustAdmin(t, append([]string{"audit", "verify", "--expect-head", head}, db...)...)
	if !strings.Contains(out, "intact") {
		t.Fatalf("verify with the head printed %q", out)
	}

	file := filepath.Join(t.TempDir(), "audit.jsonl")
	_, errOut, err := admin(t, append([]string{"audit", "export", "--out", file}, db...)...)
	if err != nil {
		t.Fatal(err)
	}
	entries := readJSONL(t, file)
	if !strings.Contains(errOut, "exported "+itoa(len(entries))+" audit entries") {
		t.Fatalf("export said %q for %d entries", errOut, len(entries))
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("export file mode %v, %v; want 0600", fi.Mode(), err)
	}
	if !strings.HasPrefix(head, itoa(len(entries))+":") || entries[len(entries)-1].Hash != strings.SplitN(head, ":", 2)[1] {
		t.Fatalf("head %s is not the last of %d exported entries", head, len(entries))
	}
	var actions []string
	for i, e := range entries {
		if e.Seq != int64(i+1) {
			t.Fatalf("exported entry %d has seq %d", i+1, e.Seq)
		}
		actions = append(actions, e.Action)
	}
	for _, want := range []string{vigil.AuditAccountCreated, vigil.AuditLoginSucceeded, vigil.AuditLoginFailed} {
		if !slices.Contains(actions, want) {
			t.Errorf("the server recorded no %s: %v", want, actions)
		}
	}
	grants := 0
	for _, e := range entries {
		if e.Action == vigil.AuditRoleGranted {
			grants++
			if e.ActorKind != vigil.AuditActorCLI || e.ActorID != "" || e.TargetID != alice.ID || !strings.Contains(e.Detail, `"role":"admin"`) &&
				!strings.Contains(e.Detail, `"role":"incident_responder"`) {
				t.Errorf("grant recorded as %+v", e)
			}
		}
	}
	if grants != 2 || actions[len(actions)-1] != vigil.AuditRoleRevoked {
		t.Fatalf("actions %v: want two grants and the revocation last", actions)
	}
	// To standard output, after a seq.
	out, _, err = admin(t, append([]string{"audit", "export", "--after", itoa(len(entries) - 2)}, db...)...)
	if err != nil || strings.Count(out, "\n") != 2 || !strings.HasPrefix(out, `{"seq":`+itoa(len(entries)-1)+",") {
		t.Fatalf("export --after printed %q, %v", out, err)
	}

	// A direct edit of the database: the detail of entry 2.
	raw, err := sql.Open("sqlite3", s.DB)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE audit_log SET detail = '{"result":"failed"}' WHERE seq = 2`); err != nil {
		t.Fatal(err)
	}
	out, _, err = admin(t, append([]string{"audit", "verify"}, db...)...)
	if err == nil || !strings.Contains(err.Error(), "entry 2") || !strings.Contains(out, "BROKEN at entry 2 (id "+entries[1].ID+")") ||
		!strings.Contains(out, "(edited)") || !strings.Contains(out, "1 entries before it are intact") {
		t.Fatalf("verify of an edited log: %v\n%s", err, out)
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Fatalf("a broken log is not a usage error: %v", err)
	}
	// Entries removed from the end: still a chain, but not the recorded
	// head.
	if _, err := raw.Exec(`UPDATE audit_log SET detail = ? WHERE seq = 2`, entries[1].Detail); err != nil {
		t.Fatal(err)
	}
	mustAdmin(t, append([]string{"audit", "verify"}, db...)...)
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE seq >= ?`, len(entries)-1); err != nil {
		t.Fatal(err)
	}
	mustAdmin(t, append([]string{"audit", "verify"}, db...)...)
	out, _, err = admin(t, append([]string{"audit", "verify", "--expect-head", head}, db...)...)
	if err == nil || !strings.Contains(out, "removed from the end") {
		t.Fatalf("verify of a truncated log against its head: %v\n%s", err, out)
	}
	// A middle entry removed.
	if _, err := raw.Exec(`DELETE FROM audit_log WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	out, _, err = admin(t, append([]string{"audit", "verify"}, db...)...)
	if err == nil || !strings.Contains(out, "BROKEN at entry 4") || !strings.Contains(out, "sequence gap after 2 (entry removed)") {
		t.Fatalf("verify with a removed entry: %v\n%s", err, out)
	}

	// Another secret key: every entry fails from the first.
	other := seal.GenerateKey()
	out, _, err = admin(t, append([]string{"audit", "verify", "--secret-key", other.Reveal()}, db...)...)
	if err == nil || !strings.Contains(out, "BROKEN at entry 1") || !strings.Contains(out, "check that this is the server's secret key") {
		t.Fatalf("verify with another key: %v\n%s", err, out)
	}
}

// TestAdminErrors: bad input is a clear error, never a panic, and nothing
// is created by a command that fails.
func TestAdminErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.db")
	mustAdminMigrate(t, path)
	keyFile := filepath.Join(dir, "vigil.key")
	db := []string{"--database", path}
	var ue usageError
	for _, tc := range []struct {
		args  []string
		usage bool   // a usageError
		want  string // in the error
	}{
		{nil, true, "no command"},
		{[]string{"frobnicate"}, true, `unknown command "frobnicate"`},
		{[]string{"audit"}, true, "no command"},
		{[]string{"audit", "shred"}, true, `unknown command "shred"`},
		{[]string{"grant-role"}, true, "takes 2 argument(s), got 0"},
		{[]string{"grant-role", "alice"}, true, "takes 2 argument(s), got 1"},
		{[]string{"grant-role", "alice", "admin", "extra"}, true, "got 3"},
		{[]string{"grant-role", "alice", "Admin!"}, true, `role "Admin!"`},
		{[]string{"grant-role", "alice", strings.Repeat("a", 33)}, true, "1 to 32"},
		{[]string{"grant-role", "alice", "admin", "--nope"}, true, "flag provided but not defined"},
		{[]string{"grant-role", "alice", "admin", "--database"}, true, "flag needs an argument"},
		{[]string{"audit", "verify", "--expect-head", "12"}, true, "SEQ:HASH"},
		{[]string{"audit", "verify", "--expect-head", "0:" + strings.Repeat("a", 64)}, true, "positive"},
		{[]string{"audit", "export", "--after", "-1"}, true, "--after"},
		{[]string{"audit", "export", "--after", "x"}, true, "invalid value"},
		{[]string{"audit", "verify", "stray"}, true, "takes 0 argument(s)"},
		{[]string{"audit", "export", "--database", filepath.Join(dir, "missing.db")}, false, "no database at"},
		// No key file yet: never made by an admin command.
		{append([]string{"audit", "verify"}, db...), false, "vigil.key does not exist"},
		{append([]string{"grant-role", "alice", "admin"}, db...), false, "does not exist"},
		{append([]string{"audit", "verify", "--secret-key", "not base64"}, db...), false, "secret-key"},
	} {
		out, errb, err := admin(t, tc.args...)
		switch {
		case err == nil:
			t.Errorf("admin %q succeeded: %s", tc.args, out)
		case errors.As(err, &ue) != tc.usage:
			t.Errorf("admin %q: err %v (%T), usage error %v", tc.args, err, err, !tc.usage)
		case !strings.Contains(err.Error(), tc.want):
			t.Errorf("admin %q: err %q, want %q\nstderr: %s", tc.args, err, tc.want, errb)
		}
	}
	if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed admin command created %s: %v", keyFile, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an admin command created a database")
	}

	// With a key: an unknown user, and an empty log.
	if err := os.WriteFile(keyFile, []byte(seal.GenerateKey().Reveal()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin(t, append([]string{"grant-role", "nobody", "admin"}, db...)...); err == nil || !strings.Contains(err.Error(), `no account with username, email or id "nobody"`) {
		t.Errorf("unknown user: %v", err)
	}
	if out := mustAdmin(t, append([]string{"audit", "verify"}, db...)...); !strings.Contains(out, "0 entries checked") || !strings.Contains(out, "head: none") {
		t.Errorf("verify of an empty log printed %q", out)
	}
	// Help is help.
	for _, args := range [][]string{{"grant-role", "--help"}, {"audit", "verify", "-h"}, {"audit", "export", "--help"}} {
		if _, errb, err := admin(t, args...); !errors.Is(err, flag.ErrHelp) || !strings.Contains(errb, "Usage: vigil admin") {
			t.Errorf("admin %q: %v, %q", args, err, errb)
		}
	}
	if out := mustAdmin(t, "help"); !strings.Contains(out, "vigil admin grant-role") || !strings.Contains(out, "vigil admin audit") {
		t.Errorf("admin help printed %q", out)
	}
	// A database not migrated to this version is not touched.
	stale := filepath.Join(dir, "stale.db")
	if err := os.WriteFile(stale, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := admin(t, "audit", "export", "--database", stale); err == nil || !strings.Contains(err.Error(), "vigil migrate") {
		t.Errorf("export of an unmigrated database: %v", err)
	}
}

func mustAdminMigrate(t *testing.T, path string) {
	t.Helper()
	if err := run(context.Background(), []string{"migrate", "--database", path}, noEnv, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
}

func storedRoles(t *testing.T, path, id string) []string {
	t.Helper()
	db, err := sqlstore.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	a, err := db.AccountByID(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return a.Roles
}

func readJSONL(t *testing.T, path string) []*vigil.AuditEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*vigil.AuditEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e vigil.AuditEntry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("line %d is not an entry: %v: %s", len(out)+1, err, sc.Text())
		}
		out = append(out, &e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func itoa(n int) string { return strconv.Itoa(n) }
