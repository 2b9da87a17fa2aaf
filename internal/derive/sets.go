package derive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// setTable is a table that stores derived sets: each derivation writes a
// whole new set for the customer under a new derived_at, and readers take
// the newest set. income_streams and commitments share their columns,
// except the counterparty column's name and commitments' payment_type.
type setTable struct {
	name         string
	counterparty string
	paymentType  bool
}

var (
	incomeTable      = setTable{name: "income_streams", counterparty: "payer"}
	commitmentsTable = setTable{name: "commitments", counterparty: "payee", paymentType: true}
)

// selectNewest returns a SELECT of the newest set of t for the customer
// parameter. The first column names the table. The sorting key starts
// (customer_id, derived_at), so ORDER BY derived_at DESC ... WITH TIES reads
// the newest set with neither FINAL nor a max(derived_at) subquery: on 1
// million stored entries that took 2.8 ms per table where the subquery
// form took 4 ms. A set is written by one insert under its own derived_at;
// the copy a retried insert may store is dropped by storedSets.
func (t setTable) selectNewest() string {
	paymentType := "''"
	if t.paymentType {
		paymentType = "toString(payment_type)"
	}
	return fmt.Sprintf(`SELECT
    '%[1]s', %[2]s, toString(category), %[3]s, toString(cadence), toUInt64(payments),
    toString(last_paid), ifNull(toString(next_expected), ''),
    toString(typical_amount), toString(amount_low), toString(amount_high),
    toString(currency), confidence, toString(rule), toUnixTimestamp64Milli(derived_at)
FROM %[1]s
WHERE customer_id = {customer:String}
ORDER BY derived_at DESC
LIMIT 1 WITH TIES`, t.name, t.counterparty, paymentType)
}

// emptySetRule is the rule of the one row that stores an empty set: the
// set that replaces a stored one when nothing is detected any more, such as
// income after the payer was overridden to a transfer. Readers skip the row
// but take its derived_at, so the older set is no longer the newest.
const emptySetRule = "empty-set"

// storedSets is the newest stored set of each kind, with its derived_at,
// which is zero when none is stored.
type storedSets struct {
	income        []categorize.Stream
	incomeAt      time.Time
	commitments   []categorize.Commitment
	commitmentsAt time.Time
}

// storedSets reads the newest set of each of tables, one query per table
// run at once (see newStoredSets). Two single-table queries on two
// connections took about 2.4 ms each where their UNION ALL took about 6.9
// ms.
func (d *Deriver) storedSets(ctx context.Context, customerID string, tables ...setTable) (storedSets, error) {
	var (
		read = make([]setRows, len(tables))
		errs = make([]error, len(tables))
		wait sync.WaitGroup
	)
	for i, t := range tables {
		wait.Go(func() { read[i], errs[i] = d.storedSet(ctx, customerID, t) })
	}
	wait.Wait()
	if err := errors.Join(errs...); err != nil {
		return storedSets{}, err
	}

	byTable := make(map[string]setRows, len(tables))
	for i, t := range tables {
		byTable[t.name] = read[i]
	}
	return newStoredSets(byTable), nil
}

// newStoredSets builds a storedSets from the newest set of each table, by
// table name, and sorts each set by counterparty and currency, as the
// detectors do. A table left out has no stored set.
func newStoredSets(byTable map[string]setRows) storedSets {
	var sets storedSets
	if read, ok := byTable[incomeTable.name]; ok {
		for _, row := range read.rows {
			sets.income = append(sets.income, streamOf(row))
		}
		sets.incomeAt = read.derivedAt
	}
	if read, ok := byTable[commitmentsTable.name]; ok {
		sets.commitments = append(sets.commitments, read.rows...)
		sets.commitmentsAt = read.derivedAt
	}

	slices.SortFunc(sets.income, func(a, b categorize.Stream) int {
		return cmp.Or(cmp.Compare(a.Payer, b.Payer), cmp.Compare(a.Currency, b.Currency))
	})
	slices.SortFunc(sets.commitments, func(a, b categorize.Commitment) int {
		return cmp.Or(cmp.Compare(a.Payee, b.Payee), cmp.Compare(a.Currency, b.Currency))
	})
	return sets
}

// setRows is the newest stored set of one table.
type setRows struct {
	rows      []categorize.Commitment
	derivedAt time.Time
	// stored is the number of rows read, before storedSet dropped the
	// copies of a retried insert (see setStamp).
	stored int
}

