package chdb_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

// TestQuery_scanStringOfEachType selects one value of each column type the
// binary result decoder knows and scans it into a string, which must read
// as ClickHouse's own toString of the value.
func TestQuery_scanStringOfEachType(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()
	ctx := context.Background()

	values := []string{
		"'text with \"quotes\" and ünïcödé'",
		"toFixedString('ab', 2)",
		"toLowCardinality('low')",
		"toInt8(-8)", "toInt16(-1600)", "toInt32(-320000)", "toInt64(-9223372036854775807)",
		"toUInt8(255)", "toUInt16(65535)", "toUInt32(4294967295)", "toUInt64(18446744073709551615)",
		"toFloat32(1.5)", "toFloat64(-0.25)", "true",
		"toDate('2026-12-04')", "toDate32('1900-01-02')",
		"toDateTime('2026-12-04 10:11:12', 'UTC')",
		"toDateTime64('2026-12-04 10:11:12.345', 3, 'Europe/London')",
		"toDateTime64('1969-12-31 23:59:59.5', 1, 'UTC')",
		"toDecimal32(-1.5, 2)", "toDecimal64(1500, 5)", "toDecimal64(-0.00001, 5)",
		"toDecimal128('-12345678901234567890.123', 3)", "toDecimal256('1.5', 10)",
		"toUUID('61f0c404-5cb3-11e7-907b-a6006ad3dba0')",
		"CAST('b', 'Enum8(\\'a\\' = 1, \\'b\\' = -2)')",
		"toNullable('not null')",
	}
	for _, v := range values {
		t.Run(v, func(t *testing.T) {
			rows, err := e.Query(ctx, "SELECT "+v+", toString("+v+")")
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			var got, want string
			if err := rows.Scan(&got, &want); err != nil {
				t.Fatalf("scan: %v", err)
			}
			if got != want {
				t.Errorf("scanned %q, toString gives %q", got, want)
			}
		})
	}
}

func TestQuery_scanNumbersAndArrays(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	rows, err := e.Query(context.Background(), `SELECT toInt32(-7), toUInt8(200), toUInt32(3), toInt8(4), toFloat32(0.5),
    toLowCardinality('x'), ['a', 'b'], [toNullable('c')], CAST([], 'Array(String)'), toUInt8(1) = 1`)
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("no row: %v", rows.Err())
	}
	var (
		i32, u8asInt int64
		u32, i8      uint64
		f            float64
		lc           string
		arr, nulls   []string
		empty        []string
		cond         bool
	)
	if err := rows.Scan(&i32, &u8asInt, &u32, &i8, &f, &lc, &arr, &nulls, &empty, &cond); err != nil {
		t.Fatalf("scan: %v", err)
	}
	got := fmtRow(i32, u8asInt, u32, i8, f, lc, arr, nulls, len(empty), cond)
	if want := "-7 200 3 4 0.5 x [a b] [c] 0 true"; got != want {
		t.Errorf("row = %q, want %q", got, want)
	}
}

func TestQuery_manyRows(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	rows, err := e.Query(context.Background(),
		"SELECT toUInt64(number), repeat('x', toUInt64(number % 300)) FROM numbers({n:UInt64})", store.P("n", "5000"))
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	n := uint64(0)
	for ; rows.Next(); n++ {
		var got uint64
		var s string
		if err := rows.Scan(&got, &s); err != nil {
			t.Fatalf("row %d: %v", n, err)
		}
		if got != n || s != strings.Repeat("x", int(n%300)) {
			t.Fatalf("row %d = %d, %d bytes", n, got, len(s))
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != 5000 {
		t.Errorf("%d rows, want 5000", n)
	}
}

func TestQuery_scanErrors(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	tests := []struct {
		name, query, want string
		dest              func() any
	}{
		{"null", "SELECT CAST(NULL, 'Nullable(String)')", "NULL value", func() any { return new(string) }},
		{"negative into uint64", "SELECT toInt64(-1)", "negative value -1", func() any { return new(uint64) }},
		{"uint64 overflows int64", "SELECT toUInt64(18446744073709551615)", "overflows int64", func() any { return new(int64) }},
		{"string into int64", "SELECT 'x'", "cannot scan String into *int64", func() any { return new(int64) }},
		{"unsupported destination", "SELECT 1", "unsupported destination *int", func() any { return new(int) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := e.Query(context.Background(), tt.query)
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			defer rows.Close()
			if !rows.Next() {
				t.Fatalf("no row: %v", rows.Err())
			}
			err = rows.Scan(tt.dest())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Scan error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestQuery_unsupportedTypeNamed(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	_, err := e.Query(context.Background(), "SELECT map('a', 1) AS m")
	if err == nil || !strings.Contains(err.Error(), "Map(String, UInt8)") || !strings.Contains(err.Error(), "toString") {
		t.Errorf("error = %v, want one naming the type and the toString fix", err)
	}
}

func TestQuery_noRows(t *testing.T) {
	e := openEngine(t, t.TempDir())
	defer e.Close()

	rows, err := e.Query(context.Background(), "SELECT 1 WHERE 0")
	if err != nil {
		t.Fatalf("query: %v", err)
	}
	defer rows.Close()
	if rows.Next() {
		t.Error("a row from an empty result")
	}
	if err := rows.Err(); err != nil {
		t.Error(err)
	}
}
