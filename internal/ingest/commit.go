package ingest

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
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
		parts, err := l.count(ctx, "SELECT uniqExact(_part) FROM "+ld.txTable+" WHERE load_id = {load:String}",
			store.P("load", ld.id))
		l.logger().Debug("commit started", "load_id", ld.id, "source", ld.source, "staged_parts", parts, "err", err)
	}

	// Step 2: keep pending versions that booked versions replace under the
	// same key, then move every table's new rows.
	if err := ld.archiveReplacedPending(ctx); err != nil {
		return fail(err)
	}
	inserted := 0
	for _, m := range []struct {
		move
		staged int
	}{
		{move{accountsTable.name, "accounts_staging", accountsTable.columns(), accountsTable.identity, noRange}, res.Accounts},
		{move{partiesTable.name, "parties_staging", partiesTable.columns(), partiesTable.identity, noRange}, res.Parties},
		{move{balancesTable.name, "balances_staging", balancesTable.columns(), balancesTable.identity, noRange}, res.Balances},
	} {
		// Staged rows carry the load's ID, so a table this load staged
		// nothing in has nothing to move.
		if m.staged == 0 {
			continue
		}
		n, err := ld.moveRows(ctx, m.move, []keyRange{{}})
		if err != nil {
			return fail(err)
		}
		inserted += n
	}
	n, err := ld.commitTransactions(ctx)
	if err != nil {
		return fail(err)
	}
	inserted += n
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
		"transactions", res.Transactions, "unchanged_records", res.Unchanged,
		"superseded", res.Superseded, "vanished", res.Vanished)
	return res, nil
}

// move describes the copy of one table's staged rows into it.
type move struct {
	table    string
	source   string // the staging table
	columns  string
	identity []string
	// storedRange returns conditions, each starting with AND, that narrow
	// the stored rows the dedupe compares with. slice holds the conditions
	// of the key range being moved, or is empty.
	storedRange func(slice string) string
}

// noRange compares with all of the customer's stored rows of a table.
func noRange(string) string { return "" }

// transactionColumns are the columns that a load's table of transactions
// and transactions share: those of transactionsTable and seq.
var transactionColumns = transactionsTable.columns() + ", seq"

// commitTransactions stores the load's staged transactions in
// transactions, by attaching the parts of the load's table where that
// stores the same rows (attachTransactions), otherwise by moving them, and
// returns how many rows it inserted.
func (ld *Load) commitTransactions(ctx context.Context) (int, error) {
	m := move{transactionsTable.name, ld.txTable, transactionColumns, transactionsTable.identity, ld.transactionsRange}
	ld.loader.logger().Debug("committing staged transactions", "load_id", ld.id, "source_table", m.source)
	stored, err := ld.storedTransactions(ctx, m)
	if err != nil {
		return 0, err
	}
	attached, err := ld.attachTransactions(ctx, stored)
	if err != nil {
		return 0, err
	}
	if !attached {
		slices, err := ld.transactionSlices(ctx, ld.sliceRows)
		if err != nil {
			return 0, err
		}
		if len(slices) > 1 {
			// The Arrow buffers of staging are garbage by now, but the Go
			// heap keeps their pages (about 200 MiB at 10M rows) until
			// later collections. A load large enough for several slices
			// hands them back to the operating system before chDB's move
			// needs memory.
			debug.FreeOSMemory()
		}
		ld.loader.logger().Debug("moving staged transactions", "load_id", ld.id, "slices", len(slices), "dedupe", stored > 0)
		if err := ld.moveSlices(ctx, m, slices, stored); err != nil {
			return 0, err
		}
	}
	if attached {
		// The attach added every staged row.
		return ld.transactions.staged, nil
	}
	return ld.insertedRows(ctx, m)
}

// transactionsRange narrows the stored rows that the dedupe of transactions
// compares with to the key range being moved and to the accounts and
// booking-time range of the load's staged rows in that key range. A row
// with the same identity and content has the same account, key and booking
// time, so the narrowing changes no result, and ClickHouse builds its set
// from that range instead of all of the customer's history.
func (ld *Load) transactionsRange(slice string) string {
	staged := "FROM " + ld.txTable + " WHERE load_id = {load:String}" + slice
	return `
      AND account_id IN (SELECT account_id ` + staged + `)
      AND booking_time BETWEEN (SELECT min(booking_time) ` + staged + `)
          AND (SELECT max(booking_time) ` + staged + `)` + slice
}

// moveSettings bound the memory of one move statement. The staged rows are
// read in the order of the staging table's sorting key, which starts with
// the identity, so ClickHouse sorts only the rows of one identity by seq at
// a time (optimize_read_in_order). Every staged part is read at once, in
// blocks of max_block_size rows and with a read buffer of
// max_read_buffer_size (128 KiB instead of 1 MiB) per column and part, and
// the rows are written as parts of min_insert_block_size_rows.
//
// Measured on chDB 26.7.3, one statement that moved 500,000 staged rows of
// the benchmark feed peaked (peak_memory_usage) at 458 MiB with read blocks
// of 65,409 rows (the default) and parts of 100,000 rows (the default is
// 1,048,449). Parts of 20,000 rows took it to 286 MiB, and read blocks of
// 8,192 rows as well to 164 MiB (116 MiB for 250,000 rows). The smaller parts and blocks cost about
// 0.8 µs of CPU per row more, counted until the merges of the new parts
// ended.
//
// Staging is merged in the background, so about ten parts are left when
// the commit starts. With those merges turned off (200 parts at 10M rows),
// the move in one statement, as it was then, peaked about 1 GiB higher and
// took 3 to 4.5 times as long.
const moveSettings = `
SETTINGS optimize_read_in_order = 1, max_threads = 2, max_block_size = 8192,
         min_insert_block_size_rows = 20000, min_insert_block_size_bytes = 67108864,
         max_read_buffer_size = 131072`

