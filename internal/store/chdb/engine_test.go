package chdb_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal128"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

func openEngine(t *testing.T, dir string) *chdb.Engine {
	t.Helper()
	e, err := chdb.Open(context.Background(), chdb.Config{Path: dir, Database: "enginetest", Library: chdb.DefaultLibrary()})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return e
}

func TestEngine_queryWithParams(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	rows, err := e.Query(context.Background(),
		"SELECT {s:String}, toInt64({n:Int64}) * 2, toUInt64(7), 1.5, true, ['a', {s:String}]",
		store.P("s", "it's \"quoted\""), store.P("n", "-21"))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var (
		s   string
		n   int64
		u   uint64
		f   float64
		b   bool
		arr []string
	)
	if err := rows.Scan(&s, &n, &u, &f, &b, &arr); err != nil {
		t.Fatalf("scan: %v", err)
	}
	if s != `it's "quoted"` || n != -42 || u != 7 || f != 1.5 || !b || len(arr) != 2 || arr[1] != s {
		t.Errorf("got %q %d %d %v %v %q", s, n, u, f, b, arr)
	}
	if rows.Next() {
		t.Error("unexpected second row")
	}
}

func TestEngine_syntaxErrorReported(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	if err := e.Exec(context.Background(), "SELEKT 1"); err == nil {
		t.Fatal("want an error for invalid SQL")
	}
}

func TestEngine_insertArrowPersists(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	e := openEngine(t, dir)
	if err := e.Exec(ctx, `CREATE TABLE t (id String, amount Decimal64(5), at DateTime64(3, 'UTC'), d Date32, ok Bool, note Nullable(String), tags Array(String)) ENGINE = MergeTree ORDER BY id`); err != nil {
		t.Fatalf("create: %v", err)
	}

	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "amount", Type: &arrow.Decimal128Type{Precision: 18, Scale: 5}},
		{Name: "at", Type: &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC"}},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "ok", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "note", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	b.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	b.Field(1).(*array.Decimal128Builder).AppendValues([]decimal128.Num{decimal128.FromI64(-1250000), decimal128.FromI64(1)}, nil)
	b.Field(2).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1498863600000, 0}, nil)
	b.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{17348, 0}, nil)
	b.Field(4).(*array.BooleanBuilder).AppendValues([]bool{true, false}, nil)
	b.Field(5).(*array.StringBuilder).AppendValues([]string{"x", ""}, []bool{true, false})
	lb := b.Field(6).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	lb.Append(true)
	vb.AppendValues([]string{"p", "q"}, nil)
	lb.Append(true)
	rec := b.NewRecordBatch()
	defer rec.Release()

	if err := e.InsertArrow(ctx, "t", rec); err != nil {
		t.Fatalf("insert: %v", err)
	}
	e.Close()

	// Reopen the same directory: the rows must have survived.
	e = openEngine(t, dir)
	defer e.Close()
	rows, err := e.Query(ctx, "SELECT id, toString(amount), toUnixTimestamp64Milli(at), toString(d), ok, ifNull(note, '-'), tags FROM t ORDER BY id")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	want := []string{"a -12.5 1498863600000 2017-07-01 true x [p q]", "b 0.00001 0 1970-01-01 false - []"}
	for i := 0; rows.Next(); i++ {
		var id, amount, d, note string
		var at int64
		var ok bool
		var tags []string
		if err := rows.Scan(&id, &amount, &at, &d, &ok, &note, &tags); err != nil {
			t.Fatalf("scan: %v", err)
		}
		got := fmtRow(id, amount, at, d, ok, note, tags)
		if i >= len(want) || got != want[i] {
			t.Errorf("row %d = %q", i, got)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestEngine_oneMergeAtATime checks the server settings that bound the
// embedded engine's merges to one at a time.
func TestEngine_oneMergeAtATime(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	rows, err := e.Query(context.Background(), `SELECT name, value FROM system.server_settings
WHERE name IN ('background_pool_size', 'background_merges_mutations_concurrency_ratio') ORDER BY name`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			t.Fatal(err)
		}
		got[name] = value
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"background_pool_size": "1", "background_merges_mutations_concurrency_ratio": "1"}
	for name, value := range want {
		if got[name] != value {
			t.Errorf("server setting %s = %q, want %q", name, got[name], value)
		}
	}
}
