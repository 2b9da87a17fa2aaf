package api

import (
	"encoding/json"
	"fmt"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// claimKindEnums maps claim kinds onto the values of the ClaimKind enum.
var claimKindEnums = map[insights.ClaimKind]string{
	insights.ClaimAgeOver:        "AGE_OVER",
	insights.ClaimFundsAtLeast:   "FUNDS_AT_LEAST",
	insights.ClaimAddressMatches: "ADDRESS_MATCHES",
	insights.ClaimNextSalaryDate: "NEXT_SALARY_DATE",
	insights.ClaimAffordability:  "AFFORDABILITY",
}

// statusEnums maps request statuses onto the AttestationRequestStatus enum.
var statusEnums = map[insights.RequestStatus]string{
	insights.RequestPending:  "REQUESTED",
	insights.RequestApproved: "APPROVED",
	insights.RequestDenied:   "DENIED",
	insights.RequestIssued:   "ISSUED",
	insights.RequestExpired:  "EXPIRED",
	insights.RequestRevoked:  "REVOKED",
}

// tokenFormats maps the values of the TokenFormat enum onto token formats.
var tokenFormats = map[string]insights.TokenFormat{
	"JWS":    insights.TokenJWS,
	"SD_JWT": insights.TokenSDJWT,
}

// tokenFormatEnum returns the TokenFormat value of a token format. Empty
// means JWS, the format of tokens issued before clients could choose.
func tokenFormatEnum(format insights.TokenFormat) (string, bool) {
	if format == "" {
		format = insights.TokenJWS
	}
	for value, f := range tokenFormats {
		if f == format {
			return value, true
		}
	}
	return "", false
}

// dateTime is the DateTime scalar: RFC 3339 in UTC with milliseconds.
type dateTime struct{ time.Time }

const dateTimeLayout = "2006-01-02T15:04:05.000Z07:00"

// ImplementsGraphQLType binds dateTime to the DateTime scalar.
func (dateTime) ImplementsGraphQLType(name string) bool { return name == "DateTime" }

// UnmarshalGraphQL parses an RFC 3339 string. The schema takes no DateTime
// input today; graphql-go requires the method of every scalar.
func (t *dateTime) UnmarshalGraphQL(input any) error {
	s, ok := input.(string)
	if !ok {
		return fmt.Errorf("invalid DateTime: want an RFC 3339 string, got %T", input)
	}
	parsed, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return fmt.Errorf("invalid DateTime: want an RFC 3339 string such as 2026-12-04T10:15:30Z")
	}
	t.Time = parsed
	return nil
}

// MarshalJSON formats the time in UTC.
func (t dateTime) MarshalJSON() ([]byte, error) {
	return json.Marshal(t.UTC().Format(dateTimeLayout))
}

// clientResolver resolves Client.
type clientResolver struct{ client insights.Client }

func (c *clientResolver) ID() graphql.ID { return graphql.ID(c.client.ID) }
func (c *clientResolver) Name() string   { return c.client.Name }

// AllowedClaims lists the client's claim kinds. A kind this API does not
// know is left out: the client could not request it here anyway.
func (c *clientResolver) AllowedClaims() []string {
	kinds := make([]string, 0, len(c.client.AllowedClaims))
	for _, k := range c.client.AllowedClaims {
		if e, ok := claimKindEnums[k]; ok {
			kinds = append(kinds, e)
		}
	}
	return kinds
}

// attestationRequestResolver resolves AttestationRequest.
type attestationRequestResolver struct {
	req         insights.AttestationRequest
	status      string
	claims      []*claimResolver
	consentURL  string
	attestation *attestationResolver
}

// newAttestationRequestResolver checks that the request's status and claim
// kinds have enum values, so that no field fails halfway through a response.
func newAttestationRequestResolver(req insights.AttestationRequest, att *consent.Attestation, consentURL string) (*attestationRequestResolver, error) {
	status, ok := statusEnums[req.Status]
	if !ok {
		return nil, fmt.Errorf("attestation request %s has unknown status %q", req.ID, req.Status)
	}
	claims := make([]*claimResolver, len(req.Claims))
	for i, c := range req.Claims {
		kind, ok := claimKindEnums[c.Kind]
		if !ok {
			return nil, fmt.Errorf("attestation request %s: claims[%d] has unknown kind %q", req.ID, i, c.Kind)
		}
		claims[i] = &claimResolver{claim: c, kind: kind}
	}

	r := &attestationRequestResolver{req: req, status: status, claims: claims, consentURL: consentURL}
	if att != nil {
		format, ok := tokenFormatEnum(att.Format)
		if !ok {
			return nil, fmt.Errorf("attestation %s has unknown format %q", att.JTI, att.Format)
		}
		r.attestation = &attestationResolver{att: *att, format: format}
	}
	return r, nil
}

