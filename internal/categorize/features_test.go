package categorize

import (
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

func TestCategorize_addedRules(t *testing.T) {
	cases := []struct {
		name     string
		tx       tx
		wantCat  insights.Category
		wantRule string
	}{
		{"bnpl direct debit", tx{amount: "-41.66", counterparty: "KLARNA", code: "PMNT-IDDT-PMDD"},
			CategoryBuyNowPayLater, "text:buy-now-pay-later"},
		{"bnpl card on misc mcc", tx{amount: "-30.00", counterparty: "CLEARPAY", mcc: "5999", code: "PMNT-CCRD-POSD"},
			CategoryBuyNowPayLater, "text:buy-now-pay-later"},
		{"bnpl name on shop mcc stays shop", tx{amount: "-30.00", counterparty: "KLARNA*ASOS", mcc: "5651", code: "PMNT-CCRD-POSD"},
			insights.CategoryShopping, "mcc:5651"},
		{"gig payout", tx{amount: "120.00", counterparty: "UBER BV", description: "UBER PAYOUT", code: "PMNT-RCDT-DMCT"},
			CategoryGigIncome, "text:gig"},
		{"gig name as debit is transport", tx{amount: "-12.00", counterparty: "UBER", proprietary: "DEB"},
			insights.CategoryTransport, "merchant:transport"},
		{"consumer loan domain code", tx{amount: "-120.00", counterparty: "ACME FINANCE", code: "LDAS-CSLN-PPAY"},
			insights.CategoryLoan, "btc:ConsumerLoans"},
		{"mortgage loan family name", tx{amount: "-700.00", counterparty: "HALIFAX", code: "MortgageLoans", subCode: "Interest"},
			insights.CategoryMortgage, "btc:MortgageLoans"},
		{"savings word is transfer", tx{amount: "-100.00", counterparty: "MR W CHEN", description: "MR W CHEN SAVINGS",
			code: "IssuedCreditTransfer", subCode: "StandingOrder"}, insights.CategoryTransfer, "text:own-account-transfer"},
		{"rental agent mcc", tx{amount: "-650.00", counterparty: "CITY LETS", mcc: "6513", code: "PMNT-CCRD-POSD"},
			insights.CategoryRent, "mcc:6513"},
		{"mobile brand is utilities", tx{amount: "-10.00", description: "D/D VOXI", code: "IssuedDirectDebits"},
			insights.CategoryUtilities, "text:utilities"},
	}
	c := New()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.tx.transaction()
			c.Categorize(&tr)
			if tr.Category != tc.wantCat {
				t.Errorf("Category = %q, want %q", tr.Category, tc.wantCat)
			}
			if tr.CategoryRule != tc.wantRule {
				t.Errorf("CategoryRule = %q, want %q", tr.CategoryRule, tc.wantRule)
			}
		})
	}
}

func TestWithOverrides_rules(t *testing.T) {
	base := New()
	c := base.WithOverrides(Overrides{
		{ID: "garage", Counterparty: "R Patel", Direction: Debits, Category: insights.CategoryRent},
		{ID: "mum", Counterparty: "MRS J PATEL", Category: insights.CategoryTransfer},
		{ID: "bad", Counterparty: "", Category: insights.CategoryRent}, // skipped: invalid
	})
	cases := []struct {
		name     string
		tx       tx
		wantCat  insights.Category
		wantRule string
	}{
		{"debit override", tx{amount: "-85.00", counterparty: "R PATEL", code: "PMNT-ICDT-DMCT"}, insights.CategoryRent, "override:garage"},
		{"direction limits override", tx{amount: "85.00", counterparty: "R PATEL", code: "PMNT-RCDT-DMCT"},
			insights.CategoryOtherIncome, "btc:ReceivedCreditTransfers"},
		{"any direction", tx{amount: "50.00", counterparty: "Mrs J. Patel"}, insights.CategoryTransfer, "override:mum"},
		{"narrative when no name", tx{amount: "-85.00", description: "FPO R PATEL"}, insights.CategoryRent, "override:garage"},
		{"override beats mcc", tx{amount: "-9.00", counterparty: "R PATEL", mcc: "5814"}, insights.CategoryRent, "override:garage"},
		{"other payee untouched", tx{amount: "-9.00", counterparty: "KFC", mcc: "5814"}, insights.CategoryEatingOut, "mcc:5814"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tr := tc.tx.transaction()
			c.Categorize(&tr)
			if tr.Category != tc.wantCat {
				t.Errorf("Category = %q, want %q", tr.Category, tc.wantCat)
			}
			if tr.CategoryRule != tc.wantRule {
				t.Errorf("CategoryRule = %q, want %q", tr.CategoryRule, tc.wantRule)
			}
		})
	}

	// The original Categorizer has no overrides.
	tr := tx{amount: "-85.00", counterparty: "R PATEL", code: "PMNT-ICDT-DMCT"}.transaction()
	base.Categorize(&tr)
	if tr.CategoryRule == "override:garage" {
		t.Error("WithOverrides changed the Categorizer it was called on")
	}
}

