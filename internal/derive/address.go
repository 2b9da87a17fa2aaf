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

// addressMatches decides ClaimAddressMatches: it holds when the postcode of
// any of the customer's parties equals the requested one, both normalised.
// A request that is not a valid UK postcode is still compared, so it holds
// only against an identical stored value. AsOf is when the newest party
// compared was ingested. It is unavailable when no party has a postcode.
func (d *Deriver) addressMatches(ctx context.Context, customerID string, req insights.ClaimRequest) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	codes, ingested, err := d.postCodes(ctx, customerID)
	if err != nil {
		return res, fmt.Errorf("derive address for claim: %w", err)
	}
	if len(codes) == 0 {
		return res, nil
	}

	want, valid := NormalizePostCode(req.PostCode)
	if !valid {
		d.logger().Debug("address claim requested for a value that is not a UK postcode", "customer_id", customerID)
	}
	res.Available = true
	res.AsOf = ingested
	for _, code := range codes {
		if normalizePostCode(code) == want {
			res.Holds = true
			break
		}
	}
	return res, nil
}

// postCodes returns the non-empty postcodes of the customer's parties and
// the newest time one of those parties was ingested.
func (d *Deriver) postCodes(ctx context.Context, customerID string) ([]string, time.Time, error) {
	const query = `SELECT post_code, toUnixTimestamp64Milli(ingested_at)
FROM parties FINAL
WHERE customer_id = {customer:String} AND trimBoth(post_code) != ''`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return nil, time.Time{}, err
	}
	defer rows.Close()

	var (
		codes  []string
		newest int64
	)
	for rows.Next() {
		var (
			code string
			ms   int64
		)
		if err := rows.Scan(&code, &ms); err != nil {
			return nil, time.Time{}, err
		}
		codes = append(codes, code)
		newest = max(newest, ms)
	}
	if err := rows.Err(); err != nil {
		return nil, time.Time{}, err
	}
	return codes, time.UnixMilli(newest).UTC(), nil
}
