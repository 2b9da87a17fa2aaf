package categorize

import (
	"strings"

	"github.com/openbanking-insights/insights"
)

// direction limits a rule to credits, debits or both. It always comes from
// the sign of the amount, never from a bank transaction code.
type direction int

const (
	eitherWay direction = iota
	creditsOnly
	debitsOnly
)

// keywordRule matches whole words or phrases in the normalised counterparty
// and narrative. Phrases are written as NormalizeCounterparty leaves them:
// upper case, no punctuation other than "&", and without the payment-type
// words it strips (so "RETURNED" where the bank wrote "RETURNED DD").
type keywordRule struct {
	name      string // stable rule name, "text:..." or "merchant:..."
	category  insights.Category
	direction direction
	phrases   []string
}

// obligationRules are tried in this order before the MCC of a non-card
// payment and before merchantRules, and the first match wins. Own-account
// transfers and refunds come first, so a refund is never taken for income of
// another kind. Rent and council tax come before the names of firms.
var obligationRules = []keywordRule{
	{"text:own-account-transfer", insights.CategoryTransfer, eitherWay, []string{
		"OWN ACCOUNT", "OWN ACC", "OWN ACCT", "TO SAVINGS", "FROM SAVINGS", "SAVINGS ACCOUNT",
		"ISA TRANSFER", "TRANSFER TO ISA", "TRANSFER FROM ISA", "POT TRANSFER", "FROM POT", "TO POT",
		"INTERNAL TRANSFER", "BETWEEN ACCOUNTS", "SAVINGS", "ISA",
	}},
	{"text:refund", insights.CategoryRefund, creditsOnly, []string{
		"REFUND", "REFUNDS", "REFUNDED", "RFND", "CASHBACK",
	}},
	{"text:bank-fees", insights.CategoryBankFees, debitsOnly, []string{
		"OVERDRAFT FEE", "OVERDRAFT INTEREST", "OVERDRAFT CHARGE", "OVERDRAFT USAGE", "ARRANGED OVERDRAFT",
		"UNARRANGED OVERDRAFT", "UNPAID ITEM FEE", "UNPAID ITEM CHARGE", "RETURNED ITEM FEE", "PAID ITEM FEE",
		"ACCOUNT FEE", "MONTHLY ACCOUNT FEE", "MONTHLY FEE", "NON STERLING TRANSACTION FEE", "NON STERLING FEE",
		"FOREIGN TRANSACTION FEE", "DEBIT INTEREST", "INTEREST CHARGED", "BANK CHARGES", "ACCOUNT CHARGES",
	}},
	{"text:returned-payment", insights.CategoryReturned, eitherWay, []string{
		"UNPAID", "RETURNED", "RETURN OF PAYMENT", "PAYMENT RETURN", "REVERSAL", "REVERSED", "RECALL",
		"RECALLED", "BOUNCED",
	}},
	{"text:interest", insights.CategoryInterest, creditsOnly, []string{
		"INTEREST", "GROSS INTEREST", "CREDIT INTEREST", "INT PAID",
	}},
	{"text:cash", insights.CategoryCash, debitsOnly, []string{
		"ATM", "CASH WITHDRAWAL", "CASHPOINT", "CASH MACHINE", "LINK ATM",
	}},
	{"text:pension", insights.CategoryPension, creditsOnly, []string{
		"PENSION", "PENSIONS", "STATE PENSION", "ANNUITY",
	}},
	{"text:benefits", insights.CategoryBenefits, creditsOnly, []string{
		"DWP", "UNIVERSAL CREDIT", "CHILD BENEFIT", "CHB", "TAX CREDIT", "TAX CREDITS", "NTC", "PIP",
		"ESA", "JSA", "DLA", "CARERS ALLOWANCE", "ATTENDANCE ALLOWANCE", "HOUSING BENEFIT", "BENEFIT",
		"BENEFITS", "SOCIAL SECURITY",
	}},
	// A credit from HMRC that is not child benefit or tax credits is a tax
	// repayment.
	{"text:hmrc-repayment", insights.CategoryRefund, creditsOnly, []string{"HMRC", "HM REVENUE"}},
	{"text:salary", insights.CategorySalary, creditsOnly, []string{
		"SALARY", "SALARIES", "WAGES", "WAGE", "PAYROLL", "NET PAY", "PAYSLIP",
	}},
	{"text:gambling-winnings", insights.CategoryOtherIncome, creditsOnly, gamblingNames},
	{"text:gig", CategoryGigIncome, creditsOnly, []string{
		// Platforms that pay drivers, couriers, hosts and sellers.
		"UBER BV", "UBER", "DELIVEROO", "JUST EAT", "STUART DELIVERY", "EVRI", "AMAZON FLEX", "AIRBNB",
		"ETSY", "VINTED", "EBAY", "DEPOP", "FIVERR", "UPWORK", "TASKRABBIT", "BOLT",
		// Card-takings services that pay out a sole trader's sales.
		"SUMUP", "SUM UP", "ZETTLE", "IZETTLE", "SQUARE", "STRIPE", "DOJO",
		// Words of a payout or a paid invoice.
		"PAYOUT", "PAYOUTS", "INVOICE", "INV", "EARNINGS",
	}},
	{"text:council-tax", insights.CategoryCouncilTax, debitsOnly, []string{
		"COUNCIL TAX", "CTAX", "C TAX",
	}},
	{"text:rent", insights.CategoryRent, debitsOnly, []string{
		"RENT", "RENTS", "LANDLORD", "LETTINGS", "LETTING", "LETTING AGENT", "HOUSING ASSOCIATION",
		"HOUSING ASSOC",
	}},
	{"text:mortgage", insights.CategoryMortgage, debitsOnly, []string{"MORTGAGE", "MORTGAGES", "MTG"}},
	// A payment to a council named without "council tax" is nearly always
	// council tax once rent has been ruled out.
	{"text:council", insights.CategoryCouncilTax, debitsOnly, []string{"COUNCIL"}},
	{"text:gambling", insights.CategoryGambling, debitsOnly, gamblingNames},
	{"text:utilities", insights.CategoryUtilities, debitsOnly, []string{
		// Energy.
		"BRITISH GAS", "EDF", "EDF ENERGY", "E ON", "EON", "E ON NEXT", "OCTOPUS ENERGY", "OVO", "OVO ENERGY",
		"SSE", "SCOTTISH POWER", "SCOTTISHPOWER", "NPOWER", "BULB", "UTILITA", "SHELL ENERGY", "ENERGY",
		// Water.
		"WATER", "THAMES WATER", "SEVERN TRENT", "ANGLIAN WATER", "UNITED UTILITIES", "YORKSHIRE WATER",
		"SOUTHERN WATER", "WESSEX WATER", "WELSH WATER", "DWR CYMRU", "SCOTTISH WATER", "NORTHUMBRIAN WATER",
		"SOUTH WEST WATER", "AFFINITY WATER",
		// Broadband, phone and TV licence.
		"BT", "BT GROUP", "VIRGIN MEDIA", "SKY", "SKY DIGITAL", "TALKTALK", "PLUSNET", "VODAFONE", "EE",
		"O2", "THREE MOBILE", "H3G", "HYPEROPTIC", "COMMUNITY FIBRE", "GIFFGAFF", "TESCO MOBILE",
		"TV LICENCE", "TV LICENSING", "VOXI", "SMARTY", "LEBARA", "LYCAMOBILE", "ID MOBILE", "SKY MOBILE",
	}},
	{"text:insurance", insights.CategoryInsurance, debitsOnly, []string{
		"INSURANCE", "ASSURANCE", "INSURE", "AVIVA", "ADMIRAL", "DIRECT LINE", "LV", "AXA", "LEGAL & GENERAL",
		"LEGAL AND GENERAL", "CHURCHILL", "HASTINGS DIRECT", "ZURICH", "VITALITY", "BUPA", "ROYAL LONDON",
	}},
	{"text:credit-card", insights.CategoryCreditCard, debitsOnly, []string{
		"CREDIT CARD", "BARCLAYCARD", "AMEX", "AMERICAN EXPRESS", "MBNA", "CAPITAL ONE", "VANQUIS", "AQUA",
		"TESCO BANK", "SAINSBURYS BANK",
	}},
	{"text:buy-now-pay-later", CategoryBuyNowPayLater, debitsOnly, bnplNames},
	{"text:loans", insights.CategoryLoan, debitsOnly, []string{
		"LOAN", "LOANS", "CAR FINANCE", "MOTOR FINANCE", "BLACK HORSE", "ZOPA", "NOVUNA", "PAYPAL CREDIT",
		"STUDENT LOANS COMPANY", "SLC", "FINANCE", "HIRE PURCHASE", "LENDABLE", "FUNDING CIRCLE",
	}},
	{"text:hmrc-payment", insights.CategoryOther, debitsOnly, []string{"HMRC", "HM REVENUE"}},
}

