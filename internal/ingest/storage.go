package ingest

import (
	"context"
	"fmt"

	"github.com/openbanking-insights/insights/internal/store"
)

func (l *Loader) isLoaded(ctx context.Context, customerID, digest string) (bool, error) {
	rows, err := l.Engine.Query(ctx,
		"SELECT count() FROM loads FINAL WHERE customer_id = {customer:String} AND sha256 = {sha256:String}",
		store.P("customer", customerID), store.P("sha256", digest))
	if err != nil {
		return false, fmt.Errorf("read loads: %w", err)
	}
	defer rows.Close()

	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return false, fmt.Errorf("read loads: %w", err)
		}
	}
	return n > 0, rows.Err()
}

// Counts is the number of rows stored for a customer per table, after
// deduplication (read with FINAL).
type Counts struct {
	Accounts, Balances, Parties, Transactions, Loads int
}

// Counts counts the rows stored for the customer in each ingest table, as
// FINAL reads them, so a row stored twice under one key counts once.
func (l *Loader) Counts(ctx context.Context, customerID string) (Counts, error) {
	return CountRows(ctx, l.Engine, customerID)
}

// CountRows counts the rows stored for the customer in each ingest table,
// read with FINAL; Transactions counts current entries only.
func CountRows(ctx context.Context, engine store.Engine, customerID string) (Counts, error) {
	var c Counts
	for _, target := range []struct {
		table string
		n     *int
	}{
		{"accounts", &c.Accounts},
		{"balances", &c.Balances},
		{"parties", &c.Parties},
		{"transactions", &c.Transactions},
		{"loads", &c.Loads},
	} {
		n, err := countRows(ctx, engine, target.table, customerID, true)
		if err != nil {
			return Counts{}, err
		}
		*target.n = n
	}
	return c, nil
}

// countRows counts the customer's rows in table, deduplicated with FINAL
// or as physically stored.
func countRows(ctx context.Context, engine store.Engine, table, customerID string, final bool) (int, error) {
	query := "SELECT count() FROM " + table
	if final {
		query += " FINAL"
	}
	query += " WHERE customer_id = {customer:String}"
	if final && table == "transactions" {
		// Superseded and vanished pending entries are history, not current.
		query += " AND state = 'current'"
	}
	n, err := countQuery(ctx, engine, query, store.P("customer", customerID))
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return n, nil
}

func (l *Loader) count(ctx context.Context, query string, params ...store.Param) (int, error) {
	return countQuery(ctx, l.Engine, query, params...)
}

// countQuery runs a query that selects one count() and returns it.
func countQuery(ctx context.Context, engine store.Engine, query string, params ...store.Param) (int, error) {
	rows, err := engine.Query(ctx, query, params...)
	if err != nil {
		return 0, err
	}
	defer rows.Close()

	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, err
	}
	return int(n), nil
}
