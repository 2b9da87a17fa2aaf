package api

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

const verifySDJWTQuery = `query($token: String!, $audience: String, $nonce: String) {
  verifyAttestation(token: $token, audience: $audience, nonce: $nonce) { valid reason claimNames format keyBound }
}`

type sdVerificationData struct {
	VerifyAttestation struct {
		Valid      bool     `json:"valid"`
		Reason     *string  `json:"reason"`
		ClaimNames []string `json:"claimNames"`
		Format     string   `json:"format"`
		KeyBound   bool     `json:"keyBound"`
	} `json:"verifyAttestation"`
}

// sdToken issues an SD-JWT for the merchant with age and address claims,
// bound to holder when it is not nil, with status entry idx.
func (f *statusFixture) sdToken(t *testing.T, holder *ecdsa.PrivateKey, idx uint64) string {
	t.Helper()
	opts := attest.SDJWTOptions{Status: &attest.StatusReference{Index: idx, URI: verifyIssuer + "/statuslists/1"},
		Consent: &attest.ConsentBinding{ID: "req_1", AsOf: "2026-12-04T10:00:00Z"}}
	if holder != nil {
		key, err := jwk.FromRaw(holder.Public())
		if err != nil {
			t.Fatal(err)
		}
		opts.HolderKey = key
	}
	results := []insights.ClaimResult{
		{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true},
		{Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, Available: true, Holds: true},
	}
	issued, err := f.issuer.IssueSDJWT("customer-alice", merchant.ID, results, 10*time.Minute, opts)
	if err != nil {
		t.Fatal(err)
	}
	return issued.Token
}

// injectDisclosure appends a disclosure whose digest the token lacks.
func injectDisclosure(token string) string {
	d := base64.RawURLEncoding.EncodeToString([]byte(`["c2FsdC1pbmplY3Q","age_over_21",true]`))
	return token + d + "~"
}

func TestVerifyAttestation_sdJWT(t *testing.T) {
	f := newStatusFixture(t)
	srv := newTestServer(t, newFakeConsent(), f.options())
	holder, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	bound := f.sdToken(t, holder, 0)
	unbound := f.sdToken(t, nil, 0)
	present := func(token string, names []string, nonce string) string {
		p, err := attest.Present(token, names, holder, merchant.ID, nonce)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	ageOnly := present(bound, []string{"age_over_18"}, "n-1")

	tests := []struct {
		name       string
		token      string
		nonce      any
		reason     string
		claimNames string
		keyBound   bool
	}{
		{"all disclosures without KB-JWT", unbound, nil, "", "address_matches,age_over_18", false},
		{"chosen disclosure with KB-JWT", ageOnly, "n-1", "", "age_over_18", true},
		{"KB-JWT over another nonce", ageOnly, "n-2", "BAD_KEY_BINDING", "", false},
		{"nonce but no KB-JWT", unbound, "n-1", "BAD_KEY_BINDING", "", false},
		{"injected disclosure", injectDisclosure(unbound), nil, "BAD_DISCLOSURE", "", false},
		{"revoked", f.sdToken(t, nil, 1), nil, "REVOKED", "address_matches,age_over_18", false},
		{"nonce with a JWS", f.token(t, 0, time.Now()), "n-1", "BAD_KEY_BINDING", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data sdVerificationData
			decodeData(t, srv.query(t, merchantKey, verifySDJWTQuery,
				map[string]any{"token": tt.token, "audience": merchant.ID, "nonce": tt.nonce}), &data)
			got := data.VerifyAttestation
			reason := ""
			if got.Reason != nil {
				reason = *got.Reason
			}
			if reason != tt.reason || got.Valid != (tt.reason == "") {
				t.Errorf("valid, reason = %v, %q; want %v, %q", got.Valid, reason, tt.reason == "", tt.reason)
			}
			if strings.Join(got.ClaimNames, ",") != tt.claimNames {
				t.Errorf("claimNames = %q; want %q", got.ClaimNames, tt.claimNames)
			}
			if got.KeyBound != tt.keyBound {
				t.Errorf("keyBound = %v; want %v", got.KeyBound, tt.keyBound)
			}
		})
	}
}

// TestVerifyAttestation_sdJWTDigestsIndependent recomputes the digests of
// an issued SD-JWT with the standard library and checks that the service
// accepts exactly the disclosures whose digests appear in "_sd".
func TestVerifyAttestation_sdJWTDigestsIndependent(t *testing.T) {
	f := newStatusFixture(t)
	token := f.sdToken(t, nil, 0)
	parts := strings.Split(token, "~")
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(parts[0], ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		SD      []string       `json:"_sd"`
		Consent map[string]any `json:"consent"`
	}
	if err := json.Unmarshal(payload, &body); err != nil {
		t.Fatal(err)
	}
	for _, d := range parts[1 : len(parts)-1] {
		sum := sha256.Sum256([]byte(d))
		digest := base64.RawURLEncoding.EncodeToString(sum[:])
		found := false
		for _, s := range body.SD {
			found = found || s == digest
		}
		if !found {
			t.Errorf("digest %s of a disclosure is not in _sd", digest)
		}
	}
	if body.Consent["id"] != "req_1" {
		t.Errorf("plain consent = %v; want id req_1", body.Consent)
	}
}
