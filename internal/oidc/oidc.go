// Package oidc is an OpenID Connect relying party for the authorization code
// flow with PKCE (RFC 7636, method S256). It finds the provider's endpoints
// through discovery, exchanges the code at the token endpoint and verifies
// the ID token with jwx: the signature against the provider's JWK set, and
// the iss, aud, azp, exp, iat and nonce claims.
package oidc

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Config is the relying party's registration at the provider.
type Config struct {
	// Issuer is the provider's issuer URL. Discovery reads
	// Issuer + "/.well-known/openid-configuration", and ID tokens must carry
	// exactly this value in iss.
	Issuer       string
	ClientID     string
	ClientSecret string // empty for a public client, which authenticates with PKCE alone
	// RedirectURL is the callback registered at the provider.
	RedirectURL string
	// Scopes requested besides "openid", which is always sent.
	Scopes []string
	// HTTPClient makes every request to the provider. Nil means a client
	// with a 10-second timeout.
	HTTPClient *http.Client
	// Now is the clock for exp and iat. Nil means time.Now.
	Now func() time.Time
}

// Metadata is the part of the provider's discovery document (OpenID Connect
// Discovery 1.0, section 3) that the client uses.
type Metadata struct {
	Issuer                            string   `json:"issuer"`
	AuthorizationEndpoint             string   `json:"authorization_endpoint"`
	TokenEndpoint                     string   `json:"token_endpoint"`
	JWKSURI                           string   `json:"jwks_uri"`
	IDTokenSigningAlgValuesSupported  []string `json:"id_token_signing_alg_values_supported"`
	CodeChallengeMethodsSupported     []string `json:"code_challenge_methods_supported"`
	TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
}

// Client runs the authorization code flow against one provider. It is safe
// for concurrent use.
type Client struct {
	cfg      Config
	meta     Metadata
	keys     *keyCache
	algs     []string // ID token signature algorithms accepted
	postAuth bool     // send the client secret in the form, not in an Authorization header
	now      func() time.Time
}

const (
	maxResponseBytes = 1 << 20 // discovery, token and JWK set responses
	// clockSkew is how far exp and iat may be off, for clocks of the
	// provider and this service that disagree slightly.
	clockSkew = time.Minute
	// randomBytes is the entropy of state, nonce and PKCE verifier: 256
	// bits, within the 43 to 128 characters RFC 7636 allows a verifier.
	randomBytes = 32
)

// Discover fetches the provider's discovery document, checks it and returns
// a client for it.
func Discover(ctx context.Context, cfg Config) (*Client, error) {
	if err := checkEndpoint("issuer", cfg.Issuer); err != nil {
		return nil, err
	}
	if cfg.ClientID == "" {
		return nil, errors.New("oidc: client ID is empty")
	}
	if err := checkEndpoint("redirect URL", cfg.RedirectURL); err != nil {
		return nil, err
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}

	discoveryURL := strings.TrimSuffix(cfg.Issuer, "/") + "/.well-known/openid-configuration"
	var meta Metadata
	if err := getJSON(ctx, cfg.HTTPClient, discoveryURL, &meta); err != nil {
		return nil, fmt.Errorf("oidc: discovery: %w", err)
	}
	if meta.Issuer != cfg.Issuer {
		return nil, fmt.Errorf("oidc: discovery document at %s names issuer %q, want %q", discoveryURL, meta.Issuer, cfg.Issuer)
	}
	for name, endpoint := range map[string]string{"authorization_endpoint": meta.AuthorizationEndpoint, "token_endpoint": meta.TokenEndpoint, "jwks_uri": meta.JWKSURI} {
		if err := checkEndpoint("discovery "+name, endpoint); err != nil {
			return nil, err
		}
	}
	// A provider that lists its PKCE methods must list S256. One that
	// lists none may still support it, and RFC 8414 makes the list optional.
	if len(meta.CodeChallengeMethodsSupported) > 0 && !slices.Contains(meta.CodeChallengeMethodsSupported, "S256") {
		return nil, fmt.Errorf("oidc: provider %s does not support PKCE method S256 (code_challenge_methods_supported %q)", cfg.Issuer, meta.CodeChallengeMethodsSupported)
	}

	c := &Client{cfg: cfg, meta: meta, now: cfg.Now}
	c.algs = acceptedAlgorithms(meta.IDTokenSigningAlgValuesSupported)
	if len(c.algs) == 0 {
		return nil, fmt.Errorf("oidc: provider %s signs ID tokens only with %q, none of which this client accepts (RS*, PS*, ES*, EdDSA)", cfg.Issuer, meta.IDTokenSigningAlgValuesSupported)
	}
	methods := meta.TokenEndpointAuthMethodsSupported
	c.postAuth = cfg.ClientSecret != "" && len(methods) > 0 && !slices.Contains(methods, "client_secret_basic") && slices.Contains(methods, "client_secret_post")
	c.keys = newKeyCache(meta.JWKSURI, cfg.HTTPClient, cfg.Now)
	return c, nil
}

// Metadata returns the provider's discovery document.
func (c *Client) Metadata() Metadata { return c.meta }

