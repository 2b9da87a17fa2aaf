package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/overrides"
	"github.com/openbanking-insights/insights/internal/store"
)

func runIngest(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	var storage storageConfig
	var customer string
	fs := flag.NewFlagSet("ingest", flag.ContinueOnError)
	storage.register(fs)
	fs.StringVar(&customer, "customer", "", "customer the files belong to (required)")
	holidays := holidaysFlag(fs)
	var idToken idTokenFlags
	idToken.register(fs)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: insights ingest -customer ID FILE...\n\nLoads OBIE v3.1 Account and Transaction API responses (.json) or NDJSON (.ndjson).\nA file with any problem is rejected whole; files already loaded are skipped.\nA .json file of direct debits, standing orders or scheduled payments replaces\nthe stored orders of that kind for each account it covers.")
		fs.PrintDefaults()
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if customer == "" || (fs.NArg() == 0 && idToken.file == "") {
		fs.Usage()
		return exitError{code: 2, msg: "insights ingest: -customer and at least one FILE or -id-token are required"}
	}
	if err := idToken.check(); err != nil {
		return exitError{code: 2, msg: "insights ingest: " + err.Error()}
	}
	cal, err := holidays()
	if err != nil {
		return exitError{code: 2, msg: "insights ingest: " + err.Error()}
	}

	engine, err := storage.open(ctx, logger)
	if err != nil {
		return err
	}
	defer engine.Close()

	if idToken.file != "" {
		if err := idToken.ingest(ctx, engine, customer, stdout, logger); err != nil {
			return err
		}
	}

	// The customer's category overrides (see "insights overrides") apply to
	// the transactions of this run.
	categories := &overrides.Store{Engine: engine}
	loader := &ingest.Loader{Engine: engine, CategorizerFor: categories.CategorizerFor(categorize.New()), Logger: logger}
	var failed, loaded, skipped int
	for _, path := range fs.Args() {
		if handled, err := ingestOrderFile(ctx, engine, customer, path, stdout); handled {
			if err != nil {
				failed++
			} else {
				loaded++
			}
			continue
		}
		res, err := loader.LoadFile(ctx, customer, path)
		if err != nil {
			failed++
			fmt.Fprintf(stdout, "%s: rejected, nothing stored:\n  %v\n", path, indent(err))
			continue
		}
		if res.Skipped {
			skipped++
			fmt.Fprintf(stdout, "%s: already loaded, skipped\n", path)
			continue
		}
		if res.Empty {
			fmt.Fprintf(stdout, "%s: no records, nothing stored\n", path)
			continue
		}
		loaded++
		read := res.Accounts + res.Balances + res.Parties + res.Transactions
		fmt.Fprintf(stdout, "%s: read %s, %s, %s and %s, of which %d new or changed and %d already stored\n",
			path, countOf(res.Accounts, "account", "accounts"), countOf(res.Balances, "balance", "balances"),
			countOf(res.Parties, "party", "parties"), countOf(res.Transactions, "transaction", "transactions"),
			max(read-res.Unchanged, 0), res.Unchanged)
	}

	// Income streams are derived once per ingest run, after all files, and
	// only when a file stored something, or when a skipped file's load is
	// newer than the last derivation: a run killed between its commit and
	// its derivation is then completed by running it again.
	refresh := loaded > 0
	if !refresh && skipped > 0 {
		stale, err := derivedBeforeLastLoad(ctx, engine, customer)
		if err != nil {
			return fmt.Errorf("compare loads with derived income streams: %w", err)
		}
		refresh = stale
	}
	if refresh {
		// The derivation reads the customer's whole stored history, which
		// takes seconds for a million transactions, so it is announced.
		fmt.Fprintln(stdout, "deriving income streams and commitments from the stored transactions")
		begin := time.Now()
		deriver := &derive.Deriver{Engine: engine, Logger: logger, Calendar: cal}
		streams, err := deriver.RefreshIncome(ctx, customer, time.Now())
		if err != nil {
			return fmt.Errorf("derive income streams: %w", err)
		}
		fmt.Fprintf(stdout, "income streams derived: %d, in %s\n", len(streams), time.Since(begin).Round(time.Millisecond))
	}
	if failed > 0 {
		return exitError{code: 1, msg: fmt.Sprintf("insights ingest: %d of %d files rejected", failed, fs.NArg())}
	}
	return nil
}

// derivedBeforeLastLoad reports whether the customer's newest load is newer
// than the newest stored derivation of income streams or commitments. A
// customer with loads and neither stored (no income found yet) counts as
// stale, so such a rerun derives again.
func derivedBeforeLastLoad(ctx context.Context, engine store.Engine, customer string) (bool, error) {
	rows, err := engine.Query(ctx, `SELECT toUInt64(
    (SELECT max(loaded_at) FROM loads WHERE customer_id = {customer:String}) >
    greatest((SELECT max(derived_at) FROM income_streams WHERE customer_id = {customer:String}),
             (SELECT max(derived_at) FROM commitments WHERE customer_id = {customer:String})))`,
		store.P("customer", customer))
	if err != nil {
		return false, err
	}
	defer rows.Close()
	var stale uint64
	if rows.Next() {
		if err := rows.Scan(&stale); err != nil {
			return false, err
		}
	}
	return stale == 1, rows.Err()
}

// indent puts each line of err's message after the first on a new indented
// line, so a list of located problems reads as a list.
func indent(err error) string {
	msg := err.Error()
	out := make([]byte, 0, len(msg))
	for i := 0; i < len(msg); i++ {
		out = append(out, msg[i])
		if msg[i] == '\n' {
			out = append(out, "  "...)
		}
	}
	return string(out)
}

// countOf returns n followed by the singular or plural noun.
func countOf(n int, singular, plural string) string {
	if n == 1 {
		return "1 " + singular
	}
	return strconv.Itoa(n) + " " + plural
}
