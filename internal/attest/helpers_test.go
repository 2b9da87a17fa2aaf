package attest

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

// testNow is the fixed clock of the tests: 2026-12-04 10:00 UTC.
var testNow = time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://insights.example"
	testClient   = "client-shop-1"
	testCustomer = "customer-42"
)

// newTestKeys creates a key set in a fresh directory and returns it with the
// directory.
func newTestKeys(t *testing.T) (*KeySet, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "keys")
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatalf("LoadOrCreateKeys(%s): %v", dir, err)
	}
	return keys, dir
}

func newTestIssuer(keys *KeySet) *Issuer {
	return &Issuer{Keys: keys, Issuer: testIssuer, Now: func() time.Time { return testNow }}
}

// allClaimResults returns one available result of each claim kind.
func allClaimResults(t *testing.T) []insights.ClaimResult {
	t.Helper()
	amount, err := insights.ParseAmount("500")
	if err != nil {
		t.Fatal(err)
	}
	payday, err := insights.ParseDate("2026-12-24")
	if err != nil {
		t.Fatal(err)
	}
	return []insights.ClaimResult{
		{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true},
		{
			Request:   insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: amount, Currency: "GBP"},
			Available: true, Holds: true, AsOf: testNow.Add(-time.Hour),
		},
		{Request: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, Available: true, Holds: true},
		{Request: insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}, Available: true, NextDate: payday, Cadence: insights.CadenceMonthly},
	}
}

// signRaw builds a compact JWS over the given header and payload JSON texts,
// signed ES256 by priv with the standard library only, so tests can craft
// tokens that the issuer would never produce.
func signRaw(t *testing.T, priv *ecdsa.PrivateKey, header, payload string) string {
	t.Helper()
	input := b64(header) + "." + b64(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	// RFC 7518 section 3.4: the signature is R and S, each as 32 big-endian
	// bytes, concatenated.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// signingPrivateKey returns the current signing key of keys as a standard
// library key.
func signingPrivateKey(t *testing.T, keys *KeySet) *ecdsa.PrivateKey {
	t.Helper()
	var priv ecdsa.PrivateKey
	if err := keys.signingKey().Raw(&priv); err != nil {
		t.Fatal(err)
	}
	return &priv
}

// mustJSON encodes v, failing the test on error.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// decodeTokenPart decodes segment i (0 header, 1 payload) of a compact JWS
// into a map.
func decodeTokenPart(t *testing.T, token string, i int) map[string]any {
	t.Helper()
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		t.Fatalf("token has %d segments; want 3", len(segments))
	}
	data, err := base64.RawURLEncoding.DecodeString(segments[i])
	if err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("segment %d: %v", i, err)
	}
	return m
}
