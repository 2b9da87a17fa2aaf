package ingest

import (
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"

	insights "github.com/openbanking-insights/insights"
)

// Arrow types of the table columns. Amounts are Decimal64(5) in ClickHouse;
// an Arrow decimal with scale insights.AmountScale carries the scaled
// integer unchanged. Timestamps are milliseconds in UTC, as DateTime64(3,
// 'UTC') stores them.
var (
	amountType    = &arrow.Decimal64Type{Precision: 18, Scale: insights.AmountScale}
	timestampType = arrow.FixedWidthTypes.Timestamp_ms
	dateType      = arrow.FixedWidthTypes.Date32
	stringType    = arrow.BinaryTypes.String
	boolType      = arrow.FixedWidthTypes.Boolean
	// lowCardType is the Arrow type of the LowCardinality(String)
	// columns. chDB reads a dictionary-encoded Arrow column into
	// LowCardinality as it is, but hashes each value of a plain string
	// column into a new dictionary. In an insert benchmark of 50,000-row
	// batches, dictionaries saved chDB 0.2 to 0.35 µs of CPU a row.
	lowCardType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
)

// table describes how the rows of one table become Arrow columns of its
// staging table, and which columns identify a row.
type table[T any] struct {
	name   string
	fields []arrow.Field // content columns, before content_hash, source and ingested_at
	// identity lists the columns that key the table's ReplacingMergeTree
	// (its ORDER BY after customer_id).
	identity []string
	// hash returns the content hash of v; see keys.go.
	hash func(v *T) string
	// appendRow appends the content columns of v to the builders, in
	// fields order.
	appendRow func(b *rowBuilder, v *T)
}

// schema returns the Arrow schema of the table's staging insert:
// customer_id, the content columns, content_hash, source, ingested_at, and
// the staging columns load_id and seq. With loadConstants it leaves out
// source, ingested_at and load_id, which a load table fills in from its
// column defaults (createLoadTable).
func (t *table[T]) schema(loadConstants bool) *arrow.Schema {
	fields := []arrow.Field{{Name: "customer_id", Type: stringType}}
	fields = append(fields, t.fields...)
	fields = append(fields, arrow.Field{Name: "content_hash", Type: stringType})
	if !loadConstants {
		fields = append(fields,
			arrow.Field{Name: "source", Type: stringType},
			arrow.Field{Name: "ingested_at", Type: timestampType},
			arrow.Field{Name: "load_id", Type: stringType},
		)
	}
	fields = append(fields, arrow.Field{Name: "seq", Type: arrow.PrimitiveTypes.Uint64})
	return arrow.NewSchema(fields, nil)
}

// columns returns the columns that staging and main table share, as SQL.
func (t *table[T]) columns() string {
	names := []string{"customer_id"}
	for _, f := range t.fields {
		names = append(names, f.Name)
	}
	names = append(names, "content_hash", "source", "ingested_at", "load_id")
	return strings.Join(names, ", ")
}

func timestamp(t time.Time) arrow.Timestamp { return arrow.Timestamp(t.UnixMilli()) }

func date32(d insights.Date) arrow.Date32 { return arrow.Date32FromTime(d.In(time.UTC)) }

func appendString(b *rowBuilder, i int, s string) {
	b.Field(i).(*array.StringBuilder).Append(s)
}

// appendLowCard appends s to column i, of lowCardType.
func appendLowCard(b *rowBuilder, i int, s string) {
	b.dicts[i].append(s)
}

// rowBuilder builds the record batches of one stager. Its RecordBuilder
// has a column of indexes in place of each column of lowCardType, and
// newBatch pairs those with their dictionaries.
type rowBuilder struct {
	*array.RecordBuilder
	schema *arrow.Schema    // of the batches
	dicts  []*lowCardColumn // by column; nil for columns not of lowCardType
}

