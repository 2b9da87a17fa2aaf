package main

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/api"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// A consent page rejected at capacity gets the busy page in the
// customer's language from the running service.
func TestServe_busyPageInCustomerLanguage(t *testing.T) {
	dataDir := t.TempDir()
	// The development sign-in offers the customers whose data is stored.
	mustCLI(t, append([]string{"ingest", "-data", dataDir, "-customer", "alice"}, sampleFiles("alice")...)...)
	m := &Main{Logger: quietLogger(), Config: serveConfig{
		Storage:    storageConfig{DataDir: dataDir, Library: chdb.DefaultLibrary(), Database: "insights"},
		Addr:       "127.0.0.1:0",
		DevSignIn:  true,
		RequestTTL: 15 * time.Minute, TokenLifetime: 10 * time.Minute, SessionTTL: 15 * time.Minute,
		RefreshSchedule: "0 3 * * *",
		Admission:       api.AdmissionLimits{MaxInFlight: 1, Wait: 50 * time.Millisecond},
	}}
	if err := m.Open(context.Background()); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	base := m.BaseURL()
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	resp, err := noRedirect.PostForm(base+"/consent/signin", url.Values{"customer": {"alice"}, "next": {"/consent/"}})
	if err != nil {
		t.Fatalf("sign in: %v", err)
	}
	resp.Body.Close()
	var session *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "consent_session" {
			session = c
		}
	}
	if session == nil {
		t.Fatalf("sign-in set no consent_session cookie: status %d", resp.StatusCode)
	}

	// The approval holds the only slot while its handler waits for the
	// rest of the form, which the pipe sends only when closed.
	formReader, formWriter := io.Pipe()
	approval, err := http.NewRequest(http.MethodPost, base+"/consent/requests/req_held/approve", formReader)
	if err != nil {
		t.Fatal(err)
	}
	approval.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	approval.AddCookie(session)
	type outcome struct {
		status int
		err    error
	}
	approvalDone := make(chan outcome, 1)
	go func() {
		resp, err := noRedirect.Do(approval)
		if err != nil {
			approvalDone <- outcome{err: err}
			return
		}
		resp.Body.Close()
		approvalDone <- outcome{status: resp.StatusCode}
	}()
	t.Cleanup(func() { formWriter.Close() })

	// probe opens a request page with an Accept-Language header and
	// returns the response with its body.
	probe := func(acceptLanguage string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, base+"/consent/requests/req_held", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Accept-Language", acceptLanguage)
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(data)
	}

	// The probe may run before the approval takes the slot, and is then
	// served as usual. It is rejected once the approval holds the slot.
	deadline := time.Now().Add(10 * time.Second)
	for status := 0; status != http.StatusServiceUnavailable && time.Now().Before(deadline); {
		resp, _ := probe("zh-CN")
		status = resp.StatusCode
	}

	tests := []struct {
		acceptLanguage string
		lang, title    string
	}{
		{"zh-CN,zh;q=0.9", "zh-CN", "抱歉，服务繁忙"},
		{"en-GB", "en", "Sorry, the service is busy"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			resp, body := probe(tt.acceptLanguage)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("status = %d, want 503:\n%s", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Retry-After"); got != "1" {
				t.Errorf("Retry-After = %q, want 1", got)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if !strings.Contains(body, `<html lang="`+tt.lang+`">`) {
				t.Errorf("page lacks <html lang=%q>:\n%s", tt.lang, body)
			}
			if !strings.Contains(body, "<h1>"+tt.title+"</h1>") {
				t.Errorf("page lacks the heading %q:\n%s", tt.title, body)
			}
		})
	}

	// Closing the pipe ends the form. It carries no CSRF token, so the
	// approval is rejected once it has its slot.
	formWriter.Close()
	select {
	case got := <-approvalDone:
		if got.err != nil {
			t.Errorf("approval: %v", got.err)
		} else if got.status != http.StatusForbidden {
			t.Errorf("approval status = %d, want 403", got.status)
		}
	case <-time.After(10 * time.Second):
		t.Error("approval did not finish after its form was closed")
	}
}
