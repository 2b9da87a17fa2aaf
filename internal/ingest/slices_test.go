package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// slicedFeedSize is the number of transactions of the generated feeds of
// these tests, and slicedRows the slice size that splits a commit of them
// into several INSERT ... SELECT statements.
const (
	slicedFeedSize = 20000
	slicedRows     = 3000
)

// stageForCommit begins a load of the feed at path for customer and stages
// the whole file, with extra lines added after it, as LoadFile does before
// its commit. sliceRows sets the load's slice size.
func stageForCommit(t *testing.T, l *Loader, customer, path string, sliceRows int, extra ...string) *Load {
	t.Helper()
	ctx := context.Background()
	ld, err := l.Begin(ctx, customer, path)
	if err != nil {
		t.Fatalf("Begin: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	check := l.checkFile(ctx, customer, path, f)
	if check.err != nil {
		t.Fatal(check.err)
	}
	ld.fileDigest = check.digest
	if err := l.stageFile(ctx, ld, path, f); err != nil {
		t.Fatalf("stage %s: %v", path, err)
	}
	if len(extra) > 0 {
		if err := ld.Add(ctx, decodePayload(t, extra...)); err != nil {
			t.Fatalf("Add: %v", err)
		}
	}
	ld.sliceRows = sliceRows
	return ld
}

// commitFeed stages and commits the feed at path for customer, with
// extra lines after the file's.
func commitFeed(t *testing.T, l *Loader, customer, path string, sliceRows int, extra ...string) Result {
	t.Helper()
	res, err := stageForCommit(t, l, customer, path, sliceRows, extra...).Commit(context.Background(), nil)
	if err != nil {
		t.Fatalf("Commit of %s for %s: %v", path, customer, err)
	}
	return res
}

// storedDigest returns a digest of every stored version of the customer's
// transactions, over the columns a load's content decides (all but
// customer_id, source, ingested_at and load_id), and the number of rows
// FINAL returns.
func storedDigest(t *testing.T, engine store.Engine, customer string) (digest string, rows int) {
	t.Helper()
	ctx := context.Background()
	r, err := engine.Query(ctx, `SELECT toString(sum(cityHash64(account_id, transaction_key, transaction_id, status,
    booking_time, value_time, booking_date, amount, currency, description, counterparty, mcc, bank_tx_code,
    bank_tx_subcode, proprietary_code, proprietary_issuer, category, category_rule, content_hash, state,
    superseded_by))), count()
FROM transactions FINAL WHERE customer_id = {customer:String}`, store.P("customer", customer))
	if err != nil {
		t.Fatalf("digest of stored transactions: %v", err)
	}
	defer r.Close()
	var n uint64
	if r.Next() {
		if err := r.Scan(&digest, &n); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return digest, int(n)
}

func writeSlicedFeed(t *testing.T, name string, n int) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFeed(t, path, n)
	return path
}

func TestTransactionSlices_coverEveryRowOnce(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := newLoader(t, engine)
	feed := writeSlicedFeed(t, "feed.ndjson", slicedFeedSize)

	ld := stageForCommit(t, l, "c1", feed, slicedRows)
	defer ld.Abort(ctx)
	if err := ld.transactions.flush(ctx, ld); err != nil {
		t.Fatal(err)
	}
	syncInserts(t, ld)

	whole, err := ld.transactionSlices(ctx, slicedFeedSize)
	if err != nil {
		t.Fatal(err)
	}
	if len(whole) != 1 || whole[0].from != nil || whole[0].to != nil {
		t.Errorf("slices of %d rows at %d rows per slice = %+v, want one unbounded range", slicedFeedSize, slicedFeedSize, whole)
	}

	slices, err := ld.transactionSlices(ctx, slicedRows)
	if err != nil {
		t.Fatal(err)
	}
	// The boundaries come from a hash sample, so the number of slices is
	// near, not exactly, the rows over the slice size (7 here).
	if len(slices) < 5 || len(slices) > 9 {
		t.Errorf("got %d slices of %d rows at %d rows per slice, want 5 to 9", len(slices), slicedFeedSize, slicedRows)
	}
	if slices[0].from != nil || slices[len(slices)-1].to != nil {
		t.Errorf("first slice starts at %v and last ends at %v, want both open", slices[0].from, slices[len(slices)-1].to)
	}
	total := 0
	for i, r := range slices {
		if i > 0 && slices[i-1].to != r.from {
			t.Errorf("slice %d starts at %v, not where slice %d ends (%v)", i+1, r.from, i, slices[i-1].to)
		}
		filter, params := r.filter()
		n, err := countQuery(ctx, engine, "SELECT count() FROM "+ld.txTable+" WHERE load_id = {load:String}"+filter,
			append(params, store.P("load", ld.id))...)
		if err != nil {
			t.Fatalf("count rows of slice %d: %v", i+1, err)
		}
		if n == 0 || n > 2*slicedRows {
			t.Errorf("slice %d holds %d staged rows, want 1 to %d", i+1, n, 2*slicedRows)
		}
		total += n
	}
	if total != slicedFeedSize {
		t.Errorf("slices hold %d staged rows in all, want each of the %d once", total, slicedFeedSize)
	}
}

func TestCommit_slicedSameAsWhole(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	first := writeSlicedFeed(t, "first.ndjson", slicedFeedSize)
	second := writeSlicedFeed(t, "second.ndjson", slicedFeedSize+5000)
	// Staged after the file, so each replaces an entry of account A1 in
	// the file within the same load, and the last version in input order
	// is the one stored.
	later := []string{
		txLine("T10", "Booked", "Debit", "99.99", "2024-01-01T00:10:30.000Z"),
		txLine("T19990", "Booked", "Credit", "1.01", "2024-01-15T13:49:30.000Z"),
	}

	loads := []struct {
		name  string
		feed  string
		extra []string
	}{
		{"first load", first, later},
		{"overlapping load", second, nil},
	}
	for _, step := range loads {
		whole := commitFeed(t, l, "whole", step.feed, defaultSliceRows, step.extra...)
		sliced := commitFeed(t, l, "sliced", step.feed, slicedRows, step.extra...)
		if whole != sliced {
			t.Errorf("%s: sliced commit returned %+v, whole commit %+v", step.name, sliced, whole)
		}
		wantDigest, wantRows := storedDigest(t, engine, "whole")
		gotDigest, gotRows := storedDigest(t, engine, "sliced")
		if gotRows != wantRows {
			t.Errorf("%s: sliced commit stored %d transactions, whole commit %d", step.name, gotRows, wantRows)
		}
		if gotDigest != wantDigest {
			t.Errorf("%s: stored transactions differ between sliced and whole commit", step.name)
		}
	}
	if got, want := physicalRows(t, engine, "transactions", "sliced"), physicalRows(t, engine, "transactions", "whole"); got != want {
		t.Errorf("sliced commits inserted %d transaction rows, whole commits %d", got, want)
	}
	if got, want := physicalRows(t, engine, "transactions", "sliced"), slicedFeedSize+5000; got != want {
		t.Errorf("stored %d transaction rows after two overlapping loads, want %d", got, want)
	}
}

// failingEngine runs statements on Engine, but fails the nth Exec whose
// statement starts with prefix instead of running it.
type failingEngine struct {
	store.Engine
	prefix string
	n      int64
	seen   atomic.Int64
}

var errInjected = errors.New("injected failure")

func (e *failingEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	if strings.HasPrefix(query, e.prefix) && e.seen.Add(1) == e.n {
		return errInjected
	}
	return e.Engine.Exec(ctx, query, params...)
}

func TestCommit_failureBetweenSlicesThenRerun(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	feed := writeSlicedFeed(t, "feed.ndjson", slicedFeedSize)
	// A second version of an entry of the file makes the first load move
	// its rows in slices instead of attaching them.
	repeated := txLine("T10", "Booked", "Debit", "99.99", "2024-01-01T00:10:30.000Z")
	l := newLoader(t, engine)
	commitFeed(t, l, "reference", feed, defaultSliceRows, repeated)
	wantDigest, wantRows := storedDigest(t, engine, "reference")

	// The third slice's statement fails, after two slices were moved.
	failing := &failingEngine{Engine: engine, prefix: "INSERT INTO transactions (", n: 3}
	broken := newLoader(t, failing)
	_, err := stageForCommit(t, broken, "c1", feed, slicedRows, repeated).Commit(ctx, nil)
	if !errors.Is(err, errInjected) {
		t.Fatalf("Commit with a failing third slice returned %v, want the injected failure", err)
	}
	if !strings.Contains(err.Error(), "slice 3 of ") {
		t.Errorf("error %q does not name the failed slice", err)
	}
	moved := physicalRows(t, engine, "transactions", "c1")
	if moved == 0 || moved >= slicedFeedSize {
		t.Fatalf("failed commit left %d of %d transactions stored, want those of the first two slices", moved, slicedFeedSize)
	}
	if n := stagedRows(t, engine); n != 0 {
		t.Errorf("failed commit left %d staged rows, want its staging dropped", n)
	}
	if c := mustCounts(t, l, "c1"); c.Loads != 0 {
		t.Errorf("failed commit recorded %d loads, want none", c.Loads)
	}

	res := commitFeed(t, l, "c1", feed, slicedRows, repeated)
	if res.Unchanged != moved+1+feedAccounts {
		t.Errorf("rerun found %d records unchanged, want the %d transactions of the failed run, the first version of the repeated entry and %d accounts",
			res.Unchanged, moved, feedAccounts)
	}
	gotDigest, gotRows := storedDigest(t, engine, "c1")
	if gotRows != wantRows || gotDigest != wantDigest {
		t.Errorf("after a failure between slices and a rerun: %d transactions (digest %s), want %d (digest %s) as an uninterrupted run",
			gotRows, gotDigest, wantRows, wantDigest)
	}
	if got := physicalRows(t, engine, "transactions", "c1"); got != slicedFeedSize {
		t.Errorf("after the rerun %d transaction rows are stored, want each of the %d once", got, slicedFeedSize)
	}
	if c := mustCounts(t, l, "c1"); c.Loads != 1 {
		t.Errorf("after the rerun %d loads are recorded, want 1", c.Loads)
	}
}