func TestOverridesValidate_errors(t *testing.T) {
	cases := []struct {
		name      string
		overrides Overrides
		wantErr   string
	}{
		{"valid", Overrides{{ID: "a", Counterparty: "ACME", Category: insights.CategoryRent}}, ""},
		{"missing id", Overrides{{Counterparty: "ACME", Category: insights.CategoryRent}},
			"invalid overrides[0].id: must not be empty"},
		{"noise only", Overrides{{ID: "a", Counterparty: "DD 1234567", Category: insights.CategoryRent}},
			`invalid overrides[0].counterparty "DD 1234567": nothing left after normalising`},
		{"bad direction", Overrides{{ID: "a", Counterparty: "ACME", Direction: "in", Category: insights.CategoryRent}},
			`invalid overrides[0].direction "in": want "credit", "debit" or empty`},
		{"unknown category", Overrides{{ID: "a", Counterparty: "ACME", Category: "rent"}},
			`invalid overrides[0].category "rent": not a category of the taxonomy`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.overrides.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.wantErr {
				t.Errorf("Validate() = %q, want %q", got, tc.wantErr)
			}
		})
	}
}

func TestGroupOf_everyCategory(t *testing.T) {
	for _, c := range Categories() {
		if g := GroupOf(c); g == "" {
			t.Errorf("GroupOf(%s) is empty", c)
		}
	}
	if g := GroupOf(insights.CategoryTransfer); g != GroupTransfer {
		t.Errorf("GroupOf(transfer) = %s, want %s", g, GroupTransfer)
	}
	if g := GroupOf(CategoryBuyNowPayLater); g != GroupCredit {
		t.Errorf("GroupOf(buy_now_pay_later) = %s, want %s", g, GroupCredit)
	}
	if GroupOf(insights.CategoryUncategorized) != GroupOther {
		t.Error("GroupOf(uncategorized) is not other")
	}
}

func TestDetectIncome_addedCadences(t *testing.T) {
	scotland := calendar.Scotland()
	cases := []struct {
		name        string
		txs         []insights.Transaction
		asOf        string
		wantCadence insights.Cadence
		wantRule    string
		wantNext    string
	}{
		{
			// The 15th and the last working day. Saturday 15 August,
			// Saturday 31 October and Sunday 15 November 2026 move
			// earlier. St Andrew's Day is Monday 30 November 2026, a
			// Scottish bank holiday, so the next payday is Friday 27.
			name: "twice monthly scotland",
			txs: credits("GLEN RETAIL GROUP PLC", "SALARY", "1090.00",
				"2026-08-14", "2026-08-31", "2026-09-15", "2026-09-30", "2026-10-15", "2026-10-30",
				"2026-11-13"),
			asOf:        "2026-11-20",
			wantCadence: CadenceTwiceMonthly, wantRule: "income:twice-monthly", wantNext: "2026-11-27",
		},
		{
			// A standing order from a person due on the 1st arrives on the
			// next working day: Saturday 1 August 2026 gives Monday 3.
			name: "standing order moves later",
			txs: credits("M WHITFIELD", "LODGER", "350.00",
				"2026-06-01", "2026-07-01", "2026-08-03", "2026-09-01", "2026-10-01", "2026-11-02"),
			asOf:        "2026-11-20",
			wantCadence: insights.CadenceMonthly, wantRule: "income:monthly-fixed-day", wantNext: "2026-12-01",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			streams := DetectIncome(tc.txs, date(tc.asOf), scotland)
			if len(streams) != 1 {
				t.Fatalf("got %d streams, want 1", len(streams))
			}
			s := streams[0]
			if s.Cadence != tc.wantCadence {
				t.Errorf("Cadence = %q, want %q", s.Cadence, tc.wantCadence)
			}
			if s.Rule != tc.wantRule {
				t.Errorf("Rule = %q, want %q", s.Rule, tc.wantRule)
			}
			if s.NextExpected.String() != tc.wantNext {
				t.Errorf("NextExpected = %s, want %s", s.NextExpected, tc.wantNext)
			}
		})
	}
}

