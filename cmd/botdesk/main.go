// Command botdesk is the self-hosted console for running Telegram bots for a
// business: `botdesk serve` runs the web console, API and pollers;
// `botdesk user add` and `botdesk apikey create` manage access.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

const usage = `botdesk — a self-hosted console for Telegram bots

Usage:
  botdesk serve                                   run the console, API and pollers
  botdesk user add --email E --role admin|operator|agent   (password on stdin)
  botdesk apikey create --name N --role R         prints the key once on stdout
  botdesk demo                                    serve with a simulated Telegram and sample data
  botdesk backup --out FILE [--passphrase-file F]  online, verified snapshot (the key sealed with the passphrase)
  botdesk restore --from FILE [--passphrase-file F] into an empty data dir
  botdesk db copy --to postgres://…               copy the SQLite database into an empty PostgreSQL one, verified

Run "botdesk <command> -h" for the flags; each flag mirrors a BOTDESK_* env variable.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		if !errors.Is(err, errUsage) {
			fmt.Fprintln(os.Stderr, "botdesk:", err)
		}
		os.Exit(1)
	}
}

var errUsage = errors.New("usage")

// run dispatches a subcommand; everything it needs comes in as arguments.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	switch args[0] {
	case "serve":
		return cmdServe(ctx, args[1:], stderr, false)
	case "demo":
		return cmdServe(ctx, args[1:], stderr, true)
	case "user":
		if len(args) < 2 || args[1] != "add" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdUserAdd(ctx, args[2:], stdin, stdout, stderr)
	case "apikey":
		if len(args) < 2 || args[1] != "create" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdAPIKeyCreate(ctx, args[2:], stdout, stderr)
	case "backup":
		return cmdBackup(ctx, args[1:], stdout, stderr)
	case "restore":
		return cmdRestore(ctx, args[1:], stderr)
	case "db":
		if len(args) < 2 || args[1] != "copy" {
			fmt.Fprint(stderr, usage)
			return errUsage
		}
		return cmdDBCopy(ctx, args[2:], stdout, stderr)
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "unknown command %q\n\n%s", args[0], usage)
	return errUsage
}
