package consent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store"
)

// event is one row of consent_events.
type event struct {
	RequestID  string
	Seq        int64
	Name       string
	ClientID   string
	CustomerID string
	Purpose    string
	Claims     string
	Actor      string
	At         time.Time
	ExpiresAt  time.Time
	// TokenFormat and HolderKey are set on the "requested" event only.
	TokenFormat string
	HolderKey   string
}

// decideMu serialises state changes, so two decisions on one request cannot
// both succeed or claim the same sequence number.
// NOTE: this guards one process. Replicas sharing a ClickHouse cluster need
// a per-request lock or a conditional insert before they may decide
// concurrently.
var decideMu sync.Mutex

// appendEvent stores ev and an audit_log row naming the claims it concerns.
func (s *Service) appendEvent(ctx context.Context, ev event, claimNames []string) error {
	err := s.Engine.Exec(ctx, `INSERT INTO consent_events
    (request_id, seq, event, client_id, customer_id, purpose, claims, actor, at, expires_at, token_format, holder_key)
VALUES ({id:String}, {seq:UInt32}, {event:String}, {client:String}, {customer:String}, {purpose:String},
    {claims:String}, {actor:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'), fromUnixTimestamp64Milli({expires:Int64}, 'UTC'),
    {format:String}, {holder:String})`,
		store.P("id", ev.RequestID), store.P("seq", strconv.FormatInt(ev.Seq, 10)), store.P("event", ev.Name),
		store.P("client", ev.ClientID), store.P("customer", ev.CustomerID), store.P("purpose", ev.Purpose),
		store.P("claims", ev.Claims), store.P("actor", ev.Actor), store.P("at", millis(ev.At)),
		store.P("expires", millis(ev.ExpiresAt)), store.P("format", ev.TokenFormat), store.P("holder", ev.HolderKey))
	if err != nil {
		return fmt.Errorf("store %s event of request %s: %w", ev.Name, ev.RequestID, err)
	}

	err = s.Engine.Exec(ctx, `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
VALUES (fromUnixTimestamp64Milli({at:Int64}, 'UTC'), {actor:String}, {action:String}, {id:String}, {client:String},
    arrayFilter(x -> x != '', splitByChar(',', {claims:String})))`,
		store.P("at", millis(ev.At)), store.P("actor", ev.Actor), store.P("action", ev.Name),
		store.P("id", ev.RequestID), store.P("client", ev.ClientID), store.P("claims", strings.Join(claimNames, ",")))
	if err != nil {
		return fmt.Errorf("audit %s event of request %s: %w", ev.Name, ev.RequestID, err)
	}
	return nil
}

// Customers lists the customers with stored data, for the development
// sign-in.
func (s *Service) Customers(ctx context.Context) ([]string, error) {
	if s.Directory == nil {
		return nil, nil
	}
	return s.Directory.Customers(ctx)
}

// Preview derives the claim values a token for this request would carry now,
// so the customer is shown exactly what will be shared. The first customer to
// open an unbound request takes it up; others get not found.
func (s *Service) Preview(ctx context.Context, customerID string, req insights.AttestationRequest) ([]insights.ClaimResult, error) {
	if err := s.bind(ctx, customerID, req); err != nil {
		return nil, err
	}
	results, err := s.Claims.Derive(ctx, customerID, req.Claims, s.now())
	if err != nil {
		return nil, fmt.Errorf("derive claims of request %s: %w", req.ID, err)
	}
	return results, nil
}

// bind records that customerID opened req, unless it is already bound.
func (s *Service) bind(ctx context.Context, customerID string, req insights.AttestationRequest) error {
	decideMu.Lock()
	defer decideMu.Unlock()

	current, seq, err := s.currentRequest(ctx, req.ID)
	if err != nil {
		return err
	}
	switch current.CustomerID {
	case customerID:
		return nil
	case "":
	default:
		return insights.Errorf(insights.ErrNotFound, "attestation request %s not found", req.ID)
	}
	if current.Status != insights.RequestPending {
		return insights.Errorf(insights.ErrConflict, "attestation request %s is %s", req.ID, current.Status)
	}
	ev := event{RequestID: req.ID, Seq: seq + 1, Name: eventOpened, ClientID: current.ClientID,
		CustomerID: customerID, Actor: "customer", At: s.now(), ExpiresAt: current.ExpiresAt}
	return s.appendEvent(ctx, ev, nil)
}

// currentRequest returns the request and its highest event sequence number.
func (s *Service) currentRequest(ctx context.Context, id string) (insights.AttestationRequest, int64, error) {
	req, err := s.Request(ctx, id)
	if err != nil {
		return req, 0, err
	}
	rows, err := s.Engine.Query(ctx, "SELECT toInt64(max(seq)) FROM consent_events FINAL WHERE request_id = {id:String}", store.P("id", id))
	if err != nil {
		return req, 0, fmt.Errorf("read events of request %s: %w", id, err)
	}
	defer rows.Close()
	var seq int64
	if rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return req, 0, fmt.Errorf("read events of request %s: %w", id, err)
		}
	}
	return req, seq, rows.Err()
}

