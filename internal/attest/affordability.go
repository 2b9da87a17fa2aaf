package attest

import (
	"fmt"
	"math"

	"github.com/openbanking-insights/insights"
)

// Affordability is the value of the "affordability" claim: a customer's
// income and spending over whole calendar months, each figure stated only
// as a band from the tables below, never as an amount.
type Affordability struct {
	Months int `json:"months"`
	// FirstMonth and LastMonth bound the window, as "2026-06".
	FirstMonth string `json:"first_month"`
	LastMonth  string `json:"last_month"`
	// Monthly averages as money bands, such as "2000-2500 GBP".
	NetIncomeMonthly             string `json:"net_income_monthly"`
	CommittedSpendingMonthly     string `json:"committed_spending_monthly"`
	EssentialSpendingMonthly     string `json:"essential_spending_monthly"`
	DiscretionarySpendingMonthly string `json:"discretionary_spending_monthly"`
	DisposableIncomeMonthly      string `json:"disposable_income_monthly"`
	// GamblingShare is a band of gambling debits over all debits except
	// transfers, such as "<1%".
	GamblingShare string `json:"gambling_share"`
	// DaysInOverdraft is a band such as "1-5", or "unknown" without balances.
	DaysInOverdraft string `json:"days_in_overdraft"`
	// ReturnedPayments is the exact count of returned payments.
	ReturnedPayments int `json:"returned_payments"`
	// Volatility is "low", "medium" or "high", or "unknown" without balances.
	Volatility string `json:"volatility"`
}

// BandUnknown is the band of a figure the service had no data for.
const BandUnknown = "unknown"

// The band tables of the affordability claim. Each band contains its
// lower edge and not its upper one. docs/tokens.md lists the same bands;
// change both together, because verifiers match on the labels.
var (
	// moneyBandEdges are the edges of monthly money figures, in whole
	// currency units. Only disposable income goes below zero.
	moneyBandEdges = []int64{-1000, -500, 0, 250, 500, 750, 1000, 1500, 2000, 2500, 3000, 4000, 5000, 7500, 10000}

	// gamblingShareBands are the upper edges of gambling-share bands; a
	// share of exactly zero has the band "0%" of its own.
	gamblingShareBands = []struct {
		below float64
		label string
	}{
		{0.01, "<1%"},
		{0.05, "1-5%"},
		{0.10, "5-10%"},
		{0.25, "10-25%"},
		{math.Inf(1), "25%+"},
	}

	// overdraftDayBands are the upper edges, inclusive, of the bands of
	// days in overdraft.
	overdraftDayBands = []struct {
		through int
		label   string
	}{
		{0, "0"},
		{5, "1-5"},
		{15, "6-15"},
		{30, "16-30"},
		{90, "31-90"},
		{math.MaxInt, "91+"},
	}

	// volatilityBands are the upper edges of the bands of Volatility, the
	// average within-month standard deviation of the end-of-day balance
	// over the larger of monthly net income and monthly spending. A salary
	// spent evenly over the month gives about 0.3.
	volatilityBands = []struct {
		below float64
		label string
	}{
		{0.5, "low"},
		{1.0, "medium"},
		{math.Inf(1), "high"},
	}
)

// AffordabilityBands returns the token value of affordability figures:
// every money figure, ratio and day count as its band.
func AffordabilityBands(f insights.AffordabilityFigures) Affordability {
	a := Affordability{
		Months:                       f.Months,
		FirstMonth:                   yearMonth(f.FirstMonth),
		LastMonth:                    yearMonth(f.LastMonth),
		NetIncomeMonthly:             moneyBand(f.NetIncome, f.Currency),
		CommittedSpendingMonthly:     moneyBand(f.Committed, f.Currency),
		EssentialSpendingMonthly:     moneyBand(f.Essential, f.Currency),
		DiscretionarySpendingMonthly: moneyBand(f.Discretionary, f.Currency),
		DisposableIncomeMonthly:      moneyBand(f.Disposable, f.Currency),
		GamblingShare:                gamblingShareBand(f.GamblingShare),
		ReturnedPayments:             f.ReturnedPayments,
		DaysInOverdraft:              BandUnknown,
		Volatility:                   BandUnknown,
	}
	if f.BalancesKnown {
		a.DaysInOverdraft = overdraftDaysBand(f.DaysInOverdraft)
		a.Volatility = volatilityBand(f.Volatility)
	}
	return a
}

func yearMonth(d insights.Date) string { return fmt.Sprintf("%04d-%02d", d.Year, d.Month) }

// moneyBand returns the band of a, such as "2000-2500 GBP", "<-1000 GBP",
// "-500 to 0 GBP" or "10000+ GBP". A band with a negative edge uses "to",
// so that the minus sign is not read as a range.
func moneyBand(a insights.Amount, currency string) string {
	unit := insights.Amount(math.Pow10(insights.AmountScale))
	if a < insights.Amount(moneyBandEdges[0])*unit {
		return fmt.Sprintf("<%d %s", moneyBandEdges[0], currency)
	}
	for i := 1; i < len(moneyBandEdges); i++ {
		lower, upper := moneyBandEdges[i-1], moneyBandEdges[i]
		if a >= insights.Amount(upper)*unit {
			continue
		}
		if lower < 0 {
			return fmt.Sprintf("%d to %d %s", lower, upper, currency)
		}
		return fmt.Sprintf("%d-%d %s", lower, upper, currency)
	}
	return fmt.Sprintf("%d+ %s", moneyBandEdges[len(moneyBandEdges)-1], currency)
}

func gamblingShareBand(share float64) string {
	if share <= 0 {
		return "0%"
	}
	for _, b := range gamblingShareBands {
		if share < b.below {
			return b.label
		}
	}
	return gamblingShareBands[len(gamblingShareBands)-1].label
}

func overdraftDaysBand(days int) string {
	for _, b := range overdraftDayBands {
		if days <= b.through {
			return b.label
		}
	}
	return overdraftDayBands[len(overdraftDayBands)-1].label
}

func volatilityBand(v float64) string {
	for _, b := range volatilityBands {
		if v < b.below {
			return b.label
		}
	}
	return volatilityBands[len(volatilityBands)-1].label
}
