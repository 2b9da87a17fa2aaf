package consentui

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// testNow is the clock of every test: 10:00 UTC on 4 December 2026, which
// is 10:00 GMT in London.
var testNow = time.Date(2026, time.December, 4, 10, 0, 0, 0, time.UTC)

type decision struct {
	CustomerID string
	RequestID  string
	Approve    bool
	// DiscloseAddress is the customer's choice to share their whole address.
	DiscloseAddress bool
}

// fakeService keeps requests in memory and records every decision.
type fakeService struct {
	mu        sync.Mutex
	customers []string
	requests  map[string]insights.AttestationRequest
	results   map[string][]insights.ClaimResult // by request ID
	decisions []decision
	// revocations lists each Revoke call as "customer/request".
	revocations []string
	bankLinks   map[string][]BankLink     // by customer ID
	unlinks     []string                  // each Unlink call as "customer/link"
	renewals    []string                  // each RenewBank call as "customer/link"
	history     map[string][]HistoryEvent // by customer ID
	failWith    error                     // returned by every method when set
}

func newFakeService() *fakeService {
	shop := insights.AttestationRequest{
		ID:         "req-shop",
		ClientID:   "client-shop",
		ClientName: "Demo Shop",
		Purpose:    "To check your age and funds before checkout",
		Claims: []insights.ClaimRequest{
			{Kind: insights.ClaimAgeOver, MinimumAge: 18},
			{Kind: insights.ClaimFundsAtLeast, Amount: 500 * 100000, Currency: "GBP"},
			{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"},
			{Kind: insights.ClaimNextSalaryDate},
		},
		Status:        insights.RequestPending,
		CustomerID:    "alice",
		CreatedAt:     testNow.Add(-time.Minute),
		ExpiresAt:     testNow.Add(15 * time.Minute),
		TokenLifetime: 10 * time.Minute,
	}
	lender := insights.AttestationRequest{
		ID:            "req-lender",
		ClientID:      "client-lender",
		ClientName:    "Demo Lender",
		Purpose:       "To plan your repayment dates",
		Claims:        []insights.ClaimRequest{{Kind: insights.ClaimNextSalaryDate}, {Kind: insights.ClaimAgeOver, MinimumAge: 21}},
		Status:        insights.RequestPending,
		CreatedAt:     testNow.Add(-time.Hour),
		ExpiresAt:     testNow.Add(26 * time.Hour),
		TokenLifetime: 30 * 24 * time.Hour,
	}
	bobs := shop
	bobs.ID, bobs.CustomerID = "req-bob", "bob"
	decided := shop
	decided.ID, decided.Status = "req-decided", insights.RequestIssued
	lapsed := shop
	lapsed.ID, lapsed.ExpiresAt = "req-lapsed", testNow.Add(-time.Second)

	shopResults := []insights.ClaimResult{
		{Request: shop.Claims[0], Available: true, Holds: true},
		{Request: shop.Claims[1], Available: true, Holds: true, AsOf: time.Date(2026, time.December, 4, 9, 30, 0, 0, time.UTC)},
		{Request: shop.Claims[2], Available: true, Holds: true},
		{Request: shop.Claims[3], Available: true, NextDate: insights.Date{Year: 2026, Month: time.December, Day: 24}, Cadence: insights.CadenceMonthly},
	}
	return &fakeService{
		bankLinks: fakeBankLinks(),
		history:   fakeHistory(),
		customers: []string{"alice", "bob"},
		requests: map[string]insights.AttestationRequest{
			shop.ID: shop, lender.ID: lender, bobs.ID: bobs, decided.ID: decided, lapsed.ID: lapsed,
		},
		results: map[string][]insights.ClaimResult{
			shop.ID: shopResults,
			bobs.ID: shopResults,
			lender.ID: {
				{Request: lender.Claims[0], Available: false},
				{Request: lender.Claims[1], Available: false},
			},
		},
	}
}

func (f *fakeService) Customers(context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.customers), f.failWith
}

func (f *fakeService) Request(_ context.Context, id string) (insights.AttestationRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return insights.AttestationRequest{}, f.failWith
	}
	req, ok := f.requests[id]
	if !ok {
		return req, insights.Errorf(insights.ErrNotFound, "attestation request not found")
	}
	return req, nil
}

func (f *fakeService) Pending(_ context.Context, customerID string) ([]insights.AttestationRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	var out []insights.AttestationRequest
	for _, id := range slices.Sorted(maps.Keys(f.requests)) {
		req := f.requests[id]
		if req.Status == insights.RequestPending && (req.CustomerID == customerID || req.CustomerID == "") {
			out = append(out, req)
		}
	}
	return out, nil
}

func (f *fakeService) Preview(_ context.Context, _ string, req insights.AttestationRequest) ([]insights.ClaimResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	return f.results[req.ID], nil
}

