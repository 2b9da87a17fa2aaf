package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// API keys and clients of the fake consent service.
const (
	merchantKey = "ik_test_merchant"
	lenderKey   = "ik_test_lender"
	disabledKey = "ik_test_disabled"

	// Bearer values shaped as compact JWS, which the fake accepts as client
	// assertions without checking a signature.
	merchantAssertion = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJtZXJjaGFudCJ9.c2ln"
	disabledAssertion = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJkaXNhYmxlZCJ9.c2ln"
)

var (
	merchant = insights.Client{ID: "cli_merchant", Name: "Corner Shop",
		AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver, insights.ClaimFundsAtLeast, insights.ClaimAddressMatches, insights.ClaimNextSalaryDate}}
	lender = insights.Client{ID: "cli_lender", Name: "Lender",
		AllowedClaims: []insights.ClaimKind{insights.ClaimFundsAtLeast, insights.ClaimAffordability}}
	disabled = insights.Client{ID: "cli_disabled", Name: "Gone",
		AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver}, Disabled: true}
)

var testNow = time.Date(2026, 12, 4, 10, 15, 30, 123_000_000, time.UTC)

// fakeConsent is an in-memory Consent with switches for failure paths.
type fakeConsent struct {
	mu           sync.Mutex
	clients      map[string]insights.Client
	requests     map[string]insights.AttestationRequest
	attestations map[string]*consent.Attestation
	created      [][]insights.ClaimRequest // claims of each CreateRequest call
	tokens       []consent.TokenOptions    // token options of each CreateRequest call
	authCalls    int
	// assertionCalls counts the AuthenticateClientAssertion calls, which
	// authCalls includes.
	assertionCalls int

	authErr   error // returned by AuthenticateClient when set
	createErr error // returned by CreateRequest when set
	lookupErr error // returned by ClientRequest when set
}

func newFakeConsent() *fakeConsent {
	return &fakeConsent{
		clients: map[string]insights.Client{merchantKey: merchant, lenderKey: lender, disabledKey: disabled,
			merchantAssertion: merchant, disabledAssertion: disabled},
		requests:     map[string]insights.AttestationRequest{},
		attestations: map[string]*consent.Attestation{},
	}
}

func (f *fakeConsent) AuthenticateClient(_ context.Context, apiKey string) (insights.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	if f.authErr != nil {
		return insights.Client{}, f.authErr
	}
	c, ok := f.clients[apiKey]
	if !ok {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	return c, nil
}

func (f *fakeConsent) AuthenticateClientAssertion(_ context.Context, assertion string) (insights.Client, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.authCalls++
	f.assertionCalls++
	if f.authErr != nil {
		return insights.Client{}, f.authErr
	}
	c, ok := f.clients[assertion]
	if !ok || !consent.IsClientAssertion(assertion) {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid client assertion: the header kid is not in the client's JWK set")
	}
	return c, nil
}

func (f *fakeConsent) CreateRequest(_ context.Context, client insights.Client, purpose string, claims []insights.ClaimRequest, token consent.TokenOptions) (insights.AttestationRequest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.created = append(f.created, claims)
	f.tokens = append(f.tokens, token)
	if f.createErr != nil {
		return insights.AttestationRequest{}, f.createErr
	}
	req := insights.AttestationRequest{
		ID: fmt.Sprintf("req_%d", len(f.requests)+1), ClientID: client.ID, ClientName: client.Name,
		Purpose: purpose, Claims: claims, Status: insights.RequestPending,
		CreatedAt: testNow, ExpiresAt: testNow.Add(15 * time.Minute), TokenLifetime: 10 * time.Minute,
		Format: token.Format, HolderKey: token.HolderKey,
	}
	f.requests[req.ID] = req
	return req, nil
}

func (f *fakeConsent) ClientRequest(_ context.Context, client insights.Client, id string) (insights.AttestationRequest, *consent.Attestation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.lookupErr != nil {
		return insights.AttestationRequest{}, nil, f.lookupErr
	}
	req, ok := f.requests[id]
	if !ok || req.ClientID != client.ID {
		return insights.AttestationRequest{}, nil, insights.Errorf(insights.ErrNotFound, "attestation request %s not found", id)
	}
	return req, f.attestations[id], nil
}

func (f *fakeConsent) ConsentURL(requestID string) string {
	return "https://insights.example/consent/requests/" + requestID
}

func (f *fakeConsent) createdCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.created)
}

// logBuffer collects log output from concurrent handlers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// testServer is the API on a loopback port with its fake and log.
type testServer struct {
	url     string
	consent *fakeConsent
	log     *logBuffer
}

func newTestServer(t *testing.T, fake *fakeConsent, opts Options) *testServer {
	t.Helper()
	logs := &logBuffer{}
	opts.Consent = fake
	opts.Logger = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(NewHandler(opts)) // listens on 127.0.0.1
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, consent: fake, log: logs}
}

// gqlResponse is a decoded GraphQL response.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []gqlError      `json:"errors"`
}

type gqlError struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

func (e gqlError) code() string {
	code, _ := e.Extensions["code"].(string)
	return code
}

// post sends a raw body to /graphql and returns the status, headers and body.
func (s *testServer) post(t *testing.T, contentType, apiKey string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.url+"/graphql", body)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+apiKey)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response body: %v", err)
	}
	return resp, data
}

// query runs a GraphQL operation with an API key and decodes the 200 reply.
func (s *testServer) query(t *testing.T, apiKey, query string, variables map[string]any) gqlResponse {
	t.Helper()
	return s.queryWithHeader(t, "Bearer "+apiKey, query, variables)
}

// queryWithHeader runs a GraphQL operation with a raw Authorization header
// ("" sends none).
func (s *testServer) queryWithHeader(t *testing.T, authorization, query string, variables map[string]any) gqlResponse {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": variables})
	if err != nil {
		t.Fatalf("encode request: %v", err)
	}
	req, err := http.NewRequest(http.MethodPost, s.url+"/graphql", bytes.NewReader(body))
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, data := do(t, req)
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("status = %d, want 200, or 503 when every error is UNAVAILABLE; body %s", resp.StatusCode, data)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type = %q, want application/json", ct)
	}
	var out gqlResponse
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("decode response %s: %v", data, err)
	}
	unavailable := len(out.Errors) > 0
	for _, e := range out.Errors {
		unavailable = unavailable && e.code() == codeUnavailable
	}
	if unavailable != (resp.StatusCode == http.StatusServiceUnavailable) {
		t.Fatalf("status = %d with errors %+v; want 503 exactly when every error is UNAVAILABLE", resp.StatusCode, out.Errors)
	}
	if unavailable && resp.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	return out
}

// decodeData decodes the data member into v and fails on GraphQL errors.
func decodeData(t *testing.T, resp gqlResponse, v any) {
	t.Helper()
	if len(resp.Errors) > 0 {
		t.Fatalf("unexpected errors: %+v", resp.Errors)
	}
	if err := json.Unmarshal(resp.Data, v); err != nil {
		t.Fatalf("decode data %s: %v", resp.Data, err)
	}
}

// onlyError returns the single error of a response.
func onlyError(t *testing.T, resp gqlResponse) gqlError {
	t.Helper()
	if len(resp.Errors) != 1 {
		t.Fatalf("errors = %+v, want exactly one", resp.Errors)
	}
	return resp.Errors[0]
}
