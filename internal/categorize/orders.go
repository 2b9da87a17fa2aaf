package categorize

import (
	"cmp"
	"slices"
	"strings"

	"github.com/openbanking-insights/insights"
)

// Payment order kinds of PaymentOrder.Kind, spelled as Commitment.PaymentType.
const (
	OrderDirectDebit   = "direct_debit"
	OrderStandingOrder = "standing_order"
)

// Rules of commitments that a bank's list of payment orders confirms or
// adds.
const (
	ruleListedDirectDebit   = "commitment:listed-direct-debit"
	ruleListedStandingOrder = "commitment:listed-standing-order"
)

// listedConfidence is the Confidence of a standing order that the bank
// lists with its next payment's date and amount: the bank states both, so
// only a change by the customer before that day makes them wrong. It is a
// judgement, not a measured rate.
const listedConfidence = 0.95

// PaymentOrder is an active direct debit mandate or standing order that the
// customer's bank lists on one of their accounts.
type PaymentOrder struct {
	Kind      string // OrderDirectDebit or OrderStandingOrder
	Payee     string // as the bank sent it
	Reference string
	// Cadence is empty when the bank sent no frequency, as v3.1 direct
	// debits never do.
	Cadence     insights.Cadence
	NextPayment insights.Date // zero when the bank sent none
	LastPayment insights.Date // zero when the bank sent none
	// Amount is the next payment's, else the last one's, positive; 0 when
	// the bank sent neither.
	Amount   insights.Amount
	Currency string
}

// ApplyOrders counts each active payment order as a known commitment of the
// customer. An order whose payee or reference names the payee of a
// detected commitment in the same currency confirms it: the commitment
// takes the order's kind as PaymentType, a listed rule, and the order's
// next payment date when the detector had none. Any other order is added
// as a commitment of its own with no payment seen, unless it looks like a
// transfer to the customer's own account. The result is sorted as
// DetectCommitments sorts.
//
// NOTE: a detected direct debit whose mandate is missing from a complete
// list is kept: transaction counterparties and mandate names differ too
// often to conclude that the mandate was cancelled.
func ApplyOrders(commitments []Commitment, orders []PaymentOrder, customerID string, asOf insights.Date) []Commitment {
	out := slices.Clone(commitments)
	categorizer := New()
	for _, o := range orders {
		if o.Kind != OrderDirectDebit && o.Kind != OrderStandingOrder {
			continue
		}
		if i := matchOrder(out, o); i >= 0 {
			confirm(&out[i], o, asOf)
			continue
		}
		c, ok := orderCommitment(categorizer, o, customerID, asOf)
		if ok {
			out = append(out, c)
		}
	}
	slices.SortFunc(out, func(a, b Commitment) int {
		return cmp.Or(cmp.Compare(a.Payee, b.Payee), cmp.Compare(a.Currency, b.Currency),
			cmp.Compare(a.CustomerID, b.CustomerID))
	})
	return out
}

// matchOrder returns the index of the commitment that o pays, or -1. A
// name matches when it equals the other or starts it as whole words,
// because banks cut long names and add suffixes such as LTD. Failing a
// name, a commitment paid by the same kind of order with the same typical
// amount matches: without ReadStandingOrdersDetail a standing order carries
// only its reference, which transactions do not repeat.
func matchOrder(commitments []Commitment, o PaymentOrder) int {
	names := []string{NormalizeCounterparty(o.Payee), NormalizeCounterparty(o.Reference)}
	byAmount := -1
	for i, c := range commitments {
		if o.Currency != "" && c.Currency != o.Currency {
			continue
		}
		for _, n := range names {
			if n != "" && c.Payee != "" && (wordPrefix(c.Payee, n) || wordPrefix(n, c.Payee)) {
				return i
			}
		}
		if byAmount < 0 && o.Amount > 0 && c.PaymentType == o.Kind && c.TypicalAmount == o.Amount && !isListed(c) {
			byAmount = i
		}
	}
	return byAmount
}

func isListed(c Commitment) bool {
	return c.Rule == ruleListedDirectDebit || c.Rule == ruleListedStandingOrder
}

// wordPrefix reports whether s is prefix or starts with prefix and a space.
func wordPrefix(s, prefix string) bool {
	return s == prefix || strings.HasPrefix(s, prefix+" ")
}

func confirm(c *Commitment, o PaymentOrder, asOf insights.Date) {
	c.PaymentType = o.Kind
	c.Rule = listedRule(o.Kind)
	if c.NextExpected.IsZero() && !o.NextPayment.IsZero() && !o.NextPayment.Before(asOf) {
		c.NextExpected = o.NextPayment
	}
}

// orderCommitment returns the commitment of an order no detected commitment
// matches. Its category comes from the categorizer's rules applied to the
// payee as a debit of the order's kind. It returns false for an order that
// looks like a transfer between the customer's own accounts.
func orderCommitment(categorizer *Categorizer, o PaymentOrder, customerID string, asOf insights.Date) (Commitment, bool) {
	probe := insights.Transaction{
		CustomerID: customerID, Amount: -o.Amount, Currency: o.Currency, Status: insights.StatusBooked,
		Counterparty: o.Payee, Description: strings.TrimSpace(o.Payee + " " + o.Reference),
	}
	if o.Kind == OrderDirectDebit {
		probe.BankTransactionCode, probe.BankTransactionSubCode = "IssuedDirectDebits", "DirectDebitPayment"
	} else {
		probe.BankTransactionCode, probe.BankTransactionSubCode = "IssuedCreditTransfer", "StandingOrder"
	}
	if probe.Amount == 0 {
		probe.Amount = -1 // a debit of unknown size
	}
	categorizer.Categorize(&probe)
	if probe.Category == insights.CategoryTransfer {
		return Commitment{}, false
	}

	payee := NormalizeCounterparty(o.Payee)
	if payee == "" {
		payee = NormalizeCounterparty(o.Reference)
	}
	category := insights.CategoryOther
	if committedCategories[probe.Category] {
		category = probe.Category
	}
	cadence := o.Cadence
	if cadence == "" {
		cadence = insights.CadenceIrregular
	}
	c := Commitment{
		CustomerID: customerID, Payee: payee, Category: category, PaymentType: o.Kind, Cadence: cadence,
		LastPaid: o.LastPayment, TypicalAmount: o.Amount, AmountLow: o.Amount, AmountHigh: o.Amount,
		Currency: o.Currency, Rule: listedRule(o.Kind),
	}
	if !o.NextPayment.IsZero() && !o.NextPayment.Before(asOf) {
		c.NextExpected = o.NextPayment
		if o.Kind == OrderStandingOrder && o.Amount > 0 {
			c.Confidence = listedConfidence
		}
	}
	return c, true
}

func listedRule(kind string) string {
	if kind == OrderDirectDebit {
		return ruleListedDirectDebit
	}
	return ruleListedStandingOrder
}
