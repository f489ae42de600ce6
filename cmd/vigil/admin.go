package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/user"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/audit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/sqlstore"
)

// adminCommand is one subcommand of `vigil admin`. run gets the arguments
// after the subcommand's name.
type adminCommand struct {
	synopsis string // arguments, for the usage text
	summary  string
	run      func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error
}

// adminCommands are the subcommands of `vigil admin`, by name. They act on
// the server's database directly, as an operator on the server's host.
var adminCommands = map[string]adminCommand{
	"grant-role":  {"[flags] USER ROLE", "give an account a role (USER: username, email or account id)", runGrantRole},
	"revoke-role": {"[flags] USER ROLE", "take a role from an account", runRevokeRole},
	"audit":       {"verify|export [flags]", "check the audit log's hash chain, or export it as JSON Lines", runAudit},
	"revoke":      {"--kind KIND [--before TIME] [--user USER]... [--must-reset] --reason TEXT", "revoke every credential of some kinds issued before a cutoff", runRevoke},
}

// auditCommands are the subcommands of `vigil admin audit`.
var auditCommands = map[string]adminCommand{
	"verify": {"[--expect-head SEQ:HASH]", "check every entry; name the first bad one; print the head to record", runAuditVerify},
	"export": {"[--out FILE] [--after SEQ]", "write the entries as JSON Lines (default: to stdout)", runAuditExport},
}

func runAdmin(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "vigil admin", adminCommands, args, getenv, stdout, stderr)
}

func runAudit(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return dispatch(ctx, "vigil admin audit", auditCommands, args, getenv, stdout, stderr)
}

// dispatch runs the command of table named by args[0].
func dispatch(ctx context.Context, prefix string, table map[string]adminCommand, args []string, getenv func(string) string,
	stdout, stderr io.Writer) error {
	use := func(w io.Writer) {
		names := make([]string, 0, len(table))
		for n := range table {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "Usage: %s COMMAND\n\nCommands:\n", prefix)
		for _, n := range names {
			fmt.Fprintf(w, "  %s %s %s\n      %s\n", prefix, n, table[n].synopsis, table[n].summary)
		}
		fmt.Fprintf(w, "\nRun \"%s COMMAND --help\" for a command's flags.\n", prefix)
	}
	if len(args) == 0 {
		use(stderr)
		return usageError{prefix + ": no command given"}
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		use(stdout)
		return nil
	}
	cmd, ok := table[args[0]]
	if !ok {
		use(stderr)
		return usageError{fmt.Sprintf("%s: unknown command %q", prefix, args[0])}
	}
	return cmd.run(ctx, args[1:], getenv, stdout, stderr)
}

// adminFlags defines, on fs, serve's flags that name the database and the
// secret key, bound to c: the same flags, defaults and environment twins,
// so an admin command finds what the server uses.
func adminFlags(fs *flag.FlagSet, c *Config) {
	all := flag.NewFlagSet("", flag.ContinueOnError)
	serveFlags(all, c)
	for _, name := range []string{"database", "secret-key", "secret-key-file"} {
		f := all.Lookup(name)
		usage := f.Usage
		if name == "secret-key-file" {
			usage = "file holding the server's secret key when --secret-key is not given; admin commands never create it " +
				"(default: vigil.key beside the SQLite database, or in the working directory)"
		}
		fs.Var(f.Value, f.Name, usage)
	}
}

// parseAdminFlags parses flags and exactly npos positional arguments, in
// any order ("grant-role alice admin --database x" or "grant-role
// --database x alice admin"); "--" ends the flags.
func parseAdminFlags(fs *flag.FlagSet, args []string, npos int, getenv func(string) string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) > 1 && a[0] == '-':
			flags = append(flags, a)
			name := strings.TrimLeft(a, "-")
			if strings.Contains(name, "=") {
				continue
			}
			if f := fs.Lookup(name); f != nil && !isBoolFlag(f) && i+1 < len(args) {
				i++
				flags = append(flags, args[i])
			}
		default:
			pos = append(pos, a)
		}
	}
	if err := parseFlags(fs, flags, getenv, nil); err != nil {
		return nil, err
	}
	if len(pos) != npos {
		fs.Usage()
		return nil, usageError{fmt.Sprintf("%s takes %d argument(s), got %d", fs.Name(), npos, len(pos))}
	}
	return pos, nil
}

func isBoolFlag(f *flag.Flag) bool {
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return ok && b.IsBoolFlag()
}

