package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

func TestConsentPages_bankLinksAndUnlink(t *testing.T) {
	m := startWithDemoBank(t, "alice,bob", false)
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

func TestOIDCConfig_validate(t *testing.T) {
	tests := []struct {
		name    string
		cfg     oidcConfig
		wantErr string // empty for valid
	}{
		{"off", oidcConfig{CustomerClaim: "sub"}, ""},
		{"on", oidcConfig{Issuer: "https://idp.example", ClientID: "insights", CustomerClaim: "sub"}, ""},
		{"client ID without issuer", oidcConfig{ClientID: "insights", CustomerClaim: "sub"}, "need -oidc-issuer"},
		{"issuer without client ID", oidcConfig{Issuer: "https://idp.example", CustomerClaim: "sub"}, "-oidc-client-id"},
		{"empty customer claim", oidcConfig{Issuer: "https://idp.example", ClientID: "insights", CustomerClaim: " "}, "-oidc-customer-claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("validate: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("validate: error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestOIDCConfig_clientSecretFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(path, mode); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name    string
		file    string
		want    string
		wantErr string
	}{
		{"trailing newline dropped", write("ok", "s3cret\n", 0o600), "s3cret", ""},
		{"readable by others", write("open", "s3cret", 0o644), "", "mode 0644"},
		{"empty", write("empty", "\n", 0o600), "", "is empty"},
		{"missing", filepath.Join(dir, "none"), "", "no such file"},
		{"public client", "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := oidcConfig{ClientSecretFile: tt.file}
			got, err := c.clientSecret()
			if tt.wantErr == "" {
				if err != nil || got != tt.want {
					t.Errorf("clientSecret = %q, %v; want %q", got, err, tt.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("clientSecret: error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// startWithDemoBank serves the local bank over the demo feed on 127.0.0.1
// and opens the service on a fresh data directory, linking the
// comma-separated demoLink customers through that bank. Both stop when
// the test ends.
func startWithDemoBank(t *testing.T, demoLink string, devSignIn bool) *Main {
	t.Helper()
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
	t.Cleanup(bankServer.Close)

	m := &Main{Logger: quietLogger(), Config: serveConfig{
		Storage:    storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:       "127.0.0.1:0",
		DevSignIn:  devSignIn,
		RequestTTL: 15 * time.Minute, TokenLifetime: 10 * time.Minute, SessionTTL: 15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
		Feeds:           feedsConfig{Bank: cfg, DemoBank: bankServer.URL, Refresh: "@every 6h", DemoLink: demoLink},
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	// Registered after the bank's cleanup, so it runs first: the service
	// stops before the bank it pulls from.
	t.Cleanup(func() { m.Close() })
	return m
}
