package ingest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// bookingGrace is how long after a pending entry's BookingDateTime its
// booked version may be booked and still match it. Card payments usually
// settle within two to three working days; seven days covers weekends and
// bank holidays.
const bookingGrace = 7 * 24 * time.Hour

// entry is the part of a stored transaction that reconciliation reads.
type entry struct {
	key         string
	bookingTime int64  // Unix milliseconds
	bookingDate string // YYYY-MM-DD in the bank's zone
	amount      string // signed, as toString(Decimal64(5)) writes it
	currency    string
	state       string
}

// reconcile settles the pending entries of one complete window: each
// pending entry the load did not list is superseded by a matching booked
// entry, or else marked vanished. It returns how many entries it marked
// each way.
//
// A booked entry B matches a pending entry P when both have the same
// customer, account, currency and signed amount (so the same
// CreditDebitIndicator), and B is booked on P's booking day or later and no
// more than bookingGrace after P's BookingDateTime. Pending entries take
// booked ones one-to-one in booking order, and a booked entry that already
// supersedes an entry is not used again. A booked entry under P's own
// TransactionId has P's key, so it has replaced P in the move step already.
//
// An entry marked vanished by an earlier commit is matched again, so one
// whose booked version arrived after a later window becomes superseded.
func (ld *Load) reconcile(ctx context.Context, w Window) (superseded, vanished int, err error) {
	pending, err := ld.unlistedPending(ctx, w)
	if err != nil || len(pending) == 0 {
		return 0, 0, err
	}
	booked, err := ld.bookedCandidates(ctx, w.AccountID, pending)
	if err != nil {
		return 0, 0, err
	}

	var pKeys, bKeys, gone []string
	used := make([]bool, len(booked))
	for _, p := range pending {
		if i := matchBooked(p, booked, used); i >= 0 {
			used[i] = true
			pKeys, bKeys = append(pKeys, p.key), append(bKeys, booked[i].key)
			continue
		}
		if p.state == stateCurrent {
			gone = append(gone, p.key)
		}
	}

	if err := ld.markState(ctx, w.AccountID, stateSuperseded, pKeys, bKeys); err != nil {
		return 0, 0, err
	}
	if err := ld.markState(ctx, w.AccountID, stateVanished, gone, nil); err != nil {
		return 0, 0, err
	}
	return len(pKeys), len(gone), nil
}

// States of a transaction row; see the migration that adds the column.
const (
	stateCurrent    = "current"
	stateSuperseded = "superseded"
	stateVanished   = "vanished"
)

// matchBooked returns the index of the first unused booked entry that
// matches p, or -1. booked is in booking order.
func matchBooked(p entry, booked []entry, used []bool) int {
	latest := p.bookingTime + bookingGrace.Milliseconds()
	for i, b := range booked {
		if used[i] || b.amount != p.amount || b.currency != p.currency {
			continue
		}
		if b.bookingDate >= p.bookingDate && b.bookingTime <= latest {
			return i
		}
	}
	return -1
}

// unlistedPending reads the account's pending entries in the window, current
// or vanished, that the load did not stage, in booking order.
func (ld *Load) unlistedPending(ctx context.Context, w Window) ([]entry, error) {
	query := `SELECT transaction_key, toUnixTimestamp64Milli(booking_time), toString(booking_date),
       toString(amount), toString(currency), toString(state)
FROM transactions FINAL
WHERE customer_id = {customer:String} AND account_id = {account:String}
  AND status = 'pending' AND state IN ('current', 'vanished')`
	params := []store.Param{
		store.P("customer", ld.customerID), store.P("account", w.AccountID), store.P("load", ld.id),
	}
	if !w.From.IsZero() {
		query += "\n  AND booking_time >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')"
		params = append(params, store.P("from", strconv.FormatInt(w.From.UnixMilli(), 10)))
	}
	if !w.To.IsZero() {
		query += "\n  AND booking_time <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')"
		params = append(params, store.P("to", strconv.FormatInt(w.To.UnixMilli(), 10)))
	}
	// The set of staged keys is narrowed to keys with a stored pending
	// version, usually few, instead of every key the load staged for the
	// account (millions in a large load).
	query += `
  AND transaction_key NOT IN (
      SELECT transaction_key FROM ` + ld.txTable + `
      WHERE load_id = {load:String} AND account_id = {account:String}
        AND transaction_key IN (
            SELECT transaction_key FROM transactions
            WHERE customer_id = {customer:String} AND account_id = {account:String} AND status = 'pending'))
ORDER BY booking_time, transaction_key`
	return ld.readEntries(ctx, query, params...)
}

