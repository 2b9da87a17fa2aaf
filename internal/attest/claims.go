package attest

import (
	"fmt"
	"regexp"
	"time"

	"github.com/openbanking-insights/insights"
)

// UnavailableClaim is the payload member listing the names of requested
// claims the service had no data to decide.
const UnavailableClaim = "unavailable"

// FundsAtLeast is the value of the "funds_at_least" claim.
type FundsAtLeast struct {
	// Amount is the threshold the client requested, with the currency's
	// ISO 4217 minor-unit decimals, e.g. "500.00".
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	// AsOf is the time of the oldest balance the result is based on, RFC
	// 3339 in UTC.
	AsOf string `json:"as_of"`
	// OverdraftIncluded states whether arranged overdrafts and credit
	// lines counted as funds.
	OverdraftIncluded bool `json:"overdraft_included"`
	// AverageDays is the number of days whose end-of-day balances were
	// averaged; absent for the current balance.
	AverageDays int `json:"average_days,omitempty"`
	// DataAgeSeconds is the age in seconds, when the claim was derived, of
	// the oldest balance summed (of the newest one for an average). It is
	// present only when that age exceeds the service's maximum balance age
	// and no fresher balance could be pulled.
	DataAgeSeconds int64 `json:"data_age_seconds,omitempty"`
	Result         bool  `json:"result"`
}

// AddressMatches is the value of the "address_matches" claim.
type AddressMatches struct {
	// PostCode is the postcode the client submitted, as submitted, or
	// absent when it submitted an address.
	PostCode string `json:"post_code,omitempty"`
	// Address is the address the client submitted, as submitted, or
	// absent when it submitted a postcode.
	Address string `json:"address,omitempty"`
	Result  bool   `json:"result"`
}

// Names of the address members that are not a match result.
const (
	// AddressCountryClaim states the ISO 3166-1 alpha-2 country, e.g. "GB".
	AddressCountryClaim = "address_country"
	// AddressRegionClaim states the ISO 3166-2 code of the UK nation,
	// e.g. "GB-SCT".
	AddressRegionClaim = "address_region"
	// PostalAddressClaim states the customer's whole address. It appears
	// only when the client asked for it and the customer chose to share it.
	PostalAddressClaim = "postal_address"
)

// PostalAddress is the value of the "postal_address" claim.
type PostalAddress struct {
	Lines    []string `json:"lines"`
	Town     string   `json:"town,omitempty"`
	PostCode string   `json:"post_code"`
	Country  string   `json:"country,omitempty"`
}

// SalaryAmountClaim is the member that states the band of the salary's
// typical payment. It appears only when the next_salary request set
// SalaryAmountBand, so an SD-JWT carries it in a disclosure of its own.
const SalaryAmountClaim = "next_salary_amount"

// SalaryAmount is the value of the "next_salary_amount" claim.
type SalaryAmount struct {
	// Band is the band of the median payment of the salary stream, such as
	// "2000-2500 GBP", with the edges of the affordability money bands.
	Band string `json:"band"`
	// Cadence is how often that amount is paid, as in "next_salary".
	Cadence string `json:"cadence"`
}

// NextSalary is the value of the "next_salary" claim.
type NextSalary struct {
	Date    string `json:"date"` // ISO 8601 calendar date, e.g. "2026-12-24"
	Cadence string `json:"cadence"`
}

// ClaimName returns the name req's claim has in a token: "age_over_18" for an
// age threshold of 18, otherwise the ClaimKind's value. It returns an error
// for an unknown kind or an age threshold outside 1 to 150.
func ClaimName(req insights.ClaimRequest) (string, error) {
	switch req.Kind {
	case insights.ClaimAgeOver:
		if req.MinimumAge < 1 || req.MinimumAge > 150 {
			return "", fmt.Errorf("claim %s: MinimumAge %d is outside 1 to 150", req.Kind, req.MinimumAge)
		}
		return fmt.Sprintf("%s_%d", insights.ClaimAgeOver, req.MinimumAge), nil
	case insights.ClaimAddressMatches:
		switch req.AddressScope {
		case "":
			return string(req.Kind), nil
		case insights.AddressCountry:
			return AddressCountryClaim, nil
		case insights.AddressRegion:
			return AddressRegionClaim, nil
		}
		return "", fmt.Errorf("claim %s: AddressScope %q is not %q or %q", req.Kind, req.AddressScope, insights.AddressCountry, insights.AddressRegion)
	case insights.ClaimFundsAtLeast, insights.ClaimNextSalaryDate, insights.ClaimAffordability:
		return string(req.Kind), nil
	}
	return "", fmt.Errorf("unknown claim kind %q", req.Kind)
}

