package consentui

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

const chromiumPath = "/usr/bin/chromium"

// TestBrowser_approveAndSwitchLanguage drives headless Chromium through the
// pages as a customer would: sign in, open a request, approve it, switch to
// Simplified Chinese, then open the linked banks and the history. Set INSIGHTS_SCREENSHOTS=DIR to keep a PNG
// of each step.
func TestBrowser_approveAndSwitchLanguage(t *testing.T) {
	if _, err := os.Stat(chromiumPath); err != nil {
		if os.Getenv("INSIGHTS_SKIP_BROWSER") == "1" {
			t.Skipf("skipping browser test: %s not found and INSIGHTS_SKIP_BROWSER=1", chromiumPath)
		}
		t.Fatalf("browser test needs Chromium at %s (Debian package chromium): %v; set INSIGHTS_SKIP_BROWSER=1 to skip it", chromiumPath, err)
	}
	env := newTestEnv(t)

	allocOpts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1024, 900),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, allocOpts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()

	screenshotDir := os.Getenv("INSIGHTS_SCREENSHOTS")
	screenshot := func(name string) chromedp.Action[chromedp.Void] {
		return func(ctx context.Context, target *chromedp.Target) (chromedp.Void, error) {
			if screenshotDir == "" {
				return chromedp.Void{}, nil
			}
			png, err := chromedp.FullScreenshot(100)(ctx, target)
			if err != nil {
				return chromedp.Void{}, err
			}
			return chromedp.Void{}, os.WriteFile(filepath.Join(screenshotDir, name+".png"), png, 0o644)
		}
	}
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
		screenshot("1-signin"),
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
		screenshot("2-list"),
	)
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}

	// Open the request: the claims as sentences, and two buttons of one size.
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`a[href="/consent/requests/req-shop"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#approve`)),
		screenshot("3-request"),
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
		screenshot("4-approved"),
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
		screenshot("5-zh-CN"),
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
		screenshot("6-banks"),
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
		screenshot("7-history"),
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
