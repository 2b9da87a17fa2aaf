package consent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// HistoryEvent is one step in the life of one of the customer's requests,
// as the customer's history page shows it. It names claims but never holds
// a claim value.
type HistoryEvent struct {
	At         time.Time
	RequestID  string
	ClientID   string
	ClientName string
	// Event is requested, opened, approved, denied, issued, revoked or
	// expired.
	Event string
	// Actor is "client", "customer" or "service".
	Actor string
	// ClaimNames are the claim names the audit log recorded for this step,
	// such as "age_over_18". Steps that concern no claims, such as opened,
	// have none.
	ClaimNames []string
	// Claims are the claims the request asked for, without values.
	Claims []insights.ClaimRequest
}

// History returns every step of the customer's requests, newest first. A
// request belongs to the customer once the customer opened it, so requests
// no one has opened, and other customers' requests, are left out. A pending
// request past its expiry that the expiry job has not yet recorded gets an
// expired step at its expiry time.
func (s *Service) History(ctx context.Context, customerID string) ([]HistoryEvent, error) {
	if customerID == "" {
		return nil, insights.Errorf(insights.ErrInvalid, "customer ID is missing")
	}
	reqs, err := s.queryRequests(ctx,
		"WHERE request_id IN (SELECT request_id FROM consent_events WHERE customer_id = {customer:String})",
		"", store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	byID := map[string]insights.AttestationRequest{}
	for _, req := range reqs {
		if req.CustomerID == customerID {
			byID[req.ID] = req
		}
	}

	events, err := s.historyEvents(ctx, customerID)
	if err != nil {
		return nil, err
	}
	var out []HistoryEvent
	recordedExpiry := map[string]bool{}
	for _, ev := range events {
		req, ok := byID[ev.RequestID]
		if !ok {
			continue
		}
		ev.ClientName, ev.Claims = req.ClientName, req.Claims
		recordedExpiry[req.ID] = recordedExpiry[req.ID] || ev.Event == eventExpired
		out = append(out, ev)
	}

	// queryRequests reports a lapsed pending request as expired before the
	// expiry job stores the event, so the history lists an expired step too.
	for _, req := range byID {
		if req.Status == insights.RequestExpired && !recordedExpiry[req.ID] {
			at := req.ExpiresAt
			if !req.ConsentUntil.IsZero() {
				// A long-lived consent lapses when its duration ends.
				at = req.ConsentUntil
			}
			out = append(out, HistoryEvent{At: at, RequestID: req.ID, ClientID: req.ClientID,
				ClientName: req.ClientName, Event: eventExpired, Actor: "service", Claims: req.Claims})
		}
	}
	slices.SortStableFunc(out, func(a, b HistoryEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return compareEvents(a, b)
	})
	return out, nil
}

// eventOrder ranks the steps of one request, so steps stored in the same
// millisecond (approved and issued) still list newest first.
var eventOrder = map[string]int{eventRequested: 0, eventOpened: 1, eventApproved: 2, eventDenied: 2,
	eventIssued: 3, eventExpired: 4, eventRevoked: 4}

func compareEvents(a, b HistoryEvent) int {
	if a.RequestID != b.RequestID {
		if a.RequestID < b.RequestID {
			return -1
		}
		return 1
	}
	return eventOrder[b.Event] - eventOrder[a.Event]
}

// historyEvents reads every consent_events row of the requests the customer
// opened, each with the claim names of its audit_log row.
func (s *Service) historyEvents(ctx context.Context, customerID string) ([]HistoryEvent, error) {
	rows, err := s.Engine.Query(ctx, `SELECT e.request_id, e.event, e.client_id, e.actor, toUnixTimestamp64Milli(e.at),
    a.claim_names
FROM (SELECT * FROM consent_events FINAL
      WHERE request_id IN (SELECT request_id FROM consent_events WHERE customer_id = {customer:String})) AS e
LEFT JOIN (SELECT request_id, action, at, any(claim_names) AS claim_names FROM audit_log
           WHERE request_id IN (SELECT request_id FROM consent_events WHERE customer_id = {customer:String})
           GROUP BY request_id, action, at) AS a
    ON a.request_id = e.request_id AND a.action = e.event AND a.at = e.at
ORDER BY e.request_id, e.seq`, store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read consent history of a customer: %w", err)
	}
	defer rows.Close()

	var out []HistoryEvent
	for rows.Next() {
		var ev HistoryEvent
		var at int64
		if err := rows.Scan(&ev.RequestID, &ev.Event, &ev.ClientID, &ev.Actor, &at, &ev.ClaimNames); err != nil {
			return nil, fmt.Errorf("read consent history of a customer: %w", err)
		}
		ev.At = time.UnixMilli(at).UTC()
		out = append(out, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read consent history of a customer: %w", err)
	}
	return out, nil
}