// ClaimsPayload returns the derived claims of results exactly as they appear
// in a token payload, keyed by claim name, and the names of all requested
// claims in request order. A claim whose result is not Available is left out
// of the map, and its name is listed under "unavailable". Nothing else about
// the customer is included. The consent pages show this map, so the customer
// approves what the client will receive.
//
// It returns an error for an unknown claim kind, a claim requested twice, or
// a result missing the fields its kind needs.
func ClaimsPayload(results []insights.ClaimResult) (map[string]any, []string, error) {
	claims := make(map[string]any, len(results)+1)
	names := make([]string, 0, len(results))
	var unavailable []string

	for i, result := range results {
		name, err := ClaimName(result.Request)
		if err != nil {
			return nil, nil, fmt.Errorf("results[%d].Request: %w", i, err)
		}
		for _, seen := range names {
			if seen == name {
				return nil, nil, fmt.Errorf("results[%d].Request: claim %s is requested twice", i, name)
			}
		}
		names = append(names, name)
		withAmount := result.Request.Kind == insights.ClaimNextSalaryDate && result.Request.SalaryAmountBand
		if withAmount {
			names = append(names, SalaryAmountClaim)
		}

		if err := checkRequest(i, result.Request); err != nil {
			return nil, nil, err
		}
		if !result.Available {
			unavailable = append(unavailable, name)
			if withAmount {
				unavailable = append(unavailable, SalaryAmountClaim)
			}
			continue
		}
		value, err := claimValue(i, result)
		if err != nil {
			return nil, nil, err
		}
		claims[name] = value
		if result.Request.FullAddress && result.PostalAddress != nil {
			a := result.PostalAddress
			claims[PostalAddressClaim] = PostalAddress{Lines: a.Lines, Town: a.Town, PostCode: a.PostCode, Country: a.Country}
			names = append(names, PostalAddressClaim)
		}
		if withAmount {
			if result.SalaryCurrency == "" {
				return nil, nil, fmt.Errorf("results[%d].SalaryCurrency: missing, but the request asked for the amount band", i)
			}
			claims[SalaryAmountClaim] = SalaryAmount{
				Band:    moneyBand(result.SalaryAmount, result.SalaryCurrency),
				Cadence: string(result.Cadence),
			}
		}
	}

	if len(unavailable) > 0 {
		claims[UnavailableClaim] = unavailable
	}
	return claims, names, nil
}

// currencyCode matches the shape of an ISO 4217 alphabetic code.
var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// checkRequest checks the arguments of request i, which the claim echoes
// even when the service could not decide it.
func checkRequest(i int, req insights.ClaimRequest) error {
	if req.SalaryAmountBand && req.Kind != insights.ClaimNextSalaryDate {
		return fmt.Errorf("results[%d].Request.SalaryAmountBand: only a %s claim has an amount band, not %s",
			i, insights.ClaimNextSalaryDate, req.Kind)
	}
	switch req.Kind {
	case insights.ClaimFundsAtLeast:
		if !currencyCode.MatchString(req.Currency) {
			return fmt.Errorf("results[%d].Request.Currency: %q is not an ISO 4217 code of three capital letters", i, req.Currency)
		}
		if req.Amount < 0 {
			return fmt.Errorf("results[%d].Request.Amount: %s is negative", i, req.Amount)
		}

		// The token states the threshold with the currency's decimals, so a
		// finer threshold would be stated as a different amount than the one
		// the result was computed for.
		step := insights.Amount(1)
		for range insights.AmountScale - insights.MinorUnits(req.Currency) {
			step *= 10
		}
		if req.Amount%step != 0 {
			return fmt.Errorf("results[%d].Request.Amount: %s has more decimals than %s allows (%d)", i, req.Amount, req.Currency, insights.MinorUnits(req.Currency))
		}
	case insights.ClaimAddressMatches:
		if req.AddressScope == "" && req.PostCode == "" && req.Address == "" {
			return fmt.Errorf("results[%d].Request: a match needs a PostCode or an Address", i)
		}
		if req.PostCode != "" && req.Address != "" {
			return fmt.Errorf("results[%d].Request: set PostCode or Address, not both", i)
		}
		if req.AddressScope != "" && (req.PostCode != "" || req.Address != "" || req.FullAddress) {
			return fmt.Errorf("results[%d].Request.AddressScope: %q discloses only the %s and takes no PostCode, Address or FullAddress",
				i, req.AddressScope, req.AddressScope)
		}
	case insights.ClaimAffordability:
		if req.Months != 3 && req.Months != 6 && req.Months != 12 {
			return fmt.Errorf("results[%d].Request.Months: %d is not 3, 6 or 12", i, req.Months)
		}
	}
	return nil
}

