package main

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// Unfinished renewals are marked abandoned, which the Linked banks page
// leaves out: a second Renew supersedes the first, and an attempt whose
// authorisation lapsed ends when the links are next listed.
func TestConsentPages_unfinishedRenewalsEnd(t *testing.T) {
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
		Feeds:           feedsConfig{Bank: cfg, DemoBank: bankServer.URL, Refresh: "@every 6h", DemoLink: "alice"},
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
	linkID := links[0].ID
	for range 2 {
		if _, err := pages.RenewBank(ctx, "alice", linkID); err != nil {
			t.Fatalf("RenewBank: %v", err)
		}
	}
	statuses := func() map[string]int {
		t.Helper()
		links, err := pages.BankLinks(ctx, "alice")
		if err != nil {
			t.Fatalf("BankLinks: %v", err)
		}
		out := map[string]int{}
		for _, link := range links {
			out[link.Status]++
		}
		return out
	}
	got := statuses()
	if got[consentui.BankAbandoned] != 1 || got[consentui.BankAwaitingAuthorisation] != 1 || got[consentui.BankAuthorised] != 1 {
		t.Errorf("after two renewals: statuses %v, want one each of abandoned, awaiting and authorised", got)
	}

	// Past the authorisation lifetime, the remaining attempt has lapsed.
	m.Feeds.Now = func() time.Time { return time.Now().Add(time.Hour) }
	got = statuses()
	if got[consentui.BankAbandoned] != 2 || got[consentui.BankAwaitingAuthorisation] != 0 {
		t.Errorf("after the attempt lapsed: statuses %v, want two abandoned and none awaiting", got)
	}
}
