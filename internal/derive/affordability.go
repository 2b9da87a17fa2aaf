package derive

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// AffordabilityCurrency is the currency of the affordability figures.
// Transactions and balances in other currencies are left out.
//
// NOTE: a customer whose main account is not in GBP gets figures from their
// GBP accounts only, or an unavailable claim when there are none.
const AffordabilityCurrency = "GBP"

// bankZone is the zone of transactions.booking_date, which ingest computes
// in the UK banks' zone. Balance times are read in it too, so that a
// balance and the booking days it covers agree.
const bankZone = "Europe/London"

// querySettings end the affordability query. One thread suffices for one
// customer's rows, which the WHERE clauses find through the sorting key's
// prefix, customer_id.
const querySettings = `SETTINGS max_threads = 1`

// affordabilityMonths are the window lengths a ClaimAffordability may ask for.
var affordabilityMonths = map[int]bool{3: true, 6: true, 12: true}

// Category groups of the affordability figures, as stored category
// values. Transfers between the customer's own accounts are neither income
// nor spending. Refunds are not income: they return earlier spending.
var (
	committedCategories = map[string]bool{
		"housing.rent": true, "housing.mortgage": true, "council_tax": true, "loans": true,
		"credit_card": true, "insurance": true, "utilities": true,
	}
	everydayCategories = map[string]bool{"groceries": true, "transport": true}
)

const (
	incomePrefix     = "income."
	refundCategory   = "income.refund"
	transferCategory = "transfer"
	gamblingCategory = "gambling"
	returnedCategory = "returned_payment"
	stateCurrent     = "current"
)

// entriesQuery reads the customer's booked entries in the currency that
// the affordability figures are computed from: account, UK booking day,
// amount and stored category. booking_date is the UK calendar day, so the
// window's month boundaries are compared as dates. The entries cover the
// whole history, not only the window: the earliest one shows whether the
// history covers the window, and the running sums of endOfDay start from
// it. {current} is replaced by the state filter of currentFilter.
//
// The sums by day and category group are built in Go (see dayRows) rather
// than with GROUP BY, so that RefreshAll computes them from the one read of
// historyQuery that also feeds the detectors. On the benchmark's 1,000
// entries the GROUP BY query took about 5.5 ms against about 2.6 ms for
// reading the entries (see docs/benchmarks.md).
const entriesQuery = `SELECT account_id, toString(booking_date), toString(amount), toString(category)
FROM transactions FINAL
WHERE customer_id = {customer:String}
  AND status = 'booked'
  AND currency = {currency:String}{current}
` + querySettings

// anchorBalancesSQL selects the stored booked balances of the customer's
// deposit accounts in the currency, each with the UK day it closes. A
// balance closes the UK day of its DateTime less 1 ms, so a balance stamped
// at local midnight closes the day before. Credit cards, charge cards,
// loans and mortgages get no anchor: their balances are debts by nature,
// not an overdrawn account.
const anchorBalancesSQL = `
    SELECT account_id, amount, as_of,
        toDate32(toTimeZone(as_of - toIntervalMillisecond(1), '` + bankZone + `')) AS day
    FROM balances FINAL
    WHERE customer_id = {customer:String}
      AND currency = {currency:String}
      AND type IN ('ClosingBooked', 'InterimBooked')
      AND account_id NOT IN (
          SELECT account_id FROM accounts FINAL
          WHERE customer_id = {customer:String}
            AND account_sub_type IN ('CreditCard', 'ChargeCard', 'Loan', 'Mortgage'))
`

// anchorsQuery returns one row per stored booked balance day of a deposit
// account (see endOfDay and anchorBalancesSQL). Of several balances closing
// one day the latest counts.
const anchorsQuery = `SELECT account_id, toString(day), toString(argMax(amount, as_of))
FROM (` + anchorBalancesSQL + `)
GROUP BY account_id, day
` + querySettings

// dayFlows sums one account's booked entries on one UK day. The debit
// sums are positive.
type dayFlows struct {
	account                                                           string
	day                                                               insights.Date
	net, income, committed, everyday, discretionary, gambling, debits insights.Amount
	returned, entries                                                 uint64
}

