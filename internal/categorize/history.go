package categorize

import (
	"strings"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// CategorizeHistory categorises every transaction of one customer's
// history with Categorize, then revisits the credits with what only the
// whole history shows. A credit left as income.other that belongs to a
// regular income stream of salary, benefits or pension takes the stream's
// category, with rule "stream:<cadence>", unless an override decided it.
// Streams are found as DetectIncome
// finds them in the booked credits up to asOf.
func (c *Categorizer) CategorizeHistory(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) {
	for i := range txs {
		c.Categorize(&txs[i])
	}

	// Step 1: the regular streams and the category each implies.
	type key struct{ customer, payer, currency string }
	implied := map[key]Stream{}
	for _, s := range DetectIncomeDetailed(txs, asOf, cal) {
		if s.Cadence == insights.CadenceIrregular {
			continue
		}
		switch s.Category {
		case insights.CategorySalary, insights.CategoryBenefits, insights.CategoryPension:
			implied[key{s.CustomerID, s.Payer, s.Currency}] = s
		}
	}
	if len(implied) == 0 {
		return
	}

	// Step 2: relabel the stream's credits that no rule recognised.
	for i := range txs {
		t := &txs[i]
		if t.Category != insights.CategoryOtherIncome || strings.HasPrefix(t.CategoryRule, "override:") ||
			!isIncomeCredit(t, asOf) {
			continue
		}
		s, ok := implied[key{t.CustomerID, normalizePayer(t.Counterparty, t.Description), t.Currency}]
		if !ok {
			continue
		}
		t.Category, t.CategoryRule = s.Category, "stream:"+string(s.Cadence)
	}
}
