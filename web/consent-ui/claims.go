package consentui

import (
	"fmt"
	"strconv"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// claimView is one claim as shown to the customer. Sentence is the exact
// statement and value the client will receive. Note explains an unavailable
// value, or names the data a value is based on.
type claimView struct {
	Sentence  string
	Available bool
	Note      string
}

// claimViews renders every claim result for client. It fails on a claim kind
// it cannot put into words, because a customer must never approve sharing
// something the page did not show.
func claimViews(t translator, client string, results []insights.ClaimResult) ([]claimView, error) {
	views := make([]claimView, 0, len(results))
	for i, res := range results {
		view, err := claimSentence(t, client, res)
		if err != nil {
			return nil, fmt.Errorf("claim %d: %w", i, err)
		}
		views = append(views, view)
	}
	return views, nil
}

// claimLabel returns the words that name req's claim, such as "Over 18",
// without its value.
func claimLabel(t translator, req insights.ClaimRequest) (string, error) {
	switch req.Kind {
	case insights.ClaimAgeOver:
		return t.T("claim.age.label", "age", req.MinimumAge), nil
	case insights.ClaimFundsAtLeast:
		return t.T("claim.funds.label",
			"amount", t.Money(req.Amount, req.Currency),
			"currency", t.CurrencyName(req.Currency)), nil
	case insights.ClaimAddressMatches:
		return t.T("claim.address.label", "postcode", req.PostCode), nil
	case insights.ClaimNextSalaryDate:
		return t.T("claim.salary.label"), nil
	case insights.ClaimAffordability:
		return t.T("claim.affordability.label", "months", req.Months), nil
	}
	return "", fmt.Errorf("no wording for claim kind %s", strconv.Quote(string(req.Kind)))
}

func claimSentence(t translator, client string, res insights.ClaimResult) (claimView, error) {
	req := res.Request
	label, err := claimLabel(t, req)
	if err != nil {
		return claimView{}, err
	}
	var unavailableNote string
	switch req.Kind {
	case insights.ClaimAgeOver:
		unavailableNote = t.T("claim.age.unavailable", "client", client)
	case insights.ClaimFundsAtLeast:
		unavailableNote = t.T("claim.funds.unavailable", "client", client, "currency", t.CurrencyName(req.Currency))
	case insights.ClaimAddressMatches:
		unavailableNote = t.T("claim.address.unavailable", "client", client)
	case insights.ClaimNextSalaryDate:
		unavailableNote = t.T("claim.salary.unavailable", "client", client)
	case insights.ClaimAffordability:
		unavailableNote = t.T("claim.affordability.unavailable", "client", client, "months", req.Months)
	}

	// A salary result without a date is no result, because an irregular
	// income stream has no next payment to promise.
	available := res.Available
	if req.Kind == insights.ClaimNextSalaryDate && res.NextDate.IsZero() {
		available = false
	}
	if req.Kind == insights.ClaimAffordability && res.Affordability == nil {
		available = false
	}
	if !available {
		return claimView{
			Sentence: t.T("claim.sentence", "label", label, "value", t.T("value.unavailable")),
			Note:     unavailableNote,
		}, nil
	}

	view := claimView{Available: true}
	switch req.Kind {
	case insights.ClaimNextSalaryDate:
		value := t.Date(res.NextDate)
		if cadence, ok := t.catalog["cadence."+string(res.Cadence)]; ok {
			value = t.T("claim.salary.value", "date", value, "cadence", cadence)
		}
		view.Sentence = t.T("claim.sentence", "label", label, "value", value)
	case insights.ClaimAffordability:
		view.Sentence = t.T("claim.sentence", "label", label, "value", affordabilityValue(t, *res.Affordability))
		view.Note = t.T("claim.affordability.note", "client", client)
	default:
		view.Sentence = t.T("claim.sentence", "label", label, "value", yesNo(t, res.Holds))
	}
	if req.Kind == insights.ClaimFundsAtLeast && !res.AsOf.IsZero() {
		view.Note = t.T("claim.funds.asof", "datetime", t.DateTime(res.AsOf))
	}
	return view, nil
}

func yesNo(t translator, b bool) string {
	if b {
		return t.T("value.yes")
	}
	return t.T("value.no")
}

// affordabilityValue renders the bands the token will carry, in the
// token's own labels: money and percentage bands as they are, band words
// such as "low" translated.
func affordabilityValue(t translator, f insights.AffordabilityFigures) string {
	bands := attest.AffordabilityBands(f)
	word := func(band string) string { return t.T("claim.affordability.band." + band) }
	overdraft := bands.DaysInOverdraft
	if overdraft == attest.BandUnknown {
		overdraft = word(overdraft)
	}
	return t.T("claim.affordability.value",
		"first", t.Month(f.FirstMonth),
		"last", t.Month(f.LastMonth),
		"income", bands.NetIncomeMonthly,
		"committed", bands.CommittedSpendingMonthly,
		"essential", bands.EssentialSpendingMonthly,
		"discretionary", bands.DiscretionarySpendingMonthly,
		"disposable", bands.DisposableIncomeMonthly,
		"gambling", bands.GamblingShare,
		"overdraft", overdraft,
		"returned", bands.ReturnedPayments,
		"volatility", word(bands.Volatility))
}
