package consent

import (
	"context"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// defaultMaxConsentDuration is the longest consent a lender may ask for
// when Service.MaxConsentDuration is 0.
const defaultMaxConsentDuration = 90 * 24 * time.Hour

// minConsentDuration is the shortest long-lived consent: anything shorter
// is served as well by one token.
const minConsentDuration = 24 * time.Hour

func (s *Service) maxConsentDuration() time.Duration {
	if s.MaxConsentDuration > 0 {
		return s.MaxConsentDuration
	}
	return defaultMaxConsentDuration
}

// checkConsentDuration allows a long-lived consent only for a request of
// affordability claims alone, from one day to the configured maximum, in
// whole seconds. The error names the field "consentDuration".
func (s *Service) checkConsentDuration(claims []insights.ClaimRequest, d time.Duration) error {
	if d == 0 {
		return nil
	}
	if d < minConsentDuration || d > s.maxConsentDuration() {
		return insights.Errorf(insights.ErrInvalid, "consentDuration: %s must be from %s to %s",
			days(d), days(minConsentDuration), days(s.maxConsentDuration()))
	}
	if d%time.Second != 0 {
		return insights.Errorf(insights.ErrInvalid, "consentDuration: %s is not whole seconds", d)
	}
	for i, c := range claims {
		if c.Kind != insights.ClaimAffordability {
			return insights.Errorf(insights.ErrInvalid,
				"consentDuration: claims[%d] is %s; only a request for %s alone may last beyond one token", i, c.Kind, insights.ClaimAffordability)
		}
	}
	return nil
}

// days formats d in days when it is a whole number of them, and as a
// duration otherwise.
func days(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == day:
		return "1 day"
	case d%day == 0:
		return fmt.Sprintf("%d days", d/day)
	}
	return d.String()
}

// Reissue derives the claims of a long-lived request again and issues a
// fresh token to the client that made it. The request must be the client's
// own, have a ConsentDuration, be issued (not revoked) and be within its
// ConsentUntil. Each token gets its own status list entry and jti and an
// "issued" event, so the audit log shows every issuance and a revocation
// flips every token's entry.
func (s *Service) Reissue(ctx context.Context, client insights.Client, requestID string) (*Attestation, error) {
	defer lockRequest(requestID)()

	req, seq, err := s.currentRequest(ctx, requestID)
	if err != nil {
		return nil, err
	}
	if req.ClientID != client.ID {
		return nil, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", requestID)
	}
	if req.ConsentDuration == 0 {
		return nil, insights.Errorf(insights.ErrConflict, "attestation request %s allows one token only; ask for a long-lived consent with consentDays", requestID)
	}
	if req.Status != insights.RequestIssued {
		return nil, insights.Errorf(insights.ErrConflict, "attestation request %s is %s, so no token can be issued under it", requestID, req.Status)
	}
	now := s.now()

	results, err := s.Claims.Derive(ctx, req.CustomerID, req.Claims, now)
	if err != nil {
		return nil, fmt.Errorf("derive claims of request %s: %w", req.ID, err)
	}
	listID, idx, err := s.allocateStatus(ctx)
	if err != nil {
		return nil, fmt.Errorf("allocate a status list entry for request %s: %w", req.ID, err)
	}
	ref := &attest.StatusReference{Index: idx, URI: s.statusListURI(listID)}
	// A token never outlives the consent that covers it.
	lifetime := min(s.tokenLifetime(), req.ConsentUntil.Sub(now.Truncate(time.Second)))
	if lifetime < time.Second {
		return nil, insights.Errorf(insights.ErrConflict, "attestation request %s: its consent ends in under a second", req.ID)
	}
	env, err := s.tokenEnvironment(ctx, req.ClientID)
	if err != nil {
		return nil, err
	}
	issued, err := s.issue(req, req.CustomerID, results, ref, now, env, lifetime)
	if err != nil {
		return nil, fmt.Errorf("issue token for request %s: %w", req.ID, err)
	}

	if err := s.storeAttestation(ctx, req, req.CustomerID, issued.JTI, issued.Subject, issued.Token,
		issued.ClaimNames, issued.IssuedAt, issued.ExpiresAt, listID, idx); err != nil {
		return nil, err
	}
	ev := event{RequestID: req.ID, Seq: seq + 1, Name: eventIssued, ClientID: req.ClientID, CustomerID: req.CustomerID,
		Actor: "client:" + client.ID, At: now, ExpiresAt: req.ExpiresAt}
	if err := s.appendEvent(ctx, ev, issued.ClaimNames); err != nil {
		return nil, err
	}
	s.logger().Info("attestation reissued", "request_id", req.ID, "client_id", req.ClientID, "jti", issued.JTI,
		"expires_at", issued.ExpiresAt, "consent_until", req.ConsentUntil, "status_list", listID, "status_idx", idx)
	return &Attestation{Format: req.Format, Token: issued.Token, JTI: issued.JTI, IssuedAt: issued.IssuedAt,
		ExpiresAt: issued.ExpiresAt, ClaimNames: issued.ClaimNames}, nil
}
