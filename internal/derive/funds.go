package derive

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// fundsQuery sums, over the customer's accounts, one balance per account
// in the requested currency, less any credit line the balance includes.
//
// Per account it takes the balance of the most preferred type, and of that
// type the newest: InterimAvailable, then ClosingAvailable, then Expected,
// then InterimBooked or ClosingBooked. Ingest stores v4.0 codes (ITAV,
// CLAV, XPCD, ITBD, CLBD) under these v3.1 names. Other types (opening,
// forward, cleared, information) do not say what can be spent now.
//
// An OBIE balance whose CreditLine has Included true counts the overdraft
// or credit limit in its amount. The limit is borrowing, not funds, so it
// is subtracted unless {overdraft} is true: 100.00 in credit with a 500.00
// overdraft included in a balance of 600.00 counts as 100.00, or as 600.00
// when the client asked for the overdraft to count.
//
// NOTE: ingest sums only included lines in the balance's currency into
// credit_line, so an included line in another currency (or with no Amount)
// is not subtracted and such a balance overstates funds.
//
// The outer query returns one row even for no accounts, with accounts 0.
const fundsQuery = `SELECT
    toString(sum(funds)),
    count() AS accounts,
    min(as_of_ms),
    max(as_of_ms)
FROM (
    SELECT
        account_id,
        argMax(amount - if(credit_line_included AND NOT {overdraft:Bool}, credit_line, toDecimal64(0, 5)), (preference, as_of)) AS funds,
        argMax(toUnixTimestamp64Milli(as_of), (preference, as_of)) AS as_of_ms
    FROM (
        SELECT
            account_id, amount, credit_line_included, credit_line, as_of,
            multiIf(type = 'InterimAvailable', 4, type = 'ClosingAvailable', 3, type = 'Expected', 2, 1) AS preference
        FROM balances FINAL
        WHERE customer_id = {customer:String}
          AND currency = {currency:String}
          AND type IN ('InterimAvailable', 'ClosingAvailable', 'Expected', 'InterimBooked', 'ClosingBooked')
    )
    GROUP BY account_id
)`

// fundsAtLeast decides ClaimFundsAtLeast. AsOf is the oldest of the balance
// times used, so the result is known to hold from then. It is unavailable
// when no account has a balance of a usable type in the currency.
//
// Without IncludeOverdraft an included credit line is subtracted (see
// fundsQuery); with it the balance counts as the bank states it. With
// AverageDays the result compares the average of daily balances instead
// (see averageFunds).
//
// When the oldest balance used is older than MaxBalanceAge and Balances is
// set, the customer's linked banks are pulled first and the claim derived
// again. A balance still too old is stated in the result's Funds.
//
// NOTE: the type preference comes before recency, so an old
// InterimAvailable is used over a newer ClosingBooked of the same account.
// NOTE: an approval more than a minute after the consent page's preview
// derives again while holding the request's lock, so a slow pull there
// delays other changes to requests that share its lock stripe.
func (d *Deriver) fundsAtLeast(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res, err := d.fundsOnce(ctx, customerID, req, now)
	if err != nil || !res.Available || !res.Funds.Stale || d.Balances == nil {
		return res, err
	}

	pulled, err := d.Balances.RefreshBalances(ctx, customerID)
	if err != nil {
		// The stored balance still decides the claim, which states its age.
		d.logger().Warn("balance refresh for a funds claim failed", "customer_id", customerID, "error", err)
		return res, nil
	}
	if !pulled {
		return res, nil
	}
	fresh, err := d.fundsOnce(ctx, customerID, req, now)
	if err != nil {
		return res, err
	}
	fresh.Funds.Refreshed = true
	return fresh, nil
}

// fundsOnce decides ClaimFundsAtLeast from the balances stored now.
func (d *Deriver) fundsOnce(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	var (
		total          insights.Amount
		oldest, newest time.Time
		ok             bool
	)
	if req.AverageDays > 0 {
		avg, err := d.averageFunds(ctx, customerID, req, now)
		if err != nil {
			return res, fmt.Errorf("derive average funds for claim: %w", err)
		}
		total, oldest, newest, ok = avg.average, avg.oldest, avg.newest, avg.ok
	} else {
		sum, from, to, accounts, err := d.funds(ctx, customerID, req.Currency, req.IncludeOverdraft)
		if err != nil {
			return res, fmt.Errorf("derive funds for claim: %w", err)
		}
		total, oldest, newest, ok = sum, from, to, accounts > 0
	}
	if !ok {
		return res, nil
	}

	res.Available = true
	res.Holds = total >= req.Amount
	res.AsOf = oldest
	res.DataFrom, res.DataTo = oldest, newest
	res.Funds = &insights.FundsBasis{OverdraftIncluded: req.IncludeOverdraft, AverageDays: req.AverageDays}

	// An average looks back on purpose, so its age is that of its newest
	// balance; a current balance is as old as the oldest one summed.
	latest := oldest
	if req.AverageDays > 0 {
		latest = newest
	}
	res.Funds.BalanceAge = max(0, now.Sub(latest))
	if res.Funds.BalanceAge > d.maxBalanceAge() {
		res.Funds.Stale = true
		d.logger().Info("funds claim rests on an old balance",
			"customer_id", customerID, "balance_age", res.Funds.BalanceAge.Round(time.Second).String(),
			"max_balance_age", d.maxBalanceAge().String())
	}
	return res, nil
}

// funds returns the customer's funds in currency as fundsQuery defines
// them, the oldest and newest balance times used, and the number of
// accounts summed.
func (d *Deriver) funds(ctx context.Context, customerID, currency string, overdraft bool) (total insights.Amount, oldest, newest time.Time, accounts int, err error) {
	rows, err := d.Engine.Query(ctx, fundsQuery, store.P("customer", customerID), store.P("currency", currency),
		store.P("overdraft", strconv.FormatBool(overdraft)))
	if err != nil {
		return 0, time.Time{}, time.Time{}, 0, err
	}
	defer rows.Close()

	var (
		sum      string
		count    uint64
		oldestMs int64
		newestMs int64
	)
	if rows.Next() {
		if err := rows.Scan(&sum, &count, &oldestMs, &newestMs); err != nil {
			return 0, time.Time{}, time.Time{}, 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, time.Time{}, time.Time{}, 0, err
	}
	if count == 0 {
		return 0, time.Time{}, time.Time{}, 0, nil
	}

	total, err = insights.ParseSignedAmount(sum)
	if err != nil {
		return 0, time.Time{}, time.Time{}, 0, fmt.Errorf("sum of %d balances: %w", count, err)
	}
	return total, time.UnixMilli(oldestMs).UTC(), time.UnixMilli(newestMs).UTC(), int(count), nil
}
