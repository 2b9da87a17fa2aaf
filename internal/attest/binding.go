package attest

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
)

// ConsentClaim is the payload member that binds a token to the consent
// that authorised it. It is a plain member in both forms: an SD-JWT holder
// cannot leave it out of a presentation or replace it with a disclosure.
const ConsentClaim = "consent"

// ConsentBinding is the value of the "consent" claim.
type ConsentBinding struct {
	// ID is the consent (attestation request) the customer approved.
	ID string `json:"id"`
	// DataFrom and DataTo bound the stored data the claims were derived
	// from, RFC 3339 in UTC. Both are absent when no claim had data.
	DataFrom string `json:"data_from,omitempty"`
	DataTo   string `json:"data_to,omitempty"`
	// AsOf is when the claims were derived from that data, RFC 3339 in UTC.
	AsOf string `json:"as_of"`
}

// NewConsentBinding returns the "consent" claim of a token issued under
// consentID with the claims of results, derived at asOf. The data window
// runs from the earliest DataFrom to the latest DataTo of the available
// results. It returns an error for an empty consentID, a zero asOf, or a
// result whose DataTo is before its DataFrom.
func NewConsentBinding(consentID string, results []insights.ClaimResult, asOf time.Time) (ConsentBinding, error) {
	if consentID == "" {
		return ConsentBinding{}, errors.New("consent binding: consent ID is empty")
	}
	if asOf.IsZero() {
		return ConsentBinding{}, errors.New("consent binding: as-of time is zero")
	}

	var from, to time.Time
	for i, r := range results {
		if !r.Available {
			continue
		}
		if !r.DataFrom.IsZero() && !r.DataTo.IsZero() && r.DataTo.Before(r.DataFrom) {
			return ConsentBinding{}, fmt.Errorf("consent binding: results[%d].DataTo %s is before DataFrom %s",
				i, r.DataTo.UTC().Format(time.RFC3339), r.DataFrom.UTC().Format(time.RFC3339))
		}
		if !r.DataFrom.IsZero() && (from.IsZero() || r.DataFrom.Before(from)) {
			from = r.DataFrom
		}
		if !r.DataTo.IsZero() && r.DataTo.After(to) {
			to = r.DataTo
		}
	}

	b := ConsentBinding{ID: consentID, AsOf: formatTime(asOf)}
	if !from.IsZero() {
		b.DataFrom = formatTime(from)
	}
	if !to.IsZero() {
		b.DataTo = formatTime(to)
	}
	return b, nil
}

// formatTime writes t as RFC 3339 in UTC, to the second.
func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// checkConsentBinding checks the members a verifier relies on.
func checkConsentBinding(b ConsentBinding) error {
	if b.ID == "" {
		return errors.New(`consent binding: "id" is empty`)
	}
	for name, value := range map[string]string{"as_of": b.AsOf, "data_from": b.DataFrom, "data_to": b.DataTo} {
		if value == "" && name != "as_of" {
			continue
		}
		if _, err := time.Parse(time.RFC3339, value); err != nil {
			return fmt.Errorf("consent binding: %q is %q, not an RFC 3339 time", name, value)
		}
	}
	return nil
}

// ParseConsentBinding reads the "consent" claim of verified token claims,
// as Verified.Claims or VerifiedSDJWT.Claims hold them. It returns false
// when the token has no such claim and an error when the claim is malformed.
func ParseConsentBinding(claims map[string]any) (ConsentBinding, bool, error) {
	raw, ok := claims[ConsentClaim]
	if !ok {
		return ConsentBinding{}, false, nil
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return ConsentBinding{}, false, fmt.Errorf("consent binding: %w", err)
	}
	var b ConsentBinding
	if err := json.Unmarshal(data, &b); err != nil {
		return ConsentBinding{}, false, fmt.Errorf(`consent binding: "consent" is not an object of strings: %w`, err)
	}
	if err := checkConsentBinding(b); err != nil {
		return ConsentBinding{}, false, err
	}
	return b, true, nil
}
