package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/feeds"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// A copy of the session cookie taken before sign-out gets the sign-in page,
// from the service and from a second instance on the same storage.
func TestSignOut_copiedCookieRejectedEverywhere(t *testing.T) {
	dataDir := t.TempDir()
	// The development sign-in offers the customers whose data is stored.
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	m := startServer(t, dataDir)
	defer m.Close()
	base := "http://" + m.Addr()

	// A second instance of the consent pages: its own process state, the
	// same session key and storage, as a replica has.
	sessionKey, err := os.ReadFile(filepath.Join(dataDir, "session.key"))
	if err != nil {
		t.Fatal(err)
	}
	replica, err := consentui.New(consentui.Options{
		Service:       consentPages{Service: m.Consent, feeds: func() *feeds.Service { return m.Feeds }},
		DevSignIn:     true,
		SessionKey:    sessionKey,
		EndedSessions: consentui.NewStoreEndedSessions(m.Engine),
		Logger:        quietLogger(),
	})
	if err != nil {
		t.Fatalf("second consent pages: %v", err)
	}
	replicaServer := httptest.NewServer(replica)
	defer replicaServer.Close()

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.PostForm(base+"/consent/signin", url.Values{"customer": {"alice"}, "next": {"/consent/"}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	var copied *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "consent_session" {
			copied = c
		}
	}
	if copied == nil {
		t.Fatal("sign-in set no consent_session cookie")
	}

	// status requests /consent/ on baseURL with only the copied cookie.
	status := func(baseURL string) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, baseURL+"/consent/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.AddCookie(&http.Cookie{Name: copied.Name, Value: copied.Value})
		resp, err := (&http.Client{CheckRedirect: browser.CheckRedirect}).Do(req)
		if err != nil {
			t.Fatalf("GET %s/consent/: %v", baseURL, err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Location")
	}
	servers := map[string]string{"service": base, "replica": replicaServer.URL}
	for name, u := range servers {
		if code, _ := status(u); code != http.StatusOK {
			t.Fatalf("%s before sign-out: status %d, want 200", name, code)
		}
	}

	resp, err = browser.Get(base + "/consent/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	match := csrfPattern.FindSubmatch(page)
	if match == nil {
		t.Fatalf("no CSRF token on /consent/:\n%s", page)
	}
	resp, err = browser.PostForm(base+"/consent/signout", url.Values{"csrf_token": {string(match[1])}})
	if err != nil {
		t.Fatalf("sign out: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("sign-out status %d, want 200", resp.StatusCode)
	}

	for name, u := range servers {
		code, location := status(u)
		if code != http.StatusSeeOther || !strings.HasPrefix(location, "/consent/signin?") {
			t.Errorf("%s after sign-out: status %d, Location %q; want 303 to the sign-in page", name, code, location)
		}
	}
}