// openAdminDB opens the server's database for an admin command. It never
// creates anything: a SQLite file that does not exist, or a schema that is
// not migrated to this version, is an error. With withKey it also returns
// the server's secret key, which must exist already (see readSecretKey),
// and sets the audit key derived from it on the store.
func openAdminDB(ctx context.Context, c *Config, withKey bool) (*sqlstore.DB, seal.Key, error) {
	var none seal.Key
	if c.Database == "" {
		return nil, none, &ConfigError{Setting: "database", Problem: "must be a SQLite file path or a postgres:// URL"}
	}
	if !strings.Contains(c.Database, "://") {
		if _, err := os.Stat(strings.TrimPrefix(c.Database, "file:")); err != nil {
			return nil, none, &ConfigError{Setting: "database", Problem: fmt.Sprintf("no database at %s: give the server's --database", c.Database)}
		}
	}
	var key seal.Key
	var akey []byte
	if withKey {
		var err error
		if key, err = readSecretKey(c); err != nil {
			return nil, none, err
		}
		akey = auditKey(key)
	}
	db, err := sqlstore.Open(ctx, c.Database)
	if err != nil {
		return nil, none, err
	}
	cur, latest, err := db.MigrationStatus(ctx)
	if err != nil {
		db.Close()
		return nil, none, err
	}
	if cur != latest {
		db.Close()
		return nil, none, fmt.Errorf("the database schema is at version %d of %d: run \"vigil migrate\" (or start the server) first", cur, latest)
	}
	db.SetAuditKey(akey)
	return db, key, nil
}

// readSecretKey returns the server's secret key like serve finds it, but
// never creates one: under a new key every audit entry would look
// tampered with, and the server's sealed 2FA secrets would not open.
func readSecretKey(c *Config) (seal.Key, error) {
	if c.SecretKey == "" {
		c.defaultSecretKeyFile()
		if _, err := os.Stat(c.SecretKeyFile); errors.Is(err, os.ErrNotExist) {
			return seal.Key{}, &ConfigError{Setting: "secret-key-file",
				Problem: fmt.Sprintf("%s does not exist; give the server's secret key (--secret-key-file, or VIGIL_SECRET_KEY): "+
					"admin commands never make a new one", c.SecretKeyFile)}
		}
	}
	k, created, err := c.secretKey()
	if err != nil {
		if c.SecretKey != "" {
			return seal.Key{}, &ConfigError{Setting: "secret-key", Problem: err.Error()}
		}
		return seal.Key{}, err
	}
	if created { // the file appeared and vanished between the two looks
		return seal.Key{}, &ConfigError{Setting: "secret-key-file", Problem: "the key file disappeared; giving up"}
	}
	return k, nil
}

// auditKey derives the key of the audit hash chain from the secret key,
// apart from the sealing and recovery-code keys. serve and the admin
// commands must derive it alike.
func auditKey(k seal.Key) []byte {
	m := hmac.New(sha256.New, []byte(k.Reveal()))
	m.Write([]byte("vigil audit chain v1"))
	return m.Sum(nil)
}

// roleRE is what a role name may be.
var roleRE = regexp.MustCompile(`^[a-z_-]{1,32}$`)

func runGrantRole(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return changeRole(ctx, "grant-role", true, args, getenv, stdout, stderr)
}

func runRevokeRole(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	return changeRole(ctx, "revoke-role", false, args, getenv, stdout, stderr)
}

// changeRole grants or revokes a role and records it in the audit log,
// as the CLI. The role changes first: an audit entry that fails to be
// written after it makes the command fail loudly, never the reverse (an
// entry claiming a change that did not happen).
func changeRole(ctx context.Context, name string, grant bool, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil admin "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminFlags(fs, &cfg)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vigil admin %s [flags] USER ROLE\n\nUSER is a username, email address or account id; "+
			"ROLE is 1 to 32 of a-z, '_' and '-' (vigil knows %q). The change is recorded in the audit log. Flags:\n", name, vigil.RoleAdmin)
		fs.PrintDefaults()
	}
	pos, err := parseAdminFlags(fs, args, 2, getenv)
	if err != nil {
		return err
	}
	who, role := pos[0], pos[1]
	if !roleRE.MatchString(role) {
		return usageError{fmt.Sprintf("role %q: a role is 1 to 32 of a-z, '_' and '-'", role)}
	}
	db, _, err := openAdminDB(ctx, &cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	acct, err := findAccount(ctx, db, who)
	if err != nil {
		return err
	}
	has := slices.Contains(acct.Roles, role)
	switch {
	case grant && has:
		fmt.Fprintf(stdout, "%s (%s) already has role %s; nothing changed\n", acct.Username, acct.ID, role)
		return nil
	case !grant && !has:
		fmt.Fprintf(stdout, "%s (%s) does not have role %s; nothing changed\n", acct.Username, acct.ID, role)
		return nil
	}
	roles := slices.DeleteFunc(slices.Clone(acct.Roles), func(r string) bool { return r == role })
	action, done := vigil.AuditRoleRevoked, fmt.Sprintf("revoked role %s from %s (%s)", role, acct.Username, acct.ID)
	if grant {
		roles = append(roles, role)
		action, done = vigil.AuditRoleGranted, fmt.Sprintf("granted role %s to %s (%s)", role, acct.Username, acct.ID)
	}
	if err := db.SetRoles(ctx, acct.ID, roles); err != nil {
		return err
	}
	detail := map[string]any{"role": role, "username": acct.Username}
	if u, err := user.Current(); err == nil {
		detail["os_user"] = u.Username
	}
	e := vigil.NewAuditEntry(time.Now(), action, nil, "", acct.ID, detail)
	e.ActorKind = vigil.AuditActorCLI
	if err := db.AddEffects(ctx, vigil.Effects{Audit: []*vigil.AuditEntry{e}}); err != nil {
		return fmt.Errorf("the role changed but its audit entry was not written: %w", err)
	}
	fmt.Fprintf(stdout, "%s; roles now: %s; audit entry %d\n", done, rolesText(roles), e.Seq)
	return nil
}

