package consent

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store"
)

// CustomerDirectory lists the customers whose data the service holds.
type CustomerDirectory interface {
	Customers(ctx context.Context) ([]string, error)
}

// storeAttestation records an issued token with its status list entry
// (jti -> list, idx). A listID of 0 records a token without an entry.
func (s *Service) storeAttestation(ctx context.Context, req insights.AttestationRequest, customerID, jti, subject, token string,
	names []string, issuedAt, expiresAt time.Time, listID, idx uint64) error {
	err := s.Engine.Exec(ctx, `INSERT INTO attestations
    (jti, request_id, client_id, customer_id, subject, claim_names, token, issued_at, expires_at, status_list_id, status_idx)
VALUES ({jti:String}, {id:String}, {client:String}, {customer:String}, {subject:String},
    arrayFilter(x -> x != '', splitByChar(',', {names:String})), {token:String},
    fromUnixTimestamp64Milli({issued:Int64}, 'UTC'), fromUnixTimestamp64Milli({expires:Int64}, 'UTC'),
    {list:UInt64}, {idx:UInt64})`,
		store.P("jti", jti), store.P("id", req.ID), store.P("client", req.ClientID), store.P("customer", customerID),
		store.P("subject", subject), store.P("names", strings.Join(names, ",")), store.P("token", token),
		store.P("issued", millis(issuedAt)), store.P("expires", millis(expiresAt)),
		store.P("list", strconv.FormatUint(listID, 10)), store.P("idx", strconv.FormatUint(idx, 10)))
	if err != nil {
		return fmt.Errorf("store attestation %s of request %s: %w", jti, req.ID, err)
	}
	return nil
}

// attestation returns the newest token issued for a request.
func (s *Service) attestation(ctx context.Context, requestID string) (*Attestation, error) {
	rows, err := s.Engine.Query(ctx, `SELECT jti, token, claim_names,
    toUnixTimestamp64Milli(issued_at), toUnixTimestamp64Milli(expires_at)
FROM attestations FINAL WHERE request_id = {id:String} ORDER BY issued_at DESC LIMIT 1`, store.P("id", requestID))
	if err != nil {
		return nil, fmt.Errorf("read attestation of request %s: %w", requestID, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read attestation of request %s: %w", requestID, err)
		}
		return nil, fmt.Errorf("request %s is issued but has no stored attestation", requestID)
	}
	var a Attestation
	var issued, expires int64
	if err := rows.Scan(&a.JTI, &a.Token, &a.ClaimNames, &issued, &expires); err != nil {
		return nil, fmt.Errorf("read attestation of request %s: %w", requestID, err)
	}
	a.IssuedAt, a.ExpiresAt = time.UnixMilli(issued).UTC(), time.UnixMilli(expires).UTC()
	return &a, nil
}

// claimNames returns the token claim names of claims, for the audit log.
func claimNames(claims []insights.ClaimRequest) []string {
	out := make([]string, 0, len(claims))
	for _, c := range claims {
		name, err := attest.ClaimName(c)
		if err != nil {
			name = string(c.Kind)
		}
		out = append(out, name)
	}
	return out
}
