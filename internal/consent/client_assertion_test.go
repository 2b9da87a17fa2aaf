package consent_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/api"
	"github.com/openbanking-insights/insights/internal/consent"
)

// assertionFixture is a client registered with a JWK set of one ES256 and
// one EdDSA key.
type assertionFixture struct {
	*fixture
	keyClient insights.Client
	es256     any // private key of kid "es-1"
	eddsa     any // private key of kid "ed-1"
}

func publicJWK(t *testing.T, private any, kid, alg string) map[string]any {
	t.Helper()
	key, err := jwk.FromRaw(private)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := key.PublicKey()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(jwkJSON(t, mustRaw(t, pub))), &m); err != nil {
		t.Fatal(err)
	}
	m["kid"], m["alg"] = kid, alg
	return m
}

func mustRaw(t *testing.T, key jwk.Key) any {
	t.Helper()
	var raw any
	if err := key.Raw(&raw); err != nil {
		t.Fatal(err)
	}
	return raw
}

func jwksJSON(t *testing.T, keys ...map[string]any) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newAssertionFixture(t *testing.T) *assertionFixture {
	t.Helper()
	f := &assertionFixture{fixture: newFixture(t), es256: newP256(t)}
	_, edPrivate, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.eddsa = edPrivate
	set := jwksJSON(t, publicJWK(t, f.es256, "es-1", "ES256"), publicJWK(t, f.eddsa, "ed-1", "EdDSA"))
	f.keyClient, err = f.svc.RegisterClientWithJWKS(context.Background(), "Key Shop", []insights.ClaimKind{insights.ClaimAgeOver}, set)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// claims returns valid assertion claims for the key client at f.now.
func (f *assertionFixture) claims(jti string) map[string]any {
	return map[string]any{
		"iss": f.keyClient.ID, "sub": f.keyClient.ID, "aud": "http://127.0.0.1:8080/graphql",
		"iat": f.now.Unix(), "exp": f.now.Add(2 * time.Minute).Unix(), "jti": jti,
	}
}

// sign returns a compact JWS of claims signed with key under alg and kid.
func sign(t *testing.T, claims map[string]any, alg jwa.SignatureAlgorithm, kid string, key any) string {
	t.Helper()
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	headers := jws.NewHeaders()
	if err := headers.Set(jws.KeyIDKey, kid); err != nil {
		t.Fatal(err)
	}
	token, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		t.Fatal(err)
	}
	return string(token)
}

// unsigned returns a compact JWS with the given header and a placeholder
// signature, for algorithms jwx refuses to sign with, such as "none".
func unsigned(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	enc := base64.RawURLEncoding.EncodeToString
	return enc(h) + "." + enc(c) + "." + enc([]byte("signature"))
}

