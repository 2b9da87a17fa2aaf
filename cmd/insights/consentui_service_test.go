package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

func TestConsentPages_bankLinksAndUnlink(t *testing.T) {
	dataDir := t.TempDir()
	cfg := bankConfig{ClientID: "insights-test", ClientSecretFile: filepath.Join(dataDir, "bank-client.secret"), FinancialID: "0015800001041RTEST"}
	secret, err := cfg.secret()
	if err != nil {
		t.Fatal(err)
	}
	b, err := bank.New(bank.Options{DataDir: sampleDir, ClientID: cfg.ClientID, ClientSecret: secret,
		FinancialID: cfg.FinancialID, PageSize: 50, Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	bankServer := httptest.NewServer(b)
	defer bankServer.Close()

	m := &Main{Logger: quietLogger(), Config: serveConfig{
		Storage:    storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:       "127.0.0.1:0",
		RequestTTL: 15 * time.Minute, TokenLifetime: 10 * time.Minute, SessionTTL: 15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
		Feeds:           feedsConfig{Bank: cfg, DemoBank: bankServer.URL, Refresh: "@every 6h", DemoLink: "alice,bob"},
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer m.Close()
	ctx := context.Background()
	pages := consentPages{Service: m.Consent, feeds: func() *feeds.Service { return m.Feeds }}

	links, err := pages.BankLinks(ctx, "alice")
	if err != nil || len(links) != 1 {
		t.Fatalf("alice's bank links = %+v, %v; want one", links, err)
	}
	link := links[0]
	if link.Status != consentui.BankAuthorised || link.LastOutcome != consentui.RefreshComplete || link.BankName == "" {
		t.Errorf("alice's link = %+v; want an authorised, named link read completely", link)
	}
	if link.ExpiresAt.IsZero() || link.LastRefresh.IsZero() {
		t.Errorf("alice's link = %+v; want an expiry and a last refresh", link)
	}

	// bob cannot unlink alice's bank, and an unknown ID is not found either.
	for _, tt := range []struct{ customer, id string }{{"bob", link.ID}, {"alice", "no-such-link"}} {
		if err := pages.Unlink(ctx, tt.customer, tt.id); insights.ErrorCode(err) != insights.ErrNotFound {
			t.Errorf("Unlink(%s, %s) error = %v; want not_found", tt.customer, tt.id, err)
		}
	}
	if links, _ := pages.BankLinks(ctx, "alice"); len(links) != 1 || links[0].Status != consentui.BankAuthorised {
		t.Fatalf("after bob's attempt, alice's links = %+v; want still authorised", links)
	}

	if err := pages.Unlink(ctx, "alice", link.ID); err != nil {
		t.Fatalf("Unlink(alice): %v", err)
	}
	links, err = pages.BankLinks(ctx, "alice")
	if err != nil || len(links) != 1 || links[0].Status != consentui.BankRevoked {
		t.Errorf("after unlinking, alice's links = %+v, %v; want one revoked", links, err)
	}
	if bobs, err := pages.BankLinks(ctx, "bob"); err != nil || len(bobs) != 1 || bobs[0].Status != consentui.BankAuthorised {
		t.Errorf("bob's links = %+v, %v; want his link untouched", bobs, err)
	}
}

func TestConsentPages_noBankConfigured(t *testing.T) {
	pages := consentPages{feeds: func() *feeds.Service { return nil }}
	ctx := context.Background()

	links, err := pages.BankLinks(ctx, "alice")
	if err != nil || len(links) != 0 {
		t.Errorf("BankLinks = %+v, %v; want none", links, err)
	}
	if err := pages.Unlink(ctx, "alice", "any"); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("Unlink error = %v; want not_found", err)
	}
}
