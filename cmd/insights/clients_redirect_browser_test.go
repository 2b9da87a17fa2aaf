package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

// TestBrowser_redirectBackToClient approves a request made with a
// redirectUri in headless Chromium and checks that the browser arrives at
// the client's redirect URI with the request ID, status and state, although
// the consent pages' CSP restricts form-action to the service itself.
func TestBrowser_redirectBackToClient(t *testing.T) {
	tab := browsertest.New(t, 90*time.Second)

	// The merchant's site, which records where the customer comes back to.
	var mu sync.Mutex
	var arrived []string
	shop := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrived = append(arrived, r.URL.String())
		mu.Unlock()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(`<!doctype html><title>Shop</title><h1 id="back">Welcome back</h1>`))
	}))
	defer shop.Close()
	redirectURI := shop.URL + "/callback"

	dataDir := t.TempDir()
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	mustCLI(t, "clients", "demo-customers", "-data", dataDir, "alice")
	keyFile := filepath.Join(dataDir, "shop.key")
	mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Redirect Shop", "-env", "sandbox", "-claims", "age_over",
		"-redirect-uris", redirectURI, "-key-file", keyFile)
	apiKey := strings.TrimSpace(string(mustRead(t, keyFile)))

	m := startServer(t, dataDir)
	defer m.Close()
	mc := merchant{t: t, base: m.BaseURL(), apiKey: apiKey}
	data := mc.graphql(`mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestationRequest { id consentUrl } userErrors { field message } }
}`, map[string]any{"input": map[string]any{
		"purpose": "Age check", "claims": []any{map[string]any{"ageOver": map[string]any{"minimumAge": 18}}},
		"redirectUri": redirectURI, "state": "cart 42",
	}})
	created := data["requestAttestation"].(map[string]any)["attestationRequest"].(map[string]any)
	id, consentURL := created["id"].(string), created["consentUrl"].(string)

	err := chromedp.Do(tab,
		chromedp.Navigate(consentURL+"?lang=en"),
		chromedp.Click(chromedp.CSS(`input[name="customer"][value="alice"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(`#approve`)),
		chromedp.WaitVisible(chromedp.CSS(`#back`)),
	)
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("approve and return to the shop: %v; shop saw %q", err, arrived)
	}
	location, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`^` + regexp.QuoteMeta(redirectURI) + `\?request_id=` + regexp.QuoteMeta(id) + `&state=cart\+42&status=approved$`)
	if !want.MatchString(location) {
		t.Errorf("browser location = %q, want %s with request_id, state and status", location, redirectURI)
	}
	if status, token := mc.status(id); status != "ISSUED" || token == "" {
		t.Errorf("after approval: status %s, token %q", status, token)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
