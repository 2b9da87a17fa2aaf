package feeds

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// StatusReplaced marks a consent that a renewal replaced: a newer consent
// of the same customer at the same bank serves the pulls instead.
const StatusReplaced = "replaced"

// StatusAbandoned marks a link the customer started but never finished at
// the bank: its authorisation state lapsed (after 30 minutes), or a newer
// renewal at the same bank superseded it. Its state no longer completes
// the link, and the customer's list of links leaves it out.
const StatusAbandoned = "abandoned"

// ErrNotRenewable reports a renewal of a consent that never started
// access (awaiting authorisation or declined) or was already replaced.
var ErrNotRenewable = errors.New("bank consent cannot be renewed")

// pendingRenewal ties a consent waiting for the customer at the bank to
// the consent it replaces once authorised.
type pendingRenewal struct {
	oldConsentID string
	started      time.Time
}

// Renew starts a new account-access consent for the customer at the bank
// of consentID, as Link does, and returns the bank's authorisation page.
// When the bank redirects back with the customer's approval, Callback
// authorises the new consent and marks the old one replaced. The old
// consent is revoked at the bank if it may still give access, so pulls
// run under the new consent only. A consent of another customer is
// ErrConsentNotFound.
//
// The tie between the two consents lives in this process for as long as
// a link may take (30 minutes). After a restart in between, the new
// consent is authorised all the same and the old one keeps its status.
func (s *Service) Renew(ctx context.Context, customerID, consentID string) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	if customerID == "" {
		return "", errors.New("renew bank consent: customer ID is empty")
	}
	old, err := s.readConsent(ctx, consentID)
	if err != nil {
		return "", fmt.Errorf("renew bank consent: %w", err)
	}
	if old.CustomerID != customerID {
		return "", fmt.Errorf("renew bank consent: %w: %s", ErrConsentNotFound, consentID)
	}
	switch old.Status {
	case StatusAuthorised, StatusNeedsRenewal, StatusExpired, StatusRevoked:
	default:
		return "", fmt.Errorf("renew bank consent %s: %w (status %s)", consentID, ErrNotRenewable, old.Status)
	}

	s.pruneRenewals()
	authURL, newID, err := s.link(ctx, customerID, old.BankID)
	if err != nil {
		return "", fmt.Errorf("renew bank consent %s: %w", consentID, err)
	}
	s.renewal.Store(newID, pendingRenewal{oldConsentID: consentID, started: s.now()})
	s.logger().Info("bank consent renewal started", "consent_id", newID, "replaces", consentID, "customer_id", customerID)

	// The customer is on their way to the bank with the new attempt, so
	// earlier unfinished ones at this bank will not be completed.
	if err := s.abandonPending(ctx, customerID, old.BankID, newID); err != nil {
		s.logger().Error("end superseded bank link attempts failed", "customer_id", customerID, "bank", old.BankID, "err", err)
	}
	return authURL, nil
}

// EndLapsedLinks marks abandoned the customer's links still awaiting
// authorisation after their state lapsed, so no list shows them as waiting
// for the customer. Callback rejects such a state anyway.
func (s *Service) EndLapsedLinks(ctx context.Context, customerID string) error {
	if err := s.check(); err != nil {
		return err
	}
	cutoff := s.now().Add(-linkTimeout)
	rows, err := s.readConsents(ctx, "customer_id = {customer_id:String} AND status = {status:String} AND created_at < fromUnixTimestamp64Milli({cutoff:Int64}, 'UTC')",
		store.P("customer_id", customerID), store.P("status", StatusAwaitingAuthorisation),
		store.P("cutoff", strconv.FormatInt(cutoff.UnixMilli(), 10)))
	if err != nil {
		return fmt.Errorf("end lapsed bank links: %w", err)
	}
	for _, row := range rows {
		if err := s.abandon(ctx, row.ConsentID, false); err != nil {
			return fmt.Errorf("end lapsed bank links: %w", err)
		}
	}
	return nil
}

