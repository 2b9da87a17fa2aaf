// Package categorize assigns a category to each transaction by explainable
// rules and detects income streams (salary, benefits, pension) with their
// cadence and next expected payment.
package categorize

import (
	"github.com/openbanking-insights/insights"
)

// Categorizer assigns categories by a fixed order of rules, which
// docs/categories.md lists. It holds no mutable state, so one Categorizer may
// be used from many goroutines.
type Categorizer struct {
	obligations []keywordRule
	merchants   []keywordRule
}

// New returns a Categorizer with the built-in rules.
func New() *Categorizer {
	return &Categorizer{obligations: obligationRules, merchants: merchantRules}
}

// decision is a category with the stable name of the rule that chose it.
type decision struct {
	category insights.Category
	rule     string
}

// Categorize sets t.Category and t.CategoryRule. The direction of a payment
// comes from the sign of t.Amount alone, so a credit never gets a spending
// category.
func (c *Categorizer) Categorize(t *insights.Transaction) {
	d := c.decide(t)
	t.Category, t.CategoryRule = d.category, d.rule
}

func (c *Categorizer) decide(t *insights.Transaction) decision {
	if t.Amount == 0 {
		return decision{insights.CategoryOther, "default:zero-amount"}
	}
	credit := t.Amount > 0
	pay := paymentTypeOf(t)
	text := " " + NormalizeCounterparty(t.Counterparty) + " " + NormalizeCounterparty(t.Description) + " "

	// Step 1: a card payment's MCC is set by the card scheme, so it beats
	// every other signal.
	if d, ok := cardRule(t.MCC, pay, credit); ok {
		return d
	}

	// Step 2: bank transaction codes that fix the category on their own.
	if d, ok := paymentTypeRule(pay, credit); ok {
		return d
	}

	// Step 3: words naming an obligation or an income source.
	if r, ok := match(c.obligations, text, credit); ok {
		return decision{r.category, r.name}
	}

	// Step 4: the MCC of a payment that is not known to be by card.
	if cat, ok := mccCategory(t.MCC); ok && !credit {
		return decision{cat, "mcc:" + t.MCC}
	}

	// Step 5: a guess from the merchant's name.
	if pay.kind != payStandingOrder {
		if r, ok := match(c.merchants, text, credit); ok {
			return decision{r.category, r.name}
		}
	}

	// Step 6: what is left, by payment type and direction.
	return fallback(t.MCC, pay, credit)
}

// cardRule decides a card payment by its MCC. A card credit at a spending
// merchant is a refund, and one from a gambling merchant is winnings. Other
// card credits (payouts through the card schemes, for instance) are left to
// later rules.
func cardRule(mcc string, pay paymentSignal, credit bool) (decision, bool) {
	isCard := pay.kind == payCard || pay.kind == payUnknown && mcc != ""
	if !isCard {
		return decision{}, false
	}
	cat, known := mccCategory(mcc)
	switch {
	case !known:
		return decision{}, false
	case !credit:
		return decision{cat, "mcc:" + mcc}, true
	case cat == insights.CategoryGambling:
		return decision{insights.CategoryOtherIncome, "card:gambling-winnings"}, true
	case cat == insights.CategoryCash:
		return decision{}, false
	}
	return decision{insights.CategoryRefund, "card:refund"}, true
}

// paymentTypeRule decides the payment types whose category follows from the
// type and the direction alone.
func paymentTypeRule(pay paymentSignal, credit bool) (decision, bool) {
	switch {
	case pay.kind == payCashWithdrawal && !credit:
		return decision{insights.CategoryCash, pay.rule}, true
	case pay.kind == payCashDeposit && credit:
		return decision{insights.CategoryOtherIncome, pay.rule}, true
	case pay.kind == payInterest && credit:
		return decision{insights.CategoryInterest, pay.rule}, true
	case pay.kind == payInterest:
		return decision{insights.CategoryBankFees, pay.rule}, true
	case pay.kind == payCharges && credit:
		return decision{insights.CategoryRefund, pay.rule}, true
	case pay.kind == payCharges:
		return decision{insights.CategoryBankFees, pay.rule}, true
	case pay.kind == payReversal:
		return decision{insights.CategoryReturned, pay.rule}, true
	case pay.kind == paySalary && credit:
		return decision{insights.CategorySalary, pay.rule}, true
	}
	return decision{}, false
}

// fallback decides a payment no rule recognised: a credit is other income,
// an automatic or book transfer is a transfer, and a debit is other
// spending, named after the payment type that was seen.
func fallback(mcc string, pay paymentSignal, credit bool) decision {
	switch {
	case pay.kind == payAutomaticTransfer || pay.kind == payBookTransfer:
		return decision{insights.CategoryTransfer, pay.rule}
	case credit && pay.kind == payUnknown:
		return decision{insights.CategoryOtherIncome, "default:credit"}
	case credit:
		return decision{insights.CategoryOtherIncome, pay.rule}
	case len(mcc) == 4 && isDigits(mcc):
		return decision{insights.CategoryOther, "mcc:" + mcc}
	case pay.kind == payUnknown:
		return decision{insights.CategoryOther, "default:debit"}
	}
	return decision{insights.CategoryOther, pay.rule}
}
