package consentui

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// claimView is one claim as shown to the customer. Sentence is the exact
// statement and value the client will receive, and Details are further
// members of the same claim, such as a salary's amount band. Note explains
// an unavailable value, or names the data a value is based on.
type claimView struct {
	Sentence  string
	Details   []string
	Available bool
	Note      string
	// FullAddress is the address the client receives if the customer ticks
	// the box to share it; nil unless the claim requests it and the bank
	// gave an address.
	FullAddress *addressChoice
}

// addressChoice is the customer's whole address, offered for sharing.
type addressChoice struct {
	Label string   // the checkbox label, naming the client
	Lines []string // the address as the client would receive it
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
// without its value. client is the requesting client's name.
func claimLabel(t translator, client string, req insights.ClaimRequest) (string, error) {
	switch req.Kind {
	case insights.ClaimAgeOver:
		return t.T("claim.age.label", "age", req.MinimumAge), nil
	case insights.ClaimFundsAtLeast:
		if req.AverageDays > 0 {
			return t.T("claim.funds.average.label",
				"amount", t.Money(req.Amount, req.Currency),
				"days", t.count("duration.days", int64(req.AverageDays)),
				"currency", t.CurrencyName(req.Currency)), nil
		}
		return t.T("claim.funds.label",
			"amount", t.Money(req.Amount, req.Currency),
			"currency", t.CurrencyName(req.Currency)), nil
	case insights.ClaimAddressMatches:
		return addressLabel(t, client, req)
	case insights.ClaimNextSalaryDate:
		return t.T("claim.salary.label"), nil
	case insights.ClaimAffordability:
		return t.T("claim.affordability.label", "months", req.Months), nil
	}
	return "", fmt.Errorf("no wording for claim kind %s", strconv.Quote(string(req.Kind)))
}

// addressLabel names each form of address claim: a postcode match, a
// whole-address match, or the country or region alone.
func addressLabel(t translator, client string, req insights.ClaimRequest) (string, error) {
	switch {
	case req.AddressScope == insights.AddressCountry:
		return t.T("claim.address.country.label"), nil
	case req.AddressScope == insights.AddressRegion:
		return t.T("claim.address.region.label"), nil
	case req.AddressScope != "":
		return "", fmt.Errorf("no wording for address scope %s", strconv.Quote(req.AddressScope))
	case req.Address != "":
		return t.T("claim.address.whole.label", "client", client, "address", req.Address), nil
	}
	return t.T("claim.address.label", "postcode", req.PostCode), nil
}
func claimSentence(t translator, client string, res insights.ClaimResult) (claimView, error) {
	req := res.Request
	label, err := claimLabel(t, client, req)
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
		if req.SalaryAmountBand {
			band, err := salaryBand(t, res)
			if err != nil {
				return claimView{}, err
			}
			view.Details = append(view.Details, t.T("claim.salary.band", "band", band))
		}
	case insights.ClaimAffordability:
		view.Sentence = t.T("claim.sentence", "label", label, "value", affordabilityValue(t, *res.Affordability))
		view.Note = t.T("claim.affordability.note", "client", client)
	case insights.ClaimAddressMatches:
		value, err := addressValue(t, res)
		if err != nil {
			return claimView{}, err
		}
		view.Sentence = t.T("claim.sentence", "label", label, "value", value)
		if req.FullAddress {
			view.FullAddress, view.Note = fullAddress(t, client, res)
		}
	case insights.ClaimFundsAtLeast:
		view.Sentence = t.T("claim.sentence", "label", label, "value", yesNo(t, res.Holds))
		view.Details = append(view.Details, overdraftSentence(t, res))
		view.Note = fundsNote(t, res)
	default:
		view.Sentence = t.T("claim.sentence", "label", label, "value", yesNo(t, res.Holds))
	}
	return view, nil
}

// addressValue returns the value of an address claim as the token states
// it: the country or region, named with its ISO code, or yes or no.
func addressValue(t translator, res insights.ClaimResult) (string, error) {
	switch res.Request.AddressScope {
	case insights.AddressCountry:
		if res.Country == "" {
			return "", errors.New("country claim result has no country")
		}
		return placeName(t, "country.", res.Country), nil
	case insights.AddressRegion:
		if res.Region == "" {
			return "", errors.New("region claim result has no region")
		}
		return placeName(t, "region.", res.Region), nil
	}
	return yesNo(t, res.Holds), nil
}

// placeName returns "United Kingdom (GB)" for a code the catalog names
// under prefix, otherwise the code alone, which is what the token carries.
func placeName(t translator, prefix, code string) string {
	if name, ok := t.catalog[prefix+code]; ok {
		return t.T("format.place", "name", name, "code", code)
	}
	return code
}

