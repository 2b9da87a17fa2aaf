package sample

import (
	"fmt"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// persona builds one demo customer. Names, addresses, employers, landlords
// and account numbers are invented. Shops and utilities carry the names UK
// statements show, so that narratives read like real ones.
type persona struct {
	id    string
	bank  *bank
	build func(g *generator)
}

var personas = []persona{
	{"alice", northgate, buildAlice},
	{"bob", northgate, buildBob},
	{"chen", cobalt, buildChen},
	{"dana", cobalt, buildDana},
	{"eve", kestrel, buildEve},
}

func date(y int, m time.Month, d int) insights.Date {
	return insights.Date{Year: y, Month: m, Day: d}
}

func residential(lines []string, street, number, town, postCode string) []addressJSON {
	return []addressJSON{{
		AddressType: "Residential", AddressLine: lines, StreetName: street, BuildingNumber: number,
		TownName: town, PostCode: postCode, Country: "GB",
	}}
}

// councilTaxMonth reports whether a council tax instalment falls in the
// month: ten monthly instalments, April to January.
func councilTaxMonth(m time.Month) bool {
	return m != time.February && m != time.March
}

// financialYear returns the UK tax year (April to March) a month falls in,
// by its starting calendar year.
func financialYear(d insights.Date) int {
	if d.Month < time.April {
		return d.Year - 1
	}
	return d.Year
}

// buildAlice: monthly salary on the 25th moved earlier to the previous
// working day, rent by standing order, council tax in ten instalments,
// utilities and card spending across many MCCs.
func buildAlice(g *generator) {
	g.cust.party = partyJSON{
		PartyID: "NGP-5520193", PartyType: "Sole", Name: "Alice Hartley", FullLegalName: "Miss Alice Jane Hartley",
		BirthDate: "1991-03-02",
		Address:   residential([]string{"Flat 3", "14 Larchfield Road"}, "Larchfield Road", "14", "Leeds", "LS6 2QT"),
	}
	cur := g.newAccount("Everyday", "CurrentAccount", date(2014, time.September, 22), 184055)
	town := "LEEDS"

	employer := counterparty{"ACME LOGISTICS LTD", "401276", "53917724"}
	payday := func(first insights.Date) insights.Date {
		return g.cal.OnOrBeforeWorkingDay(dayOfMonth(first, 25))
	}
	salary := g.stream(cur, employer.name, insights.CategorySalary, insights.CadenceMonthly,
		"25th of each month; paid on the previous working day when the 25th is a weekend or bank holiday")
	g.months(func(first insights.Date) {
		pay := int64(238417)
		if first.Month == time.December {
			pay += 25000 // Christmas bonus
		}
		g.receive(cur, payday(first), kindBankGiroCredit, employer, "SALARY", pay, insights.CategorySalary, salary)
	})
	salary.NextExpected = g.nextMonthly(payday).String()

	landlord := counterparty{"HOLBECK LETTINGS LTD", "205531", "70334189"}
	rent := g.newStandingOrder(cur, 1, landlord, "FLAT 3 RENT", 89500, insights.CategoryRent, date(2024, time.September, 1))
	g.months(func(first insights.Date) {
		g.payStandingOrder(rent, first)
	})
	g.monthlyDirectDebit(cur, 1, "COUNCIL TAX LEEDS CC", "LCC-40188273", insights.CategoryCouncilTax, func(first insights.Date) int64 {
		switch {
		case !councilTaxMonth(first.Month):
			return 0
		case financialYear(first) < 2026:
			return 14106
		case first.Month == time.April:
			return 14820
		}
		return 14811
	})
	g.monthlyDirectDebit(cur, 12, "OCTOPUS ENERGY", "OCTO-A-7F31C2", insights.CategoryUtilities, func(first insights.Date) int64 {
		if first.Month >= time.April && first.Month <= time.September {
			return 8400
		}
		return 9600
	})
	g.monthlyDirectDebit(cur, 20, "YORKSHIRE WATER", "YW8812094451", insights.CategoryUtilities, func(first insights.Date) int64 {
		if financialYear(first) < 2026 {
			return 3850
		}
		return 4010
	})
	g.monthlyDirectDebit(cur, 3, "VIRGIN MEDIA", "VM-662019384", insights.CategoryUtilities, func(insights.Date) int64 { return 4200 })
	g.monthlyDirectDebit(cur, 15, "EE LIMITED", "EE0039918245", insights.CategoryUtilities, func(insights.Date) int64 {
		return 1800 + g.rng.Int64N(4)*250 // roaming and extras vary the bill
	})
	g.monthlyDirectDebit(cur, 28, "AVIVA INSURANCE", "AV-HC-5531902", insights.CategoryInsurance, func(insights.Date) int64 { return 945 })

	g.monthlyCard(cur, 7, shop("NETFLIX.COM", "NETFLIX.COM", "4899", "LOS GATOS"), 1099)
	g.monthlyCard(cur, 18, shop("SPOTIFY", "SPOTIFY UK", "4899", "LONDON"), 1199)
	g.spend(cur, []habit{
		{merchants: []merchant{
			shop("TESCO STORES 3297", "TESCO STORES", "5411", town),
			shop("SAINSBURYS S/MKTS", "SAINSBURYS", "5411", town),
			shop("ALDI STORES 78", "ALDI", "5411", town),
		}, perWeek: 2.5, lo: 600, hi: 7200, fromHour: 9, toHour: 21},
		{merchants: []merchant{
			shop("PRET A MANGER", "PRET A MANGER", "5814", town),
			shop("GREGGS 1177", "GREGGS", "5814", town),
			shop("NANDOS LEEDS", "NANDOS", "5812", town),
			shop("THE BREWERY TAP", "THE BREWERY TAP", "5813", town),
		}, perWeek: 2, lo: 320, hi: 3800, fromHour: 8, toHour: 22},
		{merchants: []merchant{
			shop("FIRST WEST YORKSHIRE", "FIRST BUS", "4111", town),
			shop("NORTHERN TRAINS", "NORTHERN TRAINS", "4112", town),
		}, perWeek: 3, lo: 200, hi: 550, fromHour: 7, toHour: 19},
		{merchants: []merchant{
			shop("BOOTS 1049", "BOOTS", "5912", town),
			shop("PRIMARK", "PRIMARK", "5651", town),
			shop("WATERSTONES", "WATERSTONES", "5942", town),
		}, perWeek: 0.8, lo: 450, hi: 6500, fromHour: 10, toHour: 19},
		{merchants: []merchant{
			shop("NORTHGATE BANK", "NORTHGATE BANK", "6011", town),
			shop("NOTEMACHINE", "NOTEMACHINE", "6011", town),
		}, perWeek: 0.25, lo: 2000, hi: 6000, fromHour: 9, toHour: 22},
	})

	// A return: clothes bought online and refunded two weeks later.
	asos := shop("ASOS.COM", "ASOS", "5691", "LONDON")
	bought := firstOfNextMonth(firstOfNextMonth(g.start)).AddDays(9)
	g.card(cur, bought, 19, 22, asos, 5400, false)
	g.card(cur, bought.AddDays(14), 9, 12, asos, 5400, true)

	friend := counterparty{"J OKAFOR", "089302", "21174458"}
	g.months(func(first insights.Date) {
		if g.chance(0.4) {
			g.payOut(cur, first.AddDays(5+g.rng.IntN(20)), friend, "DINNER", g.pence(1500, 4500), insights.CategoryOther)
		}
	})
	// Concert tickets the friend bought, paid back by a payment set up to
	// leave on the day of the concert.
	g.schedulePayment(cur, g.end.AddDays(11), friend, "GIG TICKETS", 4650)
}

// buildBob: four-weekly pay on Fridays drifting through the month, a
// mortgage, a direct debit returned unpaid with its charge, and card
// entries still pending at End.
func buildBob(g *generator) {
	g.cust.party = partyJSON{
		PartyID: "NGP-3017746", PartyType: "Sole", Name: "Bob Ashworth", FullLegalName: "Mr Robert Ashworth",
		BirthDate: "1983-10-17",
		Address:   residential([]string{"27 Whinmoor Crescent"}, "Whinmoor Crescent", "27", "Sheffield", "S6 4JR"),
	}
	cur := g.newAccount("Current Account", "CurrentAccount", date(2009, time.April, 6), 161280)
	town := "SHEFFIELD"

	// Pay every 28 days from the second Friday of the first month. A Friday
	// that is a bank holiday pays on the working day before.
	employer := counterparty{"PEAK RAIL ENGINEERING LTD", "162043", "88210375"}
	anchor := g.start
	for anchor.In(time.UTC).Weekday() != time.Friday {
		anchor = anchor.AddDays(1)
	}
	anchor = anchor.AddDays(7)
	wages := g.stream(cur, employer.name, insights.CategorySalary, insights.CadenceFourWeekly,
		"every 28 days on a Friday; paid on the previous working day when that Friday is a bank holiday")
	friday := anchor
	for ; !g.end.Before(friday); friday = friday.AddDays(28) {
		overtime := g.rng.Int64N(4) * 4275
		g.receive(cur, g.cal.OnOrBeforeWorkingDay(friday), kindBankGiroCredit, employer, "WAGES", 204688+overtime,
			insights.CategorySalary, wages)
	}
	wages.NextExpected = g.cal.OnOrBeforeWorkingDay(friday).String()

	lender := "PENNINE BS MORTGAGE"
	g.monthlyDirectDebit(cur, 1, lender, "PBS-00418827", insights.CategoryMortgage, func(insights.Date) int64 { return 74216 })
	g.monthlyDirectDebit(cur, 15, "SHEFFIELD CITY COUNCIL", "SCC-CT-3390418", insights.CategoryCouncilTax, func(first insights.Date) int64 {
		switch {
		case !councilTaxMonth(first.Month):
			return 0
		case financialYear(first) < 2026:
			return 13140
		}
		return 13792
	})
	g.monthlyDirectDebit(cur, 8, "BRITISH GAS", "BG-850033172", insights.CategoryUtilities, func(insights.Date) int64 { return 11800 })
	g.monthlyDirectDebit(cur, 1, "YORKSHIRE WATER", "YW2270913318", insights.CategoryUtilities, func(insights.Date) int64 { return 4100 })
	g.monthlyDirectDebit(cur, 20, "SKY DIGITAL", "SKY-7730182290", insights.CategoryUtilities, func(insights.Date) int64 { return 5400 })
	g.monthlyDirectDebit(cur, 5, "ZOPA LTD", "ZOPA-L-118204", insights.CategoryLoan, func(insights.Date) int64 { return 18933 })
	g.monthlyDirectDebit(cur, 22, "BARCLAYCARD", "BCARD-4410993", insights.CategoryCreditCard, func(insights.Date) int64 {
		return g.pence(6000, 22000)
	})

	// Car insurance. One month's collection comes back unpaid and is
	// collected again a week later.
	insurer, mandate := "ADMIRAL INSURANCE", "ADM-P-62119003"
	bounceMonth := 0
	g.months(func(first insights.Date) {
		bounceMonth++
		due := dayOfMonth(first, 12)
		if bounceMonth == (monthsBetween(g.start, g.end)+1)/2 {
			g.returnedDirectDebit(cur, due, insurer, mandate, 4682, insights.CategoryInsurance, 500)
			g.directDebit(cur, due.AddDays(7), insurer, mandate, 4682, insights.CategoryInsurance)
			return
		}
		g.directDebit(cur, due, insurer, mandate, 4682, insights.CategoryInsurance)
	})

	g.spend(cur, []habit{
		{merchants: []merchant{
			shop("TESCO EXTRA 2561", "TESCO", "5411", town),
			shop("ASDA STORES 4412", "ASDA", "5411", town),
			shop("LIDL GB SHEFFIELD", "LIDL", "5411", town),
		}, perWeek: 2.5, lo: 800, hi: 6800, fromHour: 9, toHour: 21},
		{merchants: []merchant{
			shop("SHELL HILLSBOROUGH", "SHELL", "5541", town),
			shop("ESSO PENISTONE RD", "ESSO", "5541", town),
		}, perWeek: 0.8, lo: 3500, hi: 7000, fromHour: 7, toHour: 20},
		{merchants: []merchant{
			shop("GREGGS 0842", "GREGGS", "5814", town),
			shop("MCDONALDS 1290", "MCDONALDS", "5814", town),
			shop("J D WETHERSPOON", "WETHERSPOON", "5813", town),
		}, perWeek: 1.5, lo: 300, hi: 2500, fromHour: 7, toHour: 22},
		{merchants: []merchant{
			shop("ARGOS LTD", "ARGOS", "5311", town),
			shop("CURRYS 2031", "CURRYS", "5732", town),
		}, perWeek: 0.4, lo: 500, hi: 6000, fromHour: 10, toHour: 19},
		{merchants: []merchant{
			shop("NORTHGATE BANK", "NORTHGATE BANK", "6011", town),
		}, perWeek: 0.5, lo: 1000, hi: 4000, fromHour: 8, toHour: 21},
	})

	// A car service booked for the week after End, paid by a one-off
	// payment set up in advance.
	garage := counterparty{"HILLSBOROUGH AUTOCARE LTD", "404729", "61830527"}
	g.schedulePayment(cur, g.end.AddDays(7), garage, "MOT AND SERVICE", 28500)
}

// monthsBetween returns how many month boundaries lie from a to b.
func monthsBetween(a, b insights.Date) int {
	return (b.Year-a.Year)*12 + int(b.Month-a.Month)
}

// buildChen: a change of employer half way through the history, rent to a
// landlord whose surname is also a fast-food chain's, and a savings account
// fed by standing order that pays monthly interest.
func buildChen(g *generator) {
	g.cust.party = partyJSON{
		PartyID: "c0b-prt-81fe22", PartyType: "Sole", Name: "Wei Chen", FullLegalName: "Mr Wei Chen",
		BirthDate: "1994-08-29",
		Address: residential([]string{"Apartment 42", "Cobden Works", "9 Vesta Street"}, "Vesta Street", "9",
			"Manchester", "M4 6DZ"),
	}
	cur := g.newAccount("Main", "CurrentAccount", date(2021, time.February, 3), 306312)
	savings := g.newAccount("Rainy day", "Savings", date(2022, time.July, 14), 420000)
	holder := "MR W CHEN"
	town := "MANCHESTER"

	// The first employer pays on the last working day of each month before
	// the switch month. From the switch month on, the second pays on the
	// 28th, moved to the previous working day.
	switchMonth := g.start
	for range (monthsBetween(g.start, g.end) + 1) / 2 {
		switchMonth = firstOfNextMonth(switchMonth)
	}
	first := counterparty{"BRIGHTWATER ANALYTICS LTD", "600918", "41177206"}
	second := counterparty{"NORTHCODE SYSTEMS LTD", "230580", "64310957"}
	old := g.stream(cur, first.name, insights.CategorySalary, insights.CadenceMonthly,
		"last working day of each month, until the employee left")
	old.Active = false
	payday := func(m insights.Date) insights.Date {
		return g.cal.OnOrBeforeWorkingDay(dayOfMonth(m, 28))
	}
	current := g.stream(cur, second.name, insights.CategorySalary, insights.CadenceMonthly,
		"28th of each month; paid on the previous working day when the 28th is a weekend or bank holiday")
	g.months(func(m insights.Date) {
		if m.Before(switchMonth) {
			pay := int64(295000)
			if firstOfNextMonth(m) == switchMonth {
				pay += 61538 // untaken holiday paid out with the final salary
			}
			g.receive(cur, g.cal.LastWorkingDayOfMonth(m.Year, m.Month), kindBankGiroCredit, first,
				"SALARY", pay, insights.CategorySalary, old)
			return
		}
		g.receive(cur, payday(m), kindBankGiroCredit, second, "NORTHCODE PAY", 331042, insights.CategorySalary, current)
	})
	current.NextExpected = g.nextMonthly(payday).String()

	landlord := counterparty{"R MCDONALD", "110422", "30857712"}
	rent := g.newStandingOrder(cur, 1, landlord, "RENT APT 42", 105000, insights.CategoryRent, date(2024, time.April, 1))
	saving := g.newTransferOrder(cur, savings, 2, holder, "SAVINGS", 75000, date(2022, time.August, 2))
	g.months(func(m insights.Date) {
		g.payStandingOrder(rent, m)
		g.payStandingOrder(saving, m)
		g.interest(savings, m, kindInterestCredit, "INTEREST EARNED", 310)
	})
	// Two withdrawals from savings back to the current account.
	for _, offset := range []int{95, 250} {
		if d := g.start.AddDays(offset); g.inWindow(d) {
			g.transfer(savings, cur, d, kindFasterOut, holder, "FROM SAVINGS", g.pence(40000, 80000)/1000*1000)
		}
	}

	g.monthlyDirectDebit(cur, 1, "MANCHESTER CITY COUNCIL", "MCC-CTX-7718220", insights.CategoryCouncilTax, func(m insights.Date) int64 {
		switch {
		case !councilTaxMonth(m.Month):
			return 0
		case financialYear(m) < 2026:
			return 13655
		}
		return 14310
	})
	g.monthlyDirectDebit(cur, 10, "OCTOPUS ENERGY", "OCTO-A-09B2E7", insights.CategoryUtilities, func(insights.Date) int64 { return 8500 })
	g.monthlyDirectDebit(cur, 17, "HYPEROPTIC LTD", "HYP-2291044", insights.CategoryUtilities, func(insights.Date) int64 { return 3500 })
	g.monthlyDirectDebit(cur, 21, "UNITED UTILITIES", "UU-5510398827", insights.CategoryUtilities, func(insights.Date) int64 { return 3275 })

	g.monthlyCard(cur, 4, shop("DISNEY PLUS", "DISNEY PLUS", "4899", "LONDON"), 499)
	g.monthlyCard(cur, 11, shop("SPOTIFY", "SPOTIFY UK", "4899", "LONDON"), 1199)
	g.spend(cur, []habit{
		{merchants: []merchant{
			shop("SAINSBURYS LOCAL 2204", "SAINSBURYS", "5411", town),
			shop("CO-OP GROUP FOOD", "CO-OP", "5411", town),
			shop("WAITROSE 0711", "WAITROSE", "5411", town),
		}, perWeek: 2.2, lo: 500, hi: 6200, fromHour: 8, toHour: 22},
		{merchants: []merchant{
			shop("MCDONALDS 0463", "MCDONALDS", "5814", town),
			shop("PRET A MANGER", "PRET A MANGER", "5814", town),
			shop("WAGAMAMA", "WAGAMAMA", "5812", town),
			shop("COSTA COFFEE 43118", "COSTA COFFEE", "5814", town),
		}, perWeek: 3, lo: 290, hi: 3400, fromHour: 7, toHour: 22},
		{merchants: []merchant{
			shop("TFGM METROLINK", "METROLINK", "4111", town),
			shop("UBER *TRIP", "UBER", "4121", town),
		}, perWeek: 3.5, lo: 280, hi: 1800, fromHour: 7, toHour: 23},
		{merchants: []merchant{
			shop("JOHN LEWIS", "JOHN LEWIS", "5311", town),
			shop("UNIQLO", "UNIQLO", "5691", town),
		}, perWeek: 0.5, lo: 1500, hi: 9000, fromHour: 10, toHour: 20},
	})
}

// buildDana: aged 17 at End, weekly wages from a part-time job that vary
// with the hours worked, and a monthly allowance from a parent.
func buildDana(g *generator) {
	g.cust.party = partyJSON{
		PartyID: "c0b-prt-17d9a4", PartyType: "Sole", Name: "Dana Whitfield", FullLegalName: "Miss Dana Rose Whitfield",
		BirthDate: "2009-07-19",
		Address:   residential([]string{"63 Cotswold Grove"}, "Cotswold Grove", "63", "Bristol", "BS7 9PL"),
	}
	cur := g.newAccount("Teen account", "CurrentAccount", date(2023, time.August, 1), 8500)
	town := "BRISTOL"

	// Paid each Friday for the week's shifts. The National Minimum Wage for
	// under-18s rose from £7.55 to £8.00 an hour on 1 April 2026.
	employer := counterparty{"GREENLEAF CAFE LTD", "309634", "10728845"}
	wages := g.stream(cur, employer.name, insights.CategorySalary, insights.CadenceWeekly,
		"every Friday; paid on the previous working day when the Friday is a bank holiday")
	friday := g.start
	for friday.In(time.UTC).Weekday() != time.Friday {
		friday = friday.AddDays(1)
	}
	for ; !g.end.Before(friday); friday = friday.AddDays(7) {
		rate := int64(755)
		if !friday.Before(date(2026, time.April, 1)) {
			rate = 800
		}
		hours := 6 + g.rng.Int64N(11)
		g.receive(cur, g.cal.OnOrBeforeWorkingDay(friday), kindBankGiroCredit, employer, "WAGES", hours*rate,
			insights.CategorySalary, wages)
	}
	wages.NextExpected = g.cal.OnOrBeforeWorkingDay(friday).String()

	parent := counterparty{"M WHITFIELD", "203317", "59022184"}
	allowance := g.stream(cur, parent.name, insights.CategoryOtherIncome, insights.CadenceMonthly,
		"1st of each month by standing order; paid on the next working day when the 1st is a weekend or bank holiday")
	next := func(first insights.Date) insights.Date { return g.onOrAfterWorkingDay(first) }
	g.months(func(first insights.Date) {
		g.receive(cur, next(first), kindFasterIn, parent, "POCKET MONEY", 5000, insights.CategoryOtherIncome, allowance)
	})
	allowance.NextExpected = g.nextMonthly(next).String()

	g.monthlyCard(cur, 9, shop("SPOTIFY", "SPOTIFY UK", "4899", "LONDON"), 599)
	g.spend(cur, []habit{
		{merchants: []merchant{
			shop("GREGGS 0311", "GREGGS", "5814", town),
			shop("KFC BROADMEAD", "KFC", "5814", town),
			shop("BUBBLE CITY TEA", "BUBBLE CITY TEA", "5812", town),
			shop("FIVE GUYS CABOT CIRCUS", "FIVE GUYS", "5814", town),
		}, perWeek: 3.5, lo: 250, hi: 1400, fromHour: 11, toHour: 21},
		{merchants: []merchant{
			shop("FIRST BUS BRISTOL", "FIRST BUS", "4111", town),
		}, perWeek: 2, lo: 130, hi: 300, fromHour: 7, toHour: 19},
		{merchants: []merchant{
			shop("PRIMARK", "PRIMARK", "5651", town),
			shop("BOOTS 0620", "BOOTS", "5912", town),
			shop("NEW LOOK 0117", "NEW LOOK", "5651", town),
			shop("WATERSTONES", "WATERSTONES", "5942", town),
		}, perWeek: 1.2, lo: 400, hi: 4500, fromHour: 10, toHour: 19},
		{merchants: []merchant{
			shop("CO-OP GROUP FOOD", "CO-OP", "5411", town),
		}, perWeek: 1, lo: 120, hi: 650, fromHour: 8, toHour: 22},
	})
}

// buildEve: no birth date on file, irregular gig income beside Universal
// Credit, gambling, and an arranged overdraft the balance moves in and out
// of, with monthly overdraft interest.
func buildEve(g *generator) {
	g.cust.party = partyJSON{
		PartyID: "KB0092715", PartyType: "Sole", Name: "Eve Marlowe", FullLegalName: "Ms Eve Marlowe",
		Address: residential([]string{"Flat B", "118 Amhurst Terrace"}, "Amhurst Terrace", "118", "London", "E8 2BT"),
	}
	cur := g.newAccount("Current", "CurrentAccount", date(2017, time.March, 20), -24010)
	cur.overdraft = 150000
	town := "LONDON"

	// Universal Credit is paid monthly on the assessment day. When that is
	// a weekend or bank holiday, DWP pays on the working day before.
	dwp := counterparty{"DWP UC", "608371", "17002299"}
	ucDay := func(first insights.Date) insights.Date { return g.cal.OnOrBeforeWorkingDay(dayOfMonth(first, 9)) }
	uc := g.stream(cur, dwp.name, insights.CategoryBenefits, insights.CadenceMonthly,
		"9th of each month; paid on the previous working day when the 9th is a weekend or bank holiday")
	g.months(func(first insights.Date) {
		g.receive(cur, ucDay(first), kindBankGiroCredit, dwp, "UC "+fmt.Sprint(first.Year%100)+"M"+fmt.Sprint(int(first.Month)),
			g.pence(40000, 58000), insights.CategoryBenefits, uc)
	})
	uc.NextExpected = g.nextMonthly(ucDay).String()

	// Gig platforms pay out when the worker cashes out, so the gaps and
	// amounts follow no schedule.
	gigs := []struct {
		from             counterparty
		minGap, maxGap   int
		minPence, maxPen int64
	}{
		{counterparty{"ROOFRIDE UK LTD", "404511", "32118890"}, 3, 16, 4500, 38000},
		{counterparty{"PARCELDASH LTD", "207116", "88453012"}, 12, 40, 6000, 22000},
	}
	for _, gig := range gigs {
		s := g.stream(cur, gig.from.name, insights.CategoryOtherIncome, insights.CadenceIrregular,
			"payouts on demand, no schedule")
		for d := g.start.AddDays(g.rng.IntN(gig.maxGap)); g.inWindow(d); d = d.AddDays(gig.minGap + g.rng.IntN(gig.maxGap-gig.minGap+1)) {
			g.receive(cur, d, kindFasterIn, gig.from, "PAYOUT", g.pence(gig.minPence, gig.maxPen), insights.CategoryOtherIncome, s)
		}
	}

	landlord := counterparty{"K PATEL", "090127", "44810263"}
	bookie := counterparty{"BETVALE LTD", "309950", "71520064"}
	rent := g.newStandingOrder(cur, 1, landlord, "FLAT B RENT", 62500, insights.CategoryRent, date(2023, time.March, 1))
	g.months(func(first insights.Date) {
		g.payStandingOrder(rent, first)
		g.interest(cur, first, kindInterestDebit, "OVERDRAFT INTEREST", 3990)
		if g.chance(0.6) {
			g.receive(cur, first.AddDays(3+g.rng.IntN(24)), kindFasterIn, bookie, "WITHDRAWAL", g.pence(2000, 15000),
				insights.CategoryGambling, nil)
		}
	})
	g.monthlyDirectDebit(cur, 6, "EDF ENERGY", "EDF-1182930044", insights.CategoryUtilities, func(insights.Date) int64 { return 6200 })
	g.monthlyDirectDebit(cur, 14, "VOXI", "VOXI-77100281", insights.CategoryUtilities, func(insights.Date) int64 { return 1500 })
	g.monthlyDirectDebit(cur, 1, "LB HACKNEY CTAX", "HKY-CT-0917723", insights.CategoryCouncilTax, func(m insights.Date) int64 {
		switch {
		case !councilTaxMonth(m.Month):
			return 0
		case financialYear(m) < 2026:
			return 9480
		}
		return 9955
	})

	g.spend(cur, []habit{
		{merchants: []merchant{
			shop("LIDL GB HACKNEY", "LIDL", "5411", town),
			shop("TESCO EXPRESS 5520", "TESCO", "5411", town),
		}, perWeek: 2, lo: 400, hi: 4200, fromHour: 9, toHour: 22},
		{merchants: []merchant{
			shop("GREGGS 2290", "GREGGS", "5814", town),
			shop("KFC MARE STREET", "KFC", "5814", town),
		}, perWeek: 2, lo: 250, hi: 1400, fromHour: 10, toHour: 23},
		{merchants: []merchant{
			shop("TFL TRAVEL CH", "TRANSPORT FOR LONDON", "4111", town),
		}, perWeek: 4, lo: 175, hi: 560, fromHour: 6, toHour: 23},
		{merchants: []merchant{
			shop("BETVALE", "BETVALE", "7995", town),
			shop("LUCKYSPIN CASINO", "LUCKYSPIN", "7995", "GIBRALTAR"),
		}, perWeek: 2.5, lo: 500, hi: 4000, fromHour: 12, toHour: 24},
		{merchants: []merchant{
			shop("CARDTRONICS", "CARDTRONICS", "6011", town),
		}, perWeek: 0.3, lo: 1000, hi: 3000, fromHour: 10, toHour: 23},
	})
}
