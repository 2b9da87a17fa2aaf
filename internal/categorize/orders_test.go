package categorize

import (
	"testing"

	"github.com/openbanking-insights/insights"
)

func TestApplyOrders(t *testing.T) {
	asOf := insights.Date{Year: 2026, Month: 11, Day: 30}
	detected := []Commitment{
		{CustomerID: "c1", Payee: "HOLBECK LETTINGS", Category: insights.CategoryRent, PaymentType: "standing_order",
			Cadence: insights.CadenceMonthly, Payments: 12, Currency: "GBP", Rule: "commitment:monthly-fixed-day"},
		{CustomerID: "c1", Payee: "VIRGIN MEDIA", Category: insights.CategoryUtilities, PaymentType: "direct_debit",
			Cadence: insights.CadenceMonthly, Payments: 12, Currency: "GBP", Rule: "commitment:monthly-fixed-day"},
		{CustomerID: "c1", Payee: "STC", Category: insights.CategoryOther, PaymentType: "standing_order",
			Cadence: insights.CadenceMonthly, Payments: 6, TypicalAmount: 1500000, Currency: "GBP", Rule: "commitment:monthly-fixed-day"},
	}
	next := insights.Date{Year: 2026, Month: 12, Day: 5}
	orders := []PaymentOrder{
		{Kind: OrderStandingOrder, Payee: "HOLBECK LETTINGS LTD", Cadence: insights.CadenceMonthly,
			NextPayment: insights.Date{Year: 2026, Month: 12, Day: 1}, Amount: 89500000, Currency: "GBP"},
		{Kind: OrderDirectDebit, Payee: "Virgin Media", Currency: "GBP"},
		{Kind: OrderStandingOrder, Payee: "PULSE GYM", Cadence: insights.CadenceMonthly, NextPayment: next,
			Amount: 2999000, Currency: "GBP"},
		// A payment already past asOf gives no next date.
		{Kind: OrderDirectDebit, Payee: "AVIVA INSURANCE", NextPayment: insights.Date{Year: 2026, Month: 11, Day: 1},
			Amount: 945000, Currency: "GBP"},
		// A standing order known by its reference alone matches by
		// kind and amount.
		{Kind: OrderStandingOrder, Payee: "SAVE THE CHILDREN", Reference: "DONATION 12", Amount: 1500000, Currency: "GBP"},
		// A euro order does not match the sterling commitment.
		{Kind: OrderDirectDebit, Payee: "VIRGIN MEDIA", Amount: 100000, Currency: "EUR"},
	}
	got := ApplyOrders(detected, orders, "c1", asOf)

	byKey := map[string]Commitment{}
	for _, c := range got {
		byKey[c.Payee+" "+c.Currency] = c
	}
	if len(got) != 6 {
		t.Fatalf("commitments = %+v, want 3 detected and 3 added", got)
	}
	if c := byKey["STC GBP"]; c.Rule != ruleListedStandingOrder || c.Payments != 6 {
		t.Errorf("donation = %+v, want confirmed by amount", c)
	}
	if c := byKey["HOLBECK LETTINGS GBP"]; c.Rule != ruleListedStandingOrder || c.Payments != 12 || c.NextExpected.Day != 1 {
		t.Errorf("rent = %+v, want confirmed with the order's next date", c)
	}
	if c := byKey["VIRGIN MEDIA GBP"]; c.Rule != ruleListedDirectDebit || c.Payments != 12 {
		t.Errorf("broadband = %+v, want confirmed by its mandate", c)
	}
	gym := byKey["PULSE GYM GBP"]
	if gym.Payments != 0 || gym.NextExpected != next || gym.TypicalAmount != 2999000 || gym.Confidence != listedConfidence ||
		gym.PaymentType != OrderStandingOrder || gym.Rule != ruleListedStandingOrder {
		t.Errorf("gym = %+v, want a listed standing order", gym)
	}
	insurance := byKey["AVIVA INSURANCE GBP"]
	if insurance.Category != insights.CategoryInsurance || !insurance.NextExpected.IsZero() || insurance.Confidence != 0 ||
		insurance.Cadence != insights.CadenceIrregular {
		t.Errorf("insurance = %+v, want the insurance category, no next date and no confidence", insurance)
	}
	if c, ok := byKey["VIRGIN MEDIA EUR"]; !ok || c.Payments != 0 {
		t.Errorf("euro mandate = %+v, want a commitment of its own", c)
	}
	for i := 1; i < len(got); i++ {
		if got[i-1].Payee > got[i].Payee {
			t.Errorf("commitments not sorted by payee: %q before %q", got[i-1].Payee, got[i].Payee)
		}
	}
	if detected[0].Rule != "commitment:monthly-fixed-day" {
		t.Error("ApplyOrders modified its input")
	}
}

func TestApplyOrders_ownTransferSkipped(t *testing.T) {
	orders := []PaymentOrder{{Kind: OrderStandingOrder, Payee: "MISS A HARTLEY", Reference: "SAVINGS TRANSFER",
		Amount: 10000000, Currency: "GBP"}}
	got := ApplyOrders(nil, orders, "c1", insights.Date{Year: 2026, Month: 11, Day: 30})
	if len(got) != 0 {
		t.Errorf("commitments = %+v, want none for a transfer to savings", got)
	}
}
