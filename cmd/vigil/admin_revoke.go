package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/vigil-dev/vigil"
	"github.com/vigil-dev/vigil/mail"
	"github.com/vigil-dev/vigil/password"
	"github.com/vigil-dev/vigil/ratelimit"
	"github.com/vigil-dev/vigil/seal"
	"github.com/vigil-dev/vigil/service"
	"github.com/vigil-dev/vigil/sqlstore"
)

// listFlag is a flag that may be given several times, each time with one
// or more comma-separated values.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }

func (l *listFlag) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*l = append(*l, s)
		}
	}
	return nil
}

// noMail is the mail sender of admin commands, which send none: a change
// that wanted to would fail loudly rather than lose a mail.
type noMail struct{}

func (noMail) Send(context.Context, *mail.Message) error {
	return vigil.Errorf(vigil.EUNAVAILABLE, "admin commands send no mail")
}

// adminService builds the account service over db for an admin command,
// so that the command applies the same rules, records and audit entries
// as the admin API. It sends nothing: no mail sender, no SMS.
func adminService(db *sqlstore.DB, key seal.Key) (*service.Service, error) {
	hasher, err := password.NewHasher(password.DefaultParams())
	if err != nil {
		return nil, err
	}
	sealer, err := seal.NewSealer(key)
	if err != nil {
		return nil, err
	}
	return service.New(service.DefaultConfig(), service.Deps{Store: db, Hasher: hasher, Mail: noMail{}, Limiter: ratelimit.NewMemory(),
		Sealer: sealer, RecoveryKey: recoveryKey(key)})
}

func runRevoke(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("vigil admin revoke", flag.ContinueOnError)
	fs.SetOutput(stderr)
	adminFlags(fs, &cfg)
	var kinds, users listFlag
	fs.Var(&kinds, "kind", "credential kinds to revoke: "+strings.Join(vigil.CredentialKinds, ", ")+" (repeat or comma-separate)")
	fs.Var(&users, "user", "limit the revocation to these accounts: username, email or id (repeat or comma-separate); default: every account")
	before := fs.String("before", "", "revoke what was issued before this RFC 3339 time (default: now)")
	reason := fs.String("reason", "", "why, for the audit log and the incident's timeline (required)")
	mustReset := fs.Bool("must-reset", false, "also make the accounts choose a new password before they sign in again")
	incident := fs.String("incident", "", "the incident id this revocation is made under (adds it to the incident's timeline)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: vigil admin revoke --kind KIND[,KIND] [--before TIME] [--user USER]... [--must-reset] --reason TEXT\n\n"+
			"Invalidates every credential of the given kinds issued before the cutoff, for everyone or the listed accounts. "+
			"It is one record, whatever the number of credentials; running servers enforce it within their --revocation-refresh. Flags:\n")
		fs.PrintDefaults()
	}
	if _, err := parseAdminFlags(fs, args, 0, getenv); err != nil {
		return err
	}
	req := service.RevocationRequest{Kinds: kinds, Reason: *reason, MustReset: *mustReset, IncidentID: *incident}
	if *before != "" {
		t, err := time.Parse(time.RFC3339, *before)
		if err != nil {
			return usageError{fmt.Sprintf("--before %q: want an RFC 3339 time such as 2026-01-10T23:00:00Z", *before)}
		}
		req.IssuedBefore = t
	}
	if len(kinds) == 0 && !*mustReset {
		fs.Usage()
		return usageError{"vigil admin revoke: give at least one --kind (or --must-reset)"}
	}
	db, key, err := openAdminDB(ctx, &cfg, true)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, u := range users {
		acct, err := findAccount(ctx, db, u)
		if err != nil {
			return err
		}
		req.AccountIDs = append(req.AccountIDs, acct.ID)
	}
	svc, err := adminService(db, key)
	if err != nil {
		return err
	}
	r, err := svc.Revoke(vigil.NewContextWithActor(ctx, vigil.CLIActor()), req)
	if err != nil {
		var ve *vigil.Error
		if errors.As(err, &ve) && ve.Code != vigil.EINTERNAL {
			return usageError{"vigil admin revoke: " + vigil.ErrorMessage(err)}
		}
		return err
	}
	scope := "every account"
	if len(r.AccountIDs) > 0 {
		scope = fmt.Sprintf("%d account(s)", len(r.AccountIDs))
	}
	fmt.Fprintf(stdout, "revocation %s: %s issued before %s revoked for %s", r.ID, strings.Join(r.Kinds, ", "),
		r.IssuedBefore.Format(time.RFC3339Nano), scope)
	if r.MustReset {
		fmt.Fprint(stdout, "; password reset required at next sign-in")
	}
	fmt.Fprintln(stdout, "\nrunning servers enforce it within their --revocation-refresh (default 500ms)")
	return nil
}