// anchor is a row of anchorsQuery: an account's booked balance at the end
// of a UK day.
type anchor struct {
	account string
	day     insights.Date
	balance insights.Amount
}

// affordability decides ClaimAffordability over the req.Months calendar
// months that end with the last month completed before now in the
// customer's zone. AsOf is the end of that window. The claim is
// unavailable when the customer has no booked entry in the currency in the
// window, or when the stored history starts after the window's first
// month, because monthly averages would then understate every figure.
func (d *Deriver) affordability(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	figures, ok, err := d.Affordability(ctx, customerID, req.Months, now)
	if err != nil {
		return res, fmt.Errorf("derive affordability for claim: %w", err)
	}
	if !ok {
		return res, nil
	}

	res.Available = true
	res.AsOf = figures.LastMonth.In(d.zone()).AddDate(0, 1, 0).UTC()
	res.DataFrom, res.DataTo = figures.FirstMonth.In(d.zone()).UTC(), res.AsOf
	res.Affordability = &figures
	return res, nil
}

// Affordability computes the customer's affordability figures over the
// given number of calendar months (3, 6 or 12) that end with the last
// month completed before now in the customer's zone. ok is false when the
// stored data cannot support them (see affordability). It runs two
// queries at once, entriesQuery and anchorsQuery, and computes the figures
// from their rows.
func (d *Deriver) Affordability(ctx context.Context, customerID string, months int, now time.Time) (figures insights.AffordabilityFigures, ok bool, err error) {
	if !affordabilityMonths[months] {
		return figures, false, insights.Errorf(insights.ErrInvalid, "months: invalid value %d: want 3, 6 or 12", months)
	}
	days, anchors, err := d.affordabilityData(ctx, customerID)
	if err != nil {
		return figures, false, fmt.Errorf("affordability: read entries and balances: %w", err)
	}
	figures, ok = d.affordabilityFigures(days, anchors, months, now)
	return figures, ok, nil
}

// affordabilityFigures computes the figures over months calendar months
// from the day rows and anchors of the customer's entries and balances.
func (d *Deriver) affordabilityFigures(days []dayFlows, anchors []anchor, months int, now time.Time) (figures insights.AffordabilityFigures, ok bool) {
	// Step 1: the window, in whole calendar months of the customer's zone.
	local := now.In(d.zone())
	thisMonth := time.Date(local.Year(), local.Month(), 1, 0, 0, 0, 0, d.zone())
	first := thisMonth.AddDate(0, -months, 0)
	figures = insights.AffordabilityFigures{
		Months:     months,
		FirstMonth: insights.DateOf(first),
		LastMonth:  insights.DateOf(thisMonth.AddDate(0, -1, 0)),
		Currency:   AffordabilityCurrency,
	}
	lastDay := insights.DateOf(thisMonth).AddDays(-1)

	// Step 2: income and spending.
	entries, firstBooked := flows(&figures, days, figures.FirstMonth, lastDay)
	if entries == 0 || !firstBooked.Before(insights.DateOf(first.AddDate(0, 1, 0))) {
		return figures, false
	}

	// Step 3: end-of-day balances.
	balanceFigures(&figures, endOfDay(days, anchors, figures.FirstMonth, lastDay))
	return figures, true
}

// affordabilityData reads the customer's entries as day rows and the
// balance anchors, on two connections at once.
func (d *Deriver) affordabilityData(ctx context.Context, customerID string) ([]dayFlows, []anchor, error) {
	current, err := d.currentFilter(ctx)
	if err != nil {
		return nil, nil, err
	}
	var (
		anchors   []anchor
		anchorErr error
		wait      sync.WaitGroup
	)
	wait.Go(func() { anchors, anchorErr = d.anchors(ctx, customerID) })
	days, err := d.entryDays(ctx, strings.Replace(entriesQuery, "{current}", current, 1), customerID)
	wait.Wait()
	if err != nil {
		return nil, nil, fmt.Errorf("entries: %w", err)
	}
	if anchorErr != nil {
		return nil, nil, anchorErr
	}
	return days, anchors, nil
}

