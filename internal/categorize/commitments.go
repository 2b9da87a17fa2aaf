package categorize

import (
	"cmp"
	"slices"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// Commitment is a regular outgoing the customer is bound to: rent, a
// mortgage, a loan, a bill or a subscription. Amounts are positive: the size
// of the debit.
type Commitment struct {
	CustomerID string
	Payee      string // normalised counterparty
	Category   insights.Category
	// PaymentType is the payment method of the latest payment: "direct_debit",
	// "standing_order", "card", "transfer" or "other".
	PaymentType   string
	Cadence       insights.Cadence
	Payments      int
	LastPaid      insights.Date
	NextExpected  insights.Date // zero when irregular or lapsed
	TypicalAmount insights.Amount
	// AmountLow and AmountHigh are the 10th and 90th percentiles (nearest
	// rank) of the regular run, or of all payments when irregular.
	AmountLow, AmountHigh insights.Amount
	Currency              string
	Confidence            float64 // the score of streamConfidence, not calibrated
	Rule                  string  // "commitment:<schedule>", e.g. "commitment:monthly-fixed-day"
}

// committedCategories are the categories whose payments bind the customer
// from month to month.
var committedCategories = map[insights.Category]bool{
	insights.CategoryRent: true, insights.CategoryMortgage: true, insights.CategoryCouncilTax: true,
	insights.CategoryUtilities: true, insights.CategoryLoan: true, insights.CategoryCreditCard: true,
	CategoryBuyNowPayLater: true, insights.CategoryInsurance: true, insights.CategorySubscriptions: true,
}

// isCommittedDebit reports whether t is a booked debit on or before asOf
// that may be part of a commitment: one of a committed category, or any
// direct debit or standing order that is not a transfer between the
// customer's own accounts.
func isCommittedDebit(t *insights.Transaction, asOf insights.Date) bool {
	if !isBookedBy(t, asOf) || t.Amount >= 0 {
		return false
	}
	if committedCategories[t.Category] {
		return true
	}
	if t.Category == insights.CategoryTransfer || t.Category == insights.CategoryReturned {
		return false
	}
	kind := paymentTypeOf(t).kind
	return kind == payDirectDebit || kind == payStandingOrder
}

// DetectCommitments groups the booked debits up to asOf that look committed
// (see isCommittedDebit) by payee and currency, and returns one Commitment
// per group, regular or not, sorted by payee. Direct debits and standing
// orders due on a weekend or bank holiday are taken on the next working
// day, so that shift is tried first. A transaction with no Category is
// categorised with the built-in rules first; txs is not modified.
//
// NOTE: council tax is usually collected in 10 monthly instalments from
// April, so it shows as lapsed in February and March.
func DetectCommitments(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) []Commitment {
	groups := groupPayments(txs, asOf, isCommittedDebit)
	out := make([]Commitment, 0, len(groups))
	for _, g := range groups {
		out = append(out, detectCommitment(g, asOf, cal))
	}
	slices.SortFunc(out, func(a, b Commitment) int {
		return cmp.Or(cmp.Compare(a.Payee, b.Payee), cmp.Compare(a.Currency, b.Currency),
			cmp.Compare(a.CustomerID, b.CustomerID))
	})
	return out
}

func detectCommitment(g *payerGroup, asOf insights.Date, cal *calendar.Calendar) Commitment {
	fitted := fitSeries(g, asOf, cal, shiftLater, shiftEarlier)
	amounts := make([]insights.Amount, len(g.payments))
	for i, p := range g.payments {
		amounts[i] = p.amount
	}
	last := g.payments[len(g.payments)-1]
	return Commitment{
		CustomerID:    g.customerID,
		Payee:         g.payer,
		Category:      commitmentCategory(g.payments),
		PaymentType:   paymentTypeName(last.pay),
		Cadence:       fitted.cadence,
		Payments:      g.credits,
		LastPaid:      last.date,
		NextExpected:  fitted.next,
		TypicalAmount: median(amounts),
		AmountLow:     percentile(fitted.runAmounts, 10),
		AmountHigh:    percentile(fitted.runAmounts, 90),
		Currency:      g.currency,
		Confidence:    streamConfidence(fitted),
		Rule:          "commitment:" + fitted.rule,
	}
}

// commitmentCategory returns the most common committed category among the
// payments, the latest breaking a tie, or other when none is committed.
func commitmentCategory(payments []payment) insights.Category {
	counts := map[insights.Category]int{}
	best, bestCount := insights.CategoryOther, 0
	for i := len(payments) - 1; i >= 0; i-- {
		c := payments[i].category
		if !committedCategories[c] {
			continue
		}
		counts[c]++
		if counts[c] > bestCount {
			best, bestCount = c, counts[c]
		}
	}
	return best
}

func paymentTypeName(p paymentType) string {
	switch p {
	case payDirectDebit:
		return "direct_debit"
	case payStandingOrder:
		return "standing_order"
	case payCard:
		return "card"
	case payCreditTransfer, payAutomaticTransfer, payBookTransfer:
		return "transfer"
	}
	return "other"
}
