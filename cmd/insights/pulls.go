package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/openbanking-insights/insights/internal/feeds"
)

const pullsUsage = `Usage: insights pulls [-customer ID] [-outcome OUTCOME] [-limit N] [-json] [storage flags]

Lists the recorded pulls of linked banks, the most recently finished first:
when each finished, customer, bank, consent, outcome, pages, transactions
read (stored or unchanged), duration and its problems. OUTCOME is complete
(every page read and accepted), incomplete (some pages missing or rejected,
the rest stored) or failed (nothing stored). The table shows the first
problem of a pull and a count of the rest, and -json prints them all.

`

func runPulls(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var storage storageConfig
	var filter feeds.PullFilter
	var asJSON bool
	fs := flag.NewFlagSet("pulls", flag.ContinueOnError)
	storage.register(fs)
	fs.StringVar(&filter.CustomerID, "customer", "", "customer whose pulls to show; empty means every customer")
	fs.StringVar(&filter.Outcome, "outcome", "", "show only pulls with this outcome: complete, incomplete or failed")
	fs.IntVar(&filter.Limit, "limit", 50, "maximum pulls to print; 0 means all")
	fs.BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), pullsUsage)
		fs.PrintDefaults()
	}
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	// Validate names the field, and each field has a flag of that name.
	if err := filter.Validate(); err != nil {
		return exitError{code: 2, msg: "insights pulls: -" + err.Error()}
	}

	engine, err := storage.open(ctx, logger)
	if err != nil {
		return err
	}
	defer engine.Close()

	pulls, err := feeds.ListPulls(ctx, engine, filter)
	if err != nil {
		return err
	}
	if asJSON {
		return writeIndentedJSON(stdout, pulls)
	}
	if len(pulls) == 0 {
		if filter.CustomerID != "" || filter.Outcome != "" {
			fmt.Fprintln(stdout, "no recorded pulls match the filters")
		} else {
			fmt.Fprintln(stdout, "no pulls recorded")
		}
		return nil
	}
	printPulls(stdout, pulls)
	return nil
}

func printPulls(w io.Writer, pulls []feeds.PullRecord) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FINISHED AT\tCUSTOMER\tBANK\tCONSENT\tOUTCOME\tPAGES\tTRANSACTIONS\tDURATION\tPROBLEMS")
	for _, p := range pulls {
		bank := p.BankID
		if bank == "" {
			bank = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", p.FinishedAt.Format(time.RFC3339), p.CustomerID, bank,
			p.ConsentID, p.Outcome, p.Pages, p.Transactions, p.FinishedAt.Sub(p.StartedAt).Round(time.Millisecond),
			problemSummary(p.Problems))
	}
	tw.Flush()
}

// problemSummary returns the first problem of a pull on one line, with the
// number of the others.
func problemSummary(problems []string) string {
	if len(problems) == 0 {
		return "-"
	}
	first := strings.Join(strings.Fields(problems[0]), " ")
	if len(problems) > 1 {
		first += fmt.Sprintf(" (and %d more)", len(problems)-1)
	}
	return first
}
