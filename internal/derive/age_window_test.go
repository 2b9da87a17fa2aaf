package derive

import (
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// TestDerive_dataWindows checks the window of stored data each claim kind
// reports, which every token states in its "consent" claim.
func TestDerive_dataWindows(t *testing.T) {
	e := storetest.New(t)
	insertParty(t, e, "c", party{id: "p1", birth: "1990-02-03", postCode: "SW1A 1AA"})
	insertCredits(t, e, "c", mustTime(t, "2026-11-30T06:00:00Z"),
		salaries("ACME LOGISTICS LTD", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25")...)
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")

	// insertParty stores the row with the engine's clock.
	stored := time.Now()
	for _, req := range []insights.ClaimRequest{
		{Kind: insights.ClaimAgeOver, MinimumAge: 18},
		{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"},
	} {
		res := derive1(t, d, "c", req, now)
		if res.DataFrom.IsZero() || !res.DataFrom.Equal(res.DataTo) || res.DataTo.Sub(stored).Abs() > time.Minute {
			t.Errorf("%s: data window %v to %v; want the party's storage time at both ends", req.Kind, res.DataFrom, res.DataTo)
		}
	}

	salary := derive1(t, d, "c", insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}, now)
	if !salary.DataFrom.IsZero() || salary.DataTo.IsZero() || !salary.DataTo.Equal(salary.AsOf) {
		t.Errorf("salary: data window %v to %v; want no start and the derivation time %v", salary.DataFrom, salary.DataTo, salary.AsOf)
	}
	if salary.SalaryAmount != 0 || salary.SalaryCurrency != "" {
		t.Errorf("salary amount %s %s without SalaryAmountBand; want none", salary.SalaryAmount, salary.SalaryCurrency)
	}
	band := derive1(t, d, "c", insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true}, now)
	if band.SalaryAmount != mustAmount(t, "2100.00") || band.SalaryCurrency != "GBP" {
		t.Errorf("salary amount = %s %s; want 2100.00 GBP with SalaryAmountBand", band.SalaryAmount, band.SalaryCurrency)
	}
}

func TestDerive_dataWindowAffordability(t *testing.T) {
	e := storetest.New(t)
	insertCredits(t, e, "c", mustTime(t, "2026-11-30T06:00:00Z"),
		salaries("ACME LOGISTICS LTD", "2026-07-24", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25")...)
	d := &Deriver{Engine: e}
	res := derive1(t, d, "c", insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 3}, mustTime(t, "2026-12-04T12:00:00Z"))
	if !res.Available {
		t.Fatal("affordability unavailable")
	}
	// September to November in UK time: GMT, so UK midnight is UTC midnight
	// at the end, and BST (UTC+1) on 1 September.
	if got, want := res.DataFrom.Format(time.RFC3339), "2026-08-31T23:00:00Z"; got != want {
		t.Errorf("DataFrom = %s, want %s", got, want)
	}
	if got, want := res.DataTo.Format(time.RFC3339), "2026-12-01T00:00:00Z"; got != want {
		t.Errorf("DataTo = %s, want %s", got, want)
	}
}

func TestDerive_amountBandOnlyForSalary(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	req := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18, SalaryAmountBand: true}
	_, err := d.Derive(t.Context(), "c", []insights.ClaimRequest{req}, time.Now())
	if insights.ErrorCode(err) != insights.ErrInvalid {
		t.Errorf("error = %v; want invalid for SalaryAmountBand on an age claim", err)
	}
}
