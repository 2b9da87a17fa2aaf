package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/oidc/oidctest"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

// The browser tests run the whole service on the real embedded engine and
// drive the consent pages in headless Chromium, while the merchant uses the
// GraphQL API.

// loadAliceAndShop ingests the demo customer alice and registers a merchant,
// returning the merchant's API key.
func loadAliceAndShop(t *testing.T, dataDir string) string {
	t.Helper()
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	keyFile := filepath.Join(dataDir, "shop.key")
	mustCLI(t, "clients", "add", "-data", dataDir, "-name", "Demo Shop", "-key-file", keyFile)
	apiKey, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(apiKey))
}

func textOf(t *testing.T, tab context.Context, selector string) string {
	t.Helper()
	got, err := chromedp.Run(tab, chromedp.Text(chromedp.CSS(selector)))
	if err != nil {
		t.Fatalf("read text of %s: %v", selector, err)
	}
	return strings.TrimSpace(got)
}

func TestBrowser_denyRevokeAndForgedApproval(t *testing.T) {
	tab := browsertest.New(t, 3*time.Minute)
	dataDir := t.TempDir()
	apiKey := loadAliceAndShop(t, dataDir)
	m := startServer(t, dataDir)
	defer m.Close()
	mc := merchant{t: t, base: m.BaseURL(), apiKey: apiKey}

	// Deny: the customer signs in through the development sign-in on the
	// way to the request, and declines it. The merchant gets no token.
	id1, consentURL1 := mc.requestClaims()
	err := chromedp.Do(tab,
		chromedp.Navigate(consentURL1+"?lang=en"),
		chromedp.Click(chromedp.CSS(`input[name="customer"][value="alice"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#deny`)),
		chromedp.Click(chromedp.CSS(`#deny`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
	)
	if err != nil {
		t.Fatalf("deny in the browser: %v", err)
	}
	if got := textOf(t, tab, `.panel-title`); got != "Declined" {
		t.Errorf("result after deny = %q, want Declined", got)
	}
	if status, token := mc.status(id1); status != "DENIED" || token != "" {
		t.Errorf("after deny: status %s, token %q; want DENIED and no token", status, token)
	}

	// Approve a second request, then revoke its proof on the shared page.
	id2, consentURL2 := mc.requestClaims()
	err = chromedp.Do(tab,
		chromedp.Navigate(consentURL2),
		chromedp.WaitVisible(chromedp.CSS(`#approve`)),
		chromedp.Click(chromedp.CSS(`#approve`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
	)
	if err != nil {
		t.Fatalf("approve in the browser: %v", err)
	}
	status, token := mc.status(id2)
	if status != "ISSUED" || token == "" {
		t.Fatalf("after approval: status %s, token %q", status, token)
	}
	jwks := m.BaseURL() + "/.well-known/jwks.json"
	if out := mustCLI(t, "verify", "-jwks", jwks, token); !strings.Contains(out, `"status": "valid"`) {
		t.Errorf("verify before revocation lacks status valid:\n%s", out)
	}

	revokeLink := fmt.Sprintf(`a[href="/consent/shared/%s/revoke"]`, id2)
	err = chromedp.Do(tab,
		chromedp.Navigate(m.BaseURL()+"/consent/shared"),
		chromedp.Click(chromedp.CSS(revokeLink)),
		chromedp.WaitVisible(chromedp.CSS(`#revoke`)),
		chromedp.Click(chromedp.CSS(`#revoke`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
	)
	if err != nil {
		t.Fatalf("revoke in the browser: %v", err)
	}
	if got := textOf(t, tab, `.panel-title`); got != "Proof revoked" {
		t.Errorf("result after revoke = %q, want Proof revoked", got)
	}
	// The verifier fetches the JWK set and the status list over HTTP.
	_, err = cli(t, "verify", "-jwks", jwks, token)
	var exit exitError
	if !errors.As(err, &exit) || !strings.Contains(exit.msg, "revoked") {
		t.Errorf("verify of the revoked token: error %v, want one reporting revoked", err)
	}
	result := mc.graphql(verifyQuery, map[string]any{"token": token})["verifyAttestation"].(map[string]any)
	if result["valid"] != false || result["reason"] != "REVOKED" {
		t.Errorf("verifyAttestation of the revoked token = %v, want valid false, reason REVOKED", result)
	}

	// A forged approval: a form without the CSRF token, put into the
	// request page, is refused, and nothing is issued.
	id3, consentURL3 := mc.requestClaims()
	forge := fmt.Sprintf(`(() => {
  const f = document.createElement('form');
  f.method = 'post';
  f.action = %q;
  document.body.appendChild(f);
  f.submit();
  return true;
})()`, consentURL3+"/approve")
	if err := chromedp.Do(tab, chromedp.Navigate(consentURL3), chromedp.WaitVisible(chromedp.CSS(`#approve`))); err != nil {
		t.Fatalf("open the third request: %v", err)
	}
	forged, err := chromedp.RunResponse(tab, chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Run(ctx, chromedp.Evaluate[bool](forge))
		return err
	}))
	if err != nil {
		t.Fatalf("submit the forged form: %v", err)
	}
	if forged.Status != http.StatusForbidden {
		t.Errorf("forged approval: status %d, want 403", forged.Status)
	}
	if got := textOf(t, tab, `h1`); got != "Your form was not accepted" {
		t.Errorf("page after the forged approval: h1 %q, want the refusal", got)
	}
	if status, token := mc.status(id3); status != "REQUESTED" || token != "" {
		t.Errorf("after the forged approval: status %s, token %q; want REQUESTED and no token", status, token)
	}

	// The same forgery from a page of another origin on 127.0.0.1, carrying
	// a made-up token, is refused too.
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!DOCTYPE html><html lang="en"><title>Prize</title><form method="post" action="%s/approve">
<input type="hidden" name="csrf_token" value="forged"><button id="claim" type="submit">Claim your prize</button></form></html>`, consentURL3)
	}))
	defer attacker.Close()
	if err := chromedp.Do(tab, chromedp.Navigate(attacker.URL), chromedp.WaitVisible(chromedp.CSS(`#claim`))); err != nil {
		t.Fatalf("open the other origin's page: %v", err)
	}
	crossOrigin, err := chromedp.RunResponse(tab, chromedp.Click(chromedp.CSS(`#claim`)))
	if err != nil {
		t.Fatalf("submit the cross-origin form: %v", err)
	}
	if crossOrigin.Status != http.StatusForbidden {
		t.Errorf("cross-origin approval: status %d, want 403", crossOrigin.Status)
	}
	if status, _ := mc.status(id3); status != "REQUESTED" {
		t.Errorf("after the cross-origin approval: status %s, want REQUESTED", status)
	}
}

// TestBrowser_oidcSignIn signs in through an OpenID provider on 127.0.0.1
// with the development sign-in off, then approves a request.
func TestBrowser_oidcSignIn(t *testing.T) {
	tab := browsertest.New(t, 2*time.Minute)
	provider := oidctest.Start(t, "insights-consent", "client-secret-for-tests")
	provider.SignIn("provider-user-7", map[string]any{"customer_id": "alice"})

	dataDir := t.TempDir()
	apiKey := loadAliceAndShop(t, dataDir)
	secretFile := filepath.Join(dataDir, "oidc-client-secret")
	if err := os.WriteFile(secretFile, []byte(provider.ClientSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &Main{Logger: quietLogger(), Config: serveConfig{
		Storage:         storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:            "127.0.0.1:0",
		RequestTTL:      15 * time.Minute,
		TokenLifetime:   10 * time.Minute,
		SessionTTL:      15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
		OIDC: oidcConfig{Issuer: provider.Issuer, ClientID: provider.ClientID, ClientSecretFile: secretFile,
			CustomerClaim: "customer_id"},
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	defer m.Close()
	mc := merchant{t: t, base: m.BaseURL(), apiKey: apiKey}

	// The development sign-in is refused.
	resp, err := http.PostForm(m.BaseURL()+"/consent/signin", url.Values{"customer": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("development sign-in: status %d, want 404", resp.StatusCode)
	}

	id, consentURL := mc.requestClaims()
	err = chromedp.Do(tab,
		chromedp.Navigate(consentURL+"?lang=en"),
		chromedp.WaitVisible(chromedp.CSS(`#signin-oidc`)),
		browsertest.Screenshot("8-signin-oidc-en"),
		chromedp.Click(chromedp.CSS(`#signin-oidc`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve`)),
	)
	if err != nil {
		t.Fatalf("sign in through the provider: %v", err)
	}
	if got := textOf(t, tab, `.signed-in`); got != "Signed in as alice" {
		t.Errorf("signed-in line = %q, want Signed in as alice", got)
	}
	if n, _ := chromedp.Run(tab, chromedp.Evaluate[int](`document.querySelectorAll('.dev-banner').length`)); n != 0 {
		t.Errorf("the development banner shows although the development sign-in is off")
	}
	err = chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`#approve`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
	)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if status, token := mc.status(id); status != "ISSUED" || token == "" {
		t.Errorf("after approval: status %s, token %q", status, token)
	}

	// The sign-in page in Chinese, for the screenshots.
	err = chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(`header form button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`header form button[type="submit"]`)),
		chromedp.Navigate(m.BaseURL()+"/consent/signin?lang=zh-CN"),
		chromedp.WaitVisible(chromedp.CSS(`#signin-oidc`)),
		browsertest.Screenshot("8-signin-oidc-zh-CN"),
	)
	if err != nil {
		t.Fatalf("open the Chinese sign-in page: %v", err)
	}
}

// TestBrowser_fullAddressChoice approves two requests for the
// whole address. With the box ticked the token carries postal_address,
// and without it the token contains only the postcode match.
func TestBrowser_fullAddressChoice(t *testing.T) {
	tab := browsertest.New(t, 3*time.Minute)
	dataDir := t.TempDir()
	apiKey := loadAliceAndShop(t, dataDir)
	m := startServer(t, dataDir)
	defer m.Close()
	mc := merchant{t: t, base: m.BaseURL(), apiKey: apiKey}

	requestAddress := func() (id, consentURL string) {
		data := mc.graphql(requestMutation, map[string]any{"input": map[string]any{
			"purpose": "Delivery address for your order",
			"claims": []any{
				map[string]any{"addressMatches": map[string]any{"postCode": "LS6 2QT", "fullAddress": true}},
			},
		}})
		payload := data["requestAttestation"].(map[string]any)
		if errs := payload["userErrors"].([]any); len(errs) > 0 {
			t.Fatalf("userErrors: %v", errs)
		}
		req := payload["attestationRequest"].(map[string]any)
		return req["id"].(string), req["consentUrl"].(string)
	}

	tests := []struct {
		name   string
		tick   bool
		wantIn bool
	}{
		{"ticked", true, true},
		{"unticked", false, false},
	}
	signedIn := false
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, consentURL := requestAddress()
			steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(consentURL + "?lang=en")}
			if !signedIn {
				steps = append(steps,
					chromedp.Click(chromedp.CSS(`input[name="customer"][value="alice"]`)),
					chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)))
				signedIn = true
			}
			steps = append(steps, chromedp.WaitVisible(chromedp.CSS(`#disclose-address`)))
			if err := chromedp.Do(tab, steps...); err != nil {
				t.Fatalf("open the request: %v", err)
			}
			if got, want := textOf(t, tab, `label[for="disclose-address"]`), "Share my full address with Demo Shop"; got != want {
				t.Errorf("checkbox label = %q, want %q", got, want)
			}
			if got := textOf(t, tab, `#disclose-address-value`); !strings.Contains(got, "14 Larchfield Road") || !strings.Contains(got, "LS6 2QT") {
				t.Errorf("address shown beside the checkbox = %q, want alice's address", got)
			}
			checked, err := chromedp.Run(tab, chromedp.JavascriptAttribute[bool](chromedp.CSS(`#disclose-address`), "checked"))
			if err != nil {
				t.Fatalf("read the checkbox: %v", err)
			}
			if checked {
				t.Errorf("full-address checkbox is ticked before the customer chose")
			}

			var decide []chromedp.Action[chromedp.Void]
			if tc.tick {
				decide = append(decide, chromedp.Click(chromedp.CSS(`label[for="disclose-address"]`)))
			}
			decide = append(decide, chromedp.Click(chromedp.CSS(`#approve`)), chromedp.WaitVisible(chromedp.CSS(`.panel-title`)))
			if err := chromedp.Do(tab, decide...); err != nil {
				t.Fatalf("approve: %v", err)
			}

			status, token := mc.status(id)
			if status != "ISSUED" || token == "" {
				t.Fatalf("after approval: status %s, token %q", status, token)
			}
			claims := jwsPayload(t, token)
			address, has := claims["postal_address"]
			if has != tc.wantIn {
				t.Fatalf("token has postal_address = %v, want %v; claims %v", has, tc.wantIn, claims)
			}
			if has && !strings.Contains(fmt.Sprint(address), "14 Larchfield Road") {
				t.Errorf("postal_address = %v, want alice's address", address)
			}
			if _, ok := claims["address_matches"]; !ok {
				t.Errorf("token lacks the address_matches claim: %v", claims)
			}
		})
	}
}

// jwsPayload decodes the payload of a compact JWS without verifying it;
// other tests verify the tokens this service signs.
func jwsPayload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts, want 3", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("parse token payload: %v", err)
	}
	return claims
}

// TestBrowser_renewBankLink renews an ended bank link through the local
// bank on 127.0.0.1: the Renew button leads to the bank's approval page,
// and its callback brings the customer back to the Linked banks page,
// where the new link is active and the old one replaced.
func TestBrowser_renewBankLink(t *testing.T) {
	tab := browsertest.New(t, 3*time.Minute)
	m := startWithDemoBank(t, "alice,bob", true)
	ctx := context.Background()
	links, err := m.Feeds.Consents(ctx, "alice")
	if err != nil || len(links) != 1 || links[0].Status != feeds.StatusAuthorised {
		t.Fatalf("alice's links at start = %+v, %v; want one authorised", links, err)
	}
	old := links[0]

	// Another customer cannot renew alice's link.
	pages := consentPages{Service: m.Consent, feeds: func() *feeds.Service { return m.Feeds }}
	if _, err := pages.RenewBank(ctx, "bob", old.ConsentID); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("bob renews alice's link: %v; want not_found", err)
	}

	// alice unlinks the bank, so its access ends and Renew is offered.
	base := m.BaseURL()
	renew := fmt.Sprintf(`form[action="/consent/banks/%s/renew"] button`, old.ConsentID)
	err = chromedp.Do(tab,
		chromedp.Navigate(base+"/consent/banks?lang=en"),
		chromedp.Click(chromedp.CSS(`input[name="customer"][value="alice"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.Click(chromedp.CSS(fmt.Sprintf(`a[href="/consent/banks/%s/unlink"]`, old.ConsentID))),
		chromedp.WaitVisible(chromedp.CSS(`#unlink`)),
		chromedp.Click(chromedp.CSS(`#unlink`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
		chromedp.Navigate(base+"/consent/banks"),
		chromedp.WaitVisible(chromedp.CSS(renew)),
	)
	if err != nil {
		t.Fatalf("unlink in the browser: %v", err)
	}
	if got := textOf(t, tab, `.bank-status`); got != "Unlinked" {
		t.Errorf("status after unlinking = %q; want Unlinked", got)
	}
	violations, err := browsertest.Axe(tab)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("Linked banks page with Renew: %s", v)
	}

	// Renew: the continue page sends the browser on to the bank, where
	// alice approves; the callback brings her back to her linked banks.
	err = chromedp.Do(tab,
		chromedp.Click(chromedp.CSS(renew)),
		chromedp.WaitVisible(chromedp.CSS(`#customer-alice`)),
		chromedp.Click(chromedp.CSS(`#customer-alice`)),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.bank-link`)),
	)
	if err != nil {
		t.Fatalf("renew at the bank: %v", err)
	}
	location, err := chromedp.Run(tab, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if location != base+"/consent/banks" {
		t.Errorf("after the bank's callback the browser is at %s; want the Linked banks page", location)
	}

	links, err = m.Feeds.Consents(ctx, "alice")
	if err != nil || len(links) != 2 {
		t.Fatalf("alice's links after renewing = %+v, %v; want two", links, err)
	}
	renewed := links[0] // newest first
	if renewed.Status != feeds.StatusAuthorised || links[1].ConsentID != old.ConsentID || links[1].Status != feeds.StatusReplaced {
		t.Errorf("links after renewing = %+v; want the new one authorised and the old one replaced", links)
	}
	if renewed.LastRefresh.IsZero() || renewed.LastOutcome != feeds.OutcomeComplete {
		t.Errorf("new link: last refresh %s, outcome %q; want a complete first pull", renewed.LastRefresh, renewed.LastOutcome)
	}
	if _, err := m.Feeds.Refresh(ctx, renewed.ConsentID); err != nil {
		t.Errorf("scheduled pull under the new link: %v", err)
	}

	statuses, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.bank-status')].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatal(err)
	}
	if len(statuses) != 2 || statuses[0] != "Linked" || statuses[1] != "Replaced by a newer link" {
		t.Errorf("statuses on the page = %q; want Linked, then Replaced by a newer link", statuses)
	}
	expiry := renewed.ExpiresAt.In(ukTime(t)).Format("2 January 2006")
	if got := textOf(t, tab, `.bank-access`); !strings.Contains(got, "Reconfirm by "+expiry) {
		t.Errorf("access of the new link = %q; want it to name the new expiry %s", got, expiry)
	}
	if err := chromedp.Do(tab, chromedp.Navigate(base+"/consent/banks/"+renewed.ConsentID+"/unlink"), chromedp.WaitVisible(chromedp.CSS(`#unlink`))); err != nil {
		t.Errorf("the new link offers no Unlink: %v", err)
	}
}

func ukTime(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
