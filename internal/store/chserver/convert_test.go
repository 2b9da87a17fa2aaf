package chserver

import (
	"bytes"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/shopspring/decimal"
)

var (
	london      = &arrow.TimestampType{Unit: arrow.Millisecond, TimeZone: "Europe/London"}
	stringDict  = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}
	stringList  = arrow.ListOf(arrow.BinaryTypes.String)
	largeList   = arrow.LargeListOf(arrow.BinaryTypes.LargeString)
	decimal64x5 = &arrow.Decimal64Type{Precision: 18, Scale: 5}
)

// arrowArray builds an Arrow array from its JSON form, as array.FromJSON
// reads it, and releases it when the test ends.
func arrowArray(t *testing.T, mem memory.Allocator, dt arrow.DataType, values string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(mem, dt, strings.NewReader(values))
	if err != nil {
		t.Fatalf("build Arrow %s from %s: %v", dt, values, err)
	}
	t.Cleanup(arr.Release)
	return arr
}

// roundTrip appends values to a clickhouse-go column of chType, encodes the
// column in the native format as the driver sends it in an INSERT block and
// decodes it into a fresh column, as the server would read it.
func roundTrip(t *testing.T, chType string, rows int, values any) column.Interface {
	t.Helper()
	sc := &column.ServerContext{Timezone: time.UTC}
	col, err := column.Type(chType).Column("c", sc)
	if err != nil {
		t.Fatalf("create %s column: %v", chType, err)
	}
	if _, err := col.Append(values); err != nil {
		t.Fatalf("append %T to %s: %v", values, chType, err)
	}
	if col.Rows() != rows {
		t.Fatalf("%s column has %d rows after append, want %d", chType, col.Rows(), rows)
	}

	var buf chproto.Buffer
	if s, ok := col.(column.CustomSerialization); ok {
		if err := s.WriteStatePrefix(&buf); err != nil {
			t.Fatalf("write state prefix of %s: %v", chType, err)
		}
	}
	col.Encode(&buf)

	decoded, err := column.Type(chType).Column("c", sc)
	if err != nil {
		t.Fatalf("create %s column: %v", chType, err)
	}
	reader := chproto.NewReader(bytes.NewReader(buf.Buf))
	if s, ok := decoded.(column.CustomSerialization); ok {
		if err := s.ReadStatePrefix(reader); err != nil {
			t.Fatalf("read state prefix of %s: %v", chType, err)
		}
	}
	if err := decoded.Decode(reader, rows); err != nil {
		t.Fatalf("decode %s column: %v", chType, err)
	}
	return decoded
}

