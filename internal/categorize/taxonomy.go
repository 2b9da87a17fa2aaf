package categorize

import "github.com/openbanking-insights/insights"

// Categories and the cadence that the root package defines beyond its
// first set; see the root package for their meaning.
const (
	CategoryGigIncome      = insights.CategoryGigIncome
	CategoryBuyNowPayLater = insights.CategoryBuyNowPayLater
	CadenceTwiceMonthly    = insights.CadenceTwiceMonthly
)

// Group is the first level of the taxonomy: what an affordability
// assessment does with a category.
type Group string

// Groups of the taxonomy.
const (
	GroupIncome        Group = "income"        // counts towards income
	GroupTransfer      Group = "transfer"      // moves money between own accounts; neither income nor spending
	GroupHousing       Group = "housing"       // rent and mortgage
	GroupBills         Group = "bills"         // council tax, utilities, insurance
	GroupCredit        Group = "credit"        // loans, credit cards, buy-now-pay-later
	GroupEssentials    Group = "essentials"    // groceries, transport
	GroupDiscretionary Group = "discretionary" // eating out, shopping, subscriptions
	GroupGambling      Group = "gambling"      // a risk flag of its own
	GroupCash          Group = "cash"          // spending that cannot be traced further
	GroupDistress      Group = "distress"      // bank fees, overdraft charges, returned payments
	GroupOther         Group = "other"         // anything else
)

// taxonomy lists every category the categoriser can return, in the order
// docs/categories.md shows them, with its group.
var taxonomy = []struct {
	category insights.Category
	group    Group
}{
	{insights.CategorySalary, GroupIncome},
	{insights.CategoryBenefits, GroupIncome},
	{insights.CategoryPension, GroupIncome},
	{CategoryGigIncome, GroupIncome},
	{insights.CategoryInterest, GroupIncome},
	{insights.CategoryRefund, GroupIncome},
	{insights.CategoryOtherIncome, GroupIncome},
	{insights.CategoryTransfer, GroupTransfer},
	{insights.CategoryRent, GroupHousing},
	{insights.CategoryMortgage, GroupHousing},
	{insights.CategoryCouncilTax, GroupBills},
	{insights.CategoryUtilities, GroupBills},
	{insights.CategoryInsurance, GroupBills},
	{insights.CategoryLoan, GroupCredit},
	{insights.CategoryCreditCard, GroupCredit},
	{CategoryBuyNowPayLater, GroupCredit},
	{insights.CategoryGroceries, GroupEssentials},
	{insights.CategoryTransport, GroupEssentials},
	{insights.CategoryEatingOut, GroupDiscretionary},
	{insights.CategoryShopping, GroupDiscretionary},
	{insights.CategorySubscriptions, GroupDiscretionary},
	{insights.CategoryGambling, GroupGambling},
	{insights.CategoryCash, GroupCash},
	{insights.CategoryBankFees, GroupDistress},
	{insights.CategoryReturned, GroupDistress},
	{insights.CategoryOther, GroupOther},
}

// Categories returns every category the categoriser can return, grouped
// as GroupOf groups them.
func Categories() []insights.Category {
	out := make([]insights.Category, len(taxonomy))
	for i, e := range taxonomy {
		out[i] = e.category
	}
	return out
}

// GroupOf returns the first-level group of c, or GroupOther for a category
// the taxonomy does not list (including CategoryUncategorized).
func GroupOf(c insights.Category) Group {
	for _, e := range taxonomy {
		if e.category == c {
			return e.group
		}
	}
	return GroupOther
}

// IsKnown reports whether c is a category of the taxonomy.
func IsKnown(c insights.Category) bool {
	for _, e := range taxonomy {
		if e.category == c {
			return true
		}
	}
	return false
}