func (f *fakeService) DecideWith(_ context.Context, customerID, requestID string, d consent.Decision) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	approve := d.Approve
	f.decisions = append(f.decisions, decision{customerID, requestID, approve, d.DiscloseAddress})
	req, ok := f.requests[requestID]
	if !ok || (req.CustomerID != "" && req.CustomerID != customerID) {
		return insights.Errorf(insights.ErrNotFound, "attestation request not found")
	}
	if req.Status != insights.RequestPending {
		return insights.Errorf(insights.ErrConflict, "attestation request is %s", req.Status)
	}
	req.CustomerID = customerID
	req.Status = insights.RequestDenied
	if approve {
		req.Status = insights.RequestIssued
	}
	if approve && req.ConsentDuration > 0 {
		req.ConsentUntil = testNow.Add(req.ConsentDuration)
	}
	f.requests[requestID] = req
	return nil
}

// addRequest adds a request and the claim results its preview shows.
func (f *fakeService) addRequest(req insights.AttestationRequest, results []insights.ClaimResult) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests[req.ID] = req
	f.results[req.ID] = results
}

func (f *fakeService) Decisions() []decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.decisions)
}

// testEnv is one consent UI on loopback with its fake service and a log
// buffer.
type testEnv struct {
	server  *httptest.Server
	service *fakeService
	logs    *bytes.Buffer
}

func newTestEnv(t *testing.T, configure ...func(*Options)) *testEnv {
	t.Helper()
	return newTestEnvAt(t, func(_ string, opts *Options) {
		for _, c := range configure {
			c(opts)
		}
	})
}

