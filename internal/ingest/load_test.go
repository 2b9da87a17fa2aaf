package ingest

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// txLine returns one NDJSON transaction line of account A1.
func txLine(id, status, indicator, amount, booked string) string {
	idField := ""
	if id != "" {
		idField = fmt.Sprintf(`"TransactionId":%q,`, id)
	}
	return fmt.Sprintf(`{"Transaction":{"AccountId":"A1",%s"CreditDebitIndicator":%q,"Status":%q,"BookingDateTime":%q,"Amount":{"Amount":%q,"Currency":"GBP"}}}`,
		idField, indicator, status, booked, amount)
}

func decodePayload(t *testing.T, lines ...string) *obie.Payload {
	t.Helper()
	p, err := obie.Decoder{}.Decode("page.ndjson", []byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	return p
}

// pull stages lines in one load and commits it with windows.
func pull(t *testing.T, l *Loader, customer, source string, windows []Window, lines ...string) Result {
	t.Helper()
	ctx := context.Background()
	ld, err := l.Begin(ctx, customer, source)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	if len(lines) > 0 {
		if err := ld.Add(ctx, decodePayload(t, lines...)); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	res, err := ld.Commit(ctx, windows)
	if err != nil {
		t.Fatalf("Commit: %v", err)
	}
	return res
}

func queryStrings(t *testing.T, engine store.Engine, query string) []string {
	t.Helper()
	rows, err := engine.Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// syncInserts waits until the staging inserts of the batches ld built so
// far are done; Add only queues them.
func syncInserts(t *testing.T, ld *Load) {
	t.Helper()
	if err := ld.waitInserts(); err != nil {
		t.Fatal(err)
	}
	ld.inserts = newInserter(ld)
}

// stagedRows counts the rows of the staging tables and of the loads' own
// tables of transactions.
func stagedRows(t *testing.T, engine store.Engine) int {
	t.Helper()
	total := 0
	for _, table := range append(loadTables(t, engine), stagingTables...) {
		n, err := countQuery(context.Background(), engine, "SELECT count() FROM "+table)
		if err != nil {
			t.Fatal(err)
		}
		total += n
	}
	return total
}

// loadTables returns the names of the loads' own tables of transactions in
// the engine's database.
func loadTables(t *testing.T, engine store.Engine) []string {
	t.Helper()
	return queryStrings(t, engine, `SELECT name FROM system.tables
WHERE database = currentDatabase() AND startsWith(name, 'transactions_load_') ORDER BY name`)
}

func TestLoad_abortStoresNothing(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 1 // every record reaches staging before Abort
	ld, err := l.Begin(ctx, "c1", "pull:1")
	if err != nil {
		t.Fatal(err)
	}
	p := decodePayload(t, txLine("t1", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"),
		txLine("t2", "Booked", "Credit", "2.00", "2026-12-01T11:00:00Z"))
	if err := ld.Add(ctx, p); err != nil {
		t.Fatal(err)
	}
	syncInserts(t, ld)
	if n := stagedRows(t, engine); n != 2 {
		t.Fatalf("staged rows before Abort = %d, want 2", n)
	}

	if err := ld.Abort(ctx); err != nil {
		t.Fatal(err)
	}
	if n := stagedRows(t, engine); n != 0 {
		t.Errorf("staged rows after Abort = %d, want 0", n)
	}
	if got := mustCounts(t, l, "c1"); got != (Counts{}) {
		t.Errorf("counts after Abort = %+v, want none", got)
	}
	if err := ld.Add(ctx, p); err != ErrLoadFinished {
		t.Errorf("Add after Abort = %v, want ErrLoadFinished", err)
	}
	if _, err := ld.Commit(ctx, nil); err != ErrLoadFinished {
		t.Errorf("Commit after Abort = %v, want ErrLoadFinished", err)
	}
}

func TestLoad_unfinishedLoadDroppedByNextBegin(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 1
	ld, err := l.Begin(ctx, "c1", "pull:1")
	if err != nil {
		t.Fatal(err)
	}
	if err := ld.Add(ctx, decodePayload(t, txLine("t1", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"))); err != nil {
		t.Fatal(err)
	}
	syncInserts(t, ld)

	// The first load is left unfinished, as a crash would leave it.
	pull(t, l, "c1", "pull:1", nil, txLine("t2", "Booked", "Debit", "1.00", "2026-12-02T10:00:00Z"))
	if n := stagedRows(t, engine); n != 0 {
		t.Errorf("staged rows = %d, want 0", n)
	}
	if got := mustCounts(t, l, "c1").Transactions; got != 1 {
		t.Errorf("transactions = %d, want 1: the unfinished load must not count", got)
	}
}

func TestCommit_samePullTwiceStoredOnce(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 2
	lines := []string{
		txLine("t1", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"),
		txLine("", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"),
		txLine("", "Booked", "Debit", "1.00", "2026-12-01T10:00:00Z"),
	}
	first := pull(t, l, "c1", "pull:1", nil, lines...)
	if first.Transactions != 3 || first.Unchanged != 0 {
		t.Errorf("first pull = %+v, want 3 transactions, 0 unchanged", first)
	}
	second := pull(t, l, "c1", "pull:2", nil, lines...)
	if second.Unchanged != 3 {
		t.Errorf("second pull Unchanged = %d, want 3", second.Unchanged)
	}
	if n := physicalRows(t, engine, "transactions", "c1"); n != 3 {
		t.Errorf("physical rows = %d, want 3", n)
	}
	if got := mustCounts(t, l, "c1"); got.Transactions != 3 || got.Loads != 2 {
		t.Errorf("counts = %+v, want 3 transactions and 2 loads", got)
	}
}

func TestCommit_reconcilePending(t *testing.T) {
	day := func(d, hour int) string { return time.Date(2026, 12, d, hour, 0, 0, 0, time.UTC).Format(time.RFC3339) }
	window := func(complete bool) []Window {
		return []Window{{AccountID: "A1", From: time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
			To: time.Date(2026, 12, 31, 0, 0, 0, 0, time.UTC), Complete: complete}}
	}
	tests := []struct {
		name        string
		first       []string
		second      []string
		windows     []Window
		superseded  int
		vanished    int
		wantCurrent []string // transaction keys in current views
	}{
		{
			name:        "booked under new id",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("b1", "Booked", "Debit", "12.30", day(3, 0))},
			windows:     window(true),
			superseded:  1,
			wantCurrent: []string{"id:b1"},
		},
		{
			name:        "booked under own id",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("p1", "Booked", "Debit", "12.30", day(2, 0))},
			windows:     window(true),
			wantCurrent: []string{"id:p1"},
		},
		{
			name:        "vanished",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10)), txLine("t1", "Booked", "Credit", "5.00", day(1, 9))},
			second:      []string{txLine("t1", "Booked", "Credit", "5.00", day(1, 9))},
			windows:     window(true),
			vanished:    1,
			wantCurrent: []string{"id:t1"},
		},
		{
			name:        "incomplete window reconciles nothing",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("b1", "Booked", "Debit", "12.30", day(3, 0))},
			windows:     window(false),
			wantCurrent: []string{"id:b1", "id:p1"},
		},
		{
			name:        "other amount does not match",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("b1", "Booked", "Debit", "12.31", day(3, 0))},
			windows:     window(true),
			vanished:    1,
			wantCurrent: []string{"id:b1"},
		},
		{
			name:        "other direction does not match",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("b1", "Booked", "Credit", "12.30", day(3, 0))},
			windows:     window(true),
			vanished:    1,
			wantCurrent: []string{"id:b1"},
		},
		{
			name:        "booked after seven days does not match",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("b1", "Booked", "Debit", "12.30", day(8, 11))},
			windows:     window(true),
			vanished:    1,
			wantCurrent: []string{"id:b1"},
		},
		{
			name: "one to one in booking order",
			first: []string{txLine("p1", "Pending", "Debit", "4.00", day(1, 10)),
				txLine("p2", "Pending", "Debit", "4.00", day(2, 10))},
			second:      []string{txLine("b1", "Booked", "Debit", "4.00", day(2, 12))},
			windows:     window(true),
			superseded:  1,
			vanished:    1,
			wantCurrent: []string{"id:b1"},
		},
		{
			name:        "still listed stays current",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			second:      []string{txLine("p1", "Pending", "Debit", "12.30", day(1, 10))},
			windows:     window(true),
			wantCurrent: []string{"id:p1"},
		},
		{
			name:        "outside the window untouched",
			first:       []string{txLine("p1", "Pending", "Debit", "12.30", "2026-11-20T10:00:00Z")},
			second:      []string{txLine("t1", "Booked", "Credit", "5.00", day(1, 9))},
			windows:     window(true),
			wantCurrent: []string{"id:p1", "id:t1"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			engine := storetest.New(t)
			l := newLoader(t, engine)
			pull(t, l, "c1", "pull:1", nil, tt.first...)
			res := pull(t, l, "c1", "pull:2", tt.windows, tt.second...)
			if res.Superseded != tt.superseded {
				t.Errorf("Superseded = %d, want %d", res.Superseded, tt.superseded)
			}
			if res.Vanished != tt.vanished {
				t.Errorf("Vanished = %d, want %d", res.Vanished, tt.vanished)
			}
			got := strings.Join(queryStrings(t, engine, `SELECT transaction_key FROM transactions FINAL
WHERE customer_id = 'c1' AND state = 'current' ORDER BY transaction_key`), ",")
			if want := strings.Join(tt.wantCurrent, ","); got != want {
				t.Errorf("current keys = %s, want %s", got, want)
			}
			if n := mustCounts(t, l, "c1").Transactions; n != len(tt.wantCurrent) {
				t.Errorf("Counts.Transactions = %d, want %d", n, len(tt.wantCurrent))
			}

			// Reconciling is repeatable: the same pull again changes nothing.
			again := pull(t, l, "c1", "pull:3", tt.windows, tt.second...)
			if again.Superseded != 0 || again.Vanished != 0 {
				t.Errorf("repeated pull marked %d superseded, %d vanished; want none", again.Superseded, again.Vanished)
			}
		})
	}
}

