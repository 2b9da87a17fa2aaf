package derive

import (
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestDerive_fundsAtLeast(t *testing.T) {
	e := storetest.New(t)

	// "multi": two GBP accounts and a EUR one. GBP funds are 700.00 (the
	// newest InterimAvailable of acc-1) plus 300.00 (1300.00 on acc-2 less
	// its included 1000.00 overdraft) = 1000.00, as of acc-2's 08:00.
	for _, b := range []balance{
		{account: "acc-1", typ: "InterimAvailable", amount: "100.00", currency: "GBP", asOf: "2026-11-29T10:00:00Z"},
		{account: "acc-1", typ: "InterimAvailable", amount: "700.00", currency: "GBP", asOf: "2026-11-30T10:00:00Z"},
		{account: "acc-1", typ: "ClosingBooked", amount: "9650.00", currency: "GBP", asOf: "2026-11-30T11:00:00Z"},
		{account: "acc-1", typ: "ForwardAvailable", amount: "9999.00", currency: "GBP", asOf: "2026-11-30T11:00:00Z"},
		{account: "acc-2", typ: "InterimAvailable", amount: "1300.00", currency: "GBP", asOf: "2026-11-30T08:00:00Z",
			creditLineIncluded: true, creditLine: "1000.00"},
		{account: "acc-3", typ: "InterimAvailable", amount: "5000.00", currency: "EUR", asOf: "2026-11-30T09:00:00Z"},
	} {
		insertBalance(t, e, "multi", b)
	}

	// "fallback": no available type, so Expected beats ClosingBooked.
	insertBalance(t, e, "fallback", balance{account: "acc-1", typ: "ClosingBooked", amount: "50.00", currency: "GBP", asOf: "2026-11-30T00:00:00Z"})
	insertBalance(t, e, "fallback", balance{account: "acc-1", typ: "Expected", amount: "40.00", currency: "GBP", asOf: "2026-11-29T00:00:00Z"})

	// "booked": only booked balances, the newest of InterimBooked and
	// ClosingBooked counts.
	insertBalance(t, e, "booked", balance{account: "acc-1", typ: "ClosingBooked", amount: "50.00", currency: "GBP", asOf: "2026-11-29T23:59:59Z"})
	insertBalance(t, e, "booked", balance{account: "acc-1", typ: "InterimBooked", amount: "20.00", currency: "GBP", asOf: "2026-11-30T09:00:00Z"})

	// "overdrawn": a debit balance inside an included overdraft.
	insertBalance(t, e, "overdrawn", balance{account: "acc-1", typ: "InterimAvailable", amount: "400.00", currency: "GBP",
		asOf: "2026-11-30T10:00:00Z", creditLineIncluded: true, creditLine: "500.00"})

	// "forward-only": no usable type at all.
	insertBalance(t, e, "forward-only", balance{account: "acc-1", typ: "ForwardAvailable", amount: "50.00", currency: "GBP", asOf: "2026-11-30T00:00:00Z"})

	tests := []struct {
		name, customer, amount, currency string
		wantAvl, wantHold                bool
		wantAsOf                         string
	}{
		{name: "sum equal", customer: "multi", amount: "1000.00", currency: "GBP", wantAvl: true, wantHold: true, wantAsOf: "2026-11-30T08:00:00Z"},
		{name: "sum short by a penny", customer: "multi", amount: "1000.01", currency: "GBP", wantAvl: true, wantAsOf: "2026-11-30T08:00:00Z"},
		{name: "overdraft not funds", customer: "multi", amount: "1500.00", currency: "GBP", wantAvl: true, wantAsOf: "2026-11-30T08:00:00Z"},
		{name: "other currency", customer: "multi", amount: "5000.00", currency: "EUR", wantAvl: true, wantHold: true, wantAsOf: "2026-11-30T09:00:00Z"},
		{name: "no balance in currency", customer: "multi", amount: "1.00", currency: "USD"},
		{name: "expected over booked", customer: "fallback", amount: "40.00", currency: "GBP", wantAvl: true, wantHold: true, wantAsOf: "2026-11-29T00:00:00Z"},
		{name: "expected short", customer: "fallback", amount: "40.01", currency: "GBP", wantAvl: true, wantAsOf: "2026-11-29T00:00:00Z"},
		{name: "newest booked", customer: "booked", amount: "20.00", currency: "GBP", wantAvl: true, wantHold: true, wantAsOf: "2026-11-30T09:00:00Z"},
		{name: "newest booked short", customer: "booked", amount: "20.01", currency: "GBP", wantAvl: true, wantAsOf: "2026-11-30T09:00:00Z"},
		{name: "overdrawn zero", customer: "overdrawn", amount: "0", currency: "GBP", wantAvl: true, wantAsOf: "2026-11-30T10:00:00Z"},
		{name: "forward only", customer: "forward-only", amount: "1.00", currency: "GBP"},
		{name: "no data", customer: "nobody", amount: "1.00", currency: "GBP"},
	}
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: mustAmount(t, tt.amount), Currency: tt.currency}
			res := derive1(t, d, tt.customer, req, now)
			if res.Available != tt.wantAvl {
				t.Errorf("Available = %v, want %v", res.Available, tt.wantAvl)
			}
			if res.Holds != tt.wantHold {
				t.Errorf("Holds = %v, want %v", res.Holds, tt.wantHold)
			}
			var wantAsOf string
			if !res.AsOf.IsZero() {
				wantAsOf = res.AsOf.Format("2006-01-02T15:04:05Z07:00")
			}
			if wantAsOf != tt.wantAsOf {
				t.Errorf("AsOf = %q, want %q", wantAsOf, tt.wantAsOf)
			}
		})
	}
}

func TestFunds_total(t *testing.T) {
	e := storetest.New(t)
	insertBalance(t, e, "c", balance{account: "a", typ: "InterimAvailable", amount: "0.00001", currency: "GBP", asOf: "2026-11-30T10:00:00Z"})
	insertBalance(t, e, "c", balance{account: "b", typ: "ClosingAvailable", amount: "-250.5", currency: "GBP", asOf: "2026-11-30T10:00:00Z"})

	d := &Deriver{Engine: e}
	total, _, _, accounts, err := d.funds(t.Context(), "c", "GBP", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustAmount(t, "-250.49999"); total != want {
		t.Errorf("total = %s, want %s", total, want)
	}
	if accounts != 2 {
		t.Errorf("accounts = %d, want 2", accounts)
	}
}
