package chdb

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// BenchmarkInsertFormat inserts batches of 50,000 rows shaped like the
// staging rows of transactions (24 columns, about 500 bytes of strings a
// row) in three formats: an Arrow stream (what InsertArrow sends),
// RowBinaryWithNamesAndTypes and Native. It reports rows per second and CPU
// time per row, Go encoding and chDB's insert together. The table has no background
// merges, so only the inserts are measured.
func BenchmarkInsertFormat(b *testing.B) {
	ctx := context.Background()
	e, err := Open(ctx, Config{Path: b.TempDir(), Database: "insertbench", Library: DefaultLibrary()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.Exec(ctx, benchTable); err != nil {
		b.Fatal(err)
	}
	const rows = 50000
	rec := benchRecord(rows)
	defer rec.Release()
	query, err := insertQuery("staging_bench", rec.Schema())
	if err != nil {
		b.Fatal(err)
	}
	types, err := e.tableTypes(ctx, "staging_bench")
	if err != nil {
		b.Fatal(err)
	}

	for _, format := range []string{"ArrowStream", rowBinaryFormat, nativeFormat} {
		b.Run(format, func(b *testing.B) {
			cpu := processCPU()
			var buf []byte
			for i := 0; i < b.N; i++ {
				var data []byte
				release := func() {}
				switch format {
				case nativeFormat:
					var ok bool
					if buf, ok = appendNative(buf[:0], rec); !ok {
						b.Fatal("the bench record has no Native form")
					}
					data = buf
				case rowBinaryFormat:
					var ok bool
					if data, release, ok = encodeRowBinary(rec, types); !ok {
						b.Fatal("the bench record has no RowBinary form")
					}
				default:
					var err error
					if buf, err = appendArrowStream(buf[:0], rec); err != nil {
						b.Fatal(err)
					}
					data = buf
				}
				if err := e.streamInsert(ctx, query, format, data); err != nil {
					b.Fatal(err)
				}
				release()
			}
			b.StopTimer()
			n := float64(rows) * float64(b.N)
			b.ReportMetric(n/b.Elapsed().Seconds(), "rows/s")
			b.ReportMetric((processCPU()-cpu).Seconds()*1e6/n, "cpu-µs/row")
			if err := e.Exec(ctx, "TRUNCATE TABLE staging_bench"); err != nil {
				b.Fatal(err)
			}
		})
	}
}

const benchTable = `CREATE TABLE staging_bench
(
    load_id String, seq UInt64, customer_id String, account_id String, transaction_key String,
    transaction_id String, status LowCardinality(String), booking_time DateTime64(3, 'UTC'),
    value_time Nullable(DateTime64(3, 'UTC')), booking_date Date32, amount Decimal64(5),
    currency LowCardinality(String), description String, counterparty String, mcc LowCardinality(String),
    bank_tx_code LowCardinality(String), bank_tx_subcode LowCardinality(String),
    proprietary_code LowCardinality(String), proprietary_issuer LowCardinality(String),
    category LowCardinality(String), category_rule LowCardinality(String), content_hash String,
    source String, ingested_at DateTime64(3, 'UTC')
)
ENGINE = MergeTree PARTITION BY load_id ORDER BY (customer_id, account_id, transaction_key, seq)
SETTINGS max_bytes_to_merge_at_max_space_in_pool = 1, max_bytes_to_merge_at_min_space_in_pool = 1`

// benchRecord returns n rows of generated transactions in the staging
// schema.
func benchRecord(n int) arrow.RecordBatch {
	str := arrow.BinaryTypes.String
	ts := arrow.FixedWidthTypes.Timestamp_ms
	fields := []arrow.Field{{Name: "customer_id", Type: str}, {Name: "account_id", Type: str},
		{Name: "transaction_key", Type: str}, {Name: "transaction_id", Type: str}, {Name: "status", Type: str},
		{Name: "booking_time", Type: ts}, {Name: "value_time", Type: ts, Nullable: true},
		{Name: "booking_date", Type: arrow.FixedWidthTypes.Date32},
		{Name: "amount", Type: &arrow.Decimal64Type{Precision: 18, Scale: 5}}}
	for _, name := range []string{"currency", "description", "counterparty", "mcc", "bank_tx_code", "bank_tx_subcode",
		"proprietary_code", "proprietary_issuer", "category", "category_rule", "content_hash", "source"} {
		fields = append(fields, arrow.Field{Name: name, Type: str})
	}
	fields = append(fields, arrow.Field{Name: "ingested_at", Type: ts}, arrow.Field{Name: "load_id", Type: str},
		arrow.Field{Name: "seq", Type: arrow.PrimitiveTypes.Uint64})
	bld := array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil))
	defer bld.Release()
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for i := range n {
		id := fmt.Sprintf("TX%012d", i)
		s := func(col int, v string) { bld.Field(col).(*array.StringBuilder).Append(v) }
		s(0, "customer-0001")
		s(1, "ACC"+strconv.Itoa(i%5))
		s(2, "id:"+id)
		s(3, id)
		s(4, "booked")
		at := arrow.Timestamp(start + int64(i)*60000)
		bld.Field(5).(*array.TimestampBuilder).Append(at)
		if i%3 == 0 {
			bld.Field(6).(*array.TimestampBuilder).AppendNull()
		} else {
			bld.Field(6).(*array.TimestampBuilder).Append(at)
		}
		bld.Field(7).(*array.Date32Builder).Append(arrow.Date32(20454 + i/1440))
		bld.Field(8).(*array.Decimal64Builder).Append(decimal.Decimal64(-int64(i%100000) * 1000))
		s(9, "GBP")
		s(10, fmt.Sprintf("CARD PAYMENT TO MERCHANT NUMBER %d LONDON GB REF %020d ON %d", i%997, i, i%28+1))
		s(11, fmt.Sprintf("Merchant %d Limited", i%997))
		s(12, "5411")
		s(13, "ReceivedCreditTransfer")
		s(14, "DomesticCreditTransfer")
		s(15, "POS")
		s(16, "OB")
		s(17, "groceries")
		s(18, "mcc:5411")
		s(19, fmt.Sprintf("%064x", i))
		s(20, "/var/lib/insights/incoming/customer-0001/transactions-2026-12.ndjson")
		bld.Field(21).(*array.TimestampBuilder).Append(arrow.Timestamp(start))
		s(22, "0123456789abcdef0123456789abcdef")
		bld.Field(23).(*array.Uint64Builder).Append(uint64(i + 1))
	}
	return bld.NewRecordBatch()
}

