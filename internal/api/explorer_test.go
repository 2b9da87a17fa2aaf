package api

import (
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/openbanking-insights/insights/web/consent-ui/browsertest"
)

func getWithAccept(t *testing.T, url, accept string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", accept)
	return do(t, req)
}

func TestExplorer_pageAndAssets(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{Explorer: true})

	resp, body := getWithAccept(t, srv.url+"/graphql", "text/html,application/xhtml+xml,*/*;q=0.8")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("page status = %d", resp.StatusCode)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP = %q, want script-src 'self' without unsafe-eval", csp)
	}
	// Every script of the page is a file: an inline script would need
	// 'unsafe-inline' in script-src.
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(string(body), -1) {
		if !strings.Contains(tag, `src="/graphql/explorer/`) {
			t.Errorf("script tag %s has no src under /graphql/explorer/", tag)
		}
	}
	for _, m := range regexp.MustCompile(`(?:src|href)="(/graphql/explorer/[^"]+)"`).FindAllStringSubmatch(string(body), -1) {
		asset, data := getWithAccept(t, srv.url+m[1], "*/*")
		if asset.StatusCode != http.StatusOK || len(data) == 0 {
			t.Errorf("%s: status %d, %d bytes", m[1], asset.StatusCode, len(data))
		}
		ct := asset.Header.Get("Content-Type")
		if (strings.HasSuffix(m[1], ".js") && !strings.Contains(ct, "javascript")) || (strings.HasSuffix(m[1], ".css") && !strings.HasPrefix(ct, "text/css")) {
			t.Errorf("%s: Content-Type %q", m[1], ct)
		}
	}
	for _, name := range []string{"LICENSE.graphiql", "LICENSE.react", "README.md"} {
		if resp, _ := getWithAccept(t, srv.url+"/graphql/explorer/"+name, "*/*"); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, resp.StatusCode)
		}
	}
	if resp, _ := getWithAccept(t, srv.url+"/graphql/explorer/..%2fexplorer.go", "*/*"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("path outside the assets: status %d, want 404", resp.StatusCode)
	}

	// A GET that does not accept HTML is an API client, not a browser.
	resp, _ = getWithAccept(t, srv.url+"/graphql", "application/json")
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != "POST" {
		t.Errorf("JSON GET: status %d, Allow %q; want 405 and POST", resp.StatusCode, resp.Header.Get("Allow"))
	}
}

func TestExplorer_off(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{Explorer: false})
	resp, _ := getWithAccept(t, srv.url+"/graphql", "text/html")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("page with the explorer off: status %d, want 405", resp.StatusCode)
	}
	resp, _ = getWithAccept(t, srv.url+"/graphql/explorer/graphiql.min.js", "*/*")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("asset with the explorer off: status %d, want 404", resp.StatusCode)
	}
}

// TestExplorer_browserRunsQuery loads the explorer in headless Chromium
// under its Content-Security-Policy, reads a field description in the
// documentation explorer, and runs a query with the API key in the
// headers editor.
func TestExplorer_browserRunsQuery(t *testing.T) {
	browser := browsertest.New(t, 90*time.Second)
	srv := newTestServer(t, newFakeConsent(), Options{Explorer: true})

	// Any exception or error reported to the console, such as a CSP
	// violation, fails the test.
	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(browser, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *runtime.EventExceptionThrown:
			problems = append(problems, exceptionText(e.ExceptionDetails))
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError {
				for _, arg := range e.Args {
					problems = append(problems, string(arg.Value)+arg.Description)
				}
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}

	err = chromedp.Do(browser,
		chromedp.Navigate(srv.url+"/graphql"),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-container`)),
		chromedp.Click(chromedp.CSS(`button[aria-label="Show Documentation Explorer"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.graphiql-doc-explorer`)),
	)
	if err != nil {
		t.Fatalf("open explorer: %v", err)
	}
	// graphql-go's introspection has no __Schema.description, so the
	// documentation shows the descriptions of types and fields: open Query.
	const viewerDescription = "The client that the API key of this request belongs to."
	_, err = chromedp.Run(browser, chromedp.Poll[bool](`(() => {
		const link = [...document.querySelectorAll('.graphiql-doc-explorer a')].find(a => a.textContent === 'Query');
		if (link) link.click();
		return !!link;
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		t.Fatalf("documentation explorer has no link to Query: %v", err)
	}
	_, err = chromedp.Run(browser, chromedp.Poll[bool](`(() => {
		const el = document.querySelector('.graphiql-doc-explorer');
		return !!el && el.innerText.includes(`+jsString(viewerDescription)+`);
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		got, _ := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`.graphiql-doc-explorer`)))
		t.Fatalf("field description not shown in the documentation explorer: %v; it shows %q", err, got)
	}

	// Run the explorer's default query, the viewer, with the Authorization
	// header typed into GraphiQL's headers editor (a CodeMirror editor).
	const headers = `{"Authorization": "Bearer ` + merchantKey + `"}`
	const headersEditor = `.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror`
	err = chromedp.Do(browser,
		chromedp.Click(chromedp.CSS(`button[data-name="headers"]`)),
		chromedp.WaitVisible(chromedp.CSS(headersEditor)),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('`+headersEditor+`').CodeMirror.setValue(`+jsString(headers)+`)`),
		chromedp.Click(chromedp.CSS(`.graphiql-execute-button`)),
	)
	if err != nil {
		t.Fatalf("run query: %v", err)
	}
	result, err := chromedp.Run(browser, chromedp.Poll[string](`(() => {
		const el = document.querySelector('.result-window');
		return el && el.innerText.includes('cli_merchant') ? el.innerText : null;
	})()`, chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		got, _ := chromedp.Run(browser, chromedp.Text(chromedp.CSS(`.result-window`)))
		t.Fatalf("query result not shown: %v; result window: %q", err, got)
	}
	if !strings.Contains(result, "Corner Shop") {
		t.Errorf("result = %q, want the viewer's name", result)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Errorf("browser console: %s", p)
	}
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\n", `\n`).Replace(s) + "'"
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}
