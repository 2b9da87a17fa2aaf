package api

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/derive"
)

// Limits of RequestAttestationInput, stated in the schema.
const (
	maxPurposeChars  = 200 // keeps the purpose readable on the consent page
	maxClaims        = 10
	minAge           = 1
	maxAge           = 150
	maxPostCodeChars = 16 // a UK postcode has at most 8 characters with its space; the rest allows stray spaces
	maxAddressChars  = 500
	maxAverageDays   = 366
	// maxConsentDays bounds consentDays here. The consent service also
	// applies its configured maximum, 90 days by default.
	maxConsentDays = 366
)

// currencyCode is the syntax of an ISO 4217 alphabetic code.
var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Values of the UserErrorCode enum.
const (
	userErrorBlank            = "BLANK"
	userErrorTooLong          = "TOO_LONG"
	userErrorTooMany          = "TOO_MANY"
	userErrorOutOfRange       = "OUT_OF_RANGE"
	userErrorInvalidFormat    = "INVALID_FORMAT"
	userErrorOneFieldRequired = "ONE_FIELD_REQUIRED"
	userErrorDuplicate        = "DUPLICATE"
	userErrorNotAllowed       = "NOT_ALLOWED"
	userErrorUnsupported      = "UNSUPPORTED"
	userErrorInvalid          = "INVALID"
)

// requestAttestationInput is RequestAttestationInput. graphql-go matches
// struct fields to input fields by name.
type requestAttestationInput struct {
	Purpose string
	Claims  []claimRequestInput
	// Format is a TokenFormat value; nil is an absent or null field.
	Format    *string
	HolderKey *string
	// RedirectURI and State are where the consent page sends the customer
	// afterwards; nil is an absent or null field.
	RedirectURI *string
	State       *string
	// ConsentDays makes a lender's consent last that many days; nil is one
	// token.
	ConsentDays *int32
}

// claimRequestInput is ClaimRequestInput: exactly one field must be set.
type claimRequestInput struct {
	AgeOver        *ageOverInput
	FundsAtLeast   *fundsAtLeastInput
	AddressMatches *addressMatchesInput
	NextSalaryDate *nextSalaryDateInput
	Affordability  *affordabilityInput
}

// ageOverInput is AgeOverInput. A nil MinimumAge is an explicit null, which
// means the default like an absent field.
type ageOverInput struct{ MinimumAge *int32 }

// defaultMinimumAge is the age of an ageOver claim without minimumAge, the
// age of majority in the UK.
const defaultMinimumAge = 18

type fundsAtLeastInput struct {
	Amount           string
	Currency         string
	AverageDays      *int32
	IncludeOverdraft *bool
}

// addressMatchesInput is AddressMatchesInput: one of PostCode, Address and
// Scope is set.
type addressMatchesInput struct {
	PostCode    *string
	Address     *string
	Scope       *string
	FullAddress *bool
}

// nextSalaryDateInput is NextSalaryDateInput. A nil IncludeCadence is an
// explicit null, which means true like an absent field.
type nextSalaryDateInput struct {
	IncludeCadence    *bool
	IncludeAmountBand *bool
}

// affordabilityInput is AffordabilityInput.
type affordabilityInput struct{ Months int32 }

// userError resolves UserError.
type userError struct {
	field   []string
	message string
	code    string
}

func (e *userError) Field() *[]string {
	if e.field == nil {
		return nil
	}
	return &e.field
}

func (e *userError) Message() string { return e.message }
func (e *userError) Code() string    { return e.code }

// inputChecker collects every problem of an input, so that a client fixes
// them all in one round trip.
type inputChecker struct {
	errs []*userError
}

// addf records a problem at path. The message starts with the dotted path
// (input.claims[2].fundsAtLeast.amount) and never repeats the value sent,
// which may be personal data such as a postcode.
func (c *inputChecker) addf(path []string, code, format string, args ...any) {
	c.errs = append(c.errs, &userError{
		field:   path,
		message: dottedPath(path) + ": " + fmt.Sprintf(format, args...),
		code:    code,
	})
}