func TestDetectIncomeDetailed_confidenceAndBand(t *testing.T) {
	england := calendar.EnglandAndWales()
	steady := credits("ACME LTD", "SALARY", "2000.00",
		"2026-01-23", "2026-02-25", "2026-03-25", "2026-04-24", "2026-05-22", "2026-06-25")
	steady[5].Amount = amount("2600.00") // a bonus month
	lapsed := credits("OLD LTD", "SALARY", "1500.00", "2025-10-24", "2025-11-25", "2025-12-24")
	gig := concat(credits("GIG PLATFORM", "", "85.40", "2026-03-02"), credits("GIG PLATFORM", "", "12.10", "2026-05-09"))

	streams := DetectIncomeDetailed(concat(steady, lapsed, gig), date("2026-06-26"), england)
	byPayer := map[string]Stream{}
	for _, s := range streams {
		byPayer[s.Payer] = s
	}

	acme := byPayer["ACME LTD"]
	scored := DetectIncomeScored(concat(steady, lapsed, gig), date("2026-06-26"), england)
	if len(scored) != len(streams) || scored[0].Payer != "ACME LTD" {
		t.Fatalf("DetectIncomeScored returned %d streams, first %q, want %d, ACME LTD first", len(scored), scored[0].Payer, len(streams))
	}
	// 6 payments (0.92), 5 of them within 25% of the median (5/6), all of
	// the payer's payments in the run: 0.92 * 5/6 * 1.
	if score := scored[0].Confidence; score < 0.76 || score > 0.78 {
		t.Errorf("steady stream score = %.3f, want about 0.77", score)
	}
	if want := CalibratedConfidence(scored[0].Confidence); acme.Confidence != want {
		t.Errorf("steady stream Confidence = %.3f, want the calibrated score %.3f", acme.Confidence, want)
	}
	if acme.AmountLow != amount("2000.00") {
		t.Errorf("steady stream AmountLow = %s, want 2000", acme.AmountLow)
	}
	if acme.AmountHigh != amount("2600.00") {
		t.Errorf("steady stream AmountHigh = %s, want 2600 (the 90th percentile of 6 is the 6th)", acme.AmountHigh)
	}
	if c := byPayer["OLD LTD"].Confidence; c != 0 {
		t.Errorf("lapsed stream Confidence = %.3f, want 0", c)
	}
	if c := byPayer["GIG PLATFORM"].Confidence; c != 0 {
		t.Errorf("irregular stream Confidence = %.3f, want 0", c)
	}
	if g := byPayer["GIG PLATFORM"]; g.AmountLow != amount("12.10") || g.AmountHigh != amount("85.40") {
		t.Errorf("irregular band = %s..%s, want 12.10..85.40", g.AmountLow, g.AmountHigh)
	}

	// DetectIncome returns the same streams without the extra fields.
	plain := DetectIncome(concat(steady, lapsed, gig), date("2026-06-26"), england)
	for i := range plain {
		if plain[i] != streams[i].IncomeStream {
			t.Errorf("DetectIncome[%d] = %+v, differs from DetectIncomeDetailed", i, plain[i])
		}
	}
}

