// Command vigil is the vigil account-security service and its tools.
//
//	vigil serve     run the account service
//	vigil migrate   apply database migrations
//	vigil bench     drive a running server and report throughput and latency
//	vigil admin     operators' tools on the server's database: roles, revocations, audit log
//	vigil hunt      find missing authentication and authorization checks in an API
//	vigil version   print the version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "vigil:", err)
		}
		os.Exit(exitCode(err))
	}
}

// usageError marks a mistake in how vigil was called (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError gives a command's error an exit status of its own, for
// commands whose statuses mean more than failed or not (vigil hunt: 1 for
// findings, 2 when it could not run).
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

// exitCode is the exit status for run's error: an exitError's own code,
// 2 for a usage error or --help, 1 for any other error, 0 for none.
func exitCode(err error) int {
	var ee exitError
	var ue usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.code
	case errors.As(err, &ue) || errors.Is(err, flag.ErrHelp):
		return 2
	}
	return 1
}

const usage = `vigil: an account-security service.

Usage:
  vigil serve [flags]     run the account service
  vigil migrate [flags]   apply database migrations and exit
  vigil bench [flags]     load-test a running server
  vigil admin COMMAND     grant or revoke roles; revoke credentials by cutoff; verify or export the audit log
  vigil hunt [flags]      find missing authentication and authorization checks in an API
  vigil version           print the version

Run "vigil COMMAND --help" for a command's flags. Every flag has an
environment twin: --listen is VIGIL_LISTEN, and so on; secrets also take
a _FILE twin (VIGIL_SMTP_PASSWORD_FILE) naming a file to read.
`

// run is main without the process: it takes arguments, environment and
// output streams, so tests can run the real program in-process.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return usageError{"no command given"}
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], getenv, stdout, stderr)
	case "migrate":
		return runMigrate(ctx, args[1:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, args[1:], getenv, stdout, stderr)
	case "admin":
		return runAdmin(ctx, args[1:], getenv, stdout, stderr)
	case "hunt":
		return runHunt(ctx, args[1:], getenv, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "vigil", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return usageError{fmt.Sprintf("unknown command %q", args[0])}
}
