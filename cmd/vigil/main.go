// Command vigil is the vigil account-security service and its tools.
//
//	vigil serve     run the account service
//	vigil migrate   apply database migrations
//	vigil bench     drive a running server and report throughput and latency
//	vigil admin     operators' tools on the server's database: roles, audit log
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
		var ue usageError
		if errors.As(err, &ue) || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// usageError marks a mistake in how vigil was called (exit status 2).
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

const usage = `vigil: an account-security service.

Usage:
  vigil serve [flags]     run the account service
  vigil migrate [flags]   apply database migrations and exit
  vigil bench [flags]     load-test a running server
  vigil admin COMMAND     grant or revoke roles; verify or export the audit log
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
