package eval

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// DefaultSeed is the seed of the committed corpus.
const DefaultSeed = 20261204

// corpusAsOf is the day the corpus histories end, and corpusMonths their
// length: two years, so that every holiday rule is met at least twice.
var corpusAsOf = insights.Date{Year: 2026, Month: time.November, Day: 30}

const corpusMonths = 24

// WriteCorpus generates the labelled corpus with seed and writes one file
// per customer into dir. The same seed always writes the same bytes.
func WriteCorpus(dir string, seed int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("failed to create %s: %w", dir, err)
	}
	for _, f := range GenerateCorpus(seed) {
		raw, err := json.MarshalIndent(f, "", " ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+".json"), append(raw, '\n'), 0o644); err != nil {
			return fmt.Errorf("failed to write %s: %w", f.Name, err)
		}
	}
	return nil
}

// GenerateCorpus returns the customers of the corpus. Each is a scenario
// built around one or more hard cases, with a background of everyday card
// spending.
func GenerateCorpus(seed int64) []corpusFile {
	var out []corpusFile
	for i, sc := range scenarios {
		g := newGen(sc.name, sc.region, uint64(seed), uint64(i))
		g.style = sc.style
		sc.build(g)
		g.everyday()
		out = append(out, g.finish())
	}
	return out
}

// codeStyle is the form of a bank's transaction codes: ISO 20022 names,
// joined four-letter codes, or proprietary codes only.
type codeStyle int

const (
	styleNames codeStyle = iota
	styleCodes
	styleProprietary
)

type scenario struct {
	name   string
	region calendar.Region
	style  codeStyle
	build  func(*gen)
}

// gen builds one customer's history.
type gen struct {
	file  corpusFile
	rng   *rand.Rand
	cal   *calendar.Calendar
	style codeStyle
	from  insights.Date
	seq   int
}

func newGen(name string, region calendar.Region, seed, stream uint64) *gen {
	cal, err := calendar.New(region)
	if err != nil {
		panic(err) // the scenarios name only valid regions
	}
	return &gen{
		file: corpusFile{Name: name, Region: string(region), AsOf: corpusAsOf.String()},
		rng:  rand.New(rand.NewPCG(seed, stream)),
		cal:  cal,
		from: insights.DateOf(corpusAsOf.In(time.UTC).AddDate(0, -corpusMonths, 1)),
	}
}

func (g *gen) finish() corpusFile {
	slices.SortStableFunc(g.file.Transactions, func(a, b corpusTx) int {
		if a.BookingDate < b.BookingDate {
			return -1
		}
		if a.BookingDate > b.BookingDate {
			return 1
		}
		return 0
	})
	return g.file
}

// pennies returns a random amount between lo and hi pounds.
func (g *gen) pennies(lo, hi float64) insights.Amount {
	p := int64(lo*100) + g.rng.Int64N(int64((hi-lo)*100)+1)
	return insights.Amount(p * 1000)
}

// add records a booked transaction. amount is signed.
func (g *gen) add(d insights.Date, amount insights.Amount, cat insights.Category, x corpusTx) {
	if corpusAsOf.Before(d) {
		return
	}
	g.seq++
	x.Key = fmt.Sprintf("%s-%05d", g.file.Name, g.seq)
	x.BookingDate = d.String()
	x.Status = string(insights.StatusBooked)
	x.Amount = amount.Format(2)
	x.Currency = "GBP"
	x.Category = string(cat)
	g.file.Transactions = append(g.file.Transactions, x)
}

