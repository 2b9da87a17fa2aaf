package ingest

import (
	"context"
	"fmt"
	"strconv"

	"github.com/openbanking-insights/insights/internal/store"
)

// storedQueries select, for one customer, the identity columns of each
// ingest table (its ORDER BY after customer_id) and the content_hash of the
// row that FINAL keeps, every column as a String.
var storedQueries = map[string]string{
	"accounts": `SELECT account_id, content_hash
FROM accounts FINAL WHERE customer_id = {customer:String}`,
	"balances": `SELECT account_id, toString(type), toString(currency), toString(toUnixTimestamp64Milli(as_of)), content_hash
FROM balances FINAL WHERE customer_id = {customer:String}`,
	"parties": `SELECT party_id, content_hash
FROM parties FINAL WHERE customer_id = {customer:String}`,
	"transactions": `SELECT account_id, transaction_key, content_hash
FROM transactions FINAL WHERE customer_id = {customer:String}`,
}

// storedHashes returns the content hash of every row stored for the
// customer in the table, by the hashFields of its identity columns.
//
// NOTE: it reads every key of the customer in the table. That is one
// ordered range scan, but for customers with millions of transactions a
// filter on the accounts and booking window of the file would read less.
func storedHashes(ctx context.Context, engine store.Engine, table string, identityColumns int, customerID string) (map[string]string, error) {
	rows, err := engine.Query(ctx, storedQueries[table], store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read stored %s: %w", table, err)
	}
	defer rows.Close()

	out := make(map[string]string)
	values := make([]string, identityColumns+1)
	dest := make([]any, len(values))
	for i := range values {
		dest[i] = &values[i]
	}
	for rows.Next() {
		if err := rows.Scan(dest...); err != nil {
			return nil, fmt.Errorf("read stored %s: %w", table, err)
		}
		out[hashFields(values[:identityColumns]...)] = values[identityColumns]
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read stored %s: %w", table, err)
	}
	return out, nil
}

// storeTable inserts the values whose content differs from what is stored
// under their identity, and returns how many it left out. Of several values
// of the file with one identity, the last is kept, as ReplacingMergeTree
// would keep it.
func storeTable[T any](ctx context.Context, engine store.Engine, t *table[T], ld load, values []T, hash func(*T) string) (int, error) {
	if len(values) == 0 {
		return 0, nil
	}

	// Keep the last value of each identity, in file order.
	last := make(map[string]int, len(values))
	ids := make([]string, len(values))
	for i := range values {
		ids[i] = hashFields(t.identity(&values[i])...)
		last[ids[i]] = i
	}

	stored, err := storedHashes(ctx, engine, t.name, len(t.identity(&values[0])), ld.customerID)
	if err != nil {
		return 0, err
	}
	var rows []row[T]
	for i := range values {
		if last[ids[i]] != i {
			continue
		}
		h := hash(&values[i])
		if stored[ids[i]] == h {
			continue
		}
		rows = append(rows, row[T]{value: &values[i], hash: h})
	}

	if err := insert(ctx, engine, t, ld, rows); err != nil {
		return 0, err
	}
	return len(values) - len(rows), nil
}

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

func (l *Loader) recordLoad(ctx context.Context, ld load, digest string, res Result) error {
	err := l.Engine.Exec(ctx, `INSERT INTO loads (customer_id, sha256, source, accounts, balances, parties, transactions, loaded_at)
VALUES ({customer:String}, {sha256:String}, {source:String}, {accounts:UInt64}, {balances:UInt64}, {parties:UInt64},
        {transactions:UInt64}, fromUnixTimestamp64Milli({loaded_at:Int64}, 'UTC'))`,
		store.P("customer", ld.customerID), store.P("sha256", digest), store.P("source", ld.source),
		store.P("accounts", strconv.Itoa(res.Accounts)), store.P("balances", strconv.Itoa(res.Balances)),
		store.P("parties", strconv.Itoa(res.Parties)), store.P("transactions", strconv.Itoa(res.Transactions)),
		store.P("loaded_at", strconv.FormatInt(ld.ingestedAt.UnixMilli(), 10)))
	if err != nil {
		return fmt.Errorf("record load: %w", err)
	}
	return nil
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
// read with FINAL.
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
	rows, err := engine.Query(ctx, query+" WHERE customer_id = {customer:String}", store.P("customer", customerID))
	if err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	defer rows.Close()

	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("count %s: %w", table, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("count %s: %w", table, err)
	}
	return int(n), nil
}
