package consentui

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

// TestBrowser_approveAndSwitchLanguage drives headless Chromium through the
// pages as a customer would: sign in, open a request, approve it, switch to
// Simplified Chinese, then open the linked banks and the history.
func TestBrowser_approveAndSwitchLanguage(t *testing.T) {
	browser := browsertest.New(t, 90*time.Second)
	env := newTestEnv(t)

	text := func(selector string) string {
		t.Helper()
		got, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(selector)))
		if err != nil {
			t.Fatalf("read text of %s: %v", selector, err)
		}
		return strings.TrimSpace(got)
	}

	// Sign in: /consent/ sends a signed-out visitor to the sign-in page.
	err := chromedp.Do(browser,
		chromedp.Navigate(env.server.URL+"/consent/"),
		chromedp.WaitVisible(chromedp.CSS(`#customer-0`)),
	)
	if err != nil {
		t.Fatalf("open sign-in: %v", err)
	}
	if got := text(`h1`); got != "Sign in" {
		t.Errorf("sign-in h1 = %q, want %q", got, "Sign in")
	}
	if got := text(`.dev-banner`); got != "Development sign-in — not for production" {
		t.Errorf("sign-in banner = %q", got)
	}
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`label[for="customer-0"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/consent/requests/req-shop"]`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Open the request: the claims as sentences, and two buttons of one size.
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`a[href="/consent/requests/req-shop"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve`)),
	)
	if err != nil {
		t.Fatalf("open request: %v", err)
	}
	claims, err := chromedp.Run(browser, chromedp.Evaluate[[]string](`[...document.querySelectorAll('.claim-sentence')].map(e => e.textContent.trim())`))
	if err != nil {
		t.Fatalf("read claims: %v", err)
	}
	wantClaims := []string{
		"Over 18: yes",
		"Funds of at least 500.00 GBP across your GBP accounts: yes",
		"Your address matches postcode SW1A 1AA: yes",
		"Next salary expected: 24 December 2026 (monthly)",
	}
	if !slices.Equal(claims, wantClaims) {
		t.Errorf("claims shown = %q, want %q", claims, wantClaims)
	}
	sizes, err := chromedp.Run(browser, chromedp.Evaluate[[][]float64](`['#approve', '#deny'].map(s => { const r = document.querySelector(s).getBoundingClientRect(); return [r.width, r.height]; })`))
	if err != nil {
		t.Fatalf("measure buttons: %v", err)
	}
	if len(sizes) != 2 || !slices.Equal(sizes[0], sizes[1]) {
		t.Errorf("Approve and Deny sizes = %v, want equal", sizes)
	}

	// Approve.
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`#approve`)),
		chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
	)
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	if got := text(`.panel-title`); got != "Shared with Demo Shop" {
		t.Errorf("result heading = %q, want %q", got, "Shared with Demo Shop")
	}
	want := []decision{{CustomerID: "alice", RequestID: "req-shop", Approve: true}}
	if got := env.service.Decisions(); !slices.Equal(got, want) {
		t.Errorf("decisions = %+v, want %+v", got, want)
	}

	// Switch to Simplified Chinese with the link every page carries.
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`a[hreflang="zh-CN"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[hreflang="en"]`)),
	)
	if err != nil {
		t.Fatalf("switch language: %v", err)
	}
	if got := text(`h1`); got != "待您决定的请求" {
		t.Errorf("h1 after switching = %q, want %q", got, "待您决定的请求")
	}
	lang, err := chromedp.Run(browser, chromedp.AttributeValue(chromedp.CSS(`html`), "lang"))
	if err != nil {
		t.Fatalf("read lang: %v", err)
	}
	if !lang.Exists || lang.Value != "zh-CN" {
		t.Errorf("<html lang> = %+v, want zh-CN", lang)
	}

	// Open the linked banks and the history from the top navigation, still
	// in Simplified Chinese.
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`nav a[href="/consent/banks"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.bank-status`)),
	)
	if err != nil {
		t.Fatalf("open linked banks: %v", err)
	}
	if got := text(`h1`); got != "您已关联的银行" {
		t.Errorf("linked banks h1 = %q, want %q", got, "您已关联的银行")
	}
	if got := text(`.bank-status`); got != "已关联" {
		t.Errorf("first bank status = %q, want %q", got, "已关联")
	}
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`nav a[href="/consent/history"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.history-step`)),
	)
	if err != nil {
		t.Fatalf("open history: %v", err)
	}
	if got := text(`h1`); got != "历史记录" {
		t.Errorf("history h1 = %q, want %q", got, "历史记录")
	}
	if got := text(`.history-step`); got != "证明已发送给Demo Shop" {
		t.Errorf("newest history step = %q, want %q", got, "证明已发送给Demo Shop")
	}
}

