package chdb

import (
	"context"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestAppendNative_sameRowsAsArrow inserts the benchmark's rows as Native
// and through InsertArrow, whole and as a slice that starts inside the
// Arrow buffers, and compares the stored tables, so that the benchmark
// compares two encodings of the same data.
func TestAppendNative_sameRowsAsArrow(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Config{Path: t.TempDir(), Database: "nativetest", Library: DefaultLibrary()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	whole := benchRecord(3000)
	defer whole.Release()
	sliced := whole.NewSlice(1001, 2500)
	defer sliced.Release()

	for _, tc := range []struct {
		name string
		rec  arrow.RecordBatch
	}{{"whole", whole}, {"sliced", sliced}} {
		t.Run(tc.name, func(t *testing.T) {
			native, stream := "native_"+tc.name, "stream_"+tc.name
			for _, table := range []string{native, stream} {
				if err := e.Exec(ctx, strings.Replace(benchTable, "staging_bench", table, 1)); err != nil {
					t.Fatal(err)
				}
			}
			data, ok := appendNative(nil, tc.rec)
			if !ok {
				t.Fatal("the bench record has no Native form")
			}
			query, err := insertQuery(native, tc.rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			if err := e.streamInsert(ctx, query, nativeFormat, data); err != nil {
				t.Fatalf("insert as Native: %v", err)
			}
			if err := e.InsertArrow(ctx, stream, tc.rec); err != nil {
				t.Fatalf("insert as ArrowStream: %v", err)
			}

			var n, differ uint64
			check := "SELECT (SELECT count() FROM " + native + "), (SELECT count() FROM (SELECT * FROM " +
				stream + " EXCEPT SELECT * FROM " + native + "))"
			scanOne(t, e, check, &n, &differ)
			if n != uint64(tc.rec.NumRows()) {
				t.Errorf("Native stored %d rows, want %d", n, tc.rec.NumRows())
			}
			if differ != 0 {
				t.Errorf("%d rows stored from the Arrow stream differ from the Native ones", differ)
			}
		})
	}
}

// TestNativeType_rejectsUnsupported lists Arrow columns that ClickHouse
// has no Native type for here, so appendNative must reject them.
func TestNativeType_rejectsUnsupported(t *testing.T) {
	lists := array.NewListBuilder(memory.DefaultAllocator, arrow.BinaryTypes.String)
	defer lists.Release()
	lists.Append(true)
	lists.ValueBuilder().(*array.StringBuilder).Append("a")
	lists.AppendNull()
	nullList := lists.NewArray()
	defer nullList.Release()

	structs := array.NewStructBuilder(memory.DefaultAllocator, arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}))
	defer structs.Release()
	structs.Append(true)
	structs.FieldBuilder(0).(*array.Int64Builder).Append(1)
	structArray := structs.NewArray()
	defer structArray.Release()

	zoned := array.NewTimestampBuilder(memory.DefaultAllocator, &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "UTC'"})
	defer zoned.Release()
	zoned.Append(0)
	zonedArray := zoned.NewArray()
	defer zonedArray.Release()

	tests := []struct {
		name string
		col  arrow.Array
	}{
		{"list with a null row", nullList},
		{"struct", structArray},
		{"zone with a quote", zonedArray},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if typ, ok := nativeType(tc.col); ok {
				t.Errorf("nativeType(%s) = %q, want no Native type", tc.col.DataType(), typ)
			}
		})
	}
}

func scanOne(t *testing.T, e *Engine, query string, dest ...any) {
	t.Helper()
	rows, err := e.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("%s: no row", query)
	}
	if err := rows.Scan(dest...); err != nil {
		t.Fatal(err)
	}
}
