package consent

import (
	"context"
	"errors"
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
	// TokenFormat, HolderKey and ConsentSeconds are set on the "requested"
	// event only.
	TokenFormat    string
	HolderKey      string
	ConsentSeconds int64
}

// appendEvent stores ev and an audit_log row naming the claims it concerns.
// The two inserts run at the same time, so behind a store.Batcher the
// caller waits for one group commit instead of two in a row.
// NOTE: should one insert fail, the other may still be stored, leaving an
// event without its audit row or an audit row of an event that is absent.
// The caller gets the error either way.
func (s *Service) appendEvent(ctx context.Context, ev event, claimNames []string) error {
	return concurrently(
		func() error { return s.insertEvent(ctx, ev) },
		func() error { return s.insertAudit(ctx, ev, claimNames) })
}

// insertEvent stores one row of consent_events.
func (s *Service) insertEvent(ctx context.Context, ev event) error {
	err := s.Engine.Exec(ctx, `INSERT INTO consent_events
    (request_id, seq, event, client_id, customer_id, purpose, claims, actor, at, expires_at, token_format, holder_key, consent_seconds)
VALUES ({id:String}, {seq:UInt32}, {event:String}, {client:String}, {customer:String}, {purpose:String},
    {claims:String}, {actor:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'), fromUnixTimestamp64Milli({expires:Int64}, 'UTC'),
    {format:String}, {holder:String}, {consent_seconds:UInt32})`,
		store.P("id", ev.RequestID), store.P("seq", strconv.FormatInt(ev.Seq, 10)), store.P("event", ev.Name),
		store.P("client", ev.ClientID), store.P("customer", ev.CustomerID), store.P("purpose", ev.Purpose),
		store.P("claims", ev.Claims), store.P("actor", ev.Actor), store.P("at", millis(ev.At)),
		store.P("expires", millis(ev.ExpiresAt)), store.P("format", ev.TokenFormat), store.P("holder", ev.HolderKey),
		store.P("consent_seconds", strconv.FormatInt(ev.ConsentSeconds, 10)))
	if err != nil {
		return fmt.Errorf("store %s event of request %s: %w", ev.Name, ev.RequestID, err)
	}
	return nil
}

