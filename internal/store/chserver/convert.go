package chserver

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/shopspring/decimal"
)

// epoch is the default of ClickHouse's Date, Date32, DateTime and DateTime64
// columns, stored for a null sent to a column that is not Nullable.
var epoch = time.Unix(0, 0).UTC()

// target describes the ClickHouse column a converted Arrow column goes to.
type target struct {
	nullable     bool // Nullable(T) or LowCardinality(Nullable(T))
	elemNullable bool // Array(Nullable(T)) or Array(LowCardinality(Nullable(T)))
	decimal      bool // Decimal of any width, possibly Nullable
	precision    int32
	scale        int32
}

// parseTarget reads the parts of a ClickHouse type name, as the server
// reports it for an INSERT ("Nullable(Decimal(18, 5))"), that decide how a
// column is converted.
func parseTarget(chType string) (target, error) {
	var t target
	base, nullable := unwrapNullable(chType)
	t.nullable = nullable
	if elem, ok := unwrap(base, "Array"); ok {
		_, t.elemNullable = unwrapNullable(elem)
	}

	if strings.HasPrefix(base, "Decimal") {
		precision, scale, err := parseDecimal(base)
		if err != nil {
			return target{}, err
		}
		t.decimal, t.precision, t.scale = true, precision, scale
	}
	return t, nil
}

// unwrap returns the argument of wrapper(...) and true, or chType and false
// when chType is not of that form.
func unwrap(chType, wrapper string) (string, bool) {
	if strings.HasPrefix(chType, wrapper+"(") && strings.HasSuffix(chType, ")") {
		return chType[len(wrapper)+1 : len(chType)-1], true
	}
	return chType, false
}

// unwrapNullable strips LowCardinality and Nullable from chType and reports
// whether it accepts NULL.
func unwrapNullable(chType string) (string, bool) {
	base, _ := unwrap(chType, "LowCardinality")
	base, nullable := unwrap(base, "Nullable")
	return base, nullable
}

// parseDecimal returns the precision and scale of Decimal(P, S), Decimal(P)
// and DecimalN(S). ClickHouse fixes the precision of DecimalN(S) at 9, 18, 38
// and 76 digits for N = 32, 64, 128 and 256.
func parseDecimal(chType string) (precision, scale int32, err error) {
	widths := map[string]int32{"Decimal32": 9, "Decimal64": 18, "Decimal128": 38, "Decimal256": 76}
	name, args, ok := strings.Cut(chType, "(")
	if !ok || !strings.HasSuffix(args, ")") {
		return 0, 0, fmt.Errorf("invalid ClickHouse decimal type %q: want Decimal(P, S) or DecimalN(S)", chType)
	}
	parts := strings.Split(strings.TrimSuffix(args, ")"), ",")
	numbers := make([]int32, len(parts))
	for i, part := range parts {
		n, err := strconv.ParseInt(strings.TrimSpace(part), 10, 32)
		if err != nil || n < 0 {
			return 0, 0, fmt.Errorf("invalid ClickHouse decimal type %q: want Decimal(P, S) or DecimalN(S)", chType)
		}
		numbers[i] = int32(n)
	}

	switch {
	case name == "Decimal" && len(numbers) == 2:
		return numbers[0], numbers[1], nil
	case name == "Decimal" && len(numbers) == 1:
		return numbers[0], 0, nil
	case widths[name] > 0 && len(numbers) == 1:
		return widths[name], numbers[0], nil
	}
	return 0, 0, fmt.Errorf("invalid ClickHouse decimal type %q: want Decimal(P, S) or DecimalN(S)", chType)
}

