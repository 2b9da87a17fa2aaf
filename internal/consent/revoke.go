package consent

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// eventRevoked ends the lifecycle of an issued request: the customer
// withdrew the proof, and its status list entries are INVALID.
const eventRevoked = "revoked"

// SharedProof is a token issued for one of the customer's requests, as the
// customer's list of shared proofs shows it.
type SharedProof struct {
	// Request is the request the token was issued for. Its Status is
	// issued or revoked.
	Request insights.AttestationRequest
	// ClaimNames are the token's claim names, such as "age_over_18".
	ClaimNames []string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	// RevokedAt is when the customer revoked the proof; zero unless revoked.
	RevokedAt time.Time
}

// Revoked reports whether the customer revoked the proof.
func (p SharedProof) Revoked() bool { return p.Request.Status == insights.RequestRevoked }

// Shared returns the proofs issued for the customer's requests, newest
// first, revoked ones included.
func (s *Service) Shared(ctx context.Context, customerID string) ([]SharedProof, error) {
	reqs, err := s.queryRequests(ctx,
		"WHERE request_id IN (SELECT request_id FROM consent_events WHERE customer_id = {customer:String})",
		"HAVING status IN ('issued', 'revoked')", store.P("customer", customerID))
	if err != nil {
		return nil, err
	}
	issued, err := s.customerAttestations(ctx, customerID)
	if err != nil {
		return nil, err
	}
	revoked, err := s.revocationTimes(ctx, customerID)
	if err != nil {
		return nil, err
	}

	var out []SharedProof
	for _, req := range reqs {
		att, ok := issued[req.ID]
		if req.CustomerID != customerID || !ok {
			continue
		}
		out = append(out, SharedProof{Request: req, ClaimNames: att.ClaimNames, IssuedAt: att.IssuedAt,
			ExpiresAt: att.ExpiresAt, RevokedAt: revoked[req.ID]})
	}
	slices.SortStableFunc(out, func(a, b SharedProof) int { return b.IssuedAt.Compare(a.IssuedAt) })
	return out, nil
}

// SharedProof returns one of the customer's shared proofs by request ID. A
// request of another customer, or one without a token, is not_found.
func (s *Service) SharedProof(ctx context.Context, customerID, requestID string) (SharedProof, error) {
	proofs, err := s.Shared(ctx, customerID)
	if err != nil {
		return SharedProof{}, err
	}
	for _, p := range proofs {
		if p.Request.ID == requestID {
			return p, nil
		}
	}
	return SharedProof{}, insights.Errorf(insights.ErrNotFound, "shared proof %s not found", requestID)
}

// customerAttestations returns the newest token of each of the customer's
// requests, keyed by request ID, without the token itself.
func (s *Service) customerAttestations(ctx context.Context, customerID string) (map[string]Attestation, error) {
	rows, err := s.Engine.Query(ctx, `SELECT request_id, jti, claim_names,
    toUnixTimestamp64Milli(issued_at), toUnixTimestamp64Milli(expires_at)
FROM attestations FINAL WHERE customer_id = {customer:String} ORDER BY issued_at`, store.P("customer", customerID))
	if err != nil {
		return nil, fmt.Errorf("read attestations of a customer: %w", err)
	}
	defer rows.Close()

	out := map[string]Attestation{}
	for rows.Next() {
		var requestID string
		var a Attestation
		var issued, expires int64
		if err := rows.Scan(&requestID, &a.JTI, &a.ClaimNames, &issued, &expires); err != nil {
			return nil, fmt.Errorf("read attestations of a customer: %w", err)
		}
		a.IssuedAt, a.ExpiresAt = time.UnixMilli(issued).UTC(), time.UnixMilli(expires).UTC()
		out[requestID] = a
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read attestations of a customer: %w", err)
	}
	return out, nil
}

// revocationTimes returns when each of the customer's revoked requests was
// revoked, keyed by request ID.
func (s *Service) revocationTimes(ctx context.Context, customerID string) (map[string]time.Time, error) {
	rows, err := s.Engine.Query(ctx, `SELECT request_id, toUnixTimestamp64Milli(min(at))
FROM consent_events FINAL WHERE customer_id = {customer:String} AND event = {event:String} GROUP BY request_id`,
		store.P("customer", customerID), store.P("event", eventRevoked))
	if err != nil {
		return nil, fmt.Errorf("read revocations of a customer: %w", err)
	}
	defer rows.Close()

	out := map[string]time.Time{}
	for rows.Next() {
		var requestID string
		var at int64
		if err := rows.Scan(&requestID, &at); err != nil {
			return nil, fmt.Errorf("read revocations of a customer: %w", err)
		}
		out[requestID] = time.UnixMilli(at).UTC()
	}
	return out, rows.Err()
}