// bnplNames are buy-now-pay-later lenders and the names of their products.
var bnplNames = []string{
	"KLARNA", "CLEARPAY", "LAYBUY", "ZILCH", "AFTERPAY", "PAYPAL PAY IN 3", "PAY IN 3", "PAY IN 4",
	"MONZO FLEX", "DIVIDEBUY", "PAYL8R", "FLEXIFI",
}

// lenderRules are read before a card payment's MCC, on the MCCs that
// lenderMCC lists.
var lenderRules = []keywordRule{
	{"text:buy-now-pay-later", CategoryBuyNowPayLater, debitsOnly, bnplNames},
}

// gamblingNames are UK betting, casino and lottery operators.
var gamblingNames = []string{
	"BET365", "WILLIAM HILL", "LADBROKES", "CORAL", "PADDY POWER", "BETFAIR", "SKY BET", "SKYBET",
	"BETFRED", "NATIONAL LOTTERY", "CAMELOT", "POKERSTARS", "UNIBET", "BETWAY", "888", "TOMBOLA",
}

// merchantRules guess a spending category from a merchant's name. They are
// the weakest signal: they apply to debits only, after every other rule, and
// never to standing orders, which pay people and landlords rather than
// shops.
var merchantRules = []keywordRule{
	{"merchant:eating-out", insights.CategoryEatingOut, debitsOnly, []string{
		"MCDONALDS", "MCDONALD", "KFC", "BURGER KING", "NANDOS", "GREGGS", "PRET", "PRET A MANGER",
		"STARBUCKS", "COSTA", "CAFFE NERO", "DELIVEROO", "JUST EAT", "UBER EATS", "PIZZA HUT", "DOMINOS",
		"SUBWAY", "WAGAMAMA", "FIVE GUYS", "WETHERSPOON", "JD WETHERSPOON",
	}},
	{"merchant:groceries", insights.CategoryGroceries, debitsOnly, []string{
		"TESCO", "TESCO STORES", "SAINSBURYS", "SAINSBURY", "ASDA", "MORRISONS", "WM MORRISON", "ALDI",
		"LIDL", "WAITROSE", "CO OP", "COOP", "CO OPERATIVE", "ICELAND", "OCADO", "SPAR",
	}},
	{"merchant:transport", insights.CategoryTransport, debitsOnly, []string{
		"UBER", "TFL", "TFL TRAVEL", "TRANSPORT FOR LONDON", "TRAINLINE", "NATIONAL RAIL", "LNER", "GWR",
		"AVANTI", "STAGECOACH", "ARRIVA", "FIRST BUS", "ADDISON LEE", "BOLT", "SHELL", "BP", "ESSO", "TEXACO",
		"RINGGO", "NCP", "PAYBYPHONE", "EASYJET", "RYANAIR", "BRITISH AIRWAYS",
	}},
	{"merchant:subscriptions", insights.CategorySubscriptions, debitsOnly, []string{
		"NETFLIX", "SPOTIFY", "DISNEY PLUS", "DISNEYPLUS", "AMAZON PRIME", "PRIME VIDEO", "APPLE COM BILL",
		"ITUNES", "YOUTUBE PREMIUM", "NOW TV", "NOWTV", "AUDIBLE", "PUREGYM", "THE GYM", "XBOX", "PLAYSTATION",
	}},
	{"merchant:shopping", insights.CategoryShopping, debitsOnly, []string{
		"AMAZON", "AMZN", "AMZN MKTP", "EBAY", "ARGOS", "JOHN LEWIS", "PRIMARK", "ASOS", "CURRYS", "IKEA",
		"BOOTS", "SUPERDRUG", "B&Q", "WILKO", "TK MAXX", "SPORTS DIRECT", "H&M", "ZARA",
	}},
}

