// Package eval measures the categoriser and the income and commitment
// detectors against labelled customers: the generated corpus in
// testdata/labelled and the ground truth of the demo feed in
// testdata/sample. It reports per-category precision and recall, the macro
// F1 over the categories present, and how often the predicted next payday is
// exactly right, per cadence.
package eval

import (
	"cmp"
	"slices"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// Source names the corpus a Case comes from. The two corpora label with
// different taxonomies.
type Source string

// Sources of cases.
const (
	// SourceLabelled is the generated corpus, labelled with the full
	// taxonomy of package categorize.
	SourceLabelled Source = "labelled"
	// SourceSample is the demo feed, labelled with the root taxonomy only:
	// it has no gig income and no buy-now-pay-later category.
	SourceSample Source = "sample"
)

// Case is one customer's history with its ground truth.
type Case struct {
	Name         string
	Source       Source
	Calendar     *calendar.Calendar
	AsOf         insights.Date
	Transactions []insights.Transaction
	// Labels maps Transaction.Key to the true category. Transactions
	// without a label (pending ones) are not scored.
	Labels      map[string]insights.Category
	Streams     []StreamLabel
	Commitments []CommitmentLabel
	Overrides   categorize.Overrides
}

// StreamLabel is an income stream that the generator paid. NextExpected is
// zero when the stream has ended.
type StreamLabel struct {
	Payer        string
	Category     insights.Category
	Cadence      insights.Cadence
	NextExpected insights.Date
}

// CommitmentLabel is a regular outgoing that the generator paid.
type CommitmentLabel struct {
	Payee        string
	Category     insights.Category
	Cadence      insights.Cadence
	NextExpected insights.Date
}

// Counts holds the confusion counts of one category.
type Counts struct {
	TruePositive, FalsePositive, FalseNegative int
}

// Precision returns TP/(TP+FP), or 1 when nothing was predicted.
func (c Counts) Precision() float64 {
	if c.TruePositive+c.FalsePositive == 0 {
		return 1
	}
	return float64(c.TruePositive) / float64(c.TruePositive+c.FalsePositive)
}

// Recall returns TP/(TP+FN), or 1 when the category never occurs.
func (c Counts) Recall() float64 {
	if c.TruePositive+c.FalseNegative == 0 {
		return 1
	}
	return float64(c.TruePositive) / float64(c.TruePositive+c.FalseNegative)
}

// F1 returns the harmonic mean of precision and recall.
func (c Counts) F1() float64 {
	p, r := c.Precision(), c.Recall()
	if p+r == 0 {
		return 0
	}
	return 2 * p * r / (p + r)
}

// Support returns how many labelled transactions have the category.
func (c Counts) Support() int { return c.TruePositive + c.FalseNegative }

// Hits counts exact predictions out of a total.
type Hits struct{ Exact, Total int }

// Rate returns Exact/Total, or 1 for an empty total.
func (h Hits) Rate() float64 {
	if h.Total == 0 {
		return 1
	}
	return float64(h.Exact) / float64(h.Total)
}

// Miss is one wrongly predicted item, kept for the report. It carries the
// transaction's counterparty and narrative, so print it only for the
// fictional corpora of this package, never for a real customer's data.
type Miss struct {
	Case, Item     string
	Want, Got      string
	Rule           string
	Counterparty   string
	Description    string
	BankCode, MCC  string
	ProprietaryKey string
}

// Report is the outcome of Run.
type Report struct {
	Transactions int
	Categories   map[insights.Category]*Counts
	// Groups holds the counts of the first level of the taxonomy.
	Groups map[categorize.Group]*Counts
	// PayDates holds next-payday hits of active labelled income streams by
	// labelled cadence; RegularSalary those of salaries with a cadence other
	// than irregular.
	PayDates      map[insights.Cadence]*Hits
	RegularSalary Hits
	StreamFound   Hits // labelled streams found with the right cadence
	// Rolling holds next-payday hits when the history is cut after every
	// payment of a regular labelled stream from its third on, and again on
	// the day before the next payment: the prediction must be that next
	// payment's date. RollingSalary is the same for salaries only.
	Rolling       map[insights.Cadence]*Hits
	RollingSalary Hits
	// Confidence holds, for each rolling cut at which the stream was
	// detected with a score above 0, the score and whether the prediction
	// came true (see ConfidenceSample).
	Confidence  []ConfidenceSample
	Commitments map[insights.Cadence]*Hits
	Misses      []Miss
}

// MacroF1 returns the mean F1 over the categories that were labelled or
// predicted at least once: the primary categories the corpora exercise,
// plus any category predicted wrongly, which scores an F1 of 0.
func (r *Report) MacroF1() float64 {
	return macroF1(r.Categories)
}

// GroupMacroF1 returns the mean F1 over the first-level groups labelled or
// predicted at least once.
func (r *Report) GroupMacroF1() float64 {
	return macroF1(r.Groups)
}

func macroF1[K comparable](counts map[K]*Counts) float64 {
	sum, n := 0.0, 0
	for _, c := range counts {
		if c.TruePositive+c.FalsePositive+c.FalseNegative == 0 {
			continue
		}
		sum += c.F1()
		n++
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// Accuracy returns the share of labelled transactions categorised right.
func (r *Report) Accuracy() float64 {
	right := 0
	for _, c := range r.Categories {
		right += c.TruePositive
	}
	if r.Transactions == 0 {
		return 1
	}
	return float64(right) / float64(r.Transactions)
}

// Run categorises and detects the streams of every case with categorizer
// (and each case's own overrides) and scores the results.
func Run(categorizer *categorize.Categorizer, cases []Case) *Report {
	r := &Report{
		Categories:  map[insights.Category]*Counts{},
		Groups:      map[categorize.Group]*Counts{},
		PayDates:    map[insights.Cadence]*Hits{},
		Commitments: map[insights.Cadence]*Hits{},
		Rolling:     map[insights.Cadence]*Hits{},
	}
	for i := range cases {
		r.score(categorizer, &cases[i])
	}
	slices.SortFunc(r.Misses, func(a, b Miss) int {
		return cmp.Or(cmp.Compare(a.Case, b.Case), cmp.Compare(a.Item, b.Item))
	})
	return r
}

func (r *Report) score(categorizer *categorize.Categorizer, c *Case) {
	if len(c.Overrides) > 0 {
		categorizer = categorizer.WithOverrides(c.Overrides)
	}

	// Step 1: categorise a copy of the history and score the labelled
	// transactions.
	txs := slices.Clone(c.Transactions)
	categorizer.CategorizeHistory(txs, c.AsOf, c.Calendar)
	for i := range txs {
		t := &txs[i]
		want, ok := c.Labels[t.Key]
		if !ok {
			continue
		}
		r.scoreCategory(c, t, want)
	}

	// Step 2: income streams and their next paydays.
	streams := categorize.DetectIncome(txs, c.AsOf, c.Calendar)
	for _, want := range c.Streams {
		r.scoreStream(c, want, streams)
	}

	// Step 3: the same streams predicted from every cut of the history.
	for _, want := range c.Streams {
		if want.Cadence != insights.CadenceIrregular {
			r.scoreRolling(c, want, txs)
		}
	}

	// Step 4: committed outgoings.
	commitments := categorize.DetectCommitments(txs, c.AsOf, c.Calendar)
	for _, want := range c.Commitments {
		r.scoreCommitment(c, want, commitments)
	}
}

func (r *Report) scoreCategory(c *Case, t *insights.Transaction, want insights.Category) {
	got := t.Category
	if c.Source == SourceSample {
		got = rootCategory(got)
	}
	r.Transactions++
	count(r.Categories, want).FalseNegative++
	count(r.Groups, categorize.GroupOf(want)).FalseNegative++
	if got == want {
		count(r.Categories, want).FalseNegative--
		count(r.Categories, want).TruePositive++
	} else {
		count(r.Categories, got).FalsePositive++
		r.Misses = append(r.Misses, Miss{
			Case: c.Name, Item: t.Key, Want: string(want), Got: string(got), Rule: t.CategoryRule,
			Counterparty: t.Counterparty, Description: t.Description,
			BankCode: t.BankTransactionCode + "/" + t.BankTransactionSubCode, MCC: t.MCC,
			ProprietaryKey: t.ProprietaryCode,
		})
	}
	if g := categorize.GroupOf(got); g == categorize.GroupOf(want) {
		count(r.Groups, g).FalseNegative--
		count(r.Groups, g).TruePositive++
	} else {
		count(r.Groups, g).FalsePositive++
	}
}

// rootCategory maps the categories that package categorize adds to the root
// taxonomy onto the root category the demo feed's labels use for them.
func rootCategory(c insights.Category) insights.Category {
	switch c {
	case categorize.CategoryGigIncome:
		return insights.CategoryOtherIncome
	case categorize.CategoryBuyNowPayLater:
		return insights.CategoryLoan
	}
	return c
}

func (r *Report) scoreStream(c *Case, want StreamLabel, streams []insights.IncomeStream) {
	var got *insights.IncomeStream
	for i := range streams {
		if streams[i].Payer == want.Payer {
			got = &streams[i]
			break
		}
	}

	r.StreamFound.Total++
	if got != nil && got.Cadence == want.Cadence {
		r.StreamFound.Exact++
	} else {
		gotCadence := "none"
		if got != nil {
			gotCadence = string(got.Cadence)
		}
		r.Misses = append(r.Misses, Miss{Case: c.Name, Item: "stream " + want.Payer,
			Want: string(want.Cadence), Got: gotCadence})
	}
	if want.NextExpected.IsZero() {
		return
	}

	hits := r.PayDates[want.Cadence]
	if hits == nil {
		hits = &Hits{}
		r.PayDates[want.Cadence] = hits
	}
	hits.Total++
	regularSalary := want.Category == insights.CategorySalary && want.Cadence != insights.CadenceIrregular
	if regularSalary {
		r.RegularSalary.Total++
	}
	if got != nil && got.NextExpected == want.NextExpected {
		hits.Exact++
		if regularSalary {
			r.RegularSalary.Exact++
		}
		return
	}
	gotNext := "none"
	if got != nil {
		gotNext = got.NextExpected.String() + " " + got.Rule
	}
	r.Misses = append(r.Misses, Miss{Case: c.Name, Item: "next payday " + want.Payer,
		Want: want.NextExpected.String(), Got: gotNext})
}

// scoreRolling predicts the next payday of want's payer from each cut of
// the history that has at least three of its payments.
func (r *Report) scoreRolling(c *Case, want StreamLabel, txs []insights.Transaction) {
	var dates []insights.Date
	paid := map[insights.Date]insights.Amount{} // the payments of each day, summed
	for i := range txs {
		t := &txs[i]
		if t.Amount <= 0 || t.Status != insights.StatusBooked || c.Labels[t.Key] != want.Category ||
			categorize.NormalizeCounterparty(t.Counterparty) != want.Payer {
			continue
		}
		paid[t.BookingDate] += t.Amount
		if len(dates) == 0 || dates[len(dates)-1] != t.BookingDate {
			dates = append(dates, t.BookingDate)
		}
	}
	slices.SortFunc(dates, func(a, b insights.Date) int { return b.DaysUntil(a) })
	dates = slices.Compact(dates)

	hits := r.Rolling[want.Cadence]
	if hits == nil {
		hits = &Hits{}
		r.Rolling[want.Cadence] = hits
	}
	for i := 3; i < len(dates); i++ {
		for _, asOf := range []insights.Date{dates[i-1], dates[i].AddDays(-1)} {
			got := insights.Date{}
			for _, s := range categorize.DetectIncomeScored(txs, asOf, c.Calendar) {
				if s.Payer != want.Payer {
					continue
				}
				got = s.NextExpected
				if s.Confidence > 0 {
					amount := paid[dates[i]]
					r.Confidence = append(r.Confidence, ConfidenceSample{Score: s.Confidence, DateRight: got == dates[i],
						InBand: s.AmountLow <= amount && amount <= s.AmountHigh})
				}
			}
			hits.Total++
			salary := want.Category == insights.CategorySalary
			if salary {
				r.RollingSalary.Total++
			}
			if got == dates[i] {
				hits.Exact++
				if salary {
					r.RollingSalary.Exact++
				}
				continue
			}
			r.Misses = append(r.Misses, Miss{Case: c.Name, Item: "rolling payday " + want.Payer + " as of " + asOf.String(),
				Want: dates[i].String(), Got: got.String()})
		}
	}
}

func (r *Report) scoreCommitment(c *Case, want CommitmentLabel, got []categorize.Commitment) {
	hits := r.Commitments[want.Cadence]
	if hits == nil {
		hits = &Hits{}
		r.Commitments[want.Cadence] = hits
	}
	hits.Total++
	for _, g := range got {
		if g.Payee != want.Payee {
			continue
		}
		if g.NextExpected == want.NextExpected && g.Category == want.Category {
			hits.Exact++
			return
		}
		r.Misses = append(r.Misses, Miss{Case: c.Name, Item: "commitment " + want.Payee,
			Want: string(want.Category) + " " + want.NextExpected.String(),
			Got:  string(g.Category) + " " + g.NextExpected.String() + " " + g.Rule})
		return
	}
	r.Misses = append(r.Misses, Miss{Case: c.Name, Item: "commitment " + want.Payee,
		Want: string(want.Category) + " " + want.NextExpected.String(), Got: "none"})
}

func count[K comparable](m map[K]*Counts, k K) *Counts {
	c := m[k]
	if c == nil {
		c = &Counts{}
		m[k] = c
	}
	return c
}