// statusEntry is the status list entry of one issued token.
type statusEntry struct {
	JTI    string
	ListID uint64
	Index  uint64
	Names  []string
}

// Revoke withdraws the proof issued for one of the customer's requests: it
// sets the status list entry of every token of the request to INVALID and
// appends a "revoked" event, which the audit log records with the actor,
// the claim names and the time. Revoking a revoked request again changes
// nothing and succeeds. Another customer's request is not_found, and a
// request without a token is conflict.
func (s *Service) Revoke(ctx context.Context, customerID, requestID string) error {
	defer lockRequest(requestID)()

	req, seq, err := s.currentRequest(ctx, requestID)
	if err != nil {
		return err
	}
	if req.CustomerID == "" || req.CustomerID != customerID {
		return insights.Errorf(insights.ErrNotFound, "shared proof %s not found", requestID)
	}
	switch req.Status {
	case insights.RequestRevoked:
		return nil
	case insights.RequestIssued:
	default:
		return insights.Errorf(insights.ErrConflict, "attestation request %s is %s, so there is no proof to revoke", requestID, req.Status)
	}

	// Set the bits first: should the event fail to store, the request is
	// still issued and a retry sets the same bits again.
	entries, err := s.statusEntries(ctx, requestID)
	if err != nil {
		return err
	}
	now := s.now()
	names := claimNames(req.Claims)
	for _, e := range entries {
		if e.ListID == 0 {
			// A token issued before status lists existed cannot be
			// revoked for verifiers; it lapses at its exp.
			s.logger().Warn("revoked token has no status list entry", "request_id", requestID, "jti", e.JTI)
			continue
		}
		if err := s.storeRevocation(ctx, e, requestID, now); err != nil {
			return err
		}
		names = e.Names
	}

	ev := event{RequestID: requestID, Seq: seq + 1, Name: eventRevoked, ClientID: req.ClientID, CustomerID: customerID,
		Actor: "customer", At: now, ExpiresAt: req.ExpiresAt}
	if err := s.appendEvent(ctx, ev, names); err != nil {
		return err
	}
	s.logger().Info("attestation revoked", "request_id", requestID, "client_id", req.ClientID, "tokens", len(entries), "claims", names)
	return nil
}

// statusEntries returns the status list entry of every token of a request.
func (s *Service) statusEntries(ctx context.Context, requestID string) ([]statusEntry, error) {
	rows, err := s.Engine.Query(ctx, `SELECT jti, toInt64(status_list_id), toInt64(status_idx), claim_names
FROM attestations FINAL WHERE request_id = {id:String} ORDER BY issued_at`, store.P("id", requestID))
	if err != nil {
		return nil, fmt.Errorf("read status entries of request %s: %w", requestID, err)
	}
	defer rows.Close()

	var out []statusEntry
	for rows.Next() {
		var e statusEntry
		var list, idx int64
		if err := rows.Scan(&e.JTI, &list, &idx, &e.Names); err != nil {
			return nil, fmt.Errorf("read status entries of request %s: %w", requestID, err)
		}
		e.ListID, e.Index = uint64(list), uint64(idx)
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read status entries of request %s: %w", requestID, err)
	}
	return out, nil
}

func (s *Service) storeRevocation(ctx context.Context, e statusEntry, requestID string, at time.Time) error {
	err := s.Engine.Exec(ctx, `INSERT INTO status_revocations (list_id, idx, jti, request_id, actor, revoked_at)
VALUES ({list:UInt64}, {idx:UInt64}, {jti:String}, {id:String}, {actor:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("list", strconv.FormatUint(e.ListID, 10)), store.P("idx", strconv.FormatUint(e.Index, 10)),
		store.P("jti", e.JTI), store.P("id", requestID), store.P("actor", "customer"), store.P("at", millis(at)))
	if err != nil {
		return fmt.Errorf("store revocation of token %s: %w", e.JTI, err)
	}
	return nil
}