// storedSet reads the newest set of t. Of rows with one counterparty and
// currency, which a retried insert may store twice, it keeps the first.
func (d *Deriver) storedSet(ctx context.Context, customerID string, t setTable) (setRows, error) {
	var set setRows
	rows, err := d.Engine.Query(ctx, t.selectNewest()+"\nSETTINGS max_threads = 1", store.P("customer", customerID))
	if err != nil {
		return set, fmt.Errorf("read %s: %w", t.name, err)
	}
	defer rows.Close()
	type identity struct{ counterparty, currency string }
	seen := map[identity]bool{}
	for n := 0; rows.Next(); n++ {
		table, row, derivedAt, err := scanSetRow(rows, customerID)
		if err != nil {
			return set, fmt.Errorf("read %s: row %d: %w", t.name, n, err)
		}
		if table != t.name {
			return set, fmt.Errorf("read %s: row %d: unknown table %q", t.name, n, table)
		}
		set.stored++
		set.derivedAt = derivedAt
		if row.Rule == emptySetRule {
			continue
		}
		id := identity{row.Payee, row.Currency}
		if seen[id] {
			continue
		}
		seen[id] = true
		set.rows = append(set.rows, row)
	}
	if err := rows.Err(); err != nil {
		return set, fmt.Errorf("read %s: %w", t.name, err)
	}
	return set, nil
}

// scanSetRow scans a row of selectNewest. A commitment holds every column
// of both tables: the payer of an income stream goes to Payee.
func scanSetRow(rows store.Rows, customerID string) (string, categorize.Commitment, time.Time, error) {
	c := categorize.Commitment{CustomerID: customerID}
	var (
		table, category, cadence, lastPaid, next, typical, low, high string
		payments                                                     uint64
		derivedMs                                                    int64
	)
	err := rows.Scan(&table, &c.Payee, &category, &c.PaymentType, &cadence, &payments,
		&lastPaid, &next, &typical, &low, &high, &c.Currency, &c.Confidence, &c.Rule, &derivedMs)
	if err != nil {
		return "", c, time.Time{}, err
	}

	c.Category, c.Cadence, c.Payments = insights.Category(category), insights.Cadence(cadence), int(payments)
	if c.LastPaid, err = insights.ParseDate(lastPaid); err != nil {
		return "", c, time.Time{}, fmt.Errorf("last_paid: %w", err)
	}
	if c.LastPaid == unpaidDate {
		c.LastPaid = insights.Date{} // a listed payment order not paid yet
	}
	if next != "" {
		if c.NextExpected, err = insights.ParseDate(next); err != nil {
			return "", c, time.Time{}, fmt.Errorf("next_expected: %w", err)
		}
	}
	amounts := []struct {
		column, value string
		dest          *insights.Amount
	}{
		{"typical_amount", typical, &c.TypicalAmount},
		{"amount_low", low, &c.AmountLow},
		{"amount_high", high, &c.AmountHigh},
	}
	for _, a := range amounts {
		if *a.dest, err = insights.ParseSignedAmount(a.value); err != nil {
			return "", c, time.Time{}, fmt.Errorf("%s: %w", a.column, err)
		}
	}
	return table, c, time.UnixMilli(derivedMs).UTC(), nil
}

// streamOf and streamRows convert between an income stream and the
// commitment-shaped row that holds it in storage.
func streamOf(c categorize.Commitment) categorize.Stream {
	return categorize.Stream{
		IncomeStream: insights.IncomeStream{
			CustomerID: c.CustomerID, Payer: c.Payee, Category: c.Category, Cadence: c.Cadence,
			Payments: c.Payments, LastPaid: c.LastPaid, NextExpected: c.NextExpected,
			TypicalAmount: c.TypicalAmount, Currency: c.Currency, Rule: c.Rule,
		},
		Confidence: c.Confidence,
		AmountLow:  c.AmountLow,
		AmountHigh: c.AmountHigh,
	}
}

func streamRows(streams []categorize.Stream) []categorize.Commitment {
	rows := make([]categorize.Commitment, len(streams))
	for i, s := range streams {
		rows[i] = categorize.Commitment{
			CustomerID: s.CustomerID, Payee: s.Payer, Category: s.Category, Cadence: s.Cadence,
			Payments: s.Payments, LastPaid: s.LastPaid, NextExpected: s.NextExpected,
			TypicalAmount: s.TypicalAmount, AmountLow: s.AmountLow, AmountHigh: s.AmountHigh,
			Currency: s.Currency, Confidence: s.Confidence, Rule: s.Rule,
		}
	}
	return rows
}

func plainStreams(streams []categorize.Stream) []insights.IncomeStream {
	if streams == nil {
		return nil
	}
	out := make([]insights.IncomeStream, len(streams))
	for i, s := range streams {
		out[i] = s.IncomeStream
	}
	return out
}

