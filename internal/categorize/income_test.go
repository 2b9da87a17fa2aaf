package categorize

import (
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

func date(s string) insights.Date {
	d, err := insights.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

// credits returns booked GBP credits from payer, one per date, of amount
// each, with description as the narrative.
func credits(payer, description, amt string, dates ...string) []insights.Transaction {
	out := make([]insights.Transaction, len(dates))
	for i, s := range dates {
		out[i] = insights.Transaction{
			CustomerID:   "c1",
			Status:       insights.StatusBooked,
			BookingDate:  date(s),
			Amount:       amount(amt),
			Currency:     "GBP",
			Counterparty: payer,
			Description:  description,
		}
	}
	return out
}

func concat(groups ...[]insights.Transaction) []insights.Transaction {
	var out []insights.Transaction
	for _, g := range groups {
		out = append(out, g...)
	}
	return out
}

func findStream(t *testing.T, streams []insights.IncomeStream, payer string) insights.IncomeStream {
	t.Helper()
	for _, s := range streams {
		if s.Payer == payer {
			return s
		}
	}
	t.Fatalf("no stream for payer %q in %+v", payer, streams)
	return insights.IncomeStream{}
}

func TestDetectIncome_cadences(t *testing.T) {
	england := calendar.EnglandAndWales()
	cases := []struct {
		name        string
		txs         []insights.Transaction
		asOf        string
		cal         *calendar.Calendar
		wantCadence insights.Cadence
		wantRule    string
		wantNext    string // "" for the zero Date
		wantCat     insights.Category
	}{
		{
			// The 25th fell on Saturday 25 January, Sunday 25 May, bank
			// holiday Monday 25 August and Saturday 25 October 2025.
			name: "monthly 25th shifted earlier",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2025-01-24", "2025-02-25", "2025-03-25", "2025-04-25", "2025-05-23", "2025-06-25",
				"2025-07-25", "2025-08-22", "2025-09-25", "2025-10-24", "2025-11-25", "2025-12-24",
				"2026-01-23", "2026-02-25", "2026-03-25"),
			asOf: "2026-03-26", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-04-24", // 25 April 2026 is a Saturday
			wantCat:  insights.CategorySalary,
		},
		{
			name: "next payday strictly after asOf",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2026-01-23", "2026-02-25", "2026-03-25"),
			asOf: "2026-04-24", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-05-22", // 25 May 2026 is the spring bank holiday
			wantCat:  insights.CategorySalary,
		},
		{
			name: "last working day of month",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2026-01-30", "2026-02-27", "2026-03-31", "2026-04-30", "2026-05-29", "2026-06-30", "2026-07-31"),
			asOf: "2026-08-01", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-last-working-day",
			wantNext: "2026-08-28", // 31 August 2026 is the summer bank holiday
			wantCat:  insights.CategorySalary,
		},
		{
			name: "last friday of month",
			txs: credits("ACME LTD", "WAGES", "1900.00",
				"2026-01-30", "2026-02-27", "2026-03-27", "2026-04-24", "2026-05-29"),
			asOf: "2026-06-01", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-last-weekday",
			wantNext: "2026-06-26",
			wantCat:  insights.CategorySalary,
		},
		{
			// Paid on the 1st: Sunday 1 November moves to Friday 30 October
			// and New Year's Day to 31 December, so two payments fall in
			// one calendar month.
			name: "monthly 1st shifted into previous month",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2026-10-01", "2026-10-30", "2026-12-01", "2026-12-31", "2027-02-01"),
			asOf: "2027-02-02", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2027-03-01",
			wantCat:  insights.CategorySalary,
		},
		{
			// Every 28 days from Friday 9 January 2026; Good Friday 3 April
			// moves that payment to Thursday 2 April.
			name: "four weekly drifting through month",
			txs: credits("ACME LTD", "", "1500.00",
				"2026-01-09", "2026-02-06", "2026-03-06", "2026-04-02", "2026-05-01", "2026-05-29", "2026-06-26"),
			asOf: "2026-06-30", cal: england,
			wantCadence: insights.CadenceFourWeekly, wantRule: "income:four-weekly",
			wantNext: "2026-07-24",
			wantCat:  insights.CategorySalary, // regular and similar amounts
		},
		{
			name: "four weekly last payment shifted",
			txs: credits("ACME LTD", "PAYROLL", "1500.00",
				"2026-01-09", "2026-02-06", "2026-03-06", "2026-04-02"),
			asOf: "2026-04-10", cal: england,
			wantCadence: insights.CadenceFourWeekly, wantRule: "income:four-weekly",
			wantNext: "2026-05-01",
			wantCat:  insights.CategorySalary,
		},
		{
			name: "weekly friday",
			txs: credits("ACME LTD", "WAGES", "420.00",
				"2026-03-13", "2026-03-20", "2026-03-27", "2026-04-02", "2026-04-10", "2026-04-17"),
			asOf: "2026-04-18", cal: england,
			wantCadence: insights.CadenceWeekly, wantRule: "income:weekly",
			wantNext: "2026-04-24",
			wantCat:  insights.CategorySalary,
		},
		{
			name: "fortnightly",
			txs: credits("ACME LTD", "WAGES", "840.00",
				"2026-02-06", "2026-02-20", "2026-03-06", "2026-03-20"),
			asOf: "2026-03-21", cal: england,
			wantCadence: insights.CadenceFortnightly, wantRule: "income:fortnightly",
			wantNext: "2026-04-02", // Friday 3 April 2026 is Good Friday
			wantCat:  insights.CategorySalary,
		},
		{
			name: "irregular gig income",
			txs: concat(
				credits("GIG PLATFORM", "", "85.40", "2026-03-02"),
				credits("GIG PLATFORM", "", "12.10", "2026-03-05"),
				credits("GIG PLATFORM", "", "140.00", "2026-03-17"),
				credits("GIG PLATFORM", "", "33.00", "2026-03-18"),
				credits("GIG PLATFORM", "", "61.75", "2026-04-09"),
			),
			asOf: "2026-04-10", cal: england,
			wantCadence: insights.CadenceIrregular, wantRule: "income:irregular",
			wantNext: "",
			wantCat:  insights.CategoryOtherIncome,
		},
		{
			name:        "two payments not enough",
			txs:         credits("ACME LTD", "SALARY", "2100.00", "2026-02-25", "2026-03-25"),
			asOf:        "2026-03-26",
			cal:         england,
			wantCadence: insights.CadenceIrregular, wantRule: "income:irregular",
			wantNext: "",
			wantCat:  insights.CategorySalary,
		},
		{
			name: "monthly transfers of varying size",
			txs: concat(
				credits("J SMITH", "", "50.00", "2026-01-10"),
				credits("J SMITH", "", "400.00", "2026-02-10"),
				credits("J SMITH", "", "20.00", "2026-03-10"),
				credits("J SMITH", "", "900.00", "2026-04-10"),
			),
			asOf: "2026-04-11", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-05-08", // 10 May 2026 is a Sunday
			wantCat:  insights.CategoryOtherIncome,
		},
		{
			name: "benefits",
			txs: credits("DWP UC", "", "612.00",
				"2026-01-12", "2026-02-12", "2026-03-12"),
			asOf: "2026-03-13", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-04-10", // 12 April 2026 is a Sunday
			wantCat:  insights.CategoryBenefits,
		},
		{
			name: "pension",
			// Paid on the 1st: New Year's Day and two Sundays move it into
			// the month before.
			txs: credits("ACME PENSION TRUSTEES", "", "950.00",
				"2025-12-31", "2026-01-30", "2026-02-27", "2026-04-01"),
			asOf: "2026-04-02", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-05-01",
			wantCat:  insights.CategoryPension,
		},
		{
			name: "scotland has no easter monday holiday",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2026-01-06", "2026-02-06", "2026-03-06"),
			asOf: "2026-03-10", cal: calendar.Scotland(),
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-04-06",
			wantCat:  insights.CategorySalary,
		},
		{
			name: "england moves easter monday payday",
			txs: credits("ACME LTD", "SALARY", "2100.00",
				"2026-01-06", "2026-02-06", "2026-03-06"),
			asOf: "2026-03-10", cal: england,
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day",
			wantNext: "2026-04-02",
			wantCat:  insights.CategorySalary,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			streams := DetectIncome(tc.txs, date(tc.asOf), tc.cal)
			if len(streams) != 1 {
				t.Fatalf("got %d streams, want 1: %+v", len(streams), streams)
			}
			s := streams[0]
			if s.Cadence != tc.wantCadence {
				t.Errorf("Cadence = %q, want %q", s.Cadence, tc.wantCadence)
			}
			if s.Rule != tc.wantRule {
				t.Errorf("Rule = %q, want %q", s.Rule, tc.wantRule)
			}
			if s.NextExpected.String() != tc.wantNext {
				t.Errorf("NextExpected = %q, want %q", s.NextExpected, tc.wantNext)
			}
			if s.Category != tc.wantCat {
				t.Errorf("Category = %q, want %q", s.Category, tc.wantCat)
			}
			if s.Payments != len(tc.txs) {
				t.Errorf("Payments = %d, want %d", s.Payments, len(tc.txs))
			}
			if want := tc.txs[len(tc.txs)-1].BookingDate; s.LastPaid != want {
				t.Errorf("LastPaid = %s, want %s", s.LastPaid, want)
			}
			if !s.NextExpected.IsZero() && !date(tc.asOf).Before(s.NextExpected) {
				t.Errorf("NextExpected %s is not after asOf %s", s.NextExpected, tc.asOf)
			}
		})
	}
}