// fullAddress returns the address offered for sharing and the note under
// the claim. Without an address from the bank there is nothing to offer,
// and the note states that.
func fullAddress(t translator, client string, res insights.ClaimResult) (*addressChoice, string) {
	a := res.PostalAddress
	if a == nil {
		return nil, t.T("claim.address.full.none", "client", client)
	}
	lines := slices.Clone(a.Lines)
	for _, part := range []string{a.Town, a.PostCode} {
		if part != "" {
			lines = append(lines, part)
		}
	}
	if a.Country != "" {
		lines = append(lines, placeName(t, "country.", a.Country))
	}
	choice := &addressChoice{Label: t.T("claim.address.full.label", "client", client), Lines: lines}
	return choice, t.T("claim.address.full.note", "client", client)
}

// overdraftSentence states whether arranged overdrafts counted as funds,
// as the token's funds basis does. Before derivation fills the basis, the
// request's choice decides.
func overdraftSentence(t translator, res insights.ClaimResult) string {
	included := res.Request.IncludeOverdraft
	if res.Funds != nil {
		included = res.Funds.OverdraftIncluded
	}
	if included {
		return t.T("claim.funds.overdraft.included")
	}
	return t.T("claim.funds.overdraft.excluded")
}

// fundsNote names the time of the balances used, and their age when the
// bank could not supply fresher ones.
func fundsNote(t translator, res insights.ClaimResult) string {
	var notes []string
	if !res.AsOf.IsZero() {
		notes = append(notes, t.T("claim.funds.asof", "datetime", t.DateTime(res.AsOf)))
	}
	if res.Funds != nil && res.Funds.Stale {
		notes = append(notes, t.T("claim.funds.stale", "age", t.Duration(res.Funds.BalanceAge)))
	}
	return strings.Join(notes, t.T("format.sentence.separator"))
}

// salaryBand returns the band of the salary amount exactly as the token's
// "next_salary_amount" member states it, with its edges formatted for the
// locale, such as "2,000.00-2,500.00 GBP".
func salaryBand(t translator, res insights.ClaimResult) (string, error) {
	payload, _, err := attest.ClaimsPayload([]insights.ClaimResult{res})
	if err != nil {
		return "", fmt.Errorf("salary amount band: %w", err)
	}
	amount, ok := payload[attest.SalaryAmountClaim].(attest.SalaryAmount)
	if !ok {
		return "", fmt.Errorf("salary amount band: token payload has no %s member", attest.SalaryAmountClaim)
	}
	return moneyBand(t, amount.Band)
}

// moneyBand formats a band of attest's money bands, which take the forms
// "2000-2500 GBP", "-500 to 0 GBP", "<-1000 GBP" and "10000+ GBP", with
// the edges in whole currency units.
func moneyBand(t translator, band string) (string, error) {
	edges, currency, ok := strings.Cut(band, " ")
	if strings.HasPrefix(currency, "to ") {
		// "-500 to 0 GBP": the lower edge is before the first space.
		var upper string
		upper, currency, ok = strings.Cut(strings.TrimPrefix(currency, "to "), " ")
		edges = edges + "|" + upper
	} else if ok && !strings.HasPrefix(edges, "<") && !strings.HasSuffix(edges, "+") {
		if i := strings.Index(edges[1:], "-"); i >= 0 {
			edges = edges[:i+1] + "|" + edges[i+2:]
		}
	}
	if !ok || currency == "" {
		return "", fmt.Errorf("money band %q has no currency", band)
	}
	edge := func(s string) (string, error) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", fmt.Errorf("money band %q: edge %q is not a whole number", band, s)
		}
		unit := insights.Amount(math.Pow10(insights.AmountScale))
		return t.Number(insights.Amount(n)*unit, currency), nil
	}
	name := t.CurrencyName(currency)

	switch {
	case strings.HasPrefix(edges, "<"):
		upper, err := edge(strings.TrimPrefix(edges, "<"))
		if err != nil {
			return "", err
		}
		return t.T("format.band.below", "upper", upper, "currency", name), nil
	case strings.HasSuffix(edges, "+"):
		lower, err := edge(strings.TrimSuffix(edges, "+"))
		if err != nil {
			return "", err
		}
		return t.T("format.band.above", "lower", lower, "currency", name), nil
	}
	lowerText, upperText, found := strings.Cut(edges, "|")
	if !found {
		return "", fmt.Errorf("money band %q is not a range", band)
	}
	lower, err := edge(lowerText)
	if err != nil {
		return "", err
	}
	upper, err := edge(upperText)
	if err != nil {
		return "", err
	}
	key := "format.band.range"
	if strings.HasPrefix(lowerText, "-") {
		key = "format.band.range.signed" // a hyphen after a minus sign misreads
	}
	return t.T(key, "lower", lower, "upper", upper, "currency", name), nil
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