// Decide approves or denies a pending request for the customer it is bound
// to. Approval derives the claims, signs the token and records it; the
// client then fetches it with ClientRequest.
func (s *Service) Decide(ctx context.Context, customerID, requestID string, approve bool) error {
	decideMu.Lock()
	defer decideMu.Unlock()

	req, seq, err := s.currentRequest(ctx, requestID)
	if err != nil {
		return err
	}
	if req.CustomerID != "" && req.CustomerID != customerID {
		return insights.Errorf(insights.ErrNotFound, "attestation request %s not found", requestID)
	}
	if req.Status != insights.RequestPending {
		return insights.Errorf(insights.ErrConflict, "attestation request %s is %s, not awaiting a decision", requestID, req.Status)
	}

	names := claimNames(req.Claims)
	base := event{RequestID: requestID, ClientID: req.ClientID, CustomerID: customerID, Actor: "customer",
		At: s.now(), ExpiresAt: req.ExpiresAt}
	if !approve {
		base.Seq, base.Name = seq+1, eventDenied
		if err := s.appendEvent(ctx, base, names); err != nil {
			return err
		}
		s.logger().Info("attestation request denied", "request_id", requestID, "client_id", req.ClientID)
		return nil
	}
	return s.approve(ctx, req, base, seq, names)
}

func (s *Service) approve(ctx context.Context, req insights.AttestationRequest, base event, seq int64, names []string) error {
	results, err := s.Claims.Derive(ctx, base.CustomerID, req.Claims, base.At)
	if err != nil {
		return fmt.Errorf("derive claims of request %s: %w", req.ID, err)
	}
	listID, idx, err := s.allocateStatus(ctx)
	if err != nil {
		return fmt.Errorf("allocate a status list entry for request %s: %w", req.ID, err)
	}
	ref := &attest.StatusReference{Index: idx, URI: s.statusListURI(listID)}
	issued, err := s.issue(req, base.CustomerID, results, ref)
	if err != nil {
		return fmt.Errorf("issue token for request %s: %w", req.ID, err)
	}

	approved := base
	approved.Seq, approved.Name = seq+1, eventApproved
	if err := s.appendEvent(ctx, approved, names); err != nil {
		return err
	}
	if err := s.storeAttestation(ctx, req, base.CustomerID, issued.JTI, issued.Subject, issued.Token,
		issued.ClaimNames, issued.IssuedAt, issued.ExpiresAt, listID, idx); err != nil {
		return err
	}
	done := base
	done.Seq, done.Name, done.Actor = seq+2, eventIssued, "service"
	if err := s.appendEvent(ctx, done, issued.ClaimNames); err != nil {
		return err
	}
	s.logger().Info("attestation issued", "request_id", req.ID, "client_id", req.ClientID, "jti", issued.JTI,
		"format", req.Format, "claims", issued.ClaimNames, "expires_at", issued.ExpiresAt, "status_list", listID, "status_idx", idx)
	return nil
}

// ExpireRequests appends an "expired" event to every request still awaiting
// a decision after its expiry, so the event log states the lapse instead of
// leaving it to be computed. It returns the number of requests expired.
func (s *Service) ExpireRequests(ctx context.Context) (int, error) {
	decideMu.Lock()
	defer decideMu.Unlock()

	rows, err := s.Engine.Query(ctx, `SELECT request_id, argMin(client_id, seq), argMinIf(customer_id, seq, customer_id != ''),
    toInt64(max(seq)), toUnixTimestamp64Milli(argMin(expires_at, seq))
FROM consent_events FINAL
GROUP BY request_id
HAVING argMaxIf(event, seq, event != 'opened') = 'requested' AND argMin(expires_at, seq) <= fromUnixTimestamp64Milli({now:Int64}, 'UTC')`,
		store.P("now", millis(s.now())))
	if err != nil {
		return 0, fmt.Errorf("find lapsed requests: %w", err)
	}
	var lapsed []event
	for rows.Next() {
		var ev event
		var expires int64
		if err := rows.Scan(&ev.RequestID, &ev.ClientID, &ev.CustomerID, &ev.Seq, &expires); err != nil {
			rows.Close()
			return 0, fmt.Errorf("find lapsed requests: %w", err)
		}
		ev.Seq++
		ev.Name, ev.Actor, ev.At, ev.ExpiresAt = eventExpired, "service", s.now(), time.UnixMilli(expires).UTC()
		lapsed = append(lapsed, ev)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("find lapsed requests: %w", err)
	}

	for _, ev := range lapsed {
		if err := s.appendEvent(ctx, ev, nil); err != nil {
			return 0, err
		}
	}
	return len(lapsed), nil
}