// dottedPath renders ["input", "claims", "2", "ageOver"] as
// input.claims[2].ageOver.
func dottedPath(path []string) string {
	var b strings.Builder
	for i, p := range path {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

// at returns path extended by more, as a new slice.
func at(path []string, more ...string) []string {
	return append(append(make([]string, 0, len(path)+len(more)), path...), more...)
}

// checkRequestAttestationInput checks the input of requestAttestation and
// returns the claims in domain form and the token options, or the user
// errors when there are any.
func checkRequestAttestationInput(client insights.Client, in requestAttestationInput) ([]insights.ClaimRequest, consent.TokenOptions, []*userError) {
	var c inputChecker
	c.checkText([]string{"input", "purpose"}, in.Purpose, maxPurposeChars)
	token := c.checkTokenOptions(in.Format, in.HolderKey)
	token.ConsentDuration = c.checkConsentDays(in.ConsentDays)

	claimsPath := []string{"input", "claims"}
	switch {
	case len(in.Claims) == 0:
		c.addf(claimsPath, userErrorBlank, "list at least one claim")
	case len(in.Claims) > maxClaims:
		c.addf(claimsPath, userErrorTooMany, "a request may hold at most %d claims, got %d", maxClaims, len(in.Claims))
	}

	claims := make([]insights.ClaimRequest, 0, len(in.Claims))
	firstAt := map[string]int{} // claim identity → index of its first occurrence
	for i, input := range in.Claims {
		path := at(claimsPath, strconv.Itoa(i))
		claim, ok := c.checkClaim(path, input)
		if !ok {
			continue
		}
		if !clientAllows(client, claim.Kind) {
			c.addf(path, userErrorNotAllowed, "this client is not registered for the claim kind %s", claimKindEnums[claim.Kind])
			continue
		}

		// One claim per kind, except that ageOver may ask for several ages.
		identity := string(claim.Kind)
		if claim.Kind == insights.ClaimAgeOver {
			identity += "/" + strconv.Itoa(claim.MinimumAge)
		}
		if first, seen := firstAt[identity]; seen {
			c.addf(path, userErrorDuplicate, "repeats input.claims[%d]: request each claim once", first)
			continue
		}
		firstAt[identity] = i
		claims = append(claims, claim)
	}

	if len(c.errs) > 0 {
		return nil, consent.TokenOptions{}, c.errs
	}
	return claims, token, nil
}

// checkTokenOptions checks format and holderKey and converts them. A null
// format means JWS. A holder key is bound through the "cnf" claim, which
// only an SD-JWT VC has, so it is allowed only with SD_JWT.
func (c *inputChecker) checkTokenOptions(format, holderKey *string) consent.TokenOptions {
	token := consent.TokenOptions{Format: insights.TokenJWS}
	if format != nil {
		f, ok := tokenFormats[*format]
		if !ok {
			// graphql-go rejects values outside the enum before resolving, so
			// this is reached only if the schema gains a value this map lacks.
			c.addf([]string{"input", "format"}, userErrorUnsupported, "format %s is not supported", *format)
		}
		token.Format = f
	}
	if holderKey == nil {
		return token
	}

	path := []string{"input", "holderKey"}
	switch {
	case token.Format != insights.TokenSDJWT:
		c.addf(path, userErrorInvalid, "a holder key is allowed only with format SD_JWT")
	case strings.TrimSpace(*holderKey) == "":
		c.addf(path, userErrorBlank, "must be a JSON Web Key, or null for a token without key binding")
	default:
		if _, err := consent.CheckHolderKey(*holderKey); err != nil {
			c.addf(path, userErrorInvalidFormat, "%v", err)
		}
		token.HolderKey = *holderKey
	}
	return token
}

// checkClaim checks one ClaimRequestInput and converts it.
func (c *inputChecker) checkClaim(path []string, in claimRequestInput) (insights.ClaimRequest, bool) {
	set := 0
	for _, isSet := range []bool{in.AgeOver != nil, in.FundsAtLeast != nil, in.AddressMatches != nil, in.NextSalaryDate != nil, in.Affordability != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		c.addf(path, userErrorOneFieldRequired, "set exactly one of ageOver, fundsAtLeast, addressMatches, nextSalaryDate and affordability, got %d", set)
		return insights.ClaimRequest{}, false
	}

	before := len(c.errs)
	var claim insights.ClaimRequest
	switch {
	case in.AgeOver != nil:
		claim = c.checkAgeOver(at(path, "ageOver"), *in.AgeOver)
	case in.FundsAtLeast != nil:
		claim = c.checkFundsAtLeast(at(path, "fundsAtLeast"), *in.FundsAtLeast)
	case in.AddressMatches != nil:
		claim = c.checkAddressMatches(at(path, "addressMatches"), *in.AddressMatches)
	case in.Affordability != nil:
		claim = c.checkAffordability(at(path, "affordability"), *in.Affordability)
	default:
		claim = c.checkNextSalaryDate(at(path, "nextSalaryDate"), *in.NextSalaryDate)
	}
	return claim, len(c.errs) == before
}

func (c *inputChecker) checkAgeOver(path []string, in ageOverInput) insights.ClaimRequest {
	age := int32(defaultMinimumAge)
	if in.MinimumAge != nil {
		age = *in.MinimumAge
	}
	if age < minAge || age > maxAge {
		c.addf(at(path, "minimumAge"), userErrorOutOfRange, "must be from %d to %d years", minAge, maxAge)
	}
	return insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: int(age)}
}

func (c *inputChecker) checkFundsAtLeast(path []string, in fundsAtLeastInput) insights.ClaimRequest {
	claim := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: in.Currency}
	currencyOK := currencyCode.MatchString(in.Currency)
	switch {
	case !currencyOK:
		c.addf(at(path, "currency"), userErrorInvalidFormat, "must be an ISO 4217 code of three capital letters, such as GBP, got %q", in.Currency)
	case !insights.IsCurrency(in.Currency):
		currencyOK = false
		c.addf(at(path, "currency"), userErrorUnsupported, "%q is not an ISO 4217 currency in circulation", in.Currency)
	}

	amountPath := at(path, "amount")
	amount, err := insights.ParseSignedAmount(in.Amount)
	switch {
	case err != nil:
		c.addf(amountPath, userErrorInvalidFormat, "must be a decimal string such as \"500.00\", without exponent or thousands separators")
	case strings.HasPrefix(in.Amount, "-"):
		c.addf(amountPath, userErrorOutOfRange, "must not be negative, got %q", in.Amount)
	case currencyOK && decimals(in.Amount) > insights.MinorUnits(in.Currency):
		// ISO 4217 gives each currency a number of minor units: a threshold
		// finer than the currency's smallest unit cannot be compared.
		c.addf(amountPath, userErrorInvalidFormat, "has %d decimals, but %s has %d minor units", decimals(in.Amount), in.Currency, insights.MinorUnits(in.Currency))
	}
	claim.Amount = amount

	if in.AverageDays != nil {
		if *in.AverageDays < 1 || *in.AverageDays > maxAverageDays {
			c.addf(at(path, "averageDays"), userErrorOutOfRange, "must be from 1 to %d days, got %d", maxAverageDays, *in.AverageDays)
		}
		claim.AverageDays = int(*in.AverageDays)
	}
	claim.IncludeOverdraft = in.IncludeOverdraft != nil && *in.IncludeOverdraft
	return claim
}