// render formats a value read back from a clickhouse-go column: NULL for
// null, times in UTC as RFC 3339, decimals in canonical form.
func render(v any) string {
	if v == nil {
		return "NULL"
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Pointer {
		if rv.IsNil() {
			return "NULL"
		}
		return render(rv.Elem().Interface())
	}

	switch x := v.(type) {
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case decimal.Decimal:
		return x.String()
	}
	if rv.Kind() == reflect.Slice {
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = render(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, " ") + "]"
	}
	return fmt.Sprint(v)
}

func TestColumnValues_stored(t *testing.T) {
	tests := []struct {
		name   string
		dt     arrow.DataType
		values string
		chType string
		goType string
		want   []string
	}{
		{"string", arrow.BinaryTypes.String, `["a", "", "Zoë"]`, "String", "[]string", []string{"a", "", "Zoë"}},
		{"string null to default", arrow.BinaryTypes.String, `["a", null]`, "String", "[]string", []string{"a", ""}},
		{"string null to Nullable", arrow.BinaryTypes.String, `["a", null]`, "Nullable(String)", "[]*string", []string{"a", "NULL"}},
		{"large string", arrow.BinaryTypes.LargeString, `["GBP", "EUR", "GBP"]`, "LowCardinality(String)", "[]string", []string{"GBP", "EUR", "GBP"}},
		{"string view", arrow.BinaryTypes.StringView, `["short", "a string longer than twelve bytes", null]`, "String", "[]string", []string{"short", "a string longer than twelve bytes", ""}},
		{"dictionary", stringDict, `["booked", "pending", "booked"]`, "LowCardinality(String)", "[]string", []string{"booked", "pending", "booked"}},
		{"dictionary null to Nullable", stringDict, `["booked", null]`, "LowCardinality(Nullable(String))", "[]*string", []string{"booked", "NULL"}},

		{"int8", arrow.PrimitiveTypes.Int8, `[-128, 0, 127]`, "Int8", "[]int8", []string{"-128", "0", "127"}},
		{"int16", arrow.PrimitiveTypes.Int16, `[-32768, 32767]`, "Int16", "[]int16", []string{"-32768", "32767"}},
		{"int32", arrow.PrimitiveTypes.Int32, `[-2147483648, 2147483647]`, "Int32", "[]int32", []string{"-2147483648", "2147483647"}},
		{"int64", arrow.PrimitiveTypes.Int64, `[-9223372036854775808, 9223372036854775807]`, "Int64", "[]int64", []string{"-9223372036854775808", "9223372036854775807"}},
		{"int64 null to default", arrow.PrimitiveTypes.Int64, `[7, null, -7]`, "Int64", "[]int64", []string{"7", "0", "-7"}},
		{"int64 null to Nullable", arrow.PrimitiveTypes.Int64, `[7, null]`, "Nullable(Int64)", "[]*int64", []string{"7", "NULL"}},
		{"uint8", arrow.PrimitiveTypes.Uint8, `[0, 255]`, "UInt8", "[]uint8", []string{"0", "255"}},
		{"uint16", arrow.PrimitiveTypes.Uint16, `[0, 65535]`, "UInt16", "[]uint16", []string{"0", "65535"}},
		{"uint32", arrow.PrimitiveTypes.Uint32, `[0, 4294967295]`, "UInt32", "[]uint32", []string{"0", "4294967295"}},
		{"uint64", arrow.PrimitiveTypes.Uint64, `[0, 18446744073709551615]`, "UInt64", "[]uint64", []string{"0", "18446744073709551615"}},
		{"uint32 null to Nullable", arrow.PrimitiveTypes.Uint32, `[null, 3]`, "Nullable(UInt32)", "[]*uint32", []string{"NULL", "3"}},
		{"float32", arrow.PrimitiveTypes.Float32, `[1.5, -0.25]`, "Float32", "[]float32", []string{"1.5", "-0.25"}},
		{"float64", arrow.PrimitiveTypes.Float64, `[0.1, null]`, "Float64", "[]float64", []string{"0.1", "0"}},
		{"float64 null to Nullable", arrow.PrimitiveTypes.Float64, `[0.1, null]`, "Nullable(Float64)", "[]*float64", []string{"0.1", "NULL"}},

		{"bool", arrow.FixedWidthTypes.Boolean, `[true, false, null]`, "Bool", "[]bool", []string{"true", "false", "false"}},
		// clickhouse-go's Bool and Date32 columns report no null flags for
		// a []T, so a Nullable column must always get a []*T.
		{"bool to Nullable", arrow.FixedWidthTypes.Boolean, `[true, false]`, "Nullable(Bool)", "[]*bool", []string{"true", "false"}},
		{"bool null to Nullable", arrow.FixedWidthTypes.Boolean, `[true, null, false]`, "Nullable(Bool)", "[]*bool", []string{"true", "NULL", "false"}},

		// 2024-06-30T23:00:00Z is 1 July 00:00 in London (BST). The zone is
		// display metadata, so the stored instant is the same.
		{"timestamp ms London", london, `["2024-06-30T23:00:00Z", 1719788400123]`, "DateTime64(3, 'UTC')", "[]time.Time", []string{"2024-06-30T23:00:00Z", "2024-06-30T23:00:00.123Z"}},
		{"timestamp s", &arrow.TimestampType{Unit: arrow.Second}, `[0, 1719788400]`, "DateTime64(3, 'UTC')", "[]time.Time", []string{"1970-01-01T00:00:00Z", "2024-06-30T23:00:00Z"}},
		{"timestamp us", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}, `[1719788400123456]`, "DateTime64(6, 'UTC')", "[]time.Time", []string{"2024-06-30T23:00:00.123456Z"}},
		{"timestamp ns", &arrow.TimestampType{Unit: arrow.Nanosecond, TimeZone: "+01:00"}, `[1719788400123456789]`, "DateTime64(9, 'UTC')", "[]time.Time", []string{"2024-06-30T23:00:00.123456789Z"}},
		{"timestamp before 1970", &arrow.TimestampType{Unit: arrow.Millisecond}, `[-86400000]`, "DateTime64(3, 'UTC')", "[]time.Time", []string{"1969-12-31T00:00:00Z"}},
		{"timestamp null to default", london, `[null, "2024-01-02T03:04:05Z"]`, "DateTime64(3, 'UTC')", "[]time.Time", []string{"1970-01-01T00:00:00Z", "2024-01-02T03:04:05Z"}},
		{"timestamp null to Nullable", london, `[null, "2024-01-02T03:04:05Z"]`, "Nullable(DateTime64(3, 'UTC'))", "[]*time.Time", []string{"NULL", "2024-01-02T03:04:05Z"}},
		{"date32", arrow.FixedWidthTypes.Date32, `["2000-02-29", "1950-06-15", "2024-12-31"]`, "Date32", "[]time.Time", []string{"2000-02-29T00:00:00Z", "1950-06-15T00:00:00Z", "2024-12-31T00:00:00Z"}},
		{"date32 null to default", arrow.FixedWidthTypes.Date32, `[null, "2000-02-29"]`, "Date32", "[]time.Time", []string{"1970-01-01T00:00:00Z", "2000-02-29T00:00:00Z"}},
		{"date32 null to Nullable", arrow.FixedWidthTypes.Date32, `["1984-02-29", null]`, "Nullable(Date32)", "[]*time.Time", []string{"1984-02-29T00:00:00Z", "NULL"}},
		{"date32 to Nullable", arrow.FixedWidthTypes.Date32, `["1984-02-29", "2001-01-01"]`, "Nullable(Date32)", "[]*time.Time", []string{"1984-02-29T00:00:00Z", "2001-01-01T00:00:00Z"}},
		{"date64", arrow.FixedWidthTypes.Date64, `["2024-03-31", null]`, "Date", "[]time.Time", []string{"2024-03-31T00:00:00Z", "1970-01-01T00:00:00Z"}},

		{"decimal64", decimal64x5, `["12.345", "-0.00001", "9999999999999.99999"]`, "Decimal(18, 5)", "[]decimal.Decimal", []string{"12.345", "-0.00001", "9999999999999.99999"}},
		{"decimal64 null to default", decimal64x5, `[null, "1"]`, "Decimal(18, 5)", "[]decimal.Decimal", []string{"0", "1"}},
		{"decimal64 null to Nullable", decimal64x5, `[null, "1"]`, "Nullable(Decimal(18, 5))", "[]*decimal.Decimal", []string{"NULL", "1"}},
		{"decimal128", &arrow.Decimal128Type{Precision: 38, Scale: 5}, `["-1234567890123.12345", "0.5"]`, "Decimal(18, 5)", "[]decimal.Decimal", []string{"-1234567890123.12345", "0.5"}},
		{"decimal128 smaller scale", &arrow.Decimal128Type{Precision: 10, Scale: 2}, `["12.34", "-0.01"]`, "Decimal(18, 5)", "[]decimal.Decimal", []string{"12.34", "-0.01"}},
		{"decimal128 larger scale exact", &arrow.Decimal128Type{Precision: 38, Scale: 10}, `["12.3400000000"]`, "Decimal(18, 5)", "[]decimal.Decimal", []string{"12.34"}},
		{"decimal32", &arrow.Decimal32Type{Precision: 9, Scale: 2}, `["1234567.89", "-0.01"]`, "Decimal(9, 2)", "[]decimal.Decimal", []string{"1234567.89", "-0.01"}},
		{"decimal256", &arrow.Decimal256Type{Precision: 76, Scale: 10}, `["123456789012345678901234567.0123456789"]`, "Decimal(38, 10)", "[]decimal.Decimal", []string{"123456789012345678901234567.0123456789"}},

		{"list", stringList, `[["1 High St", "Flat 2"], [], null]`, "Array(String)", "[][]string", []string{"[1 High St Flat 2]", "[]", "[]"}},
		{"list null element to default", stringList, `[["a", null, "b"]]`, "Array(String)", "[][]string", []string{"[a  b]"}},
		{"list to LowCardinality", stringList, `[["age_over_18", "funds"], ["age_over_18"]]`, "Array(LowCardinality(String))", "[][]string", []string{"[age_over_18 funds]", "[age_over_18]"}},
		{"large list null element to Nullable", largeList, `[["a", null], null]`, "Array(Nullable(String))", "[][]*string", []string{"[a NULL]", "[]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			arr := arrowArray(t, mem, tt.dt, tt.values)
			defer arr.Release()

			values, err := columnValues("c", arr, tt.chType)
			if err != nil {
				t.Fatalf("columnValues: %v", err)
			}
			if got := reflect.TypeOf(values).String(); got != tt.goType {
				t.Errorf("Go type = %s, want %s", got, tt.goType)
			}

			col := roundTrip(t, tt.chType, arr.Len(), values)
			got := make([]string, col.Rows())
			for i := range got {
				got[i] = render(col.Row(i, false))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}

func TestColumnValues_slicedArray(t *testing.T) {
	// A record sliced by NewSlice shares buffers with an offset. Values and
	// nulls must come from the slice's own rows.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	tests := []struct {
		name   string
		dt     arrow.DataType
		values string
		chType string
		want   []string
	}{
		{"int64", arrow.PrimitiveTypes.Int64, `[1, 2, null, 4]`, "Nullable(Int64)", []string{"2", "NULL"}},
		{"int64 no nulls", arrow.PrimitiveTypes.Int64, `[1, 2, 3, 4]`, "Int64", []string{"2", "3"}},
		{"string", arrow.BinaryTypes.String, `["a", "b", null, "d"]`, "Nullable(String)", []string{"b", "NULL"}},
		{"list", stringList, `[["a"], ["b", "c"], null, ["d"]]`, "Array(String)", []string{"[b c]", "[]"}},
		{"decimal", decimal64x5, `["1", "2.5", null, "4"]`, "Nullable(Decimal(18, 5))", []string{"2.5", "NULL"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arr := arrowArray(t, mem, tt.dt, tt.values)
			slice := array.NewSlice(arr, 1, 3)
			defer slice.Release()

			values, err := columnValues("c", slice, tt.chType)
			if err != nil {
				t.Fatalf("columnValues: %v", err)
			}
			col := roundTrip(t, tt.chType, slice.Len(), values)
			got := make([]string, col.Rows())
			for i := range got {
				got[i] = render(col.Row(i, false))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("stored %q, want %q", got, tt.want)
			}
		})
	}
}

func TestColumnValues_errors(t *testing.T) {
	tests := []struct {
		name     string
		dt       arrow.DataType
		values   string
		chType   string
		want     []string // substrings of the error
		notWants []string // values that must not appear in the error
	}{
		{"decimal too many places", &arrow.Decimal128Type{Precision: 38, Scale: 7}, `["1", "1.2345678"]`, "Decimal(18, 5)",
			[]string{"column amount row 1", "more than 5 decimal places"}, []string{"1.2345678"}},
		{"decimal too many digits", &arrow.Decimal128Type{Precision: 38, Scale: 0}, `["10000000000000"]`, "Decimal(18, 5)",
			[]string{"column amount row 0", "more than 13 integer digits"}, []string{"10000000000000"}},
		{"decimal too many digits negative", decimal64x5, `["-99999.5"]`, "Decimal(9, 5)",
			[]string{"column amount row 0", "out of range for Decimal(9, 5)"}, []string{"99999"}},
		{"decimal too many places Nullable", decimal64x5, `[null, "0.12345"]`, "Nullable(Decimal(9, 2))",
			[]string{"column amount row 1", "more than 2 decimal places"}, []string{"0.12345"}},
		{"float16", arrow.FixedWidthTypes.Float16, `[1.5]`, "Float32",
			[]string{"column amount", "Arrow type float16 is not supported"}, nil},
		{"binary", arrow.BinaryTypes.Binary, `["YWJj"]`, "String",
			[]string{"column amount", "Arrow type binary is not supported"}, nil},
		{"list of int64", arrow.ListOf(arrow.PrimitiveTypes.Int64), `[[1]]`, "Array(Int64)",
			[]string{"column amount", "list<item: int64, nullable> is not supported"}, nil},
		{"dictionary of int64", &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.PrimitiveTypes.Int64}, `[1]`, "Int64",
			[]string{"column amount", "is not supported"}, nil},
		{"struct", arrow.StructOf(arrow.Field{Name: "a", Type: arrow.PrimitiveTypes.Int64}), `[{"a": 1}]`, "Tuple(a Int64)",
			[]string{"column amount", "struct<a: int64> is not supported"}, nil},
		{"bad decimal type", decimal64x5, `["1"]`, "Decimal(x, 5)",
			[]string{"column amount", `invalid ClickHouse decimal type "Decimal(x, 5)"`}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			arr := arrowArray(t, mem, tt.dt, tt.values)
			defer arr.Release()

			_, err := columnValues("amount", arr, tt.chType)
			if err == nil {
				t.Fatal("columnValues returned no error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not contain %q", err, want)
				}
			}
			for _, notWant := range tt.notWants {
				if strings.Contains(err.Error(), notWant) {
					t.Errorf("error %q echoes the value %q", err, notWant)
				}
			}
		})
	}
}

