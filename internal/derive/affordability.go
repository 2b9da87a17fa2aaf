package derive

import (
	"context"
	"fmt"
	"math"
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

// querySettings end both affordability queries. Query plan optimisation
// (filter push-down through the unions and window functions) cost more
// than it saved on these per-customer reads, whose WHERE clauses already
// sit on the table scans, and one thread suffices for one customer's rows.
//
// NOTE: on a 2-core machine shared with other test runs (load average 3 to
// 5), BenchmarkAffordability measured 35 to 50 ms per derivation with
// these settings and 50 to 90 ms without. That is above the 20 ms aimed
// for. Most of it is planning cost, because the balance query took as long
// for a customer with no rows.
const querySettings = `SETTINGS query_plan_enable_optimizations = 0, max_threads = 1`

// affordabilityMonths are the window lengths a ClaimAffordability may ask for.
var affordabilityMonths = map[int]bool{3: true, 6: true, 12: true}

// Category groups of the affordability figures. They are SQL lists of
// insights.Category values, spliced into the queries below.
const (
	committedCategories = `'housing.rent', 'housing.mortgage', 'council_tax', 'loans', 'credit_card', 'insurance', 'utilities'`
	everydayCategories  = `'groceries', 'transport'`
)

// flowsQuery sums the customer's booked entries in the window by category
// group and divides the sums by the window's months. Debit sums are
// returned as positive amounts. booking_date is the UK calendar day, so the
// window's month boundaries are compared as dates.
//
// Transfers between the customer's own accounts are neither income nor
// spending. Refunds are not income: they return earlier spending. The last
// column is the customer's earliest booked entry at any time, which shows
// whether the stored history covers the whole window. It is why the WHERE
// clause takes the whole history and each sum tests in_window.
//
// {current} is replaced by the state filter of currentFilter.
const flowsQuery = `WITH
    booking_date BETWEEN toDate32({first_day:String}) AND toDate32({last_day:String}) AS in_window
SELECT
    toString(sumIf(amount, in_window AND amount > 0 AND startsWith(category, 'income.') AND category != 'income.refund') / {months:UInt8}),
    toString(-sumIf(amount, in_window AND amount < 0 AND category IN (` + committedCategories + `)) / {months:UInt8}),
    toString(-sumIf(amount, in_window AND amount < 0 AND category IN (` + everydayCategories + `)) / {months:UInt8}),
    toString(-sumIf(amount, in_window AND amount < 0 AND category NOT IN (` + committedCategories + `, ` + everydayCategories + `, 'transfer')) / {months:UInt8}),
    toString(-sumIf(amount, in_window AND amount < 0 AND category = 'gambling')),
    toString(-sumIf(amount, in_window AND amount < 0 AND category != 'transfer')),
    toUInt64(countIf(in_window AND category = 'returned_payment')),
    toUInt64(countIf(in_window)),
    if(count() = 0, '', toString(min(booking_date)))
FROM transactions FINAL
WHERE customer_id = {customer:String}
  AND status = 'booked'
  AND currency = {currency:String}{current}
` + querySettings

// endOfDayQuery is the WITH clause that derives end_of_day, the balance
// of each deposit account at the end of each day of the window.
//
// Method: the stored booked balances (ClosingBooked and InterimBooked) are
// the anchors. A balance closes the UK day of its DateTime less 1 ms, so a
// balance stamped at local midnight closes the day before. running is the
// account's cumulative sum of booked entries up to the end of a day, and
// an anchor fixes offset = balance - running on its day. The end-of-day
// balance of day D is running(D) + the offset of the first anchor on or
// after D, or of the latest anchor when none follows. With a ClosingBooked
// for every day this is the bank's own daily balance. With one balance per
// pull it is the running sum of the entries counted back from the latest
// booked balance.
//
// Credit cards, charge cards, loans and mortgages have no anchor: their
// balances are debts by nature, not an overdrawn account. Nor has an
// account without a booked balance in the currency. Such accounts get a
// NULL balance and are left out.
//
// Each table is read once: ClickHouse evaluates a WITH subquery again at
// every reference, so the steps nest instead.
const endOfDayQuery = `WITH
    toDate32({first_day:String}) AS first_day,
    toDate32({last_day:String}) AS last_day,
    -- One row per anchor, with Nullable anchor balance, and one row per
    -- window day of each anchored account.
    anchor_points AS (
        SELECT account_id, point.1 AS day, toDecimal64(0, 5) AS net, point.2 AS anchor
        FROM (
            SELECT account_id, groupArray((day, amount)) AS anchors
            FROM (
                SELECT account_id,
                    toDate32(toTimeZone(as_of - toIntervalMillisecond(1), '` + bankZone + `')) AS day,
                    CAST(argMax(amount, as_of) AS Nullable(Decimal64(5))) AS amount
                FROM balances FINAL
                WHERE customer_id = {customer:String}
                  AND currency = {currency:String}
                  AND type IN ('ClosingBooked', 'InterimBooked')
                  AND account_id NOT IN (
                      SELECT account_id FROM accounts FINAL
                      WHERE customer_id = {customer:String}
                        AND account_sub_type IN ('CreditCard', 'ChargeCard', 'Loan', 'Mortgage'))
                GROUP BY account_id, day
            )
            GROUP BY account_id
        )
        ARRAY JOIN arrayConcat(
            anchors,
            arrayMap(i -> (first_day + i, CAST(NULL AS Nullable(Decimal64(5)))),
                     range(toUInt32(dateDiff('day', first_day, last_day) + 1)))
        ) AS point
    ),
    end_of_day AS (
        SELECT account_id, day,
            running + coalesce(next_offset, last_offset) AS balance
        FROM (
            SELECT account_id, day, running,
                -- The last non-NULL offset from the end back to this day
                -- is the first one on or after it. A frame that starts at
                -- the current row would be aggregated again for every row.
                last_value(offset) OVER (PARTITION BY account_id ORDER BY day DESC
                    ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS next_offset,
                last_value(offset) OVER (PARTITION BY account_id ORDER BY day
                    ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS last_offset
            FROM (
                SELECT account_id, day, running, anchor - running AS offset
                FROM (
                    SELECT account_id, day, anchor,
                        sum(net) OVER (PARTITION BY account_id ORDER BY day
                            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS running
                    FROM (
                        SELECT account_id, day, sum(net) AS net, max(anchor) AS anchor
                        FROM (
                            SELECT account_id, booking_date AS day, amount AS net,
                                CAST(NULL AS Nullable(Decimal64(5))) AS anchor
                            FROM transactions FINAL
                            WHERE customer_id = {customer:String}
                              AND status = 'booked'
                              AND currency = {currency:String}{current}
                            UNION ALL
                            SELECT account_id, day, net, anchor FROM anchor_points
                        )
                        GROUP BY account_id, day
                    )
                )
            )
        )
        WHERE day BETWEEN first_day AND last_day AND balance IS NOT NULL
    )`

// balancesQuery reads the end-of-day balances of endOfDayQuery. It
// returns the number of days with a balance and the days on which any
// account ended below zero. Its third column is the standard deviation of
// the accounts' summed end-of-day balance within each month, averaged over
// the window's months.
const balancesQuery = endOfDayQuery + `,
    days AS (
        SELECT day, sum(balance) AS total, min(balance) AS lowest
        FROM end_of_day
        GROUP BY day
    ),
    months AS (
        SELECT toStartOfMonth(day) AS month,
            count() AS days,
            countIf(lowest < 0) AS overdrawn,
            stddevPop(toFloat64(total)) AS deviation
        FROM days
        GROUP BY month
    )
SELECT toUInt64(sum(days)), toUInt64(sum(overdrawn)), toFloat64(ifNotFinite(avg(deviation), 0))
FROM months
` + querySettings

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
	res.Affordability = &figures
	return res, nil
}

