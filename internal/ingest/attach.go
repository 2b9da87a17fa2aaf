package ingest

import (
	"context"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// A load stages its transactions in a table of its own,
// transactions_load_<load_id>: a plain MergeTree created AS transactions,
// so it has the same columns (seq included), sorting key and partition key
// (none, so the one partition has ID 'all'). ALTER TABLE transactions
// ATTACH PARTITION ... FROM accepts its parts, so a commit that may attach
// (see attachTransactions) writes the rows once instead of copying them.
//
// Every load on one server gets its own table, not only those that will
// attach: whether the attach applies is known only at commit, because it
// depends on the stored rows in the range of the staged rows and on
// repeated identities among them. A commit that does not attach moves the
// rows from the load's table as it moved them from transactions_staging.
// The table costs one CREATE and one DROP per load.
//
// NOTE: on a cluster (store.Clustered with a cluster name) transactions is
// a Distributed table over replicated per-shard tables, so an attach would
// have to run on every shard with that shard's rows. Loads there stage
// their transactions in transactions_staging and commit by moving them.

// loadTablePrefix starts the name of every load's table of transactions.
const loadTablePrefix = "transactions_load_"

// loadTablePattern matches the names of load tables. A table name goes into
// SQL text only after this check.
var loadTablePattern = regexp.MustCompile(`^transactions_load_[0-9a-f]{32}$`)

// loadTableName returns the name of the table that load id stages its
// transactions in.
func loadTableName(id string) string { return loadTablePrefix + id }

// isCluster reports whether e runs on a ClickHouse cluster.
func isCluster(e store.Engine) bool {
	c, ok := e.(store.Clustered)
	return ok && c.Cluster() != ""
}

// loadOwner returns the owner recorded in the comment of a load table, a
// hash of the customer and source. The next Begin of that source finds the
// tables of its unfinished loads by it, and system.tables shows no file
// path or customer ID.
func loadOwner(customerID, source string) string {
	return hashFields("load table owner", customerID, source)
}

// createLoadTable creates the table of load id, with a comment that
// records its owner and begin time (Unix milliseconds of Loader.Now, the
// clock that ingested_at and staleStagingAge use). The columns source,
// ingested_at and load_id, the same in every row of the load, get
// defaults of those values, so the staged batches leave them out
// (stager.loadConstants). ClickHouse writes the defaults into each part,
// and an attach accepts parts of a table whose columns differ from the
// target's only in their defaults.
func (l *Loader) createLoadTable(ctx context.Context, id, owner string, begun time.Time, source string) error {
	table := loadTableName(id)
	if !loadTablePattern.MatchString(table) {
		return fmt.Errorf("invalid load ID %q", id)
	}
	comment := "owner " + owner + " begun " + strconv.FormatInt(begun.UnixMilli(), 10)
	query := "CREATE TABLE " + table + ` AS transactions
ENGINE = MergeTree
ORDER BY (customer_id, account_id, transaction_key)
SETTINGS min_bytes_for_wide_part = ` + strconv.Itoa(loadTableWideBytes) + `,
    max_parts_to_merge_at_once = ` + strconv.Itoa(loadTableMergeWidth) + `
COMMENT '` + comment + "'"
	if err := l.Engine.Exec(ctx, query); err != nil {
		return fmt.Errorf("create staging table %s: %w", table, err)
	}
	// The source is user input, so it goes into SQL as hex digits.
	defaults := "ALTER TABLE " + table +
		" MODIFY COLUMN source DEFAULT unhex('" + hex.EncodeToString([]byte(source)) + "')," +
		" MODIFY COLUMN ingested_at DEFAULT fromUnixTimestamp64Milli(" + strconv.FormatInt(begun.UnixMilli(), 10) + ", 'UTC')," +
		" MODIFY COLUMN load_id DEFAULT '" + id + "'"
	if err := l.Engine.Exec(ctx, defaults); err != nil {
		if dropErr := l.dropLoadTable(ctx, table); dropErr != nil {
			l.logger().Error("drop staging table", "table", table, "err", dropErr)
		}
		return fmt.Errorf("set the column defaults of staging table %s: %w", table, err)
	}
	// The table is empty, so no merge can have started yet.
	l.setLoadTableMerges(ctx, table, false)
	return nil
}

// Two settings of the load tables make staging cheaper; see "Fifth round"
// in docs/benchmarks.md for the figures.
//
// Compact parts: a part below min_bytes_for_wide_part of uncompressed data
// keeps all its columns in one file instead of two files a column. On the
// ext4 file system of the benchmark machine, creating the files of a wide
// part cost more than encoding its rows. An insert of 50,000 rows cost
// about 1.6 to 2.0 µs of CPU a row as a wide part and 0.9 to 1.0 as a
// compact one (chDB 26.7.3). An insert of DefaultBatchSize rows is about
// 17 MiB, well below loadTableWideBytes, and a part merged from two or
// more of them is wide.
//
// No merges up to unmergedLoadParts parts: every part the load table
// merges is merged again in transactions after the attach, so merging in
// the load table writes the rows twice. A load of up to unmergedLoadParts
// batches (12M rows at DefaultBatchSize) keeps its parts as inserted, and
// transactions merges them after the attach. It runs one merge of up to
// 50 parts at a time (migration 0019 and serverArgs in store/chdb), and
// so a 10M-row load stayed under 1 GiB. A larger load lets the table
// merge its parts from the next batch on, up to loadTableMergeWidth parts
// a merge, so its attach adds fewer parts.
const (
	loadTableWideBytes  = 32 << 20
	unmergedLoadParts   = 240
	loadTableMergeWidth = 50
)

// setLoadTableMerges stops or starts the background merges of a load
// table. It only changes how much work staging does, so a failure (say a
// ClickHouse server user without the SYSTEM MERGES privilege) is logged and
// the load goes on.
func (l *Loader) setLoadTableMerges(ctx context.Context, table string, on bool) {
	if !loadTablePattern.MatchString(table) {
		return
	}
	verb := "STOP"
	if on {
		verb = "START"
	}
	if err := l.Engine.Exec(ctx, "SYSTEM "+verb+" MERGES "+table); err != nil {
		l.logger().Warn("load table merges not changed", "table", table, "start", on, "err", err)
	}
}

// parseLoadTableComment returns the owner and begin time (Unix
// milliseconds) that createLoadTable wrote into a table comment.
func parseLoadTableComment(comment string) (owner string, begun int64, ok bool) {
	f := strings.Fields(comment)
	if len(f) != 4 || f[0] != "owner" || f[2] != "begun" {
		return "", 0, false
	}
	begun, err := strconv.ParseInt(f[3], 10, 64)
	if err != nil {
		return "", 0, false
	}
	return f[1], begun, true
}

// staleLoadTables returns the load tables of the database that belong to
// owner, or that a load begun before cutoff (Unix milliseconds) created.
func (l *Loader) staleLoadTables(ctx context.Context, owner string, cutoff int64) ([]string, error) {
	rows, err := l.Engine.Query(ctx, `SELECT name, comment FROM system.tables
WHERE database = currentDatabase() AND startsWith(name, {prefix:String})`, store.P("prefix", loadTablePrefix))
	if err != nil {
		return nil, fmt.Errorf("list staging tables: %w", err)
	}
	defer rows.Close()

	var stale []string
	for rows.Next() {
		var name, comment string
		if err := rows.Scan(&name, &comment); err != nil {
			return nil, fmt.Errorf("list staging tables: %w", err)
		}
		if !loadTablePattern.MatchString(name) {
			continue
		}
		tableOwner, begun, ok := parseLoadTableComment(comment)
		if !ok {
			l.logger().Warn("staging table without the comment of a load left in place", "table", name)
			continue
		}
		if tableOwner == owner || begun < cutoff {
			stale = append(stale, name)
		}
	}
	return stale, rows.Err()
}

// dropLoadTable drops a load table. SYNC removes its files before the
// statement returns: without it chDB's Atomic database keeps them for
// database_atomic_delay_before_drop_table_sec (480 s by default).
func (l *Loader) dropLoadTable(ctx context.Context, table string) error {
	if !loadTablePattern.MatchString(table) {
		return fmt.Errorf("invalid staging table name %q", table)
	}
	if err := l.Engine.Exec(ctx, "DROP TABLE IF EXISTS "+table+" SYNC"); err != nil {
		return fmt.Errorf("drop staging table %s: %w", table, err)
	}
	return nil
}

// attachTransactions attaches the parts of the load's table to
// transactions when that stores exactly the rows the move would store, and
// reports whether it did. stored is the number of the customer's stored
// transactions in the range that the move compares with.
//
// Of each identity the move copies the staged row with the highest seq,
// and leaves it out when the stored row of that identity has the same
// content hash. With no stored row in that range (stored == 0, as for a
// first load) it leaves nothing out, and when no identity is staged twice
// every staged row is the last of its identity. The move would then copy
// every staged row unchanged, which is what the attach adds.
// mayRepeatIdentity checks the second condition.
//
// A process killed before the attach leaves the load's table, which the
// next Begin of the same source drops. ATTACH PARTITION ... FROM adds the
// parts to transactions one by one on disk, so a process killed during it
// can leave some of them attached, and one killed after it all of them.
// No loads row is recorded in either case, so the rerun of the source
// stages the rows again, finds stored rows in their range, and takes the
// move with its dedupe. That move stores the missing rows and leaves out
// the attached ones by content hash, so the stored rows are then those of
// an uninterrupted run.
func (ld *Load) attachTransactions(ctx context.Context, stored int) (bool, error) {
	reason := ""
	var checked time.Duration // duration of mayRepeatIdentity
	switch {
	case !ld.mayAttach:
		reason = "the engine is a cluster"
	case ld.transactions.staged == 0:
		reason = "no staged transactions"
	case stored > 0:
		reason = "stored transactions in the staged range"
	default:
		begin := time.Now()
		repeated, err := ld.mayRepeatIdentity(ctx, ld.hashCheckRows)
		if err != nil {
			return false, err
		}
		checked = time.Since(begin)
		if repeated {
			reason = "an identity may be staged twice"
		}
	}
	log := ld.loader.logger()
	if reason != "" {
		log.Debug("staged transactions not attached", "load_id", ld.id, "reason", reason, "check", checked)
		return false, nil
	}

	log.Debug("attaching staged transactions", "load_id", ld.id, "rows", ld.transactions.staged, "check", checked)
	if err := ld.loader.Engine.Exec(ctx, "ALTER TABLE transactions ATTACH PARTITION ID 'all' FROM "+ld.txTable); err != nil {
		return false, fmt.Errorf("attach staged transactions of %s: %w", ld.txTable, err)
	}
	log.Debug("staged transactions attached", "load_id", ld.id, "rows", ld.transactions.staged)
	return true, nil
}

// hashCheckRows is the largest number of staged transactions that
// mayRepeatIdentity checks with one hash set. At 8 bytes a row in a table at
// most half full, the set takes an estimated 32 to 64 MiB at 2,000,000 rows.
const hashCheckRows = 2000000

// mayRepeatIdentity reports whether the load's table may hold two rows of
// one identity. It returns false only when no identity repeats.
//
// It compares count() with the number of distinct 64-bit hashes of the
// identities. Two identities with the same hash make it return true, and
// the commit then moves the rows, which is correct for any rows. On chDB
// 26.7.3 this took about 0.1 µs of CPU per row of the benchmark feed.
//
// The set of hashes grows with the rows it counts, so a load of more than
// checkRows staged rows is checked in ranges of the sorting key of about
// checkRows rows each (transactionSlices), which hold all rows of an
// identity. Each range reads only its granules. An aggregation in the
// order of the sorting key needed no set, but its memory grew with the
// number of parts it read: at 10M rows in 19 parts the process peaked at
// 1.1 GiB.
func (ld *Load) mayRepeatIdentity(ctx context.Context, checkRows int) (bool, error) {
	ranges, err := ld.transactionSlices(ctx, checkRows)
	if err != nil {
		return false, fmt.Errorf("look for repeated transactions in %s: %w", ld.txTable, err)
	}
	for _, r := range ranges {
		filter, params := r.filter()
		query := `SELECT count() - uniqExact(cityHash64(customer_id, account_id, transaction_key)) FROM ` + ld.txTable + `
WHERE customer_id = {customer:String}` + filter
		n, err := ld.loader.count(ctx, query, append(params, store.P("customer", ld.customerID))...)
		if err != nil {
			return false, fmt.Errorf("look for repeated transactions in %s: %w", ld.txTable, err)
		}
		if n > 0 {
			return true, nil
		}
	}
	return false, nil
}