// setSchema returns the Arrow schema of t's columns. Decimal64(5) amounts
// carry the scaled integer of insights.Amount, dates are days since
// 1970-01-01, and derived_at is milliseconds in UTC as DateTime64(3, 'UTC')
// stores it.
func (t setTable) setSchema() *arrow.Schema {
	amount := &arrow.Decimal64Type{Precision: 18, Scale: insights.AmountScale}
	fields := []arrow.Field{
		{Name: "customer_id", Type: arrow.BinaryTypes.String},
		{Name: "derived_at", Type: arrow.FixedWidthTypes.Timestamp_ms},
		{Name: t.counterparty, Type: arrow.BinaryTypes.String},
		{Name: "category", Type: arrow.BinaryTypes.String},
		{Name: "cadence", Type: arrow.BinaryTypes.String},
		{Name: "payments", Type: arrow.PrimitiveTypes.Uint32},
		{Name: "last_paid", Type: arrow.FixedWidthTypes.Date32},
		{Name: "next_expected", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "typical_amount", Type: amount},
		{Name: "amount_low", Type: amount},
		{Name: "amount_high", Type: amount},
		{Name: "currency", Type: arrow.BinaryTypes.String},
		{Name: "confidence", Type: arrow.PrimitiveTypes.Float64},
		{Name: "rule", Type: arrow.BinaryTypes.String},
	}
	if t.paymentType {
		fields = append(fields, arrow.Field{Name: "payment_type", Type: arrow.BinaryTypes.String})
	}
	return arrow.NewSchema(fields, nil)
}

// insertSet writes rows to t as one insert. It writes nothing for no rows.
func (d *Deriver) insertSet(ctx context.Context, t setTable, customerID string, derivedAt time.Time, rows []categorize.Commitment) error {
	if len(rows) == 0 {
		rows = []categorize.Commitment{{LastPaid: unpaidDate, Rule: emptySetRule}}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, t.setSchema())
	defer b.Release()

	b.Reserve(len(rows))
	for _, r := range rows {
		b.Field(0).(*array.StringBuilder).Append(customerID)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(derivedAt.UnixMilli()))
		b.Field(2).(*array.StringBuilder).Append(r.Payee)
		b.Field(3).(*array.StringBuilder).Append(string(r.Category))
		b.Field(4).(*array.StringBuilder).Append(string(r.Cadence))
		b.Field(5).(*array.Uint32Builder).Append(uint32(r.Payments))
		b.Field(6).(*array.Date32Builder).Append(date32(r.LastPaid))
		if r.NextExpected.IsZero() {
			b.Field(7).(*array.Date32Builder).AppendNull()
		} else {
			b.Field(7).(*array.Date32Builder).Append(date32(r.NextExpected))
		}
		b.Field(8).(*array.Decimal64Builder).Append(decimal.Decimal64(r.TypicalAmount))
		b.Field(9).(*array.Decimal64Builder).Append(decimal.Decimal64(r.AmountLow))
		b.Field(10).(*array.Decimal64Builder).Append(decimal.Decimal64(r.AmountHigh))
		b.Field(11).(*array.StringBuilder).Append(r.Currency)
		b.Field(12).(*array.Float64Builder).Append(r.Confidence)
		b.Field(13).(*array.StringBuilder).Append(r.Rule)
		if t.paymentType {
			b.Field(14).(*array.StringBuilder).Append(r.PaymentType)
		}
	}

	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := d.Engine.InsertArrow(ctx, t.name, rec); err != nil {
		return fmt.Errorf("insert %d rows into %s: %w", len(rows), t.name, err)
	}
	return nil
}

// unpaidDate is the last_paid stored for a zero LastPaid: a commitment
// from a listed payment order that has not paid yet.
var unpaidDate = insights.Date{Year: 1970, Month: time.January, Day: 1}

func date32(d insights.Date) arrow.Date32 {
	if d.IsZero() {
		d = unpaidDate
	}
	return arrow.Date32FromTime(d.In(time.UTC))
}

// confidenceDigits is the precision at which two confidences count as
// equal when a derived set is compared with the stored one. A float that
// does not survive the trip through storage bit for bit must not make an
// unchanged set count as changed.
const confidenceDigits = 1e9

// sameStreams reports whether two derived sets hold the same streams, in
// any order.
func sameStreams(a, b []categorize.Stream) bool {
	return sameSet(a, b, func(s categorize.Stream) categorize.Stream {
		s.CustomerID = ""
		s.Confidence = math.Round(s.Confidence*confidenceDigits) / confidenceDigits
		return s
	})
}

// sameCommitments reports whether two derived sets hold the same
// commitments, in any order.
func sameCommitments(a, b []categorize.Commitment) bool {
	return sameSet(a, b, func(c categorize.Commitment) categorize.Commitment {
		c.CustomerID = ""
		c.Confidence = math.Round(c.Confidence*confidenceDigits) / confidenceDigits
		return c
	})
}

func sameSet[T comparable](a, b []T, key func(T) T) bool {
	if len(a) != len(b) {
		return false
	}
	count := make(map[T]int, len(a))
	for _, v := range a {
		count[key(v)]++
	}
	for _, v := range b {
		k := key(v)
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}
