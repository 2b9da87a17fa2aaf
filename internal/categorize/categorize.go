// Package categorize assigns a category to each transaction by explainable
// rules and detects income streams (salary, benefits, pension) and committed
// outgoings with their cadence and next expected payment.
package categorize

import (
	"strings"

	"github.com/openbanking-insights/insights"
)

// Categorizer assigns categories by a fixed order of rules, which
// docs/categories.md lists. It holds no mutable state, so one Categorizer may
// be used from many goroutines.
type Categorizer struct {
	lenders     phraseIndex // buy-now-pay-later names, read before a card's MCC
	obligations phraseIndex
	merchants   phraseIndex
	// overrides maps a normalised counterparty to the customer's rules for
	// it; nil when there are none.
	overrides map[string][]overrideRule
}

// New returns a Categorizer with the built-in rules.
func New() *Categorizer {
	return &Categorizer{
		lenders:     newPhraseIndex(lenderRules),
		obligations: newPhraseIndex(obligationRules),
		merchants:   newPhraseIndex(merchantRules),
	}
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
	d := c.decide(t, nil)
	t.Category, t.CategoryRule = d.category, d.rule
}

// ForLoad returns a function that categorises as Categorize does, for the
// transactions of one load, on one goroutine. It remembers the normalised
// form of the counterparty names it has seen, up to memoNames of them:
// names repeat from payment to payment, and normalising one costs several
// times a lookup.
func (c *Categorizer) ForLoad() func(t *insights.Transaction) {
	memo := &loadMemo{names: map[string]string{}, settled: map[string]string{}}
	return func(t *insights.Transaction) {
		d := c.decide(t, memo)
		t.Category, t.CategoryRule = d.category, d.rule
	}
}

// memoNames bounds loadMemo.names; about 100 bytes an entry.
const memoNames = 4096

// loadMemo holds what ForLoad's function remembers: normalised
// counterparty names, and the payment types of the last few combinations
// of bank transaction codes, of which a feed has a handful.
type loadMemo struct {
	names map[string]string
	// settled maps a first pass of normalising a narrative to its final
	// form. A narrative often differs from others only in a reference
	// that the first pass removes, and the later passes run only on what
	// is left, so they are looked up here.
	settled map[string]string
	pays    [8]paymentMemo
	next    int // the entry of pays to replace next
}

type paymentMemo struct {
	code, subCode, proprietary string
	pay                        paymentSignal
	set                        bool
}

func (m *loadMemo) normalize(s string) string {
	if n, ok := m.names[s]; ok {
		return n
	}
	return remember(m.names, s, NormalizeCounterparty(s))
}

// normalizeNarrative returns NormalizeCounterparty(s) for a narrative.
func (m *loadMemo) normalizeNarrative(s string) string {
	once := normalizeOnce(s)
	if !containsDigit(once) {
		return once // settle would return it unchanged
	}
	if n, ok := m.settled[once]; ok {
		return n
	}
	return remember(m.settled, once, settle(once))
}

// remember stores copies of key and value in memo, emptied first when it
// holds memoNames entries, and returns the copy of value. A name, and its
// normalised form when normalising only sliced it, may share memory with
// a whole decoded record, which the memo must not keep alive.
func remember(memo map[string]string, key, value string) string {
	if len(memo) >= memoNames {
		clear(memo)
	}
	value = strings.Clone(value)
	memo[strings.Clone(key)] = value
	return value
}

func (m *loadMemo) paymentType(t *insights.Transaction) paymentSignal {
	for i := range m.pays {
		p := &m.pays[i]
		if p.set && p.code == t.BankTransactionCode && p.subCode == t.BankTransactionSubCode && p.proprietary == t.ProprietaryCode {
			return p.pay
		}
	}
	pay := paymentTypeOf(t)
	m.pays[m.next] = paymentMemo{strings.Clone(t.BankTransactionCode), strings.Clone(t.BankTransactionSubCode),
		strings.Clone(t.ProprietaryCode), pay, true}
	m.next = (m.next + 1) % len(m.pays)
	return pay
}

// text is the normalised counterparty and narrative of a transaction,
// computed on first use: card payments with a known MCC never need it.
type text struct {
	t                         *insights.Transaction
	memo                      *loadMemo // nil, or what a load remembers
	done                      bool
	counterparty, description string
}