func newRowBuilder(schema *arrow.Schema) *rowBuilder {
	fields := slices.Clone(schema.Fields())
	dicts := make([]*lowCardColumn, len(fields))
	for i, f := range fields {
		if f.Type == lowCardType {
			fields[i].Type = lowCardType.IndexType
			dicts[i] = &lowCardColumn{index: map[string]int32{}}
		}
	}
	b := &rowBuilder{RecordBuilder: array.NewRecordBuilder(memory.DefaultAllocator, arrow.NewSchema(fields, nil)),
		schema: schema, dicts: dicts}
	for i, d := range dicts {
		if d != nil {
			d.indexes = b.Field(i).(*array.Int32Builder)
		}
	}
	return b
}

// newBatch returns the rows appended since the last batch. Each batch has
// dictionaries of its own values only. Kept over a whole load, a column
// of distinct values would resend a growing dictionary with every batch.
func (b *rowBuilder) newBatch() arrow.RecordBatch {
	rec := b.NewRecordBatch()
	defer rec.Release()
	cols := slices.Clone(rec.Columns())
	for i, d := range b.dicts {
		if d == nil {
			continue
		}
		values := d.newDictionary()
		cols[i] = array.NewDictionaryArray(lowCardType, cols[i], values)
		values.Release()
		defer cols[i].Release()
	}
	return array.NewRecordBatch(b.schema, cols, rec.NumRows())
}

// lowCardColumn builds one column of lowCardType: the indexes, in the
// RecordBuilder, and the values they point to. Most values repeat the
// value of a recent row (the status, currency and codes of a feed take a
// few values), so it compares with its last few distinct values before it
// looks in a map. Arrow's dictionary builder, which hashes every value,
// cost more CPU in the 1M file benchmark than the dictionaries saved chDB.
type lowCardColumn struct {
	indexes *array.Int32Builder
	values  []string         // the batch's dictionary, in index order
	index   map[string]int32 // index of each of values
	recent  [4]int32         // 1 + the indexes of recent values; 0 for none
	next    int              // the entry of recent to replace next
}

func (c *lowCardColumn) append(s string) {
	for _, r := range c.recent {
		if r > 0 && c.values[r-1] == s {
			c.indexes.Append(r - 1)
			return
		}
	}
	i, ok := c.index[s]
	if !ok {
		i = int32(len(c.values))
		// s may share memory with a whole decoded record.
		s = strings.Clone(s)
		c.index[s] = i
		c.values = append(c.values, s)
	}
	c.indexes.Append(i)
	c.recent[c.next] = i + 1
	c.next = (c.next + 1) % len(c.recent)
}

// newDictionary returns the values of the batch's dictionary and starts
// an empty one for the next batch.
func (c *lowCardColumn) newDictionary() arrow.Array {
	b := array.NewStringBuilder(memory.DefaultAllocator)
	defer b.Release()
	b.AppendValues(c.values, nil)
	clear(c.index)
	clear(c.values)
	c.values, c.recent, c.next = c.values[:0], [4]int32{}, 0
	return b.NewArray()
}

func appendAmount(b *rowBuilder, i int, a insights.Amount) {
	b.Field(i).(*array.Decimal64Builder).Append(decimal.Decimal64(a))
}

// Field positions below count customer_id as column 0.

var accountsTable = &table[insights.Account]{
	name: "accounts",
	fields: []arrow.Field{
		{Name: "account_id", Type: stringType},
		{Name: "currency", Type: stringType},
		{Name: "account_type", Type: stringType},
		{Name: "account_sub_type", Type: stringType},
		{Name: "nickname", Type: stringType},
		{Name: "status", Type: stringType},
	},
	identity: []string{"account_id"},
	hash:     accountHash,
	appendRow: func(b *rowBuilder, a *insights.Account) {
		for i, s := range []string{a.AccountID, a.Currency, a.AccountType, a.AccountSubType, a.Nickname, a.Status} {
			appendString(b, 1+i, s)
		}
	},
}