// noRule is the rule index of no match; it is larger than every index, so
// min picks a real match over it.
const noRule = int(^uint(0) >> 1)

// phraseIndex finds the first rule of a list whose phrase occurs in a text,
// in one pass over the text's words. Phrases are keyed by their first word.
type phraseIndex struct {
	rules   []keywordRule
	byFirst map[string][]indexedPhrase
	// starts and ends have the bits of the first words (wordBits): a
	// word with either bit clear starts no phrase, and most words of a
	// name have one clear, which saves looking them up in byFirst.
	starts, ends [64]uint64
}

// wordBits returns the bits of a non-empty word in phraseIndex.starts,
// from its first two bytes, and in phraseIndex.ends, from its length and
// last byte. Each byte gives its low six bits, enough to tell apart the
// upper-case letters and digits that normalised text holds.
func wordBits(word string) (start, end int) {
	start = int(word[0]&63) << 6
	if len(word) > 1 {
		start |= int(word[1] & 63)
	}
	end = min(len(word), 63)<<6 | int(word[len(word)-1]&63)
	return start, end
}

// mayStart reports whether word may be in byFirst.
func (idx *phraseIndex) mayStart(word string) bool {
	if word == "" {
		return false
	}
	start, end := wordBits(word)
	return idx.starts[start>>6]&(1<<(start&63)) != 0 && idx.ends[end>>6]&(1<<(end&63)) != 0
}

