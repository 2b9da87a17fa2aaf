package derive

import (
	"context"
	"fmt"
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
// is subtracted: 100.00 in credit with a 500.00 overdraft included in a
// balance of 600.00 counts as 100.00.
//
// NOTE: ingest sums only included lines in the balance's currency into
// credit_line, so an included line in another currency (or with no Amount)
// is not subtracted and such a balance overstates funds.
//
// The outer query returns one row even for no accounts, with accounts 0.
const fundsQuery = `SELECT
    toString(sum(funds)),
    count() AS accounts,
    min(as_of_ms)
FROM (
    SELECT
        account_id,
        argMax(amount - if(credit_line_included, credit_line, toDecimal64(0, 5)), (preference, as_of)) AS funds,
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
// NOTE: the type preference comes before recency, so an old
// InterimAvailable is used over a newer ClosingBooked of the same account.
// A bank that stops sending a type would leave AsOf old; it is logged.
func (d *Deriver) fundsAtLeast(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	total, oldest, accounts, err := d.funds(ctx, customerID, req.Currency)
	if err != nil {
		return res, fmt.Errorf("derive funds for claim: %w", err)
	}
	if accounts == 0 {
		return res, nil
	}

	res.Available = true
	res.Holds = total >= req.Amount
	res.AsOf = oldest
	if age := now.Sub(oldest); age > d.maxBalanceAge() {
		d.logger().Info("funds claim rests on an old balance",
			"customer_id", customerID, "balance_age", age.Round(time.Second).String(),
			"max_balance_age", d.maxBalanceAge().String())
	}
	return res, nil
}

// funds returns the customer's funds in currency as fundsQuery defines
// them, the oldest balance time used, and the number of accounts summed.
func (d *Deriver) funds(ctx context.Context, customerID, currency string) (insights.Amount, time.Time, int, error) {
	rows, err := d.Engine.Query(ctx, fundsQuery, store.P("customer", customerID), store.P("currency", currency))
	if err != nil {
		return 0, time.Time{}, 0, err
	}
	defer rows.Close()

	var (
		sum      string
		accounts uint64
		oldestMs int64
	)
	if rows.Next() {
		if err := rows.Scan(&sum, &accounts, &oldestMs); err != nil {
			return 0, time.Time{}, 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, time.Time{}, 0, err
	}
	if accounts == 0 {
		return 0, time.Time{}, 0, nil
	}

	total, err := insights.ParseSignedAmount(sum)
	if err != nil {
		return 0, time.Time{}, 0, fmt.Errorf("sum of %d balances: %w", accounts, err)
	}
	return total, time.UnixMilli(oldestMs).UTC(), int(accounts), nil
}
