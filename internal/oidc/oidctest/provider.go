// Package oidctest runs an OpenID provider on 127.0.0.1 for tests. It serves
// discovery, a JWK set, and an authorization endpoint that signs in a
// configured user and redirects back with a code. Its token endpoint checks
// the client secret, the redirect URI and the PKCE verifier. The RSA
// signing key is generated when the provider starts.
package oidctest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Provider is a running test provider.
type Provider struct {
	Issuer       string
	ClientID     string
	ClientSecret string

	server *httptest.Server

	mu          sync.Mutex
	key         jwk.Key // current signing key, published in the JWK set
	retired     []jwk.Key
	subject     string
	extraClaims map[string]any
	edit        func(*TokenEdit)
	codes       map[string]*grant
	tokenCalls  int
}

type grant struct {
	redirectURI string
	challenge   string
	nonce       string
	subject     string
	claims      map[string]any
	expires     time.Time
	used        bool
}

// TokenEdit lets a test change the next ID token before it is signed.
type TokenEdit struct {
	Claims map[string]any
	// SignWithUnpublishedKey signs with a fresh key whose kid is not in the
	// JWK set.
	SignWithUnpublishedKey bool
}

// Start runs a provider for one client and stops it when the test ends.
func Start(t testing.TB, clientID, clientSecret string) *Provider {
	t.Helper()
	p := &Provider{ClientID: clientID, ClientSecret: clientSecret, codes: map[string]*grant{}, subject: "user-1"}
	key, err := newSigningKey()
	if err != nil {
		t.Fatalf("oidctest: %v", err)
	}
	p.key = key

	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.handleDiscovery)
	mux.HandleFunc("GET /authorize", p.handleAuthorize)
	mux.HandleFunc("POST /token", p.handleToken)
	mux.HandleFunc("GET /jwks", p.handleJWKS)
	p.server = httptest.NewServer(mux)
	p.Issuer = p.server.URL
	t.Cleanup(p.server.Close)
	return p
}

// SignIn sets the user the authorization endpoint signs in from now on, and
// claims added to their ID tokens.
func (p *Provider) SignIn(subject string, claims map[string]any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.subject, p.extraClaims = subject, claims
}

// EditNextToken makes the token endpoint pass the next ID token through edit
// before signing it.
func (p *Provider) EditNextToken(edit func(*TokenEdit)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.edit = edit
}

// RotateKey starts signing with a new key. The JWK set then publishes the
// new key and the old one, as providers do during a rollover.
func (p *Provider) RotateKey() error {
	key, err := newSigningKey()
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retired = append(p.retired, p.key)
	p.key = key
	return nil
}

// TokenCalls returns how many requests the token endpoint has received.
func (p *Provider) TokenCalls() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokenCalls
}

func newSigningKey() (jwk.Key, error) {
	raw, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate RSA key: %w", err)
	}
	key, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, err
	}
	kid := make([]byte, 8)
	if _, err := rand.Read(kid); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.KeyIDKey, base64.RawURLEncoding.EncodeToString(kid)); err != nil {
		return nil, err
	}
	if err := key.Set(jwk.AlgorithmKey, jwa.RS256); err != nil {
		return nil, err
	}
	return key, nil
}

func (p *Provider) handleDiscovery(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                p.Issuer,
		"authorization_endpoint":                p.Issuer + "/authorize",
		"token_endpoint":                        p.Issuer + "/token",
		"jwks_uri":                              p.Issuer + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	})
}

func (p *Provider) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	keys := append([]jwk.Key{p.key}, p.retired...)
	p.mu.Unlock()

	set := jwk.NewSet()
	for _, key := range keys {
		pub, err := key.PublicKey()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = set.AddKey(pub)
	}
	writeJSON(w, http.StatusOK, set)
}

// handleAuthorize signs in the configured user without a login form and
// redirects back with a code.
func (p *Provider) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	redirectURI := q.Get("redirect_uri")
	target, err := url.Parse(redirectURI)
	if err != nil || target.Scheme == "" || target.Host == "" {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("client_id") != p.ClientID {
		http.Error(w, "unknown client_id", http.StatusBadRequest)
		return
	}
	fail := func(code string) {
		back := target.Query()
		back.Set("error", code)
		back.Set("state", q.Get("state"))
		target.RawQuery = back.Encode()
		http.Redirect(w, r, target.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type")
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		fail("invalid_request")
		return
	}

	code := make([]byte, 16)
	if _, err := rand.Read(code); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	codeText := base64.RawURLEncoding.EncodeToString(code)
	p.mu.Lock()
	p.codes[codeText] = &grant{redirectURI: redirectURI, challenge: q.Get("code_challenge"), nonce: q.Get("nonce"),
		subject: p.subject, claims: p.extraClaims, expires: time.Now().Add(time.Minute)}
	p.mu.Unlock()

	back := target.Query()
	back.Set("code", codeText)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (p *Provider) handleToken(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tokenCalls++

	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", "invalid form")
		return
	}
	id, secret, ok := r.BasicAuth()
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != p.ClientID || subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) != 1 {
		tokenError(w, http.StatusUnauthorized, "invalid_client", "unknown client or wrong secret")
		return
	}
	if r.PostForm.Get("grant_type") != "authorization_code" {
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", "want authorization_code")
		return
	}
	g := p.codes[r.PostForm.Get("code")]
	if g == nil || g.used || time.Now().After(g.expires) {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "unknown, used or expired code")
		return
	}
	g.used = true
	if r.PostForm.Get("redirect_uri") != g.redirectURI {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "redirect_uri differs from the authorization request")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		tokenError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed")
		return
	}

	now := time.Now()
	claims := map[string]any{
		"iss":   p.Issuer,
		"sub":   g.subject,
		"aud":   p.ClientID,
		"iat":   now.Unix(),
		"exp":   now.Add(5 * time.Minute).Unix(),
		"nonce": g.nonce,
	}
	for k, v := range g.claims {
		claims[k] = v
	}
	edit := TokenEdit{Claims: claims}
	if p.edit != nil {
		p.edit(&edit)
		p.edit = nil
	}
	key := p.key
	if edit.SignWithUnpublishedKey {
		var err error
		if key, err = newSigningKey(); err != nil {
			tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
			return
		}
	}
	payload, err := json.Marshal(edit.Claims)
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	headers := jws.NewHeaders()
	_ = headers.Set(jws.KeyIDKey, key.KeyID())
	_ = headers.Set(jws.TypeKey, "JWT")
	signed, err := jws.Sign(payload, jws.WithKey(jwa.RS256, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		tokenError(w, http.StatusInternalServerError, "server_error", err.Error())
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": "unused-" + base64.RawURLEncoding.EncodeToString(sum[:8]),
		"token_type":   "Bearer",
		"expires_in":   300,
		"id_token":     string(signed),
	})
}

func tokenError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