// codes returns the bank transaction code fields for a kind of payment in
// the customer's bank style: kind is one of card, atm, dd, so, fpo, fpi,
// unpaid, intcr, intdr, charge, book.
func (g *gen) codes(kind string, x corpusTx) corpusTx {
	type form struct{ name, sub, code, prop string }
	forms := map[string]form{
		"card":   {"CustomerCardTransactions", "PointOfSalePaymentDebitCard", "PMNT-CCRD-POSD", "DEB"},
		"atm":    {"CustomerCardTransactions", "CashWithdrawal", "PMNT-CCRD-CWDL", "CPT"},
		"dd":     {"IssuedDirectDebits", "DirectDebitPayment", "PMNT-IDDT-PMDD", "DD"},
		"so":     {"IssuedCreditTransfer", "StandingOrder", "PMNT-ICDT-STDO", "SO"},
		"fpo":    {"IssuedCreditTransfer", "DomesticCreditTransfer", "PMNT-ICDT-DMCT", "FPO"},
		"fpi":    {"ReceivedCreditTransfer", "DomesticCreditTransfer", "PMNT-RCDT-DMCT", "FPI"},
		"bgc":    {"ReceivedCreditTransfer", "DomesticCreditTransfer", "PMNT-RCDT-DMCT", "BGC"},
		"unpaid": {"IssuedDirectDebits", "ReversalDueToReturnUnpaidDirectDebit", "PMNT-IDDT-UPDD", ""},
		"intcr":  {"MiscellaneousCreditOperations", "Interest", "ACMT-MCOP-INTR", "INT"},
		"intdr":  {"MiscellaneousDebitOperations", "Interest", "ACMT-MDOP-INTR", "INT"},
		"charge": {"MiscellaneousDebitOperations", "Charges", "ACMT-MDOP-CHRG", "CHG"},
		"book":   {"IssuedCreditTransfer", "InternalBookTransfer", "PMNT-ICDT-BOOK", "TFR"},
	}
	f := forms[kind]
	switch g.style {
	case styleNames:
		x.Code, x.SubCode, x.Proprietary = f.name, f.sub, f.prop
	case styleCodes:
		x.Code, x.Proprietary = f.code, f.prop
	case styleProprietary:
		x.Proprietary = f.prop
		if f.prop == "" { // a bank without codes still words a returned debit
			x.Description = "UNPAID DD " + x.Description
		}
	}
	return x
}

// monthlyDates returns the nominal days of a monthly schedule over the
// history, day 31 meaning the last day of the month.
func (g *gen) monthlyDates(day int) []insights.Date {
	var out []insights.Date
	start := g.from.In(time.UTC)
	for i := 0; i <= corpusMonths+1; i++ {
		m := start.AddDate(0, i, 0)
		last := calendar.LastDayOfMonth(m.Year(), m.Month())
		out = append(out, insights.Date{Year: m.Year(), Month: m.Month(), Day: min(day, last.Day)})
	}
	return out
}

// shifted moves each nominal day to a working day, earlier or later.
func (g *gen) shifted(days []insights.Date, later bool) []insights.Date {
	out := make([]insights.Date, len(days))
	for i, d := range days {
		if later {
			out[i] = g.cal.OnOrAfterWorkingDay(d)
		} else {
			out[i] = g.cal.OnOrBeforeWorkingDay(d)
		}
	}
	return out
}

// periodicDates returns every days-th day from first over the history and
// one period past it.
func (g *gen) periodicDates(first insights.Date, days int) []insights.Date {
	var out []insights.Date
	for d := first; !corpusAsOf.AddDays(days).Before(d); d = d.AddDays(days) {
		out = append(out, d)
	}
	return out
}

// income pays paydays (already shifted) from payer, with the amount within
// 3% of typical, and labels the stream with the first payday after as-of.
// Paydays before start or after end are skipped.
func (g *gen) income(payer, narrative, kind string, cat insights.Category, cadence insights.Cadence,
	paydays []insights.Date, typical float64, start, end insights.Date) {
	next := insights.Date{}
	for _, d := range paydays {
		if d.Before(start) || (!end.IsZero() && end.Before(d)) {
			continue
		}
		if corpusAsOf.Before(d) {
			if next.IsZero() {
				next = d
			}
			continue
		}
		x := g.codes(kind, corpusTx{Counterparty: payer, Description: narrative})
		g.add(d, g.pennies(typical*0.97, typical*1.03), cat, x)
	}
	if cadence == insights.CadenceIrregular {
		next = insights.Date{}
	}
	g.file.Streams = append(g.file.Streams, corpusStream{Payer: categorize.NormalizeCounterparty(payer),
		Category: string(cat), Cadence: string(cadence), NextExpected: next.String()})
}

// commitment pays debits on due days (already shifted) to payee and labels
// the commitment with the first due day after as-of.
func (g *gen) commitment(payee, narrative, kind string, cat insights.Category, due []insights.Date, typical float64, fixed bool) {
	next := insights.Date{}
	amount := g.pennies(typical, typical)
	for _, d := range due {
		if d.Before(g.from) {
			continue
		}
		if corpusAsOf.Before(d) {
			if next.IsZero() {
				next = d
			}
			continue
		}
		if !fixed {
			amount = g.pennies(typical*0.85, typical*1.15)
		}
		g.add(d, -amount, cat, g.codes(kind, corpusTx{Counterparty: payee, Description: narrative}))
	}
	g.file.Commitments = append(g.file.Commitments, corpusStream{Payer: categorize.NormalizeCounterparty(payee),
		Category: string(cat), Cadence: string(insights.CadenceMonthly), NextExpected: next.String()})
}
