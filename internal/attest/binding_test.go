package attest

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func TestNewConsentBinding_window(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 9, 30, 0, 0, time.UTC) }
	age := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}
	funds := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: "GBP"}
	salary := insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}

	tests := []struct {
		name    string
		results []insights.ClaimResult
		want    ConsentBinding
	}{
		{"earliest from and latest to", []insights.ClaimResult{
			{Request: age, Available: true, DataFrom: day(3), DataTo: day(3)},
			{Request: funds, Available: true, DataFrom: day(10), DataTo: day(20)},
		}, ConsentBinding{ID: "req_1", DataFrom: "2026-11-03T09:30:00Z", DataTo: "2026-11-20T09:30:00Z", AsOf: "2026-12-04T10:00:00Z"}},
		{"unavailable results do not widen it", []insights.ClaimResult{
			{Request: age, DataFrom: day(1), DataTo: day(29)},
			{Request: funds, Available: true, DataFrom: day(10), DataTo: day(20)},
		}, ConsentBinding{ID: "req_1", DataFrom: "2026-11-10T09:30:00Z", DataTo: "2026-11-20T09:30:00Z", AsOf: "2026-12-04T10:00:00Z"}},
		{"history without a start", []insights.ClaimResult{
			{Request: salary, Available: true, DataTo: day(28)},
		}, ConsentBinding{ID: "req_1", DataTo: "2026-11-28T09:30:00Z", AsOf: "2026-12-04T10:00:00Z"}},
		{"no data at all", []insights.ClaimResult{
			{Request: age},
		}, ConsentBinding{ID: "req_1", AsOf: "2026-12-04T10:00:00Z"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewConsentBinding("req_1", tt.results, testNow.Add(400*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("binding = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestNewConsentBinding_rejects(t *testing.T) {
	funds := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: "GBP"}
	backwards := []insights.ClaimResult{{Request: funds, Available: true,
		DataFrom: testNow, DataTo: testNow.Add(-time.Hour)}}

	tests := []struct {
		name    string
		id      string
		results []insights.ClaimResult
		asOf    time.Time
		wantErr string
	}{
		{"empty id", "", nil, testNow, "consent ID is empty"},
		{"zero as-of", "req_1", nil, time.Time{}, "as-of time is zero"},
		{"window backwards", "req_1", backwards, testNow,
			"results[0].DataTo 2026-12-04T09:00:00Z is before DataFrom 2026-12-04T10:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewConsentBinding(tt.id, tt.results, tt.asOf)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

// verifyES256 checks a compact JWS with the standard library alone, as a
// verifier that shares no code with the issuer would.
func verifyES256(t *testing.T, token string, pub *ecdsa.PublicKey) {
	t.Helper()
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		t.Fatalf("token has %d segments", len(segments))
	}
	sig, err := base64.RawURLEncoding.DecodeString(segments[2])
	if err != nil || len(sig) != 64 {
		t.Fatalf("signature is not 64 bytes of base64url: %v", err)
	}
	digest := sha256.Sum256([]byte(segments[0] + "." + segments[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(pub, digest[:], r, s) {
		t.Fatal("signature does not verify with crypto/ecdsa")
	}
}

func TestIssueJWS_bindsConsent(t *testing.T) {
	keys, _ := newTestKeys(t)
	priv := signingPrivateKey(t, keys)
	results := allClaimResults(t)
	results[1].DataFrom, results[1].DataTo = testNow.Add(-48*time.Hour), testNow.Add(-time.Hour)
	binding, err := NewConsentBinding("req_abc", results, testNow)
	if err != nil {
		t.Fatal(err)
	}

	issued, err := newTestIssuer(keys).IssueJWS(testCustomer, testClient, results, 10*time.Minute, JWSOptions{Consent: &binding})
	if err != nil {
		t.Fatal(err)
	}
	verifyES256(t, issued.Token, &priv.PublicKey)
	payload := decodeTokenPart(t, issued.Token, 1)
	want := `{"as_of":"2026-12-04T10:00:00Z","data_from":"2026-12-02T10:00:00Z","data_to":"2026-12-04T09:00:00Z","id":"req_abc"}`
	if got := mustJSON(t, payload[ConsentClaim]); got != want {
		t.Errorf("consent = %s; want %s", got, want)
	}
	if issued.Consent == nil || *issued.Consent != binding {
		t.Errorf("Issued.Consent = %+v; want %+v", issued.Consent, binding)
	}
	parsed, ok, err := ParseConsentBinding(payload)
	if err != nil || !ok || parsed != binding {
		t.Errorf("ParseConsentBinding = %+v, %t, %v; want %+v", parsed, ok, err, binding)
	}
}

func TestIssueJWS_rejectsBadBinding(t *testing.T) {
	keys, _ := newTestKeys(t)
	tests := []struct {
		name    string
		binding ConsentBinding
		wantErr string
	}{
		{"empty id", ConsentBinding{AsOf: "2026-12-04T10:00:00Z"}, `"id" is empty`},
		{"as_of not RFC 3339", ConsentBinding{ID: "req_1", AsOf: "04/12/2026"}, `"as_of" is "04/12/2026"`},
		{"data_to not RFC 3339", ConsentBinding{ID: "req_1", AsOf: "2026-12-04T10:00:00Z", DataTo: "yesterday"}, `"data_to" is "yesterday"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := newTestIssuer(keys).IssueJWS(testCustomer, testClient, allClaimResults(t), time.Minute, JWSOptions{Consent: &tt.binding})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssueSDJWT_consentStaysPlain(t *testing.T) {
	f := newSDFixture(t, "ES256")
	binding := ConsentBinding{ID: "req_abc", DataFrom: "2026-06-01T00:00:00Z", DataTo: "2026-12-01T00:00:00Z", AsOf: "2026-12-04T10:00:00Z"}
	issued, err := f.issuer.IssueSDJWT(testCustomer, testClient, f.results, f.lifetime, SDJWTOptions{HolderKey: f.holderJWK, Consent: &binding})
	if err != nil {
		t.Fatal(err)
	}
	jwt, disclosures := splitSDJWT(t, issued.Token)
	verifyES256(t, jwt, &f.priv.PublicKey)
	payload := decodeTokenPart(t, jwt, 1)
	want := `{"as_of":"2026-12-04T10:00:00Z","data_from":"2026-06-01T00:00:00Z","data_to":"2026-12-01T00:00:00Z","id":"req_abc"}`
	if got := mustJSON(t, payload[ConsentClaim]); got != want {
		t.Errorf("plain consent = %s; want %s", got, want)
	}
	for n, d := range disclosures {
		raw, _ := base64.RawURLEncoding.DecodeString(d)
		if strings.Contains(string(raw), `"consent"`) {
			t.Errorf("disclosure %d carries the consent: %s", n, raw)
		}
	}

	// A presentation that reveals no claim still shows the consent.
	presented, err := present(issued.Token, nil, f.holder, testClient, testNonce, testVerifyTime)
	if err != nil {
		t.Fatal(err)
	}
	v, err := VerifySDJWT(t.Context(), presented, f.public, f.verifyOpts)
	if err != nil {
		t.Fatal(err)
	}
	got, ok, err := ParseConsentBinding(v.Claims)
	if err != nil || !ok || got != binding {
		t.Errorf("verified consent = %+v, %t, %v; want %+v", got, ok, err, binding)
	}
}

func TestVerifySDJWT_rejectsConsentDisclosure(t *testing.T) {
	f := newSDFixture(t, "ES256")
	forged := stdDisclosure(t, "c2FsdC1jb25zZW50", claimName(ConsentClaim), map[string]any{"id": "req_other", "as_of": "2026-12-04T10:00:00Z"})
	token := f.signPayload(t, f.basePayload(t, stdDigest(forged))) + "~" + forged + "~"

	opts := f.verifyOpts
	opts.Nonce = ""
	_, err := VerifySDJWT(t.Context(), token, f.public, opts)
	if !errors.Is(err, ErrDisclosure) {
		t.Errorf("error = %v; want ErrDisclosure for a disclosure named %q", err, ConsentClaim)
	}
}
