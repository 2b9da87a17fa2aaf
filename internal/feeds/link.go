package feeds

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/store"
)

// Link creates an account-access consent at the bank for the customer and
// returns the bank's authorisation page to send the customer to. The bank
// redirects back to the bank's RedirectURI, whose handler calls Callback.
func (s *Service) Link(ctx context.Context, customerID, bankID string) (string, error) {
	authURL, _, err := s.link(ctx, customerID, bankID)
	return authURL, err
}

// link is Link that also returns the new consent's ID.
func (s *Service) link(ctx context.Context, customerID, bankID string) (authURL, consentID string, err error) {
	if err := s.check(); err != nil {
		return "", "", err
	}
	if customerID == "" {
		return "", "", errors.New("link bank: customer ID is empty")
	}
	client, err := s.client(bankID)
	if err != nil {
		return "", "", fmt.Errorf("link bank: %w", err)
	}

	// Step 1: the consent at the bank. TransactionToDateTime stays open
	// because the consent serves every later scheduled pull.
	now := s.now().UTC().Truncate(time.Second)
	expires := now.Add(s.consentLifetime())
	txFrom := now.Add(-s.history())
	aspspID, err := client.CreateConsent(ctx, s.permissions(), expires, txFrom, time.Time{})
	if err != nil {
		return "", "", fmt.Errorf("link bank %s: %w", bankID, err)
	}

	// Step 2: our record of it, with the hash of the OAuth state that the
	// redirect must bring back.
	state := randomToken(32)
	row := &consentRow{
		ConsentID:       "bc_" + hex.EncodeToString(randomBytes(16)),
		CustomerID:      customerID,
		BankID:          bankID,
		ASPSPConsentID:  aspspID,
		Permissions:     s.permissions(),
		Status:          StatusAwaitingAuthorisation,
		StateHash:       hashState(state),
		ExpiresAt:       expires,
		TransactionFrom: txFrom,
	}
	if err := s.writeConsent(ctx, row); err != nil {
		return "", "", fmt.Errorf("link bank %s: %w", bankID, err)
	}
	// OpenID Connect: the nonce ties the ID token of the token response
	// to this authorization request.
	authURL, err = withNonce(client.AuthorizeURL(aspspID, state), oidcNonce(s.TokenKey, state))
	if err != nil {
		return "", "", fmt.Errorf("link bank %s: %w", bankID, err)
	}
	s.logger().Info("bank link started", "consent_id", row.ConsentID, "customer_id", customerID, "bank", bankID)
	return authURL, row.ConsentID, nil
}

// oauthErrorPattern limits the error parameter of a redirect to an RFC 6749
// error code before it goes into a message.
var oauthErrorPattern = regexp.MustCompile(`^[a-z_]{1,64}$`)

// Callback completes a link when the bank redirects the customer back with
// state and either code or, when the customer declined, errParam (the
// redirect's "error" parameter). It exchanges the code for tokens, stores
// them encrypted, marks the consent authorised and runs the first pull
// over the consent's whole transaction window. A birth date in the bank's
// ID token is stored as well, and a rejected ID token is only logged. It
// returns the customer the link belongs to whenever state matched one.
//
// When only the first pull fails, the error wraps ErrFirstPull and the
// consent stays authorised.
func (s *Service) Callback(ctx context.Context, state, code, errParam string) (string, error) {
	if err := s.check(); err != nil {
		return "", err
	}
	if state == "" {
		return "", fmt.Errorf("bank callback: state is empty: %w", ErrUnknownState)
	}
	found, err := s.readConsents(ctx, "state_hash = {state_hash:String}", store.P("state_hash", hashState(state)))
	if err != nil {
		return "", fmt.Errorf("bank callback: %w", err)
	}
	if len(found) == 0 {
		return "", fmt.Errorf("bank callback: %w", ErrUnknownState)
	}

	unlock := s.lock(found[0].ConsentID)
	row, err := s.readConsent(ctx, found[0].ConsentID)
	if err != nil {
		unlock()
		return "", fmt.Errorf("bank callback: %w", err)
	}
	customerID := row.CustomerID
	if err := s.authorise(ctx, row, state, code, errParam); err != nil {
		unlock()
		return customerID, fmt.Errorf("bank callback: %w", err)
	}
	unlock()
	s.finishRenewal(ctx, row)

	if _, err := s.Refresh(ctx, row.ConsentID); err != nil {
		return customerID, fmt.Errorf("%w: %w", ErrFirstPull, err)
	}
	return customerID, nil
}