func processCPU() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// TestEncodeRowBinary_sameRowsAsArrow inserts the benchmark's rows once
// per format and compares the stored tables, so that the benchmark
// compares two encodings of the same data.
func TestEncodeRowBinary_sameRowsAsArrow(t *testing.T) {
	ctx := context.Background()
	e, err := Open(ctx, Config{Path: t.TempDir(), Database: "encodetest", Library: DefaultLibrary()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	rec := benchRecord(2000)
	defer rec.Release()
	for _, table := range []string{"via_arrow", "via_rowbinary"} {
		if err := e.Exec(ctx, strings.Replace(benchTable, "staging_bench", table, 1)); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.InsertArrow(ctx, "via_arrow", rec); err != nil {
		t.Fatal(err)
	}
	types, err := e.tableTypes(ctx, "via_rowbinary")
	if err != nil {
		t.Fatal(err)
	}
	data, release, ok := encodeRowBinary(rec, types)
	if !ok {
		t.Fatal("no RowBinary form")
	}
	defer release()
	query, err := insertQuery("via_rowbinary", rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.streamInsert(ctx, query, rowBinaryFormat, data); err != nil {
		t.Fatal(err)
	}
	rows, err := e.Query(ctx, `SELECT
    (SELECT count() FROM via_rowbinary),
    (SELECT count() FROM (SELECT * FROM via_arrow EXCEPT SELECT * FROM via_rowbinary))`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n, differ uint64
	if !rows.Next() {
		t.Fatal("no result")
	}
	if err := rows.Scan(&n, &differ); err != nil {
		t.Fatal(err)
	}
	if n != 2000 || differ != 0 {
		t.Errorf("RowBinary stored %d rows, %d of the Arrow rows differ; want 2000 and 0", n, differ)
	}
}
