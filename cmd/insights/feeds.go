package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/overrides"
)

// feedsConfig configures account linking and scheduled pulls.
type feedsConfig struct {
	Bank bankConfig
	// DemoBank is the base URL of a local bank started with `insights bank`;
	// it is registered as bank "demo".
	DemoBank string
	// BanksFile is a JSON array of banks (id, name, baseURL, clientID,
	// clientSecret, financialID, redirectURI, and optionally issuer and
	// jwksURL of the bank's ID tokens).
	BanksFile    string
	TokenKeyFile string
	Refresh      string
	// DemoLink lists demo customers to link to the demo bank at start.
	DemoLink string
}

func (c *feedsConfig) register(fs *flag.FlagSet) {
	c.Bank.register(fs)
	fs.StringVar(&c.DemoBank, "demo-bank", envOr("INSIGHTS_DEMO_BANK", ""),
		"base URL of a local bank started with `insights bank`, registered as bank \"demo\" (env INSIGHTS_DEMO_BANK)")
	fs.StringVar(&c.BanksFile, "banks-file", envOr("INSIGHTS_BANKS_FILE", ""),
		"JSON array of banks customers can link: id, name, baseURL, clientID, clientSecret, financialID, redirectURI, and optional issuer and jwksURL of the bank's ID tokens (env INSIGHTS_BANKS_FILE)")
	fs.StringVar(&c.TokenKeyFile, "token-key-file", envOr("INSIGHTS_TOKEN_KEY_FILE", ""),
		"32-byte AES-256 key that encrypts bank tokens at rest, created on first start; empty means DATA/token.key (env INSIGHTS_TOKEN_KEY_FILE)")
	fs.StringVar(&c.Refresh, "bank-refresh", envOr("INSIGHTS_BANK_REFRESH", "@every 6h"),
		"cron spec of the scheduled pull of every linked bank (env INSIGHTS_BANK_REFRESH)")
	fs.StringVar(&c.DemoLink, "demo-link", "",
		"comma-separated demo customers to link to the demo bank at start, approving at the bank without a browser")
}

// banks returns the configured banks by ID, with redirectURI defaulting to
// our callback, and the OpenID Provider settings of those that set issuer
// or jwksURL.
func (c *feedsConfig) banks(baseURL string) (map[string]aspsp.Bank, map[string]feeds.OpenIDProvider, error) {
	banks := map[string]aspsp.Bank{}
	providers := map[string]feeds.OpenIDProvider{}
	if c.BanksFile != "" {
		data, err := os.ReadFile(c.BanksFile)
		if err != nil {
			return nil, nil, fmt.Errorf("-banks-file: %w", err)
		}
		var list []aspsp.Bank
		if err := json.Unmarshal(data, &list); err != nil {
			return nil, nil, fmt.Errorf("-banks-file %s: invalid JSON: %w", c.BanksFile, err)
		}
		// The same entries may name the bank's ID token issuer and JWK set.
		var openID []feeds.OpenIDProvider
		if err := json.Unmarshal(data, &openID); err != nil {
			return nil, nil, fmt.Errorf("-banks-file %s: invalid issuer or jwksURL: %w", c.BanksFile, err)
		}
		for i, b := range list {
			if b.ID == "" || b.BaseURL == "" {
				return nil, nil, fmt.Errorf("-banks-file %s: bank [%d]: id and baseURL are required", c.BanksFile, i)
			}
			banks[b.ID] = b
			if openID[i] != (feeds.OpenIDProvider{}) {
				providers[b.ID] = openID[i]
			}
		}
	}
	if c.DemoBank != "" {
		secret, err := c.Bank.secret()
		if err != nil {
			return nil, nil, err
		}
		banks["demo"] = aspsp.Bank{ID: "demo", Name: "Demo Bank", BaseURL: strings.TrimRight(c.DemoBank, "/"),
			ClientID: c.Bank.ClientID, ClientSecret: secret, FinancialID: c.Bank.FinancialID}
	}
	for id, b := range banks {
		if b.RedirectURI == "" {
			b.RedirectURI = baseURL + "/banks/callback"
			banks[id] = b
		}
	}
	return banks, providers, nil
}

// deriveBirthDates is feeds.BirthDates backed by package derive.
type deriveBirthDates struct{ deriver *derive.Deriver }

// idTokenSkew is the clock difference tolerated between a bank and us on
// an ID token's exp and iat.
const idTokenSkew = time.Minute

func (a deriveBirthDates) VerifyIDTokenBirthDate(ctx context.Context, token string, keys jwk.Set, issuer, audience string) (insights.Date, error) {
	return derive.VerifyIDTokenBirthDate(ctx, token, keys, derive.IDTokenOptions{Issuer: issuer, Audience: audience, Skew: idTokenSkew})
}

func (a deriveBirthDates) StoreIDTokenBirthDate(ctx context.Context, customerID string, birth insights.Date, issuer string) error {
	return a.deriver.StoreBirthDate(ctx, customerID, birth, derive.IDTokenSource, issuer)
}

