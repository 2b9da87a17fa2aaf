package api

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// holderJWK returns the JWK JSON of a raw key.
func holderJWK(t *testing.T, raw any) string {
	t.Helper()
	key, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	data, err := json.Marshal(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// withToken returns an age-check input with the given format and holder
// key; nil leaves a field out.
func withToken(format, holderKey any) map[string]any {
	input := claimsOf(ageOver(18))
	if format != nil {
		input["format"] = format
	}
	if holderKey != nil {
		input["holderKey"] = holderKey
	}
	return input
}

func TestRequestAttestation_tokenFormat(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edPublic, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPublic := holderJWK(t, &ecKey.PublicKey)
	edJWK := holderJWK(t, edPublic)

	tests := []struct {
		name  string
		input map[string]any
		want  consent.TokenOptions
	}{
		{"absent", withToken(nil, nil), consent.TokenOptions{Format: insights.TokenJWS}},
		{"null", map[string]any{"purpose": "Checkout", "claims": []any{ageOver(18)}, "format": nil, "holderKey": nil},
			consent.TokenOptions{Format: insights.TokenJWS}},
		{"JWS", withToken("JWS", nil), consent.TokenOptions{Format: insights.TokenJWS}},
		{"SD_JWT", withToken("SD_JWT", nil), consent.TokenOptions{Format: insights.TokenSDJWT}},
		{"SD_JWT with EC key", withToken("SD_JWT", ecPublic), consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: ecPublic}},
		{"SD_JWT with Ed25519 key", withToken("SD_JWT", edJWK), consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: edJWK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			var data mutationData
			decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": tt.input}), &data)
			if errs := data.RequestAttestation.UserErrors; len(errs) != 0 {
				t.Fatalf("userErrors = %+v, want none", errs)
			}
			srv.consent.mu.Lock()
			got := srv.consent.tokens
			srv.consent.mu.Unlock()
			if len(got) != 1 || got[0] != tt.want {
				t.Errorf("CreateRequest token options = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRequestAttestation_tokenFormatUserErrors(t *testing.T) {
	t.Parallel()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecPublic := holderJWK(t, &ecKey.PublicKey)

	tests := []struct {
		name        string
		input       map[string]any
		wantCode    string
		wantMessage string // a part of the message after the field path
	}{
		{"key without format", withToken(nil, ecPublic), userErrorInvalid, "only with format SD_JWT"},
		{"key with JWS", withToken("JWS", ecPublic), userErrorInvalid, "only with format SD_JWT"},
		{"blank key", withToken("SD_JWT", " "), userErrorBlank, "must be a JSON Web Key"},
		{"private key", withToken("SD_JWT", holderJWK(t, ecKey)), userErrorInvalidFormat, "private or secret members"},
		{"P-384 key", withToken("SD_JWT", holderJWK(t, &p384.PublicKey)), userErrorInvalidFormat, `crv "P-384" is not supported`},
		{"not a JWK", withToken("SD_JWT", `{"kty":"EC"}`), userErrorInvalidFormat, "not a JSON Web Key"},
		{"long key", withToken("SD_JWT", strings.Repeat("x", 4096)), userErrorInvalidFormat, "the limit is 2048"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			var data mutationData
			decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": tt.input}), &data)

			payload := data.RequestAttestation
			if payload.AttestationRequest != nil {
				t.Errorf("attestationRequest = %+v, want null", payload.AttestationRequest)
			}
			if len(payload.UserErrors) != 1 {
				t.Fatalf("userErrors = %+v, want exactly one", payload.UserErrors)
			}
			got := payload.UserErrors[0]
			if dotted := dottedPath(got.Field); dotted != "input.holderKey" {
				t.Errorf("field = %q, want input.holderKey", dotted)
			}
			if got.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", got.Code, tt.wantCode)
			}
			if !strings.HasPrefix(got.Message, "input.holderKey: ") || !strings.Contains(got.Message, tt.wantMessage) {
				t.Errorf("message = %q, want input.holderKey: ... %s", got.Message, tt.wantMessage)
			}
			if srv.consent.createdCount() != 0 {
				t.Error("CreateRequest was called for invalid input")
			}
		})
	}
}

func TestRequestAttestation_unknownFormatRejected(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	resp := srv.query(t, merchantKey, requestMutation, map[string]any{"input": withToken("CBOR", nil)})
	e := onlyError(t, resp)
	if !strings.Contains(e.Message, "format") {
		t.Errorf("error message = %q, want it to name format", e.Message)
	}
	if srv.consent.createdCount() != 0 {
		t.Error("CreateRequest was called for an unknown format")
	}
}

func TestAttestation_format(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	for id, format := range map[string]insights.TokenFormat{"req_jws": insights.TokenJWS, "req_sd": insights.TokenSDJWT, "req_old": ""} {
		fake.requests[id] = insights.AttestationRequest{ID: id, ClientID: merchant.ID, Purpose: "Age check",
			Claims: []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, Status: insights.RequestIssued,
			CreatedAt: testNow, ExpiresAt: testNow.Add(time.Minute), Format: format}
		fake.attestations[id] = &consent.Attestation{Format: format, Token: "t", JTI: "jti_" + id,
			IssuedAt: testNow, ExpiresAt: testNow.Add(10 * time.Minute)}
	}
	srv := newTestServer(t, fake, Options{})

	tests := []struct{ id, want string }{
		{"req_jws", "JWS"},
		{"req_sd", "SD_JWT"},
		{"req_old", "JWS"}, // issued before clients could choose a format
	}
	for _, tt := range tests {
		t.Run(tt.id, func(t *testing.T) {
			var data struct {
				AttestationRequest struct {
					Attestation struct {
						Format string `json:"format"`
					} `json:"attestation"`
				} `json:"attestationRequest"`
			}
			decodeData(t, srv.query(t, merchantKey, `query($id: ID!) { attestationRequest(id: $id) { attestation { format } } }`,
				map[string]any{"id": tt.id}), &data)
			if got := data.AttestationRequest.Attestation.Format; got != tt.want {
				t.Errorf("format = %q, want %q", got, tt.want)
			}
		})
	}
}