// insertAudit stores the audit_log row of ev.
func (s *Service) insertAudit(ctx context.Context, ev event, claimNames []string) error {
	err := s.Engine.Exec(ctx, `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
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
	now := s.now()
	results, err := s.deriveClaims(ctx, customerID, req.Claims, now)
	if err != nil {
		return nil, fmt.Errorf("derive claims of request %s: %w", req.ID, err)
	}
	s.previews.put(req.ID, customerID, results, now)
	return results, nil
}

// bind records that customerID opened req, unless it is already bound.
func (s *Service) bind(ctx context.Context, customerID string, req insights.AttestationRequest) error {
	// A request's customer never changes once set, so a req that already
	// names one needs no fresh read.
	switch req.CustomerID {
	case customerID:
		return nil
	case "":
	default:
		return insights.Errorf(insights.ErrNotFound, "attestation request %s not found", req.ID)
	}
	defer lockRequest(req.ID)()

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
	if err := s.CheckCustomerEnvironment(ctx, current.ClientID, customerID, req.ID); err != nil {
		return err
	}
	ev := event{RequestID: req.ID, Seq: seq + 1, Name: eventOpened, ClientID: current.ClientID,
		CustomerID: customerID, Actor: "customer", At: s.now(), ExpiresAt: current.ExpiresAt}
	return s.appendEvent(ctx, ev, nil)
}

// currentRequest returns the request and its highest event sequence number.
func (s *Service) currentRequest(ctx context.Context, id string) (insights.AttestationRequest, int64, error) {
	states, err := s.queryRequestStates(ctx, "WHERE request_id = {id:String}", "", store.P("id", id))
	if err != nil {
		return insights.AttestationRequest{}, 0, err
	}
	if len(states) == 0 {
		return insights.AttestationRequest{}, 0, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", id)
	}
	return states[0].req, states[0].seq, nil
}

// lastSeq returns the highest event sequence number of a request, 0 for
// none.
func (s *Service) lastSeq(ctx context.Context, id string) (int64, error) {
	rows, err := s.Engine.Query(ctx, "SELECT toInt64(max(seq)) FROM consent_events FINAL WHERE request_id = {id:String}", store.P("id", id))
	if err != nil {
		return 0, fmt.Errorf("read events of request %s: %w", id, err)
	}
	defer rows.Close()
	var seq int64
	if rows.Next() {
		if err := rows.Scan(&seq); err != nil {
			return 0, fmt.Errorf("read events of request %s: %w", id, err)
		}
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("read events of request %s: %w", id, err)
	}
	return seq, nil
}

// Decision is a customer's approval or denial of a request.
type Decision struct {
	Approve bool
	// DiscloseAddress shares the customer's whole postal address with a
	// client whose address claim set FullAddress. Without it the token
	// carries only the match result, and the client learns no address.
	DiscloseAddress bool
}

// Decide approves or denies a pending request for the customer it is bound
// to, without sharing a whole address. See DecideWith.
func (s *Service) Decide(ctx context.Context, customerID, requestID string, approve bool) error {
	return s.DecideWith(ctx, customerID, requestID, Decision{Approve: approve})
}

// DecideWith approves or denies a pending request for the customer it is
// bound to. Approval derives the claims, signs the token and records it;
// the client then fetches it with ClientRequest.
func (s *Service) DecideWith(ctx context.Context, customerID, requestID string, decision Decision) error {
	approve := decision.Approve
	defer lockRequest(requestID)()

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
	if err := s.CheckCustomerEnvironment(ctx, req.ClientID, customerID, requestID); err != nil {
		return err
	}

	names := claimNames(req.Claims)
	base := event{RequestID: requestID, ClientID: req.ClientID, CustomerID: customerID, Actor: "customer",
		At: s.now(), ExpiresAt: req.ExpiresAt}
	previewed, reuse := s.previews.take(requestID, customerID, base.At)
	if !approve {
		base.Seq, base.Name = seq+1, eventDenied
		if err := s.appendEvent(ctx, base, names); err != nil {
			return err
		}
		s.logger().Info("attestation request denied", "request_id", requestID, "client_id", req.ClientID)
		return nil
	}
	if !reuse {
		previewed = nil
	}
	return s.approve(ctx, req, base, seq, names, decision, previewed)
}

// approve issues the token of req. It signs previewed, the claims the
// consent page showed the customer, when given, and else derives them now.
func (s *Service) approve(ctx context.Context, req insights.AttestationRequest, base event, seq int64, names []string,
	decision Decision, previewed []insights.ClaimResult) error {
	results := previewed
	if results == nil {
		var err error
		results, err = s.deriveClaims(ctx, base.CustomerID, req.Claims, base.At)
		if err != nil {
			return fmt.Errorf("derive claims of request %s: %w", req.ID, err)
		}
	}
	if !decision.DiscloseAddress {
		for i := range results {
			results[i].PostalAddress = nil
		}
	}
	listID, idx, err := s.allocateStatus(ctx)
	if err != nil {
		return fmt.Errorf("allocate a status list entry for request %s: %w", req.ID, err)
	}
	ref := &attest.StatusReference{Index: idx, URI: s.statusListURI(listID)}
	env, err := s.tokenEnvironment(ctx, req.ClientID)
	if err != nil {
		return err
	}
	issued, err := s.issue(req, base.CustomerID, results, ref, base.At, env, s.tokenLifetime())
	if err != nil {
		return fmt.Errorf("issue token for request %s: %w", req.ID, err)
	}

	// The approval and the token are stored together. The "issued" event
	// follows only once both are, so a request that reads as issued always
	// has its token stored.
	approved := base
	approved.Seq, approved.Name = seq+1, eventApproved
	err = concurrently(
		func() error { return s.appendEvent(ctx, approved, names) },
		func() error {
			return s.storeAttestation(ctx, req, base.CustomerID, issued.JTI, issued.Subject, issued.Token,
				issued.ClaimNames, issued.IssuedAt, issued.ExpiresAt, listID, idx)
		})
	if err != nil {
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

	expired := 0
	for _, ev := range lapsed {
		done, err := s.expireRequest(ctx, ev)
		if err != nil {
			return expired, err
		}
		if done {
			expired++
		}
	}
	return expired, nil
}

// expireRequest appends ev, the "expired" event of a request found lapsed,
// under the request's lock and only if no event arrived since it was found.
// A request that changed meanwhile is left to the next run, which reads its
// new state.
func (s *Service) expireRequest(ctx context.Context, ev event) (bool, error) {
	defer lockRequest(ev.RequestID)()

	seq, err := s.lastSeq(ctx, ev.RequestID)
	if err != nil {
		return false, err
	}
	if seq != ev.Seq-1 {
		return false, nil
	}
	if err := s.appendEvent(ctx, ev, nil); err != nil {
		return false, err
	}
	return true, nil
}

// concurrently runs each function in its own goroutine and returns once all
// have returned, with their errors joined.
func concurrently(fns ...func() error) error {
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fn()
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}