// moveRows copies the staged rows of one table into it, one
// INSERT ... SELECT per key range of slices, and returns how many rows it
// inserted.
//
// Of several staged rows with one identity the last in input order (the
// highest seq) is kept, and it is left out when the stored row of that
// identity has the same content_hash. The stored row is the one FINAL
// returns, whatever its state, so a pending entry already superseded or
// vanished is not made current again by a resend of its old content. The
// comparison runs inside ClickHouse: no stored key is read into Go.
//
// When the customer has no stored row in the range that m.storedRange
// selects for the whole load, which is the case for a first load, nothing
// can match, and the rows are copied without building the set of stored
// rows. A process killed between two ranges leaves rows that the rerun
// recognises by content hash, as it does between two tables.
func (ld *Load) moveRows(ctx context.Context, m move, slices []keyRange) (int, error) {
	ld.loader.logger().Debug("moving staged rows", "table", m.table, "load_id", ld.id, "slices", len(slices))
	stored, err := ld.storedRows(ctx, m)
	if err != nil {
		return 0, err
	}
	if err := ld.moveSlices(ctx, m, slices, stored); err != nil {
		return 0, err
	}
	return ld.insertedRows(ctx, m)
}

// storedTransactions counts the customer's stored transactions in the
// range of the staged ones, as storedRows does with m, but with the range
// that staging recorded (txSpan) when it has it.
func (ld *Load) storedTransactions(ctx context.Context, m move) (int, error) {
	s := &ld.span
	if s.accounts == nil || s.tooMany {
		return ld.storedRows(ctx, m)
	}
	accounts := make([]string, 0, len(s.accounts))
	for a := range s.accounts {
		accounts = append(accounts, a)
	}
	stored, err := ld.loader.count(ctx, `SELECT count() FROM transactions
WHERE customer_id = {customer:String} AND account_id IN {accounts:Array(String)}
  AND booking_time BETWEEN fromUnixTimestamp64Milli({first:Int64}, 'UTC')
      AND fromUnixTimestamp64Milli({last:Int64}, 'UTC')`,
		store.P("customer", ld.customerID), store.P("accounts", arrayLiteral(accounts)),
		store.P("first", strconv.FormatInt(s.first, 10)), store.P("last", strconv.FormatInt(s.last, 10)))
	if err != nil {
		return 0, fmt.Errorf("count stored rows of transactions: %w", err)
	}
	return stored, nil
}

// storedRows counts the customer's stored rows of m.table in the range
// that m.storedRange selects for the whole load.
func (ld *Load) storedRows(ctx context.Context, m move) (int, error) {
	stored, err := ld.loader.count(ctx, "SELECT count() FROM "+m.table+
		" WHERE customer_id = {customer:String}"+m.storedRange(""),
		store.P("load", ld.id), store.P("customer", ld.customerID))
	if err != nil {
		return 0, fmt.Errorf("count stored rows of %s: %w", m.table, err)
	}
	return stored, nil
}

// moveSlices runs the INSERT ... SELECT of moveRows for each key range of
// slices, with the dedupe when stored > 0.
func (ld *Load) moveSlices(ctx context.Context, m move, slices []keyRange, stored int) error {
	params := []store.Param{store.P("load", ld.id), store.P("customer", ld.customerID)}
	for i, r := range slices {
		slice, sliceParams := r.filter()
		query := moveQuery(m, slice, stored > 0)
		if err := ld.loader.Engine.Exec(ctx, query, append(sliceParams, params...)...); err != nil {
			return fmt.Errorf("move staged rows into %s (slice %d of %d): %w", m.table, i+1, len(slices), err)
		}
		if len(slices) > 1 {
			ld.loader.logger().Debug("slice moved", "table", m.table, "load_id", ld.id, "slice", i+1, "slices", len(slices))
		}
	}
	return nil
}

// insertedRows counts the rows of m.table that the load inserted.
func (ld *Load) insertedRows(ctx context.Context, m move) (int, error) {
	n, err := ld.loader.count(ctx, "SELECT count() FROM "+m.table+
		" WHERE customer_id = {customer:String} AND load_id = {load:String}",
		store.P("load", ld.id), store.P("customer", ld.customerID))
	if err != nil {
		return 0, fmt.Errorf("count rows moved into %s: %w", m.table, err)
	}
	return n, nil
}

// moveQuery returns the INSERT ... SELECT of moveRows for the staged rows
// that the conditions in slice select, leaving out stored content when
// dedupe is true.
func moveQuery(m move, slice string, dedupe bool) string {
	ident := strings.Join(m.identity, ", ")
	latest := fmt.Sprintf(`SELECT %[2]s FROM %[1]s
    WHERE load_id = {load:String} AND customer_id = {customer:String}%[4]s
    ORDER BY customer_id, %[3]s, seq DESC
    LIMIT 1 BY %[3]s`, m.source, m.columns, ident, slice)
	if !dedupe {
		return fmt.Sprintf("INSERT INTO %[1]s (%[2]s)\n%[3]s%[4]s", m.table, m.columns, latest, moveSettings)
	}
	return fmt.Sprintf(`INSERT INTO %[1]s (%[2]s)
SELECT %[2]s FROM (
    %[3]s
)
WHERE (%[4]s, content_hash) NOT IN (
    SELECT %[4]s, content_hash FROM %[1]s FINAL
    WHERE customer_id = {customer:String}%[5]s
)%[6]s`, m.table, m.columns, latest, ident, m.storedRange(slice), moveSettings)
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
      SELECT account_id, transaction_key FROM ` + ld.txTable + `
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
		if ld.digest == nil {
			return errors.New("record load: the file's digest is missing")
		}
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
