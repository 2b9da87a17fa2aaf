package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"strconv"
	"strings"

	"github.com/openbanking-insights/insights/internal/store"
)

// Commit makes the staged rows current, storing each transaction once, and
// reconciles pending entries inside each Complete window: a pending entry
// whose booked version arrived (even under a different TransactionId) is
// superseded, and one that vanished is removed from current views; both
// keep their history. Incomplete windows (a pull cut short) reconcile
// nothing.
//
// Every step can be repeated: a process killed during Commit leaves rows
// that a rerun of the same source recognises by content hash, so the rerun
// stores what an uninterrupted run would have stored.
func (ld *Load) Commit(ctx context.Context, windows []Window) (Result, error) {
	res := ld.records
	if ld.finished {
		return res, ErrLoadFinished
	}
	defer ld.finish()
	l := ld.loader
	fail := func(err error) (Result, error) {
		if abortErr := l.dropStaging(context.WithoutCancel(ctx), ld.id); abortErr != nil {
			l.logger().Error("drop staging after failed commit", "load_id", ld.id, "err", abortErr)
		}
		return res, fmt.Errorf("commit load of %s: %w", ld.source, err)
	}

	// Step 1: the last partial batch of each table goes to staging.
	for _, flush := range []func(context.Context, *Load) error{
		ld.accounts.flush, ld.balances.flush, ld.parties.flush, ld.transactions.flush,
	} {
		if err := flush(ctx, ld); err != nil {
			return fail(err)
		}
	}
	if err := ld.waitInserts(); err != nil {
		return fail(err)
	}
	if l.logger().Enabled(ctx, slog.LevelDebug) {
		// The number of staged parts shows whether staging was merged.
		parts, err := l.count(ctx, "SELECT uniqExact(_part) FROM transactions_staging WHERE load_id = {load:String}",
			store.P("load", ld.id))
		l.logger().Debug("commit started", "load_id", ld.id, "source", ld.source, "staged_parts", parts, "err", err)
	}

	// Step 2: keep pending versions that booked versions replace under the
	// same key, then move every table's new rows.
	if err := ld.archiveReplacedPending(ctx); err != nil {
		return fail(err)
	}
	inserted := 0
	for _, move := range []func(context.Context) (int, error){
		ld.moveFunc(accountsTable.name, accountsTable.columns(), accountsTable.identity, ""),
		ld.moveFunc(partiesTable.name, partiesTable.columns(), partiesTable.identity, ""),
		ld.moveFunc(balancesTable.name, balancesTable.columns(), balancesTable.identity, ""),
		ld.moveFunc(transactionsTable.name, transactionsTable.columns(), transactionsTable.identity, transactionsRange),
	} {
		n, err := move(ctx)
		if err != nil {
			return fail(err)
		}
		inserted += n
	}
	res.Unchanged = res.Accounts + res.Balances + res.Parties + res.Transactions - inserted
	l.logger().Debug("rows moved", "load_id", ld.id, "inserted", inserted)

	// Step 3: reconcile pending entries in the complete windows.
	for _, w := range windows {
		if !w.Complete {
			continue
		}
		superseded, vanished, err := ld.reconcile(ctx, w)
		if err != nil {
			return fail(err)
		}
		res.Superseded += superseded
		res.Vanished += vanished
	}

	// Step 4: staging goes first, so that a crash between the two steps
	// leaves no staged rows behind a recorded load.
	if err := l.dropStaging(ctx, ld.id); err != nil {
		return res, fmt.Errorf("commit load of %s: %w", ld.source, err)
	}
	if err := ld.recordLoad(ctx, res); err != nil {
		return res, fmt.Errorf("commit load of %s: %w", ld.source, err)
	}
	l.logger().Info("load committed", "source", ld.source, "customer_id", ld.customerID, "load_id", ld.id,
		"accounts", res.Accounts, "balances", res.Balances, "parties", res.Parties,
		"transactions", res.Transactions, "unchanged", res.Unchanged,
		"superseded", res.Superseded, "vanished", res.Vanished)
	return res, nil
}

// transactionsRange narrows the stored rows that the dedupe of transactions
// compares with to the accounts and booking-time range of the load. A row
// with the same content has the same account and booking time, so the
// narrowing changes no result, and ClickHouse builds its set from the
// load's range instead of all of the customer's history.
const transactionsRange = `
      AND account_id IN (SELECT account_id FROM transactions_staging WHERE load_id = {load:String})
      AND booking_time BETWEEN
          (SELECT min(booking_time) FROM transactions_staging WHERE load_id = {load:String})
          AND (SELECT max(booking_time) FROM transactions_staging WHERE load_id = {load:String})`