// openFeeds builds the feeds service when any bank is configured, and
// schedules its pulls.
func (m *Main) openFeeds() error {
	cfg := &m.Config.Feeds
	banks, providers, err := cfg.banks(m.baseURL)
	if err != nil || len(banks) == 0 {
		return err
	}
	keyFile := cfg.TokenKeyFile
	if keyFile == "" {
		keyFile = filepath.Join(m.Config.Storage.DataDir, "token.key")
	}
	key, err := feeds.LoadTokenKey(keyFile, true)
	if err != nil {
		return fmt.Errorf("load bank token key: %w", err)
	}

	// Pulls apply each customer's category overrides (see "insights overrides").
	categories := &overrides.Store{Engine: m.Engine}
	loader := &ingest.Loader{Engine: m.Engine, CategorizerFor: categories.CategorizerFor(categorize.New()), Logger: m.Logger}
	m.Feeds = &feeds.Service{
		Engine:   m.Engine,
		Loader:   loader,
		Banks:    banks,
		TokenKey: key,
		Logger:   m.Logger,
		Jitter:   time.Minute,
		// The ID token of a link is the bank's statement of the
		// customer's birth date; see docs/feed-formats.md.
		BirthDates:      deriveBirthDates{m.Deriver},
		OpenIDProviders: providers,
		AfterPull: func(ctx context.Context, customerID string) {
			if _, err := m.Deriver.RefreshIncome(ctx, customerID, time.Now()); err != nil {
				m.Logger.Error("income refresh after pull failed", "customer_id", customerID, "err", err)
			}
		},
	}
	stop, stopPulls := context.WithCancel(context.Background())
	m.stopPulls = stopPulls
	if err := m.Feeds.Schedule(stop, m.jobs, cfg.Refresh); err != nil {
		return fmt.Errorf("-bank-refresh %q: %w", cfg.Refresh, err)
	}
	return nil
}

// handleBankCallback is the redirect URI banks send the customer back to
// after they approved or denied access. The state parameter binds the
// response to the link that started it.
func (m *Main) handleBankCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, err := m.Feeds.Callback(context.WithoutCancel(r.Context()), q.Get("state"), q.Get("code"), q.Get("error"))
	w.Header().Set("Cache-Control", "no-store")
	switch {
	case err == nil, errors.Is(err, feeds.ErrLinkDenied), errors.Is(err, feeds.ErrFirstPull):
		if errors.Is(err, feeds.ErrFirstPull) {
			m.Logger.Warn("bank linked but first pull failed", "err", err)
		}
		// The customer's Linked banks page shows the outcome: the new
		// link with its expiry, or the declined one.
		http.Redirect(w, r, "/consent/banks", http.StatusSeeOther)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	switch {
	case errors.Is(err, feeds.ErrUnknownState), errors.Is(err, feeds.ErrLinkExpired):
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, callbackPage("Link not found", "This link has expired or was already used. Start linking your bank again."))
	default:
		m.Logger.Error("bank callback failed", "err", err)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprint(w, callbackPage("Something went wrong", "Your bank could not be linked. Try again later."))
	}
}

func callbackPage(title, body string) string {
	return "<!doctype html><html lang=\"en\"><meta charset=\"utf-8\"><title>" + html.EscapeString(title) +
		"</title><h1>" + html.EscapeString(title) + "</h1><p>" + html.EscapeString(body) + "</p></html>\n"
}

// linkDemoCustomers links each -demo-link customer to the demo bank, as a
// customer approving in a browser would, but with the bank's
// non-interactive approval (login_hint and prompt=none). A customer whose
// link still works is refreshed instead, so a restart pulls only new data.
func (m *Main) linkDemoCustomers(ctx context.Context) {
	if m.Feeds == nil || m.Config.Feeds.DemoLink == "" {
		return
	}
	for _, customer := range strings.Split(m.Config.Feeds.DemoLink, ",") {
		customer = strings.TrimSpace(customer)
		if customer == "" {
			continue
		}
		if m.refreshExistingLink(ctx, customer) {
			continue
		}
		if err := m.linkDemoCustomer(ctx, customer); err != nil {
			m.Logger.Error("demo link failed", "customer_id", customer, "err", err)
			continue
		}
		m.Logger.Info("demo customer linked", "customer_id", customer, "bank", "demo")
	}
}

func (m *Main) refreshExistingLink(ctx context.Context, customer string) bool {
	links, err := m.Feeds.Consents(ctx, customer)
	if err != nil {
		m.Logger.Error("read bank links failed", "customer_id", customer, "err", err)
		return false
	}
	for _, l := range links {
		if l.BankID != "demo" || l.Status != "authorised" {
			continue
		}
		if _, err := m.Feeds.Refresh(ctx, l.ConsentID); err != nil {
			m.Logger.Info("demo link no longer works; linking again", "customer_id", customer, "consent_id", l.ConsentID, "err", err)
			return false
		}
		return true
	}
	return false
}

func (m *Main) linkDemoCustomer(ctx context.Context, customer string) error {
	authorize, err := m.Feeds.Link(ctx, customer, "demo")
	if err != nil {
		return err
	}
	u, err := url.Parse(authorize)
	if err != nil {
		return fmt.Errorf("authorisation URL: %w", err)
	}
	q := u.Query()
	q.Set("login_hint", customer)
	q.Set("prompt", "none")
	u.RawQuery = q.Encode()

	// The bank redirects to our /banks/callback, which exchanges the code
	// and runs the first pull.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	// The callback ends by sending the browser to the Linked banks page,
	// which is where this client stops.
	client := &http.Client{Timeout: 5 * time.Minute, CheckRedirect: func(next *http.Request, _ []*http.Request) error {
		if next.URL.Path == "/consent/banks" {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("authorise at the demo bank: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/consent/banks" {
		return fmt.Errorf("authorise at the demo bank: callback returned %s", resp.Status)
	}
	return nil
}
