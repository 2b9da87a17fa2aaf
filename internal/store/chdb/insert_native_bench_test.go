package chdb

// The Native encoder in this file is kept for BenchmarkInsertFormat only.
// InsertArrow sends ArrowStream: in alternating runs on a shared 2-core
// machine Native cost between 0.3 cpu-µs a row less and 0.3 more than
// ArrowStream for the staging rows of transactions, which is no clear win.
// Rerun the benchmark after a chDB upgrade before changing the format.

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// nativeFormat is the input format of appendNative's output: ClickHouse's
// own columnar format. Without a client revision (as chDB reads an insert
// stream) a block is the column count and row count as varints, then per
// column its name, its type name and its values in the type's binary bulk
// form. TestAppendNative_sameRowsAsArrow checks this layout against chDB
// 26.7.
const nativeFormat = "Native"

// littleEndian is true on hosts whose integers are stored little-endian,
// the byte order of Arrow buffers and of the Native format alike. Only
// there are fixed-width Arrow values copied into the Native block as they
// are.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// nativeType returns the ClickHouse type name under which appendColumn
// writes col, and false for a column it cannot write: a dictionary,
// struct, map or other type nativeScalarType lacks, or a list with nulls,
// which ClickHouse has no type for. A column with nulls is written as
// Nullable.
//
// The types are those of the Arrow values, not the table's. chDB converts
// each column to the table's type (input_format_native_allow_types_conversion,
// on by default), so a String column fills a LowCardinality(String) one. A
// value the table's type cannot hold fails the insert, and so does a NULL
// in a column that is not Nullable.
func nativeType(col arrow.Array) (string, bool) {
	if list, ok := col.(*array.List); ok {
		if list.NullN() > 0 {
			return "", false
		}
		values := listValues(list)
		defer values.Release()
		inner, ok := nativeType(values)
		if !ok {
			return "", false
		}
		return "Array(" + inner + ")", true
	}
	name, ok := nativeScalarType(col.DataType())
	if !ok {
		return "", false
	}
	if col.NullN() > 0 {
		name = "Nullable(" + name + ")"
	}
	return name, true
}

// nativeScalarType returns the ClickHouse type of the values of an Arrow
// type other than a list.
func nativeScalarType(dt arrow.DataType) (string, bool) {
	switch t := dt.(type) {
	case *arrow.StringType, *arrow.BinaryType:
		return "String", true
	case *arrow.BooleanType:
		return "Bool", true
	case *arrow.Int8Type:
		return "Int8", true
	case *arrow.Int16Type:
		return "Int16", true
	case *arrow.Int32Type:
		return "Int32", true
	case *arrow.Int64Type:
		return "Int64", true
	case *arrow.Uint8Type:
		return "UInt8", true
	case *arrow.Uint16Type:
		return "UInt16", true
	case *arrow.Uint32Type:
		return "UInt32", true
	case *arrow.Uint64Type:
		return "UInt64", true
	case *arrow.Float32Type:
		return "Float32", true
	case *arrow.Float64Type:
		return "Float64", true
	case *arrow.Date32Type:
		return "Date32", true
	case *arrow.Decimal64Type:
		// Decimal(18, S) is stored as Int64 like an Arrow Decimal64 of any
		// precision, so the values are copied unchanged and chDB checks
		// them against the table's precision.
		return fmt.Sprintf("Decimal(18, %d)", t.Scale), true
	case *arrow.TimestampType:
		digits := map[arrow.TimeUnit]int{arrow.Second: 0, arrow.Millisecond: 3, arrow.Microsecond: 6, arrow.Nanosecond: 9}[t.Unit]
		zone := t.TimeZone
		if zone == "" {
			zone = "UTC"
		}
		if !safeZone(zone) {
			return "", false
		}
		return fmt.Sprintf("DateTime64(%d, '%s')", digits, zone), true
	}
	return "", false
}

// listValues returns the elements of the rows of list, which may be a
// slice of a longer list. The caller releases it.
func listValues(list *array.List) arrow.Array {
	// Offsets is the whole buffer, not only the rows list covers.
	offsets := list.Offsets()
	if len(offsets) == 0 {
		return array.NewSlice(list.ListValues(), 0, 0)
	}
	offsets = offsets[list.Offset() : list.Offset()+list.Len()+1]
	return array.NewSlice(list.ListValues(), int64(offsets[0]), int64(offsets[len(offsets)-1]))
}

