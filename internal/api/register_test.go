package api

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// fakeRegistrar records registrations in memory and rejects a second
// registration of one software_id, as the consent service does.
type fakeRegistrar struct {
	mu   sync.Mutex
	regs []consent.ClientMetadata
}

func (f *fakeRegistrar) Register(_ context.Context, md consent.ClientMetadata) (consent.Registration, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.regs {
		if r.SoftwareID == md.SoftwareID {
			return consent.Registration{}, "", insights.Errorf(insights.ErrConflict, "software_id %q is already registered", md.SoftwareID)
		}
	}
	if md.Contact == "not-an-address" {
		return consent.Registration{}, "", insights.Errorf(insights.ErrInvalid, "contacts: %q is not an e-mail address", md.Contact)
	}
	f.regs = append(f.regs, md)
	reg := consent.Registration{Client: insights.Client{ID: "cli_new", Name: md.Name, AllowedClaims: md.AllowedClaims},
		RedirectURIs: md.RedirectURIs, Contact: md.Contact, Environment: md.Environment, SoftwareID: md.SoftwareID}
	key := ""
	if len(md.JWKS) == 0 && md.JWKSURI == "" {
		key = "ik_new"
	}
	return reg, key, nil
}

type operator struct {
	key    jwk.Key // private, kid "op-1", alg ES256
	public jwk.Set
}

func newOperator(t *testing.T) *operator {
	t.Helper()
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	_ = key.Set(jwk.KeyIDKey, "op-1")
	_ = key.Set(jwk.AlgorithmKey, jwa.ES256)
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	return &operator{key: key, public: set}
}

// statement signs a software statement with claims over valid defaults;
// a nil value removes the claim.
func (o *operator) statement(t *testing.T, key jwk.Key, overrides map[string]any) string {
	t.Helper()
	claims := map[string]any{
		"iss": "test-operator", "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "jti": "st-1",
		"software_id": "shop-app", "software_client_name": "Corner Shop",
		"software_redirect_uris":  []string{"https://shop.example/return", "https://shop.example/alt"},
		"software_environment":    "sandbox",
		"software_allowed_claims": []string{"age_over", "funds_at_least"},
		"software_contacts":       []string{"ops@shop.example"},
	}
	for k, v := range overrides {
		if v == nil {
			delete(claims, k)
		} else {
			claims[k] = v
		}
	}
	token := jwt.New()
	for k, v := range claims {
		if err := token.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	signed, err := jwt.Sign(token, jwt.WithKey(jwa.ES256, key))
	if err != nil {
		t.Fatal(err)
	}
	return string(signed)
}

func newRegisterServer(t *testing.T, op *operator) (*httptest.Server, *fakeRegistrar) {
	t.Helper()
	reg := &fakeRegistrar{}
	h := NewHandler(Options{Consent: newFakeConsent(), Registration: &RegistrationOptions{
		Registrar: reg, OperatorKeys: op.public, OperatorIssuer: "test-operator"}})
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, reg
}

func postRegister(t *testing.T, url string, body any) (int, map[string]any) {
	t.Helper()
	data, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url+"/register", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatalf("decode response: %v", err)
	}
	return resp.StatusCode, out
}

func TestRegister_success(t *testing.T) {
	op := newOperator(t)
	srv, reg := newRegisterServer(t, op)
	status, body := postRegister(t, srv.URL, map[string]any{
		"software_statement": op.statement(t, op.key, nil),
		"redirect_uris":      []string{"https://shop.example/return"},
		"allowed_claims":     []string{"age_over"},
	})
	if status != http.StatusCreated {
		t.Fatalf("status %d, body %v", status, body)
	}
	if body["client_id"] != "cli_new" || body["api_key"] != "ik_new" || body["environment"] != "sandbox" || body["software_id"] != "shop-app" {
		t.Errorf("response = %v", body)
	}
	if len(reg.regs) != 1 {
		t.Fatalf("registrations = %d, want 1", len(reg.regs))
	}
	md := reg.regs[0]
	if md.Name != "Corner Shop" || md.Contact != "ops@shop.example" || len(md.RedirectURIs) != 1 || len(md.AllowedClaims) != 1 {
		t.Errorf("registered metadata = %+v", md)
	}
}

