package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/oidc"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// consentPages is the consentui.Service of the running service: the
// consent lifecycle, plus the customer's bank links from feeds.
type consentPages struct {
	*consent.Service
	// feeds returns the bank feeds, or nil when no bank is configured. It
	// is a function because the feeds open after the pages are built.
	feeds func() *feeds.Service
}

var _ consentui.Service = consentPages{}

// BankLinks returns the customer's bank consents, newest first, or none
// when no bank is configured. Links whose authorisation at the bank lapsed
// unfinished are marked abandoned first, so they are not shown as waiting.
func (p consentPages) BankLinks(ctx context.Context, customerID string) ([]consentui.BankLink, error) {
	f := p.feeds()
	if f == nil {
		return nil, nil
	}
	if err := f.EndLapsedLinks(ctx, customerID); err != nil {
		return nil, fmt.Errorf("list bank links: %w", err)
	}
	infos, err := f.Consents(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("list bank links: %w", err)
	}
	links := make([]consentui.BankLink, 0, len(infos))
	for _, info := range infos {
		name := info.BankName
		if name == "" {
			name = info.BankID // a bank removed from the configuration keeps its ID
		}
		links = append(links, consentui.BankLink{ID: info.ConsentID, BankName: name, Status: info.Status,
			ExpiresAt: info.ExpiresAt, LastRefresh: info.LastRefresh, LastOutcome: info.LastOutcome})
	}
	return links, nil
}

// Unlink revokes one of the customer's bank consents at the bank. A consent
// of another customer, or any consent when no bank is configured, is
// not_found.
func (p consentPages) Unlink(ctx context.Context, customerID, linkID string) error {
	links, err := p.BankLinks(ctx, customerID)
	if err != nil {
		return err
	}
	for _, link := range links {
		if link.ID != linkID {
			continue
		}
		if err := p.feeds().Revoke(ctx, linkID); err != nil {
			return fmt.Errorf("unlink bank: %w", err)
		}
		return nil
	}
	return insights.Errorf(insights.ErrNotFound, "bank link %s not found", linkID)
}

// RenewBank starts a new consent at the bank of one of the customer's
// links and returns the bank's authorisation page. The bank callback
// replaces the old link with the new one. A link of another customer, or
// any link when no bank is configured, is not_found.
func (p consentPages) RenewBank(ctx context.Context, customerID, linkID string) (string, error) {
	f := p.feeds()
	if f == nil {
		return "", insights.Errorf(insights.ErrNotFound, "bank link %s not found", linkID)
	}
	authURL, err := f.Renew(ctx, customerID, linkID)
	switch {
	case errors.Is(err, feeds.ErrConsentNotFound):
		return "", insights.Errorf(insights.ErrNotFound, "bank link %s not found", linkID)
	case errors.Is(err, feeds.ErrNotRenewable):
		return "", insights.Errorf(insights.ErrConflict, "bank link %s cannot be renewed", linkID)
	case err != nil:
		return "", fmt.Errorf("renew bank link: %w", err)
	}
	return authURL, nil
}

var _ consentui.BankRenewer = consentPages{}

// oidcConfig configures the consent pages' sign-in through an OpenID
// Connect provider. Issuer empty means no such sign-in.
type oidcConfig struct {
	Issuer           string
	ClientID         string
	ClientSecretFile string
	// RedirectURL is the callback registered at the provider; empty means
	// the base URL followed by consentui.CallbackPath.
	RedirectURL string
	// CustomerClaim names the ID token claim holding the customer ID.
	CustomerClaim string
}

func (c *oidcConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.Issuer, "oidc-issuer", envOr("INSIGHTS_OIDC_ISSUER", ""),
		"issuer URL of the OpenID Connect provider for consent page sign-in; empty disables it (env INSIGHTS_OIDC_ISSUER)")
	fs.StringVar(&c.ClientID, "oidc-client-id", envOr("INSIGHTS_OIDC_CLIENT_ID", ""),
		"client ID of this service at the OpenID Connect provider (env INSIGHTS_OIDC_CLIENT_ID)")
	fs.StringVar(&c.ClientSecretFile, "oidc-client-secret-file", envOr("INSIGHTS_OIDC_CLIENT_SECRET_FILE", ""),
		"file holding the client secret, mode 0600; empty for a public client that relies on PKCE alone (env INSIGHTS_OIDC_CLIENT_SECRET_FILE)")
	fs.StringVar(&c.RedirectURL, "oidc-redirect-url", envOr("INSIGHTS_OIDC_REDIRECT_URL", ""),
		"redirect URL registered at the provider; empty means BASE_URL"+consentui.CallbackPath+" (env INSIGHTS_OIDC_REDIRECT_URL)")
	fs.StringVar(&c.CustomerClaim, "oidc-customer-claim", envOr("INSIGHTS_OIDC_CUSTOMER_CLAIM", "sub"),
		"ID token claim whose value is the customer ID of the session, such as sub or customer_id (env INSIGHTS_OIDC_CUSTOMER_CLAIM)")
}

func (c *oidcConfig) validate() error {
	if c.Issuer == "" {
		if c.ClientID != "" || c.ClientSecretFile != "" || c.RedirectURL != "" {
			return errors.New("-oidc-client-id, -oidc-client-secret-file and -oidc-redirect-url need -oidc-issuer (INSIGHTS_OIDC_ISSUER)")
		}
		return nil
	}
	if c.ClientID == "" {
		return errors.New("-oidc-issuer is set but -oidc-client-id (INSIGHTS_OIDC_CLIENT_ID) is empty")
	}
	if strings.TrimSpace(c.CustomerClaim) == "" {
		return errors.New("-oidc-customer-claim (INSIGHTS_OIDC_CUSTOMER_CLAIM) is empty; want a claim name such as sub")
	}
	return nil
}

// signIn discovers the provider and returns the consent pages' OpenID
// Connect sign-in, or nil when no issuer is configured.
func (c *oidcConfig) signIn(baseURL string) (*consentui.OIDCSignIn, error) {
	if c.Issuer == "" {
		return nil, nil
	}
	secret, err := c.clientSecret()
	if err != nil {
		return nil, err
	}
	redirect := c.RedirectURL
	if redirect == "" {
		redirect = strings.TrimSuffix(baseURL, "/") + consentui.CallbackPath
	}

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	client, err := oidc.Discover(ctx, oidc.Config{Issuer: c.Issuer, ClientID: c.ClientID, ClientSecret: secret, RedirectURL: redirect})
	if err != nil {
		return nil, fmt.Errorf("-oidc-issuer %s: %w", c.Issuer, err)
	}
	return &consentui.OIDCSignIn{Client: client, CustomerClaim: c.CustomerClaim}, nil
}

// clientSecret reads the secret file, which other users must not be able
// to read. Surrounding whitespace, such as a final newline, is dropped.
func (c *oidcConfig) clientSecret() (string, error) {
	if c.ClientSecretFile == "" {
		return "", nil
	}
	info, err := os.Stat(c.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("-oidc-client-secret-file: %w", err)
	}
	if info.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("-oidc-client-secret-file %s has mode %04o, so other users can read it; want 0600 (chmod 600 %s)",
			c.ClientSecretFile, info.Mode().Perm(), c.ClientSecretFile)
	}
	b, err := os.ReadFile(c.ClientSecretFile)
	if err != nil {
		return "", fmt.Errorf("-oidc-client-secret-file: %w", err)
	}
	secret := strings.TrimSpace(string(b))
	if secret == "" {
		return "", fmt.Errorf("-oidc-client-secret-file %s is empty", c.ClientSecretFile)
	}
	return secret, nil
}
