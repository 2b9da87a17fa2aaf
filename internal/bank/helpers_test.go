package bank

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	testClientID     = "insights-test"
	testClientSecret = "s3cret-for-tests"
	testFinancialID  = "0015800001041RHAAY"
	sampleDir        = "../../testdata/sample"
	edgeDir          = "testdata/edge"
	redirectURI      = "http://127.0.0.1:9999/callback"
)

// clock is a settable time source for Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// harness runs a Bank behind httptest on 127.0.0.1 and speaks its
// protocol as a TPP would.
type harness struct {
	t     *testing.T
	bank  *Bank
	srv   *httptest.Server
	clock *clock
	http  *http.Client
}

func newHarness(t *testing.T, dir string, tweak func(*Options)) *harness {
	t.Helper()
	clk := &clock{now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	opts := Options{
		DataDir:      dir,
		ClientID:     testClientID,
		ClientSecret: testClientSecret,
		FinancialID:  testFinancialID,
		Admin:        true,
		Now:          clk.Now,
	}
	if tweak != nil {
		tweak(&opts)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return &harness{
		t:     t,
		bank:  b,
		srv:   srv,
		clock: clk,
		http: &http.Client{
			Timeout:       10 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// do sends a request and returns the response with its body read.
func (h *harness) do(method, target string, body io.Reader, header http.Header) (*http.Response, []byte) {
	h.t.Helper()
	if strings.HasPrefix(target, "/") {
		target = h.srv.URL + target
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		h.t.Fatalf("new request: %v", err)
	}
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, target, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("read body: %v", err)
	}
	return resp, data
}

// tokenRequest posts form to /token with the test client's credentials.
func (h *harness) tokenRequest(form url.Values) (*http.Response, map[string]any) {
	h.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testClientID, testClientSecret)
	resp, err := h.http.Do(req)
	if err != nil {
		h.t.Fatalf("POST /token: %v", err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		h.t.Fatalf("decode token response: %v", err)
	}
	return resp, body
}

func (h *harness) clientToken() string {
	h.t.Helper()
	resp, body := h.tokenRequest(url.Values{"grant_type": {"client_credentials"}})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("client_credentials: status %d, body %v", resp.StatusCode, body)
	}
	return body["access_token"].(string)
}

func fapiHeader(token string) http.Header {
	h := http.Header{}
	h.Set(headerFinancialID, testFinancialID)
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	return h
}

// createConsent posts a consent request body and returns the response.
func (h *harness) createConsent(body string) (*http.Response, []byte) {
	h.t.Helper()
	header := fapiHeader(h.clientToken())
	header.Set("Content-Type", "application/json")
	return h.do(http.MethodPost, aispPrefix+"/account-access-consents", strings.NewReader(body), header)
}

// consentBody returns a consent request for perms with extra Data members.
func consentBody(perms []string, extra string) string {
	p, _ := json.Marshal(perms)
	return `{"Data":{"Permissions":` + string(p) + extra + `},"Risk":{}}`
}

func (h *harness) mustConsent(perms []string, extra string) string {
	h.t.Helper()
	resp, body := h.createConsent(consentBody(perms, extra))
	if resp.StatusCode != http.StatusCreated {
		h.t.Fatalf("create consent: status %d, body %s", resp.StatusCode, body)
	}
	var out struct{ Data consentData }
	if err := json.Unmarshal(body, &out); err != nil {
		h.t.Fatalf("decode consent: %v", err)
	}
	return out.Data.ConsentID
}

// authorizeURL returns the /authorize URL for consentID.
func (h *harness) authorizeURL(consentID string, extra url.Values) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {testClientID},
		"redirect_uri":  {redirectURI},
		"state":         {"state-42"},
		"consent_id":    {consentID},
	}
	for k, v := range extra {
		q[k] = v
	}
	return "/authorize?" + q.Encode()
}

// authorizeNow approves consentID for customer with prompt=none and returns
// the redirect's query.
func (h *harness) authorizeNow(consentID, customer string) url.Values {
	h.t.Helper()
	resp, _ := h.do(http.MethodGet, h.authorizeURL(consentID, url.Values{"login_hint": {customer}, "prompt": {"none"}}), nil, nil)
	if resp.StatusCode != http.StatusFound {
		h.t.Fatalf("authorize: status %d", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		h.t.Fatalf("parse Location: %v", err)
	}
	return loc.Query()
}

// link runs the whole consent flow and returns the tokens for customer.
func (h *harness) link(customer string, perms []string, extra string) (access, refresh, consentID string) {
	h.t.Helper()
	consentID = h.mustConsent(perms, extra)
	code := h.authorizeNow(consentID, customer).Get("code")
	resp, body := h.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("authorization_code: status %d, body %v", resp.StatusCode, body)
	}
	return body["access_token"].(string), body["refresh_token"].(string), consentID
}

// get reads an AISP path with token and returns status and body.
func (h *harness) get(token, path string) (*http.Response, []byte) {
	h.t.Helper()
	if strings.HasPrefix(path, "/") {
		path = aispPrefix + path
	}
	return h.do(http.MethodGet, path, nil, fapiHeader(token))
}

// admin posts a JSON body to an admin endpoint.
func (h *harness) admin(path, body string) (*http.Response, []byte) {
	h.t.Helper()
	return h.do(http.MethodPost, path, strings.NewReader(body), http.Header{"Content-Type": {"application/json"}})
}

// page is the envelope of a multi-record read, decoded loosely.
type page struct {
	Data  map[string][]map[string]any
	Links links
	Meta  struct {
		TotalPages             int
		FirstAvailableDateTime string
		LastAvailableDateTime  string
	}
}

func decodePage(t *testing.T, body []byte) page {
	t.Helper()
	var p page
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("decode page: %v; body %.200s", err, body)
	}
	return p
}

func decodeError(t *testing.T, body []byte) obErrorResponse {
	t.Helper()
	var e obErrorResponse
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("decode error body: %v; body %.200s", err, body)
	}
	return e
}

var allPermissions = []string{
	permAccountsDetail, permBalances, permTransactionsDetail, permTransactionsCredits,
	permTransactionsDebits, permParty, permPartyPSU, permDirectDebits,
	permStandingOrdersDetail, permScheduledPaymentsDetail,
}

func transactionIDs(p page) []string {
	var ids []string
	for _, tx := range p.Data["Transaction"] {
		id, _ := tx["TransactionId"].(string)
		ids = append(ids, id)
	}
	return ids
}