// checkArrowType reports an error when columnValues cannot convert Arrow
// type dt, so a record is rejected before a connection is taken.
func checkArrowType(name string, dt arrow.DataType) error {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW,
		arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64,
		arrow.FLOAT32, arrow.FLOAT64, arrow.BOOL,
		arrow.TIMESTAMP, arrow.DATE32, arrow.DATE64,
		arrow.DECIMAL32, arrow.DECIMAL64, arrow.DECIMAL128, arrow.DECIMAL256:
		return nil
	case arrow.DICTIONARY:
		if isStringType(dt.(*arrow.DictionaryType).ValueType) {
			return nil
		}
	case arrow.LIST, arrow.LARGE_LIST:
		if isStringType(dt.(arrow.ListLikeType).Elem()) {
			return nil
		}
	}
	return fmt.Errorf("column %s: Arrow type %s is not supported (supported: string, integer, float, bool, timestamp, date, decimal, dictionary of strings, list of strings)", name, dt)
}

func isStringType(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return true
	}
	return false
}

// columnValues converts the Arrow column name to the slice clickhouse-go
// appends to a column of ClickHouse type chType: []T for a column that is
// not Nullable and []*T, nil for null, for a Nullable one.
//
// A null sent to a column that is not Nullable becomes the column's default
// (0, "", false, 1970-01-01, empty array), as ClickHouse stores a NULL read
// from an input format under its default input_format_null_as_default = 1.
// A null list always becomes an empty array, because
// ClickHouse has no Nullable(Array).
//
// Timestamps of any unit become time.Time in UTC: an Arrow timestamp counts
// from the Unix epoch in UTC whatever its time zone, which only sets how it
// is displayed. Dates become midnight UTC. Decimals become decimal.Decimal at
// the Arrow field's scale, and a value the target Decimal(P, S) cannot hold
// exactly (more than S decimal places, or more than P-S integer digits) is
// rejected instead of being cut.
func columnValues(name string, arr arrow.Array, chType string) (any, error) {
	if err := checkArrowType(name, arr.DataType()); err != nil {
		return nil, err
	}
	t, err := parseTarget(chType)
	if err != nil {
		return nil, fmt.Errorf("column %s: %w", name, err)
	}

	switch a := arr.(type) {
	case array.StringLike:
		return fill(a, t.nullable, "", func(i int) (string, error) { return a.Value(i), nil })
	case *array.Dictionary:
		dict := a.Dictionary().(array.StringLike)
		return fill(a, t.nullable, "", func(i int) (string, error) { return dict.Value(a.GetValueIndex(i)), nil })
	case *array.Int8:
		return numbers(a, t.nullable, a.Int8Values())
	case *array.Int16:
		return numbers(a, t.nullable, a.Int16Values())
	case *array.Int32:
		return numbers(a, t.nullable, a.Int32Values())
	case *array.Int64:
		return numbers(a, t.nullable, a.Int64Values())
	case *array.Uint8:
		return numbers(a, t.nullable, a.Uint8Values())
	case *array.Uint16:
		return numbers(a, t.nullable, a.Uint16Values())
	case *array.Uint32:
		return numbers(a, t.nullable, a.Uint32Values())
	case *array.Uint64:
		return numbers(a, t.nullable, a.Uint64Values())
	case *array.Float32:
		return numbers(a, t.nullable, a.Float32Values())
	case *array.Float64:
		return numbers(a, t.nullable, a.Float64Values())
	case *array.Boolean:
		return fill(a, t.nullable, false, func(i int) (bool, error) { return a.Value(i), nil })
	case *array.Timestamp:
		// NOTE: instants outside years 1900 to 2299 are not rejected here.
		// ClickHouse releases before mid-2026 clamp such DateTime64 values to
		// the range boundary without an error.
		unit := a.DataType().(*arrow.TimestampType).Unit
		return fill(a, t.nullable, epoch, func(i int) (time.Time, error) { return a.Value(i).ToTime(unit), nil })
	case *array.Date32:
		return fill(a, t.nullable, epoch, func(i int) (time.Time, error) { return a.Value(i).ToTime(), nil })
	case *array.Date64:
		return fill(a, t.nullable, epoch, func(i int) (time.Time, error) { return a.Value(i).ToTime(), nil })
	case *array.Decimal32:
		return decimals(name, a, t, func(i int) decimal.Decimal { return decimal.New(int64(a.Value(i)), -scaleOf(a)) })
	case *array.Decimal64:
		return decimals(name, a, t, func(i int) decimal.Decimal { return decimal.New(int64(a.Value(i)), -scaleOf(a)) })
	case *array.Decimal128:
		return decimals(name, a, t, func(i int) decimal.Decimal { return decimal.NewFromBigInt(a.Value(i).BigInt(), -scaleOf(a)) })
	case *array.Decimal256:
		return decimals(name, a, t, func(i int) decimal.Decimal { return decimal.NewFromBigInt(a.Value(i).BigInt(), -scaleOf(a)) })
	case array.ListLike:
		return stringLists(name, a, t)
	}
	return nil, fmt.Errorf("column %s: Arrow array %T is not supported", name, arr)
}

