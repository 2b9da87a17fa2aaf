package categorize

import (
	"fmt"

	"github.com/openbanking-insights/insights"
)

// mccRange maps the ISO 18245 merchant category codes lo to hi, inclusive.
type mccRange struct {
	lo, hi   int
	category insights.Category
}

// mccCodes are single codes. They are looked up before mccRanges, so a code
// here overrides the range it sits in (5960 insurance inside 5900-5999).
var mccCodes = map[int]insights.Category{
	// Grocery stores, freezer and meat provisioners, candy, dairy, bakeries,
	// miscellaneous food stores.
	5411: insights.CategoryGroceries, 5422: insights.CategoryGroceries, 5441: insights.CategoryGroceries,
	5451: insights.CategoryGroceries, 5462: insights.CategoryGroceries, 5499: insights.CategoryGroceries,
	// Restaurants, bars, fast food.
	5812: insights.CategoryEatingOut, 5813: insights.CategoryEatingOut, 5814: insights.CategoryEatingOut,
	// Commuter and passenger rail, taxis, buses, tolls, transport services,
	// airlines, car rental, parking, fuel.
	4111: insights.CategoryTransport, 4112: insights.CategoryTransport, 4121: insights.CategoryTransport,
	4131: insights.CategoryTransport, 4784: insights.CategoryTransport, 4789: insights.CategoryTransport,
	4511: insights.CategoryTransport, 7512: insights.CategoryTransport, 7523: insights.CategoryTransport,
	5541: insights.CategoryTransport, 5542: insights.CategoryTransport,
	// Betting and casino gaming, government-owned lotteries, internet
	// gambling, horse and dog racing.
	7995: insights.CategoryGambling, 7800: insights.CategoryGambling, 7801: insights.CategoryGambling,
	7802: insights.CategoryGambling, 9406: insights.CategoryGambling,
	// Manual and automated cash disbursements, quasi-cash.
	6010: insights.CategoryCash, 6011: insights.CategoryCash, 6051: insights.CategoryCash,
	// Utilities, telecommunication services.
	4900: insights.CategoryUtilities, 4814: insights.CategoryUtilities,
	// Real estate agents and managers: rentals.
	6513: insights.CategoryRent,
	// Insurance sales and premiums, direct-marketing insurance.
	6300: insights.CategoryInsurance, 5960: insights.CategoryInsurance,
	// Pay television, computer network services, digital goods, continuity
	// and subscription merchants, membership clubs.
	4899: insights.CategorySubscriptions, 4816: insights.CategorySubscriptions,
	5815: insights.CategorySubscriptions, 5816: insights.CategorySubscriptions,
	5817: insights.CategorySubscriptions, 5818: insights.CategorySubscriptions,
	5968: insights.CategorySubscriptions, 7997: insights.CategorySubscriptions,
}

var mccRanges = []mccRange{
	{3000, 3299, insights.CategoryTransport}, // airlines by name
	{3351, 3441, insights.CategoryTransport}, // car rental agencies by name
	{5200, 5299, insights.CategoryShopping},  // home supply and garden
	{5300, 5399, insights.CategoryShopping},  // department, discount and variety stores
	{5600, 5699, insights.CategoryShopping},  // clothing and accessories
	{5700, 5799, insights.CategoryShopping},  // furniture, appliances, electronics
	{5900, 5999, insights.CategoryShopping},  // miscellaneous and specialty retail
}

// mccTable holds the category of every four-digit code, "" where none
// applies, and mccRules the rule name "mcc:NNNN" of each, so that
// categorising a card payment neither searches nor allocates.
var (
	mccTable [10000]insights.Category
	mccRules [10000]string
)

func init() {
	for code := range mccTable {
		mccRules[code] = fmt.Sprintf("mcc:%04d", code)
		if c, ok := mccCodes[code]; ok {
			mccTable[code] = c
			continue
		}
		for _, r := range mccRanges {
			if code >= r.lo && code <= r.hi {
				mccTable[code] = r.category
				break
			}
		}
	}
}

// mccCode returns the value of a four-digit ISO 18245 code, or false.
func mccCode(mcc string) (int, bool) {
	if len(mcc) != 4 {
		return 0, false
	}
	code := 0
	for i := 0; i < 4; i++ {
		b := mcc[i]
		if b < '0' || b > '9' {
			return 0, false
		}
		code = 10*code + int(b-'0')
	}
	return code, true
}

// mccCategory returns the category of an ISO 18245 code, or false when the
// code is not four digits or not in the tables.
func mccCategory(mcc string) (insights.Category, bool) {
	code, ok := mccCode(mcc)
	if !ok || mccTable[code] == "" {
		return "", false
	}
	return mccTable[code], true
}

// mccRule returns "mcc:" followed by mcc, which must be four digits.
func mccRule(mcc string) string {
	if code, ok := mccCode(mcc); ok {
		return mccRules[code]
	}
	return "mcc:" + mcc
}