// newTestEnvAt is newTestEnv for options that depend on the server's URL,
// such as the OpenID Connect redirect URL.
func newTestEnvAt(t *testing.T, configure func(baseURL string, opts *Options)) *testEnv {
	t.Helper()
	env := &testEnv{service: newFakeService(), logs: &bytes.Buffer{}}
	env.server = httptest.NewUnstartedServer(nil)
	opts := Options{
		Service:    env.service,
		DevSignIn:  true,
		SessionKey: bytes.Repeat([]byte("k"), 32),
		SessionTTL: 30 * time.Minute,
		Logger:     slog.New(slog.NewJSONHandler(&lockedWriter{w: env.logs}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        func() time.Time { return testNow },
	}
	configure("http://"+env.server.Listener.Addr().String(), &opts)
	h, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	// Mounted as the service mounts it.
	mux := http.NewServeMux()
	mux.Handle("/consent/", h)
	mux.Handle("/consent", h)
	env.server.Config.Handler = mux
	env.server.Start()
	t.Cleanup(env.server.Close)
	t.Cleanup(func() {
		if strings.Contains(env.logs.String(), "message key missing") {
			t.Errorf("a page used a message key missing from a catalog:\n%s", env.logs)
		}
	})
	return env
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newClient returns a browser-like client with its own cookie jar that does
// not follow redirects, so tests see each response.
func (e *testEnv) newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{
		Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

type response struct {
	Status int
	Header http.Header
	Body   string
}

func (e *testEnv) do(t *testing.T, c *http.Client, method, path string, form url.Values, header ...string) response {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, e.server.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

// signIn signs c in as customerID through the development sign-in.
func (e *testEnv) signIn(t *testing.T, c *http.Client, customerID string) {
	t.Helper()
	resp := e.do(t, c, http.MethodPost, "/consent/signin", url.Values{"customer": {customerID}, "next": {"/consent/"}})
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("sign-in status = %d, want 303; body:\n%s", resp.Status, resp.Body)
	}
}

var csrfPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfTokenOf(t *testing.T, body string) string {
	t.Helper()
	m := csrfPattern.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token in page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// textsOf returns the unescaped text of every element with the class.
func textsOf(body, class string) []string {
	re := regexp.MustCompile(`class="` + regexp.QuoteMeta(class) + `">([^<]*)<`)
	var out []string
	for _, m := range re.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

func h1Of(body string) string {
	m := regexp.MustCompile(`<h1[^>]*>([^<]*)</h1>`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

func TestSignIn_redirectsToNext(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)

	resp := env.do(t, c, http.MethodGet, "/consent/", nil)
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("GET /consent/ signed out: status = %d, want 303", resp.Status)
	}
	if got, want := resp.Header.Get("Location"), "/consent/signin?next=%2Fconsent%2F"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}

	form := env.do(t, c, http.MethodGet, "/consent/signin?next=%2Fconsent%2Frequests%2Freq-shop", nil)
	if form.Status != http.StatusOK {
		t.Fatalf("sign-in form status = %d, want 200", form.Status)
	}
	for _, want := range []string{"Development sign-in — not for production", `value="alice"`, `value="bob"`, `<label class="radio-label" for="customer-0">alice</label>`, `name="next" value="/consent/requests/req-shop"`} {
		if !strings.Contains(form.Body, want) {
			t.Errorf("sign-in form lacks %q", want)
		}
	}

	resp = env.do(t, c, http.MethodPost, "/consent/signin", url.Values{"customer": {"alice"}, "next": {"/consent/requests/req-shop"}})
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("POST sign-in status = %d, want 303", resp.Status)
	}
	if got := resp.Header.Get("Location"); got != "/consent/requests/req-shop" {
		t.Errorf("Location = %q, want /consent/requests/req-shop", got)
	}
	setCookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"consent_session=", "Path=/consent", "HttpOnly", "SameSite=Lax", "Max-Age=1800"} {
		if !strings.Contains(setCookie, want) {
			t.Errorf("Set-Cookie %q lacks %q", setCookie, want)
		}
	}
	if strings.Contains(setCookie, "Secure") {
		t.Errorf("Set-Cookie %q is Secure on a plain HTTP request", setCookie)
	}
}

func TestSignIn_rejectsUnknownCustomer(t *testing.T) {
	for _, customer := range []string{"", "mallory"} {
		t.Run("customer="+customer, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			resp := env.do(t, c, http.MethodPost, "/consent/signin", url.Values{"customer": {customer}})
			if resp.Status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400", resp.Status)
			}
			if !strings.Contains(resp.Body, `<a href="#customer-0">Select a demo customer</a>`) {
				t.Errorf("page lacks an error summary linking to the first choice:\n%s", resp.Body)
			}
			if !strings.Contains(resp.Body, "<title>Error: Sign in – Share proof from your bank</title>") {
				t.Errorf("page title does not start with Error:")
			}
			if resp.Header.Get("Set-Cookie") != "" {
				t.Errorf("a session cookie was set: %q", resp.Header.Get("Set-Cookie"))
			}
		})
	}
}

func TestSignIn_secureCookieOverTLS(t *testing.T) {
	h, err := New(Options{Service: newFakeService(), DevSignIn: true, SessionKey: bytes.Repeat([]byte("k"), 32), Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(h)
	defer srv.Close()
	c := srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	resp, err := c.PostForm(srv.URL+"/consent/signin", url.Values{"customer": {"alice"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Set-Cookie"); !strings.Contains(got, "; Secure") {
		t.Errorf("Set-Cookie over TLS = %q, want Secure", got)
	}
}

// Behind a proxy that terminates TLS the request arrives over plain HTTP,
// so only SecureCookies makes the cookies Secure; without it they are not.
func TestSignIn_secureCookiesOption(t *testing.T) {
	for _, secure := range []bool{false, true} {
		env := newTestEnv(t, func(o *Options) { o.SecureCookies = secure })
		c := env.newClient(t)
		resp := env.do(t, c, http.MethodPost, "/consent/signin", url.Values{"customer": {"alice"}})
		got := resp.Header.Get("Set-Cookie")
		if strings.Contains(got, "; Secure") != secure {
			t.Errorf("SecureCookies %v: Set-Cookie = %q", secure, got)
		}
		lang := env.do(t, c, http.MethodGet, "/consent/?lang=zh-CN", nil).Header.Get("Set-Cookie")
		if strings.Contains(lang, "; Secure") != secure {
			t.Errorf("SecureCookies %v: language Set-Cookie = %q", secure, lang)
		}
	}
}

func TestSignIn_disabled(t *testing.T) {
	env := newTestEnv(t, func(o *Options) { o.DevSignIn = false })
	c := env.newClient(t)

	for _, tc := range []struct {
		method, path string
		form         url.Values
		want         int
	}{
		{http.MethodGet, "/consent/signin", nil, http.StatusNotFound},
		{http.MethodPost, "/consent/signin", url.Values{"customer": {"alice"}}, http.StatusNotFound},
		{http.MethodGet, "/consent/", nil, http.StatusUnauthorized},
	} {
		resp := env.do(t, c, tc.method, tc.path, tc.form)
		if resp.Status != tc.want {
			t.Errorf("%s %s: status = %d, want %d", tc.method, tc.path, resp.Status, tc.want)
		}
		if resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("%s %s: set a cookie %q", tc.method, tc.path, resp.Header.Get("Set-Cookie"))
		}
		if strings.Contains(resp.Body, "alice") || strings.Contains(resp.Body, "Development sign-in") {
			t.Errorf("%s %s: page offers the development sign-in", tc.method, tc.path)
		}
		if !strings.Contains(resp.Body, "Sign-in is not available") {
			t.Errorf("%s %s: page does not say sign-in is not available", tc.method, tc.path)
		}
	}
}

func TestList_showsPendingRequests(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	resp := env.do(t, c, http.MethodGet, "/consent/", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d, want 200", resp.Status)
	}
	if got, want := textsOf(resp.Body, "request-client"), []string{"Demo Lender", "Demo Shop"}; !slices.Equal(got, want) {
		t.Errorf("clients listed = %q, want %q (lapsed, decided and other customers' requests left out)", got, want)
	}
	for _, want := range []string{
		"To check your age and funds before checkout",
		"4 December 2026 at 10:15 GMT",
		`href="/consent/requests/req-shop"`,
		"Review the request from Demo Shop",
		"Signed in as alice",
	} {
		if !strings.Contains(resp.Body, want) {
			t.Errorf("list lacks %q", want)
		}
	}
}

func TestRequestPage_exactSentences(t *testing.T) {
	tests := []struct {
		name      string
		lang      string
		requestID string
		sentences []string
		texts     []string
	}{
		{
			name:      "en",
			lang:      "en",
			requestID: "req-shop",
			sentences: []string{
				"Over 18: yes",
				"Funds of at least 500.00 GBP across your GBP accounts: yes",
				"Your address matches postcode SW1A 1AA: yes",
				"Next salary expected: 24 December 2026 (monthly)",
			},
			texts: []string{
				"Demo Shop is asking for proof about you",
				"To check your age and funds before checkout",
				"Based on your balances at 4 December 2026 at 09:30 GMT.",
				"The proof is valid for 10 minutes after you approve.",
				"You can decide until 4 December 2026 at 10:15 GMT.",
				`action="/consent/requests/req-shop/approve"`,
				`action="/consent/requests/req-shop/deny"`,
				">Approve</button>",
				">Deny</button>",
			},
		},
		{
			name:      "zh-CN",
			lang:      "zh-CN",
			requestID: "req-shop",
			sentences: []string{
				"年满18岁：是",
				"您的英镑账户合计资金不少于 500.00 英镑：是",
				"您的地址与邮编 SW1A 1AA 相符：是",
				"预计下次发薪日：2026年12月24日（每月）",
			},
			texts: []string{
				"Demo Shop请求您提供证明",
				"证明自您同意起10分钟内有效。",
				"请在2026年12月4日 10:15（GMT）之前作出决定。",
				">同意</button>",
				">拒绝</button>",
			},
		},
		{
			name:      "unavailable",
			lang:      "en",
			requestID: "req-lender",
			sentences: []string{
				"Next salary expected: unavailable",
				"Over 21: unavailable",
			},
			texts: []string{
				"We have not found a regular salary paid into your accounts, so Demo Lender will be told this is unavailable.",
				"Your bank has not given us your date of birth, so Demo Lender will be told this is unavailable.",
				"The proof is valid for 30 days after you approve.",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, "/consent/requests/"+tc.requestID+"?lang="+tc.lang, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body:\n%s", resp.Status, resp.Body)
			}
			if got := textsOf(resp.Body, "claim-sentence"); !slices.Equal(got, tc.sentences) {
				t.Errorf("claim sentences = %q, want %q", got, tc.sentences)
			}
			body := html.UnescapeString(resp.Body)
			for _, want := range tc.texts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			if n := strings.Count(resp.Body, `name="csrf_token"`); n != 3 {
				t.Errorf("page has %d forms with a CSRF token, want 3 (approve, deny, sign out)", n)
			}
			if got := len(env.service.Decisions()); got != 0 {
				t.Errorf("viewing the request made %d decisions, want 0", got)
			}
		})
	}
}

func TestDecide_callsService(t *testing.T) {
	tests := []struct {
		action    string
		approve   bool
		wantTitle string
		wantText  string
	}{
		{"approve", true, "Shared with Demo Shop", "Demo Shop has received the proof. It is valid for 10 minutes."},
		{"deny", false, "Declined", "Nothing was shared with Demo Shop. They will see that you declined."},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")
			page := env.do(t, c, http.MethodGet, "/consent/requests/req-shop", nil)
			token := csrfTokenOf(t, page.Body)

			resp := env.do(t, c, http.MethodPost, "/consent/requests/req-shop/"+tc.action, url.Values{"csrf_token": {token}})
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body:\n%s", resp.Status, resp.Body)
			}
			if got := h1Of(resp.Body); got != tc.wantTitle {
				t.Errorf("h1 = %q, want %q", got, tc.wantTitle)
			}
			if !strings.Contains(resp.Body, tc.wantText) {
				t.Errorf("result page lacks %q", tc.wantText)
			}
			want := []decision{{CustomerID: "alice", RequestID: "req-shop", Approve: tc.approve}}
			if got := env.service.Decisions(); !slices.Equal(got, want) {
				t.Errorf("decisions = %+v, want %+v", got, want)
			}

			// The request is decided now: a second submission is refused
			// before it reaches Decide.
			again := env.do(t, c, http.MethodPost, "/consent/requests/req-shop/"+tc.action, url.Values{"csrf_token": {token}})
			if again.Status != http.StatusConflict {
				t.Errorf("second submission status = %d, want 409", again.Status)
			}
			if !strings.Contains(again.Body, "This request is no longer pending") {
				t.Errorf("second submission page lacks the no-longer-pending message")
			}
			if got := len(env.service.Decisions()); got != 1 {
				t.Errorf("decisions after resubmission = %d, want 1", got)
			}
		})
	}
}