func TestDetectIncome_jobChange(t *testing.T) {
	txs := concat(
		credits("OLD CO LTD", "SALARY", "2000.00",
			"2026-01-28", "2026-02-27", "2026-03-27", "2026-04-28", "2026-05-28", "2026-06-26"),
		credits("NEW CO LTD", "SALARY", "2400.00",
			"2026-07-15", "2026-08-14", "2026-09-15", "2026-10-15"),
	)
	streams := DetectIncome(txs, date("2026-10-20"), calendar.EnglandAndWales())
	if len(streams) != 2 {
		t.Fatalf("got %d streams, want 2: %+v", len(streams), streams)
	}

	old := findStream(t, streams, "OLD CO LTD")
	if old.Cadence != insights.CadenceMonthly {
		t.Errorf("old stream Cadence = %q, want monthly", old.Cadence)
	}
	if !old.NextExpected.IsZero() {
		t.Errorf("old stream NextExpected = %s, want zero (lapsed)", old.NextExpected)
	}
	if !strings.HasSuffix(old.Rule, ":lapsed") {
		t.Errorf("old stream Rule = %q, want a :lapsed suffix", old.Rule)
	}

	current := findStream(t, streams, "NEW CO LTD")
	if current.NextExpected != date("2026-11-13") { // 15 November 2026 is a Sunday
		t.Errorf("new stream NextExpected = %s, want 2026-11-13", current.NextExpected)
	}
	if current.TypicalAmount != amount("2400.00") {
		t.Errorf("new stream TypicalAmount = %s, want 2400", current.TypicalAmount)
	}

	next, ok := NextSalary(streams)
	if !ok {
		t.Fatal("NextSalary found no stream")
	}
	if next.Payer != "NEW CO LTD" {
		t.Errorf("NextSalary payer = %q, want NEW CO LTD", next.Payer)
	}
}

