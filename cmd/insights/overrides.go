package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"text/tabwriter"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/overrides"
)

const overridesUsage = `Usage: insights overrides <add|list|remove> [flags]

  add -customer ID -counterparty NAME -category CATEGORY [-direction credit|debit] [-id ID]
      every payment to or from NAME gets CATEGORY, recorded as rule
      "override:ID". NAME is compared after normalising, so "Acme Limited"
      and "ACME LTD" are one counterparty. Without -id a random ID is made;
      an existing ID is replaced
  list -customer ID [-json]
      list the customer's overrides by ID
  remove -customer ID -id ID
      delete an override

Overrides apply to the transactions that "insights ingest" and bank pulls
load. add and remove also recategorise the customer's stored transactions
that the change affects, then derive the customer's income streams and
commitments again. Categories are listed in docs/categories.md.
`

func runOverrides(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	if len(args) == 0 {
		return exitError{code: 2, msg: overridesUsage}
	}
	if sub := args[0]; sub == "-h" || sub == "-help" || sub == "--help" || sub == "help" {
		fmt.Fprint(stdout, overridesUsage)
		return nil
	}
	var storage storageConfig
	var customer, id, counterparty, category, direction, actor string
	var asJSON bool
	fs := flag.NewFlagSet("overrides "+args[0], flag.ContinueOnError)
	storage.register(fs)
	fs.StringVar(&customer, "customer", "", "customer the overrides belong to (required)")
	holidays := func() (*calendar.Calendar, error) { return nil, nil }
	if args[0] == "add" || args[0] == "remove" {
		holidays = holidaysFlag(fs)
	}
	switch args[0] {
	case "add":
		fs.StringVar(&counterparty, "counterparty", "", "counterparty name as the bank sends it (required)")
		fs.StringVar(&category, "category", "", "category to set, such as housing.rent (required)")
		fs.StringVar(&direction, "direction", "", "credit or debit to limit the override to incoming or outgoing payments; empty means both")
		fs.StringVar(&id, "id", "", "override ID: 1 to 64 letters, digits, '_', '.' or '-'; empty means a random one")
		fs.StringVar(&actor, "actor", envOr("USER", "operator"), "who sets the override, for the audit (env USER)")
	case "list":
		fs.BoolVar(&asJSON, "json", false, "print a JSON array instead of a table")
	case "remove":
		fs.StringVar(&id, "id", "", "ID of the override to delete (required)")
		fs.StringVar(&actor, "actor", envOr("USER", "operator"), "who removes the override, for the audit (env USER)")
	default:
		return exitError{code: 2, msg: fmt.Sprintf("insights overrides: unknown subcommand %q\n\n%s", args[0], overridesUsage)}
	}
	if err := parseFlagsOnly(fs, args[1:]); err != nil {
		return err
	}
	if customer == "" {
		return exitError{code: 2, msg: "insights overrides " + args[0] + ": -customer is required"}
	}
	if args[0] == "add" && (counterparty == "" || category == "") {
		return exitError{code: 2, msg: "insights overrides add: -counterparty and -category are required"}
	}
	if args[0] == "remove" && id == "" {
		return exitError{code: 2, msg: "insights overrides remove: -id is required"}
	}
	cal, err := holidays()
	if err != nil {
		return exitError{code: 2, msg: "insights overrides " + args[0] + ": " + err.Error()}
	}

	engine, err := storage.open(ctx, logger)
	if err != nil {
		return err
	}
	defer engine.Close()
	s := &overrides.Store{Engine: engine}

	switch args[0] {
	case "add":
		o := categorize.Override{
			ID:           id,
			Counterparty: counterparty,
			Direction:    categorize.Direction(direction),
			Category:     insights.Category(category),
		}
		if err := addOverride(ctx, s, stdout, logger, customer, actor, o); err != nil {
			return err
		}
		return recategorize(ctx, s, stdout, logger, customer, cal)
	case "list":
		records, err := s.List(ctx, customer)
		if err != nil {
			return err
		}
		if asJSON {
			return writeOverridesJSON(stdout, records)
		}
		printOverrides(stdout, records)
		return nil
	}

	err = s.Remove(ctx, customer, id, actor)
	if errors.Is(err, overrides.ErrNotFound) {
		return exitError{code: 1, msg: "insights overrides remove: " + err.Error() + `; run "insights overrides list -customer ` + customer + `" for the IDs`}
	}
	if err != nil {
		return err
	}
	logger.Info("category override removed", "customer_id", customer, "override_id", id, "actor", actor)
	fmt.Fprintf(stdout, "removed override %q of customer %q\n", id, customer)
	return recategorize(ctx, s, stdout, logger, customer, cal)
}