// Affordability computes the customer's affordability figures over the
// given number of calendar months (3, 6 or 12) that end with the last
// month completed before now in the customer's zone. ok is false when the
// stored data cannot support them (see affordability). Two queries run:
// one for income and spending, one for end-of-day balances.
func (d *Deriver) Affordability(ctx context.Context, customerID string, months int, now time.Time) (figures insights.AffordabilityFigures, ok bool, err error) {
	if !affordabilityMonths[months] {
		return figures, false, insights.Errorf(insights.ErrInvalid, "months: invalid value %d: want 3, 6 or 12", months)
	}
	current, err := d.currentFilter(ctx)
	if err != nil {
		return figures, false, err
	}

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
	params := []store.Param{
		store.P("customer", customerID),
		store.P("currency", AffordabilityCurrency),
		store.P("months", fmt.Sprint(months)),
		store.P("first_day", figures.FirstMonth.String()),
		store.P("last_day", insights.DateOf(thisMonth).AddDays(-1).String()),
	}

	// Step 2: income and spending.
	entries, firstBooked, err := d.flows(ctx, &figures, strings.ReplaceAll(flowsQuery, "{current}", current), params)
	if err != nil {
		return figures, false, fmt.Errorf("affordability: read income and spending: %w", err)
	}
	if entries == 0 || firstBooked.IsZero() || !firstBooked.Before(insights.DateOf(first.AddDate(0, 1, 0))) {
		return figures, false, nil
	}

	// Step 3: end-of-day balances.
	if err := d.balanceFigures(ctx, &figures, strings.ReplaceAll(balancesQuery, "{current}", current), params); err != nil {
		return figures, false, fmt.Errorf("affordability: read end-of-day balances: %w", err)
	}
	return figures, true, nil
}