// TestBrowser_accessibility runs axe-core on every page in English and
// Simplified Chinese, failing on serious or critical violations, and tabs
// through each page: every link, button and field must take the focus and
// show that it has it.
func TestBrowser_accessibility(t *testing.T) {
	browser := browsertest.New(t, 4*time.Minute)
	env := newTestEnv(t)

	pages := []struct {
		name, path string
		signedIn   bool
	}{
		{"signin", "/consent/signin", false},
		{"signed-out", "/consent/history", false}, // redirects to the sign-in
		{"list", "/consent/", true},
		{"request", "/consent/requests/req-shop", true},
		{"request-unavailable", "/consent/requests/req-lender", true},
		{"shared", "/consent/shared", true},
		{"revoke", "/consent/shared/req-decided/revoke", true},
		{"banks", "/consent/banks", true},
		{"unlink", "/consent/banks/link-demo/unlink", true},
		{"history", "/consent/history", true},
		{"not-found", "/consent/requests/no-such-request", true},
	}
	signIn := chromedp.Steps(
		chromedp.Navigate(env.server.URL+"/consent/signin?lang=en"),
		chromedp.Click(chromedp.CSS(`label[for="customer-0"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.signed-in`)),
	)
	signOut := chromedp.Steps(
		chromedp.Click(chromedp.CSS(`header form button[type="submit"]`)),
		chromedp.WaitNotPresent(chromedp.CSS(`header form button[type="submit"]`)),
	)

	for _, locale := range []string{"en", "zh-CN"} {
		signedIn := false
		for _, pg := range pages {
			t.Run(locale+"/"+pg.name, func(t *testing.T) {
				if pg.signedIn != signedIn {
					step := signIn
					if !pg.signedIn {
						step = signOut
					}
					if err := chromedp.Do(browser, step); err != nil {
						t.Fatalf("sign in or out: %v", err)
					}
					signedIn = pg.signedIn
				}
				auditPage(t, browser, env.server.URL+pg.path, locale)
			})
		}
		if signedIn {
			if err := chromedp.Do(browser, signOut); err != nil {
				t.Fatalf("sign out: %v", err)
			}
		}
	}

	// Result pages are responses to a form, so the test reaches them by
	// deciding: it denies a request in Chinese and revokes a proof in English.
	results := []struct {
		name, path, button, locale string
	}{
		{"denied", "/consent/requests/req-lender", "#deny", "zh-CN"},
		{"revoked", "/consent/shared/req-decided/revoke", "#revoke", "en"},
	}
	if err := chromedp.Do(browser, signIn); err != nil {
		t.Fatalf("sign in: %v", err)
	}
	for _, r := range results {
		t.Run(r.locale+"/result-"+r.name, func(t *testing.T) {
			err := chromedp.Do(browser,
				chromedp.Navigate(env.server.URL+r.path+"?lang="+r.locale),
				chromedp.WaitVisible(chromedp.CSS(r.button)),
				chromedp.Click(chromedp.CSS(r.button)),
				chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
			)
			if err != nil {
				t.Fatalf("open the %s result: %v", r.name, err)
			}
			auditCurrentPage(t, browser, r.locale)
		})
	}
}

