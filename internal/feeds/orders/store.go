package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// Write stores s as the current snapshot of its account and kind, taken
// at, unless the current snapshot holds the same orders. It returns whether
// it stored anything. The orders are inserted before the snapshot row, so a
// Write cut short leaves the previous snapshot current. A snapshot is
// stored as taken 1 ms after the current one when at is not later, so the
// latest Write is always the current one.
func Write(ctx context.Context, engine store.Engine, s Snapshot, at time.Time) (bool, error) {
	digest := contentDigest(s.Orders)
	current, currentAt, err := currentSnapshot(ctx, engine, s)
	if err != nil {
		return false, err
	}
	if current == digest {
		return false, nil
	}
	at = at.UTC().Truncate(time.Millisecond)
	if !currentAt.IsZero() && !at.After(currentAt) {
		at = currentAt.Add(time.Millisecond)
	}

	id := newSnapshotID()
	if len(s.Orders) > 0 {
		if err := insertOrders(ctx, engine, s, id); err != nil {
			return false, err
		}
	}
	err = engine.Exec(ctx, `INSERT INTO payment_order_snapshots (customer_id, account_id, kind, snapshot_id, source,
orders, content_hash, taken_at)
VALUES ({customer:String}, {account:String}, {kind:String}, {snapshot:String}, {source:String}, {orders:UInt32},
{hash:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("customer", s.CustomerID), store.P("account", s.AccountID), store.P("kind", s.Kind),
		store.P("snapshot", id), store.P("source", s.Source), store.P("orders", strconv.Itoa(len(s.Orders))),
		store.P("hash", digest), store.P("at", strconv.FormatInt(at.UnixMilli(), 10)))
	if err != nil {
		return false, fmt.Errorf("store %s snapshot of account %s: %w", s.Kind, s.AccountID, err)
	}
	return true, nil
}

// currentSnapshot returns the content hash and time of the current
// snapshot of s's account and kind, or "" and the zero time when there is
// none.
func currentSnapshot(ctx context.Context, engine store.Engine, s Snapshot) (string, time.Time, error) {
	rows, err := engine.Query(ctx, `SELECT argMax(content_hash, (taken_at, snapshot_id)),
    toInt64(ifNull(toUnixTimestamp64Milli(max(taken_at)), 0))
FROM payment_order_snapshots
WHERE customer_id = {customer:String} AND account_id = {account:String} AND kind = {kind:String}`,
		store.P("customer", s.CustomerID), store.P("account", s.AccountID), store.P("kind", s.Kind))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("read current %s snapshot of account %s: %w", s.Kind, s.AccountID, err)
	}
	defer rows.Close()
	var digest string
	var at int64
	if rows.Next() {
		if err := rows.Scan(&digest, &at); err != nil {
			return "", time.Time{}, fmt.Errorf("read current %s snapshot of account %s: %w", s.Kind, s.AccountID, err)
		}
	}
	return digest, fromMillis(at), rows.Err()
}

// orderColumns are the payment_orders columns insertOrders writes, in
// order, with the SQL expression of each value's parameter.
var orderColumns = []struct{ name, expr string }{
	{"customer_id", "{%s:String}"},
	{"account_id", "{%s:String}"},
	{"kind", "{%s:String}"},
	{"snapshot_id", "{%s:String}"},
	{"order_id", "{%s:String}"},
	{"status", "{%s:String}"},
	{"payee", "{%s:String}"},
	{"reference", "{%s:String}"},
	{"frequency", "{%s:String}"},
	{"cadence", "{%s:String}"},
	{"first_payment", "if({%[1]s:Int64} = 0, NULL, fromUnixTimestamp64Milli({%[1]s:Int64}, 'UTC'))"},
	{"next_payment", "if({%[1]s:Int64} = 0, NULL, fromUnixTimestamp64Milli({%[1]s:Int64}, 'UTC'))"},
	{"last_payment", "if({%[1]s:Int64} = 0, NULL, fromUnixTimestamp64Milli({%[1]s:Int64}, 'UTC'))"},
	{"final_payment", "if({%[1]s:Int64} = 0, NULL, fromUnixTimestamp64Milli({%[1]s:Int64}, 'UTC'))"},
	{"next_amount", "toDecimal64OrNull({%s:String}, 5)"},
	{"last_amount", "toDecimal64OrNull({%s:String}, 5)"},
	{"currency", "{%s:String}"},
}

// insertOrders inserts the orders of s under snapshot id, in one INSERT.
func insertOrders(ctx context.Context, engine store.Engine, s Snapshot, id string) error {
	names := make([]string, len(orderColumns))
	for i, c := range orderColumns {
		names[i] = c.name
	}
	var sql strings.Builder
	sql.WriteString("INSERT INTO payment_orders (" + strings.Join(names, ", ") + ") VALUES ")
	var params []store.Param
	for n, o := range s.Orders {
		values := []string{s.CustomerID, s.AccountID, s.Kind, id, o.OrderID, o.Status, o.Payee, o.Reference,
			o.Frequency, string(o.Cadence), millis(o.FirstPayment), millis(o.NextPayment), millis(o.LastPayment),
			millis(o.FinalPayment), decimal(o.NextAmount), decimal(o.LastAmount), o.Currency}
		if n > 0 {
			sql.WriteString(", ")
		}
		sql.WriteByte('(')
		for i, c := range orderColumns {
			name := fmt.Sprintf("p%d_%d", n, i)
			if i > 0 {
				sql.WriteString(", ")
			}
			sql.WriteString(fmt.Sprintf(c.expr, name))
			params = append(params, store.P(name, values[i]))
		}
		sql.WriteByte(')')
	}
	if err := engine.Exec(ctx, sql.String(), params...); err != nil {
		return fmt.Errorf("store %d %s orders of account %s: %w", len(s.Orders), s.Kind, s.AccountID, err)
	}
	return nil
}

func millis(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func decimal(a insights.Amount) string {
	if a == 0 {
		return ""
	}
	return a.String()
}

func newSnapshotID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // since Go 1.24, crypto/rand.Read crashes the program instead of returning an error
	return hex.EncodeToString(b)
}

// currentQuery selects the orders of the latest snapshot of each account
// and kind of the customer. A snapshot with no orders selects nothing, so
// an order missing from the latest read is not current. The latest
// snapshots are matched with IN rather than a JOIN: with chDB 26.7 the IN
// form took about 2 ms where the JOIN took about 3.3 ms, on a store of 1
// million transactions.
const currentQuery = `SELECT account_id, kind, order_id, status, payee, reference, frequency,
    toString(cadence),
    ifNull(toUnixTimestamp64Milli(first_payment), 0), ifNull(toUnixTimestamp64Milli(next_payment), 0),
    ifNull(toUnixTimestamp64Milli(last_payment), 0), ifNull(toUnixTimestamp64Milli(final_payment), 0),
    ifNull(toString(next_amount), ''), ifNull(toString(last_amount), ''), toString(currency)
FROM payment_orders
WHERE customer_id = {customer:String}
  AND (account_id, kind, snapshot_id) IN (
      SELECT account_id, kind, argMax(snapshot_id, (taken_at, snapshot_id))
      FROM payment_order_snapshots
      WHERE customer_id = {customer:String}
      GROUP BY account_id, kind)
ORDER BY account_id, kind, order_id
SETTINGS max_threads = 1`

// Current returns the customer's current orders: those of the latest
// snapshot of each account and kind, sorted by account, kind and OrderID.
func Current(ctx context.Context, engine store.Engine, customerID string) ([]Order, error) {
	rows, err := engine.Query(ctx, currentQuery, store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read payment orders: %w", err)
	}
	defer rows.Close()

	var out []Order
	for rows.Next() {
		o := Order{CustomerID: customerID}
		var cadence, next, last string
		var first, nextAt, lastAt, final int64
		err := rows.Scan(&o.AccountID, &o.Kind, &o.OrderID, &o.Status, &o.Payee, &o.Reference, &o.Frequency,
			&cadence, &first, &nextAt, &lastAt, &final, &next, &last, &o.Currency)
		if err != nil {
			return nil, fmt.Errorf("read payment orders: %w", err)
		}
		o.Cadence = insights.Cadence(cadence)
		o.FirstPayment, o.NextPayment = fromMillis(first), fromMillis(nextAt)
		o.LastPayment, o.FinalPayment = fromMillis(lastAt), fromMillis(final)
		if o.NextAmount, err = parseStored(next); err != nil {
			return nil, fmt.Errorf("read payment orders: next_amount: %w", err)
		}
		if o.LastAmount, err = parseStored(last); err != nil {
			return nil, fmt.Errorf("read payment orders: last_amount: %w", err)
		}
		out = append(out, o)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read payment orders: %w", err)
	}
	return out, nil
}

func parseStored(s string) (insights.Amount, error) {
	if s == "" {
		return 0, nil
	}
	return insights.ParseSignedAmount(s)
}

func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// CountCurrent returns the number of current orders of every customer:
// those of the latest snapshot of each account and kind.
func CountCurrent(ctx context.Context, engine store.Engine) (uint64, error) {
	rows, err := engine.Query(ctx, `SELECT toUInt64(count())
FROM payment_orders AS o
INNER JOIN (
    SELECT customer_id, account_id, kind, argMax(snapshot_id, (taken_at, snapshot_id)) AS snapshot_id
    FROM payment_order_snapshots
    GROUP BY customer_id, account_id, kind
) AS s ON o.customer_id = s.customer_id AND o.account_id = s.account_id AND o.kind = s.kind
    AND o.snapshot_id = s.snapshot_id`)
	if err != nil {
		return 0, fmt.Errorf("count payment orders: %w", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			return 0, fmt.Errorf("count payment orders: %w", err)
		}
	}
	return n, rows.Err()
}
