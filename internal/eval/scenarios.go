package eval

import (
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// merchant is a card merchant of the everyday background.
type merchant struct {
	name, mcc string
	category  insights.Category
	lo, hi    float64
}

var merchants = []merchant{
	{"TESCO STORES 3297", "5411", insights.CategoryGroceries, 8, 90},
	{"SAINSBURYS S/MKT", "5411", insights.CategoryGroceries, 6, 80},
	{"LIDL GB LEEDS", "5411", insights.CategoryGroceries, 5, 60},
	{"MCDONALDS 1123", "5814", insights.CategoryEatingOut, 4, 15},
	{"KFC MARE STREET", "5814", insights.CategoryEatingOut, 5, 18},
	{"THE LANDLORD ARMS", "5813", insights.CategoryEatingOut, 8, 45},
	{"PRET A MANGER", "5812", insights.CategoryEatingOut, 4, 12},
	{"TFL TRAVEL CH", "4111", insights.CategoryTransport, 2, 9},
	{"SHELL HEADINGLEY", "5541", insights.CategoryTransport, 30, 80},
	{"UBER *TRIP", "4121", insights.CategoryTransport, 6, 25},
	{"NETFLIX.COM", "4899", insights.CategorySubscriptions, 10.99, 10.99},
	{"ARGOS LTD", "5311", insights.CategoryShopping, 10, 120},
	{"AMZN MKTP UK*AB12C", "5942", insights.CategoryShopping, 5, 60},
	{"BOOTS 1140", "5912", insights.CategoryShopping, 3, 30},
}

// everyday adds card spending, cash withdrawals and a few card refunds
// over the whole history.
func (g *gen) everyday() {
	for d := g.from; !corpusAsOf.Before(d); d = d.AddDays(1) {
		for n := g.rng.IntN(3); n > 0; n-- {
			m := merchants[g.rng.IntN(len(merchants))]
			amount := g.pennies(m.lo, m.hi)
			x := g.codes("card", corpusTx{Counterparty: m.name, MCC: m.mcc,
				Description: fmt.Sprintf("CARD PAYMENT TO %s ON %02d %s", m.name, d.Day, monthAbbr(d.Month))})
			g.add(d, -amount, m.category, x)
			if g.rng.IntN(60) == 0 {
				g.add(d.AddDays(3), amount, insights.CategoryRefund, x)
			}
		}
		if g.rng.IntN(20) == 0 {
			x := g.codes("atm", corpusTx{Description: fmt.Sprintf("ATM %02d%s LINK", d.Day, monthAbbr(d.Month)), MCC: "6011"})
			g.add(d, -g.pennies(20, 20)*insights.Amount(1+g.rng.IntN(5)), insights.CategoryCash, x)
		}
	}
}

func monthAbbr(m time.Month) string { return m.String()[:3] }

func date(y int, m time.Month, d int) insights.Date { return insights.Date{Year: y, Month: m, Day: d} }

var never = insights.Date{}

// bills adds the committed outgoings most customers have: council tax in
// ten instalments from April, energy and a phone by direct debit.
func (g *gen) bills(council string) {
	var ctax []insights.Date
	for _, d := range g.monthlyDates(1) {
		if d.Month != time.February && d.Month != time.March {
			ctax = append(ctax, d)
		}
	}
	g.commitment(council, "COUNCIL TAX", "dd", insights.CategoryCouncilTax, g.shifted(ctax, true), 142.06, true)
	g.commitment("OCTOPUS ENERGY", "", "dd", insights.CategoryUtilities, g.shifted(g.monthlyDates(14), true), 95, false)
	g.commitment("VODAFONE LTD", "", "dd", insights.CategoryUtilities, g.shifted(g.monthlyDates(20), true), 24, true)
}

// savings moves money to and from the customer's own savings account.
func (g *gen) savings(day int) {
	for _, d := range g.shifted(g.monthlyDates(day), false) {
		g.add(d, -g.pennies(50, 300), insights.CategoryTransfer, g.codes("fpo", corpusTx{Description: "TO SAVINGS ACCOUNT"}))
	}
	for i, d := range g.monthlyDates(9) {
		if i%5 == 0 {
			g.add(d, g.pennies(100, 400), insights.CategoryTransfer, g.codes("fpi", corpusTx{Description: "FROM SAVINGS"}))
		}
	}
}

var scenarios = []scenario{
	{"ew-monthly-25th-fastfood-landlord", calendar.RegionEnglandAndWales, styleNames, func(g *gen) {
		// Salary on the 25th, earlier at weekends and bank holidays; rent by
		// standing order to a landlord named like a fast-food chain.
		g.income("ACME LOGISTICS LTD", "SALARY", "bgc", insights.CategorySalary, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(25), false), 2384, g.from, never)
		g.commitment("MCDONALDS PROPERTY LTD", "FLAT 3 RENT", "so", insights.CategoryRent, g.shifted(g.monthlyDates(1), true), 895, true)
		g.bills("LEEDS CITY COUNCIL")
		g.savings(26)
		g.add(date(2026, time.March, 12), g.pennies(19.99, 19.99), insights.CategoryRefund,
			g.codes("fpi", corpusTx{Counterparty: "AMAZON UK", Description: "REFUND"}))
	}},
	{"scot-last-working-day-bnpl", calendar.RegionScotland, styleCodes, func(g *gen) {
		// Last working day in Scotland (2 January and St Andrew's Day);
		// mortgage, buy-now-pay-later by direct debit and by card, gambling.
		g.income("BRIGHTWATER ANALYTICS LTD", "", "bgc", insights.CategorySalary, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(31), false), 2950, g.from, never)
		g.commitment("NATIONWIDE BS", "MORTGAGE", "dd", insights.CategoryMortgage, g.shifted(g.monthlyDates(1), true), 812.4, true)
		g.commitment("KLARNA", "", "dd", categorize.CategoryBuyNowPayLater, g.shifted(g.monthlyDates(5), true), 41.66, true)
		g.bills("CITY OF EDINBURGH COUNCIL")
		for i, d := range g.monthlyDates(17) {
			if i%3 == 0 {
				g.add(d, -g.pennies(30, 30), categorize.CategoryBuyNowPayLater,
					g.codes("card", corpusTx{Counterparty: "CLEARPAY", MCC: "5999"}))
			}
			g.add(d, -g.pennies(5, 50), insights.CategoryGambling, g.codes("card", corpusTx{Counterparty: "BET365", MCC: "7995"}))
			if i%4 == 0 {
				g.add(d.AddDays(2), g.pennies(40, 200), insights.CategoryOtherIncome,
					g.codes("fpi", corpusTx{Counterparty: "SKY BET", Description: "WITHDRAWAL"}))
			}
		}
	}},
	{"ni-12th-boyne", calendar.RegionNorthernIreland, styleNames, func(g *gen) {
		// Paid on the 12th, which the Battle of the Boyne holiday moves;
		// a private pension on the 17th, which St Patrick's Day moves.
		g.income("HARLAND FABRICATION LTD", "WAGES", "bgc", insights.CategorySalary, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(12), false), 2210, g.from, never)
		g.income("AVIVA PENSION", "", "bgc", insights.CategoryPension, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(17), false), 410, g.from, never)
		g.commitment("NIHE", "RENT", "dd", insights.CategoryRent, g.shifted(g.monthlyDates(1), true), 460, true)
		g.bills("BELFAST CITY COUNCIL")
	}},
	{"ew-four-weekly-loans", calendar.RegionEnglandAndWales, styleProprietary, func(g *gen) {
		// Four-weekly on a Thursday, drifting through the month; a loan, a
		// credit card and insurance.
		g.income("PEAK RAIL ENGINEERING LTD", "PAY", "bgc", insights.CategorySalary, insights.CadenceFourWeekly,
			g.shifted(g.periodicDates(date(2024, time.December, 5), 28), false), 2175, g.from, never)
		g.commitment("ZOPA LTD", "LOAN REPAYMENT", "dd", insights.CategoryLoan, g.shifted(g.monthlyDates(8), true), 189.5, true)
		g.commitment("BARCLAYCARD", "", "dd", insights.CategoryCreditCard, g.shifted(g.monthlyDates(22), true), 120, false)
		g.commitment("ADMIRAL INSURANCE", "", "dd", insights.CategoryInsurance, g.shifted(g.monthlyDates(3), true), 38.2, true)
		g.bills("SHEFFIELD CITY COUNCIL")
	}},
	{"scot-twice-monthly-returned-dd", calendar.RegionScotland, styleNames, func(g *gen) {
		// Paid on the 15th and the last working day; two direct debits
		// returned unpaid, each with a fee.
		var paydays []insights.Date
		fifteenth, last := g.monthlyDates(15), g.monthlyDates(31)
		for i := range fifteenth {
			paydays = append(paydays, fifteenth[i], last[i])
		}
		g.income("GLEN RETAIL GROUP PLC", "SALARY", "bgc", insights.CategorySalary, categorize.CadenceTwiceMonthly,
			g.shifted(paydays, false), 1090, g.from, never)
		g.commitment("SCOTTISH POWER", "", "dd", insights.CategoryUtilities, g.shifted(g.monthlyDates(2), true), 88, true)
		g.bills("GLASGOW CITY COUNCIL")
		for _, d := range []insights.Date{date(2025, time.June, 4), date(2026, time.February, 4)} {
			g.add(d, g.pennies(88, 88), insights.CategoryReturned, g.codes("unpaid", corpusTx{Counterparty: "SCOTTISH POWER"}))
			g.add(d.AddDays(1), -g.pennies(15, 15), insights.CategoryBankFees, g.codes("charge", corpusTx{Description: "UNPAID ITEM FEE"}))
		}
		for _, d := range g.monthlyDates(28) {
			g.add(d, -g.pennies(1, 9), insights.CategoryBankFees, g.codes("intdr", corpusTx{Description: "OVERDRAFT INTEREST"}))
		}
	}},
	{"ew-job-change", calendar.RegionEnglandAndWales, styleCodes, func(g *gen) {
		// Paid on the 28th until April 2026, then on the last Friday.
		g.income("OLDCO SYSTEMS LTD", "SALARY", "bgc", insights.CategorySalary, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(28), false), 2950, g.from, date(2026, time.April, 30))
		var fridays []insights.Date
		for _, d := range g.monthlyDates(31) {
			for calendar.Weekday(d) != time.Friday {
				d = d.AddDays(-1)
			}
			fridays = append(fridays, d)
		}
		g.income("NORTHCODE SYSTEMS LTD", "SALARY", "bgc", insights.CategorySalary, insights.CadenceMonthly,
			g.shifted(fridays, false), 3310, date(2026, time.May, 1), never)
		g.file.Streams[0].NextExpected = "" // the old job ended
		g.commitment("HOLBECK LETTINGS LTD", "RENT", "so", insights.CategoryRent, g.shifted(g.monthlyDates(1), true), 1050, true)
		// A garage rented from a private owner by Faster Payment with only a
		// reference: no rule can know it is rent.
		for _, d := range g.monthlyDates(3) {
			g.add(d, -g.pennies(85, 85), insights.CategoryRent, g.codes("fpo", corpusTx{Counterparty: "R PATEL", Description: "GARAGE 4"}))
		}
		g.bills("LAMBETH COUNCIL")
		g.savings(29)
		for _, d := range g.monthlyDates(30) {
			g.add(d, g.pennies(0.5, 3), insights.CategoryInterest, g.codes("intcr", corpusTx{Description: "CREDIT INTEREST"}))
		}
	}},
	{"ew-several-payers", calendar.RegionEnglandAndWales, styleNames, func(g *gen) {
		// A weekly part-time wage, Universal Credit, gig payouts and a
		// customer override for a lodger's rent.
		g.income("GREENLEAF CAFE LTD", "WAGES", "fpi", insights.CategorySalary, insights.CadenceWeekly,
			g.shifted(g.periodicDates(date(2024, time.December, 6), 7), false), 188, g.from, never)
		g.income("DWP UC", "UNIVERSAL CREDIT", "bgc", insights.CategoryBenefits, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(9), false), 498.94, g.from, never)
		g.income("M WHITFIELD", "LODGER", "fpi", insights.CategoryOtherIncome, insights.CadenceMonthly,
			g.shifted(g.monthlyDates(1), true), 350, g.from, never)
		// The same kind of payment as R PATEL's garage elsewhere, but this
		// customer has set an override that makes it rent.
		for _, d := range g.monthlyDates(3) {
			g.add(d, -g.pennies(60, 60), insights.CategoryRent, g.codes("fpo", corpusTx{Counterparty: "S OKAFOR", Description: "PARKING BAY 7"}))
		}
		g.file.Overrides = append(g.file.Overrides, corpusOverride{ID: "parking-bay", Counterparty: "S Okafor",
			Direction: "debit", Category: string(insights.CategoryRent)})
		for d := g.from; !corpusAsOf.Before(d); d = d.AddDays(3 + g.rng.IntN(9)) {
			g.add(d, g.pennies(20, 240), categorize.CategoryGigIncome,
				g.codes("fpi", corpusTx{Counterparty: "UBER BV", Description: "UBER PAYOUT"}))
		}
		g.file.Streams = append(g.file.Streams, corpusStream{Payer: "UBER BV",
			Category: string(categorize.CategoryGigIncome), Cadence: string(insights.CadenceIrregular)})
		g.commitment("HACKNEY HOUSING ASSOCIATION", "", "dd", insights.CategoryRent, g.shifted(g.monthlyDates(1), true), 610, true)
		g.bills("HACKNEY COUNCIL")
	}},
	{"ni-fortnightly-benefits", calendar.RegionNorthernIreland, styleCodes, func(g *gen) {
		// Fortnightly wages on a Friday and a state pension every four
		// weeks on a Monday, both moved by NI holidays.
		g.income("LAGAN FOODS LTD", "", "bgc", insights.CategorySalary, insights.CadenceFortnightly,
			g.shifted(g.periodicDates(date(2024, time.December, 13), 14), false), 910, g.from, never)
		g.income("DWP STATE PENSION", "", "bgc", insights.CategoryPension, insights.CadenceFourWeekly,
			g.shifted(g.periodicDates(date(2024, time.December, 2), 28), false), 880, g.from, never)
		g.commitment("NORTHERN IRELAND WATER", "", "dd", insights.CategoryUtilities, g.shifted(g.monthlyDates(10), true), 31, true)
		g.bills("LAND AND PROPERTY SERVICES RATES")
	}},
}
