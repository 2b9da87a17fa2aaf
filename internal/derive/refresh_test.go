package derive

import (
	"context"
	"errors"
	"strconv"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// booking is a booked transaction with its stored category and ISO 20022
// bank transaction code, booked at midnight UTC of date on account.
type booking struct {
	key, account, date, amount, payee, category, code, subCode string
}

func insertBookings(t *testing.T, e store.Engine, customer string, bookings ...booking) {
	t.Helper()
	for _, bk := range bookings {
		booked := mustTime(t, bk.date+"T00:00:00Z")
		exec(t, e, `INSERT INTO transactions (customer_id, account_id, transaction_key, transaction_id, status, booking_time,
    booking_date, amount, currency, description, counterparty, bank_tx_code, bank_tx_subcode, category, category_rule,
    content_hash, source, ingested_at)
SELECT {customer:String}, {account:String}, {key:String}, {key:String}, 'booked', fromUnixTimestamp64Milli({booked:Int64}, 'UTC'),
       toDate32({date:String}), toDecimal64({amount:String}, 5), 'GBP', {payee:String}, {payee:String},
       {code:String}, {sub:String}, {category:String}, 'test', '', 'test', toDateTime64('2026-11-30 06:00:00', 3, 'UTC')`,
			store.P("customer", customer), store.P("account", bk.account), store.P("key", bk.key),
			store.P("booked", strconv.FormatInt(booked.UnixMilli(), 10)), store.P("date", bk.date),
			store.P("amount", bk.amount), store.P("payee", bk.payee), store.P("code", bk.code),
			store.P("sub", bk.subCode), store.P("category", bk.category))
	}
}

// monthlyDates are working days on which a payment due on the 1st is
// taken from July to November 2026: 1 August and 1 November 2026 fall on a
// weekend.
var monthlyDates = []string{"2026-07-01", "2026-08-03", "2026-09-01", "2026-10-01", "2026-11-02"}

func monthly(key, account, amount, payee, category, code, subCode string) []booking {
	out := make([]booking, len(monthlyDates))
	for i, d := range monthlyDates {
		out[i] = booking{key: key + d, account: account, date: d, amount: amount, payee: payee,
			category: category, code: code, subCode: subCode}
	}
	return out
}

func countSets(t *testing.T, e store.Engine, table, customer string) uint64 {
	t.Helper()
	rows, err := e.Query(context.Background(),
		"SELECT uniqExact(derived_at) FROM "+table+" WHERE customer_id = {customer:String}", store.P("customer", customer))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestRefreshInsights_incomeConfidenceAndBands(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	amounts := []string{"2050.00", "2100.00", "2180.00", "2100.00", "2120.00"}
	var pay []booking
	for i, d := range []string{"2026-07-24", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25"} {
		pay = append(pay, booking{key: "pay" + d, account: "acc-1", date: d, amount: amounts[i], payee: "ACME LOGISTICS LTD",
			category: "income.salary", code: "ReceivedCreditTransfer", subCode: "DomesticCreditTransfer"})
	}
	insertBookings(t, e, "c1", pay...)
	d := &Deriver{Engine: e}

	derived, err := d.RefreshInsights(ctx, "c1", mustTime(t, "2026-11-30T12:00:00Z"))
	if err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	if len(derived.Income) != 1 {
		t.Fatalf("derived %d income streams, want 1: %+v", len(derived.Income), derived.Income)
	}
	s := derived.Income[0]
	if s.Confidence <= 0 || s.Confidence > 1 {
		t.Errorf("Confidence = %v, want within (0, 1]", s.Confidence)
	}
	if want := mustAmount(t, "2050.00"); s.AmountLow != want {
		t.Errorf("AmountLow = %s, want %s", s.AmountLow, want)
	}
	if want := mustAmount(t, "2180.00"); s.AmountHigh != want {
		t.Errorf("AmountHigh = %s, want %s", s.AmountHigh, want)
	}

	stored, err := d.IncomeStreamsDetailed(ctx, "c1")
	if err != nil {
		t.Fatalf("IncomeStreamsDetailed: %v", err)
	}
	if len(stored) != 1 || stored[0] != s {
		t.Errorf("IncomeStreamsDetailed = %+v, want %+v", stored, s)
	}
	plain, err := d.IncomeStreams(ctx, "c1")
	if err != nil {
		t.Fatalf("IncomeStreams: %v", err)
	}
	if len(plain) != 1 || plain[0] != s.IncomeStream {
		t.Errorf("IncomeStreams = %+v, want %+v", plain, s.IncomeStream)
	}
}

func TestRefreshInsights_commitments(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	var bookings []booking
	bookings = append(bookings, monthly("rent", "current", "-950.00", "HOMES LETTINGS", "housing.rent", "IssuedCreditTransfers", "StandingOrder")...)
	bookings = append(bookings, monthly("energy", "current", "-82.40", "BRIGHT ENERGY", "", "IssuedDirectDebits", "DirectDebitPayment")...)
	// A standing order to the customer's own savings account, which shows
	// the matching credit, is a transfer and no commitment.
	bookings = append(bookings, monthly("save", "current", "-200.00", "MR W CHEN", "", "IssuedCreditTransfers", "StandingOrder")...)
	bookings = append(bookings, monthly("saved", "savings", "200.00", "MR W CHEN", "", "ReceivedCreditTransfers", "StandingOrder")...)
	// Card spending is no commitment.
	bookings = append(bookings, monthly("food", "current", "-45.10", "CORNER GROCER", "groceries", "CustomerCardTransactions", "PointOfSale")...)
	insertBookings(t, e, "c1", bookings...)
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")

	derived, err := d.RefreshInsights(ctx, "c1", now)
	if err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	tests := []struct {
		payee, paymentType string
		category           insights.Category
		typical            string
	}{
		{payee: "BRIGHT ENERGY", paymentType: "direct_debit", category: insights.CategoryOther, typical: "82.40"},
		{payee: "HOMES LETTINGS", paymentType: "standing_order", category: insights.CategoryRent, typical: "950.00"},
	}
	if len(derived.Commitments) != len(tests) {
		t.Fatalf("derived %d commitments, want %d: %+v", len(derived.Commitments), len(tests), derived.Commitments)
	}
	for i, tt := range tests {
		c := derived.Commitments[i]
		t.Run(tt.payee, func(t *testing.T) {
			if c.Payee != tt.payee {
				t.Fatalf("Payee = %q, want %q", c.Payee, tt.payee)
			}
			if c.PaymentType != tt.paymentType {
				t.Errorf("PaymentType = %q, want %q", c.PaymentType, tt.paymentType)
			}
			if c.Category != tt.category && !(tt.category == insights.CategoryOther && c.Category == insights.CategoryUtilities) {
				t.Errorf("Category = %q, want %q", c.Category, tt.category)
			}
			if c.Cadence != insights.CadenceMonthly {
				t.Errorf("Cadence = %q, want monthly", c.Cadence)
			}
			if want := mustAmount(t, tt.typical); c.TypicalAmount != want || c.AmountLow != want || c.AmountHigh != want {
				t.Errorf("amounts = %s (%s to %s), want %s", c.TypicalAmount, c.AmountLow, c.AmountHigh, want)
			}
			if c.NextExpected.IsZero() || c.Confidence <= 0 {
				t.Errorf("NextExpected = %s, Confidence = %v, want a date and a positive confidence", c.NextExpected, c.Confidence)
			}
		})
	}

	stored, err := d.Commitments(ctx, "c1")
	if err != nil {
		t.Fatalf("Commitments: %v", err)
	}
	if len(stored) != len(derived.Commitments) {
		t.Fatalf("Commitments returned %d, want %d", len(stored), len(derived.Commitments))
	}
	for i := range stored {
		if stored[i] != derived.Commitments[i] {
			t.Errorf("commitment %d stored as %+v, derived as %+v", i, stored[i], derived.Commitments[i])
		}
	}

	// RefreshIncome refreshes commitments too: unchanged data stores no new
	// set, and a new payment stores one.
	if _, err := d.RefreshIncome(ctx, "c1", now); err != nil {
		t.Fatalf("RefreshIncome: %v", err)
	}
	if n := countSets(t, e, "commitments", "c1"); n != 1 {
		t.Errorf("commitment sets after an unchanged refresh = %d, want 1", n)
	}
	insertBookings(t, e, "c1", booking{key: "gym", account: "current", date: "2026-11-16", amount: "-30.00",
		payee: "CITY GYM", category: "", code: "IssuedDirectDebits", subCode: "DirectDebitPayment"})
	if _, err := d.RefreshIncome(ctx, "c1", now); err != nil {
		t.Fatalf("RefreshIncome: %v", err)
	}
	if n := countSets(t, e, "commitments", "c1"); n != 2 {
		t.Errorf("commitment sets after a new direct debit = %d, want 2", n)
	}
	if stored, err = d.Commitments(ctx, "c1"); err != nil || len(stored) != 3 {
		t.Errorf("Commitments after a new direct debit = %d (%v), want 3", len(stored), err)
	}
}

func TestCommitments_none(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	got, err := d.Commitments(context.Background(), "nobody")
	if err != nil || len(got) != 0 {
		t.Errorf("Commitments = %+v, %v; want none", got, err)
	}
}

func TestStoredSets_storageError(t *testing.T) {
	d := &Deriver{Engine: brokenEngine{}}
	if _, err := d.Commitments(context.Background(), "c1"); !errors.Is(err, errBroken) {
		t.Errorf("Commitments error = %v, want it to wrap the engine's error", err)
	}
	if _, err := d.IncomeStreamsDetailed(context.Background(), "c1"); !errors.Is(err, errBroken) {
		t.Errorf("IncomeStreamsDetailed error = %v, want it to wrap the engine's error", err)
	}
}

func TestSameStreams_cases(t *testing.T) {
	base := categorize.Stream{
		IncomeStream: insights.IncomeStream{CustomerID: "c1", Payer: "ACME", Category: insights.CategorySalary,
			Cadence: insights.CadenceMonthly, Payments: 4, TypicalAmount: 210000000, Currency: "GBP"},
		Confidence: 0.8, AmountLow: 200000000, AmountHigh: 220000000,
	}
	other := base
	other.Payer = "OTHER"
	with := func(f func(*categorize.Stream)) categorize.Stream {
		s := base
		f(&s)
		return s
	}
	tests := []struct {
		name string
		a, b []categorize.Stream
		want bool
	}{
		{"equal in any order", []categorize.Stream{base, other}, []categorize.Stream{other, base}, true},
		{"customer ignored", []categorize.Stream{base}, []categorize.Stream{with(func(s *categorize.Stream) { s.CustomerID = "" })}, true},
		{"float noise ignored", []categorize.Stream{base}, []categorize.Stream{with(func(s *categorize.Stream) { s.Confidence += 1e-12 })}, true},
		{"confidence changed", []categorize.Stream{base}, []categorize.Stream{with(func(s *categorize.Stream) { s.Confidence = 0.7 })}, false},
		{"band changed", []categorize.Stream{base}, []categorize.Stream{with(func(s *categorize.Stream) { s.AmountHigh++ })}, false},
		{"stream added", []categorize.Stream{base}, []categorize.Stream{base, other}, false},
		{"duplicate differs", []categorize.Stream{base, base}, []categorize.Stream{base, other}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sameStreams(tt.a, tt.b); got != tt.want {
				t.Errorf("sameStreams = %v, want %v", got, tt.want)
			}
		})
	}
}
