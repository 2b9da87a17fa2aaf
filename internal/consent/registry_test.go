package consent_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

func TestCheckRedirectURI_cases(t *testing.T) {
	tests := []struct {
		uri, env string
		wantErr  string // "" for valid
	}{
		{"https://shop.example/return", consent.EnvLive, ""},
		{"https://shop.example:8443/return?from=insights", consent.EnvLive, ""},
		{"http://127.0.0.1:9000/cb", consent.EnvSandbox, ""},
		{"http://localhost/cb", consent.EnvSandbox, ""},
		{"http://[::1]:9000/cb", consent.EnvSandbox, ""},
		{"http://127.0.0.1:9000/cb", consent.EnvLive, "only for sandbox clients"},
		{"http://shop.example/cb", consent.EnvSandbox, "use https"},
		{"https://shop.example/cb#frag", consent.EnvLive, "fragment"},
		{"https://user:pw@shop.example/cb", consent.EnvLive, "user information"},
		{"/relative/path", consent.EnvLive, "absolute URI"},
		{"javascript:alert(1)", consent.EnvLive, "absolute URI"},
		{"ftp://shop.example/cb", consent.EnvLive, `scheme "ftp"`},
		{"https://shop.example/" + strings.Repeat("a", 2001), consent.EnvLive, "longer than"},
	}
	for _, tt := range tests {
		err := consent.CheckRedirectURI(tt.uri, tt.env)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("CheckRedirectURI(%q, %s) = %v, want nil", tt.uri, tt.env, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("CheckRedirectURI(%q, %s) = %v, want error containing %q", tt.uri, tt.env, err, tt.wantErr)
		}
	}
}

func TestRegister_metadataRoundTrip(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	reg, key, err := f.svc.Register(ctx, consent.ClientMetadata{
		Name: "Sandbox Shop", AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver},
		RedirectURIs: []string{"http://127.0.0.1:9000/cb", "https://shop.example/return"},
		Contact:      "ops@shop.example", Environment: consent.EnvSandbox,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(key, "ik_") {
		t.Errorf("API key %q, want the ik_ prefix", key)
	}
	got, err := f.svc.ClientRegistration(ctx, reg.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Environment != consent.EnvSandbox || got.Contact != "ops@shop.example" || got.Auth != "api_key" {
		t.Errorf("registration = %+v", got)
	}
	if len(got.RedirectURIs) != 2 || got.RedirectURIs[1] != "https://shop.example/return" {
		t.Errorf("redirect URIs = %q", got.RedirectURIs)
	}

	// Disabling keeps the metadata: every write stores the whole row.
	if err := f.svc.SetClientDisabled(ctx, reg.ID, true); err != nil {
		t.Fatal(err)
	}
	got, err = f.svc.ClientRegistration(ctx, reg.ID)
	if err != nil || !got.Disabled || got.Environment != consent.EnvSandbox || len(got.RedirectURIs) != 2 {
		t.Errorf("after disable: %+v, %v", got, err)
	}
}

func TestRegister_invalidMetadataNamesField(t *testing.T) {
	f := newFixture(t)
	age := []insights.ClaimKind{insights.ClaimAgeOver}
	tests := []struct {
		name      string
		md        consent.ClientMetadata
		wantField string
	}{
		{"blank name", consent.ClientMetadata{Name: " ", AllowedClaims: age}, "client_name"},
		{"no claims", consent.ClientMetadata{Name: "Shop"}, "allowed_claims"},
		{"unknown claim", consent.ClientMetadata{Name: "Shop", AllowedClaims: []insights.ClaimKind{"shoe_size"}}, "allowed_claims[0]"},
		{"bad env", consent.ClientMetadata{Name: "Shop", AllowedClaims: age, Environment: "prod"}, "environment"},
		{"http redirect for live", consent.ClientMetadata{Name: "Shop", AllowedClaims: age,
			RedirectURIs: []string{"https://shop.example/a", "http://127.0.0.1/b"}}, "redirect_uris[1]"},
		{"bad contact", consent.ClientMetadata{Name: "Shop", AllowedClaims: age, Contact: "Ops <ops@shop.example>"}, "contacts"},
		{"keys twice", consent.ClientMetadata{Name: "Shop", AllowedClaims: age, JWKS: []byte(`{"keys":[]}`), JWKSURI: "https://shop.example/jwks"}, "jwks and jwks_uri"},
		{"bad jwks", consent.ClientMetadata{Name: "Shop", AllowedClaims: age, JWKS: []byte(`{"keys":[{"kty":"EC"}]}`)}, "jwks: JWK set: keys[0].kid"},
		{"http jwks_uri for live", consent.ClientMetadata{Name: "Shop", AllowedClaims: age, JWKSURI: "http://127.0.0.1:1/jwks"}, "jwks_uri"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := f.svc.Register(context.Background(), tt.md)
			if insights.ErrorCode(err) != insights.ErrInvalid {
				t.Fatalf("error = %v, want invalid", err)
			}
			if !strings.HasPrefix(insights.ErrorMessage(err), tt.wantField) {
				t.Errorf("message %q does not start with %q", insights.ErrorMessage(err), tt.wantField)
			}
		})
	}
}

func TestRegister_softwareIDUnique(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	md := consent.ClientMetadata{Name: "Shop", AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver}, SoftwareID: "shop-app"}
	first, _, err := f.svc.Register(ctx, md)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Register(ctx, md); insights.ErrorCode(err) != insights.ErrConflict {
		t.Fatalf("second registration: %v, want conflict", err)
	}
	if err := f.svc.SetClientDisabled(ctx, first.ID, true); err != nil {
		t.Fatal(err)
	}
	second, _, err := f.svc.Register(ctx, md)
	if err != nil {
		t.Fatalf("registration after disabling the first: %v", err)
	}
	if err := f.svc.SetClientDisabled(ctx, first.ID, false); insights.ErrorCode(err) != insights.ErrConflict {
		t.Errorf("enabling the first while the second is active: %v, want conflict", err)
	}
	if err := f.svc.SetClientDisabled(ctx, second.ID, false); err != nil {
		t.Errorf("enabling the active second again: %v", err)
	}
	if err := f.svc.SetClientDisabled(ctx, second.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetClientDisabled(ctx, first.ID, false); err != nil {
		t.Errorf("enabling the first after disabling the second: %v", err)
	}
}

// jwksServer serves a JWK set on 127.0.0.1 that the test can replace, and
// counts the fetches.
type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	body    []byte
	fetches atomic.Int32
}

