package categorize

import (
	"cmp"
	"slices"
	"strings"

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
	CadenceTwiceMonthly:         5,
	insights.CadenceFourWeekly:  7,
	insights.CadenceMonthly:     7,
}

// payment is one day's credits (or debits) from one payer (or to one payee).
type payment struct {
	date     insights.Date
	amount   insights.Amount // positive for debits too
	category insights.Category
	pay      paymentType
}

// payerGroup is the payments of one counterparty in one currency.
type payerGroup struct {
	customerID string
	payer      string
	currency   string
	credits    int       // transactions seen, before same-day merging
	payments   []payment // one per booking date, oldest first
}

// Stream is an income stream with what DetectIncome leaves out: how sure
// the detector is and the band the next payment should fall in.
type Stream struct {
	insights.IncomeStream
	// Confidence, from 0 to 1, is the detector's estimate that the next
	// payment arrives on NextExpected within the amount band. It is 0 for an
	// irregular or lapsed stream. It is the score of streamConfidence
	// mapped through confidenceSteps, which were fitted so that it matches
	// the share of such predictions that came true on generated histories
	// (see docs/confidence.md).
	Confidence float64
	// AmountLow and AmountHigh are the 10th and 90th percentiles (nearest
	// rank) of the payments of the regular run, or of all payments of an
	// irregular stream.
	AmountLow, AmountHigh insights.Amount
}

// DetectIncome groups the booked credits up to asOf by payer and currency
// and returns one stream per group, sorted by payer. Refunds, returned
// payments and transfers between the customer's own accounts are not income
// and are left out. A transaction with no Category is categorised with the
// built-in rules first; txs is not modified.
func DetectIncome(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) []insights.IncomeStream {
	detailed := DetectIncomeDetailed(txs, asOf, cal)
	streams := make([]insights.IncomeStream, len(detailed))
	for i, s := range detailed {
		streams[i] = s.IncomeStream
	}
	return streams
}

// DetectIncomeDetailed is DetectIncome with a confidence and an amount band
// for each stream.
func DetectIncomeDetailed(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) []Stream {
	streams := DetectIncomeScored(txs, asOf, cal)
	for i := range streams {
		streams[i].Confidence = CalibratedConfidence(streams[i].Confidence)
	}
	return streams
}