func TestDecide_rejectsBadCSRF(t *testing.T) {
	env := newTestEnv(t)

	// A token from an earlier sign-in of the same customer.
	earlier := env.newClient(t)
	env.signIn(t, earlier, "alice")
	staleToken := csrfTokenOf(t, env.do(t, earlier, http.MethodGet, "/consent/", nil).Body)

	c := env.newClient(t)
	env.signIn(t, c, "alice")
	validToken := csrfTokenOf(t, env.do(t, c, http.MethodGet, "/consent/", nil).Body)

	tests := []struct {
		name string
		form url.Values
	}{
		{"missing", url.Values{}},
		{"empty", url.Values{"csrf_token": {""}}},
		{"wrong", url.Values{"csrf_token": {strings.Repeat("A", len(validToken))}}},
		{"truncated", url.Values{"csrf_token": {validToken[:len(validToken)-1]}}},
		{"other session", url.Values{"csrf_token": {staleToken}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, action := range []string{"approve", "deny"} {
				resp := env.do(t, c, http.MethodPost, "/consent/requests/req-shop/"+action, tc.form)
				if resp.Status != http.StatusForbidden {
					t.Errorf("%s: status = %d, want 403", action, resp.Status)
				}
				if !strings.Contains(resp.Body, "Your form was not accepted") {
					t.Errorf("%s: page lacks the 403 message", action)
				}
			}
			if got := env.service.Decisions(); len(got) != 0 {
				t.Errorf("Decide called %d times, want 0", len(got))
			}
		})
	}
	if staleToken == validToken {
		t.Errorf("two sign-ins of one customer share a CSRF token")
	}
}