func newJWKSServer(t *testing.T, body []byte) *jwksServer {
	s := &jwksServer{body: body}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fetches.Add(1)
		s.mu.Lock()
		defer s.mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Header().Set("Cache-Control", "max-age=600")
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *jwksServer) set(body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.body = body
}

func TestClientAssertion_jwksURIRotation(t *testing.T) {
	defer consent.SetRemoteJWKSMinRefetch(0)()
	f := newFixture(t)
	ctx := context.Background()
	oldKey, newKey := newP256(t), newP256(t)
	srv := newJWKSServer(t, jwksJSON(t, publicJWK(t, oldKey, "2026-01", "ES256")))

	reg, apiKey, err := f.svc.Register(ctx, consent.ClientMetadata{Name: "URI Shop", AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver},
		Environment: consent.EnvSandbox, JWKSURI: srv.URL + "/jwks.json"})
	if err != nil {
		t.Fatal(err)
	}
	if apiKey != "" || reg.Auth != "jwks_uri" {
		t.Fatalf("key client got API key %q, auth %q", apiKey, reg.Auth)
	}
	claims := func(jti string) map[string]any {
		return map[string]any{"iss": reg.ID, "sub": reg.ID, "aud": "http://127.0.0.1:8080/graphql",
			"iat": f.now.Unix(), "exp": f.now.Add(time.Minute).Unix(), "jti": jti}
	}

	// The cached set verifies the old key without another fetch.
	fetches := srv.fetches.Load()
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, claims("a"), jwa.ES256, "2026-01", oldKey)); err != nil {
		t.Fatalf("old key: %v", err)
	}
	if got := srv.fetches.Load(); got != fetches {
		t.Errorf("fetches = %d after a cached kid, want %d", got, fetches)
	}

	// The client publishes its new key next to the old one and signs with
	// it at once: the unknown kid makes the set be fetched again.
	srv.set(jwksJSON(t, publicJWK(t, oldKey, "2026-01", "ES256"), publicJWK(t, newKey, "2026-02", "ES256")))
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, claims("b"), jwa.ES256, "2026-02", newKey)); err != nil {
		t.Fatalf("new key after rollover: %v", err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, claims("c"), jwa.ES256, "2026-01", oldKey)); err != nil {
		t.Errorf("old key during rollover: %v", err)
	}

	// A kid the client never published stays unauthorized.
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, claims("d"), jwa.ES256, "2099-01", newP256(t))); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("unknown kid: %v, want unauthorized", err)
	}
}

