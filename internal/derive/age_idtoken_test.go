package derive

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

const (
	bankIssuer   = "http://127.0.0.1/bank"
	bankClientID = "insights-at-bank"
)

// bankKeys is a bank's RSA signing key and its JWK set, served on
// 127.0.0.1 as a bank serves its jwks_uri.
type bankKeys struct {
	private *rsa.PrivateKey
	set     jwk.Set
	url     string
}

func newBankKeys(t *testing.T) *bankKeys {
	t.Helper()
	private, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	public, err := jwk.FromRaw(private.Public())
	if err != nil {
		t.Fatal(err)
	}
	for name, value := range map[string]any{jwk.KeyIDKey: "bank-1", jwk.AlgorithmKey: jwa.RS256, jwk.KeyUsageKey: "sig"} {
		if err := public.Set(name, value); err != nil {
			t.Fatal(err)
		}
	}
	body, err := json.Marshal(map[string]any{"keys": []jwk.Key{public}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(srv.Close)

	set, err := attest.FetchJWKS(context.Background(), srv.URL+"/jwks.json", nil)
	if err != nil {
		t.Fatalf("fetch the bank's JWK set: %v", err)
	}
	return &bankKeys{private: private, set: set, url: srv.URL}
}

// sign returns an RS256 ID token with the given claims, signed by the bank.
func (b *bankKeys) sign(t *testing.T, claims map[string]any, kid string) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	headers := jws.NewHeaders()
	if err := headers.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	token, err := jws.Sign(payload, jws.WithKey(jwa.RS256, b.private, jws.WithProtectedHeaders(headers)))
	if err != nil {
		t.Fatal(err)
	}
	return string(token)
}

func idClaims(now time.Time, changes map[string]any) map[string]any {
	claims := map[string]any{
		"iss": bankIssuer, "sub": "248289761001", "aud": []string{bankClientID, "other-client"},
		"iat": now.Add(-time.Minute).Unix(), "exp": now.Add(10 * time.Minute).Unix(),
		"birthdate": "2008-12-04",
	}
	for k, v := range changes {
		if v == nil {
			delete(claims, k)
			continue
		}
		claims[k] = v
	}
	return claims
}

func TestVerifyIDTokenBirthDate_cases(t *testing.T) {
	bank := newBankKeys(t)
	now := mustTime(t, "2026-12-04T09:00:00Z")
	opts := IDTokenOptions{Issuer: bankIssuer, Audience: bankClientID, Now: func() time.Time { return now }, Skew: 30 * time.Second}

	// HS256 with the RSA public key's bytes as the secret, under the bank's kid.
	publicJSON, _ := json.Marshal(bank.set)
	hmacToken := func() string {
		payload, _ := json.Marshal(idClaims(now, nil))
		headers := jws.NewHeaders()
		_ = headers.Set(jws.KeyIDKey, "bank-1")
		signed, err := jws.Sign(payload, jws.WithKey(jwa.HS256, publicJSON, jws.WithProtectedHeaders(headers)))
		if err != nil {
			t.Fatal(err)
		}
		return string(signed)
	}()
	noneToken := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","kid":"bank-1"}`)) + "." +
		base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+bankIssuer+`","aud":"`+bankClientID+`","birthdate":"2000-01-01"}`)) + "."

	tests := []struct {
		name    string
		token   string
		want    string
		wantErr string
	}{
		{"valid", bank.sign(t, idClaims(now, nil), "bank-1"), "2008-12-04", ""},
		{"single audience string", bank.sign(t, idClaims(now, map[string]any{"aud": bankClientID}), "bank-1"), "2008-12-04", ""},
		{"wrong issuer", bank.sign(t, idClaims(now, map[string]any{"iss": "http://127.0.0.1/other"}), "bank-1"), "", `"iss" not satisfied`},
		{"wrong audience", bank.sign(t, idClaims(now, map[string]any{"aud": "someone-else"}), "bank-1"), "", `"aud" not satisfied`},
		{"expired", bank.sign(t, idClaims(now, map[string]any{"exp": now.Add(-time.Minute).Unix()}), "bank-1"), "", `"exp" not satisfied`},
		{"no expiry", bank.sign(t, idClaims(now, map[string]any{"exp": nil}), "bank-1"), "", `"exp" not satisfied`},
		{"issued in the future", bank.sign(t, idClaims(now, map[string]any{"iat": now.Add(time.Hour).Unix()}), "bank-1"), "", `"iat" not satisfied`},
		{"unknown kid", bank.sign(t, idClaims(now, nil), "bank-9"), "", `kid "bank-9" is not in the bank's JWK set`},
		{"HS256 with the public key", hmacToken, "", `alg "HS256" is not accepted`},
		{"alg none", noneToken, "", `alg "none" is not accepted`},
		{"tampered", strings.Replace(bank.sign(t, idClaims(now, nil), "bank-1"), ".", ".e30", 1), "", "signature does not verify"},
		{"no birthdate", bank.sign(t, idClaims(now, map[string]any{"birthdate": nil}), "bank-1"), "", `no "birthdate" claim`},
		{"year only", bank.sign(t, idClaims(now, map[string]any{"birthdate": "2008"}), "bank-1"), "", "not a full YYYY-MM-DD date"},
		{"year withheld", bank.sign(t, idClaims(now, map[string]any{"birthdate": "0000-12-04"}), "bank-1"), "", "not a full YYYY-MM-DD date"},
		{"not a calendar date", bank.sign(t, idClaims(now, map[string]any{"birthdate": "2007-02-29"}), "bank-1"), "", "not a valid calendar date"},
		{"in the future", bank.sign(t, idClaims(now, map[string]any{"birthdate": "2027-01-01"}), "bank-1"), "", "in the future"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := VerifyIDTokenBirthDate(context.Background(), tt.token, bank.set, opts)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v; want it to contain %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "2008-12-04") {
					t.Errorf("error %q quotes the birth date", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != tt.want {
				t.Errorf("birth date = %s; want %s", got, tt.want)
			}
		})
	}
}

