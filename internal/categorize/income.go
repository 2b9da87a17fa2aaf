package categorize

import (
	"cmp"
	"slices"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// minRegularPayments is the number of consecutive payments on one schedule
// needed before a stream counts as regular: two payments make one gap, which
// any schedule could explain.
const minRegularPayments = 3

// lateGraceDays is how many days after a due payday a stream's payment may
// still be missing before the stream counts as lapsed (the job ended, the
// benefit stopped), per cadence.
var lateGraceDays = map[insights.Cadence]int{
	insights.CadenceWeekly:      3,
	insights.CadenceFortnightly: 5,
	insights.CadenceFourWeekly:  7,
	insights.CadenceMonthly:     7,
}

// payment is one day's credits from one payer.
type payment struct {
	date     insights.Date
	amount   insights.Amount
	category insights.Category
}

// payerGroup is the credits of one payer in one currency.
type payerGroup struct {
	customerID string
	payer      string
	currency   string
	credits    int
	payments   []payment // one per booking date, oldest first
}

// DetectIncome groups the booked credits up to asOf by payer and currency
// and returns one stream per group, sorted by payer. Refunds, returned
// payments and transfers between the customer's own accounts are not income
// and are left out. A transaction with no Category is categorised with the
// built-in rules first; txs is not modified.
func DetectIncome(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) []insights.IncomeStream {
	groups := groupCredits(txs, asOf)
	streams := make([]insights.IncomeStream, 0, len(groups))
	for _, g := range groups {
		streams = append(streams, detectStream(g, asOf, cal))
	}
	slices.SortFunc(streams, func(a, b insights.IncomeStream) int {
		return cmp.Or(cmp.Compare(a.Payer, b.Payer), cmp.Compare(a.Currency, b.Currency),
			cmp.Compare(a.CustomerID, b.CustomerID))
	})
	return streams
}

// NextSalary returns the salary stream with the soonest NextExpected, the
// larger TypicalAmount breaking a tie. It returns false when no salary
// stream has a next payday, for instance when every one has lapsed.
func NextSalary(streams []insights.IncomeStream) (insights.IncomeStream, bool) {
	var best insights.IncomeStream
	found := false
	for _, s := range streams {
		if s.Category != insights.CategorySalary || s.NextExpected.IsZero() {
			continue
		}
		if !found || s.NextExpected.Before(best.NextExpected) ||
			s.NextExpected == best.NextExpected && s.TypicalAmount > best.TypicalAmount {
			best, found = s, true
		}
	}
	return best, found
}

// isIncomeCredit reports whether t is a booked credit on or before asOf of a
// category that counts as income.
func isIncomeCredit(t *insights.Transaction, asOf insights.Date) bool {
	if t.Status != insights.StatusBooked || t.Amount <= 0 || t.BookingDate.IsZero() || asOf.Before(t.BookingDate) {
		return false
	}
	switch t.Category {
	case insights.CategoryRefund, insights.CategoryTransfer, insights.CategoryReturned:
		return false
	}
	return true
}

func groupCredits(txs []insights.Transaction, asOf insights.Date) []*payerGroup {
	categorizer := New()
	byKey := map[[3]string]*payerGroup{}
	var order []*payerGroup

	for i := range txs {
		t := txs[i] // a copy, so categorising does not modify the caller's slice
		if t.Category == "" {
			categorizer.Categorize(&t)
		}
		if !isIncomeCredit(&t, asOf) {
			continue
		}

		key := [3]string{t.CustomerID, normalizePayer(t.Counterparty, t.Description), t.Currency}
		g, ok := byKey[key]
		if !ok {
			g = &payerGroup{customerID: key[0], payer: key[1], currency: key[2]}
			byKey[key] = g
			order = append(order, g)
		}
		g.add(t.BookingDate, t.Amount, t.Category)
	}

	for _, g := range order {
		slices.SortFunc(g.payments, func(a, b payment) int { return b.date.DaysUntil(a.date) })
	}
	return order
}

// add records a credit, adding it to a payment of the same day: a payer
// that pays twice on one day (salary and expenses) is one payday.
func (g *payerGroup) add(d insights.Date, amount insights.Amount, category insights.Category) {
	g.credits++
	for i := range g.payments {
		p := &g.payments[i]
		if p.date != d {
			continue
		}
		p.amount += amount
		if p.category == insights.CategoryOtherIncome {
			p.category = category
		}
		return
	}
	g.payments = append(g.payments, payment{date: d, amount: amount, category: category})
}

func detectStream(g *payerGroup, asOf insights.Date, cal *calendar.Calendar) insights.IncomeStream {
	dates := make([]insights.Date, len(g.payments))
	amounts := make([]insights.Amount, len(g.payments))
	for i, p := range g.payments {
		dates[i], amounts[i] = p.date, p.amount
	}

	s := insights.IncomeStream{
		CustomerID:    g.customerID,
		Payer:         g.payer,
		Cadence:       insights.CadenceIrregular,
		Payments:      g.credits,
		LastPaid:      dates[len(dates)-1],
		TypicalAmount: median(amounts),
		Currency:      g.currency,
		Rule:          "income:irregular",
	}

	// Step 1: the cadence, from the longest trailing run on one schedule.
	best := bestFit(dates, cal)
	regular := best.run >= minRegularPayments
	if regular {
		s.Cadence, s.Rule = best.schedule.cadence(), best.schedule.rule()
		s.NextExpected = nextPayday(best, asOf, cal)
		if s.NextExpected.IsZero() {
			s.Rule += ":lapsed"
		}
	}

	// Step 2: the category, from the payments' own categories or the shape
	// of the stream.
	var runAmounts []insights.Amount
	if regular {
		runAmounts = amounts[len(amounts)-best.run:]
	}
	s.Category = streamCategory(g.payments, runAmounts)
	return s
}

// nextPayday returns the first payday of f strictly after asOf, moved
// earlier to a working day. It returns the zero Date when the payday after
// the last payment is more than the cadence's grace days overdue at asOf.
func nextPayday(f fit, asOf insights.Date, cal *calendar.Calendar) insights.Date {
	k := f.lastPeriod + 1
	due := cal.OnOrBeforeWorkingDay(f.schedule.nominal(k))
	if due.AddDays(lateGraceDays[f.schedule.cadence()]).Before(asOf) {
		return insights.Date{}
	}
	for !asOf.Before(due) {
		k++
		due = cal.OnOrBeforeWorkingDay(f.schedule.nominal(k))
	}
	return due
}

// streamCategory returns the category most of the payments have among
// salary, benefits, pension and interest. Failing that, a regular stream of
// similar amounts looks like wages and is salary. Any other stream is other
// income. runAmounts holds the amounts of the regular run, or is empty.
func streamCategory(payments []payment, runAmounts []insights.Amount) insights.Category {
	counts := map[insights.Category]int{}
	for _, p := range payments {
		counts[p.category]++
	}
	best, bestCount := insights.Category(""), 0
	for _, c := range []insights.Category{insights.CategorySalary, insights.CategoryBenefits,
		insights.CategoryPension, insights.CategoryInterest} {
		if counts[c] > bestCount {
			best, bestCount = c, counts[c]
		}
	}
	if bestCount > 0 {
		return best
	}

	if len(runAmounts) >= minRegularPayments && similarAmounts(runAmounts) {
		return insights.CategorySalary
	}
	return insights.CategoryOtherIncome
}

// similarAmounts reports whether at least three quarters of amounts lie
// within 25% of their median, which allows for overtime and a bonus month.
func similarAmounts(amounts []insights.Amount) bool {
	m := median(amounts)
	near := 0
	for _, a := range amounts {
		if 4*absAmount(a-m) <= m {
			near++
		}
	}
	return 4*near >= 3*len(amounts)
}

// median returns the median of amounts, the lower-rounded mean of the two
// middle values for an even count.
func median(amounts []insights.Amount) insights.Amount {
	sorted := slices.Clone(amounts)
	slices.Sort(sorted)
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func absAmount(a insights.Amount) insights.Amount {
	if a < 0 {
		return -a
	}
	return a
}