func TestDetectCommitments_schedules(t *testing.T) {
	england := calendar.EnglandAndWales()
	debit := func(payee, code string, amt string, dates ...string) []insights.Transaction {
		txs := credits(payee, "", amt, dates...)
		for i := range txs {
			txs[i].BankTransactionCode = code
		}
		return txs
	}
	txs := concat(
		// Rent due on the 1st by standing order: Saturday 1 August 2026
		// is paid on Monday 3.
		debit("HOLBECK LETTINGS LTD", "PMNT-ICDT-STDO", "-895.00",
			"2026-06-01", "2026-07-01", "2026-08-03", "2026-09-01", "2026-10-01"),
		// A direct debit on the 14th, 14 June 2026 being a Sunday.
		debit("OCTOPUS ENERGY", "PMNT-IDDT-PMDD", "-95.00", "2026-06-15", "2026-07-14", "2026-08-14", "2026-09-14"),
		// Card spending is not a commitment.
		debit("TESCO STORES", "PMNT-CCRD-POSD", "-12.00", "2026-06-01", "2026-07-01", "2026-08-01"),
		// Own-account transfers are not either.
		debit("", "PMNT-ICDT-STDO", "-100.00", "2026-06-01", "2026-07-01", "2026-08-03"),
	)
	txs[len(txs)-1].Description, txs[len(txs)-2].Description, txs[len(txs)-3].Description = "TO SAVINGS", "TO SAVINGS", "TO SAVINGS"

	got := DetectCommitments(txs, date("2026-10-05"), england)
	if len(got) != 2 {
		t.Fatalf("got %d commitments, want 2: %+v", len(got), got)
	}
	rent, energy := got[0], got[1]
	if rent.Payee != "HOLBECK LETTINGS LTD" || rent.Category != insights.CategoryRent {
		t.Errorf("first commitment = %s %s, want HOLBECK LETTINGS LTD housing.rent", rent.Payee, rent.Category)
	}
	if rent.NextExpected != date("2026-11-02") { // Sunday 1 November 2026 moves to Monday
		t.Errorf("rent NextExpected = %s, want 2026-11-02", rent.NextExpected)
	}
	if rent.PaymentType != "standing_order" {
		t.Errorf("rent PaymentType = %q, want standing_order", rent.PaymentType)
	}
	if rent.TypicalAmount != amount("895.00") {
		t.Errorf("rent TypicalAmount = %s, want 895 (positive)", rent.TypicalAmount)
	}
	if energy.Category != insights.CategoryUtilities || energy.NextExpected != date("2026-10-14") {
		t.Errorf("energy = %s next %s, want utilities next 2026-10-14", energy.Category, energy.NextExpected)
	}
	if energy.Rule != "commitment:monthly-fixed-day" {
		t.Errorf("energy Rule = %q, want commitment:monthly-fixed-day", energy.Rule)
	}
	if energy.Cadence != insights.CadenceMonthly {
		t.Errorf("energy Cadence = %q, want monthly", energy.Cadence)
	}
}

func TestCategorizeHistory_salaryFromStream(t *testing.T) {
	txs := concat(
		credits("LAGAN FOODS LTD", "", "910.00", "2026-08-07", "2026-08-21", "2026-09-04", "2026-09-18"),
		credits("J BLOGGS", "", "20.00", "2026-08-09"),
	)
	New().CategorizeHistory(txs, date("2026-09-20"), calendar.NorthernIreland())
	for _, tr := range txs[:4] {
		if tr.Category != insights.CategorySalary || tr.CategoryRule != "stream:fortnightly" {
			t.Errorf("%s credit = %s by %s, want income.salary by stream:fortnightly", tr.BookingDate, tr.Category, tr.CategoryRule)
		}
	}
	if last := txs[4]; last.Category != insights.CategoryOtherIncome {
		t.Errorf("one-off credit = %s, want income.other", last.Category)
	}

	// An override to income.other survives the stream.
	overridden := credits("LAGAN FOODS LTD", "", "910.00", "2026-08-07", "2026-08-21", "2026-09-04", "2026-09-18")
	New().WithOverrides(Overrides{{ID: "side", Counterparty: "LAGAN FOODS LTD", Category: insights.CategoryOtherIncome}}).
		CategorizeHistory(overridden, date("2026-09-20"), calendar.NorthernIreland())
	for _, tr := range overridden {
		if tr.CategoryRule != "override:side" {
			t.Errorf("%s overridden credit rule = %s, want override:side", tr.BookingDate, tr.CategoryRule)
		}
	}
}

func TestCalibratedConfidence_steps(t *testing.T) {
	steps := ConfidenceSteps()
	if len(steps) == 0 || steps[0].From != 0 {
		t.Fatalf("steps %v, want a first step from 0", steps)
	}
	for i := 1; i < len(steps); i++ {
		if steps[i].From <= steps[i-1].From || steps[i].Confidence < steps[i-1].Confidence {
			t.Errorf("step %d %+v after %+v: want rising From and a Confidence that does not fall", i, steps[i], steps[i-1])
		}
	}
	if c := CalibratedConfidence(0); c != 0 {
		t.Errorf("CalibratedConfidence(0) = %v, want 0 for an irregular or lapsed stream", c)
	}
	for _, s := range steps {
		if c := CalibratedConfidence(max(s.From, 0.001)); c != s.Confidence {
			t.Errorf("CalibratedConfidence(%v) = %v, want the step's %v", s.From, c, s.Confidence)
		}
		if s.Confidence < 0 || s.Confidence > 1 {
			t.Errorf("step %+v: Confidence outside 0..1", s)
		}
	}
	if c, last := CalibratedConfidence(1), steps[len(steps)-1].Confidence; c != last {
		t.Errorf("CalibratedConfidence(1) = %v, want the last step's %v", c, last)
	}
}
