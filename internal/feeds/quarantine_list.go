package feeds

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// States of a quarantined record, as QuarantineEntry.State reports them.
const (
	// QuarantineOpen is a record that was neither stored later nor dismissed.
	QuarantineOpen = "open"
	// QuarantineStored is a record whose TransactionId the bank has since
	// sent in a valid form, which is now stored.
	QuarantineStored = "stored"
	// QuarantineDismissed is a record an operator dismissed.
	QuarantineDismissed = "dismissed"
)

// QuarantineEntry is one quarantined record as operators review it. It
// carries the record's identifiers and amount but none of its free text
// (descriptions, names, account numbers).
type QuarantineEntry struct {
	CustomerID string `json:"customer_id"`
	// Key identifies the record for DismissQuarantine: its TransactionId,
	// or Source and Path joined by a space when it has none.
	Key           string    `json:"key"`
	Source        string    `json:"source"`
	Path          string    `json:"path"`
	Reason        string    `json:"reason"`
	QuarantinedAt time.Time `json:"quarantined_at"`
	TransactionID string    `json:"transaction_id,omitempty"`
	// Amount, Currency and Indicator are the record's Amount.Amount,
	// Amount.Currency and CreditDebitIndicator as the bank sent them.
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Indicator string `json:"credit_debit_indicator"`
	// State is QuarantineOpen, QuarantineStored or QuarantineDismissed.
	State string `json:"state"`
}

// QuarantineFilter selects the entries ListQuarantine returns.
type QuarantineFilter struct {
	// CustomerID selects one customer; empty selects all.
	CustomerID string
	// All includes stored and dismissed entries; otherwise only open
	// ones are returned.
	All bool
	// Limit bounds the entries returned, newest first; 0 means no limit.
	Limit int
}

// quarantineQuery reads quarantined records with their state, newest first.
// A record counts as stored when a transaction of the customer with its
// TransactionId is stored, and as dismissed when its key was dismissed; a
// dismissal wins over storage.
const quarantineQuery = `SELECT toUnixTimestamp64Milli(q.quarantined_at), q.customer_id, q.source, q.path, q.reason,
    JSONExtractString(q.record, 'TransactionId') AS tx,
    JSONExtractString(q.record, 'Amount', 'Amount'), JSONExtractString(q.record, 'Amount', 'Currency'),
    JSONExtractString(q.record, 'CreditDebitIndicator'),
    if(tx != '', tx, concat(q.source, ' ', q.path)) AS key,
    toUInt64((q.customer_id, key) IN (SELECT customer_id, record_key FROM quarantine_dismissals)) AS dismissed,
    toUInt64(tx != '' AND (q.customer_id, tx) IN (
        SELECT customer_id, transaction_id FROM transactions
        WHERE transaction_id IN (SELECT JSONExtractString(record, 'TransactionId') FROM quarantine))) AS stored
FROM quarantine AS q
WHERE {customer:String} = '' OR q.customer_id = {customer:String}
ORDER BY q.quarantined_at DESC, q.customer_id, q.source, q.path`

// ListQuarantine returns the quarantined records that f selects, newest
// first.
func ListQuarantine(ctx context.Context, engine store.Engine, f QuarantineFilter) ([]QuarantineEntry, error) {
	rows, err := engine.Query(ctx, quarantineQuery, store.P("customer", f.CustomerID))
	if err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	defer rows.Close()

	out := []QuarantineEntry{}
	for rows.Next() {
		var e QuarantineEntry
		var at int64
		var dismissed, stored uint64
		err := rows.Scan(&at, &e.CustomerID, &e.Source, &e.Path, &e.Reason, &e.TransactionID, &e.Amount, &e.Currency,
			&e.Indicator, &e.Key, &dismissed, &stored)
		if err != nil {
			return nil, fmt.Errorf("list quarantine: %w", err)
		}
		e.QuarantinedAt = time.UnixMilli(at).UTC()
		switch {
		case dismissed != 0:
			e.State = QuarantineDismissed
		case stored != 0:
			e.State = QuarantineStored
		default:
			e.State = QuarantineOpen
		}
		if !f.All && e.State != QuarantineOpen {
			continue
		}
		if f.Limit > 0 && len(out) == f.Limit {
			continue // read on, so that rows.Err reports a failure
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list quarantine: %w", err)
	}
	return out, nil
}

// QuarantineCounts counts quarantined records by state.
type QuarantineCounts struct {
	Open      int `json:"open"`
	Stored    int `json:"stored"`
	Dismissed int `json:"dismissed"`
}

// CountQuarantine counts the quarantined records of a customer, or of all
// customers when customerID is empty, by state.
func CountQuarantine(ctx context.Context, engine store.Engine, customerID string) (QuarantineCounts, error) {
	entries, err := ListQuarantine(ctx, engine, QuarantineFilter{CustomerID: customerID, All: true})
	if err != nil {
		return QuarantineCounts{}, err
	}
	var c QuarantineCounts
	for _, e := range entries {
		switch e.State {
		case QuarantineOpen:
			c.Open++
		case QuarantineStored:
			c.Stored++
		case QuarantineDismissed:
			c.Dismissed++
		}
	}
	return c, nil
}

// ErrNoQuarantinedRecord reports a dismissal whose key matches no
// quarantined record of the customer.
var ErrNoQuarantinedRecord = errors.New("no quarantined record of this customer has this key")

// DismissQuarantine marks the customer's quarantined records with key (see
// QuarantineEntry.Key) as dismissed by actor, with a note for the audit,
// and returns how many entries it covers. The records stay in the
// quarantine table.
func DismissQuarantine(ctx context.Context, engine store.Engine, customerID, key, actor, note string, at time.Time) (int, error) {
	entries, err := ListQuarantine(ctx, engine, QuarantineFilter{CustomerID: customerID, All: true})
	if err != nil {
		return 0, err
	}
	matched := 0
	for _, e := range entries {
		if e.Key == key {
			matched++
		}
	}
	if matched == 0 {
		return 0, fmt.Errorf("dismiss %q of customer %s: %w", key, customerID, ErrNoQuarantinedRecord)
	}
	err = engine.Exec(ctx, `INSERT INTO quarantine_dismissals (customer_id, record_key, actor, note, dismissed_at)
VALUES ({customer:String}, {key:String}, {actor:String}, {note:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("customer", customerID), store.P("key", key), store.P("actor", actor), store.P("note", note),
		store.P("at", strconv.FormatInt(at.UnixMilli(), 10)))
	if err != nil {
		return 0, fmt.Errorf("dismiss %q of customer %s: %w", key, customerID, err)
	}
	return matched, nil
}