// recategorize applies the customer's overrides to the stored transactions
// and derives income streams and commitments again when any changed. The
// override change is already stored when this fails, so the error names
// the command that finishes the work.
func recategorize(ctx context.Context, s *overrides.Store, stdout io.Writer, logger *slog.Logger, customer string, cal *calendar.Calendar) error {
	n, err := s.Recategorize(ctx, customer, categorize.New(), logger)
	if err != nil {
		return fmt.Errorf("%w; the override change is stored, and the next \"insights overrides add\" or \"remove\" for the customer (the same add again, for example) recategorises the stored transactions", err)
	}
	fmt.Fprintf(stdout, "recategorised %d stored transactions\n", n)
	if n == 0 {
		return nil
	}
	deriver := &derive.Deriver{Engine: s.Engine, Logger: logger, Calendar: cal}
	if _, err := deriver.RefreshIncome(ctx, customer, time.Now()); err != nil {
		return fmt.Errorf("derive income streams: %w", err)
	}
	return nil
}

// addOverride stores o, with a random ID when o.ID is empty. A random ID
// rather than one made from the counterparty keeps the name out of
// category_rule, which explanations of derived figures show.
func addOverride(ctx context.Context, s *overrides.Store, stdout io.Writer, logger *slog.Logger, customer, actor string, o categorize.Override) error {
	if o.ID == "" {
		var b [4]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("make override ID: %w", err)
		}
		o.ID = "o" + hex.EncodeToString(b[:])
	}
	replaced, err := s.Add(ctx, customer, o, actor)
	if err != nil {
		return exitError{code: 1, msg: "insights overrides add: " + err.Error()}
	}
	verb := "added"
	if replaced {
		verb = "replaced"
	}
	// The counterparty is personal data, so neither the log nor the output
	// repeats it.
	logger.Info("category override "+verb, "customer_id", customer, "override_id", o.ID,
		"category", o.Category, "direction", o.Direction, "actor", actor)
	fmt.Fprintf(stdout, "%s override %q of customer %q: category %s, rule override:%s\n", verb, o.ID, customer, o.Category, o.ID)

	// An override may be set before the customer's data arrives, but a
	// mistyped customer ID looks the same, so the output notes which it is.
	stored, err := s.StoredTransactions(ctx, customer)
	if err != nil {
		return err
	}
	if stored == 0 {
		fmt.Fprintf(stdout, "note: customer %q has no stored transactions, so the override applies only to data ingested later; check the customer ID if you expected some\n", customer)
	}
	return nil
}

func printOverrides(w io.Writer, records []overrides.Record) {
	if len(records) == 0 {
		fmt.Fprintln(w, "no overrides")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tDIRECTION\tCATEGORY\tCOUNTERPARTY\tACTOR\tUPDATED AT")
	for _, r := range records {
		direction := string(r.Direction)
		if direction == "" {
			direction = "any"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, direction, r.Category, r.Counterparty, r.Actor, r.UpdatedAt.Format(time.RFC3339))
	}
	tw.Flush()
}

// overrideJSON is one override in the output of list -json.
type overrideJSON struct {
	ID           string    `json:"id"`
	Counterparty string    `json:"counterparty"`
	Direction    string    `json:"direction"`
	Category     string    `json:"category"`
	Actor        string    `json:"actor"`
	UpdatedAt    time.Time `json:"updated_at"`
}

func writeOverridesJSON(w io.Writer, records []overrides.Record) error {
	out := make([]overrideJSON, len(records))
	for i, r := range records {
		out[i] = overrideJSON{r.ID, r.Counterparty, string(r.Direction), string(r.Category), r.Actor, r.UpdatedAt}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
