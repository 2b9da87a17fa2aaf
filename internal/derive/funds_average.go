package derive

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// MaxAverageDays bounds ClaimRequest.AverageDays: a year of daily balances.
const MaxAverageDays = 366

// BalanceRefresher pulls fresh data from the customer's linked banks. The
// feeds service provides it; FeedsRefresher adapts it.
type BalanceRefresher interface {
	// RefreshBalances pulls every authorised bank link of the customer and
	// reports whether at least one pull stored new data. A customer without
	// a linked bank gives false and no error.
	RefreshBalances(ctx context.Context, customerID string) (bool, error)
}

// checkFundsRequest checks the arguments ClaimFundsAtLeast adds to its
// threshold.
func checkFundsRequest(req insights.ClaimRequest) (field, reason string) {
	if req.AverageDays < 0 || req.AverageDays > MaxAverageDays {
		return "AverageDays", fmt.Sprintf("invalid value %d: want 0 for the current balance or 1 to %d days", req.AverageDays, MaxAverageDays)
	}
	return "", ""
}

// averageFundsQuery returns every balance of a usable type (see fundsQuery)
// of the customer's accounts in the currency, taken at or before {until},
// with an included credit line subtracted unless {overdraft} is true.
const averageFundsQuery = `SELECT account_id,
    toString(amount - if(credit_line_included AND NOT {overdraft:Bool}, credit_line, toDecimal64(0, 5))),
    toUnixTimestamp64Milli(as_of),
    toInt64(multiIf(type = 'InterimAvailable', 4, type = 'ClosingAvailable', 3, type = 'Expected', 2, 1))
FROM balances FINAL
WHERE customer_id = {customer:String}
  AND currency = {currency:String}
  AND type IN ('InterimAvailable', 'ClosingAvailable', 'Expected', 'InterimBooked', 'ClosingBooked')
  AND as_of <= fromUnixTimestamp64Milli({until:Int64}, 'UTC')
ORDER BY account_id, as_of, 4`

type balancePoint struct {
	amount     insights.Amount
	at         time.Time
	preference int
}

type averageResult struct {
	average        insights.Amount
	oldest, newest time.Time // the oldest and newest balance used
	ok             bool
}

// averageFunds averages the customer's funds over the last req.AverageDays
// days in the customer's zone, today included. Each day's funds are the sum,
// over accounts, of the newest balance taken by the end of that day (or by
// now, for today); of balances taken at the same instant the most preferred
// type counts. The average is the sum of the daily funds over the number of
// days, rounded toward zero to the amount scale.
//
// It is not ok when any account with a balance in the window has none at
// or before the first day's end, because a day without a known balance
// would otherwise count as zero.
//
// NOTE: a day's funds are the newest stored balance, not that balance moved
// by the entries booked since, so a bank pulled less than daily gives a
// step between pulls.
func (d *Deriver) averageFunds(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (averageResult, error) {
	var out averageResult
	rows, err := d.Engine.Query(ctx, averageFundsQuery, store.P("customer", customerID), store.P("currency", req.Currency),
		store.P("overdraft", strconv.FormatBool(req.IncludeOverdraft)), store.P("until", strconv.FormatInt(now.UnixMilli(), 10)))
	if err != nil {
		return out, err
	}
	points := map[string][]balancePoint{}
	for rows.Next() {
		var (
			account, amount string
			ms              int64
			preference      int64
		)
		if err := rows.Scan(&account, &amount, &ms, &preference); err != nil {
			rows.Close()
			return out, err
		}
		a, err := insights.ParseSignedAmount(amount)
		if err != nil {
			rows.Close()
			return out, fmt.Errorf("balance of an account: %w", err)
		}
		points[account] = append(points[account], balancePoint{amount: a, at: time.UnixMilli(ms).UTC(), preference: int(preference)})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return out, err
	}
	if len(points) == 0 {
		return out, nil
	}

	// Day ends in the customer's zone, oldest first; today ends now.
	local := now.In(d.zone())
	today := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, d.zone())
	ends := make([]time.Time, req.AverageDays)
	for i := range ends {
		ends[i] = today.AddDate(0, 0, i-req.AverageDays+2)
	}
	ends[len(ends)-1] = now

	accounts := make([]string, 0, len(points))
	for account := range points {
		accounts = append(accounts, account)
	}
	sort.Strings(accounts)

	var sum insights.Amount
	for _, end := range ends {
		for _, account := range accounts {
			p, found := balanceAt(points[account], end)
			if !found {
				d.logger().Info("average funds claim lacks a balance for the whole window",
					"customer_id", customerID, "days", req.AverageDays)
				return averageResult{}, nil
			}
			sum += p.amount
			if out.oldest.IsZero() || p.at.Before(out.oldest) {
				out.oldest = p.at
			}
			if p.at.After(out.newest) {
				out.newest = p.at
			}
		}
	}
	out.average = sum / insights.Amount(len(ends))
	out.ok = true
	return out, nil
}

// balanceAt returns the newest point taken before end (at or before, for
// the last instant), preferring the higher preference at the same instant.
// points are sorted by time, then preference.
func balanceAt(points []balancePoint, end time.Time) (balancePoint, bool) {
	var best balancePoint
	found := false
	for _, p := range points {
		if p.at.After(end) {
			break
		}
		if !found || p.at.After(best.at) || p.at.Equal(best.at) && p.preference >= best.preference {
			best, found = p, true
		}
	}
	return best, found
}