func TestDecide_signedOutRedirects(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	resp := env.do(t, c, http.MethodPost, "/consent/requests/req-shop/approve", url.Values{"csrf_token": {"x"}})
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("status = %d, want 303", resp.Status)
	}
	if got, want := resp.Header.Get("Location"), "/consent/signin?next=%2Fconsent%2Frequests%2Freq-shop"; got != want {
		t.Errorf("Location = %q, want %q", got, want)
	}
	if got := len(env.service.Decisions()); got != 0 {
		t.Errorf("Decide called %d times, want 0", got)
	}
}

func TestRequestPage_otherCustomerNotFound(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	token := csrfTokenOf(t, env.do(t, c, http.MethodGet, "/consent/", nil).Body)

	tests := []struct {
		method, path string
		form         url.Values
	}{
		{http.MethodGet, "/consent/requests/req-bob", nil},
		{http.MethodPost, "/consent/requests/req-bob/approve", url.Values{"csrf_token": {token}}},
		{http.MethodPost, "/consent/requests/req-bob/deny", url.Values{"csrf_token": {token}}},
		{http.MethodGet, "/consent/requests/no-such-request", nil},
	}
	for _, tc := range tests {
		resp := env.do(t, c, tc.method, tc.path, tc.form)
		if resp.Status != http.StatusNotFound {
			t.Errorf("%s %s: status = %d, want 404", tc.method, tc.path, resp.Status)
		}
		if strings.Contains(resp.Body, "Demo Shop") {
			t.Errorf("%s %s: 404 page shows the other customer's request", tc.method, tc.path)
		}
	}
	if got := env.service.Decisions(); len(got) != 0 {
		t.Errorf("Decide called for another customer's request: %+v", got)
	}
}

func TestRequestPage_notPending(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	for _, id := range []string{"req-decided", "req-lapsed"} {
		resp := env.do(t, c, http.MethodGet, "/consent/requests/"+id, nil)
		if resp.Status != http.StatusConflict {
			t.Errorf("%s: status = %d, want 409", id, resp.Status)
		}
		if got := h1Of(resp.Body); got != "This request is no longer pending" {
			t.Errorf("%s: h1 = %q", id, got)
		}
	}
}

func TestServiceErrors_mapToPages(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantStatus int
		wantH1     string
	}{
		{"not found", insights.Errorf(insights.ErrNotFound, "attestation request not found"), http.StatusNotFound, "Page not found"},
		{"conflict", insights.Errorf(insights.ErrConflict, "attestation request is expired"), http.StatusConflict, "This request is no longer pending"},
		{"unavailable", insights.Errorf(insights.ErrUnavailable, "storage down at 10.1.2.3"), http.StatusInternalServerError, "Sorry, there is a problem with the service"},
		{"foreign", io.ErrUnexpectedEOF, http.StatusInternalServerError, "Sorry, there is a problem with the service"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")
			token := csrfTokenOf(t, env.do(t, c, http.MethodGet, "/consent/", nil).Body)

			env.service.mu.Lock()
			env.service.failWith = tc.err
			env.service.mu.Unlock()

			for _, call := range []struct {
				method, path string
				form         url.Values
			}{
				{http.MethodGet, "/consent/", nil},
				{http.MethodGet, "/consent/requests/req-shop", nil},
				{http.MethodPost, "/consent/requests/req-shop/approve", url.Values{"csrf_token": {token}}},
			} {
				resp := env.do(t, c, call.method, call.path, call.form)
				if resp.Status != tc.wantStatus {
					t.Errorf("%s %s: status = %d, want %d", call.method, call.path, resp.Status, tc.wantStatus)
				}
				if got := h1Of(resp.Body); got != tc.wantH1 {
					t.Errorf("%s %s: h1 = %q, want %q", call.method, call.path, got, tc.wantH1)
				}
				if strings.Contains(resp.Body, tc.err.Error()) || strings.Contains(resp.Body, "10.1.2.3") {
					t.Errorf("%s %s: page shows the error text", call.method, call.path)
				}
			}
		})
	}
}