func TestAuthenticateClientAssertion_cases(t *testing.T) {
	f := newAssertionFixture(t)
	other := newP256(t)
	with := func(jti string, change func(map[string]any)) map[string]any {
		c := f.claims(jti)
		change(c)
		return c
	}
	keep := func(map[string]any) {}

	tests := []struct {
		name      string
		token     string
		wantError string // "" when the assertion must authenticate
	}{
		{"valid ES256", sign(t, f.claims("j1"), jwa.ES256, "es-1", f.es256), ""},
		{"valid EdDSA", sign(t, f.claims("j2"), jwa.EdDSA, "ed-1", f.eddsa), ""},
		{"audience array", sign(t, with("j3", func(c map[string]any) { c["aud"] = []string{"x", "http://127.0.0.1:8080/graphql"} }), jwa.ES256, "es-1", f.es256), ""},
		{"expired", sign(t, with("e1", func(c map[string]any) { c["exp"] = f.now.Add(-time.Second).Unix() }), jwa.ES256, "es-1", f.es256), "expired"},
		{"exp too far", sign(t, with("e2", func(c map[string]any) { c["exp"] = f.now.Add(10 * time.Minute).Unix() }), jwa.ES256, "es-1", f.es256), "exp is more than"},
		{"exp missing", sign(t, with("e3", func(c map[string]any) { delete(c, "exp") }), jwa.ES256, "es-1", f.es256), "exp is missing"},
		{"iat in future", sign(t, with("e4", func(c map[string]any) { c["iat"] = f.now.Add(time.Minute).Unix() }), jwa.ES256, "es-1", f.es256), "in the future"},
		{"wrong aud", sign(t, with("e5", func(c map[string]any) { c["aud"] = "http://127.0.0.1:8080/token" }), jwa.ES256, "es-1", f.es256), "aud does not include"},
		{"unknown iss", sign(t, with("e6", func(c map[string]any) { c["iss"], c["sub"] = "cli_unknown", "cli_unknown" }), jwa.ES256, "es-1", f.es256), "not a registered client ID"},
		{"iss of API-key client", sign(t, with("e7", func(c map[string]any) { c["iss"], c["sub"] = f.client.ID, f.client.ID }), jwa.ES256, "es-1", f.es256), "no registered JWK set"},
		{"wrong sub", sign(t, with("e8", func(c map[string]any) { c["sub"] = "someone" }), jwa.ES256, "es-1", f.es256), "iss and sub"},
		{"jti missing", sign(t, with("", keep), jwa.ES256, "es-1", f.es256), "jti must be"},
		{"unknown kid", sign(t, f.claims("e9"), jwa.ES256, "es-9", f.es256), "kid is not in"},
		{"kid missing", unsigned(t, map[string]any{"alg": "ES256"}, f.claims("e10")), "kid is missing"},
		{"alg none", unsigned(t, map[string]any{"alg": "none", "kid": "es-1"}, f.claims("e11")), "alg is not accepted"},
		{"HS256", sign(t, f.claims("e12"), jwa.HS256, "es-1", []byte("a shared secret of thirty-two bytes!")), "alg is not accepted"},
		{"alg differs from key", sign(t, f.claims("e13"), jwa.EdDSA, "es-1", f.eddsa), "header alg differs"},
		{"another key", sign(t, f.claims("e14"), jwa.ES256, "es-1", other), "signature does not verify"},
		{"crit header", unsigned(t, map[string]any{"alg": "ES256", "kid": "es-1", "crit": []string{"b64"}}, f.claims("e15")), "crit"},
		{"not a JWS", "a.b", "not a compact JWS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.svc.AuthenticateClientAssertion(context.Background(), tt.token)
			if tt.wantError == "" {
				if err != nil || got.ID != f.keyClient.ID {
					t.Fatalf("AuthenticateClientAssertion = %+v, %v; want client %s", got, err, f.keyClient.ID)
				}
				return
			}
			if insights.ErrorCode(err) != insights.ErrUnauthorized {
				t.Fatalf("error = %v, want unauthorized", err)
			}
			if !strings.Contains(err.Error(), tt.wantError) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantError)
			}
			for _, part := range strings.Split(tt.token, ".") {
				if len(part) > 8 && strings.Contains(err.Error(), part) {
					t.Errorf("error %q repeats part of the token", err)
				}
			}
		})
	}
}

func TestAuthenticateClientAssertion_replay(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	token := sign(t, f.claims("once"), jwa.ES256, "es-1", f.es256)

	if _, err := f.svc.AuthenticateClientAssertion(ctx, token); err != nil {
		t.Fatalf("first use: %v", err)
	}
	_, err := f.svc.AuthenticateClientAssertion(ctx, token)
	if insights.ErrorCode(err) != insights.ErrUnauthorized || !strings.Contains(err.Error(), "jti was already used") {
		t.Errorf("second use: %v, want unauthorized for a used jti", err)
	}

	// The same jti signed again is still a replay; after it expires it is
	// rejected as expired, never accepted.
	again := sign(t, f.claims("once"), jwa.EdDSA, "ed-1", f.eddsa)
	if _, err := f.svc.AuthenticateClientAssertion(ctx, again); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("same jti in a new token: %v, want unauthorized", err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("fresh"), jwa.ES256, "es-1", f.es256)); err != nil {
		t.Errorf("fresh jti: %v", err)
	}
}

func TestAuthenticateClientAssertion_disabledClient(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	if err := f.svc.SetClientDisabled(ctx, f.keyClient.ID, true); err != nil {
		t.Fatal(err)
	}
	_, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("d1"), jwa.ES256, "es-1", f.es256))
	if insights.ErrorCode(err) != insights.ErrUnauthorized || !strings.Contains(err.Error(), "disabled") {
		t.Fatalf("disabled client: %v, want unauthorized", err)
	}

	// Re-enabling keeps the JWK set, so the keys work again.
	if err := f.svc.SetClientDisabled(ctx, f.keyClient.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("d2"), jwa.ES256, "es-1", f.es256)); err != nil {
		t.Errorf("re-enabled client: %v", err)
	}
}