// decimals returns the number of digits after the decimal point.
func decimals(amount string) int {
	_, frac, _ := strings.Cut(amount, ".")
	return len(frac)
}

func (c *inputChecker) checkAddressMatches(path []string, in addressMatchesInput) insights.ClaimRequest {
	claim := insights.ClaimRequest{Kind: insights.ClaimAddressMatches, FullAddress: in.FullAddress != nil && *in.FullAddress}
	set := 0
	for _, isSet := range []bool{in.PostCode != nil, in.Address != nil, in.Scope != nil} {
		if isSet {
			set++
		}
	}
	if set != 1 {
		c.addf(path, userErrorOneFieldRequired, "set exactly one of postCode, address and scope, got %d", set)
		return claim
	}
	switch {
	case in.PostCode != nil:
		postCodePath := at(path, "postCode")
		if c.checkText(postCodePath, *in.PostCode, maxPostCodeChars) {
			if _, ok := derive.NormalizePostCode(*in.PostCode); !ok {
				c.addf(postCodePath, userErrorInvalidFormat, "%q is not a UK postcode such as LS6 2QT", *in.PostCode)
			}
		}
		claim.PostCode = *in.PostCode
	case in.Address != nil:
		c.checkAddressText(at(path, "address"), *in.Address)
		claim.Address = *in.Address
	default:
		scope, ok := addressScopes[*in.Scope]
		if !ok {
			// graphql-go rejects values outside the enum first.
			c.addf(at(path, "scope"), userErrorUnsupported, "scope %s is not supported", *in.Scope)
		}
		claim.AddressScope = scope
		if claim.FullAddress {
			c.addf(at(path, "fullAddress"), userErrorInvalid, "a scope discloses only the country or region, so it cannot ask for the whole address")
		}
	}
	return claim
}