// entryDays runs query, an entriesQuery, and sums its rows by day.
func (d *Deriver) entryDays(ctx context.Context, query, customerID string) ([]dayFlows, error) {
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID), store.P("currency", AffordabilityCurrency))
	if err != nil {
		return nil, err
	}
	defer rows.Close()

	var days dayRows
	for n := 0; rows.Next(); n++ {
		var account, day, amount, category string
		if err := rows.Scan(&account, &day, &amount, &category); err != nil {
			return nil, fmt.Errorf("row %d: %w", n, err)
		}
		date, err := insights.ParseDate(day)
		if err != nil {
			return nil, fmt.Errorf("row %d: booking_date: %w", n, err)
		}
		value, err := insights.ParseSignedAmount(amount)
		if err != nil {
			return nil, fmt.Errorf("row %d: amount: %w", n, err)
		}
		days.add(account, date, value, category)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return days.list(), nil
}

// anchors reads the rows of anchorsQuery.
func (d *Deriver) anchors(ctx context.Context, customerID string) ([]anchor, error) {
	rows, err := d.Engine.Query(ctx, anchorsQuery, store.P("customer", customerID), store.P("currency", AffordabilityCurrency))
	if err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	defer rows.Close()

	var anchors []anchor
	for n := 0; rows.Next(); n++ {
		var account, day, balance string
		if err := rows.Scan(&account, &day, &balance); err != nil {
			return nil, fmt.Errorf("balances: row %d: %w", n, err)
		}
		a, err := parseAnchor(account, day, balance)
		if err != nil {
			return nil, fmt.Errorf("balances: row %d: %w", n, err)
		}
		anchors = append(anchors, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("balances: %w", err)
	}
	return anchors, nil
}

// parseAnchor parses the text columns of an anchorsQuery row.
func parseAnchor(account, day, balance string) (anchor, error) {
	a := anchor{account: account}
	var err error
	if a.day, err = insights.ParseDate(day); err != nil {
		return a, fmt.Errorf("day: %w", err)
	}
	if a.balance, err = insights.ParseSignedAmount(balance); err != nil {
		return a, fmt.Errorf("amount: %w", err)
	}
	return a, nil
}

// dayRows sums entries into one dayFlows per account and UK booking day,
// in the order each pair first appears.
type dayRows struct {
	index map[dayKey]int
	days  []dayFlows
}

type dayKey struct {
	account string
	day     insights.Date
}

// add counts one booked entry with its stored category.
func (r *dayRows) add(account string, day insights.Date, amount insights.Amount, category string) {
	key := dayKey{account, day}
	i, ok := r.index[key]
	if !ok {
		if r.index == nil {
			r.index = map[dayKey]int{}
		}
		i = len(r.days)
		r.index[key] = i
		r.days = append(r.days, dayFlows{account: account, day: day})
	}
	f := &r.days[i]
	f.entries++
	f.net += amount
	if category == returnedCategory {
		f.returned++
	}
	switch {
	case amount > 0:
		if strings.HasPrefix(category, incomePrefix) && category != refundCategory {
			f.income += amount
		}
	case amount < 0:
		debit := -amount
		if category != transferCategory {
			f.debits += debit
		}
		switch {
		case committedCategories[category]:
			f.committed += debit
		case everydayCategories[category]:
			f.everyday += debit
		case category != transferCategory:
			f.discretionary += debit
		}
		if category == gamblingCategory {
			f.gambling += debit
		}
	}
}

func (r *dayRows) list() []dayFlows { return r.days }

// flows fills the income and spending figures from the day rows between
// first and last, both included, as monthly averages truncated to
// insights.AmountScale. It returns the number of entries in the window and
// the earliest booking day of any row, zero when there is none.
func flows(f *insights.AffordabilityFigures, days []dayFlows, first, last insights.Date) (uint64, insights.Date) {
	var (
		entries, returned  uint64
		earliest           insights.Date
		income, committed  insights.Amount
		everyday, optional insights.Amount
		gambling, debits   insights.Amount
	)
	for _, r := range days {
		if earliest.IsZero() || r.day.Before(earliest) {
			earliest = r.day
		}
		if r.day.Before(first) || last.Before(r.day) {
			continue
		}
		entries += r.entries
		returned += r.returned
		income += r.income
		committed += r.committed
		everyday += r.everyday
		optional += r.discretionary
		gambling += r.gambling
		debits += r.debits
	}
	if entries == 0 {
		return 0, earliest
	}

	months := insights.Amount(f.Months)
	f.NetIncome = income / months
	f.Committed = committed / months
	f.Essential = everyday/months + f.Committed
	f.Discretionary = optional / months
	f.Disposable = f.NetIncome - f.Essential
	if debits > 0 {
		f.GamblingShare = float64(gambling) / float64(debits)
	}
	f.ReturnedPayments = int(returned)
	return entries, earliest
}

// dayBalance is the customer's summed and lowest end-of-day balance over
// their anchored accounts on one UK day.
type dayBalance struct {
	day           insights.Date
	total, lowest insights.Amount
}

// endOfDay returns, for each day from first to last, the end-of-day
// balances of the accounts that have an anchor, in day order. It returns
// none when no account has one.
//
// Method: the stored booked balances are the anchors. running is an
// account's cumulative sum of booked entries up to the end of a day, and
// an anchor fixes offset = balance - running on its day. The end-of-day
// balance of day D is running(D) plus the offset of the first anchor on or
// after D, or of the latest anchor when none follows. With a ClosingBooked
// for every day this is the bank's own daily balance. With one balance per
// pull it is the running sum of the entries counted back from the latest
// booked balance. Entries before the first day of the history do not
// matter: a constant in running cancels out of running(D) + offset.
func endOfDay(days []dayFlows, anchors []anchor, first, last insights.Date) []dayBalance {
	byAccount := map[string][]anchor{}
	for _, a := range anchors {
		byAccount[a.account] = append(byAccount[a.account], a)
	}
	if len(byAccount) == 0 || last.Before(first) {
		return nil
	}
	nets := map[string][]dayFlows{}
	for _, r := range days {
		if _, ok := byAccount[r.account]; ok {
			nets[r.account] = append(nets[r.account], r)
		}
	}

	n := first.DaysUntil(last) + 1
	out := make([]dayBalance, n)
	for i := range out {
		out[i].day = first.AddDays(i)
	}
	accounts := 0
	for account, accountAnchors := range byAccount {
		balances := accountBalances(nets[account], accountAnchors, first, n)
		for i, b := range balances {
			if accounts == 0 || b < out[i].lowest {
				out[i].lowest = b
			}
			out[i].total += b
		}
		accounts++
	}
	return out
}

// accountBalances returns one account's end-of-day balances on the n days
// from first, given its day rows and at least one anchor.
func accountBalances(days []dayFlows, anchors []anchor, first insights.Date, n int) []insights.Amount {
	slices.SortFunc(days, func(a, b dayFlows) int { return compareDays(a.day, b.day) })
	slices.SortFunc(anchors, func(a, b anchor) int { return compareDays(a.day, b.day) })

	// running returns the sum of the entries booked on or before day. The
	// rows are sorted, so a binary search finds the prefix.
	prefix := make([]insights.Amount, len(days)+1)
	for i, r := range days {
		prefix[i+1] = prefix[i] + r.net
	}
	running := func(day insights.Date) insights.Amount {
		i, _ := slices.BinarySearchFunc(days, day, func(r dayFlows, d insights.Date) int {
			if d.Before(r.day) {
				return 1
			}
			return -1
		})
		return prefix[i]
	}

	offsets := make([]insights.Amount, len(anchors))
	for i, a := range anchors {
		offsets[i] = a.balance - running(a.day)
	}
	balances := make([]insights.Amount, n)
	next := 0 // the first anchor on or after the day
	for i := range balances {
		day := first.AddDays(i)
		for next < len(anchors) && anchors[next].day.Before(day) {
			next++
		}
		offset := offsets[len(offsets)-1]
		if next < len(anchors) {
			offset = offsets[next]
		}
		balances[i] = running(day) + offset
	}
	return balances
}

// balanceFigures fills the overdraft and volatility figures from the
// window's end-of-day balances. BalanceStdDev is the population standard
// deviation of the summed balance within each calendar month, averaged
// over the months.
func balanceFigures(f *insights.AffordabilityFigures, days []dayBalance) {
	if len(days) == 0 {
		return
	}

	var (
		deviations []float64
		month      []float64
	)
	flush := func() {
		if len(month) > 0 {
			deviations = append(deviations, populationStdDev(month))
			month = month[:0]
		}
	}
	for i, d := range days {
		if i > 0 && d.day.Month != days[i-1].day.Month {
			flush()
		}
		month = append(month, float64(d.total)/math.Pow10(insights.AmountScale))
		if d.lowest < 0 {
			f.DaysInOverdraft++
		}
	}
	flush()
	var deviation float64
	for _, v := range deviations {
		deviation += v / float64(len(deviations))
	}

	f.BalancesKnown = true
	f.BalanceStdDev = insights.Amount(math.Round(deviation * math.Pow10(insights.AmountScale)))
	scale := max(f.NetIncome, f.Essential+f.Discretionary)
	switch {
	case scale > 0:
		f.Volatility = float64(f.BalanceStdDev) / float64(scale)
	case f.BalanceStdDev > 0:
		// No income and no spending, yet the balance moved: nothing to
		// compare the movement with, so it counts as volatile.
		f.Volatility = math.Inf(1)
	}
}

// populationStdDev returns the population standard deviation of values.
func populationStdDev(values []float64) float64 {
	var mean float64
	for _, v := range values {
		mean += v
	}
	mean /= float64(len(values))
	var squares float64
	for _, v := range values {
		squares += (v - mean) * (v - mean)
	}
	return math.Sqrt(squares / float64(len(values)))
}

// compareDays orders a before b when a is the earlier day.
func compareDays(a, b insights.Date) int { return b.DaysUntil(a) }

// currentColumns caches, per database, whether transactions has the state
// column that marks superseded and vanished pending entries.
var currentColumns sync.Map // database name → bool

// currentFilter returns the SQL condition that keeps only current
// transaction rows, " AND state = 'current'", or "" when the table has no
// state column because the migration adding it has not run.
func (d *Deriver) currentFilter(ctx context.Context) (string, error) {
	has, err := d.hasStateColumn(ctx)
	if err != nil || !has {
		return "", err
	}
	return "\n  AND state = 'current'", nil
}

// stateColumn returns the SQL of a transaction row's state: the state
// column, or 'current' when the table has none (see currentFilter).
func (d *Deriver) stateColumn(ctx context.Context) (string, error) {
	has, err := d.hasStateColumn(ctx)
	if err != nil || !has {
		return "'" + stateCurrent + "'", err
	}
	return "toString(state)", nil
}

// hasStateColumn reports whether transactions has the state column.
func (d *Deriver) hasStateColumn(ctx context.Context) (bool, error) {
	db := d.Engine.Database()
	has, cached := currentColumns.Load(db)
	if !cached {
		const query = `SELECT toUInt64(count()) FROM system.columns
WHERE database = {db:String} AND table = 'transactions' AND name = 'state'`
		rows, err := d.Engine.Query(ctx, query, store.P("db", db))
		if err != nil {
			return false, fmt.Errorf("read columns of transactions: %w", err)
		}
		defer rows.Close()
		var n uint64
		if rows.Next() {
			if err := rows.Scan(&n); err != nil {
				return false, fmt.Errorf("read columns of transactions: %w", err)
			}
		}
		if err := rows.Err(); err != nil {
			return false, fmt.Errorf("read columns of transactions: %w", err)
		}
		has = n > 0
		currentColumns.Store(db, has)
	}
	return has.(bool), nil
}
