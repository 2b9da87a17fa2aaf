package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// logBuffer collects log records. The inserter goroutine logs as well, so
// writes are locked.
type logBuffer struct {
	mu  sync.Mutex
	buf strings.Builder
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// take returns the records written since the last call and clears them.
func (b *logBuffer) take() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.buf.String()
	b.buf.Reset()
	return s
}

// debugLogger returns a logger that writes records of every level into the
// returned buffer.
func debugLogger() (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug})), b
}

// storedTransactions returns every row of the customer's transactions that
// FINAL returns, as text, in key order, with every column but customer_id
// and load_id.
func storedTransactions(t *testing.T, engine store.Engine, customer string) []string {
	t.Helper()
	columns := queryStrings(t, engine, `SELECT name FROM system.columns
WHERE database = currentDatabase() AND table = 'transactions' AND name NOT IN ('customer_id', 'load_id')
ORDER BY position`)
	if len(columns) < 20 {
		t.Fatalf("transactions has the columns %v, want those of the schema", columns)
	}
	return queryStrings(t, engine, "SELECT toString(tuple("+strings.Join(columns, ", ")+`))
FROM transactions FINAL WHERE customer_id = '`+customer+`' ORDER BY account_id, transaction_key`)
}

// dataPaths returns the folders that hold the data of table.
func dataPaths(t *testing.T, engine store.Engine, table string) []string {
	t.Helper()
	return queryStrings(t, engine, `SELECT arrayJoin(data_paths) FROM system.tables
WHERE database = currentDatabase() AND name = '`+table+`'`)
}

