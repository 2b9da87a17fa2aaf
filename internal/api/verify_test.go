package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

const (
	verifyIssuer = "https://insights.example"
	verifyQuery  = `query($token: String!, $audience: String) {
  verifyAttestation(token: $token, audience: $audience) { valid reason claimNames expiresAt }
}`
)

// statusFixture is a key set, an issuer and one status list served from
// memory with entry 1 revoked.
type statusFixture struct {
	keys   *attest.KeySet
	issuer *attest.Issuer
	list   *attest.StatusList
}

func newStatusFixture(t *testing.T) *statusFixture {
	t.Helper()
	keys, err := attest.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := attest.NewStatusList(16, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := list.Set(1, attest.StatusInvalid); err != nil {
		t.Fatal(err)
	}
	return &statusFixture{keys: keys, issuer: &attest.Issuer{Keys: keys, Issuer: verifyIssuer}, list: list}
}

func (f *statusFixture) options() Options {
	return Options{
		PublicKeys: f.keys.PublicSet,
		Issuer:     verifyIssuer,
		StatusListToken: func(_ context.Context, id string) (string, time.Duration, error) {
			if id != "1" {
				return "", 0, insights.Errorf(insights.ErrNotFound, "status list %s not found", id)
			}
			token, err := f.issuer.IssueStatusList(verifyIssuer+"/statuslists/1", f.list, 10*time.Minute, 5*time.Minute)
			return token, 5 * time.Minute, err
		},
	}
}

// token issues a token for the merchant with status entry idx, issued at
// issuedAt.
func (f *statusFixture) token(t *testing.T, idx uint64, issuedAt time.Time) string {
	t.Helper()
	issuer := *f.issuer
	issuer.Now = func() time.Time { return issuedAt }
	results := []insights.ClaimResult{
		{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true},
		{Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, Available: false},
	}
	issued, err := issuer.IssueWithStatus("customer-alice", merchant.ID, results, 10*time.Minute,
		&attest.StatusReference{Index: idx, URI: verifyIssuer + "/statuslists/1"})
	if err != nil {
		t.Fatal(err)
	}
	return issued.Token
}

type verificationData struct {
	VerifyAttestation struct {
		Valid      bool     `json:"valid"`
		Reason     *string  `json:"reason"`
		ClaimNames []string `json:"claimNames"`
		ExpiresAt  *string  `json:"expiresAt"`
	} `json:"verifyAttestation"`
}

// flipPayloadByte changes the last character of a token's payload segment
// to another valid base64url character.
func flipPayloadByte(token string) string {
	parts := strings.Split(token, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	payload = bytes.Replace(payload, []byte(`"age_over_18":true`), []byte(`"age_over_18":false`), 1)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func TestVerifyAttestation(t *testing.T) {
	f := newStatusFixture(t)
	srv := newTestServer(t, newFakeConsent(), f.options())
	now := time.Now().Truncate(time.Second)
	valid := f.token(t, 0, now)
	expiresAt := now.Add(10 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")

	tests := []struct {
		name       string
		token      string
		audience   any
		reason     string // "" for a valid token
		claimNames []string
		expiresAt  string
	}{
		{"valid", valid, merchant.ID, "", []string{"age_over_18"}, expiresAt},
		{"valid without audience", valid, nil, "", []string{"age_over_18"}, expiresAt},
		{"expired", f.token(t, 0, now.Add(-time.Hour)), nil, "EXPIRED", []string{"age_over_18"},
			now.Add(-50 * time.Minute).UTC().Format("2006-01-02T15:04:05.000Z")},
		{"tampered", flipPayloadByte(valid), nil, "BAD_SIGNATURE", []string{}, ""},
		{"revoked", f.token(t, 1, now), nil, "REVOKED", []string{"age_over_18"}, expiresAt},
		{"wrong audience", valid, lender.ID, "WRONG_AUDIENCE", []string{"age_over_18"}, expiresAt},
		{"not a token", "not-a-token", nil, "MALFORMED", []string{}, ""},
		{"entry past the list", f.token(t, 99, now), nil, "STATUS_UNAVAILABLE", []string{"age_over_18"}, expiresAt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var data verificationData
			decodeData(t, srv.query(t, merchantKey, verifyQuery, map[string]any{"token": tt.token, "audience": tt.audience}), &data)
			got := data.VerifyAttestation

			if got.Valid != (tt.reason == "") {
				t.Errorf("valid = %v; want %v", got.Valid, tt.reason == "")
			}
			gotReason := ""
			if got.Reason != nil {
				gotReason = *got.Reason
			}
			if gotReason != tt.reason {
				t.Errorf("reason = %q; want %q", gotReason, tt.reason)
			}
			if strings.Join(got.ClaimNames, ",") != strings.Join(tt.claimNames, ",") {
				t.Errorf("claimNames = %q; want %q", got.ClaimNames, tt.claimNames)
			}
			gotExpires := ""
			if got.ExpiresAt != nil {
				gotExpires = *got.ExpiresAt
			}
			if gotExpires != tt.expiresAt {
				t.Errorf("expiresAt = %q; want %q", gotExpires, tt.expiresAt)
			}
		})
	}
	if strings.Contains(srv.log.String(), "customer-alice") {
		t.Error("the log names the customer")
	}
}

func TestVerifyAttestation_needsAPIKey(t *testing.T) {
	f := newStatusFixture(t)
	srv := newTestServer(t, newFakeConsent(), f.options())
	resp := srv.queryWithHeader(t, "", verifyQuery, map[string]any{"token": f.token(t, 0, time.Now())})
	if e := onlyError(t, resp); e.code() != codeUnauthenticated {
		t.Errorf("error code = %q; want %s", e.code(), codeUnauthenticated)
	}
}

func TestVerifyAttestation_foreignStatusList(t *testing.T) {
	f := newStatusFixture(t)
	opts := f.options()
	opts.Issuer = verifyIssuer
	srv := newTestServer(t, newFakeConsent(), opts)

	// A token of this issuer whose status entry names another host: the
	// server must not fetch it.
	issued, err := f.issuer.IssueWithStatus("customer-alice", merchant.ID,
		[]insights.ClaimResult{{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true}},
		10*time.Minute, &attest.StatusReference{Index: 0, URI: "http://127.0.0.1:1/statuslists/1"})
	if err != nil {
		t.Fatal(err)
	}
	var data verificationData
	decodeData(t, srv.query(t, merchantKey, verifyQuery, map[string]any{"token": issued.Token}), &data)
	if r := data.VerifyAttestation.Reason; r == nil || *r != "STATUS_UNAVAILABLE" {
		t.Errorf("reason = %v; want STATUS_UNAVAILABLE", r)
	}
}

func TestStatusListHandler(t *testing.T) {
	f := newStatusFixture(t)
	srv := newTestServer(t, newFakeConsent(), f.options())

	req, _ := http.NewRequest(http.MethodGet, srv.url+"/statuslists/1", nil)
	resp, body := do(t, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d; want 200", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/statuslist+jwt" {
		t.Errorf("Content-Type = %q; want application/statuslist+jwt", ct)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q; want public, max-age=300", cc)
	}
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	list, err := attest.VerifyStatusListToken(context.Background(), string(body), public, verifyIssuer+"/statuslists/1", attest.StatusOptions{})
	if err != nil {
		t.Fatalf("served token: %v", err)
	}
	if status, _ := list.Get(1); status != attest.StatusInvalid {
		t.Errorf("entry 1 = %d; want INVALID", status)
	}

	req, _ = http.NewRequest(http.MethodGet, srv.url+"/statuslists/2", nil)
	if resp, _ := do(t, req); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown list: status %d; want 404", resp.StatusCode)
	}
}