// acceptedAlgorithms returns the asymmetric algorithms among those the
// provider lists. "none" and the HMAC algorithms are never accepted, since
// an HMAC ID token is keyed with the client secret and "none" is unsigned.
// An empty list means RS256, which every provider must support.
func acceptedAlgorithms(listed []string) []string {
	if len(listed) == 0 {
		return []string{"RS256"}
	}
	known := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
	var algs []string
	for _, alg := range listed {
		if slices.Contains(known, alg) {
			algs = append(algs, alg)
		}
	}
	return algs
}

// checkEndpoint accepts an absolute https URL, or an http URL on a loopback
// address for development and tests.
func checkEndpoint(what, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil || u.Fragment != "" {
		return fmt.Errorf("oidc: %s %q: want an absolute https URL", what, raw)
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return fmt.Errorf("oidc: %s %q: want https; plain http is allowed only on a loopback address", what, raw)
	default:
		return fmt.Errorf("oidc: %s %q: want an absolute https URL", what, raw)
	}
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// AuthRequest is the per-sign-in secret state of one authorization request.
// The caller keeps it, tamper-proof, until the callback.
type AuthRequest struct {
	State    string // echoed by the provider, ties the callback to this browser
	Nonce    string // echoed in the ID token, ties the token to this request
	Verifier string // PKCE code verifier
}

// NewAuthRequest returns a fresh state, nonce and PKCE verifier, each 256
// random bits in base64url.
func NewAuthRequest() (AuthRequest, error) {
	var values [3]string
	for i := range values {
		b := make([]byte, randomBytes)
		if _, err := rand.Read(b); err != nil {
			return AuthRequest{}, fmt.Errorf("oidc: read random bytes: %w", err)
		}
		values[i] = b64.EncodeToString(b)
	}
	return AuthRequest{State: values[0], Nonce: values[1], Verifier: values[2]}, nil
}

// CodeChallenge returns the S256 code challenge of verifier:
// base64url(SHA-256(verifier)).
func CodeChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return b64.EncodeToString(sum[:])
}

// AuthCodeURL returns the provider's authorization URL for a.
func (c *Client) AuthCodeURL(a AuthRequest) string {
	scopes := []string{"openid"}
	for _, s := range c.cfg.Scopes {
		if s != "openid" && !slices.Contains(scopes, s) {
			scopes = append(scopes, s)
		}
	}
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {c.cfg.ClientID},
		"redirect_uri":          {c.cfg.RedirectURL},
		"scope":                 {strings.Join(scopes, " ")},
		"state":                 {a.State},
		"nonce":                 {a.Nonce},
		"code_challenge":        {CodeChallenge(a.Verifier)},
		"code_challenge_method": {"S256"},
	}
	u, _ := url.Parse(c.meta.AuthorizationEndpoint) // checked by Discover
	existing := u.Query()
	for k, v := range q {
		existing[k] = v
	}
	u.RawQuery = existing.Encode()
	return u.String()
}

// Exchange redeems an authorization code at the token endpoint with the
// PKCE verifier of a, and returns the verified ID token. The caller must
// already have checked the callback's state against a.State.
func (c *Client) Exchange(ctx context.Context, code string, a AuthRequest) (*IDToken, error) {
	if code == "" {
		return nil, errors.New("oidc: callback has no authorization code")
	}
	form := url.Values{
		"grant_type":    {"authorization_code"},
		"code":          {code},
		"redirect_uri":  {c.cfg.RedirectURL},
		"code_verifier": {a.Verifier},
		"client_id":     {c.cfg.ClientID},
	}
	if c.postAuth {
		form.Set("client_secret", c.cfg.ClientSecret)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.meta.TokenEndpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, fmt.Errorf("oidc: token request: %w", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if c.cfg.ClientSecret != "" && !c.postAuth {
		// RFC 6749 section 2.3.1: both parts form-encoded before Basic.
		req.SetBasicAuth(url.QueryEscape(c.cfg.ClientID), url.QueryEscape(c.cfg.ClientSecret))
	}

	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oidc: token request: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("oidc: read token response: %w", err)
	}
	var tr struct {
		IDToken          string `json:"id_token"`
		TokenType        string `json:"token_type"`
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	if err := json.Unmarshal(body, &tr); err != nil {
		return nil, fmt.Errorf("oidc: token endpoint returned status %d and a body that is not JSON: %w", resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK || tr.Error != "" {
		return nil, &TokenError{Status: resp.StatusCode, Code: tr.Error, Description: tr.ErrorDescription}
	}
	if tr.IDToken == "" {
		return nil, errors.New("oidc: token response has no id_token; is the openid scope granted?")
	}
	return c.VerifyIDToken(ctx, tr.IDToken, a.Nonce)
}

// TokenError is an error response of the token endpoint (RFC 6749 section
// 5.2), such as invalid_grant for a wrong code or PKCE verifier.
type TokenError struct {
	Status      int
	Code        string
	Description string
}

func (e *TokenError) Error() string {
	return fmt.Sprintf("oidc: token endpoint returned status %d, error %q: %s", e.Status, e.Code, e.Description)
}

func getJSON(ctx context.Context, client *http.Client, target string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: status %d", target, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return fmt.Errorf("GET %s: %w", target, err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: invalid JSON: %w", target, err)
	}
	return nil
}