// safeZone reports whether zone can be written between single quotes in a
// type name unescaped: IANA zone names use letters, digits, "/", "_", "-"
// and "+".
func safeZone(zone string) bool {
	for _, c := range zone {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '/' || c == '_' || c == '-' || c == '+') {
			return false
		}
	}
	return zone != ""
}

// appendNative appends rec to dst as one Native block and returns false,
// with dst unchanged, when a column has no Native form here (see
// nativeType) or the host is not little-endian.
func appendNative(dst []byte, rec arrow.RecordBatch) ([]byte, bool) {
	if !littleEndian {
		return dst, false
	}
	start := len(dst)
	dst = binary.AppendUvarint(dst, uint64(rec.NumCols()))
	dst = binary.AppendUvarint(dst, uint64(rec.NumRows()))
	for i, col := range rec.Columns() {
		typ, ok := nativeType(col)
		if !ok {
			return dst[:start], false
		}
		dst = appendNativeString(dst, rec.ColumnName(i))
		dst = appendNativeString(dst, typ)
		if dst, ok = appendColumn(dst, col); !ok {
			return dst[:start], false
		}
	}
	return dst, true
}

func appendNativeString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendNullMap writes the null map of a Nullable column: one byte per
// row, 1 for NULL. The values under a NULL are written as well, as the
// Native form requires, and chDB ignores them.
func appendNullMap(dst []byte, col arrow.Array) []byte {
	for i := range col.Len() {
		if col.IsNull(i) {
			dst = append(dst, 1)
		} else {
			dst = append(dst, 0)
		}
	}
	return dst
}

// appendColumn writes col in the binary bulk form of its nativeType: the
// null map first when it has nulls.
func appendColumn(dst []byte, col arrow.Array) ([]byte, bool) {
	if col.NullN() > 0 {
		dst = appendNullMap(dst, col)
	}
	switch c := col.(type) {
	case *array.String:
		offsets := c.ValueOffsets()
		data := c.ValueBytes()
		base := offsets[0]
		for i := range c.Len() {
			v := data[offsets[i]-base : offsets[i+1]-base]
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	case *array.Binary:
		for i := range c.Len() {
			v := c.Value(i)
			dst = binary.AppendUvarint(dst, uint64(len(v)))
			dst = append(dst, v...)
		}
	case *array.Boolean:
		for i := range c.Len() {
			if c.Value(i) {
				dst = append(dst, 1)
			} else {
				dst = append(dst, 0)
			}
		}
	case *array.List:
		// Array(T) is the end offset of each row's elements as UInt64, then
		// the elements of every row as one column of T.
		values := listValues(c)
		defer values.Release()
		end := uint64(0)
		for i := range c.Len() {
			start, stop := c.ValueOffsets(i)
			end += uint64(stop - start)
			dst = binary.LittleEndian.AppendUint64(dst, end)
		}
		return appendColumn(dst, values)
	case *array.Int8:
		dst = append(dst, arrow.Int8Traits.CastToBytes(c.Int8Values())...)
	case *array.Int16:
		dst = append(dst, arrow.Int16Traits.CastToBytes(c.Int16Values())...)
	case *array.Int32:
		dst = append(dst, arrow.Int32Traits.CastToBytes(c.Int32Values())...)
	case *array.Int64:
		dst = append(dst, arrow.Int64Traits.CastToBytes(c.Int64Values())...)
	case *array.Uint8:
		dst = append(dst, c.Uint8Values()...)
	case *array.Uint16:
		dst = append(dst, arrow.Uint16Traits.CastToBytes(c.Uint16Values())...)
	case *array.Uint32:
		dst = append(dst, arrow.Uint32Traits.CastToBytes(c.Uint32Values())...)
	case *array.Uint64:
		dst = append(dst, arrow.Uint64Traits.CastToBytes(c.Uint64Values())...)
	case *array.Float32:
		dst = append(dst, arrow.Float32Traits.CastToBytes(c.Float32Values())...)
	case *array.Float64:
		dst = append(dst, arrow.Float64Traits.CastToBytes(c.Float64Values())...)
	case *array.Date32:
		dst = append(dst, arrow.Date32Traits.CastToBytes(c.Date32Values())...)
	case *array.Decimal64:
		dst = append(dst, arrow.Decimal64Traits.CastToBytes(c.Values())...)
	case *array.Timestamp:
		dst = append(dst, arrow.TimestampTraits.CastToBytes(c.TimestampValues())...)
	default:
		return dst, false
	}
	return dst, true
}