func TestLocale_chinese(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		header     []string
		wantLang   string
		wantCookie bool
	}{
		{"accept-language zh-CN", "/consent/", []string{"Accept-Language", "zh-CN,zh;q=0.9,en;q=0.5"}, "zh-CN", false},
		{"accept-language zh", "/consent/", []string{"Accept-Language", "zh"}, "zh-CN", false},
		{"accept-language en first", "/consent/", []string{"Accept-Language", "en-GB,zh-CN;q=0.8"}, "en", false},
		{"accept-language fr", "/consent/", []string{"Accept-Language", "fr-FR"}, "en", false},
		{"query", "/consent/?lang=zh-CN", nil, "zh-CN", true},
		{"query beats header", "/consent/?lang=en", []string{"Accept-Language", "zh-CN"}, "en", true},
		{"unknown query ignored", "/consent/?lang=de", []string{"Accept-Language", "zh-CN"}, "zh-CN", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, tc.path, nil, tc.header...)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.Status)
			}
			if want := `<html lang="` + tc.wantLang + `">`; !strings.Contains(resp.Body, want) {
				t.Errorf("page lacks %s", want)
			}
			wantH1 := map[string]string{"en": "Requests waiting for your decision", "zh-CN": "待您决定的请求"}[tc.wantLang]
			if got := h1Of(resp.Body); got != wantH1 {
				t.Errorf("h1 = %q, want %q", got, wantH1)
			}
			if got := strings.Contains(resp.Header.Get("Set-Cookie"), "consent_lang="+tc.wantLang); got != tc.wantCookie {
				t.Errorf("language cookie set = %v, want %v (Set-Cookie %q)", got, tc.wantCookie, resp.Header.Get("Set-Cookie"))
			}
		})
	}
}

func TestLocale_cookieKeepsChoice(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	first := env.do(t, c, http.MethodGet, "/consent/?lang=zh-CN", nil)
	if !strings.Contains(first.Body, `href="/consent/?lang=en" lang="en" hreflang="en">English</a>`) {
		t.Errorf("Chinese page lacks the switch link to English")
	}

	// No query and an English browser: the cookie from ?lang decides.
	next := env.do(t, c, http.MethodGet, "/consent/requests/req-shop", nil, "Accept-Language", "en")
	if got := h1Of(next.Body); got != "Demo Shop请求您提供证明" {
		t.Errorf("h1 after choosing zh-CN = %q", got)
	}
	if !strings.Contains(next.Body, `href="/consent/requests/req-shop?lang=en"`) {
		t.Errorf("switch link does not lead to the same page in English")
	}
}

func TestCatalogs_sameKeys(t *testing.T) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	english := catalogs[localeEnglish]
	if len(english) == 0 {
		t.Fatal("English catalog is empty")
	}
	placeholder := regexp.MustCompile(`\{[a-z]+\}`)
	for _, locale := range supportedLocales[1:] {
		other := catalogs[locale]
		for key := range english {
			if _, ok := other[key]; !ok {
				t.Errorf("%s lacks key %q", locale, key)
			}
		}
		for key := range other {
			if _, ok := english[key]; !ok {
				t.Errorf("%s has key %q that en lacks", locale, key)
			}
		}

		// A translation must fill the same placeholders as the English text.
		for key, text := range english {
			want := slices.Sorted(slices.Values(placeholder.FindAllString(text, -1)))
			got := slices.Sorted(slices.Values(placeholder.FindAllString(other[key], -1)))
			if !slices.Equal(got, want) {
				t.Errorf("%s %q has placeholders %q, en has %q", locale, key, got, want)
			}
		}
	}

	// Catalog files must be plain JSON objects of strings, with no duplicate
	// keys that json.Unmarshal would silently merge.
	for _, locale := range supportedLocales {
		data, err := localeFS.ReadFile("locales/" + locale + ".json")
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		seen := map[string]bool{}
		if _, err := dec.Token(); err != nil {
			t.Fatal(err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				t.Fatal(err)
			}
			key := tok.(string)
			if seen[key] {
				t.Errorf("%s: duplicate key %q", locale, key)
			}
			seen[key] = true
			var value string
			if err := dec.Decode(&value); err != nil {
				t.Errorf("%s %q: %v", locale, key, err)
			}
		}
	}
}

func TestSecurityHeaders_everyResponse(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	const csp = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	tests := []struct {
		method, path string
		wantStatus   int
		wantCache    string
	}{
		{http.MethodGet, "/consent/", http.StatusOK, "no-store"},
		{http.MethodGet, "/consent", http.StatusMovedPermanently, "no-store"},
		{http.MethodGet, "/consent/signin", http.StatusOK, "no-store"},
		{http.MethodGet, "/consent/requests/req-shop", http.StatusOK, "no-store"},
		{http.MethodGet, "/consent/requests/req-bob", http.StatusNotFound, "no-store"},
		{http.MethodGet, "/consent/nowhere", http.StatusNotFound, "no-store"},
		{http.MethodPost, "/consent/requests/req-shop/approve", http.StatusForbidden, "no-store"},
		{http.MethodGet, "/consent/static/consent.css", http.StatusOK, "public, max-age=3600"},
		{http.MethodGet, "/consent/static/", http.StatusNotFound, "no-store"},
	}
	for _, tc := range tests {
		resp := env.do(t, c, tc.method, tc.path, nil)
		if resp.Status != tc.wantStatus {
			t.Errorf("%s %s: status = %d, want %d", tc.method, tc.path, resp.Status, tc.wantStatus)
		}
		for name, want := range map[string]string{
			"Content-Security-Policy": csp,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           tc.wantCache,
		} {
			if got := resp.Header.Get(name); got != want {
				t.Errorf("%s %s: %s = %q, want %q", tc.method, tc.path, name, got, want)
			}
		}
		if strings.Contains(resp.Body, "<script") || strings.Contains(resp.Body, "style=") || strings.Contains(resp.Body, "<style") {
			t.Errorf("%s %s: page has inline script or style", tc.method, tc.path)
		}
	}
}

