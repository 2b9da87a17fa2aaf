package chserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chhttptest"
)

// The tests in this file need a ClickHouse server: the one
// INSIGHTS_TEST_CLICKHOUSE_DSN names, or, when it is unset or
// embedded-http, the embedded engine's HTTP interface (chhttptest), reached
// over HTTP with LZ4 compression. Each test works in a database of its own,
// created by Open and dropped when the test ends.
const serverDSNVariable = "INSIGHTS_TEST_CLICKHOUSE_DSN"

func TestMain(m *testing.M) {
	code := m.Run()
	chhttptest.CloseShared()
	os.Exit(code)
}

var (
	testDatabases atomic.Int64
	unsafeName    = regexp.MustCompile(`[^a-z0-9_]+`)
)

// openServer returns an engine on a new database of the test server.
func openServer(t *testing.T) *Engine {
	t.Helper()
	dsn := os.Getenv(serverDSNVariable)
	if dsn == "" || dsn == chhttptest.EmbeddedDSN {
		server, err := chhttptest.Shared()
		if err != nil {
			t.Fatalf("start embedded ClickHouse HTTP server: %v", err)
		}
		dsn = server.DSN("", "compress=lz4")
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// The DSN may contain a password, so the error is not shown.
		t.Fatalf("%s is not a valid URL", serverDSNVariable)
	}

	name := unsafeName.ReplaceAllString(strings.ToLower(t.Name()), "_")
	database := fmt.Sprintf("insights_test_%d_%d_%s", os.Getpid(), testDatabases.Add(1), name)
	if len(database) > 63 {
		database = database[:63]
	}
	u.Path = "/" + database

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := Open(ctx, u.String(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := e.Exec(context.Background(), "DROP DATABASE IF EXISTS `"+database+"`"); err != nil {
			t.Logf("drop test database %s: %v", database, err)
		}
		if err := e.Close(); err != nil {
			t.Logf("close engine: %v", err)
		}
	})
	return e
}

// jsonRecord builds a record of schema from its JSON rows, as
// array.RecordFromJSON reads them.
func jsonRecord(t *testing.T, schema *arrow.Schema, rows string) arrow.RecordBatch {
	t.Helper()
	rec, _, err := array.RecordFromJSON(memory.NewGoAllocator(), schema, strings.NewReader(rows))
	if err != nil {
		t.Fatalf("build record: %v", err)
	}
	t.Cleanup(rec.Release)
	return rec
}

func TestServer_openCreatesDatabase(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()

	rows, err := e.Query(ctx, "SELECT currentDatabase(), toUInt64(count()) FROM system.databases WHERE name = {db:String}",
		store.P("db", e.Database()))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var current string
	var count uint64
	if err := rows.Scan(&current, &count); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if current != e.Database() {
		t.Errorf("currentDatabase() = %q, want %q", current, e.Database())
	}
	if count != 1 {
		t.Errorf("system.databases has %d rows for %s, want 1", count, e.Database())
	}
}

