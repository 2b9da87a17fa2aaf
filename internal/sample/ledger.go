package sample

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// merchant is a card acceptor as the card scheme describes it.
type merchant struct {
	descriptor string // acquirer descriptor, e.g. "TESCO STORES 3297"
	name       string // MerchantDetails.MerchantName
	mcc        string // ISO 18245 merchant category code
	town       string
	category   insights.Category // the category a reader would give it
}

// counterparty is the other side of a transfer, shown as CreditorAccount or
// DebtorAccount. Sort codes and account numbers are fictional.
type counterparty struct {
	name     string
	sortCode string
	number   string
}

// entry is one transaction before it is written. Amounts are in pence.
type entry struct {
	kind     kind
	at       time.Time // booking instant
	purchase time.Time // card entries: when the card was used
	pence    int64     // unsigned amount, credited when credit is set
	credit   bool
	name     string // payee, payer or merchant text for the narrative
	ref      string // TransactionReference and narrative reference
	category insights.Category
	merchant *merchant
	party    *counterparty
	pending  bool
	// declinable marks a card debit that the bank declines, leaving no
	// entry, when it would take the balance past the arranged overdraft.
	declinable bool
	// compute, when set, sets the amount from the booked balance just before
	// the entry, as interest does. A zero result drops the entry.
	compute func(balance int64) int64
	stream  *streamLabel
	// mandate and standingOrder are the direct debit mandate or standing
	// order that the entry pays, or nil.
	mandate       *mandate
	standingOrder *standingOrder
	seq           int // creation order, which breaks ties between equal instants
}

// account is one of a customer's accounts with the entries to be written.
type account struct {
	id        string
	nickname  string
	subType   string // OBIE AccountSubType
	number    string // eight digits
	opened    insights.Date
	opening   int64 // signed balance in pence before the first entry
	overdraft int64 // arranged overdraft in pence, zero for none
	entries   []*entry
}

// customer is one persona's feed before it is written.
type customer struct {
	id       string
	bank     *bank
	party    partyJSON
	accounts []*account
	streams  []*streamLabel
	// Payment orders the bank lists, in the order they were set up.
	mandates       []*mandate
	standingOrders []*standingOrder
	scheduled      []*scheduledPayment
}

// generator builds one customer's history between start and end.
type generator struct {
	rng   *rand.Rand
	cal   workCalendar
	start insights.Date // first day of the first month
	end   insights.Date
	cust  *customer
	seq   int
}

// workCalendar is the part of the England and Wales calendar the sample
// needs.
type workCalendar interface {
	IsWorkingDay(insights.Date) bool
	OnOrBeforeWorkingDay(insights.Date) insights.Date
	OnOrAfterWorkingDay(insights.Date) insights.Date
	LastWorkingDayOfMonth(year int, month time.Month) insights.Date
}

func newGenerator(cfg Config, cal workCalendar, c *customer) *generator {
	first := time.Date(cfg.End.Year, cfg.End.Month-time.Month(cfg.Months-1), 1, 0, 0, 0, 0, time.UTC)
	return &generator{
		rng:   rand.New(rand.NewPCG(uint64(cfg.Seed), hashString(c.id))),
		cal:   cal,
		start: insights.DateOf(first),
		end:   cfg.End,
		cust:  c,
	}
}

func hashString(s string) uint64 {
	sum := sha256.Sum256([]byte(s))
	var v uint64
	for _, b := range sum[:8] {
		v = v<<8 | uint64(b)
	}
	return v
}

// newAccount adds an account whose id and number derive from the customer
// and nickname only, so they stay the same whatever the seed.
func (g *generator) newAccount(nickname, subType string, opened insights.Date, opening int64) *account {
	sum := sha256.Sum256([]byte(g.cust.id + "/" + nickname))
	digest := hex.EncodeToString(sum[:])
	a := &account{
		id:       digest[:8] + "-" + digest[8:12] + "-" + digest[12:16] + "-" + digest[16:20] + "-" + digest[20:32],
		nickname: nickname,
		subType:  subType,
		number:   fmt.Sprintf("%08d", hashString(digest)%100000000),
		opened:   opened,
		opening:  opening,
	}
	g.cust.accounts = append(g.cust.accounts, a)
	return a
}

func (g *generator) add(a *account, e *entry) *entry {
	g.seq++
	e.seq = g.seq
	if d := insights.DateOf(e.at.In(london)); d.Before(g.start) || (!e.pending && g.end.Before(d)) {
		return e
	}
	a.entries = append(a.entries, e)
	return e
}

// inWindow reports whether d falls between the first month and End.
func (g *generator) inWindow(d insights.Date) bool {
	return !d.Before(g.start) && !g.end.Before(d)
}

// bookedOn returns the booking instant of an entry booked by date: UK-local
// midnight for banks without times, or a time of day derived from salt for
// banks that time every entry (Bacs files are processed overnight).
func (g *generator) bookedOn(d insights.Date, salt string) time.Time {
	midnight := d.In(london)
	switch g.cust.bank.style {
	case utcMidnight:
		return midnight
	case zeroOffsetMidnight:
		// The bank stamps the UK date at 00:00 UTC. In summer that is 01:00
		// UK time, so the UK date stays the same.
		return d.In(time.UTC)
	}
	h := hashString(d.String() + salt)
	return midnight.Add(time.Duration(1+h%6)*time.Hour + time.Duration(h/7%3600)*time.Second)
}

// pence returns a uniform amount between lo and hi pence inclusive.
func (g *generator) pence(lo, hi int64) int64 {
	return lo + g.rng.Int64N(hi-lo+1)
}

func (g *generator) chance(p float64) bool {
	return g.rng.Float64() < p
}

// months calls fn with the first day of every month from start to End.
func (g *generator) months(fn func(first insights.Date)) {
	for d := g.start; !g.end.Before(d); d = firstOfNextMonth(d) {
		fn(d)
	}
}

func firstOfNextMonth(d insights.Date) insights.Date {
	return insights.DateOf(time.Date(d.Year, d.Month+1, 1, 0, 0, 0, 0, time.UTC))
}

// dayOfMonth returns the given day of d's month, or the month's last day
// when the month is shorter.
func dayOfMonth(d insights.Date, day int) insights.Date {
	last := time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
	return insights.Date{Year: d.Year, Month: d.Month, Day: min(day, last)}
}

// onOrAfterWorkingDay returns d when it is a working day, else the next
// one: direct debits and standing orders due on a weekend or bank holiday
// are paid on the next working day.
func (g *generator) onOrAfterWorkingDay(d insights.Date) insights.Date {
	return g.cal.OnOrAfterWorkingDay(d)
}

// post books e on account a at the instant of a date-only booking on d.
func (g *generator) post(a *account, d insights.Date, e *entry) *entry {
	e.at = g.bookedOn(d, e.name+e.ref)
	return g.add(a, e)
}

// sortedEntries returns a's entries in booking order.
func (a *account) sortedEntries() []*entry {
	out := slices.Clone(a.entries)
	slices.SortStableFunc(out, func(x, y *entry) int {
		if c := x.at.Compare(y.at); c != 0 {
			return c
		}
		return x.seq - y.seq
	})
	return out
}

var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("load time zone %s: %v", name, err))
	}
	return loc
}