func TestSetClientKeys_inlineRotation(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	next := newP256(t)

	// Step 1: the set holds the old and the new key; both verify.
	both := jwksJSON(t, publicJWK(t, f.es256, "es-1", "ES256"), publicJWK(t, next, "es-2", "ES256"))
	if err := f.svc.SetClientKeys(ctx, f.keyClient.ID, both, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("r1"), jwa.ES256, "es-1", f.es256)); err != nil {
		t.Errorf("old key during rotation: %v", err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("r2"), jwa.ES256, "es-2", next)); err != nil {
		t.Errorf("new key during rotation: %v", err)
	}

	// Step 2: the old key is dropped and no longer verifies.
	if err := f.svc.SetClientKeys(ctx, f.keyClient.ID, jwksJSON(t, publicJWK(t, next, "es-2", "ES256")), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateClientAssertion(ctx, sign(t, f.claims("r3"), jwa.ES256, "es-1", f.es256)); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("dropped key: %v, want unauthorized", err)
	}
	reg, err := f.svc.ClientRegistration(ctx, f.keyClient.ID)
	if err != nil || len(reg.KeyIDs) != 1 || reg.KeyIDs[0] != "es-2" {
		t.Errorf("registration after rotation: %+v, %v", reg, err)
	}
}

func TestSandbox_demoCustomersOnly(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	sandbox, _, err := f.svc.Register(ctx, consent.ClientMetadata{Name: "Sandbox Shop",
		AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver}, Environment: consent.EnvSandbox})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.MarkDemoCustomers(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	newRequest := func(client insights.Client) insights.AttestationRequest {
		req, err := f.svc.CreateRequest(ctx, client, "Age check", []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, consent.TokenOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return req
	}

	// A real customer cannot open or decide a sandbox request.
	req := newRequest(sandbox.Client)
	if _, err := f.svc.Preview(ctx, "bob", req); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("real customer's preview of a sandbox request: %v, want not_found", err)
	}
	if err := f.svc.Decide(ctx, "bob", req.ID, true); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("real customer's decision on a sandbox request: %v, want not_found", err)
	}

	// A demo customer can, and the token carries "env":"sandbox".
	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatalf("demo customer's approval: %v", err)
	}
	if env := tokenEnv(t, f, sandbox.Client, req.ID); env != "sandbox" {
		t.Errorf("sandbox token env = %q, want sandbox", env)
	}

	// A live client reaches any customer, and its tokens carry no env.
	live := newRequest(f.client)
	if err := f.svc.Decide(ctx, "bob", live.ID, true); err != nil {
		t.Fatalf("live request approved by a real customer: %v", err)
	}
	if env := tokenEnv(t, f, f.client, live.ID); env != "" {
		t.Errorf("live token env = %q, want none", env)
	}
}

// tokenEnv returns the "env" member of the payload of a request's token.
func tokenEnv(t *testing.T, f *fixture, client insights.Client, requestID string) string {
	t.Helper()
	_, att, err := f.svc.ClientRequest(context.Background(), client, requestID)
	if err != nil || att == nil {
		t.Fatalf("ClientRequest: %+v, %v", att, err)
	}
	parts := strings.Split(strings.Split(att.Token, "~")[0], ".")
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Env string `json:"env"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Env
}

func TestRequestRedirect_checkAndTarget(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.SetClientRedirectURIs(ctx, f.client.ID, []string{"https://shop.example/return?shop=1"}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, uri, state, wantPrefix string
	}{
		{"unregistered", "https://evil.example/return", "s", "redirectUri"},
		{"prefix of registered", "https://shop.example/return", "s", "redirectUri"},
		{"state without uri", "", "s", "state"},
		{"control byte in state", "https://shop.example/return?shop=1", "a\nb", "state"},
		{"long state", "https://shop.example/return?shop=1", strings.Repeat("s", 513), "state"},
	}
	for _, tt := range tests {
		err := f.svc.CheckRequestRedirect(ctx, f.client, tt.uri, tt.state)
		if insights.ErrorCode(err) != insights.ErrInvalid || !strings.HasPrefix(insights.ErrorMessage(err), tt.wantPrefix) {
			t.Errorf("%s: error %v, want invalid starting with %q", tt.name, err, tt.wantPrefix)
		}
	}

	req := f.request(t)
	if err := f.svc.CheckRequestRedirect(ctx, f.client, "https://shop.example/return?shop=1", "xyz 123"); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.StoreRequestRedirect(ctx, f.client.ID, req.ID, "https://shop.example/return?shop=1", "xyz 123"); err != nil {
		t.Fatal(err)
	}
	target, ok, err := f.svc.DecisionRedirect(ctx, req.ID, false)
	if err != nil || !ok {
		t.Fatalf("DecisionRedirect = %q, %v, %v", target, ok, err)
	}
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "shop.example" || q.Get("shop") != "1" || q.Get("request_id") != req.ID || q.Get("status") != "denied" || q.Get("state") != "xyz 123" {
		t.Errorf("redirect target %q", target)
	}

	// A redirect URI the client has since removed is not used.
	if err := f.svc.SetClientRedirectURIs(ctx, f.client.ID, []string{"https://shop.example/other"}); err != nil {
		t.Fatal(err)
	}
	if target, ok, err := f.svc.DecisionRedirect(ctx, req.ID, true); err != nil || ok {
		t.Errorf("DecisionRedirect after removal = %q, %v, %v; want no redirect", target, ok, err)
	}
}