func TestRegisterClientWithJWKS_noAPIKey(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	for _, key := range []string{"ik_", "ik_x"} {
		if _, err := f.svc.AuthenticateClient(ctx, key); insights.ErrorCode(err) != insights.ErrUnauthorized {
			t.Errorf("API key %q: %v, want unauthorized", key, err)
		}
	}
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
		t.Errorf("API key of the other client: %v", err)
	}
}

func TestParseClientJWKS_invalid(t *testing.T) {
	ec := newP256(t)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	good := publicJWK(t, ec, "es-1", "ES256")
	with := func(change func(map[string]any)) map[string]any {
		m := publicJWK(t, ec, "es-2", "ES256")
		change(m)
		return m
	}
	var private map[string]any
	if err := json.Unmarshal([]byte(jwkJSON(t, ec)), &private); err != nil {
		t.Fatal(err)
	}
	private["kid"], private["alg"] = "es-2", "ES256"

	tests := []struct {
		name string
		data []byte
		want string
	}{
		{"not JSON", []byte("keys"), "not JSON"},
		{"no keys", []byte(`{"keys":[]}`), "keys is missing or empty"},
		{"private key", jwksJSON(t, good, private), "keys[1].kty"},
		{"kid missing", jwksJSON(t, good, with(func(m map[string]any) { delete(m, "kid") })), "keys[1].kid: missing"},
		{"alg missing", jwksJSON(t, with(func(m map[string]any) { delete(m, "alg") })), "keys[0].alg: missing"},
		{"alg RS256", jwksJSON(t, with(func(m map[string]any) { m["alg"] = "RS256" })), `keys[0].alg: "RS256" is not supported`},
		{"alg HS256", jwksJSON(t, with(func(m map[string]any) { m["alg"] = "HS256" })), `keys[0].alg: "HS256"`},
		{"alg does not fit key", jwksJSON(t, with(func(m map[string]any) { m["alg"] = "EdDSA" })), "keys[0].kty"},
		{"use enc", jwksJSON(t, with(func(m map[string]any) { m["use"] = "enc" })), "keys[0].use"},
		{"duplicate kid", jwksJSON(t, good, publicJWK(t, ed, "es-1", "EdDSA")), "keys[1].kid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := consent.ParseClientJWKS(tt.data)
			if insights.ErrorCode(err) != insights.ErrInvalid {
				t.Fatalf("error = %v, want invalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %q, want it to contain %q", err, tt.want)
			}
			if d, ok := private["d"].(string); ok && strings.Contains(err.Error(), d) {
				t.Errorf("error repeats the private key")
			}
		})
	}

	set, err := consent.ParseClientJWKS(jwksJSON(t, good, publicJWK(t, ed, "ed-1", "EdDSA")))
	if err != nil || set.Len() != 2 {
		t.Errorf("valid set: %v keys, %v", set, err)
	}
}

// TestClientAssertion_graphQLOverHTTP runs the GraphQL viewer query over
// loopback HTTP with a client assertion as the bearer value.
func TestClientAssertion_graphQLOverHTTP(t *testing.T) {
	f := newAssertionFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.NewHandler(api.Options{Consent: f.svc}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	query := func(bearer string) string {
		body, _ := json.Marshal(map[string]any{"query": "{ viewer { id name } }"})
		req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/graphql", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	token := sign(t, f.claims("http-1"), jwa.ES256, "es-1", f.es256)
	want := `{"data":{"viewer":{"id":"` + f.keyClient.ID + `","name":"Key Shop"}}}`
	if got := query(token); got != want {
		t.Errorf("with assertion: %s, want %s", got, want)
	}
	replay := query(token)
	if !strings.Contains(replay, "jti was already used") || strings.Contains(replay, token) {
		t.Errorf("replayed assertion: %s, want an unauthorized error without the token", replay)
	}
	if got := query(f.apiKey); !strings.Contains(got, f.client.ID) {
		t.Errorf("API key of another client: %s, want it to authenticate", got)
	}
}
