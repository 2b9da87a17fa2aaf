package sample

import (
	"time"

	insights "github.com/openbanking-insights/insights"
)

// habit is a kind of card spending a persona does at a steady rate.
type habit struct {
	merchants []merchant // one is picked at random for each purchase
	perWeek   float64    // mean purchases a week
	lo, hi    int64      // amount range in pence
	// fromHour and toHour bound the UK-local hour of purchase.
	fromHour, toHour int
}

// mccCategories gives the category each ISO 18245 code used here stands for.
var mccCategories = map[string]insights.Category{
	"5411": insights.CategoryGroceries,     // grocery stores, supermarkets
	"5499": insights.CategoryGroceries,     // miscellaneous food stores
	"5812": insights.CategoryEatingOut,     // eating places, restaurants
	"5813": insights.CategoryEatingOut,     // drinking places (bars, pubs)
	"5814": insights.CategoryEatingOut,     // fast food restaurants
	"4111": insights.CategoryTransport,     // local and suburban commuter transport
	"4112": insights.CategoryTransport,     // passenger railways
	"4121": insights.CategoryTransport,     // taxicabs and limousines
	"5541": insights.CategoryTransport,     // service stations (fuel)
	"4899": insights.CategorySubscriptions, // cable, satellite and other pay TV and streaming
	"7995": insights.CategoryGambling,      // betting, lottery tickets, casino chips
	"6011": insights.CategoryCash,          // automated cash disbursements
	"5311": insights.CategoryShopping,      // department stores
	"5651": insights.CategoryShopping,      // family clothing stores
	"5691": insights.CategoryShopping,      // men's and women's clothing stores
	"5732": insights.CategoryShopping,      // electronics stores
	"5912": insights.CategoryShopping,      // drug stores and pharmacies
	"5942": insights.CategoryShopping,      // book stores
}

// shop returns a merchant in town with the category of its MCC.
func shop(descriptor, name, mcc, town string) merchant {
	category, ok := mccCategories[mcc]
	if !ok {
		panic("sample: no category for MCC " + mcc)
	}
	return merchant{descriptor: descriptor, name: name, mcc: mcc, town: town, category: category}
}

// spend draws purchases for every habit on every day of the window. The
// card entries of the last two days, and any not yet posted by End, are
// left Pending as the bank still holds them as authorisations.
func (g *generator) spend(a *account, habits []habit) {
	for d := g.start; !g.end.Before(d); d = d.AddDays(1) {
		for _, h := range habits {
			rate := h.perWeek / 7
			n := int(rate)
			if g.chance(rate - float64(n)) {
				n++
			}
			for range n {
				m := h.merchants[g.rng.IntN(len(h.merchants))]
				g.card(a, d, h.fromHour, h.toHour, m, g.pence(h.lo, h.hi), false)
			}
		}
	}
}

// card adds one card entry on purchase day d at a random time between the
// given UK-local hours. It adds nothing and returns nil when d is outside
// the history.
func (g *generator) card(a *account, d insights.Date, fromHour, toHour int, m merchant, pence int64, credit bool) *entry {
	if !g.inWindow(d) {
		return nil
	}
	seconds := g.rng.IntN((toHour - fromHour) * 3600)
	purchase := d.In(london).Add(time.Duration(fromHour)*time.Hour + time.Duration(seconds)*time.Second)

	if m.mcc == "6011" {
		pence = max(1000, pence/1000*1000) // cash machines pay out whole £10s
	}
	e := &entry{
		kind:       kindCard,
		purchase:   purchase,
		pence:      pence,
		credit:     credit,
		name:       m.descriptor,
		category:   m.category,
		merchant:   &m,
		declinable: !credit,
	}
	if m.mcc == "6011" {
		e.kind = kindCash
	}
	if credit {
		e.category = insights.CategoryRefund
	}

	posted := d
	if g.cust.bank.postsCards {
		posted = g.onOrAfterWorkingDay(d.AddDays(1))
	}
	switch {
	case g.end.Before(posted) || !d.Before(g.end.AddDays(-1)):
		// Still an authorisation: BookingDateTime is the time of purchase.
		e.pending = true
		e.declinable = false
		e.at = purchase
	case g.cust.bank.postsCards:
		e.at = g.bookedOn(posted, m.descriptor)
	default:
		e.at = purchase
	}
	return g.add(a, e)
}

// monthlyCard adds a card subscription taken on the same day each month.
func (g *generator) monthlyCard(a *account, day int, m merchant, pence int64) {
	g.months(func(first insights.Date) {
		d := dayOfMonth(first, day)
		if g.inWindow(d) {
			e := g.card(a, d, 3, 6, m, pence, false)
			e.declinable = false
		}
	})
}
