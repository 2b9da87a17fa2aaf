package consent_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/consent"
)

// jwkJSON returns the JWK JSON of a raw public or private key.
func jwkJSON(t *testing.T, raw any) string {
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

func newP256(t *testing.T) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

func TestCreateRequest_tokenOptions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	ecKey := newP256(t)
	edPublic, edPrivate, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	withAlg := func(raw any, alg string) string {
		var members map[string]any
		if err := json.Unmarshal([]byte(jwkJSON(t, raw)), &members); err != nil {
			t.Fatal(err)
		}
		members["alg"] = alg
		data, _ := json.Marshal(members)
		return string(data)
	}

	tests := []struct {
		name       string
		opts       consent.TokenOptions
		wantFormat insights.TokenFormat
		wantErr    string // a part of the invalid error's message; empty for success
	}{
		{"default", consent.TokenOptions{}, insights.TokenJWS, ""},
		{"jws", consent.TokenOptions{Format: insights.TokenJWS}, insights.TokenJWS, ""},
		{"sd-jwt", consent.TokenOptions{Format: insights.TokenSDJWT}, insights.TokenSDJWT, ""},
		{"sd-jwt EC", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, &ecKey.PublicKey)}, insights.TokenSDJWT, ""},
		{"sd-jwt Ed25519", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, edPublic)}, insights.TokenSDJWT, ""},
		{"sd-jwt alg ES256", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: withAlg(&ecKey.PublicKey, "ES256")}, insights.TokenSDJWT, ""},
		{"unknown format", consent.TokenOptions{Format: "cbor"}, "", "format"},
		{"key with jws", consent.TokenOptions{Format: insights.TokenJWS, HolderKey: jwkJSON(t, &ecKey.PublicKey)}, "", "holderKey: only"},
		{"key without format", consent.TokenOptions{HolderKey: jwkJSON(t, &ecKey.PublicKey)}, "", "holderKey: only"},
		{"EC private", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, ecKey)}, "", "holderKey: the kty \"EC\" key has private"},
		{"Ed25519 private", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, edPrivate)}, "", "holderKey: the kty \"OKP\" key has private"},
		{"secret", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, []byte("0123456789abcdef0123456789abcdef"))}, "", "holderKey: the kty \"oct\""},
		{"P-384", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, &p384.PublicKey)}, "", "holderKey: kty \"EC\" with crv \"P-384\""},
		{"RSA", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: jwkJSON(t, &rsaKey.PublicKey)}, "", "holderKey: kty \"RSA\" is not supported"},
		{"wrong alg", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: withAlg(&ecKey.PublicKey, "EdDSA")}, "", "holderKey: JWK alg"},
		{"not JSON", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: "not a key"}, "", "holderKey: not a JSON Web Key"},
		{"JWK set", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: `{"keys":[]}`}, "", "holderKey: not a JSON Web Key"},
		{"too long", consent.TokenOptions{Format: insights.TokenSDJWT, HolderKey: strings.Repeat(" ", 3000)}, "", "holderKey: the JWK is 3000 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := f.svc.CreateRequest(ctx, f.client, "Age check at checkout",
				[]insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, tt.opts)
			if tt.wantErr != "" {
				if insights.ErrorCode(err) != insights.ErrInvalid {
					t.Fatalf("error = %v, want code invalid", err)
				}
				if msg := insights.ErrorMessage(err); !strings.Contains(msg, tt.wantErr) {
					t.Errorf("message = %q, want it to contain %q", msg, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("CreateRequest: %v", err)
			}
			if req.Format != tt.wantFormat || req.HolderKey != tt.opts.HolderKey {
				t.Errorf("created request format %q, holder key %q; want %q, %q", req.Format, req.HolderKey, tt.wantFormat, tt.opts.HolderKey)
			}

			stored, err := f.svc.Request(ctx, req.ID)
			if err != nil {
				t.Fatal(err)
			}
			if stored.Format != tt.wantFormat {
				t.Errorf("stored format = %q, want %q", stored.Format, tt.wantFormat)
			}
			if stored.HolderKey != tt.opts.HolderKey {
				t.Errorf("stored holder key = %q, want %q", stored.HolderKey, tt.opts.HolderKey)
			}
		})
	}
}

// issuerPayload decodes the payload of an SD-JWT's issuer-signed JWT.
func issuerPayload(t *testing.T, sdjwt string) map[string]any {
	t.Helper()
	jwt, _, _ := strings.Cut(sdjwt, "~")
	segments := strings.Split(jwt, ".")
	if len(segments) != 3 {
		t.Fatalf("issuer-signed JWT has %d segments", len(segments))
	}
	data, err := base64.RawURLEncoding.DecodeString(segments[1])
	if err != nil {
		t.Fatal(err)
	}
	var payload map[string]any
	if err := json.Unmarshal(data, &payload); err != nil {
		t.Fatal(err)
	}
	return payload
}