func (r *attestationRequestResolver) ID() graphql.ID                    { return graphql.ID(r.req.ID) }
func (r *attestationRequestResolver) Status() string                    { return r.status }
func (r *attestationRequestResolver) Purpose() string                   { return r.req.Purpose }
func (r *attestationRequestResolver) Claims() []*claimResolver          { return r.claims }
func (r *attestationRequestResolver) CreatedAt() dateTime               { return dateTime{r.req.CreatedAt} }
func (r *attestationRequestResolver) ExpiresAt() dateTime               { return dateTime{r.req.ExpiresAt} }
func (r *attestationRequestResolver) ConsentURL() string                { return r.consentURL }
func (r *attestationRequestResolver) Attestation() *attestationResolver { return r.attestation }

// ConsentExpiresAt is null for a one-token request and before approval.
func (r *attestationRequestResolver) ConsentExpiresAt() *dateTime {
	if r.req.ConsentUntil.IsZero() {
		return nil
	}
	return &dateTime{r.req.ConsentUntil}
}

// claimResolver resolves the RequestedClaim interface and all five of its
// types: each To method reports whether the claim is of that type, and
// graphql-go reads only the fields of that type.
type claimResolver struct {
	claim insights.ClaimRequest
	kind  string
}

func (c *claimResolver) Kind() string { return c.kind }

func (c *claimResolver) ToAgeOverClaim() (*claimResolver, bool) {
	return c, c.claim.Kind == insights.ClaimAgeOver
}

func (c *claimResolver) ToFundsAtLeastClaim() (*claimResolver, bool) {
	return c, c.claim.Kind == insights.ClaimFundsAtLeast
}

func (c *claimResolver) ToAddressMatchesClaim() (*claimResolver, bool) {
	return c, c.claim.Kind == insights.ClaimAddressMatches
}

func (c *claimResolver) ToNextSalaryDateClaim() (*claimResolver, bool) {
	return c, c.claim.Kind == insights.ClaimNextSalaryDate
}

func (c *claimResolver) ToAffordabilityClaim() (*claimResolver, bool) {
	return c, c.claim.Kind == insights.ClaimAffordability
}

func (c *claimResolver) MinimumAge() int32 { return int32(c.claim.MinimumAge) }
func (c *claimResolver) Months() int32     { return int32(c.claim.Months) }

// Amount formats the threshold with the currency's minor-unit digits. Input
// checks allow no more digits than that, so the format loses nothing.
func (c *claimResolver) Amount() string {
	return c.claim.Amount.Format(insights.MinorUnits(c.claim.Currency))
}

func (c *claimResolver) Currency() string { return c.claim.Currency }
func (c *claimResolver) PostCode() string { return c.claim.PostCode }

// AverageDays is null for a claim on the current balance.
func (c *claimResolver) AverageDays() *int32 {
	if c.claim.AverageDays == 0 {
		return nil
	}
	days := int32(c.claim.AverageDays)
	return &days
}

func (c *claimResolver) IncludeOverdraft() bool  { return c.claim.IncludeOverdraft }
func (c *claimResolver) FullAddress() bool       { return c.claim.FullAddress }
func (c *claimResolver) IncludeAmountBand() bool { return c.claim.SalaryAmountBand }

// Address is null unless the client sent an address.
func (c *claimResolver) Address() *string {
	if c.claim.Address == "" {
		return nil
	}
	return &c.claim.Address
}

// Scope is the AddressScope enum value, or null for a match.
func (c *claimResolver) Scope() *string {
	for value, scope := range addressScopes {
		if scope == c.claim.AddressScope {
			return &value
		}
	}
	return nil
}

// IncludeCadence is always true: requestAttestation accepts no other value,
// and an issued salary claim always carries its cadence.
func (c *claimResolver) IncludeCadence() bool { return true }

// attestationResolver resolves Attestation.
type attestationResolver struct {
	att    consent.Attestation
	format string // TokenFormat value
}

func (a *attestationResolver) Format() string       { return a.format }
func (a *attestationResolver) Token() string        { return a.att.Token }
func (a *attestationResolver) Jti() graphql.ID      { return graphql.ID(a.att.JTI) }
func (a *attestationResolver) IssuedAt() dateTime   { return dateTime{a.att.IssuedAt} }
func (a *attestationResolver) ExpiresAt() dateTime  { return dateTime{a.att.ExpiresAt} }
func (a *attestationResolver) ClaimNames() []string { return nonNilStrings(a.att.ClaimNames) }

// nonNilStrings returns an empty slice for nil, since the field is a
// non-null list.
func nonNilStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