// abandonPending marks abandoned every link of the customer at the bank
// that still awaits authorisation, except keepID, and withdraws each at the
// bank.
//
// NOTE: attempts are matched by customer and bank, because which link an
// attempt renews is known only to the process that started it. So a
// renewal also ends an unfinished first link to the same bank.
func (s *Service) abandonPending(ctx context.Context, customerID, bankID, keepID string) error {
	rows, err := s.readConsents(ctx, "customer_id = {customer_id:String} AND bank_id = {bank_id:String} AND status = {status:String}",
		store.P("customer_id", customerID), store.P("bank_id", bankID), store.P("status", StatusAwaitingAuthorisation))
	if err != nil {
		return err
	}
	for _, row := range rows {
		if row.ConsentID == keepID {
			continue
		}
		if err := s.abandon(ctx, row.ConsentID, true); err != nil {
			return err
		}
	}
	return nil
}

// abandon marks one consent abandoned if it still awaits authorisation.
// With atBank set, the consent is also deleted at the bank; the bank may
// have ended it already, so a failure there is only logged.
func (s *Service) abandon(ctx context.Context, consentID string, atBank bool) error {
	unlock := s.lock(consentID)
	defer unlock()
	row, err := s.readConsent(ctx, consentID)
	if err != nil {
		return err
	}
	if row.Status != StatusAwaitingAuthorisation {
		return nil
	}
	if atBank {
		client, err := s.client(row.BankID)
		if err == nil {
			err = client.RevokeConsent(ctx, row.ASPSPConsentID)
		}
		if err != nil {
			s.logger().Warn("withdraw abandoned bank consent at the bank failed", "consent_id", consentID, "err", err)
		}
	}
	s.renewal.Delete(consentID)
	row.Status = StatusAbandoned
	row.StateHash = ""
	if err := s.writeConsent(ctx, row); err != nil {
		return err
	}
	s.logger().Info("unfinished bank link ended", "consent_id", consentID, "customer_id", row.CustomerID)
	return nil
}

// finishRenewal runs after Callback authorised row. When row renews an
// older consent, that consent is revoked at the bank if it may still give
// access, and marked replaced. A failure is logged: the new consent works
// either way, and a scheduled pull of the old one reports its state.
func (s *Service) finishRenewal(ctx context.Context, row *consentRow) {
	v, ok := s.renewal.LoadAndDelete(row.ConsentID)
	if !ok {
		return
	}
	oldID := v.(pendingRenewal).oldConsentID
	if err := s.replace(ctx, oldID, row); err != nil {
		s.logger().Error("mark renewed bank consent replaced failed", "consent_id", oldID, "replaced_by", row.ConsentID, "err", err)
		return
	}
	s.logger().Info("bank consent renewed", "consent_id", row.ConsentID, "replaces", oldID, "customer_id", row.CustomerID)

	// Attempts at the same bank that another replica started, or that
	// were stored before renewals superseded them, end here.
	if err := s.abandonPending(ctx, row.CustomerID, row.BankID, row.ConsentID); err != nil {
		s.logger().Error("end superseded bank link attempts failed", "customer_id", row.CustomerID, "bank", row.BankID, "err", err)
	}
}

func (s *Service) replace(ctx context.Context, oldID string, renewed *consentRow) error {
	unlock := s.lock(oldID)
	defer unlock()
	old, err := s.readConsent(ctx, oldID)
	if err != nil {
		return err
	}
	if old.CustomerID != renewed.CustomerID || old.BankID != renewed.BankID {
		return fmt.Errorf("consent %s belongs to another customer or bank", oldID)
	}
	if old.Status == StatusAuthorised || old.Status == StatusNeedsRenewal {
		client, err := s.client(old.BankID)
		if err != nil {
			return err
		}
		// The bank may have ended it already; the customer's new consent
		// matters more than the old one's end, so a refusal is only logged.
		if err := client.RevokeConsent(ctx, old.ASPSPConsentID); err != nil {
			s.logger().Warn("end replaced bank consent at the bank failed", "consent_id", oldID, "err", err)
		}
	}
	old.Status = StatusReplaced
	old.StateHash, old.AccessToken, old.RefreshToken, old.TokenExpiry = "", "", "", time.Time{}
	return s.writeConsent(ctx, old)
}

// pruneRenewals deletes the pending renewals whose link has timed out.
func (s *Service) pruneRenewals() {
	now := s.now()
	s.renewal.Range(func(k, v any) bool {
		if now.Sub(v.(pendingRenewal).started) > linkTimeout {
			s.renewal.Delete(k)
		}
		return true
	})
}