func TestCommit_attachStoresWhatMoveStores(t *testing.T) {
	type load struct {
		rows     int      // transactions of the generated feed
		extra    []string // lines staged after the feed's
		attached bool     // whether the commit that may attach attaches
		reason   string   // the logged reason when it does not
	}
	// A second version of an entry of account A1 in the generated feed.
	repeated := txLine("T10", "Booked", "Debit", "99.99", "2024-01-01T00:10:30.000Z")
	tests := []struct {
		name string
		// hashCheckRows, when not 0, replaces the load's limit of the hash
		// check for repeated identities.
		hashCheckRows int
		loads         []load
	}{
		{"first load", 0, []load{{rows: 3000, attached: true}}},
		{"first load with a repeated entry", 0, []load{{rows: 3000, extra: []string{repeated}, reason: "an identity may be staged twice"}}},
		{"first load, checked in ranges", 1000, []load{{rows: 3000, attached: true}}},
		{"repeated entry, checked in ranges", 1000, []load{{rows: 3000, extra: []string{repeated}, reason: "an identity may be staged twice"}}},
		{"second load of the customer", 0, []load{
			{rows: 3000, attached: true},
			{rows: 4000, reason: "stored transactions in the staged range"},
		}},
		{"load without transactions", 0, []load{{rows: 0, reason: "no staged transactions"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			engine := storetest.New(t)
			logger, logs := debugLogger()
			// Both customers' loads of one step get the same ingested_at,
			// so they store the same rows.
			now := fixedNow
			l := &Loader{Engine: engine, Logger: logger, Now: func() time.Time { return now }}

			for i, step := range tt.loads {
				now = fixedNow.Add(time.Duration(i) * time.Minute)
				feed := writeSlicedFeed(t, fmt.Sprintf("load-%d.ndjson", i+1), step.rows)

				logs.take()
				attaching := stageForCommit(t, l, "attach", feed, defaultSliceRows, step.extra...)
				if tt.hashCheckRows != 0 {
					attaching.hashCheckRows = tt.hashCheckRows
				}
				attachRes, err := attaching.Commit(ctx, nil)
				if err != nil {
					t.Fatalf("load %d, commit that may attach: %v", i+1, err)
				}
				log := logs.take()
				if got := strings.Contains(log, `msg="staged transactions attached"`); got != step.attached {
					t.Errorf("load %d attached = %v, want %v; log:\n%s", i+1, got, step.attached, tail(log))
				}
				if step.reason != "" && !strings.Contains(log, `reason="`+step.reason+`"`) {
					t.Errorf("load %d: log names no reason %q for moving:\n%s", i+1, step.reason, tail(log))
				}

				moving := stageForCommit(t, l, "move", feed, defaultSliceRows, step.extra...)
				moving.mayAttach = false // as on a cluster
				moveRes, err := moving.Commit(ctx, nil)
				if err != nil {
					t.Fatalf("load %d, commit that moves: %v", i+1, err)
				}
				if log := logs.take(); strings.Contains(log, `msg="staged transactions attached"`) {
					t.Errorf("load %d: the commit that must move attached:\n%s", i+1, tail(log))
				}

				if attachRes != moveRes {
					t.Errorf("load %d: commit that may attach returned %+v, the move %+v", i+1, attachRes, moveRes)
				}
				got, want := storedTransactions(t, engine, "attach"), storedTransactions(t, engine, "move")
				if len(got) != len(want) {
					t.Fatalf("load %d: %d transactions stored, the move stores %d", i+1, len(got), len(want))
				}
				for j := range got {
					if got[j] != want[j] {
						t.Fatalf("load %d: transaction %d stored as\n%s\nthe move stores\n%s", i+1, j+1, got[j], want[j])
					}
				}
				if got, want := physicalRows(t, engine, "transactions", "attach"), physicalRows(t, engine, "transactions", "move"); got != want {
					t.Errorf("load %d: %d transaction rows stored, the move stores %d", i+1, got, want)
				}
			}
			if tables := loadTables(t, engine); len(tables) != 0 {
				t.Errorf("load tables left after the commits: %v", tables)
			}
		})
	}
}

func TestCommit_repeatedEntryKeepsLastRow(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	logger, logs := debugLogger()
	l := newLoader(t, engine)
	l.Logger = logger
	feed := writeSlicedFeed(t, "feed.ndjson", 3000)
	res, err := stageForCommit(t, l, "c1", feed, defaultSliceRows,
		txLine("T10", "Booked", "Debit", "99.99", "2024-01-01T00:10:30.000Z"),
		txLine("T10", "Booked", "Debit", "77.70", "2024-01-01T00:10:30.000Z")).Commit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if log := logs.take(); strings.Contains(log, `msg="staged transactions attached"`) {
		t.Errorf("a load with a repeated entry attached its rows:\n%s", tail(log))
	}
	if res.Unchanged != 2 {
		t.Errorf("Unchanged = %d, want the 2 earlier versions of T10", res.Unchanged)
	}
	got := queryStrings(t, engine, `SELECT toString(abs(amount)) FROM transactions FINAL
WHERE customer_id = 'c1' AND account_id = 'A1' AND transaction_key = 'id:T10'`)
	if strings.Join(got, ",") != "77.7" {
		t.Errorf("stored amount of T10 = %v, want 77.7 of its last version", got)
	}
	if n := physicalRows(t, engine, "transactions", "c1"); n != 3000 {
		t.Errorf("stored %d transaction rows, want one per entry (3000)", n)
	}
}

// partialAttachEngine runs statements on Engine, but in place of the
// attach of a load's table it copies about half of that table's rows into
// transactions and fails. A process killed while ATTACH PARTITION adds parts
// leaves some of them attached in the same way.
type partialAttachEngine struct {
	store.Engine
}

func (e *partialAttachEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	table, ok := strings.CutPrefix(query, "ALTER TABLE transactions ATTACH PARTITION ID 'all' FROM ")
	if !ok {
		return e.Engine.Exec(ctx, query, params...)
	}
	err := e.Engine.Exec(ctx, "INSERT INTO transactions SELECT * FROM "+table+" WHERE cityHash64(transaction_key) % 2 = 0")
	if err != nil {
		return err
	}
	return errInjected
}

func TestCommit_partialAttachThenRerun(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	feed := writeSlicedFeed(t, "feed.ndjson", 5000)
	l := newLoader(t, engine)
	commitFeed(t, l, "reference", feed, defaultSliceRows)
	wantDigest, wantRows := storedDigest(t, engine, "reference")

	broken := newLoader(t, &partialAttachEngine{Engine: engine})
	if _, err := stageForCommit(t, broken, "c1", feed, defaultSliceRows).Commit(ctx, nil); !errors.Is(err, errInjected) {
		t.Fatalf("Commit with a failing attach returned %v, want the injected failure", err)
	}
	attached := physicalRows(t, engine, "transactions", "c1")
	if attached == 0 || attached >= 5000 {
		t.Fatalf("failed attach left %d of 5000 transactions stored, want about half", attached)
	}
	if tables := loadTables(t, engine); len(tables) != 0 {
		t.Errorf("failed commit left the load tables %v", tables)
	}

	logger, logs := debugLogger()
	l.Logger = logger
	res := commitFeed(t, l, "c1", feed, defaultSliceRows)
	if log := logs.take(); !strings.Contains(log, `reason="stored transactions in the staged range"`) {
		t.Errorf("rerun did not move with the dedupe:\n%s", tail(log))
	}
	if res.Unchanged != attached+feedAccounts {
		t.Errorf("rerun found %d records unchanged, want the %d attached transactions and %d accounts",
			res.Unchanged, attached, feedAccounts)
	}
	gotDigest, gotRows := storedDigest(t, engine, "c1")
	if gotRows != wantRows || gotDigest != wantDigest {
		t.Errorf("after a partial attach and a rerun: %d transactions (digest %s), want %d (digest %s) as an uninterrupted run",
			gotRows, gotDigest, wantRows, wantDigest)
	}
	if n := physicalRows(t, engine, "transactions", "c1"); n != 5000 {
		t.Errorf("after the rerun %d transaction rows are stored, want each of the 5000 once", n)
	}
}

func TestLoad_endDropsLoadTable(t *testing.T) {
	tests := []struct {
		name   string
		end    func(ld *Load) error
		engine func(store.Engine) store.Engine
	}{
		{"commit", func(ld *Load) error { _, err := ld.Commit(context.Background(), nil); return err }, nil},
		{"abort", func(ld *Load) error { return ld.Abort(context.Background()) }, nil},
		{"failed attach", func(ld *Load) error {
			if _, err := ld.Commit(context.Background(), nil); !errors.Is(err, errInjected) {
				return fmt.Errorf("commit returned %v, want the injected failure", err)
			}
			return nil
		}, func(e store.Engine) store.Engine {
			return &failingEngine{Engine: e, prefix: "ALTER TABLE transactions ATTACH", n: 1}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			engine := storetest.New(t)
			l := newLoader(t, engine)
			if tt.engine != nil {
				l.Engine = tt.engine(engine)
			}
			l.BatchSize = 1000
			ld, err := l.Begin(ctx, "c1", "pull:1")
			if err != nil {
				t.Fatal(err)
			}
			lines := make([]string, 0, 2000)
			for i := range 2000 {
				lines = append(lines, txLine(fmt.Sprintf("t%d", i), "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"))
			}
			if err := ld.Add(ctx, decodePayload(t, lines...)); err != nil {
				t.Fatal(err)
			}
			syncInserts(t, ld)
			// A server in another process keeps its data folders elsewhere,
			// so only folders found on this machine are checked.
			var paths []string
			for _, p := range dataPaths(t, engine, ld.txTable) {
				if _, err := os.Stat(p); err == nil {
					paths = append(paths, p)
				}
			}
			if len(paths) == 0 {
				t.Logf("no data folder of %s on this machine", ld.txTable)
			}

			if err := tt.end(ld); err != nil {
				t.Fatal(err)
			}
			if tables := loadTables(t, engine); len(tables) != 0 {
				t.Errorf("load tables left: %v", tables)
			}
			for _, p := range paths {
				if _, err := os.Stat(p); !os.IsNotExist(err) {
					t.Errorf("data folder %s of the dropped load table: %v, want it removed", p, err)
				}
			}
		})
	}
}

func TestBegin_dropsStaleLoadTables(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 1
	line := txLine("t1", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z")

	// unfinished begins a load, stages one transaction and leaves the load
	// unfinished, as a killed process leaves it.
	unfinished := func(l *Loader, customer, source string) string {
		t.Helper()
		ld, err := l.Begin(ctx, customer, source)
		if err != nil {
			t.Fatal(err)
		}
		if err := ld.Add(ctx, decodePayload(t, line)); err != nil {
			t.Fatal(err)
		}
		syncInserts(t, ld)
		return ld.txTable
	}
	has := func(table string) bool {
		t.Helper()
		for _, name := range loadTables(t, engine) {
			if name == table {
				return true
			}
		}
		return false
	}

	killed := unfinished(l, "c1", "pull:1")
	pull(t, l, "c1", "pull:2", nil, line)
	pull(t, l, "c2", "pull:1", nil, line)
	if !has(killed) {
		t.Fatalf("loads of another source or customer dropped the table %s of an unfinished load", killed)
	}
	pull(t, l, "c1", "pull:1", nil, line)
	if has(killed) {
		t.Errorf("Begin of the same customer and source left the table %s of its unfinished load", killed)
	}

	old := newLoader(t, engine)
	old.BatchSize = 1
	old.Now = func() time.Time { return fixedNow.Add(-2 * staleStagingAge) }
	abandoned := unfinished(old, "c3", "pull:9")
	pull(t, l, "c1", "pull:3", nil, line)
	if has(abandoned) {
		t.Errorf("Begin left the table %s of a load begun %v before it", abandoned, 2*staleStagingAge)
	}
	if tables := loadTables(t, engine); len(tables) != 0 {
		t.Errorf("load tables left: %v", tables)
	}
	if n := mustCounts(t, l, "c1").Transactions; n != 1 {
		t.Errorf("c1 has %d current transactions, want 1", n)
	}
}

// TestLoad_loadTableMergesHeldBack stages transactions one per batch, so
// each is a part of the load table, and runs OPTIMIZE on the table.
// ClickHouse rejects it while the load holds merges back, and merges the
// parts once unmergedLoadParts parts were inserted. The parts are compact.
func TestLoad_loadTableMergesHeldBack(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 1
	ld, err := l.Begin(ctx, "c1", "pull:1")
	if err != nil {
		t.Fatal(err)
	}
	defer ld.Abort(ctx)

	stage := func(from, to int) {
		t.Helper()
		var lines []string
		for i := from; i < to; i++ {
			lines = append(lines, txLine(fmt.Sprintf("t%d", i), "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"))
		}
		if err := ld.Add(ctx, decodePayload(t, lines...)); err != nil {
			t.Fatal(err)
		}
		syncInserts(t, ld)
	}
	parts := func() []string {
		return queryStrings(t, engine, `SELECT part_type FROM system.parts
WHERE database = currentDatabase() AND table = '`+ld.txTable+`' AND active ORDER BY name`)
	}

	engineFull := queryStrings(t, engine, "SELECT engine_full FROM system.tables WHERE database = currentDatabase() AND name = '"+ld.txTable+"'")
	if len(engineFull) != 1 || !strings.Contains(engineFull[0], "max_parts_to_merge_at_once = 50") {
		t.Errorf("load table engine = %q, want max_parts_to_merge_at_once = 50", engineFull)
	}

	stage(0, 5)
	if got := parts(); len(got) != 5 || slices.ContainsFunc(got, func(s string) bool { return s != "Compact" }) {
		t.Fatalf("parts of the load table after 5 batches = %v, want 5 Compact", got)
	}
	if err := engine.Exec(ctx, "OPTIMIZE TABLE "+ld.txTable+" FINAL"); err == nil {
		t.Fatalf("OPTIMIZE of the load table after 5 of %d parts succeeded; merges should be stopped", unmergedLoadParts)
	}

	stage(5, unmergedLoadParts)
	if err := engine.Exec(ctx, "OPTIMIZE TABLE "+ld.txTable+" FINAL"); err != nil {
		t.Fatalf("OPTIMIZE of the load table after %d parts: %v", unmergedLoadParts, err)
	}
	if got := parts(); len(got) != 1 {
		t.Errorf("parts of the load table after OPTIMIZE = %v, want one", got)
	}
}