func TestColumnValues_widthMismatchRejected(t *testing.T) {
	// The conversion keeps the Arrow width, and clickhouse-go rejects a
	// slice of another width instead of silently narrowing or widening it.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	arr := arrowArray(t, mem, arrow.PrimitiveTypes.Int32, `[1, 2]`)
	defer arr.Release()

	values, err := columnValues("payments", arr, "Int64")
	if err != nil {
		t.Fatalf("columnValues: %v", err)
	}
	col, err := column.Type("Int64").Column("payments", &column.ServerContext{Timezone: time.UTC})
	if err != nil {
		t.Fatalf("create column: %v", err)
	}
	if _, err := col.Append(values); err == nil {
		t.Error("appending []int32 to an Int64 column returned no error")
	}
}

func TestParseTarget_types(t *testing.T) {
	tests := []struct {
		chType string
		want   target
	}{
		{"String", target{}},
		{"Nullable(String)", target{nullable: true}},
		{"LowCardinality(String)", target{}},
		{"LowCardinality(Nullable(String))", target{nullable: true}},
		{"Array(String)", target{}},
		{"Array(Nullable(String))", target{elemNullable: true}},
		{"Array(LowCardinality(Nullable(String)))", target{elemNullable: true}},
		{"Array(LowCardinality(String))", target{}},
		{"Nullable(DateTime64(3, 'UTC'))", target{nullable: true}},
		{"Decimal(18, 5)", target{decimal: true, precision: 18, scale: 5}},
		{"Decimal(10)", target{decimal: true, precision: 10, scale: 0}},
		{"Nullable(Decimal(38, 10))", target{nullable: true, decimal: true, precision: 38, scale: 10}},
		{"Decimal32(2)", target{decimal: true, precision: 9, scale: 2}},
		{"Decimal64(5)", target{decimal: true, precision: 18, scale: 5}},
		{"Decimal128(10)", target{decimal: true, precision: 38, scale: 10}},
		{"Decimal256(20)", target{decimal: true, precision: 76, scale: 20}},
	}
	for _, tt := range tests {
		t.Run(tt.chType, func(t *testing.T) {
			got, err := parseTarget(tt.chType)
			if err != nil {
				t.Fatalf("parseTarget: %v", err)
			}
			if got != tt.want {
				t.Errorf("parseTarget = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTarget_invalidDecimal(t *testing.T) {
	for _, chType := range []string{"Decimal", "Decimal(18, x)", "Decimal(1, 2, 3)", "Decimal16(2)", "Decimal64(-1)", "Decimal64(5"} {
		t.Run(chType, func(t *testing.T) {
			if _, err := parseTarget(chType); err == nil {
				t.Errorf("parseTarget(%q) returned no error", chType)
			}
		})
	}
}

func TestAppendError_withholdsValues(t *testing.T) {
	sc := &column.ServerContext{Timezone: time.UTC}
	decimalCol, err := column.Type("Decimal(18, 5)").Column("amount", sc)
	if err != nil {
		t.Fatalf("create column: %v", err)
	}

	// A type mismatch names only types, so it is kept.
	_, mismatch := decimalCol.Append([]float64{1.5})
	if mismatch == nil {
		t.Fatal("appending []float64 to Decimal(18, 5) returned no error")
	}
	if got := appendError(mismatch); got != mismatch {
		t.Errorf("appendError(%v) = %v, want the error unchanged", mismatch, got)
	}

	// A parse failure quotes the value, so it is replaced.
	_, parse := decimalCol.Append([]string{"1234.5x"})
	if parse == nil || !strings.Contains(parse.Error(), "1234.5x") {
		t.Fatalf("driver error = %v; this test expects clickhouse-go to quote the value", parse)
	}
	if got := appendError(parse); strings.Contains(got.Error(), "1234.5x") {
		t.Errorf("appendError kept the value: %v", got)
	}
}