func TestServer_queryParameters(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()

	err := e.Exec(ctx, "CREATE TABLE kv (k String, n Int64, u UInt64, f Float64, b Bool) ENGINE = MergeTree ORDER BY k")
	if err != nil {
		t.Fatalf("create table: %v", err)
	}

	// A value that would end the literal and inject SQL if it were
	// interpolated into the query text.
	key := "o'brien'); DROP TABLE kv; --"
	insert := "INSERT INTO kv SELECT {k:String}, {n:Int64}, {u:UInt64}, {f:Float64}, {b:Bool}"
	for _, row := range [][]store.Param{
		{store.P("k", key), store.P("n", "-42"), store.P("u", "18446744073709551615"), store.P("f", "0.25"), store.P("b", "true")},
		{store.P("k", "other"), store.P("n", "1"), store.P("u", "1"), store.P("f", "1"), store.P("b", "false")},
	} {
		if err := e.Exec(ctx, insert, row...); err != nil {
			t.Fatalf("insert: %v", err)
		}
	}

	rows, err := e.Query(ctx, "SELECT k, n, u, f, b FROM kv WHERE k = {k:String}", store.P("k", key))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()

	var got []string
	for rows.Next() {
		var (
			k string
			n int64
			u uint64
			f float64
			b bool
		)
		if err := rows.Scan(&k, &n, &u, &f, &b); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		got = append(got, fmt.Sprintf("%s|%d|%d|%g|%t", k, n, u, f, b))
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	want := []string{key + "|-42|18446744073709551615|0.25|true"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestServer_queryErrorIsNotUnavailable(t *testing.T) {
	e := openServer(t)

	_, err := e.Query(context.Background(), "SELECT k FROM no_such_table")
	if err == nil {
		t.Fatal("Query of a missing table returned no error")
	}
	if errors.Is(err, store.ErrUnavailable) {
		t.Errorf("error %q wraps ErrUnavailable; the server answered", err)
	}
}

func TestServer_migrate(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()

	// A second run must find every migration applied and change nothing.
	for run := 1; run <= 2; run++ {
		if err := store.Migrate(ctx, e, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatalf("Migrate run %d: %v", run, err)
		}
	}

	migrations, err := store.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	rows, err := e.Query(ctx, "SELECT toUInt64(count()) FROM schema_migrations FINAL")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	var applied uint64
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Scan(&applied); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if applied != uint64(len(migrations)) {
		t.Errorf("schema_migrations has %d versions, want %d", applied, len(migrations))
	}

	tables, err := e.Query(ctx, "SELECT name FROM system.tables WHERE database = {db:String}", store.P("db", e.Database()))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer tables.Close()
	found := map[string]bool{}
	for tables.Next() {
		var name string
		if err := tables.Scan(&name); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		found[name] = true
	}
	for _, want := range []string{"schema_migrations", "accounts", "balances", "parties", "transactions", "consent_events", "attestations", "audit_log"} {
		if !found[want] {
			t.Errorf("table %s missing after Migrate", want)
		}
	}
}

var transactionSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "account_id", Type: arrow.BinaryTypes.String},
	{Name: "transaction_key", Type: arrow.BinaryTypes.String},
	{Name: "transaction_id", Type: arrow.BinaryTypes.String},
	{Name: "status", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
	{Name: "booking_time", Type: &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/London"}},
	{Name: "value_time", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}, Nullable: true},
	{Name: "booking_date", Type: arrow.FixedWidthTypes.Date32},
	{Name: "amount", Type: &arrow.Decimal64Type{Precision: 18, Scale: 5}},
	{Name: "currency", Type: arrow.BinaryTypes.String},
	{Name: "ingested_at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
}, nil)

func TestServer_insertArrowTransactions(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, e, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	// 2017-06-30T23:00:00Z is 1 July 2017 in London: the booking day is the
	// bank's, not the UTC date.
	rec := jsonRecord(t, transactionSchema, `[
		{"customer_id": "c1", "account_id": "a1", "transaction_key": "k1", "transaction_id": "t1", "status": "booked",
		 "booking_time": "2017-06-30T23:00:00Z", "value_time": null, "booking_date": "2017-07-01",
		 "amount": "-12.5", "currency": "GBP", "ingested_at": 1700000000000},
		{"customer_id": "c1", "account_id": "a1", "transaction_key": "k2", "transaction_id": "t2", "status": "pending",
		 "booking_time": 1499000000123456, "value_time": 1499000000123, "booking_date": "2017-07-02",
		 "amount": "2500.00001", "currency": "GBP", "ingested_at": 1700000000000}
	]`)
	if err := e.InsertArrow(ctx, "transactions", rec); err != nil {
		t.Fatalf("InsertArrow: %v", err)
	}

	rows, err := e.Query(ctx, `SELECT transaction_id, status, toUnixTimestamp64Milli(booking_time),
		ifNull(toString(toUnixTimestamp64Milli(value_time)), 'NULL'), toString(booking_date), toString(amount),
		description, category
		FROM transactions FINAL WHERE customer_id = {customer:String} ORDER BY transaction_id`, store.P("customer", "c1"))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()

	type stored struct {
		id, status       string
		bookingMilli     int64
		valueMilli       string
		bookingDate      string
		amount           string
		description, cat string
	}
	var got []stored
	for rows.Next() {
		var s stored
		if err := rows.Scan(&s.id, &s.status, &s.bookingMilli, &s.valueMilli, &s.bookingDate, &s.amount, &s.description, &s.cat); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		got = append(got, s)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}

	want := []stored{
		// Columns the record lacks (description, category) get their defaults.
		{"t1", "booked", 1498863600000, "NULL", "2017-07-01", "-12.5", "", ""},
		// DateTime64(3) keeps milliseconds: the microseconds are dropped.
		{"t2", "pending", 1499000000123, "1499000000123", "2017-07-02", "2500.00001", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d rows, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		g, w := got[i], want[i]
		amount, err := decimal.NewFromString(g.amount)
		if err != nil || !amount.Equal(decimal.RequireFromString(w.amount)) {
			t.Errorf("row %d amount = %q, want %s", i, g.amount, w.amount)
		}
		g.amount, w.amount = "", ""
		if g != w {
			t.Errorf("row %d = %+v, want %+v", i, g, w)
		}
	}
}

func TestServer_insertArrowParties(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, e, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "party_id", Type: arrow.BinaryTypes.String},
		{Name: "birth_date", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "address_lines", Type: arrow.ListOf(arrow.BinaryTypes.String), Nullable: true},
		{Name: "ingested_at", Type: &arrow.TimestampType{Unit: arrow.Second}},
	}, nil)
	rec := jsonRecord(t, schema, `[
		{"customer_id": "c1", "party_id": "p1", "birth_date": "1984-02-29", "address_lines": ["1 High Street", "Flat 2"], "ingested_at": 1700000000},
		{"customer_id": "c1", "party_id": "p2", "birth_date": null, "address_lines": null, "ingested_at": 1700000000}
	]`)
	if err := e.InsertArrow(ctx, "parties", rec); err != nil {
		t.Fatalf("InsertArrow: %v", err)
	}

	rows, err := e.Query(ctx, `SELECT party_id, ifNull(toString(birth_date), 'NULL'), arrayStringConcat(address_lines, '|')
		FROM parties FINAL WHERE customer_id = {customer:String} ORDER BY party_id`, store.P("customer", "c1"))
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var id, birth, address string
		if err := rows.Scan(&id, &birth, &address); err != nil {
			t.Fatalf("Scan: %v", err)
		}
		got = append(got, id+" "+birth+" "+address)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("rows: %v", err)
	}
	want := []string{"p1 1984-02-29 1 High Street|Flat 2", "p2 NULL "}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("rows = %q, want %q", got, want)
	}
}