type indexedPhrase struct {
	phrase string
	rule   int
}

func newPhraseIndex(rules []keywordRule) phraseIndex {
	idx := phraseIndex{rules: rules, byFirst: map[string][]indexedPhrase{}}
	for i, r := range rules {
		for _, p := range r.phrases {
			first, _, _ := strings.Cut(p, " ")
			idx.byFirst[first] = append(idx.byFirst[first], indexedPhrase{p, i})
			if first != "" {
				start, end := wordBits(first)
				idx.starts[start>>6] |= 1 << (start & 63)
				idx.ends[end>>6] |= 1 << (end & 63)
			}
		}
	}
	return idx
}

// first returns the index of the first rule whose direction fits and one of
// whose phrases is a run of whole words of text, or noRule. text is in the
// form NormalizeCounterparty returns: words separated by single spaces.
func (idx *phraseIndex) first(text string, credit bool) int {
	best := noRule
	for start := 0; start < len(text); {
		end := strings.IndexByte(text[start:], ' ')
		if end < 0 {
			end = len(text)
		} else {
			end += start
		}
		word := text[start:end]
		if !idx.mayStart(word) {
			start = end + 1
			continue
		}
		for _, p := range idx.byFirst[word] {
			if p.rule >= best || !idx.rules[p.rule].direction.allows(credit) {
				continue
			}
			rest := text[start:]
			if strings.HasPrefix(rest, p.phrase) && (len(rest) == len(p.phrase) || rest[len(p.phrase)] == ' ') {
				best = p.rule
			}
		}
		start = end + 1
	}
	return best
}

func (d direction) allows(credit bool) bool {
	return d == eitherWay || d == creditsOnly && credit || d == debitsOnly && !credit
}