// DetectIncomeScored is DetectIncomeDetailed with the uncalibrated score
// of streamConfidence in place of each stream's Confidence, for fitting
// the calibration.
func DetectIncomeScored(txs []insights.Transaction, asOf insights.Date, cal *calendar.Calendar) []Stream {
	groups := groupPayments(txs, asOf, isIncomeCredit)
	streams := make([]Stream, 0, len(groups))
	for _, g := range groups {
		streams = append(streams, detectStream(g, asOf, cal))
	}
	slices.SortFunc(streams, func(a, b Stream) int {
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
	if !isBookedBy(t, asOf) || t.Amount <= 0 {
		return false
	}
	switch t.Category {
	case insights.CategoryRefund, insights.CategoryTransfer, insights.CategoryReturned:
		return false
	}
	return true
}

func isBookedBy(t *insights.Transaction, asOf insights.Date) bool {
	return t.Status == insights.StatusBooked && !t.BookingDate.IsZero() && !asOf.Before(t.BookingDate)
}

// groupPayments groups the transactions that keep accepts by customer,
// normalised counterparty and currency, in order of first appearance.
func groupPayments(txs []insights.Transaction, asOf insights.Date,
	keep func(*insights.Transaction, insights.Date) bool) []*payerGroup {
	categorizer := New()
	byKey := map[[3]string]*payerGroup{}
	var order []*payerGroup

	for i := range txs {
		t := txs[i] // a copy, so categorising does not modify the caller's slice
		if t.Category == "" {
			categorizer.Categorize(&t)
		}
		if !keep(&t, asOf) {
			continue
		}

		key := [3]string{t.CustomerID, normalizePayer(t.Counterparty, t.Description), t.Currency}
		g, ok := byKey[key]
		if !ok {
			g = &payerGroup{customerID: key[0], payer: key[1], currency: key[2]}
			byKey[key] = g
			order = append(order, g)
		}
		g.add(t.BookingDate, absAmount(t.Amount), t.Category, paymentTypeOf(&t).kind)
	}

	for _, g := range order {
		slices.SortFunc(g.payments, func(a, b payment) int { return b.date.DaysUntil(a.date) })
	}
	return order
}

// add records a payment, adding it to a payment of the same day: a payer
// that pays twice on one day (salary and expenses) is one payday.
func (g *payerGroup) add(d insights.Date, amount insights.Amount, category insights.Category, pay paymentType) {
	g.credits++
	for i := range g.payments {
		p := &g.payments[i]
		if p.date != d {
			continue
		}
		p.amount += amount
		if p.category == insights.CategoryOtherIncome || p.category == insights.CategoryOther {
			p.category = category
		}
		return
	}
	g.payments = append(g.payments, payment{date: d, amount: amount, category: category, pay: pay})
}

// series is the result of fitting a group's payments to a schedule.
type series struct {
	regular    bool
	cadence    insights.Cadence
	rule       string // schedule name, with ":lapsed" when the run has lapsed
	next       insights.Date
	runAmounts []insights.Amount // amounts of the regular run, or of all payments
	run        int
	total      int
}

// fitSeries fits the payments of g to a schedule, preferring the shifts in
// the order given.
func fitSeries(g *payerGroup, asOf insights.Date, cal *calendar.Calendar, shifts ...shift) series {
	dates := make([]insights.Date, len(g.payments))
	amounts := make([]insights.Amount, len(g.payments))
	for i, p := range g.payments {
		dates[i], amounts[i] = p.date, p.amount
	}

	s := series{cadence: insights.CadenceIrregular, rule: "irregular", runAmounts: amounts, total: len(dates)}
	if len(dates) < minRegularPayments {
		return s // no schedule can reach a regular run
	}
	best := bestFit(dates, cal, shifts...)
	if best.run < minRegularPayments {
		return s
	}
	s.regular, s.run = true, best.run
	s.cadence, s.rule = best.schedule.cadence(), best.schedule.rule()
	s.runAmounts = amounts[len(amounts)-best.run:]
	s.next = nextPayday(best, asOf, cal)
	if s.next.IsZero() {
		s.rule += ":lapsed"
	}
	return s
}

func detectStream(g *payerGroup, asOf insights.Date, cal *calendar.Calendar) Stream {
	amounts := make([]insights.Amount, len(g.payments))
	for i, p := range g.payments {
		amounts[i] = p.amount
	}

	// Step 1: the cadence, from the longest trailing run on one schedule.
	// Wages move earlier at weekends; standing orders from a person move
	// later, so both are tried, earlier first.
	fitted := fitSeries(g, asOf, cal, shiftEarlier, shiftLater)
	s := Stream{IncomeStream: insights.IncomeStream{
		CustomerID:    g.customerID,
		Payer:         g.payer,
		Cadence:       fitted.cadence,
		Payments:      g.credits,
		LastPaid:      g.payments[len(g.payments)-1].date,
		NextExpected:  fitted.next,
		TypicalAmount: median(amounts),
		Currency:      g.currency,
		Rule:          "income:" + fitted.rule,
	}}

	// Step 2: the category, from the payments' own categories or the shape
	// of the stream.
	var runAmounts []insights.Amount
	if fitted.regular {
		runAmounts = fitted.runAmounts
	}
	s.Category = streamCategory(g.payer, g.payments, runAmounts)

	// Step 3: the amount band and the confidence.
	s.AmountLow, s.AmountHigh = percentile(fitted.runAmounts, 10), percentile(fitted.runAmounts, 90)
	s.Confidence = streamConfidence(fitted)
	return s
}

// streamConfidence scores a fitted series from 0 to 1 as the product of
// three factors. The first is the run length, 1 - 0.6^(run-1), so 3
// payments give 0.64 and 6 give 0.92. The second is the share of the run
// within 25% of its median amount. The third is the share of all payments
// that the run covers, at least one half, so that a job change does not
// sink a new, steady stream. An irregular or lapsed series scores 0. The
// score orders streams by how sure the detector is, but is not a
// probability: CalibratedConfidence turns it into one for income streams.
func streamConfidence(s series) float64 {
	if !s.regular || s.next.IsZero() {
		return 0
	}
	length := 1.0
	for i := 1; i < s.run; i++ {
		length *= 0.6
	}
	length = 1 - length
	coverage := max(0.5, float64(s.run)/float64(s.total))
	return length * nearMedianShare(s.runAmounts) * coverage
}

// nextPayday returns the first payday of f strictly after asOf, moved to a
// working day by f's shift. It returns the zero Date when the payday after
// the last payment is more than the cadence's grace days overdue at asOf.
func nextPayday(f fit, asOf insights.Date, cal *calendar.Calendar) insights.Date {
	k := f.lastPeriod + 1
	due := f.shift.apply(f.schedule.nominal(k), cal)
	if due.AddDays(lateGraceDays[f.schedule.cadence()]).Before(asOf) {
		return insights.Date{}
	}
	for !asOf.Before(due) {
		k++
		due = f.shift.apply(f.schedule.nominal(k), cal)
	}
	return due
}

// streamCategory returns the category most of the payments have among
// salary, benefits, pension, gig income and interest. Failing that, a
// regular stream of similar amounts from an organisation looks like wages
// and is salary. Any other stream is other income. runAmounts holds the amounts of the regular
// run, or is empty.
func streamCategory(payer string, payments []payment, runAmounts []insights.Amount) insights.Category {
	counts := map[insights.Category]int{}
	for _, p := range payments {
		counts[p.category]++
	}
	best, bestCount := insights.Category(""), 0
	for _, c := range []insights.Category{insights.CategorySalary, insights.CategoryBenefits,
		insights.CategoryPension, CategoryGigIncome, insights.CategoryInterest} {
		if counts[c] > bestCount {
			best, bestCount = c, counts[c]
		}
	}
	if bestCount > 0 {
		return best
	}

	if len(runAmounts) >= minRegularPayments && similarAmounts(runAmounts) && looksLikeEmployer(payer) {
		return insights.CategorySalary
	}
	return insights.CategoryOtherIncome
}

// employerWords are words of a normalised payer name that mark an
// organisation rather than a person: company suffixes and public
// employers.
var employerWords = map[string]bool{
	"LTD": true, "PLC": true, "LLP": true, "INC": true, "GROUP": true, "HOLDINGS": true, "CO": true,
	"COUNCIL": true, "NHS": true, "TRUST": true, "UNIVERSITY": true, "COLLEGE": true, "SCHOOL": true,
	"PAYROLL": true, "SERVICES": true, "UK": true, "CIC": true, "PARTNERSHIP": true,
}

// looksLikeEmployer reports whether payer, a normalised name, contains a
// word of employerWords. A steady monthly credit from "M SMITH" is more
// likely a lodger or family than a wage.
func looksLikeEmployer(payer string) bool {
	for _, w := range strings.Fields(payer) {
		if employerWords[w] {
			return true
		}
	}
	return false
}

// similarAmounts reports whether at least three quarters of amounts lie
// within 25% of their median, which allows for overtime and a bonus month.
func similarAmounts(amounts []insights.Amount) bool {
	return nearMedianShare(amounts) >= 0.75
}

// nearMedianShare returns the share of amounts within 25% of their median.
func nearMedianShare(amounts []insights.Amount) float64 {
	if len(amounts) == 0 {
		return 0
	}
	m := median(amounts)
	near := 0
	for _, a := range amounts {
		if 4*absAmount(a-m) <= m {
			near++
		}
	}
	return float64(near) / float64(len(amounts))
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

// percentile returns the nearest-rank p-th percentile of amounts (p from 1
// to 100), or 0 for no amounts.
func percentile(amounts []insights.Amount, p int) insights.Amount {
	if len(amounts) == 0 {
		return 0
	}
	sorted := slices.Clone(amounts)
	slices.Sort(sorted)
	rank := (p*len(sorted) + 99) / 100 // ceil(p/100 * n)
	return sorted[max(rank, 1)-1]
}

func absAmount(a insights.Amount) insights.Amount {
	if a < 0 {
		return -a
	}
	return a
}