// authorise moves a consent awaiting authorisation to authorised or
// rejected. The state is single-use: its hash is cleared either way.
func (s *Service) authorise(ctx context.Context, row *consentRow, state, code, errParam string) error {
	if row.Status != StatusAwaitingAuthorisation || row.StateHash != hashState(state) {
		return ErrUnknownState
	}
	row.StateHash = ""
	if s.now().Sub(row.CreatedAt) > linkTimeout {
		row.Status = StatusRejected
		return errors.Join(ErrLinkExpired, s.writeConsent(ctx, row))
	}
	if errParam != "" || code == "" {
		reason := "no code"
		if oauthErrorPattern.MatchString(errParam) {
			reason = errParam
		}
		row.Status = StatusRejected
		s.logger().Info("bank link declined", "consent_id", row.ConsentID, "customer_id", row.CustomerID, "reason", reason)
		return errors.Join(fmt.Errorf("%w: %s", ErrLinkDenied, reason), s.writeConsent(ctx, row))
	}

	client, err := s.client(row.BankID)
	if err != nil {
		return err
	}
	tok, err := client.ExchangeCode(ctx, code)
	if err != nil {
		// An authorization code is single-use, so the link cannot be
		// completed later.
		row.Status = StatusRejected
		return errors.Join(err, s.writeConsent(ctx, row))
	}
	if err := s.setTokens(row, tok); err != nil {
		return err
	}
	row.Status = StatusAuthorised
	row.AuthDate = s.now().UTC()
	if err := s.writeConsent(ctx, row); err != nil {
		return err
	}
	s.logger().Info("bank linked", "consent_id", row.ConsentID, "customer_id", row.CustomerID, "bank", row.BankID)
	s.receiveIDToken(ctx, row, state, tok.IDToken)
	return nil
}

// Revoke revokes a consent at the bank and marks it revoked; its tokens
// are erased. The customer's stored data stays.
func (s *Service) Revoke(ctx context.Context, consentID string) error {
	if err := s.check(); err != nil {
		return err
	}
	unlock := s.lock(consentID)
	defer unlock()
	row, err := s.readConsent(ctx, consentID)
	if err != nil {
		return fmt.Errorf("revoke bank consent: %w", err)
	}
	if row.Status == StatusAuthorised || row.Status == StatusAwaitingAuthorisation || row.Status == StatusNeedsRenewal {
		client, err := s.client(row.BankID)
		if err != nil {
			return fmt.Errorf("revoke bank consent %s: %w", consentID, err)
		}
		if err := client.RevokeConsent(ctx, row.ASPSPConsentID); err != nil {
			return fmt.Errorf("revoke bank consent %s: %w", consentID, err)
		}
	}
	row.Status = StatusRevoked
	row.StateHash, row.AccessToken, row.RefreshToken, row.TokenExpiry = "", "", "", time.Time{}
	if err := s.writeConsent(ctx, row); err != nil {
		return fmt.Errorf("revoke bank consent: %w", err)
	}
	s.logger().Info("bank consent revoked", "consent_id", consentID, "customer_id", row.CustomerID)
	return nil
}

func (s *Service) setTokens(row *consentRow, tok aspsp.Tokens) error {
	access, err := sealToken(s.TokenKey, row.ConsentID, "access", tok.Access)
	if err != nil {
		return err
	}
	refresh, err := sealToken(s.TokenKey, row.ConsentID, "refresh", tok.Refresh)
	if err != nil {
		return err
	}
	row.AccessToken, row.RefreshToken, row.TokenExpiry = access, refresh, tok.Expiry
	return nil
}

func (s *Service) tokens(row *consentRow) (aspsp.Tokens, error) {
	access, err := openToken(s.TokenKey, row.ConsentID, "access", row.AccessToken)
	if err != nil {
		return aspsp.Tokens{}, err
	}
	refresh, err := openToken(s.TokenKey, row.ConsentID, "refresh", row.RefreshToken)
	if err != nil {
		return aspsp.Tokens{}, err
	}
	return aspsp.Tokens{Access: access, Refresh: refresh, Expiry: row.TokenExpiry}, nil
}

func hashState(state string) string {
	sum := sha256.Sum256([]byte(state))
	return hex.EncodeToString(sum[:])
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error
	return b
}

func randomToken(n int) string { return base64.RawURLEncoding.EncodeToString(randomBytes(n)) }