var balancesTable = &table[insights.Balance]{
	name: "balances",
	fields: []arrow.Field{
		{Name: "account_id", Type: stringType},
		{Name: "type", Type: stringType},
		{Name: "amount", Type: amountType},
		{Name: "currency", Type: stringType},
		{Name: "as_of", Type: timestampType},
		{Name: "credit_line_included", Type: boolType},
		{Name: "credit_line", Type: amountType},
	},
	identity: []string{"account_id", "type", "currency", "as_of"},
	hash:     balanceHash,
	appendRow: func(b *rowBuilder, v *insights.Balance) {
		appendString(b, 1, v.AccountID)
		appendString(b, 2, v.Type)
		appendAmount(b, 3, v.Amount)
		appendString(b, 4, v.Currency)
		b.Field(5).(*array.TimestampBuilder).Append(timestamp(v.AsOf))
		b.Field(6).(*array.BooleanBuilder).Append(v.CreditLineIncluded)
		appendAmount(b, 7, v.CreditLine)
	},
}

var partiesTable = &table[insights.Party]{
	name: "parties",
	fields: []arrow.Field{
		{Name: "party_id", Type: stringType},
		{Name: "name", Type: stringType},
		{Name: "birth_date", Type: dateType, Nullable: true},
		{Name: "address_lines", Type: arrow.ListOf(stringType)},
		{Name: "town", Type: stringType},
		{Name: "post_code", Type: stringType},
		{Name: "country", Type: stringType},
	},
	identity: []string{"party_id"},
	hash:     partyHash,
	appendRow: func(b *rowBuilder, p *insights.Party) {
		appendString(b, 1, p.PartyID)
		appendString(b, 2, p.Name)
		birth := b.Field(3).(*array.Date32Builder)
		if p.BirthDate.IsZero() {
			birth.AppendNull()
		} else {
			birth.Append(date32(p.BirthDate))
		}
		lines := b.Field(4).(*array.ListBuilder)
		lines.Append(true)
		for _, l := range p.Address.Lines {
			lines.ValueBuilder().(*array.StringBuilder).Append(l)
		}
		appendString(b, 5, p.Address.Town)
		appendString(b, 6, p.Address.PostCode)
		appendString(b, 7, p.Address.Country)
	},
}

var transactionsTable = &table[insights.Transaction]{
	name: "transactions",
	fields: []arrow.Field{
		{Name: "account_id", Type: stringType},
		{Name: "transaction_key", Type: stringType},
		{Name: "transaction_id", Type: stringType},
		{Name: "status", Type: lowCardType},
		{Name: "booking_time", Type: timestampType},
		{Name: "value_time", Type: timestampType, Nullable: true},
		{Name: "booking_date", Type: dateType},
		{Name: "amount", Type: amountType},
		{Name: "currency", Type: lowCardType},
		{Name: "description", Type: stringType},
		{Name: "counterparty", Type: stringType},
		{Name: "mcc", Type: lowCardType},
		{Name: "bank_tx_code", Type: lowCardType},
		{Name: "bank_tx_subcode", Type: lowCardType},
		{Name: "proprietary_code", Type: lowCardType},
		{Name: "proprietary_issuer", Type: lowCardType},
		{Name: "category", Type: lowCardType},
		{Name: "category_rule", Type: lowCardType},
	},
	identity: []string{"account_id", "transaction_key"},
	hash:     transactionHash,
	appendRow: func(b *rowBuilder, t *insights.Transaction) {
		appendString(b, 1, t.AccountID)
		appendString(b, 2, t.Key)
		appendString(b, 3, t.TransactionID)
		appendLowCard(b, 4, string(t.Status))
		b.Field(5).(*array.TimestampBuilder).Append(timestamp(t.BookingTime))
		value := b.Field(6).(*array.TimestampBuilder)
		if t.ValueTime.IsZero() {
			value.AppendNull()
		} else {
			value.Append(timestamp(t.ValueTime))
		}
		b.Field(7).(*array.Date32Builder).Append(date32(t.BookingDate))
		appendAmount(b, 8, t.Amount)
		appendLowCard(b, 9, t.Currency)
		appendString(b, 10, t.Description)
		appendString(b, 11, t.Counterparty)
		for i, s := range [...]string{t.MCC, t.BankTransactionCode, t.BankTransactionSubCode,
			t.ProprietaryCode, t.ProprietaryIssuer, string(t.Category), t.CategoryRule} {
			appendLowCard(b, 12+i, s)
		}
	},
}