func TestDetectIncome_excluded(t *testing.T) {
	salary := credits("ACME LTD", "SALARY", "2100.00", "2026-01-23", "2026-02-25", "2026-03-25")
	pending := credits("ACME LTD", "SALARY", "2100.00", "2026-04-24")
	pending[0].Status = insights.StatusPending
	rejected := credits("OTHER LTD", "SALARY", "10.00", "2026-03-01")
	rejected[0].Status = insights.StatusRejected
	refund := credits("ACME LTD", "REFUND", "30.00", "2026-03-10")
	transfer := credits("", "FROM SAVINGS", "500.00", "2026-03-11")
	debit := credits("ACME LTD", "SALARY", "-5.00", "2026-03-12")
	future := credits("LATER LTD", "SALARY", "100.00", "2026-05-01")

	txs := concat(salary, pending, rejected, refund, transfer, debit, future)
	streams := DetectIncome(txs, date("2026-03-26"), calendar.EnglandAndWales())
	if len(streams) != 1 {
		t.Fatalf("got %d streams, want 1: %+v", len(streams), streams)
	}
	if streams[0].Payments != 3 {
		t.Errorf("Payments = %d, want 3", streams[0].Payments)
	}
	if streams[0].TypicalAmount != amount("2100.00") {
		t.Errorf("TypicalAmount = %s, want 2100", streams[0].TypicalAmount)
	}
	if txs[0].Category != "" {
		t.Errorf("DetectIncome changed the caller's transaction: Category = %q", txs[0].Category)
	}
}