// bookedCandidates reads the account's current booked entries that could
// match one of pending, in booking order, leaving out those that already
// supersede an entry.
func (ld *Load) bookedCandidates(ctx context.Context, accountID string, pending []entry) ([]entry, error) {
	first, last := pending[0].bookingTime, pending[0].bookingTime
	for _, p := range pending {
		first, last = min(first, p.bookingTime), max(last, p.bookingTime)
	}
	// A day before the earliest pending entry covers a booking on the same
	// day in the bank's zone; matchBooked checks the day itself.
	from := first - (24 * time.Hour).Milliseconds()
	to := last + bookingGrace.Milliseconds()

	query := `SELECT transaction_key, toUnixTimestamp64Milli(booking_time), toString(booking_date),
       toString(amount), toString(currency), toString(state)
FROM transactions FINAL
WHERE customer_id = {customer:String} AND account_id = {account:String}
  AND status = 'booked' AND state = 'current'
  AND booking_time BETWEEN fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND fromUnixTimestamp64Milli({to:Int64}, 'UTC')
  AND transaction_key NOT IN (
      SELECT superseded_by FROM transactions FINAL
      WHERE customer_id = {customer:String} AND account_id = {account:String} AND state = 'superseded')
ORDER BY booking_time, transaction_key`
	return ld.readEntries(ctx, query,
		store.P("customer", ld.customerID), store.P("account", accountID),
		store.P("from", strconv.FormatInt(from, 10)), store.P("to", strconv.FormatInt(to, 10)))
}

func (ld *Load) readEntries(ctx context.Context, query string, params ...store.Param) ([]entry, error) {
	rows, err := ld.loader.Engine.Query(ctx, query, params...)
	if err != nil {
		return nil, fmt.Errorf("read entries to reconcile: %w", err)
	}
	defer rows.Close()

	var out []entry
	for rows.Next() {
		var e entry
		if err := rows.Scan(&e.key, &e.bookingTime, &e.bookingDate, &e.amount, &e.currency, &e.state); err != nil {
			return nil, fmt.Errorf("read entries to reconcile: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read entries to reconcile: %w", err)
	}
	return out, nil
}

// markState inserts a new version of each entry in keys with the given
// state; supersededBy, when not nil, gives each entry's booked key. The new
// version's ingested_at is later than the stored one's, so FINAL returns it.
func (ld *Load) markState(ctx context.Context, accountID, state string, keys, supersededBy []string) error {
	if len(keys) == 0 {
		return nil
	}
	if supersededBy == nil {
		supersededBy = make([]string, len(keys))
	}
	var cols []string
	for _, c := range strings.Split(transactionColumns, ", ") {
		if c != "ingested_at" && c != "load_id" {
			cols = append(cols, c)
		}
	}
	list := strings.Join(cols, ", ")
	query := `INSERT INTO transactions (` + list + `, ingested_at, load_id, state, superseded_by)
SELECT ` + list + `,
       greatest(ingested_at + toIntervalMillisecond(1), fromUnixTimestamp64Milli({now:Int64}, 'UTC')),
       {load:String}, {state:String},
       transform(transaction_key, {keys:Array(String)}, {by:Array(String)}, '')
FROM transactions FINAL
WHERE customer_id = {customer:String} AND account_id = {account:String}
  AND transaction_key IN {keys:Array(String)}`
	err := ld.loader.Engine.Exec(ctx, query,
		store.P("customer", ld.customerID), store.P("account", accountID), store.P("load", ld.id),
		store.P("state", state), store.P("keys", arrayLiteral(keys)), store.P("by", arrayLiteral(supersededBy)),
		store.P("now", strconv.FormatInt(ld.ingestedAt.UnixMilli(), 10)))
	if err != nil {
		return fmt.Errorf("mark %d pending entries %s: %w", len(keys), state, err)
	}
	return nil
}

// arrayLiteral formats values as a ClickHouse Array(String) literal for a
// query parameter, escaping quotes and backslashes.
func arrayLiteral(values []string) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, v := range values {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('\'')
		b.WriteString(strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v))
		b.WriteByte('\'')
	}
	b.WriteByte(']')
	return b.String()
}