// moveSettings bound the memory of a move. The staged rows are read in the
// order of the staging table's sorting key, which starts with the
// identity, so ClickHouse sorts only the rows of one identity by seq at a
// time (optimize_read_in_order). Blocks of at most 100,000 rows are
// written as parts, so ClickHouse does not gather and sort about a
// million rows, several hundred MiB, per part (min_insert_block_size_rows
// defaults to 1,048,449).
//
// The move reads every staged part at once, each column of each part with
// a read buffer of its own, so max_read_buffer_size keeps those at 128 KiB
// instead of 1 MiB. With background merges turned off on staging (200 parts
// at 10M rows) that took the 10M peak from 4.6 to 4.2 GiB, but with merges
// (about ten parts left when the commit starts) the peak was 3.3 GiB and the
// move 3 to 4.5 times as fast (at a lower load), so staging is still merged.
const moveSettings = `
SETTINGS optimize_read_in_order = 1, max_threads = 2,
         min_insert_block_size_rows = 100000, min_insert_block_size_bytes = 67108864,
         max_read_buffer_size = 131072`

// moveFunc returns the step that copies the staged rows of one table into
// it and returns how many it inserted.
//
// Of several staged rows with one identity the last in input order (the
// highest seq) is kept, and it is left out when the stored row of that
// identity has the same content_hash. The stored row is the one FINAL
// returns, whatever its state, so a pending entry already superseded or
// vanished is not made current again by a resend of its old content. The
// comparison runs inside ClickHouse: no stored key is read into Go.
//
// When the customer has no stored row in the range that storedFilter
// selects, which is the case for a first load, nothing can match, and the
// rows are copied without building the set of stored rows.
func (ld *Load) moveFunc(tableName, columns string, identity []string, storedFilter string) func(context.Context) (int, error) {
	ident := strings.Join(identity, ", ")
	latest := fmt.Sprintf(`SELECT %[2]s FROM %[1]s_staging
    WHERE load_id = {load:String}
    ORDER BY customer_id, %[3]s, seq DESC
    LIMIT 1 BY %[3]s`, tableName, columns, ident)
	plain := fmt.Sprintf("INSERT INTO %[1]s (%[2]s)\n%[3]s%[4]s", tableName, columns, latest, moveSettings)
	deduped := fmt.Sprintf(`INSERT INTO %[1]s (%[2]s)
SELECT %[2]s FROM (
    %[3]s
)
WHERE (%[4]s, content_hash) NOT IN (
    SELECT %[4]s, content_hash FROM %[1]s FINAL
    WHERE customer_id = {customer:String}%[5]s
)%[6]s`, tableName, columns, latest, ident, storedFilter, moveSettings)
	stored := "SELECT count() FROM " + tableName + " WHERE customer_id = {customer:String}" + storedFilter

	return func(ctx context.Context) (int, error) {
		params := []store.Param{store.P("load", ld.id), store.P("customer", ld.customerID)}
		ld.loader.logger().Debug("moving staged rows", "table", tableName, "load_id", ld.id)
		n, err := ld.loader.count(ctx, stored, params...)
		if err != nil {
			return 0, fmt.Errorf("count stored rows of %s: %w", tableName, err)
		}
		query := deduped
		if n == 0 {
			query = plain
		}
		if err := ld.loader.Engine.Exec(ctx, query, params...); err != nil {
			return 0, fmt.Errorf("move staged rows into %s: %w", tableName, err)
		}
		n, err = ld.loader.count(ctx, "SELECT count() FROM "+tableName+
			" WHERE customer_id = {customer:String} AND load_id = {load:String}", params...)
		if err != nil {
			return 0, fmt.Errorf("count rows moved into %s: %w", tableName, err)
		}
		return n, nil
	}
}

// archiveReplacedPending copies into transaction_history the stored
// pending version of every entry that this load stages as booked under the
// same transaction_key, before the booked version replaces it. The
// innermost set holds the customer's stored pending keys, usually few, so
// no set of all staged keys is built.
func (ld *Load) archiveReplacedPending(ctx context.Context) error {
	cols := transactionsTable.columns()
	query := `INSERT INTO transaction_history (` + cols + `, replaced_at, replaced_by_load)
SELECT ` + cols + `, fromUnixTimestamp64Milli({now:Int64}, 'UTC'), {load:String}
FROM transactions FINAL
WHERE customer_id = {customer:String} AND status = 'pending'
  AND (account_id, transaction_key) IN (
      SELECT account_id, transaction_key FROM transactions_staging
      WHERE load_id = {load:String} AND status = 'booked'
        AND (account_id, transaction_key) IN (
            SELECT account_id, transaction_key FROM transactions
            WHERE customer_id = {customer:String} AND status = 'pending'))`
	err := ld.loader.Engine.Exec(ctx, query, store.P("load", ld.id), store.P("customer", ld.customerID),
		store.P("now", strconv.FormatInt(ld.ingestedAt.UnixMilli(), 10)))
	if err != nil {
		return fmt.Errorf("keep history of booked pending entries: %w", err)
	}
	return nil
}

// recordLoad inserts the load's row into loads, the last step of a commit.
func (ld *Load) recordLoad(ctx context.Context, res Result) error {
	digest := ld.fileDigest
	if digest == "" {
		digest = hex.EncodeToString(ld.digest.Sum(nil))
	}
	err := ld.loader.Engine.Exec(ctx, `INSERT INTO loads (customer_id, sha256, source, accounts, balances, parties, transactions, loaded_at)
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