// addressScopes maps AddressScope enum values to ClaimRequest.AddressScope.
var addressScopes = map[string]string{"COUNTRY": insights.AddressCountry, "REGION": insights.AddressRegion}

// checkAddressText checks a submitted address: not blank, at most
// maxAddressChars characters, with no control characters other than line
// breaks between its lines.
func (c *inputChecker) checkAddressText(path []string, s string) {
	switch {
	case strings.TrimSpace(s) == "":
		c.addf(path, userErrorBlank, "must not be blank")
	case utf8.RuneCountInString(s) > maxAddressChars:
		c.addf(path, userErrorTooLong, "must be at most %d characters, got %d", maxAddressChars, utf8.RuneCountInString(s))
	case strings.ContainsFunc(s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\r' }):
		c.addf(path, userErrorInvalidFormat, "must not contain control characters other than line breaks")
	}
}

// checkConsentDays converts consentDays to a duration; the consent service
// checks the claims and the configured maximum.
func (c *inputChecker) checkConsentDays(days *int32) time.Duration {
	if days == nil {
		return 0
	}
	if *days < 1 || *days > maxConsentDays {
		c.addf([]string{"input", "consentDays"}, userErrorOutOfRange, "must be from 1 to %d days, got %d", maxConsentDays, *days)
		return 0
	}
	return time.Duration(*days) * 24 * time.Hour
}

func (c *inputChecker) checkNextSalaryDate(path []string, in nextSalaryDateInput) insights.ClaimRequest {
	// NOTE: ClaimRequest has no field for the cadence choice and the issued
	// claim always carries the cadence, so false cannot be honoured yet.
	if in.IncludeCadence != nil && !*in.IncludeCadence {
		c.addf(at(path, "includeCadence"), userErrorUnsupported, "only true is supported: the salary claim always states the pay cadence")
	}
	return insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate,
		SalaryAmountBand: in.IncludeAmountBand != nil && *in.IncludeAmountBand}
}

func (c *inputChecker) checkAffordability(path []string, in affordabilityInput) insights.ClaimRequest {
	switch in.Months {
	case 3, 6, 12:
	default:
		c.addf(at(path, "months"), userErrorOutOfRange, "must be 3, 6 or 12 months, got %d", in.Months)
	}
	return insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: int(in.Months)}
}

// checkText checks a free-text field that the customer will read: not blank,
// at most maxChars characters, no control characters such as line breaks.
// checkText reports a blank, too long or control-character text at path and
// returns whether s passed.
func (c *inputChecker) checkText(path []string, s string, maxChars int) bool {
	switch {
	case strings.TrimSpace(s) == "":
		c.addf(path, userErrorBlank, "must not be blank")
	case utf8.RuneCountInString(s) > maxChars:
		c.addf(path, userErrorTooLong, "must be at most %d characters, got %d", maxChars, utf8.RuneCountInString(s))
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		c.addf(path, userErrorInvalidFormat, "must not contain control characters such as line breaks or tabs")
	default:
		return true
	}
	return false
}

func clientAllows(client insights.Client, kind insights.ClaimKind) bool {
	for _, k := range client.AllowedClaims {
		if k == kind {
			return true
		}
	}
	return false
}