// TestBrowser_accessibilityClaimDetails audits the request pages with the
// full-address checkbox, the address scopes and a lender's consent, and
// the shared page with a consent row, in both locales, in a browser of
// its own.
//
// NOTE: when these pages were audited in TestBrowser_accessibility's
// session, after its other pages, the click on Sign out at the end of the
// English pages submitted nothing and the test timed out. The cause is not
// known.
func TestBrowser_accessibilityClaimDetails(t *testing.T) {
	browser := browsertest.New(t, 3*time.Minute)
	env := newTestEnv(t)
	addDetailRequests(env.service)
	addIssuedConsent(env.service)
	err := chromedp.Do(browser,
		chromedp.Navigate(env.server.URL+"/consent/signin?lang=en"),
		chromedp.Click(chromedp.CSS(`label[for="customer-0"]`)),
		chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.signed-in`)),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	paths := []string{
		"/consent/requests/req-address",
		"/consent/requests/req-scopes",
		"/consent/requests/req-consent",
		"/consent/shared",
	}
	for _, locale := range []string{"en", "zh-CN"} {
		for _, path := range paths {
			t.Run(locale+path, func(t *testing.T) {
				auditPage(t, browser, env.server.URL+path, locale)
			})
		}
	}
}

// TestBrowser_accessibilityOIDC audits the pages of the OpenID Connect
// sign-in: the sign-in page offering both sign-ins, and the page of a
// failed sign-in.
func TestBrowser_accessibilityOIDC(t *testing.T) {
	browser := browsertest.New(t, 2*time.Minute)
	env, _ := newOIDCEnv(t, true, "")
	for _, locale := range []string{"en", "zh-CN"} {
		for _, path := range []string{"/consent/signin", CallbackPath + "?state=forged&code=forged"} {
			t.Run(locale+path, func(t *testing.T) {
				auditPage(t, browser, env.server.URL+path, locale)
			})
		}
	}
}

// auditPage opens target in locale, then runs axe-core and tabs through
// the page.
func auditPage(t *testing.T, browser context.Context, target, locale string) {
	t.Helper()
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	err := chromedp.Do(browser,
		chromedp.Navigate(target+sep+"lang="+locale),
		chromedp.WaitVisible(chromedp.CSS(`h1`)),
	)
	if err != nil {
		t.Fatalf("open %s: %v", target, err)
	}
	auditCurrentPage(t, browser, locale)
}

// auditCurrentPage runs axe-core on the page the browser shows and tabs
// through it.
func auditCurrentPage(t *testing.T, browser context.Context, locale string) {
	t.Helper()
	lang, err := chromedp.Run(browser, chromedp.AttributeValue(chromedp.CSS(`html`), "lang"))
	if err != nil || lang.Value != locale {
		t.Errorf("<html lang> = %q (%v), want %q", lang.Value, err, locale)
	}

	violations, err := browsertest.Axe(browser)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("axe-core: %s", v)
	}

	// A positive tabindex would make the Tab order differ from the reading
	// order.
	positive, err := chromedp.Run(browser, chromedp.Evaluate[int](`[...document.querySelectorAll('[tabindex]')].filter(el => el.tabIndex > 0).length`))
	if err != nil || positive != 0 {
		t.Errorf("%d elements with a positive tabindex (%v), want none", positive, err)
	}

	stops, missed, err := browsertest.TabThrough(browser)
	if err != nil {
		t.Fatalf("tab through the page: %v", err)
	}
	if len(stops) == 0 {
		t.Errorf("Tab reached no element")
	}
	for _, stop := range stops {
		if !stop.Visible {
			t.Errorf("%s takes the focus without a visible focus style", stop.Element)
		}
	}
	for _, el := range missed {
		t.Errorf("Tab never reaches %s", el)
	}
	if first := firstStop(stops); !strings.Contains(first, "skip-link") && !strings.Contains(first, "#main") {
		t.Errorf("first Tab stop = %s, want the skip link", first)
	}
}

func firstStop(stops []browsertest.FocusStop) string {
	if len(stops) == 0 {
		return "(none)"
	}
	return fmt.Sprint(stops[0].Element)
}
