package consentui

import (
	"bytes"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

// newBusyEnv serves the busy page for every path under /consent/requests/
// and /elsewhere/, as admission control does at capacity, and the other
// consent pages, such as the sign-in and the style sheet, as usual.
func newBusyEnv(t *testing.T, devSignIn bool) *testEnv {
	t.Helper()
	env := &testEnv{service: newFakeService(), logs: &bytes.Buffer{}}
	opts := Options{
		Service:    env.service,
		DevSignIn:  devSignIn,
		SessionKey: bytes.Repeat([]byte("k"), 32),
		Logger:     slog.New(slog.NewJSONHandler(&lockedWriter{w: env.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return testNow },
	}
	ui, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	busy, err := BusyPage(opts)
	if err != nil {
		t.Fatalf("BusyPage: %v", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/consent/", ui)
	mux.Handle("/consent/requests/", busy)
	mux.Handle("/elsewhere/", busy)
	env.server = httptest.NewServer(mux)
	t.Cleanup(env.server.Close)
	t.Cleanup(func() {
		if strings.Contains(env.logs.String(), "message key missing") {
			t.Errorf("the busy page used a message key missing from a catalog:\n%s", env.logs)
		}
	})
	return env
}

func TestBusyPage_textAndLinks(t *testing.T) {
	env := newBusyEnv(t, false)
	tests := []struct {
		name           string
		method, target string
		acceptLanguage string
		lang           string
		h1             string
		text           string
		link           string // href of the link below the text
		linkText       string
		switchLink     string // href of the link to the other language
	}{
		{"open in english", http.MethodGet, "/consent/requests/req-shop", "en-GB",
			"en", "Sorry, the service is busy", "Too many people are using the service right now. Try again in a moment.",
			"/consent/requests/req-shop", "Try again", "/consent/requests/req-shop?lang=zh-CN"},
		{"open in chinese", http.MethodGet, "/consent/requests/req-shop", "zh-CN",
			"zh-CN", "抱歉，服务繁忙", "目前使用本服务的人数过多。请稍后再试。",
			"/consent/requests/req-shop", "重试", "/consent/requests/req-shop?lang=en"},
		{"retry keeps query", http.MethodGet, "/consent/requests/req-shop?lang=zh-CN", "en",
			"zh-CN", "抱歉，服务繁忙", "目前使用本服务的人数过多。请稍后再试。",
			"/consent/requests/req-shop?lang=zh-CN", "重试", "/consent/requests/req-shop?lang=en"},
		{"approve in english", http.MethodPost, "/consent/requests/req-shop/approve", "",
			"en", "Sorry, the service is busy", "Too many people are using the service right now, so your choice was not recorded. Try again in a moment.",
			"/consent/", "Back to your requests", "/consent/?lang=zh-CN"},
		{"deny in chinese", http.MethodPost, "/consent/requests/req-shop/deny", "zh",
			"zh-CN", "抱歉，服务繁忙", "目前使用本服务的人数过多，您的选择未被记录。请稍后再试。",
			"/consent/", "返回请求列表", "/consent/?lang=en"},
		{"path outside consent", http.MethodGet, "/elsewhere/page", "en",
			"en", "Sorry, the service is busy", "Too many people are using the service right now. Try again in a moment.",
			"/consent/", "Try again", "/elsewhere/page?lang=zh-CN"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, env.newClient(t), tt.method, tt.target, nil, "Accept-Language", tt.acceptLanguage)
			body := resp.Body

			if resp.Status != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", resp.Status)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", got)
			}
			if cookies := resp.Header.Values("Set-Cookie"); len(cookies) != 0 {
				t.Errorf("Set-Cookie = %q, want none", cookies)
			}
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
				t.Errorf("page lacks <html lang=%q>", tt.lang)
			}
			if got := h1Of(body); got != tt.h1 {
				t.Errorf("h1 = %q, want %q", got, tt.h1)
			}
			unescaped := html.UnescapeString(body)
			if !strings.Contains(unescaped, "<p>"+tt.text+"</p>") {
				t.Errorf("page lacks the text %q:\n%s", tt.text, body)
			}
			if want := `<a href="` + tt.link + `">` + tt.linkText + `</a>`; !strings.Contains(unescaped, want) {
				t.Errorf("page lacks the link %s:\n%s", want, body)
			}
			if want := `href="` + tt.switchLink + `"`; !strings.Contains(unescaped, want) {
				t.Errorf("page lacks the language switch %s", want)
			}
			if strings.Contains(body, "dev-banner") {
				t.Errorf("page shows the development banner with DevSignIn off")
			}
		})
	}
}

// The busy page reads no session, so a signed-in customer gets no
// navigation and no sign-out form, and the page carries no CSRF token.
func TestBusyPage_signedInWithoutNavigation(t *testing.T) {
	env := newBusyEnv(t, true)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	list := env.do(t, c, http.MethodGet, "/consent/", nil)
	if !strings.Contains(list.Body, "/consent/signout") {
		t.Fatalf("list of requests after sign-in lacks the sign-out form:\n%s", list.Body)
	}

	resp := env.do(t, c, http.MethodGet, "/consent/requests/req-shop", nil)
	if resp.Status != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.Status)
	}
	if strings.Contains(resp.Body, csrfField) {
		t.Errorf("busy page carries a CSRF token:\n%s", resp.Body)
	}
	if strings.Contains(resp.Body, "/consent/signout") {
		t.Errorf("busy page carries the sign-out form:\n%s", resp.Body)
	}
	if !strings.Contains(resp.Body, "dev-banner") {
		t.Errorf("busy page lacks the development banner with DevSignIn on")
	}
}

func TestBusyPage_head(t *testing.T) {
	env := newBusyEnv(t, false)
	resp, err := http.Head(env.server.URL + "/consent/requests/req-shop")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
	}
}

// TestBrowser_busyPageAccessible opens the busy page in Chromium in both
// languages, with its style sheet, and checks it with axe-core and the
// keyboard as the other pages are checked.
func TestBrowser_busyPageAccessible(t *testing.T) {
	browser := browsertest.New(t, 2*time.Minute)
	env := newBusyEnv(t, true)
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	for _, locale := range supportedLocales {
		t.Run(locale, func(t *testing.T) {
			tr := translator{locale: locale, catalog: catalogs[locale]}
			auditPage(t, browser, env.server.URL+"/consent/requests/req-shop", locale)

			h1, err := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`h1`)))
			if err != nil {
				t.Fatalf("read h1: %v", err)
			}
			if got, want := strings.TrimSpace(h1), tr.T("busy.title"); got != want {
				t.Errorf("h1 = %q, want %q", got, want)
			}
			title, err := chromedp.Run(browser, chromedp.Title())
			if err != nil {
				t.Fatalf("read title: %v", err)
			}
			if !strings.Contains(title, tr.T("busy.title")) {
				t.Errorf("title = %q, want it to contain %q", title, tr.T("busy.title"))
			}
			// The style sheet must load, so that the page looks like the
			// other consent pages.
			sheets, err := chromedp.Run(browser, chromedp.Evaluate[int](`document.styleSheets.length`))
			if err != nil || sheets != 1 {
				t.Errorf("style sheets = %d (%v), want 1", sheets, err)
			}
		})
	}
}