// flows fills the income and spending figures and returns the number of
// entries in the window and the customer's earliest booking date.
func (d *Deriver) flows(ctx context.Context, f *insights.AffordabilityFigures, query string, params []store.Param) (uint64, insights.Date, error) {
	rows, err := d.Engine.Query(ctx, query, params...)
	if err != nil {
		return 0, insights.Date{}, err
	}
	defer rows.Close()

	var (
		income, committed, everyday, discretionary, gambling, debits, firstBooked string
		returned, entries                                                         uint64
	)
	if rows.Next() {
		if err := rows.Scan(&income, &committed, &everyday, &discretionary, &gambling, &debits,
			&returned, &entries, &firstBooked); err != nil {
			return 0, insights.Date{}, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, insights.Date{}, err
	}
	if entries == 0 {
		return 0, insights.Date{}, nil
	}

	amounts := []struct {
		name  string
		value string
		dest  *insights.Amount
	}{
		{"net income", income, &f.NetIncome},
		{"committed spending", committed, &f.Committed},
		{"everyday spending", everyday, &f.Essential},
		{"discretionary spending", discretionary, &f.Discretionary},
	}
	for _, a := range amounts {
		if *a.dest, err = insights.ParseSignedAmount(a.value); err != nil {
			return 0, insights.Date{}, fmt.Errorf("%s: %w", a.name, err)
		}
	}
	gamblingTotal, err := insights.ParseSignedAmount(gambling)
	if err != nil {
		return 0, insights.Date{}, fmt.Errorf("gambling debits: %w", err)
	}
	debitTotal, err := insights.ParseSignedAmount(debits)
	if err != nil {
		return 0, insights.Date{}, fmt.Errorf("debits: %w", err)
	}

	f.Essential += f.Committed
	f.Disposable = f.NetIncome - f.Essential
	if debitTotal > 0 {
		f.GamblingShare = float64(gamblingTotal) / float64(debitTotal)
	}
	f.ReturnedPayments = int(returned)

	var first insights.Date
	if firstBooked != "" {
		if first, err = insights.ParseDate(firstBooked); err != nil {
			return 0, insights.Date{}, fmt.Errorf("earliest booking date: %w", err)
		}
	}
	return entries, first, nil
}

// balanceFigures fills the overdraft and volatility figures.
func (d *Deriver) balanceFigures(ctx context.Context, f *insights.AffordabilityFigures, query string, params []store.Param) error {
	rows, err := d.Engine.Query(ctx, query, params...)
	if err != nil {
		return err
	}
	defer rows.Close()

	var (
		days, overdrawn uint64
		deviation       float64
	)
	if rows.Next() {
		if err := rows.Scan(&days, &overdrawn, &deviation); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if days == 0 {
		return nil
	}

	f.BalancesKnown = true
	f.DaysInOverdraft = int(overdrawn)
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
	return nil
}

// currentColumns caches, per database, whether transactions has the state
// column that marks superseded and vanished pending entries.
var currentColumns sync.Map // database name → bool

// currentFilter returns the SQL condition that keeps only current
// transaction rows, " AND state = 'current'", or "" when the table has no
// state column because the migration adding it has not run.
func (d *Deriver) currentFilter(ctx context.Context) (string, error) {
	db := d.Engine.Database()
	has, cached := currentColumns.Load(db)
	if !cached {
		const query = `SELECT toUInt64(count()) FROM system.columns
WHERE database = {db:String} AND table = 'transactions' AND name = 'state'`
		rows, err := d.Engine.Query(ctx, query, store.P("db", db))
		if err != nil {
			return "", fmt.Errorf("read columns of transactions: %w", err)
		}
		defer rows.Close()
		var n uint64
		if rows.Next() {
			if err := rows.Scan(&n); err != nil {
				return "", fmt.Errorf("read columns of transactions: %w", err)
			}
		}
		if err := rows.Err(); err != nil {
			return "", fmt.Errorf("read columns of transactions: %w", err)
		}
		has = n > 0
		currentColumns.Store(db, has)
	}
	if has.(bool) {
		return "\n  AND state = 'current'", nil
	}
	return "", nil
}