// claimValue returns the token value of available result i.
func claimValue(i int, result insights.ClaimResult) (any, error) {
	req := result.Request
	switch req.Kind {
	case insights.ClaimAgeOver:
		return result.Holds, nil

	case insights.ClaimFundsAtLeast:
		if result.AsOf.IsZero() {
			return nil, fmt.Errorf("results[%d].AsOf: zero, but a funds result needs the time of its balance", i)
		}
		funds := FundsAtLeast{
			Amount:            req.Amount.Format(insights.MinorUnits(req.Currency)),
			Currency:          req.Currency,
			AsOf:              result.AsOf.UTC().Format(time.RFC3339),
			OverdraftIncluded: req.IncludeOverdraft,
			AverageDays:       req.AverageDays,
			Result:            result.Holds,
		}
		if b := result.Funds; b != nil {
			if b.OverdraftIncluded != req.IncludeOverdraft || b.AverageDays != req.AverageDays {
				return nil, fmt.Errorf("results[%d].Funds: computed with overdraft %t over %d days, but the request asked for %t over %d",
					i, b.OverdraftIncluded, b.AverageDays, req.IncludeOverdraft, req.AverageDays)
			}
			if b.Stale {
				funds.DataAgeSeconds = max(1, int64(b.BalanceAge/time.Second))
			}
		}
		return funds, nil

	case insights.ClaimAddressMatches:
		switch req.AddressScope {
		case insights.AddressCountry:
			if result.Country == "" {
				return nil, fmt.Errorf("results[%d].Country: missing; report the claim as unavailable instead", i)
			}
			return result.Country, nil
		case insights.AddressRegion:
			if result.Region == "" {
				return nil, fmt.Errorf("results[%d].Region: missing; report the claim as unavailable instead", i)
			}
			return result.Region, nil
		}
		return AddressMatches{PostCode: req.PostCode, Address: req.Address, Result: result.Holds}, nil

	case insights.ClaimNextSalaryDate:
		if result.NextDate.IsZero() {
			return nil, fmt.Errorf("results[%d].NextDate: zero; report the claim as unavailable instead", i)
		}
		if result.Cadence == "" {
			return nil, fmt.Errorf("results[%d].Cadence: missing", i)
		}
		return NextSalary{Date: result.NextDate.String(), Cadence: string(result.Cadence)}, nil

	case insights.ClaimAffordability:
		f := result.Affordability
		if f == nil {
			return nil, fmt.Errorf("results[%d].Affordability: nil; report the claim as unavailable instead", i)
		}
		if f.Months != req.Months {
			return nil, fmt.Errorf("results[%d].Affordability.Months: %d, but the request asked for %d", i, f.Months, req.Months)
		}
		if f.Currency == "" {
			return nil, fmt.Errorf("results[%d].Affordability.Currency: missing", i)
		}
		return AffordabilityBands(*f), nil
	}
	return nil, fmt.Errorf("results[%d].Request.Kind: unknown claim kind %q", i, req.Kind)
}
