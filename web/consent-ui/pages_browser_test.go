package consentui

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

// TestBrowser_everyPageInBothLanguages walks through every page in English
// and in Simplified Chinese: sign in, pending requests, one request, the
// result after approving it, shared proofs, linked banks and history. Each
// page must carry its translated heading and the page language. With
// INSIGHTS_SCREENSHOTS=DIR set, it saves DIR/<n>-<page>-<locale>.png, the
// screenshots the README shows.
func TestBrowser_everyPageInBothLanguages(t *testing.T) {
	browser := browsertest.New(t, 3*time.Minute)
	catalogs, err := loadCatalogs(os.DirFS("."))
	if err != nil {
		t.Fatal(err)
	}

	for _, locale := range supportedLocales {
		t.Run(locale, func(t *testing.T) {
			tr := translator{locale: locale, catalog: catalogs[locale]}
			// A fresh service per language, so each approves the same
			// request; its server's new origin also starts a new session.
			env := newTestEnv(t)
			base := env.server.URL

			steps := []struct {
				name string
				// do opens the page and waits for its content.
				do chromedp.Action[chromedp.Void]
				h1 string
			}{
				{"1-signin", chromedp.Steps(
					chromedp.Navigate(base+"/consent/signin?lang="+locale),
					chromedp.WaitVisible(chromedp.CSS(`#customer-0`)),
				), tr.T("signin.title")},
				{"2-list", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`label[for="customer-0"]`)),
					chromedp.Click(chromedp.CSS(`main form button[type="submit"]`)),
					chromedp.WaitVisible(chromedp.CSS(`a[href="/consent/requests/req-shop"]`)),
				), tr.T("list.title")},
				{"3-request", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`a[href="/consent/requests/req-shop"]`)),
					chromedp.WaitVisible(chromedp.CSS(`#approve`)),
				), tr.T("request.title", "client", "Demo Shop")},
				{"4-approved", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`#approve`)),
					chromedp.WaitVisible(chromedp.CSS(`.panel-title`)),
				), tr.T("result.approved.title", "client", "Demo Shop")},
				{"5-shared", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`nav a[href="/consent/shared"]`)),
					chromedp.WaitVisible(chromedp.CSS(`a[href="/consent/shared/req-decided/revoke"]`)),
				), tr.T("shared.title")},
				{"6-banks", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`nav a[href="/consent/banks"]`)),
					chromedp.WaitVisible(chromedp.CSS(`form[action="/consent/banks/link-old/renew"] button`)),
				), tr.T("banks.title")},
				{"7-history", chromedp.Steps(
					chromedp.Click(chromedp.CSS(`nav a[href="/consent/history"]`)),
					chromedp.WaitVisible(chromedp.CSS(`.history-step`)),
				), tr.T("history.title")},
			}
			for _, step := range steps {
				if err := chromedp.Do(browser, step.do); err != nil {
					t.Fatalf("%s: %v", step.name, err)
				}
				h1, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`h1`)))
				if err != nil {
					t.Fatalf("%s: read h1: %v", step.name, err)
				}
				if got := strings.TrimSpace(h1); got != step.h1 {
					t.Errorf("%s: h1 = %q; want %q", step.name, got, step.h1)
				}
				lang, err := chromedp.Run(browser, chromedp.AttributeValue(chromedp.CSS(`html`), "lang"))
				if err != nil || lang.Value != locale {
					t.Errorf("%s: <html lang> = %+v, %v; want %s", step.name, lang, err, locale)
				}
				if err := chromedp.Do(browser, browsertest.Screenshot(step.name+"-"+locale)); err != nil {
					t.Fatalf("%s: screenshot: %v", step.name, err)
				}
			}
		})
	}
}
