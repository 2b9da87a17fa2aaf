package chdb

// The RowBinary encoder in this file is kept for BenchmarkInsertFormat only:
// InsertArrow sends ArrowStream, which chDB parsed with less CPU for the
// staging tables (their LowCardinality and Nullable columns among them).
// Rerun the benchmark after a chDB upgrade before changing the format.

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/openbanking-insights/insights/internal/store"
)

// The encoder writes RowBinaryWithNamesAndTypes with each column's type
// exactly as the table declares it (read from system.columns), which chDB
// checks against the table before it reads a row, so a mismatch fails the
// insert instead of storing misread values.

// rowBinaryFormat is the input format of encodeRowBinary's output.
const rowBinaryFormat = "RowBinaryWithNamesAndTypes"

// columnWriter appends the value of row i of one column.
type columnWriter func(dst []byte, i int) []byte

// rowBinaryBuffers keeps encoded inserts' buffers between calls: a staging
// batch of 50,000 transactions is about 25 MiB.
var rowBinaryBuffers sync.Pool

// tableTypes returns the type of each column of table, by column name.
func (e *Engine) tableTypes(ctx context.Context, table string) (map[string]string, error) {
	rows, err := e.Query(ctx, "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {table:String}",
		store.P("db", e.database), store.P("table", table))
	if err != nil {
		return nil, fmt.Errorf("read column types of %s: %w", table, err)
	}
	defer rows.Close()
	types := make(map[string]string)
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			return nil, fmt.Errorf("read column types of %s: %w", table, err)
		}
		types[name] = typ
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read column types of %s: %w", table, err)
	}
	return types, nil
}

// encodeRowBinary encodes rec as RowBinaryWithNamesAndTypes with the
// column types in types. ok is false when a column is missing from types
// or has values that encodeRowBinary cannot write in its type's binary
// form. The returned
// release puts the buffer back for reuse once the bytes are sent.
func encodeRowBinary(rec arrow.RecordBatch, types map[string]string) (data []byte, release func(), ok bool) {
	fields := rec.Schema().Fields()
	writers := make([]columnWriter, len(fields))
	names := make([]string, len(fields))
	for i, f := range fields {
		typ, found := types[f.Name]
		if !found {
			return nil, nil, false
		}
		w, ok := writerFor(rec.Column(i), typ)
		if !ok {
			return nil, nil, false
		}
		writers[i], names[i] = w, typ
	}

	var buf []byte
	if p, ok := rowBinaryBuffers.Get().(*[]byte); ok {
		buf = (*p)[:0]
	}
	buf = binary.AppendUvarint(buf, uint64(len(fields)))
	for _, f := range fields {
		buf = appendRBString(buf, f.Name)
	}
	for _, t := range names {
		buf = appendRBString(buf, t)
	}
	rows := int(rec.NumRows())
	for r := 0; r < rows; r++ {
		for _, w := range writers {
			buf = w(buf, r)
		}
	}
	release = func() {
		b := buf[:0]
		rowBinaryBuffers.Put(&b)
	}
	return buf, release, true
}

func appendRBString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// unwrap returns the type inside wrapper(...), such as Nullable(String).
func unwrap(typ, wrapper string) (string, bool) {
	if inner, ok := strings.CutPrefix(typ, wrapper+"("); ok && strings.HasSuffix(inner, ")") {
		return inner[:len(inner)-1], true
	}
	return "", false
}

// decimalType matches Decimal(P, S) as system.columns spells Decimal64(S).
var decimalType = regexp.MustCompile(`^Decimal\((\d+), (\d+)\)$`)

// dateTime64Type matches DateTime64(P) and DateTime64(P, 'zone').
var dateTime64Type = regexp.MustCompile(`^DateTime64\((\d)(, '[^']*')?\)$`)

// writerFor returns the writer of col in the binary form of the ClickHouse
// type typ, or false when it has none for that pair.
func writerFor(col arrow.Array, typ string) (columnWriter, bool) {
	return writerOf(col, typ, false)
}