func TestDetectIncome_grouping(t *testing.T) {
	txs := concat(
		credits("Acme Limited", "", "2000.00", "2026-01-23"),
		credits("ACME LTD", "", "2000.00", "2026-02-25"),
		credits("ACME LTD.", "", "2000.00", "2026-03-25"),
		credits("ACME LTD", "EXPENSES", "150.00", "2026-03-25"),
		credits("ACME LTD", "", "100.00", "2026-03-26"),
	)
	txs[len(txs)-1].Currency = "EUR"

	streams := DetectIncome(txs, date("2026-03-27"), calendar.EnglandAndWales())
	if len(streams) != 2 {
		t.Fatalf("got %d streams, want 2 (GBP and EUR): %+v", len(streams), streams)
	}
	gbp := streams[0]
	if gbp.Currency != "GBP" {
		gbp = streams[1]
	}
	if gbp.Payments != 4 {
		t.Errorf("GBP Payments = %d, want 4 credits", gbp.Payments)
	}
	if gbp.Cadence != insights.CadenceMonthly {
		t.Errorf("GBP Cadence = %q, want monthly (same-day credits are one payday)", gbp.Cadence)
	}
	if gbp.TypicalAmount != amount("2000.00") {
		t.Errorf("GBP TypicalAmount = %s, want 2000", gbp.TypicalAmount)
	}
}

func TestNextSalary_choice(t *testing.T) {
	stream := func(payer string, cat insights.Category, next string, amt string) insights.IncomeStream {
		s := insights.IncomeStream{Payer: payer, Category: cat, TypicalAmount: amount(amt)}
		if next != "" {
			s.NextExpected = date(next)
		}
		return s
	}
	cases := []struct {
		name      string
		streams   []insights.IncomeStream
		wantPayer string
		wantOK    bool
	}{
		{"none", nil, "", false},
		{"only benefits", []insights.IncomeStream{stream("DWP", insights.CategoryBenefits, "2026-04-10", "600")}, "", false},
		{"lapsed salary", []insights.IncomeStream{stream("OLD", insights.CategorySalary, "", "2000")}, "", false},
		{"soonest wins", []insights.IncomeStream{
			stream("MAIN", insights.CategorySalary, "2026-04-24", "2000"),
			stream("SIDE", insights.CategorySalary, "2026-04-17", "300"),
		}, "SIDE", true},
		{"larger breaks tie", []insights.IncomeStream{
			stream("SIDE", insights.CategorySalary, "2026-04-24", "300"),
			stream("MAIN", insights.CategorySalary, "2026-04-24", "2000"),
		}, "MAIN", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := NextSalary(tc.streams)
			if ok != tc.wantOK {
				t.Fatalf("ok = %v, want %v", ok, tc.wantOK)
			}
			if got.Payer != tc.wantPayer {
				t.Errorf("Payer = %q, want %q", got.Payer, tc.wantPayer)
			}
		})
	}
}
