package chdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestEngine_insertArrowTypes inserts a batch of every column type that
// ingest and derive send, nulls, empty values and extremes included, and
// reads each value back.
func TestEngine_insertArrowTypes(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, t.TempDir())
	defer e.Close()
	if err := e.Exec(ctx, `CREATE TABLE rb (
    s String, lc LowCardinality(String), b Bool, u32 UInt32, u64 UInt64, i64 Int64, f Float64,
    d Date32, nd Nullable(Date32), amount Decimal64(5), at DateTime64(3, 'UTC'),
    nat Nullable(DateTime64(3, 'UTC')), tags Array(String))
ENGINE = MergeTree ORDER BY s`); err != nil {
		t.Fatalf("create: %v", err)
	}

	amount := &arrow.Decimal64Type{Precision: 18, Scale: 5}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.BinaryTypes.String},
		{Name: "lc", Type: arrow.BinaryTypes.String},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "u32", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "u64", Type: arrow.PrimitiveTypes.Uint64},
		{Name: "i64", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
		{Name: "d", Type: arrow.FixedWidthTypes.Date32},
		{Name: "nd", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "amount", Type: amount},
		{Name: "at", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: "nat", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
		{Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	bld.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b", "c"}, nil)
	bld.Field(1).(*array.StringBuilder).AppendValues([]string{"GBP", "", "云"}, nil)
	bld.Field(2).(*array.BooleanBuilder).AppendValues([]bool{true, false, true}, nil)
	bld.Field(3).(*array.Uint32Builder).AppendValues([]uint32{0, 7, 4294967295}, nil)
	bld.Field(4).(*array.Uint64Builder).AppendValues([]uint64{1, 18446744073709551615, 0}, nil)
	bld.Field(5).(*array.Int64Builder).AppendValues([]int64{-9223372036854775808, 0, 42}, nil)
	bld.Field(6).(*array.Float64Builder).AppendValues([]float64{0.5, -1e300, 0}, nil)
	bld.Field(7).(*array.Date32Builder).AppendValues([]arrow.Date32{17348, -1, 0}, nil)
	bld.Field(8).(*array.Date32Builder).AppendValues([]arrow.Date32{0, 20000, 0}, []bool{false, true, false})
	bld.Field(9).(*array.Decimal64Builder).AppendValues([]decimal.Decimal64{-1250000, 1, 99999999999}, nil)
	bld.Field(10).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{1498863600123, 0, -1000}, nil)
	bld.Field(11).(*array.TimestampBuilder).AppendValues([]arrow.Timestamp{0, 1, 0}, []bool{false, true, false})
	lb := bld.Field(12).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.StringBuilder)
	lb.Append(true)
	vb.AppendValues([]string{"p", "q r"}, nil)
	lb.Append(true)
	lb.Append(true)
	vb.Append(strings.Repeat("x", 300)) // a length of two varint bytes
	rec := bld.NewRecordBatch()
	defer rec.Release()

	if err := e.InsertArrow(ctx, "rb", rec); err != nil {
		t.Fatalf("insert: %v", err)
	}

	rows, err := e.Query(ctx, `SELECT concatWithSeparator('|', s, lc, toString(b), toString(u32), toString(u64),
    toString(i64), toString(f), toString(d), ifNull(toString(nd), 'null'), toString(amount),
    toString(toUnixTimestamp64Milli(at)), ifNull(toString(toUnixTimestamp64Milli(nat)), 'null'),
    arrayStringConcat(arrayMap(x -> if(length(x) > 10, concat('x*', toString(length(x))), x), tags), ','))
FROM rb ORDER BY s`)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	want := []string{
		"a|GBP|true|0|1|-9223372036854775808|0.5|2017-07-01|null|-12.5|1498863600123|null|p,q r",
		"b||false|7|18446744073709551615|0|-1e300|1969-12-31|2024-10-04|0.00001|0|1|",
		"c|云|true|4294967295|0|42|0|1970-01-01|null|999999.99999|-1000|null|x*300",
	}
	var got []string
	for rows.Next() {
		var row string
		if err := rows.Scan(&row); err != nil {
			t.Fatalf("scan: %v", err)
		}
		got = append(got, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("rows =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestEngine_insertArrowTypeMismatch checks that a column whose values the
// table's type cannot hold fails the whole insert.
func TestEngine_insertArrowTypeMismatch(t *testing.T) {
	ctx := context.Background()
	e := openEngine(t, t.TempDir())
	defer e.Close()
	if err := e.Exec(ctx, `CREATE TABLE rbm (id String, n UInt64) ENGINE = MergeTree ORDER BY id`); err != nil {
		t.Fatalf("create: %v", err)
	}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.BinaryTypes.String},
		{Name: "n", Type: arrow.BinaryTypes.String},
	}, nil)
	bld := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer bld.Release()
	bld.Field(0).(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	bld.Field(1).(*array.StringBuilder).AppendValues([]string{"12", "twelve"}, nil)
	rec := bld.NewRecordBatch()
	defer rec.Release()

	if err := e.InsertArrow(ctx, "rbm", rec); err == nil {
		t.Fatal("insert of \"twelve\" into a UInt64 column succeeded")
	}
	rows, err := e.Query(ctx, "SELECT count() FROM rbm")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	if n != 0 {
		t.Errorf("%d rows stored after a failed insert, want 0", n)
	}
}