// writerOf is writerFor inside a Nullable type when nullable is true: the
// Nullable writer writes the null flags.
func writerOf(col arrow.Array, typ string, nullable bool) (columnWriter, bool) {
	if inner, ok := unwrap(typ, "LowCardinality"); ok {
		// RowBinary writes LowCardinality(T) as T.
		typ = inner
	}
	if inner, ok := unwrap(typ, "Nullable"); ok {
		w, ok := writerOf(col, inner, true)
		if !ok {
			return nil, false
		}
		return func(dst []byte, i int) []byte {
			if col.IsNull(i) {
				return append(dst, 1)
			}
			return w(append(dst, 0), i)
		}, true
	}
	if col.NullN() > 0 && !nullable {
		return nil, false
	}
	if inner, ok := unwrap(typ, "Array"); ok {
		c, ok := col.(*array.List)
		if !ok {
			return nil, false
		}
		w, ok := writerFor(c.ListValues(), inner)
		if !ok {
			return nil, false
		}
		return func(dst []byte, i int) []byte {
			start, end := c.ValueOffsets(i)
			dst = binary.AppendUvarint(dst, uint64(end-start))
			for j := int(start); j < int(end); j++ {
				dst = w(dst, j)
			}
			return dst
		}, true
	}
	if m := decimalType.FindStringSubmatch(typ); m != nil {
		// Precisions 10 to 18 are stored as Int64, the width of an Arrow
		// Decimal64; the scale must be the Arrow type's.
		c, ok := col.(*array.Decimal64)
		precision, _ := strconv.Atoi(m[1])
		if !ok || precision < 10 || precision > 18 ||
			m[2] != strconv.Itoa(int(c.DataType().(*arrow.Decimal64Type).Scale)) {
			return nil, false
		}
		return func(dst []byte, i int) []byte {
			return binary.LittleEndian.AppendUint64(dst, uint64(int64(c.Value(i))))
		}, true
	}
	if m := dateTime64Type.FindStringSubmatch(typ); m != nil {
		c, ok := col.(*array.Timestamp)
		if !ok {
			return nil, false
		}
		unit := map[string]arrow.TimeUnit{"0": arrow.Second, "3": arrow.Millisecond, "6": arrow.Microsecond, "9": arrow.Nanosecond}
		if u, ok := unit[m[1]]; !ok || u != c.DataType().(*arrow.TimestampType).Unit {
			return nil, false
		}
		return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint64(dst, uint64(c.Value(i))) }, true
	}

	switch c := col.(type) {
	case *array.String:
		if typ == "String" {
			return func(dst []byte, i int) []byte { return appendRBString(dst, c.Value(i)) }, true
		}
	case *array.Binary:
		if typ == "String" {
			return func(dst []byte, i int) []byte {
				v := c.Value(i)
				dst = binary.AppendUvarint(dst, uint64(len(v)))
				return append(dst, v...)
			}, true
		}
	case *array.Boolean:
		if typ == "Bool" || typ == "UInt8" {
			return func(dst []byte, i int) []byte {
				if c.Value(i) {
					return append(dst, 1)
				}
				return append(dst, 0)
			}, true
		}
	case *array.Uint8:
		if typ == "UInt8" {
			return func(dst []byte, i int) []byte { return append(dst, c.Value(i)) }, true
		}
	case *array.Uint16:
		if typ == "UInt16" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint16(dst, c.Value(i)) }, true
		}
	case *array.Uint32:
		if typ == "UInt32" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint32(dst, c.Value(i)) }, true
		}
	case *array.Uint64:
		if typ == "UInt64" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint64(dst, c.Value(i)) }, true
		}
	case *array.Int8:
		if typ == "Int8" {
			return func(dst []byte, i int) []byte { return append(dst, byte(c.Value(i))) }, true
		}
	case *array.Int16:
		if typ == "Int16" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint16(dst, uint16(c.Value(i))) }, true
		}
	case *array.Int32:
		if typ == "Int32" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint32(dst, uint32(c.Value(i))) }, true
		}
	case *array.Int64:
		if typ == "Int64" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint64(dst, uint64(c.Value(i))) }, true
		}
	case *array.Float32:
		if typ == "Float32" {
			return func(dst []byte, i int) []byte {
				return binary.LittleEndian.AppendUint32(dst, math.Float32bits(c.Value(i)))
			}, true
		}
	case *array.Float64:
		if typ == "Float64" {
			return func(dst []byte, i int) []byte {
				return binary.LittleEndian.AppendUint64(dst, math.Float64bits(c.Value(i)))
			}, true
		}
	case *array.Date32:
		if typ == "Date32" {
			return func(dst []byte, i int) []byte { return binary.LittleEndian.AppendUint32(dst, uint32(c.Value(i))) }, true
		}
	}
	return nil, false
}
