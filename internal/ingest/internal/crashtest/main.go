// Command crashtest loads one file into an embedded ClickHouse data
// directory, or prints a digest of what is stored there. The crash test of
// package ingest runs it as a separate process, because chDB allows one
// data directory per process and a SIGKILL must hit a real process.
//
// Usage:
//
//	crashtest load -data DIR -customer ID -batch N FILE
//	crashtest dump -data DIR -customer ID
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"

	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "crashtest:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("want a mode: load or dump")
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	data := fs.String("data", "", "chDB data directory")
	customer := fs.String("customer", "c1", "customer ID")
	batch := fs.Int("batch", 5000, "rows per Arrow record batch")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}

	ctx := context.Background()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	engine, err := chdb.Open(ctx, chdb.Config{Path: *data, Database: "insights", Library: chdb.DefaultLibrary(), Logger: logger})
	if err != nil {
		return err
	}
	defer engine.Close()
	if err := store.Migrate(ctx, engine, logger); err != nil {
		return err
	}

	switch args[0] {
	case "load":
		if fs.NArg() != 1 {
			return errors.New("load: want one FILE")
		}
		l := &ingest.Loader{Engine: engine, BatchSize: *batch, Logger: logger}
		_, err := l.LoadFile(ctx, *customer, fs.Arg(0))
		return err
	case "dump":
		return dump(ctx, engine, *customer)
	}
	return fmt.Errorf("unknown mode %q", args[0])
}

// businessColumns are the transaction columns whose values a rerun must
// reproduce: all but source, ingested_at and load_id, which name the run.
const businessColumns = `customer_id, account_id, transaction_key, transaction_id, status, booking_time,
value_time, booking_date, amount, currency, description, counterparty, mcc, bank_tx_code,
bank_tx_subcode, proprietary_code, proprietary_issuer, category, category_rule, content_hash,
state, superseded_by`

// dump prints one "name value" line per figure the crash test compares.
func dump(ctx context.Context, engine store.Engine, customer string) error {
	figures := []struct{ name, query string }{
		{"current_rows", "SELECT toString(count()) FROM transactions FINAL WHERE customer_id = {customer:String} AND state = 'current'"},
		{"current_digest", "SELECT toString(sum(cityHash64(" + businessColumns + "))) FROM transactions FINAL WHERE customer_id = {customer:String}"},
		{"distinct_key_hash", "SELECT toString(uniqExact(account_id, transaction_key, content_hash)) FROM transactions WHERE customer_id = {customer:String}"},
		{"accounts_digest", "SELECT toString(sum(cityHash64(account_id, content_hash))) FROM accounts FINAL WHERE customer_id = {customer:String}"},
		{"loads", "SELECT toString(count()) FROM loads FINAL WHERE customer_id = {customer:String}"},
		{"staged", "SELECT toString((SELECT count() FROM transactions_staging) + (SELECT count() FROM accounts_staging))"},
		{"load_tables", "SELECT toString(count()) FROM system.tables WHERE database = currentDatabase() AND startsWith(name, 'transactions_load_')"},
		{"optimize", "OPTIMIZE TABLE transactions FINAL"},
		{"physical_after_optimize", "SELECT toString(count()) FROM transactions WHERE customer_id = {customer:String}"},
	}
	for _, f := range figures {
		if f.name == "optimize" {
			if err := engine.Exec(ctx, f.query); err != nil {
				return fmt.Errorf("optimize: %w", err)
			}
			continue
		}
		rows, err := engine.Query(ctx, f.query, store.P("customer", customer))
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		var v string
		if rows.Next() {
			err = rows.Scan(&v)
		}
		rows.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", f.name, err)
		}
		fmt.Printf("%s %s\n", f.name, v)
	}
	return nil
}
