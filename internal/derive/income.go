package derive

import (
	"context"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/decimal"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// creditsQuery reads the customer's current booked credits, the only
// transactions income detection uses. FINAL keeps the newest version of a
// transaction stored more than once.
//
// own_transfer marks a credit that mirrors a debit of the same amount and
// currency on another of the customer's accounts booked within a day of
// it: money moved between the customer's own accounts, which is not
// income. A single transaction cannot show this, so the categorizer may
// have missed it; feeds do not carry the other account's AccountId.
const creditsQuery = `WITH
    credits AS (
        SELECT account_id, transaction_key, amount, currency, booking_date
        FROM transactions FINAL
        WHERE customer_id = {customer:String} AND status = 'booked' AND amount > 0
    ),
    debits AS (
        SELECT account_id, -amount AS mirrored_amount, currency, booking_date
        FROM transactions FINAL
        WHERE customer_id = {customer:String} AND status = 'booked' AND amount < 0
    ),
    mirrored AS (
        SELECT credits.account_id, credits.transaction_key
        FROM credits
        INNER JOIN debits ON credits.amount = debits.mirrored_amount AND credits.currency = debits.currency
        WHERE credits.account_id != debits.account_id
          AND abs(dateDiff('day', credits.booking_date, debits.booking_date)) <= 1
    )
SELECT
    account_id, transaction_key, transaction_id,
    toUnixTimestamp64Milli(booking_time), toString(booking_date),
    toString(amount), toString(currency), description, counterparty, toString(mcc),
    toString(bank_tx_code), toString(bank_tx_subcode),
    toString(proprietary_code), toString(proprietary_issuer),
    toString(category), toString(category_rule),
    toBool((account_id, transaction_key) IN (SELECT account_id, transaction_key FROM mirrored)) AS own_transfer
FROM transactions FINAL
WHERE customer_id = {customer:String} AND status = 'booked' AND amount > 0
ORDER BY booking_time, account_id, transaction_key`

// ownTransferRule is the CategoryRule of a credit that creditsQuery found
// mirrored by a debit on another of the customer's accounts.
const ownTransferRule = "derive:own-account-transfer"

// RefreshIncome detects the customer's income streams from the booked
// transactions stored now, with today in Zone as the detection date, and
// stores them as a new set under a derived_at later than any stored one. It
// returns the streams, sorted by payer. No set is stored when the customer
// has no income credits.
func (d *Deriver) RefreshIncome(ctx context.Context, customerID string, now time.Time) ([]insights.IncomeStream, error) {
	if customerID == "" {
		return nil, insights.Errorf(insights.ErrInvalid, "customer ID is empty")
	}
	txs, err := d.bookedCredits(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("refresh income: read transactions: %w", err)
	}

	// Step 1: detect, on the customer's local date.
	streams := categorize.DetectIncome(txs, d.today(now), d.calendar())

	// Step 2: store the set under a derived_at no other set has, unless it
	// equals the newest stored set: re-deriving unchanged data (a restart
	// that reloads the same files) must not grow the table.
	stored, last, err := d.storedIncome(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("refresh income: %w", err)
	}
	if !last.IsZero() && sameStreams(stored, streams) {
		d.logger().Debug("income streams unchanged", "customer_id", customerID, "streams", len(streams))
		return streams, nil
	}
	derivedAt := now.UTC().Truncate(time.Millisecond)
	if !derivedAt.After(last) {
		derivedAt = last.Add(time.Millisecond)
	}
	if err := d.insertStreams(ctx, customerID, derivedAt, streams); err != nil {
		return nil, fmt.Errorf("refresh income: %w", err)
	}

	d.logger().Info("income streams derived", "customer_id", customerID,
		"credits", len(txs), "streams", len(streams), "derived_at", derivedAt)
	return streams, nil
}

// IncomeStreams returns the newest stored set of the customer's income
// streams, sorted by payer, or none when no set was derived yet.
func (d *Deriver) IncomeStreams(ctx context.Context, customerID string) ([]insights.IncomeStream, error) {
	streams, _, err := d.storedIncome(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("read income streams: %w", err)
	}
	return streams, nil
}

// bookedCredits reads the rows of creditsQuery as transactions. A stored
// category of uncategorized is cleared, so that DetectIncome applies the
// built-in rules to it. A credit mirrored on another account becomes a
// transfer unless its own category is already salary, benefits or
// pension: those come from bank codes or the payer's text and are stronger
// evidence than an equal amount.
func (d *Deriver) bookedCredits(ctx context.Context, customerID string) ([]insights.Transaction, error) {
	rows, err := d.Engine.Query(ctx, creditsQuery, store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var txs []insights.Transaction
	for rows.Next() {
		t, err := scanCredit(rows, customerID)
		if err != nil {
			return nil, fmt.Errorf("transaction %d: %w", len(txs), err)
		}
		txs = append(txs, t)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return txs, nil
}

func scanCredit(rows store.Rows, customerID string) (insights.Transaction, error) {
	t := insights.Transaction{CustomerID: customerID, Status: insights.StatusBooked}
	var (
		bookedMs                      int64
		bookingDate, amount, category string
		ownTransfer                   bool
	)
	err := rows.Scan(&t.AccountID, &t.Key, &t.TransactionID, &bookedMs, &bookingDate,
		&amount, &t.Currency, &t.Description, &t.Counterparty, &t.MCC,
		&t.BankTransactionCode, &t.BankTransactionSubCode, &t.ProprietaryCode, &t.ProprietaryIssuer,
		&category, &t.CategoryRule, &ownTransfer)
	if err != nil {
		return t, err
	}

	t.BookingTime = time.UnixMilli(bookedMs).UTC()
	if t.BookingDate, err = insights.ParseDate(bookingDate); err != nil {
		return t, fmt.Errorf("booking_date: %w", err)
	}
	if t.Amount, err = insights.ParseSignedAmount(amount); err != nil {
		return t, fmt.Errorf("amount: %w", err)
	}

	t.Category = insights.Category(category)
	switch {
	case t.Category == insights.CategorySalary, t.Category == insights.CategoryBenefits, t.Category == insights.CategoryPension:
	case ownTransfer:
		t.Category, t.CategoryRule = insights.CategoryTransfer, ownTransferRule
	case t.Category == insights.CategoryUncategorized:
		t.Category = ""
	}
	return t, nil
}

// storedIncome returns the newest set of the customer's income streams and
// its derived_at, or the zero time when none is stored.
func (d *Deriver) storedIncome(ctx context.Context, customerID string) ([]insights.IncomeStream, time.Time, error) {
	const query = `SELECT
    payer, toString(category), toString(cadence), toUInt64(payments),
    toString(last_paid), ifNull(toString(next_expected), ''),
    toString(typical_amount), toString(currency), toString(rule),
    toUnixTimestamp64Milli(derived_at)
FROM income_streams FINAL
WHERE customer_id = {customer:String}
  AND derived_at = (SELECT max(derived_at) FROM income_streams WHERE customer_id = {customer:String})
ORDER BY payer, currency`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()

	var (
		streams   []insights.IncomeStream
		derivedMs int64
	)
	for rows.Next() {
		s, ms, err := scanStream(rows, customerID)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("income stream %d: %w", len(streams), err)
		}
		streams = append(streams, s)
		derivedMs = ms
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	if len(streams) == 0 {
		return nil, time.Time{}, nil
	}
	return streams, time.UnixMilli(derivedMs).UTC(), nil
}

func scanStream(rows store.Rows, customerID string) (insights.IncomeStream, int64, error) {
	s := insights.IncomeStream{CustomerID: customerID}
	var (
		category, cadence, lastPaid, next, typical string
		payments                                   uint64
		derivedMs                                  int64
	)
	err := rows.Scan(&s.Payer, &category, &cadence, &payments, &lastPaid, &next, &typical,
		&s.Currency, &s.Rule, &derivedMs)
	if err != nil {
		return s, 0, err
	}

	s.Category, s.Cadence, s.Payments = insights.Category(category), insights.Cadence(cadence), int(payments)
	if s.LastPaid, err = insights.ParseDate(lastPaid); err != nil {
		return s, 0, fmt.Errorf("last_paid: %w", err)
	}
	if next != "" {
		if s.NextExpected, err = insights.ParseDate(next); err != nil {
			return s, 0, fmt.Errorf("next_expected: %w", err)
		}
	}
	if s.TypicalAmount, err = insights.ParseSignedAmount(typical); err != nil {
		return s, 0, fmt.Errorf("typical_amount: %w", err)
	}
	return s, derivedMs, nil
}

// Arrow types of the income_streams columns: Decimal64(5) amounts carry
// the scaled integer of insights.Amount, dates are days since 1970-01-01,
// and derived_at is milliseconds in UTC as DateTime64(3, 'UTC') stores it.
var incomeSchema = arrow.NewSchema([]arrow.Field{
	{Name: "customer_id", Type: arrow.BinaryTypes.String},
	{Name: "derived_at", Type: arrow.FixedWidthTypes.Timestamp_ms},
	{Name: "payer", Type: arrow.BinaryTypes.String},
	{Name: "category", Type: arrow.BinaryTypes.String},
	{Name: "cadence", Type: arrow.BinaryTypes.String},
	{Name: "payments", Type: arrow.PrimitiveTypes.Uint32},
	{Name: "last_paid", Type: arrow.FixedWidthTypes.Date32},
	{Name: "next_expected", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
	{Name: "typical_amount", Type: &arrow.Decimal64Type{Precision: 18, Scale: insights.AmountScale}},
	{Name: "currency", Type: arrow.BinaryTypes.String},
	{Name: "rule", Type: arrow.BinaryTypes.String},
}, nil)

// insertStreams writes streams to income_streams as one insert.
func (d *Deriver) insertStreams(ctx context.Context, customerID string, derivedAt time.Time, streams []insights.IncomeStream) error {
	if len(streams) == 0 {
		return nil
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, incomeSchema)
	defer b.Release()

	b.Reserve(len(streams))
	for _, s := range streams {
		b.Field(0).(*array.StringBuilder).Append(customerID)
		b.Field(1).(*array.TimestampBuilder).Append(arrow.Timestamp(derivedAt.UnixMilli()))
		b.Field(2).(*array.StringBuilder).Append(s.Payer)
		b.Field(3).(*array.StringBuilder).Append(string(s.Category))
		b.Field(4).(*array.StringBuilder).Append(string(s.Cadence))
		b.Field(5).(*array.Uint32Builder).Append(uint32(s.Payments))
		b.Field(6).(*array.Date32Builder).Append(date32(s.LastPaid))
		if s.NextExpected.IsZero() {
			b.Field(7).(*array.Date32Builder).AppendNull()
		} else {
			b.Field(7).(*array.Date32Builder).Append(date32(s.NextExpected))
		}
		b.Field(8).(*array.Decimal64Builder).Append(decimal.Decimal64(s.TypicalAmount))
		b.Field(9).(*array.StringBuilder).Append(s.Currency)
		b.Field(10).(*array.StringBuilder).Append(s.Rule)
	}

	rec := b.NewRecordBatch()
	defer rec.Release()
	if err := d.Engine.InsertArrow(ctx, "income_streams", rec); err != nil {
		return fmt.Errorf("insert %d income streams: %w", len(streams), err)
	}
	return nil
}

func date32(d insights.Date) arrow.Date32 { return arrow.Date32FromTime(d.In(time.UTC)) }

// nextSalary decides ClaimNextSalaryDate from the newest stored income
// streams, derived again first when they are stale (see incomeStale). AsOf
// is when the streams used were derived. It is unavailable when no salary
// stream has a next payday.
func (d *Deriver) nextSalary(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	streams, derivedAt, err := d.storedIncome(ctx, customerID)
	if err != nil {
		return res, fmt.Errorf("derive salary for claim: %w", err)
	}
	stale, err := d.incomeStale(ctx, customerID, derivedAt, now)
	if err != nil {
		return res, fmt.Errorf("derive salary for claim: %w", err)
	}
	if stale {
		if _, err := d.RefreshIncome(ctx, customerID, now); err != nil {
			return res, fmt.Errorf("derive salary for claim: %w", err)
		}
		if streams, derivedAt, err = d.storedIncome(ctx, customerID); err != nil {
			return res, fmt.Errorf("derive salary for claim: %w", err)
		}
	}

	salary, ok := categorize.NextSalary(streams)
	if !ok {
		return res, nil
	}
	res.Available = true
	res.AsOf = derivedAt
	res.NextDate, res.Cadence = salary.NextExpected, salary.Cadence
	return res, nil
}

// incomeStale reports whether the income streams derived at derivedAt no
// longer reflect the data at now. That is so when none was derived, when
// transactions were ingested after them, or when they were derived on an
// earlier local date, because the next payday and lapses depend on the date.
//
// NOTE: a customer with no income credits has no stored set, so each salary
// claim for them reads their credits again.
func (d *Deriver) incomeStale(ctx context.Context, customerID string, derivedAt, now time.Time) (bool, error) {
	if derivedAt.IsZero() || d.today(derivedAt).Before(d.today(now)) {
		return true, nil
	}

	const query = `SELECT toUnixTimestamp64Milli(max(ingested_at)) FROM transactions WHERE customer_id = {customer:String}`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return false, fmt.Errorf("read last transaction load: %w", err)
	}
	defer rows.Close()

	var ingestedMs int64
	if rows.Next() {
		if err := rows.Scan(&ingestedMs); err != nil {
			return false, fmt.Errorf("read last transaction load: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read last transaction load: %w", err)
	}
	return ingestedMs > derivedAt.UnixMilli(), nil
}

// sameStreams reports whether two derived sets hold the same streams, in
// any order.
func sameStreams(a, b []insights.IncomeStream) bool {
	if len(a) != len(b) {
		return false
	}
	key := func(s insights.IncomeStream) insights.IncomeStream {
		s.CustomerID = ""
		return s
	}
	count := make(map[insights.IncomeStream]int, len(a))
	for _, s := range a {
		count[key(s)]++
	}
	for _, s := range b {
		k := key(s)
		if count[k] == 0 {
			return false
		}
		count[k]--
	}
	return true
}