func TestServer_insertArrowRejected(t *testing.T) {
	e := openServer(t)
	ctx := context.Background()
	if err := store.Migrate(ctx, e, slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("Migrate: %v", err)
	}

	tests := []struct {
		name   string
		schema *arrow.Schema
		rows   string
		want   string
	}{
		{"unknown column", arrow.NewSchema([]arrow.Field{{Name: "no_such_column", Type: arrow.BinaryTypes.String}}, nil),
			`[{"no_such_column": "x"}]`, "no_such_column"},
		{"decimal scale", arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: arrow.BinaryTypes.String},
			{Name: "amount", Type: &arrow.Decimal128Type{Precision: 38, Scale: 6}},
		}, nil), `[{"customer_id": "c9", "amount": "1.000001"}]`, "column amount row 0: value has more than 5 decimal places"},
		{"width mismatch", arrow.NewSchema([]arrow.Field{
			{Name: "customer_id", Type: arrow.BinaryTypes.String},
			{Name: "amount", Type: arrow.PrimitiveTypes.Float64},
		}, nil), `[{"customer_id": "c9", "amount": 1.5}]`, "column amount (Arrow float64 to ClickHouse Decimal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.InsertArrow(ctx, "transactions", jsonRecord(t, tt.schema, tt.rows))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("InsertArrow error = %v, want one containing %q", err, tt.want)
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error %q wraps ErrUnavailable", err)
			}
		})
	}

	// A rejected batch stores nothing, and the engine still works.
	rows, err := e.Query(ctx, "SELECT toUInt64(count()) FROM transactions")
	if err != nil {
		t.Fatalf("Query: %v", err)
	}
	defer rows.Close()
	var count uint64
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	if err := rows.Scan(&count); err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if count != 0 {
		t.Errorf("transactions has %d rows after rejected inserts, want 0", count)
	}
}