func TestDecide_issuesSDJWT(t *testing.T) {
	holder := newP256(t)
	tests := []struct {
		name   string
		holder crypto.Signer // nil: no holder key, so no cnf
	}{
		{"bearer", nil},
		{"holder key", holder},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			// attest.Present stamps the KB-JWT with the wall clock, so the
			// token is issued at the wall clock too.
			f.now = time.Now().UTC()
			ctx := context.Background()
			opts := consent.TokenOptions{Format: insights.TokenSDJWT}
			if tt.holder != nil {
				opts.HolderKey = jwkJSON(t, tt.holder.Public())
			}
			req, err := f.svc.CreateRequest(ctx, f.client, "Age and deposit check", []insights.ClaimRequest{
				{Kind: insights.ClaimAgeOver, MinimumAge: 18},
				{Kind: insights.ClaimFundsAtLeast, Amount: 50000, Currency: "GBP"},
			}, opts)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
				t.Fatalf("approve: %v", err)
			}
			_, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
			if err != nil || att == nil {
				t.Fatalf("ClientRequest = %+v, %v", att, err)
			}
			if att.Format != insights.TokenSDJWT {
				t.Errorf("attestation format = %q, want %q", att.Format, insights.TokenSDJWT)
			}

			// The issuer's signature, disclosures and claims verify.
			keys, err := f.keys.PublicSet()
			if err != nil {
				t.Fatal(err)
			}
			verified, err := attest.VerifySDJWT(ctx, att.Token, keys, attest.SDJWTVerifyOptions{
				Issuer: "http://127.0.0.1:8080", Audience: f.client.ID, Now: func() time.Time { return f.now }})
			if err != nil {
				t.Fatalf("VerifySDJWT: %v", err)
			}
			if verified.JTI != att.JTI || verified.Header.Type != attest.SDJWTType {
				t.Errorf("verified jti %q, typ %q; want %q, %q", verified.JTI, verified.Header.Type, att.JTI, attest.SDJWTType)
			}
			if verified.Disclosed["age_over_18"] != true {
				t.Errorf("disclosed age_over_18 = %v, want true", verified.Disclosed["age_over_18"])
			}
			if _, ok := verified.Disclosed["funds_at_least"]; !ok {
				t.Errorf("funds_at_least is not disclosed: %v", verified.Disclosed)
			}
			if _, err := attest.ParseStatusReference(verified.Claims); err != nil {
				t.Errorf("status claim: %v", err)
			}

			// Each disclosure's digest (RFC 9901 section 4.2.3) is in "_sd".
			payload := issuerPayload(t, att.Token)
			var digests []string
			for _, d := range payload["_sd"].([]any) {
				digests = append(digests, d.(string))
			}
			disclosures := strings.Split(strings.TrimSuffix(att.Token, "~"), "~")[1:]
			if len(disclosures) != 2 {
				t.Fatalf("token has %d disclosures, want 2", len(disclosures))
			}
			for n, d := range disclosures {
				sum := sha256.Sum256([]byte(d))
				if digest := base64.RawURLEncoding.EncodeToString(sum[:]); !slices.Contains(digests, digest) {
					t.Errorf("disclosure %d digest %s is not in _sd", n, digest)
				}
			}
			if _, plain := payload["age_over_18"]; plain {
				t.Error("age_over_18 is a plain claim of the payload, want it only in a disclosure")
			}

			// With a holder key the token names it in cnf and a KB-JWT verifies.
			_, hasCnf := payload["cnf"]
			if hasCnf != (tt.holder != nil) {
				t.Fatalf("payload has cnf: %v, want %v", hasCnf, tt.holder != nil)
			}
			if tt.holder == nil {
				return
			}
			if verified.HolderKey == nil {
				t.Fatal("VerifySDJWT found no holder key")
			}
			presented, err := attest.Present(att.Token, []string{"age_over_18"}, tt.holder, f.client.ID, "n-0S6_WzA2Mj")
			if err != nil {
				t.Fatalf("Present: %v", err)
			}
			kb, err := attest.VerifySDJWT(ctx, presented, keys, attest.SDJWTVerifyOptions{
				Audience: f.client.ID, Nonce: "n-0S6_WzA2Mj", RequireKeyBinding: true})
			if err != nil {
				t.Fatalf("VerifySDJWT of the presentation: %v", err)
			}
			if _, ok := kb.Disclosed["funds_at_least"]; ok || kb.Disclosed["age_over_18"] != true {
				t.Errorf("presentation disclosed %v, want only age_over_18", kb.Disclosed)
			}
		})
	}
}

func TestDecide_defaultIssuesJWS(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)
	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatal(err)
	}
	_, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if att.Format != insights.TokenJWS {
		t.Errorf("format = %q, want %q", att.Format, insights.TokenJWS)
	}
	if strings.Contains(att.Token, "~") || strings.Count(att.Token, ".") != 2 {
		t.Errorf("token is not a compact JWS")
	}
}
