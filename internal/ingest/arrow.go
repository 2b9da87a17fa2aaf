package ingest

import (
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"

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
	appendRow func(b *array.RecordBuilder, v *T)
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

func appendString(b *array.RecordBuilder, i int, s string) {
	b.Field(i).(*array.StringBuilder).Append(s)
}

func appendAmount(b *array.RecordBuilder, i int, a insights.Amount) {
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
	appendRow: func(b *array.RecordBuilder, a *insights.Account) {
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
	appendRow: func(b *array.RecordBuilder, v *insights.Balance) {
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
	appendRow: func(b *array.RecordBuilder, p *insights.Party) {
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
		{Name: "status", Type: stringType},
		{Name: "booking_time", Type: timestampType},
		{Name: "value_time", Type: timestampType, Nullable: true},
		{Name: "booking_date", Type: dateType},
		{Name: "amount", Type: amountType},
		{Name: "currency", Type: stringType},
		{Name: "description", Type: stringType},
		{Name: "counterparty", Type: stringType},
		{Name: "mcc", Type: stringType},
		{Name: "bank_tx_code", Type: stringType},
		{Name: "bank_tx_subcode", Type: stringType},
		{Name: "proprietary_code", Type: stringType},
		{Name: "proprietary_issuer", Type: stringType},
		{Name: "category", Type: stringType},
		{Name: "category_rule", Type: stringType},
	},
	identity: []string{"account_id", "transaction_key"},
	hash:     transactionHash,
	appendRow: func(b *array.RecordBuilder, t *insights.Transaction) {
		appendString(b, 1, t.AccountID)
		appendString(b, 2, t.Key)
		appendString(b, 3, t.TransactionID)
		appendString(b, 4, string(t.Status))
		b.Field(5).(*array.TimestampBuilder).Append(timestamp(t.BookingTime))
		value := b.Field(6).(*array.TimestampBuilder)
		if t.ValueTime.IsZero() {
			value.AppendNull()
		} else {
			value.Append(timestamp(t.ValueTime))
		}
		b.Field(7).(*array.Date32Builder).Append(date32(t.BookingDate))
		appendAmount(b, 8, t.Amount)
		rest := []string{t.Currency, t.Description, t.Counterparty, t.MCC, t.BankTransactionCode,
			t.BankTransactionSubCode, t.ProprietaryCode, t.ProprietaryIssuer, string(t.Category), t.CategoryRule}
		for i, s := range rest {
			appendString(b, 9+i, s)
		}
	},
}
