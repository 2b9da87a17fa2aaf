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
	// AsOf is the time of the newest balance the result is based on, RFC 3339 in UTC.
	AsOf   string `json:"as_of"`
	Result bool   `json:"result"`
}

// AddressMatches is the value of the "address_matches" claim.
type AddressMatches struct {
	// PostCode is the postcode the client submitted, as submitted.
	PostCode string `json:"post_code"`
	Result   bool   `json:"result"`
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
	case insights.ClaimFundsAtLeast, insights.ClaimAddressMatches, insights.ClaimNextSalaryDate, insights.ClaimAffordability:
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

		if err := checkRequest(i, result.Request); err != nil {
			return nil, nil, err
		}
		if !result.Available {
			unavailable = append(unavailable, name)
			continue
		}
		value, err := claimValue(i, result)
		if err != nil {
			return nil, nil, err
		}
		claims[name] = value
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
		if req.PostCode == "" {
			return fmt.Errorf("results[%d].Request.PostCode: missing", i)
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
		return FundsAtLeast{
			Amount:   req.Amount.Format(insights.MinorUnits(req.Currency)),
			Currency: req.Currency,
			AsOf:     result.AsOf.UTC().Format(time.RFC3339),
			Result:   result.Holds,
		}, nil

	case insights.ClaimAddressMatches:
		return AddressMatches{PostCode: req.PostCode, Result: result.Holds}, nil

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