func rolesText(roles []string) string {
	if len(roles) == 0 {
		return "none"
	}
	return strings.Join(roles, " ")
}

// findAccount finds an account by id, username or email address.
func findAccount(ctx context.Context, db *sqlstore.DB, who string) (*vigil.Account, error) {
	who = strings.TrimSpace(who)
	var acct *vigil.Account
	var err error
	switch {
	case who == "":
		return nil, usageError{"USER is empty"}
	case strings.Contains(who, "@"):
		acct, err = db.AccountByEmail(ctx, strings.ToLower(who))
	default:
		err = vigil.Errorf(vigil.ENOTFOUND, "account not found")
		if vigil.ValidID(who) {
			acct, err = db.AccountByID(ctx, who)
		}
		if vigil.ErrorCode(err) == vigil.ENOTFOUND {
			acct, err = db.AccountByUsername(ctx, strings.ToLower(who))
		}
	}
	if vigil.ErrorCode(err) == vigil.ENOTFOUND {
		return nil, fmt.Errorf("no account with username, email or id %q", who)
	}
	return acct, err
}

func runAuditVerify(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil admin audit verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminFlags(fs, &cfg)
	var anchors []audit.Anchor
	fs.Func("expect-head", "an entry recorded earlier from this command's output, as SEQ:HASH; it must still be in the log with that hash "+
		"(detects entries removed from the end); may be repeated", func(s string) error {
		a, err := audit.ParseAnchor(s)
		if err != nil {
			return err
		}
		anchors = append(anchors, a)
		return nil
	})
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil admin audit verify [flags]\n\nChecks that the audit log is one unbroken hash chain under the server's secret key "+
			"and names the first entry that is not. Flags:")
		fs.PrintDefaults()
	}
	if _, err := parseAdminFlags(fs, args, 0, getenv); err != nil {
		return err
	}
	db, key, err := openAdminDB(ctx, &cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := audit.Verify(ctx, db, auditKey(key), anchors...)
	if err != nil {
		return err
	}
	if r.FirstBad != nil {
		fmt.Fprintf(stdout, "audit log BROKEN at %s\n", r.FirstBad)
		fmt.Fprintf(stdout, "%d entries before it are intact", r.Entries)
		if r.Entries > 0 {
			fmt.Fprintf(stdout, "; the last intact one is %d:%s", r.HeadSeq, r.HeadHash)
		}
		fmt.Fprintln(stdout)
		if r.FirstBad.Seq == 1 && r.FirstBad.Reason == audit.ReasonEdited {
			fmt.Fprintln(stdout, "If every entry fails from the first, check that this is the server's secret key.")
		}
		return fmt.Errorf("audit log verification failed at entry %d: %s", r.FirstBad.Seq, r.FirstBad.Reason)
	}
	fmt.Fprintf(stdout, "audit log intact: %d entries checked\n", r.Entries)
	if r.Entries == 0 {
		fmt.Fprintln(stdout, "head: none (the log is empty)")
		return nil
	}
	head := audit.Anchor{Seq: r.HeadSeq, Hash: r.HeadHash}
	fmt.Fprintf(stdout, "head: %s\n", head)
	fmt.Fprintf(stdout, "Record the head outside this server; \"vigil admin audit verify --expect-head %s\" later shows "+
		"whether entries were removed from the end.\n", head)
	return nil
}

func runAuditExport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil admin audit export", flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminFlags(fs, &cfg)
	out := ""
	var after int64
	fs.StringVar(&out, "out", "", `file to write (created with mode 0600, replaced if it exists); "" or "-": standard output`)
	fs.Int64Var(&after, "after", 0, "export only entries with a greater sequence number")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: vigil admin audit export [flags]\n\nWrites the audit log as JSON Lines, one entry per line in order, "+
			"exactly as stored (run verify to check it). Flags:")
		fs.PrintDefaults()
	}
	if _, err := parseAdminFlags(fs, args, 0, getenv); err != nil {
		return err
	}
	if after < 0 {
		return usageError{"--after must be 0 or a sequence number"}
	}
	db, _, err := openAdminDB(ctx, &cfg, false)
	if err != nil {
		return err
	}
	defer db.Close()
	w, where := stdout, "standard output"
	var f *os.File
	if out != "" && out != "-" {
		// Entries hold addresses and account ids: personal data.
		if f, err = os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600); err != nil {
			return err
		}
		w, where = f, out
	}
	n, err := audit.Export(ctx, db, w, after)
	if f != nil {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
	}
	if err != nil {
		return fmt.Errorf("export stopped after %d entries: %w", n, err)
	}
	fmt.Fprintf(stderr, "exported %d audit entries after seq %s to %s\n", n, strconv.FormatInt(after, 10), where)
	return nil
}
