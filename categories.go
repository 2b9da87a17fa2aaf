package insights

// Categories and a cadence that internal/categorize detects beyond the set
// in insights.go. The values are stored in ClickHouse, so they must not
// change.
const (
	// CategoryGigIncome is income from self-employment and platform work:
	// payouts from ride-hailing, delivery, marketplace and card-takings
	// platforms, and invoices paid to a sole trader.
	CategoryGigIncome Category = "income.gig"
	// CategoryBuyNowPayLater is a repayment to a buy-now-pay-later lender.
	// Lenders read it apart from loans because it is short, unsecured and
	// often not reported to credit reference agencies.
	CategoryBuyNowPayLater Category = "buy_now_pay_later"
)

// CadenceTwiceMonthly is a stream that pays twice in each calendar month on
// two fixed days, such as the 15th and the last working day.
const CadenceTwiceMonthly Cadence = "twice_monthly"
