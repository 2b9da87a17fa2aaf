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