func TestStoreBirthDate_decidesAge(t *testing.T) {
	bank := newBankKeys(t)
	e := storetest.New(t)
	d := &Deriver{Engine: e}
	// 18 today in London: 4 December 2008, checked at 00:30 UK time.
	now := mustTime(t, "2026-12-04T00:30:00Z")
	opts := IDTokenOptions{Issuer: bankIssuer, Audience: bankClientID, Now: func() time.Time { return now }}
	birth, err := VerifyIDTokenBirthDate(context.Background(), bank.sign(t, idClaims(now, nil), "bank-1"), bank.set, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.StoreBirthDate(context.Background(), "c", birth, IDTokenSource, bankIssuer); err != nil {
		t.Fatal(err)
	}
	over18 := insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}
	if res := derive1(t, d, "c", over18, now); !res.Available || !res.Holds {
		t.Errorf("age over 18 = available %v, holds %v; want true, true from the ID token", res.Available, res.Holds)
	}

	// Only the birth date is stored: no name, address or subject.
	rows, err := e.Query(context.Background(), `SELECT name, length(address_lines), post_code, source, party_id FROM parties FINAL WHERE customer_id = 'c'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var name, postCode, source, partyID string
		var lines uint64
		if err := rows.Scan(&name, &lines, &postCode, &source, &partyID); err != nil {
			t.Fatal(err)
		}
		if name != "" || lines != 0 || postCode != "" || source != IDTokenSource || strings.Contains(partyID, "248289761001") {
			t.Errorf("stored party = %q, %d lines, %q, %q, %q; want the birth date alone", name, lines, postCode, source, partyID)
		}
	}

	// A party record from the bank with another date makes age unknown.
	insertParty(t, e, "c", party{id: "p1", birth: "2008-12-05", postCode: "SW1A 1AA"})
	if res := derive1(t, d, "c", over18, now); res.Available {
		t.Error("age available although the ID token and the party record disagree")
	}
}
