package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"

	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/store"
)

var errNoRows = errors.New("no rows")

// statsTables are the tables `insights stats` counts.
var statsTables = []string{"accounts", "balances", "parties", "transactions", "loads", "income_streams",
	"commitments", "payment_orders", "bank_consents", "pulls", "quarantine", "clients", "consent_events", "attestations", "audit_log"}

func runStats(ctx context.Context, args []string, stdout io.Writer, logger *slog.Logger) error {
	engine, err := openStorageFlags(ctx, "stats", args, logger)
	if err != nil {
		return err
	}
	defer engine.Close()

	fmt.Fprintf(stdout, "%-16s %10s %10s\n", "table", "rows", "stored")
	for _, table := range statsTables {
		final := " FINAL"
		// plain MergeTree: every row is an event or a snapshot
		if table == "audit_log" || table == "pulls" || table == "payment_orders" || table == "quarantine" {
			final = ""
		}
		rows, err := engine.Query(ctx, "SELECT toUInt64(count()), toUInt64((SELECT count() FROM "+table+")) FROM "+table+final)
		if err != nil {
			return fmt.Errorf("count %s: %w", table, err)
		}
		var unique, stored uint64
		if !rows.Next() {
			rows.Close()
			return fmt.Errorf("count %s: %w", table, errNoRows)
		}
		err = rows.Scan(&unique, &stored)
		rows.Close()
		if err != nil {
			return fmt.Errorf("count %s: %w", table, err)
		}
		if table == "payment_orders" {
			if unique, err = orders.CountCurrent(ctx, engine); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "%-16s %10d %10d\n", table, unique, stored)
	}
	fmt.Fprintln(stdout, "\nrows: after deduplication (FINAL); stored: rows physically stored, before background merges.")
	fmt.Fprintln(stdout, "payment_orders rows: the current orders; stored: every list read, kept as history.")

	counts, err := feeds.CountQuarantine(ctx, engine, "")
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nquarantine: %d open, %d stored since, %d dismissed (see insights quarantine list)\n",
		counts.Open, counts.Stored, counts.Dismissed)
	return nil
}

func runMigrate(ctx context.Context, args []string, logger *slog.Logger) error {
	engine, err := openStorageFlags(ctx, "migrate", args, logger)
	if err != nil {
		return err
	}
	return engine.Close()
}

// storageCommandHelp describes the commands that take only the storage
// flags, for their usage text.
var storageCommandHelp = map[string]string{
	"stats":   "Prints the number of rows in each table: current rows (FINAL) and stored rows, duplicates included.",
	"migrate": "Applies the schema migrations that the storage does not have yet.",
}

// openStorageFlags parses the args of a command that takes only the
// storage flags and opens the migrated engine.
func openStorageFlags(ctx context.Context, command string, args []string, logger *slog.Logger) (store.Engine, error) {
	var storage storageConfig
	fs := flag.NewFlagSet(command, flag.ContinueOnError)
	storage.register(fs)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: insights %s [flags]\n\n%s\n", command, storageCommandHelp[command])
		fs.PrintDefaults()
	}
	if err := parseFlagsOnly(fs, args); err != nil {
		return nil, err
	}
	return storage.open(ctx, logger)
}