func TestSignOut_endsSession(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	token := csrfTokenOf(t, env.do(t, c, http.MethodGet, "/consent/", nil).Body)

	if resp := env.do(t, c, http.MethodPost, "/consent/signout", url.Values{}); resp.Status != http.StatusForbidden {
		t.Errorf("sign-out without CSRF token: status = %d, want 403", resp.Status)
	}
	resp := env.do(t, c, http.MethodPost, "/consent/signout", url.Values{"csrf_token": {token}})
	if resp.Status != http.StatusOK {
		t.Fatalf("sign-out status = %d, want 200", resp.Status)
	}
	if got := h1Of(resp.Body); got != "You have signed out" {
		t.Errorf("h1 = %q", got)
	}
	if strings.Contains(resp.Body, "Signed in as") {
		t.Errorf("signed-out page still shows the customer")
	}
	if after := env.do(t, c, http.MethodGet, "/consent/", nil); after.Status != http.StatusSeeOther {
		t.Errorf("after sign-out GET /consent/ status = %d, want 303", after.Status)
	}
}

func TestSession_expiresAfterTTL(t *testing.T) {
	now := testNow
	var mu sync.Mutex
	env := newTestEnv(t, func(o *Options) {
		o.SessionTTL = time.Minute
		o.Now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	})
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	if resp := env.do(t, c, http.MethodGet, "/consent/", nil); resp.Status != http.StatusOK {
		t.Fatalf("status within TTL = %d, want 200", resp.Status)
	}

	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if resp := env.do(t, c, http.MethodGet, "/consent/", nil); resp.Status != http.StatusSeeOther {
		t.Errorf("status after TTL = %d, want 303 to sign-in", resp.Status)
	}
}

func TestSessionCodec_rejectsTampering(t *testing.T) {
	codec := newSessionCodec(bytes.Repeat([]byte("k"), 32), time.Hour)
	s, err := codec.newSession("alice", testNow)
	if err != nil {
		t.Fatal(err)
	}
	value := codec.encode(s)
	got, err := codec.decode(value, testNow)
	if err != nil || got.CustomerID != "alice" || got.ID != s.ID {
		t.Fatalf("decode(encode(s)) = %+v, %v", got, err)
	}

	parts := strings.Split(value, ".")
	asBob := strings.Join([]string{parts[0], parts[1], b64.EncodeToString([]byte("bob")), parts[3], parts[4]}, ".")
	otherKey := newSessionCodec(bytes.Repeat([]byte("x"), 32), time.Hour).encode(s)
	for name, v := range map[string]string{
		"other customer": asBob,
		"other key":      otherKey,
		"no mac":         strings.Join(parts[:4], "."),
		"empty":          "",
		"garbage":        "v1.a.b.c.d",
	} {
		if _, err := codec.decode(v, testNow); err == nil {
			t.Errorf("%s: decode accepted %q", name, v)
		}
	}
}

func TestSafeNext(t *testing.T) {
	tests := map[string]string{
		"/consent/requests/req-1":       "/consent/requests/req-1",
		"/consent/?lang=zh-CN":          "/consent/?lang=zh-CN",
		"":                              "/consent/",
		"/":                             "/consent/",
		"/admin":                        "/consent/",
		"https://evil.example/consent/": "/consent/",
		"//evil.example/consent/":       "/consent/",
		"/consent/../admin":             "/consent/",
		"/consent/%2e%2e/admin":         "/consent/",
		"/consent/\\evil.example":       "/consent/",
		"consent/":                      "/consent/",
	}
	for next, want := range tests {
		if got := safeNext(next); got != want {
			t.Errorf("safeNext(%q) = %q, want %q", next, got, want)
		}
	}
}

