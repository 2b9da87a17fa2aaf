package sample

import (
	insights "github.com/openbanking-insights/insights"
)

// streamLabel is the ground truth of one income stream in labels.json.
// The persona sets what it intends, and render counts the payments written.
type streamLabel struct {
	Payer     string            `json:"payer"`
	AccountID string            `json:"account_id"`
	Category  insights.Category `json:"category"`
	Cadence   insights.Cadence  `json:"cadence"`
	// Schedule states the pay rule in words.
	Schedule  string `json:"schedule"`
	Payments  int    `json:"payments"`
	FirstPaid string `json:"first_paid"`
	LastPaid  string `json:"last_paid"`
	// NextExpected is the first pay date after End under Schedule. It is
	// empty for an irregular stream or one that has stopped.
	NextExpected string `json:"next_expected,omitempty"`
	// TypicalAmount is the median credit of the stream.
	TypicalAmount string `json:"typical_amount"`
	Currency      string `json:"currency"`
	// Active is false for a stream that stopped before End, such as a
	// previous employer's.
	Active bool `json:"active"`
}

// stream registers an income stream on a and returns its label.
func (g *generator) stream(a *account, payer string, category insights.Category, cadence insights.Cadence, schedule string) *streamLabel {
	s := &streamLabel{
		Payer:     payer,
		AccountID: a.id,
		Category:  category,
		Cadence:   cadence,
		Schedule:  schedule,
		Currency:  "GBP",
		Active:    true,
	}
	g.cust.streams = append(g.cust.streams, s)
	return s
}

// nextMonthly returns the first date after End that payday gives for End's
// month or a later one.
func (g *generator) nextMonthly(payday func(first insights.Date) insights.Date) insights.Date {
	first := dayOfMonth(g.end, 1)
	for {
		if d := payday(first); g.end.Before(d) {
			return d
		}
		first = firstOfNextMonth(first)
	}
}

// directDebit collects a direct debit due on due. A due date on a weekend
// or bank holiday is collected on the next working day.
func (g *generator) directDebit(a *account, due insights.Date, payee, mandate string, pence int64, category insights.Category) *entry {
	return g.post(a, g.onOrAfterWorkingDay(due), &entry{
		kind: kindDirectDebit, pence: pence, name: payee, ref: mandate, category: category,
		mandate: g.registerMandate(a, payee, mandate),
	})
}

// monthlyDirectDebit collects a direct debit on the given day of every
// month for which amount returns more than zero pence.
func (g *generator) monthlyDirectDebit(a *account, day int, payee, mandate string, category insights.Category, amount func(first insights.Date) int64) {
	g.months(func(first insights.Date) {
		if pence := amount(first); pence > 0 {
			g.directDebit(a, dayOfMonth(first, day), payee, mandate, pence, category)
		}
	})
}

// standingOrder pays to on due, or on the next working day after it.
func (g *generator) standingOrder(a *account, due insights.Date, to counterparty, ref string, pence int64, category insights.Category) *entry {
	return g.post(a, g.onOrAfterWorkingDay(due), &entry{
		kind: kindStandingOrder, pence: pence, name: to.name, ref: ref, category: category, party: &to,
	})
}

// receive books a credit transfer from from on d.
func (g *generator) receive(a *account, d insights.Date, k kind, from counterparty, ref string, pence int64, category insights.Category, s *streamLabel) *entry {
	return g.post(a, d, &entry{
		kind: k, pence: pence, credit: true, name: from.name, ref: ref, category: category, party: &from, stream: s,
	})
}

// payOut books a Faster Payment to to on d.
func (g *generator) payOut(a *account, d insights.Date, to counterparty, ref string, pence int64, category insights.Category) *entry {
	return g.post(a, d, &entry{
		kind: kindFasterOut, pence: pence, name: to.name, ref: ref, category: category, party: &to,
	})
}

// ownAccount returns a as a counterparty in the holder's name.
func (g *generator) ownAccount(a *account, holder string) counterparty {
	return counterparty{name: holder, sortCode: g.cust.bank.sortCode, number: a.number}
}

// transfer moves money between two of the customer's accounts on d: a debit
// of kind out on from and a Faster Payment credit on to, both Transfer. It
// returns the debit.
func (g *generator) transfer(from, to *account, d insights.Date, out kind, holder, ref string, pence int64) *entry {
	debit := g.post(from, d, &entry{
		kind: out, pence: pence, name: holder, ref: ref, category: insights.CategoryTransfer,
		party: new(g.ownAccount(to, holder)),
	})
	g.post(to, d, &entry{
		kind: kindFasterIn, pence: pence, credit: true, name: holder, ref: ref, category: insights.CategoryTransfer,
		party: new(g.ownAccount(from, holder)),
	})
	return debit
}

// interest books interest on the booked balance at d at rate basis points a
// year, one twelfth a month: credit interest on a positive balance of a
// savings account, or debit interest on an overdrawn one.
func (g *generator) interest(a *account, d insights.Date, k kind, name string, basisPoints int64) {
	credit := k == kindInterestCredit
	g.post(a, d, &entry{
		kind: k, credit: credit, name: name, category: interestCategory(credit),
		compute: func(balance int64) int64 {
			if credit && balance > 0 {
				return balance * basisPoints / 120000
			}
			if !credit && balance < 0 {
				return -balance * basisPoints / 120000
			}
			return 0
		},
	})
}

func interestCategory(credit bool) insights.Category {
	if credit {
		return insights.CategoryInterest
	}
	return insights.CategoryBankFees
}

// returnedDirectDebit collects a direct debit that the bank then returns
// unpaid: the debit, a RETURNED DD credit on the next working day and an
// unpaid item charge the working day after.
func (g *generator) returnedDirectDebit(a *account, due insights.Date, payee, mandate string, pence int64, category insights.Category, feePence int64) {
	debit := g.directDebit(a, due, payee, mandate, pence, category)
	paid := insights.DateOf(debit.at.In(london))
	returned := g.onOrAfterWorkingDay(paid.AddDays(1))

	g.post(a, returned, &entry{
		kind: kindDirectDebitReturn, pence: pence, credit: true, name: payee, ref: mandate,
		category: insights.CategoryReturned,
	})
	g.post(a, g.onOrAfterWorkingDay(returned.AddDays(1)), &entry{
		kind: kindCharge, pence: feePence, name: "UNPAID DD FEE", category: insights.CategoryBankFees,
	})
}
