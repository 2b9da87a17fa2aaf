package feeds

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// PullRecord is one recorded pull of a bank link, as operators review it.
type PullRecord struct {
	PullID     string `json:"pull_id"`
	CustomerID string `json:"customer_id"`
	ConsentID  string `json:"consent_id"`
	// BankID is the bank of the consent, or empty when the consent is no
	// longer stored.
	BankID     string    `json:"bank_id"`
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// Outcome is OutcomeComplete, OutcomeIncomplete or OutcomeFailed.
	Outcome      string `json:"outcome"`
	Pages        int    `json:"pages"`
	Transactions int    `json:"transactions"`
	// Problems are the errors of the pull's pages and records, at most 50
	// and then a count of the rest. They contain no personal values.
	Problems []string `json:"problems"`
}

// PullFilter selects the pulls ListPulls returns.
type PullFilter struct {
	// CustomerID selects one customer, or every customer when empty.
	CustomerID string
	// Outcome selects one outcome, or every outcome when empty.
	Outcome string
	// Limit is the maximum number of pulls returned, or no limit when 0.
	Limit int
}

// Validate reports an Outcome that is not a pull outcome and a negative
// Limit.
func (f PullFilter) Validate() error {
	switch f.Outcome {
	case "", OutcomeComplete, OutcomeIncomplete, OutcomeFailed:
	default:
		return fmt.Errorf("outcome %q: want %s, %s or %s", f.Outcome, OutcomeComplete, OutcomeIncomplete, OutcomeFailed)
	}
	if f.Limit < 0 {
		return fmt.Errorf("limit %d: want 0 or more", f.Limit)
	}
	return nil
}

// ListPulls returns the recorded pulls that f selects, the most recently
// finished first.
func ListPulls(ctx context.Context, engine store.Engine, f PullFilter) ([]PullRecord, error) {
	if err := f.Validate(); err != nil {
		return nil, fmt.Errorf("list pulls: %w", err)
	}
	query := `SELECT p.pull_id, p.customer_id, p.consent_id, b.bank_id, toUnixTimestamp64Milli(p.started_at),
toUnixTimestamp64Milli(p.finished_at), toString(p.outcome), toUInt64(p.pages), p.transactions, p.problems
FROM pulls AS p
LEFT JOIN (SELECT consent_id, any(bank_id) AS bank_id FROM bank_consents GROUP BY consent_id) AS b
    ON b.consent_id = p.consent_id
WHERE ({customer:String} = '' OR p.customer_id = {customer:String})
  AND ({outcome:String} = '' OR p.outcome = {outcome:String})
ORDER BY p.finished_at DESC, p.pull_id`
	if f.Limit > 0 {
		query += "\nLIMIT " + strconv.Itoa(f.Limit)
	}
	rows, err := engine.Query(ctx, query, store.P("customer", f.CustomerID), store.P("outcome", f.Outcome))
	if err != nil {
		return nil, fmt.Errorf("list pulls: %w", err)
	}
	defer rows.Close()

	out := []PullRecord{}
	for rows.Next() {
		var p PullRecord
		var started, finished int64
		var pages, transactions uint64
		err := rows.Scan(&p.PullID, &p.CustomerID, &p.ConsentID, &p.BankID, &started, &finished, &p.Outcome,
			&pages, &transactions, &p.Problems)
		if err != nil {
			return nil, fmt.Errorf("list pulls: %w", err)
		}
		p.StartedAt, p.FinishedAt = fromMillis(started), fromMillis(finished)
		p.Pages, p.Transactions = int(pages), int(transactions)
		if p.Problems == nil {
			p.Problems = []string{}
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list pulls: %w", err)
	}
	return out, nil
}
