package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openbanking-insights/insights"
)

// redirectConsent is the fake consent service with redirect support: one
// registered redirect URI per client, and the stored redirects.
type redirectConsent struct {
	*fakeConsent
	mu     sync.Mutex
	stored map[string]string // request ID: redirect URI and state
}

func (c *redirectConsent) CheckRequestRedirect(_ context.Context, client insights.Client, uri, state string) error {
	switch {
	case uri == "" && state != "":
		return insights.Errorf(insights.ErrInvalid, "state: needs a redirectUri to be returned to")
	case uri != "https://shop.example/return":
		return insights.Errorf(insights.ErrInvalid, "redirectUri %q: not one of the client's registered redirect URIs", uri)
	}
	return nil
}

func (c *redirectConsent) StoreRequestRedirect(_ context.Context, clientID, requestID, uri, state string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stored[requestID] = uri + " " + state
	return nil
}

const redirectMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) { attestationRequest { id } userErrors { field code message } }
}`

func redirectInput(uri, state any) map[string]any {
	return map[string]any{"input": map[string]any{
		"purpose": "Age check", "claims": []any{map[string]any{"ageOver": map[string]any{"minimumAge": 18}}},
		"redirectUri": uri, "state": state,
	}}
}

type redirectPayload struct {
	RequestAttestation struct {
		AttestationRequest *struct{ ID string } `json:"attestationRequest"`
		UserErrors         []userErrorData      `json:"userErrors"`
	} `json:"requestAttestation"`
}

func TestRequestAttestation_redirectURI(t *testing.T) {
	rc := &redirectConsent{fakeConsent: newFakeConsent(), stored: map[string]string{}}
	logs := &logBuffer{}
	srv := newRedirectServer(t, rc, logs)

	tests := []struct {
		name      string
		uri       any
		state     any
		wantField string // "" when the request is created
	}{
		{"registered", "https://shop.example/return", "cart-1", ""},
		{"no redirect", nil, nil, ""},
		{"unregistered", "https://evil.example/", "cart-1", "input.redirectUri"},
		{"state alone", nil, "cart-1", "input.state"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.query(t, merchantKey, redirectMutation, redirectInput(tt.uri, tt.state))
			if len(resp.Errors) > 0 {
				t.Fatalf("errors: %+v", resp.Errors)
			}
			var data redirectPayload
			if err := json.Unmarshal(resp.Data, &data); err != nil {
				t.Fatal(err)
			}
			got := data.RequestAttestation
			if tt.wantField == "" {
				if got.AttestationRequest == nil || len(got.UserErrors) != 0 {
					t.Fatalf("payload = %+v, want a request", got)
				}
				return
			}
			if got.AttestationRequest != nil || len(got.UserErrors) != 1 {
				t.Fatalf("payload = %+v, want one user error", got)
			}
			if field := strings.Join(got.UserErrors[0].Field, "."); field != tt.wantField || got.UserErrors[0].Code != userErrorInvalid {
				t.Errorf("user error = %+v, want field %s and code INVALID", got.UserErrors[0], tt.wantField)
			}
		})
	}
	if len(rc.stored) != 1 {
		t.Errorf("stored redirects = %v, want the registered one only", rc.stored)
	}
}

func TestRequestAttestation_redirectUnsupported(t *testing.T) {
	srv := newTestServer(t, newFakeConsent(), Options{})
	resp := srv.query(t, merchantKey, redirectMutation, redirectInput("https://shop.example/return", "s"))
	var data redirectPayload
	if err := json.Unmarshal(resp.Data, &data); err != nil {
		t.Fatal(err)
	}
	ue := data.RequestAttestation.UserErrors
	if len(ue) != 1 || ue[0].Code != userErrorUnsupported {
		t.Errorf("user errors = %+v, want one UNSUPPORTED", ue)
	}
}

// newRedirectServer serves the API over rc, which newTestServer cannot
// take because it wraps a *fakeConsent.
func newRedirectServer(t *testing.T, rc *redirectConsent, logs *logBuffer) *testServer {
	t.Helper()
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewServer(NewHandler(Options{Consent: rc, Logger: logger}))
	t.Cleanup(srv.Close)
	return &testServer{url: srv.URL, consent: rc.fakeConsent, log: logs}
}