// fill builds the column slice from value, called for each non-null row.
// Nulls contain def in a []T and nil in a []*T.
func fill[T any](arr arrow.Array, nullable bool, def T, value func(i int) (T, error)) (any, error) {
	n := arr.Len()
	values := make([]T, n)
	for i := range n {
		if arr.IsNull(i) {
			values[i] = def
			continue
		}
		v, err := value(i)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}
	if !nullable {
		return values, nil
	}

	pointers := make([]*T, n)
	for i := range n {
		if arr.IsValid(i) {
			pointers[i] = &values[i]
		}
	}
	return pointers, nil
}

// numbers converts a numeric column. Without nulls and for a column that is
// not Nullable, the Arrow buffer goes to the driver as it is: the driver
// copies it into its own block.
func numbers[T int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](arr arrow.Array, nullable bool, raw []T) (any, error) {
	if !nullable && arr.NullN() == 0 {
		return raw, nil
	}
	return fill(arr, nullable, 0, func(i int) (T, error) { return raw[i], nil })
}

func scaleOf(arr arrow.Array) int32 {
	return arr.DataType().(arrow.DecimalType).GetScale()
}

// decimals converts a decimal column and checks each value against the
// target's precision and scale, because clickhouse-go would drop extra
// decimal places without an error. Errors give the row, never the value.
func decimals(name string, arr arrow.Array, t target, value func(i int) decimal.Decimal) (any, error) {
	var limit decimal.Decimal
	if t.decimal {
		limit = decimal.New(1, t.precision-t.scale) // 10^(P-S), the first value out of range
	}

	return fill(arr, t.nullable, decimal.Zero, func(i int) (decimal.Decimal, error) {
		d := value(i)
		if !t.decimal {
			return d, nil
		}
		if !d.Equal(d.Truncate(t.scale)) {
			return decimal.Zero, fmt.Errorf("column %s row %d: value has more than %d decimal places, the scale of Decimal(%d, %d)", name, i, t.scale, t.precision, t.scale)
		}
		if d.Abs().Cmp(limit) >= 0 {
			return decimal.Zero, fmt.Errorf("column %s row %d: value has more than %d integer digits, out of range for Decimal(%d, %d)", name, i, t.precision-t.scale, t.precision, t.scale)
		}
		return d, nil
	})
}

// stringLists converts a list of strings to [][]string, or to [][]*string
// when the array's elements are Nullable. A null element sent to elements
// that are not Nullable becomes "".
func stringLists(name string, arr array.ListLike, t target) (any, error) {
	elems, ok := arr.ListValues().(array.StringLike)
	if !ok {
		return nil, fmt.Errorf("column %s: Arrow type %s is not supported; lists must contain strings", name, arr.DataType())
	}

	if t.elemNullable {
		return fill(arr, false, nil, func(i int) ([]*string, error) {
			start, end := arr.ValueOffsets(i)
			list := make([]*string, 0, end-start)
			for j := start; j < end; j++ {
				if elems.IsNull(int(j)) {
					list = append(list, nil)
					continue
				}
				s := elems.Value(int(j))
				list = append(list, &s)
			}
			return list, nil
		})
	}
	return fill(arr, false, nil, func(i int) ([]string, error) {
		start, end := arr.ValueOffsets(i)
		list := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			if elems.IsNull(int(j)) {
				list = append(list, "")
				continue
			}
			list = append(list, elems.Value(int(j)))
		}
		return list, nil
	})
}
