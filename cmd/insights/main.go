// Command insights runs the service and its operator tools: serve the API and
// consent pages, ingest OBIE feed files, verify tokens, register clients and
// regenerate the demo feed.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

const usage = `Usage: insights <command> [flags]

Commands:
  serve      serve the GraphQL API, JWK set and consent pages
  ingest     load OBIE v3.1 feed files (JSON or NDJSON) for a customer
  verify     verify a token against the service's JWK set and print its claims
  clients    register, list, disable and enable merchants and lenders
  keys       list, rotate and prune the token signing keys
  stats      print stored row counts
  pulls      list the recorded pulls of linked banks with their outcomes
  quarantine list, count and dismiss records set aside from bank pulls
  overrides  add, list and remove a customer's category overrides
  migrate    apply schema migrations and exit
  sample     write the seeded demo feed
  bank       serve a local OBIE bank over the demo feed, for demos and tests

Run "insights <command> -h" for a command's flags.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal starts a graceful shutdown. Restoring the default
	// handling then lets a second signal end the process at once.
	go func() {
		<-ctx.Done()
		stop()
	}()

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: logLevel()}))
	slog.SetDefault(logger)

	if err := run(ctx, os.Args[1:], os.Stdout, logger); err != nil {
		var exit exitError
		if errors.As(err, &exit) {
			fmt.Fprintln(os.Stderr, exit.Error())
			os.Exit(exit.code)
		}
		fmt.Fprintf(os.Stderr, "insights: %v\n", err)
		os.Exit(1)
	}
}

// exitError ends the program with a message and a specific exit status.
type exitError struct {
	code int
	msg  string
}

func (e exitError) Error() string { return e.msg }

func run(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: usage}
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "serve":
		return runServe(ctx, rest, logger)
	case "ingest":
		return runIngest(ctx, rest, stdout, logger)
	case "verify":
		return runVerify(ctx, rest, stdout)
	case "clients":
		return runClients(ctx, rest, stdout, logger)
	case "keys":
		return runKeys(rest, stdout)
	case "stats":
		return runStats(ctx, rest, stdout, logger)
	case "pulls":
		return runPulls(ctx, rest, stdout, logger)
	case "quarantine":
		return runQuarantine(ctx, rest, stdout, logger)
	case "overrides":
		return runOverrides(ctx, rest, stdout, logger)
	case "migrate":
		return runMigrate(ctx, rest, logger)
	case "sample":
		return runSample(rest, stdout)
	case "bank":
		return runBank(ctx, rest, logger)
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	return exitError{code: 2, msg: fmt.Sprintf("insights: unknown command %q\n\n%s", cmd, usage)}
}

func logLevel() slog.Level {
	var level slog.Level
	if err := level.UnmarshalText([]byte(os.Getenv("INSIGHTS_LOG_LEVEL"))); err != nil {
		return slog.LevelInfo
	}
	return level
}
