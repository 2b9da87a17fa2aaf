package derive

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// ukPostCode matches a UK postcode in normalised form (upper case, no
// spaces). The outward code is one of A9, A99, AA9, AA99, A9A or AA9A and
// the inward code is 9AA, with the letters Royal Mail allows in each
// position. Q, V and X never start a postcode, and I, J and Z are never
// second. The inward letters exclude C, I, K, M, O and V. GIR 0AA is the
// one historic exception. Overseas territory and BFPO codes do not match.
var ukPostCode = regexp.MustCompile(`^(?:GIR0AA|(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])[0-9][ABD-HJLNP-UW-Z]{2})$`)

// NormalizePostCode returns s in upper case with all white space removed,
// and whether the result has the format of a UK postcode.
func NormalizePostCode(s string) (string, bool) {
	n := normalizePostCode(s)
	return n, ukPostCode.MatchString(n)
}

func normalizePostCode(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if unicode.IsSpace(r) {
			continue
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// maxAddressChars bounds a submitted address: five lines of 70 characters
// with a town and postcode fit well within it.
const maxAddressChars = 500

// checkAddressRequest returns the invalid field of an address request and
// why. Reasons never repeat the submitted postcode or address.
func checkAddressRequest(req insights.ClaimRequest) (field, reason string) {
	switch req.AddressScope {
	case "":
	case insights.AddressCountry, insights.AddressRegion:
		if req.PostCode != "" || req.Address != "" || req.FullAddress {
			return "AddressScope", fmt.Sprintf("%q discloses only the %s and takes no PostCode, Address or FullAddress", req.AddressScope, req.AddressScope)
		}
		return "", ""
	default:
		return "AddressScope", fmt.Sprintf("invalid value %q: want %q or %q", req.AddressScope, insights.AddressCountry, insights.AddressRegion)
	}
	switch {
	case req.PostCode != "" && req.Address != "":
		return "Address", "set PostCode or Address, not both"
	case req.Address != "":
		if len([]rune(req.Address)) > maxAddressChars {
			return "Address", fmt.Sprintf("%d characters; the limit is %d", len([]rune(req.Address)), maxAddressChars)
		}
		if len(normalizeAddress(req.Address).words) == 0 {
			return "Address", "has no street or building name"
		}
	case normalizePostCode(req.PostCode) == "":
		return "PostCode", "missing: set PostCode, Address or AddressScope"
	}
	return "", ""
}

// storedAddress is one party's address as the bank supplied it.
type storedAddress struct {
	lines    []string
	town     string
	postCode string
	country  string
	ingested time.Time
}

// addressMatches decides ClaimAddressMatches. With a PostCode it holds when
// the postcode of any of the customer's parties equals it, both normalised;
// a value that is not a valid UK postcode holds only against an identical
// stored value. With an Address it holds when addressMatch accepts it for
// any party. With an AddressScope it states the country or the UK nation
// of the parties' addresses, and is unavailable when they disagree. A
// FullAddress request also carries the newest party's address, which
// leaves the service only when the customer chooses to share it.
//
// AsOf and the data window are when the newest party used was stored. It
// is unavailable when no party has a postcode.
func (d *Deriver) addressMatches(ctx context.Context, customerID string, req insights.ClaimRequest) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	addresses, err := d.addresses(ctx, customerID)
	if err != nil {
		return res, fmt.Errorf("derive address for claim: %w", err)
	}
	if len(addresses) == 0 {
		return res, nil
	}
	newest := addresses[0]
	for _, a := range addresses[1:] {
		if a.ingested.After(newest.ingested) {
			newest = a
		}
	}

	switch req.AddressScope {
	case insights.AddressCountry, insights.AddressRegion:
		value, ok := d.addressArea(customerID, req.AddressScope, addresses)
		if !ok {
			return res, nil
		}
		if req.AddressScope == insights.AddressCountry {
			res.Country = value
		} else {
			res.Region = value
		}
	default:
		res.Holds = d.anyAddressMatches(customerID, req, addresses)
	}

	res.Available = true
	res.AsOf = newest.ingested
	res.DataFrom, res.DataTo = newest.ingested, newest.ingested
	if req.FullAddress {
		res.PostalAddress = &insights.PostalAddress{Lines: newest.lines, Town: newest.town,
			PostCode: newest.postCode, Country: countryCode(newest.country)}
	}
	return res, nil
}

func (d *Deriver) anyAddressMatches(customerID string, req insights.ClaimRequest, addresses []storedAddress) bool {
	if req.Address != "" {
		for _, a := range addresses {
			if addressMatch(req.Address, a.lines, a.town, a.postCode) {
				return true
			}
		}
		return false
	}
	want, valid := NormalizePostCode(req.PostCode)
	if !valid {
		d.logger().Debug("address claim requested for a value that is not a UK postcode", "customer_id", customerID)
	}
	for _, a := range addresses {
		if normalizePostCode(a.postCode) == want {
			return true
		}
	}
	return false
}

// addressArea returns the country code or UK nation code that all the
// addresses share, or false when they differ or one cannot be decided.
// A party without a country is taken to be in GB when its postcode is a
// valid UK postcode.
func (d *Deriver) addressArea(customerID, scope string, addresses []storedAddress) (string, bool) {
	value := ""
	for _, a := range addresses {
		code, valid := NormalizePostCode(a.postCode)
		country := countryCode(a.country)
		if country == "" && valid {
			country = "GB"
		}
		area := country
		if scope == insights.AddressRegion {
			if country != "GB" || !valid {
				return "", false
			}
			region, ok := postCodeRegion(code)
			if !ok {
				return "", false
			}
			area = region
		}
		switch {
		case area == "":
			return "", false
		case value != "" && value != area:
			d.logger().Info("parties disagree on the address area; the claim is unavailable", "customer_id", customerID, "scope", scope)
			return "", false
		}
		value = area
	}
	return value, value != ""
}

// countryCode returns an ISO 3166-1 alpha-2 code for a stored country, or ""
// when it is not two letters. "UK" is the exceptionally reserved alias of
// "GB".
func countryCode(country string) string {
	c := strings.ToUpper(strings.TrimSpace(country))
	if c == "UK" {
		return "GB"
	}
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return ""
	}
	return c
}

// addresses returns the addresses of the customer's parties that have a
// postcode.
func (d *Deriver) addresses(ctx context.Context, customerID string) ([]storedAddress, error) {
	const query = `SELECT address_lines, town, post_code, toString(country), toUnixTimestamp64Milli(ingested_at)
FROM parties FINAL
WHERE customer_id = {customer:String} AND trimBoth(post_code) != ''`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var out []storedAddress
	for rows.Next() {
		var (
			a  storedAddress
			ms int64
		)
		if err := rows.Scan(&a.lines, &a.town, &a.postCode, &a.country, &ms); err != nil {
			return nil, err
		}
		a.ingested = time.UnixMilli(ms).UTC()
		out = append(out, a)
	}
	return out, rows.Err()
}