func TestRegister_rejections(t *testing.T) {
	op := newOperator(t)
	other := newOperator(t)
	srv, _ := newRegisterServer(t, op)
	valid := op.statement(t, op.key, nil)

	tests := []struct {
		name       string
		body       map[string]any
		wantStatus int
		wantError  string
		wantDesc   string
	}{
		{"no statement", map[string]any{}, 400, "invalid_software_statement", "software_statement: missing"},
		{"wrong key", map[string]any{"software_statement": op.statement(t, other.key, nil)}, 400, "invalid_software_statement", "signature"},
		{"wrong issuer", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"iss": "someone"})}, 400, "unapproved_software_statement", "iss"},
		{"expired", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()})}, 400, "invalid_software_statement", "exp: expired"},
		{"no exp", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"exp": nil})}, 400, "invalid_software_statement", "exp is missing"},
		{"iat in future", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"iat": time.Now().Add(time.Hour).Unix()})}, 400, "invalid_software_statement", "iat"},
		{"no software_id", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"software_id": nil})}, 400, "invalid_software_statement", "software_id is missing"},
		{"bad software_id", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"software_id": "a b"})}, 400, "invalid_software_statement", "software_id"},
		{"bad environment", map[string]any{"software_statement": op.statement(t, op.key, map[string]any{"software_environment": "prod"})}, 400, "invalid_software_statement", "software_environment"},
		{"redirect not in statement", map[string]any{"software_statement": valid, "redirect_uris": []string{"https://evil.example/"}}, 400, "invalid_redirect_uri", "redirect_uris[0]"},
		{"claim not in statement", map[string]any{"software_statement": valid, "allowed_claims": []string{"affordability"}}, 400, "invalid_client_metadata", "allowed_claims[0]"},
		{"unknown member", map[string]any{"software_statement": valid, "colour": "red"}, 400, "invalid_client_metadata", "colour"},
		{"two contacts", map[string]any{"software_statement": valid, "contacts": []string{"a@shop.example", "b@shop.example"}}, 400, "invalid_client_metadata", "contacts"},
		{"jwks_uri not in statement", map[string]any{"software_statement": valid, "jwks_uri": "https://shop.example/jwks.json"}, 400, "invalid_client_metadata", "jwks_uri"},
		{"registrar rejects", map[string]any{"software_statement": valid, "contacts": []string{"not-an-address"}}, 400, "invalid_client_metadata", "contacts"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := postRegister(t, srv.URL, tt.body)
			if status != tt.wantStatus || body["error"] != tt.wantError {
				t.Fatalf("status %d, error %v; want %d, %s (%v)", status, body["error"], tt.wantStatus, tt.wantError, body["error_description"])
			}
			if desc, _ := body["error_description"].(string); !strings.Contains(desc, tt.wantDesc) {
				t.Errorf("error_description %q does not contain %q", desc, tt.wantDesc)
			}
		})
	}

	// The first registration succeeds and a second one of the same
	// software is a conflict.
	if status, body := postRegister(t, srv.URL, map[string]any{"software_statement": valid}); status != http.StatusCreated {
		t.Fatalf("first registration: %d %v", status, body)
	}
	if status, body := postRegister(t, srv.URL, map[string]any{"software_statement": valid}); status != http.StatusConflict || body["error"] != "software_id_in_use" {
		t.Errorf("second registration: %d %v, want 409 software_id_in_use", status, body)
	}
}

func TestRegister_notServedWithoutOperatorKeys(t *testing.T) {
	srv := newTestServer(t, newFakeConsent(), Options{})
	resp, err := http.Post(srv.url+"/register", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("status %d, want 404", resp.StatusCode)
	}
}

func TestRegister_jwksURIFromStatement(t *testing.T) {
	op := newOperator(t)
	srv, reg := newRegisterServer(t, op)
	statement := op.statement(t, op.key, map[string]any{"software_jwks_endpoint": "https://shop.example/jwks.json"})

	status, body := postRegister(t, srv.URL, map[string]any{"software_statement": statement})
	if status != http.StatusCreated {
		t.Fatalf("status %d, body %v", status, body)
	}
	if got := reg.regs[0].JWKSURI; got != "https://shop.example/jwks.json" {
		t.Errorf("registered jwks_uri = %q, want the statement's", got)
	}
	if body["api_key"] != nil {
		t.Errorf("a client with a jwks_uri got an API key: %v", body)
	}
}
