package bank

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights/internal/derive"
)

// codeTokens runs the consent flow for customer with the given extra
// authorization parameters and returns the token response.
func (h *harness) codeTokens(customer string, extra url.Values) map[string]any {
	h.t.Helper()
	consentID := h.mustConsent([]string{permAccountsBasic}, "")
	params := url.Values{"login_hint": {customer}, "prompt": {"none"}}
	for k, v := range extra {
		params[k] = v
	}
	resp, _ := h.do(http.MethodGet, h.authorizeURL(consentID, params), nil, nil)
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		h.t.Fatalf("authorize: status %d, Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	code := loc.Query().Get("code")
	resp, body := h.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("authorization_code: status %d, body %v", resp.StatusCode, body)
	}
	return body
}

// jwks fetches the bank's JWK set from the jwks_uri of its discovery
// document.
func (h *harness) jwks() jwk.Set {
	h.t.Helper()
	resp, body := h.do(http.MethodGet, "/.well-known/openid-configuration", nil, nil)
	if resp.StatusCode != http.StatusOK {
		h.t.Fatalf("discovery: status %d", resp.StatusCode)
	}
	var meta providerMetadata
	if err := json.Unmarshal(body, &meta); err != nil {
		h.t.Fatalf("decode discovery: %v", err)
	}
	if meta.Issuer != h.srv.URL || meta.JWKSURI != h.srv.URL+"/jwks" {
		h.t.Fatalf("discovery issuer %q, jwks_uri %q; want %s and %s/jwks", meta.Issuer, meta.JWKSURI, h.srv.URL, h.srv.URL)
	}
	set, err := jwk.Fetch(context.Background(), meta.JWKSURI)
	if err != nil {
		h.t.Fatalf("fetch JWK set: %v", err)
	}
	return set
}

// idTokenClaims decodes the payload of a compact JWS without verifying it.
func idTokenClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("ID token has %d parts, want 3", len(parts))
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("decode ID token payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		t.Fatalf("decode ID token claims: %v", err)
	}
	return claims
}

func TestIDToken_claims(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	keys := h.jwks()
	for i := 0; i < keys.Len(); i++ {
		key, _ := keys.Key(i)
		if _, private := key.(jwk.ECDSAPrivateKey); private {
			t.Fatal("the JWK set publishes a private key")
		}
	}
	opts := derive.IDTokenOptions{Issuer: h.srv.URL, Audience: testClientID, Now: h.clock.Now}

	tests := []struct {
		name      string
		customer  string
		wantBirth string // "" when the customer's party has no BirthDate
	}{
		{"party with birth date", "alice", "1991-03-02"},
		{"party without birth date", "eve", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := h.codeTokens(tt.customer, url.Values{"scope": {"openid accounts"}, "nonce": {"n-" + tt.customer}})
			token, _ := body["id_token"].(string)
			if token == "" {
				t.Fatalf("token response has no id_token: %v", body)
			}
			claims := idTokenClaims(t, token)
			if claims["nonce"] != "n-"+tt.customer {
				t.Errorf("nonce = %v, want n-%s", claims["nonce"], tt.customer)
			}
			if claims["sub"] != tt.customer {
				t.Errorf("sub = %v, want %s", claims["sub"], tt.customer)
			}
			birth, err := derive.VerifyIDTokenBirthDate(context.Background(), token, keys, opts)
			if tt.wantBirth == "" {
				if _, present := claims["birthdate"]; present || err == nil {
					t.Errorf("birthdate claim present = %v, verify error = %v; want no claim", present, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("VerifyIDTokenBirthDate: %v", err)
			}
			if birth.String() != tt.wantBirth {
				t.Errorf("birthdate = %s, want %s", birth, tt.wantBirth)
			}
		})
	}
}

func TestIDToken_onlyForOpenIDScope(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	body := h.codeTokens("alice", url.Values{"scope": {"accounts"}})
	if _, ok := body["id_token"]; ok {
		t.Error("token response has an id_token although the scope lacks openid")
	}
}

func TestIDToken_faults(t *testing.T) {
	tests := []struct {
		kind      string
		wantValid bool // the signature verifies against the JWK set
	}{
		{kindIDTokenForeignKey, false},
		{kindIDTokenWrongNonce, true},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			h := newHarness(t, sampleDir, nil)
			keys := h.jwks()
			if resp, body := h.admin("/admin/faults", `{"kind":"`+tt.kind+`"}`); resp.StatusCode != http.StatusCreated {
				t.Fatalf("add fault: status %d, body %s", resp.StatusCode, body)
			}
			// The fault waits for the authorization_code grant: the client
			// credentials request of the consent does not use it up.
			body := h.codeTokens("alice", url.Values{"scope": {"openid accounts"}, "nonce": {"sent"}})
			token, _ := body["id_token"].(string)
			opts := derive.IDTokenOptions{Issuer: h.srv.URL, Audience: testClientID, Now: h.clock.Now}
			_, err := derive.VerifyIDTokenBirthDate(context.Background(), token, keys, opts)
			if (err == nil) != tt.wantValid {
				t.Errorf("verify error = %v; want valid %v", err, tt.wantValid)
			}
			nonce := idTokenClaims(t, token)["nonce"]
			if wrongNonce := nonce != "sent"; wrongNonce != (tt.kind == kindIDTokenWrongNonce) {
				t.Errorf("nonce = %v with fault %s", nonce, tt.kind)
			}
		})
	}
}
