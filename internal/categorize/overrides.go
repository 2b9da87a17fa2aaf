package categorize

import (
	"fmt"

	"github.com/openbanking-insights/insights"
)

// Direction limits an Override to credits or debits. The direction of a
// transaction is the sign of its amount.
type Direction string

// Directions of an Override.
const (
	AnyDirection Direction = ""
	Credits      Direction = "credit"
	Debits       Direction = "debit"
)

// Override is a customer's own rule: every payment to or from Counterparty
// (in Direction, when set) gets Category. The decision is recorded as rule
// "override:<ID>".
type Override struct {
	ID string
	// Counterparty is compared after NormalizeCounterparty, so "Acme
	// Limited" and "ACME LTD" are one counterparty. It is matched against
	// the counterparty name, or against the narrative when the bank sent no
	// name.
	Counterparty string
	Direction    Direction
	Category     insights.Category
}

// Overrides are one customer's rules. They are tried before every built-in
// rule, and on a clash the first one listed wins.
type Overrides []Override

// Validate checks every override and returns an error naming the first bad
// field by its index, such as "overrides[2].category".
func (o Overrides) Validate() error {
	for i, r := range o {
		switch {
		case r.ID == "":
			return fmt.Errorf("invalid overrides[%d].id: must not be empty", i)
		case NormalizeCounterparty(r.Counterparty) == "":
			return fmt.Errorf("invalid overrides[%d].counterparty %q: nothing left after normalising", i, r.Counterparty)
		case r.Direction != AnyDirection && r.Direction != Credits && r.Direction != Debits:
			return fmt.Errorf("invalid overrides[%d].direction %q: want %q, %q or empty", i, r.Direction, Credits, Debits)
		case !IsKnown(r.Category):
			return fmt.Errorf("invalid overrides[%d].category %q: not a category of the taxonomy", i, r.Category)
		}
	}
	return nil
}

// overrideRule is an Override ready for lookup.
type overrideRule struct {
	direction Direction
	category  insights.Category
	rule      string
}

// WithOverrides returns a copy of c that applies o before its built-in
// rules. Overrides that Validate would reject are skipped, so call Validate
// where the overrides are entered. c itself is not changed.
func (c *Categorizer) WithOverrides(o Overrides) *Categorizer {
	out := *c
	out.overrides = map[string][]overrideRule{}
	for _, r := range o {
		if (Overrides{r}).Validate() != nil {
			continue
		}
		key := NormalizeCounterparty(r.Counterparty)
		out.overrides[key] = append(out.overrides[key], overrideRule{r.Direction, r.Category, "override:" + r.ID})
	}
	return &out
}

// overrideFor returns the first override for the normalised counterparty
// whose direction fits.
func (c *Categorizer) overrideFor(counterparty string, credit bool) (decision, bool) {
	for _, r := range c.overrides[counterparty] {
		if r.direction == Credits && !credit || r.direction == Debits && credit {
			continue
		}
		return decision{r.category, r.rule}, true
	}
	return decision{}, false
}