func TestCommit_supersededKeepsHistory(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	w := []Window{{AccountID: "A1", Complete: true}}
	pull(t, l, "c1", "pull:1", nil, txLine("p1", "Pending", "Debit", "12.30", "2026-12-01T10:00:00Z"),
		txLine("p2", "Pending", "Debit", "7.00", "2026-12-01T11:00:00Z"))
	pull(t, l, "c1", "pull:2", w, txLine("b1", "Booked", "Debit", "12.30", "2026-12-02T00:00:00Z"),
		txLine("p2", "Booked", "Debit", "7.00", "2026-12-02T00:00:00Z"))

	got := queryStrings(t, engine, `SELECT concat(transaction_key, ' ', toString(status), ' ', toString(state), ' ', superseded_by)
FROM transactions FINAL WHERE customer_id = 'c1' ORDER BY transaction_key`)
	want := []string{"id:b1 booked current ", "id:p1 pending superseded id:b1", "id:p2 booked current "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("rows = %q, want %q", got, want)
	}
	history := queryStrings(t, engine, `SELECT concat(transaction_key, ' ', toString(status))
FROM transaction_history FINAL WHERE customer_id = 'c1'`)
	if strings.Join(history, "|") != "id:p2 pending" {
		t.Errorf("history = %q, want the pending version of id:p2", history)
	}
}

func TestCommit_vanishedThenBookedBecomesSuperseded(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	pull(t, l, "c1", "pull:1", nil, txLine("p1", "Pending", "Debit", "12.30", "2026-12-01T10:00:00Z"))
	narrow := []Window{{AccountID: "A1", From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		To: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), Complete: true}}
	if res := pull(t, l, "c1", "pull:2", narrow); res.Vanished != 1 {
		t.Fatalf("Vanished = %d, want 1", res.Vanished)
	}

	// The booked version arrives in the next day's window.
	wide := []Window{{AccountID: "A1", From: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), Complete: true}}
	res := pull(t, l, "c1", "pull:3", wide, txLine("b1", "Booked", "Debit", "12.30", "2026-12-02T09:00:00Z"))
	if res.Superseded != 1 {
		t.Errorf("Superseded = %d, want 1", res.Superseded)
	}
	got := queryStrings(t, engine, `SELECT toString(state) FROM transactions FINAL WHERE transaction_key = 'id:p1'`)
	if strings.Join(got, ",") != "superseded" {
		t.Errorf("state of id:p1 = %v, want superseded", got)
	}
}
