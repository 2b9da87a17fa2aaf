package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	"github.com/openbanking-insights/insights/internal/feeds"
)

const quarantineUsage = `Usage: insights quarantine <list|count|dismiss> [flags]

  list [-customer ID] [-all] [-limit N] [-json]
      list quarantined records, newest first: when, customer, state,
      transaction id, amount as sent, source, JSON path and reason.
      Only open records unless -all is given
  count [-customer ID] [-json]
      count quarantined records by state: open, stored, dismissed
  dismiss -customer ID -key KEY [-actor NAME] [-note TEXT]
      mark a record as reviewed; KEY is its transaction id, or its source
      and path as list -json prints them in "key"

A record is quarantined when the bank sent a negative Amount beside
CreditDebitIndicator Debit. It is kept as sent and never stored with a
flipped sign. It becomes "stored" once the bank sends that transaction again
in a valid form.
`

func runQuarantine(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: quarantineUsage}
	}
	if sub := args[0]; sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, quarantineUsage)
		return nil
	}
	var storage storageConfig
	var customer, key, actor, note string
	var all, asJSON bool
	var limit int
	fs := flag.NewFlagSet("quarantine "+args[0], flag.ContinueOnError)
	storage.register(fs)
	fs.StringVar(&customer, "customer", "", "customer whose records to show; empty means every customer")
	switch args[0] {
	case "list":
		fs.BoolVar(&all, "all", false, "include stored and dismissed records")
		fs.IntVar(&limit, "limit", 100, "maximum records to print; 0 means all")
		fs.BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	case "count":
		fs.BoolVar(&asJSON, "json", false, "print a JSON object instead of text")
	case "dismiss":
		fs.StringVar(&key, "key", "", "the record's key: its transaction id, or its source and path (required)")
		fs.StringVar(&actor, "actor", envOr("USER", "operator"), "who dismisses, for the audit (env USER)")
		fs.StringVar(&note, "note", "", "why the record needs no further action")
	default:
		return exitError{code: 2, msg: fmt.Sprintf("insights quarantine: unknown subcommand %q\n\n%s", args[0], quarantineUsage)}
	}
	if err := parseFlagsOnly(fs, args[1:]); err != nil {
		return err
	}
	if limit < 0 {
		return exitError{code: 2, msg: fmt.Sprintf("insights quarantine list: -limit %d: want 0 or more", limit)}
	}
	if args[0] == "dismiss" && (customer == "" || key == "") {
		return exitError{code: 2, msg: "insights quarantine dismiss: -customer and -key are required"}
	}

	engine, err := storage.open(ctx, logger)
	if err != nil {
		return err
	}
	defer engine.Close()

	switch args[0] {
	case "list":
		entries, err := feeds.ListQuarantine(ctx, engine, feeds.QuarantineFilter{CustomerID: customer, All: all, Limit: limit})
		if err != nil {
			return err
		}
		if asJSON {
			return writeIndentedJSON(stdout, entries)
		}
		printQuarantine(stdout, entries)
		return nil
	case "count":
		counts, err := feeds.CountQuarantine(ctx, engine, customer)
		if err != nil {
			return err
		}
		if asJSON {
			return writeIndentedJSON(stdout, counts)
		}
		fmt.Fprintf(stdout, "open %d, stored %d, dismissed %d\n", counts.Open, counts.Stored, counts.Dismissed)
		return nil
	}

	n, err := feeds.DismissQuarantine(ctx, engine, customer, key, actor, note, time.Now())
	if errors.Is(err, feeds.ErrNoQuarantinedRecord) {
		return exitError{code: 1, msg: "insights quarantine dismiss: " + err.Error() + `; run "insights quarantine list -all -json" for the keys`}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "dismissed key %q: %d quarantined rows\n", key, n)
	return nil
}

func printQuarantine(w io.Writer, entries []feeds.QuarantineEntry) {
	if len(entries) == 0 {
		fmt.Fprintln(w, "no quarantined records")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "QUARANTINED AT\tCUSTOMER\tSTATE\tTRANSACTION ID\tAMOUNT\tSOURCE\tPATH\tREASON")
	for _, e := range entries {
		id := e.TransactionID
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s %s %s\t%s\t%s\t%s\n", e.QuarantinedAt.Format(time.RFC3339), e.CustomerID, e.State,
			id, e.Amount, e.Currency, e.Indicator, e.Source, e.Path, e.Reason)
	}
	tw.Flush()
}

func writeIndentedJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}