func TestNew_rejectsBadOptions(t *testing.T) {
	key := bytes.Repeat([]byte("k"), 32)
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"no service", Options{SessionKey: key}, "Options.Service is nil"},
		{"short key", Options{Service: newFakeService(), SessionKey: key[:31]}, "Options.SessionKey is 31 bytes, want at least 32"},
		{"negative ttl", Options{Service: newFakeService(), SessionKey: key, SessionTTL: -time.Second}, "Options.SessionTTL is -1s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("New error = %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestTranslator_formats(t *testing.T) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Skipf("no tz data for Europe/London: %v", err)
	}
	en := translator{locale: localeEnglish, catalog: catalogs[localeEnglish], zone: london}
	zh := translator{locale: localeChinese, catalog: catalogs[localeChinese], zone: london}
	summer := time.Date(2026, time.June, 30, 23, 5, 0, 0, time.UTC) // 00:05 BST on 1 July

	tests := []struct {
		name string
		got  string
		want string
	}{
		{"date en", en.Date(insights.Date{Year: 2026, Month: time.December, Day: 24}), "24 December 2026"},
		{"date zh", zh.Date(insights.Date{Year: 2026, Month: time.December, Day: 24}), "2026年12月24日"},
		{"datetime summer en", en.DateTime(summer), "1 July 2026 at 00:05 BST"},
		{"datetime summer zh", zh.DateTime(summer), "2026年7月1日 00:05（BST）"},
		{"money en", en.Money(150000000, "GBP"), "1,500.00 GBP"},
		{"money zh", zh.Money(150000000, "GBP"), "1,500.00 英镑"},
		{"money millions", en.Money(123456789012345, "EUR"), "1,234,567,890.12 EUR"},
		{"money no minor units", en.Money(50000*100000, "JPY"), "50,000 JPY"},
		{"money three minor units", zh.Money(1234500, "KWD"), "12.345 KWD"},
		{"money small", en.Money(5000, "GBP"), "0.05 GBP"},
		{"duration minutes", en.Duration(10 * time.Minute), "10 minutes"},
		{"duration one hour", en.Duration(time.Hour), "1 hour"},
		{"duration pair", en.Duration(26*time.Hour + 30*time.Minute), "1 day and 2 hours"},
		{"duration zh", zh.Duration(90 * time.Minute), "1小时30分钟"},
		{"duration seconds", en.Duration(30 * time.Second), "30 seconds"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s = %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestClaimSentence_unknownKind(t *testing.T) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	en := translator{locale: localeEnglish, catalog: catalogs[localeEnglish], zone: time.UTC}
	_, err = claimViews(en, "Demo Shop", []insights.ClaimResult{{Request: insights.ClaimRequest{Kind: "credit_score"}, Available: true}})
	if err == nil || !strings.Contains(err.Error(), `"credit_score"`) {
		t.Errorf("claimViews error = %v, want one naming the kind", err)
	}
}

func TestClaimSentence_affordability(t *testing.T) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	var missing []string
	report := func(locale, key string) { missing = append(missing, locale+":"+key) }
	en := translator{locale: localeEnglish, catalog: catalogs[localeEnglish], zone: time.UTC, missing: report}
	zh := translator{locale: localeChinese, catalog: catalogs[localeChinese], zone: time.UTC, missing: report}

	amount := func(s string) insights.Amount {
		a, err := insights.ParseSignedAmount(s)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	figures := insights.AffordabilityFigures{
		Months: 6, FirstMonth: insights.Date{Year: 2026, Month: time.June, Day: 1},
		LastMonth: insights.Date{Year: 2026, Month: time.November, Day: 1}, Currency: "GBP",
		NetIncome: amount("2137.91"), Committed: amount("1013.37"), Essential: amount("1471.13"),
		Discretionary: amount("318.59"), Disposable: amount("666.78"), GamblingShare: 0.0073,
		ReturnedPayments: 1, BalancesKnown: true, DaysInOverdraft: 0, Volatility: 0.7,
	}
	request := insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 6}
	available := insights.ClaimResult{Request: request, Available: true, Affordability: &figures}
	noBalances := figures
	noBalances.BalancesKnown = false
	unknown := insights.ClaimResult{Request: request, Available: true, Affordability: &noBalances}
	unavailable := insights.ClaimResult{Request: request}

	tests := []struct {
		name         string
		t            translator
		result       insights.ClaimResult
		sentence     string
		available    bool
		noteContains string
	}{
		{"en", en, available,
			"Your monthly income and spending over the last 6 complete months: June 2026 to November 2026: " +
				"net income 2000-2500 GBP a month, committed spending 1000-1500 GBP, essential spending 1000-1500 GBP, " +
				"discretionary spending 250-500 GBP, disposable income 500-750 GBP, gambling <1% of spending, " +
				"days overdrawn 0, returned payments 1, balance volatility medium",
			true, "never the amounts themselves"},
		{"en without balances", en, unknown,
			"Your monthly income and spending over the last 6 complete months: June 2026 to November 2026: " +
				"net income 2000-2500 GBP a month, committed spending 1000-1500 GBP, essential spending 1000-1500 GBP, " +
				"discretionary spending 250-500 GBP, disposable income 500-750 GBP, gambling <1% of spending, " +
				"days overdrawn unknown, returned payments 1, balance volatility unknown",
			true, "Demo Lender receives"},
		{"zh-CN", zh, available,
			"您最近6个完整月份的月均收入与支出：2026年6月至2026年11月：月净收入 2000-2500 GBP，固定支出 1000-1500 GBP，" +
				"必要支出 1000-1500 GBP，可选支出 250-500 GBP，可支配收入 500-750 GBP，博彩占支出 <1%，透支天数 0，退回付款 1 笔，余额波动中",
			true, "不会收到具体金额"},
		{"unavailable", en, unavailable,
			"Your monthly income and spending over the last 6 complete months: unavailable",
			false, "We do not have 6 complete months of your GBP transactions, so Demo Lender will be told this is unavailable."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			views, err := claimViews(tt.t, "Demo Lender", []insights.ClaimResult{tt.result})
			if err != nil {
				t.Fatalf("claimViews: %v", err)
			}
			if views[0].Sentence != tt.sentence {
				t.Errorf("sentence = %q\nwant %q", views[0].Sentence, tt.sentence)
			}
			if views[0].Available != tt.available {
				t.Errorf("Available = %v, want %v", views[0].Available, tt.available)
			}
			if !strings.Contains(views[0].Note, tt.noteContains) {
				t.Errorf("note = %q, want it to contain %q", views[0].Note, tt.noteContains)
			}
		})
	}
	if len(missing) > 0 {
		t.Errorf("message keys missing from a catalog: %v", missing)
	}
}