func (x *text) get() (counterparty, description string) {
	if !x.done {
		if x.memo != nil {
			x.counterparty = x.memo.normalize(x.t.Counterparty)
			x.description = x.memo.normalizeNarrative(x.t.Description)
		} else {
			x.counterparty = NormalizeCounterparty(x.t.Counterparty)
			x.description = NormalizeCounterparty(x.t.Description)
		}
		x.done = true
	}
	return x.counterparty, x.description
}

// matchText returns the first rule of idx that the counterparty or the
// narrative matches.
func (x *text) match(idx *phraseIndex, credit bool) (decision, bool) {
	counterparty, description := x.get()
	r := min(idx.first(counterparty, credit), idx.first(description, credit))
	if r == noRule {
		return decision{}, false
	}
	return decision{idx.rules[r].category, idx.rules[r].name}, true
}

func (c *Categorizer) decide(t *insights.Transaction, memo *loadMemo) decision {
	if t.Amount == 0 {
		return decision{insights.CategoryOther, "default:zero-amount"}
	}
	credit := t.Amount > 0
	var pay paymentSignal
	if memo != nil {
		pay = memo.paymentType(t)
	} else {
		pay = paymentTypeOf(t)
	}
	words := text{t: t, memo: memo}

	// Step 1: the customer's own overrides, by normalised counterparty or,
	// when the bank sent no name, by narrative.
	if c.overrides != nil {
		counterparty, description := words.get()
		key := counterparty
		if key == "" {
			key = description
		}
		if d, ok := c.overrideFor(key, credit); ok {
			return d
		}
	}

	// Step 2: a card payment's MCC is set by the card scheme, so it beats
	// every other signal, except a lender's name on a financial or
	// miscellaneous MCC: a buy-now-pay-later repayment by card is credit,
	// not the shopping the MCC suggests.
	if isCardPayment(t.MCC, pay) {
		if !credit && lenderMCC(t.MCC) {
			if d, ok := words.match(&c.lenders, credit); ok {
				return d
			}
		}
		if d, ok := cardRule(t.MCC, credit); ok {
			return d
		}
	}

	// Step 3: bank transaction codes that fix the category on their own.
	if d, ok := paymentTypeRule(pay, credit); ok {
		return d
	}

	// Step 4: words naming an obligation or an income source.
	if d, ok := words.match(&c.obligations, credit); ok {
		return d
	}

	// Step 5: the MCC of a payment that is not known to be by card.
	if cat, ok := mccCategory(t.MCC); ok && !credit {
		return decision{cat, mccRule(t.MCC)}
	}

	// Step 6: a guess from the merchant's name.
	if pay.kind != payStandingOrder {
		if d, ok := words.match(&c.merchants, credit); ok {
			return d
		}
	}

	// Step 7: what is left, by payment type and direction.
	return fallback(t.MCC, pay, credit)
}

// isCardPayment reports whether the transaction codes mark a card payment, or
// are absent while an MCC is present.
func isCardPayment(mcc string, pay paymentSignal) bool {
	return pay.kind == payCard || pay.kind == payUnknown && mcc != ""
}

// lenderMCC reports whether mcc is one under which a lender's card
// repayments appear: 5999 miscellaneous retail, 6012 financial
// institutions, 6051 quasi-cash, 7299 and 7399 miscellaneous services.
func lenderMCC(mcc string) bool {
	switch mcc {
	case "5999", "6012", "6051", "7299", "7399":
		return true
	}
	return false
}

// cardRule decides a card payment by its MCC. A card credit at a spending
// merchant is a refund, and one from a gambling merchant is winnings. Other
// card credits (payouts through the card schemes, for instance) are left to
// later rules.
func cardRule(mcc string, credit bool) (decision, bool) {
	cat, known := mccCategory(mcc)
	switch {
	case !known:
		return decision{}, false
	case !credit:
		return decision{cat, mccRule(mcc)}, true
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
	case pay.kind == payLoan && !credit:
		return decision{insights.CategoryLoan, pay.rule}, true
	case pay.kind == payMortgage && !credit:
		return decision{insights.CategoryMortgage, pay.rule}, true
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
		return decision{insights.CategoryOther, mccRule(mcc)}
	case pay.kind == payUnknown:
		return decision{insights.CategoryOther, "default:debit"}
	}
	return decision{insights.CategoryOther, pay.rule}
}
