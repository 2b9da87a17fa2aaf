package feeds

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// ConsentInfo describes one bank link for the customer's dashboard.
type ConsentInfo struct {
	ConsentID   string
	BankID      string
	BankName    string
	Status      string
	Permissions []string
	ExpiresAt   time.Time
	// LastRefresh is when the latest pull finished, zero before the first;
	// LastOutcome is that pull's outcome.
	LastRefresh time.Time
	LastOutcome string
}

// Consents returns the customer's bank links, newest first.
func (s *Service) Consents(ctx context.Context, customerID string) ([]ConsentInfo, error) {
	if customerID == "" {
		return nil, errors.New("list bank consents: customer ID is empty")
	}
	rows, err := s.readConsents(ctx, "customer_id = {customer_id:String}", store.P("customer_id", customerID))
	if err != nil {
		return nil, fmt.Errorf("list bank consents: %w", err)
	}
	last, err := s.lastPulls(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("list bank consents: %w", err)
	}

	out := make([]ConsentInfo, 0, len(rows))
	for _, r := range rows {
		info := ConsentInfo{ConsentID: r.ConsentID, BankID: r.BankID, BankName: s.Banks[r.BankID].Name,
			Status: r.Status, Permissions: r.Permissions, ExpiresAt: r.ExpiresAt}
		if p, ok := last[r.ConsentID]; ok {
			info.LastRefresh, info.LastOutcome = p.FinishedAt, p.Outcome
		}
		out = append(out, info)
	}
	created := map[string]time.Time{}
	for _, r := range rows {
		created[r.ConsentID] = r.CreatedAt
	}
	slices.SortStableFunc(out, func(a, b ConsentInfo) int { return created[b.ConsentID].Compare(created[a.ConsentID]) })
	return out, nil
}

// lastPulls returns the latest pull of each of the customer's consents.
func (s *Service) lastPulls(ctx context.Context, customerID string) (map[string]pullRow, error) {
	rows, err := s.Engine.Query(ctx, `SELECT consent_id, toUnixTimestamp64Milli(max(finished_at)), argMax(outcome, finished_at)
FROM pulls WHERE customer_id = {customer_id:String} GROUP BY consent_id`, store.P("customer_id", customerID))
	if err != nil {
		return nil, fmt.Errorf("read pulls: %w", err)
	}
	defer rows.Close()

	out := map[string]pullRow{}
	for rows.Next() {
		var p pullRow
		var finished int64
		if err := rows.Scan(&p.ConsentID, &finished, &p.Outcome); err != nil {
			return nil, fmt.Errorf("read pulls: %w", err)
		}
		p.FinishedAt = fromMillis(finished)
		out[p.ConsentID] = p
	}
	return out, rows.Err()
}
