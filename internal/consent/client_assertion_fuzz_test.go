package consent_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// FuzzAuthenticateClientAssertion checks client assertion parsing on the
// real embedded engine: no panic, every rejection is UNAUTHORIZED with a
// message that does not echo the token's signature, and an accepted
// assertion authenticates the registered client and no other.
func FuzzAuthenticateClientAssertion(f *testing.F) {
	keys, err := attest.LoadOrCreateKeys(filepath.Join(f.TempDir(), "keys"))
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	svc := &consent.Service{
		Engine:  storetest.New(f),
		Claims:  &fixedClaims{},
		Issuer:  &attest.Issuer{Keys: keys, Issuer: "http://127.0.0.1:8080", Now: func() time.Time { return now }},
		Now:     func() time.Time { return now },
		BaseURL: "http://127.0.0.1:8080",
	}

	private, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	public, err := jwk.FromRaw(private.Public())
	if err != nil {
		f.Fatal(err)
	}
	for name, value := range map[string]any{jwk.KeyIDKey: "es-1", jwk.AlgorithmKey: jwa.ES256} {
		if err := public.Set(name, value); err != nil {
			f.Fatal(err)
		}
	}
	set, err := json.Marshal(map[string]any{"keys": []jwk.Key{public}})
	if err != nil {
		f.Fatal(err)
	}
	client, err := svc.RegisterClientWithJWKS(context.Background(), "Key Shop", []insights.ClaimKind{insights.ClaimAgeOver}, set)
	if err != nil {
		f.Fatal(err)
	}

	signAssertion := func(claims map[string]any) string {
		payload, err := json.Marshal(claims)
		if err != nil {
			f.Fatal(err)
		}
		headers := jws.NewHeaders()
		if err := headers.Set(jws.KeyIDKey, "es-1"); err != nil {
			f.Fatal(err)
		}
		token, err := jws.Sign(payload, jws.WithKey(jwa.ES256, private, jws.WithProtectedHeaders(headers)))
		if err != nil {
			f.Fatal(err)
		}
		return string(token)
	}
	claims := map[string]any{
		"iss": client.ID, "sub": client.ID, "aud": svc.AssertionAudience(),
		"iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(), "jti": "fuzz-1",
	}
	f.Add(signAssertion(claims))
	claims["aud"] = []string{"https://other.example", svc.AssertionAudience()}
	claims["jti"] = "fuzz-2"
	f.Add(signAssertion(claims))
	claims["exp"] = now.Add(time.Hour).Unix()
	f.Add(signAssertion(claims))
	f.Add("eyJhbGciOiJub25lIn0.e30.c2ln")
	f.Add("a.b.c")

	f.Fuzz(func(t *testing.T, assertion string) {
		got, err := svc.AuthenticateClientAssertion(context.Background(), assertion)
		if err != nil {
			if code := insights.ErrorCode(err); code != insights.ErrUnauthorized {
				t.Fatalf("error code %q, want %q: %v", code, insights.ErrUnauthorized, err)
			}
			parts := strings.Split(assertion, ".")
			if sig := parts[len(parts)-1]; len(sig) >= 16 && strings.Contains(err.Error(), sig) {
				t.Errorf("error %q echoes the assertion's signature", err)
			}
			return
		}
		if got.ID != client.ID {
			t.Errorf("assertion authenticated client %q, want %q", got.ID, client.ID)
		}
	})
}
