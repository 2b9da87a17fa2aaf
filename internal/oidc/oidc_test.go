package oidc

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/oidc/oidctest"
)

const (
	testClientID     = "insights-consent"
	testClientSecret = "s3cret with spaces & symbols"
	testRedirect     = "http://127.0.0.1:9/consent/signin/callback"
)

func discover(t *testing.T, p *oidctest.Provider) *Client {
	t.Helper()
	c, err := Discover(context.Background(), Config{Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: testRedirect})
	if err != nil {
		t.Fatalf("Discover: %v", err)
	}
	return c
}

// authorize opens the authorization URL as a browser would and returns the
// code and state of the redirect back.
func authorize(t *testing.T, c *Client, a AuthRequest) (code, state string) {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(c.AuthCodeURL(a))
	if err != nil {
		t.Fatalf("GET authorization URL: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint: status %d, want 302", resp.StatusCode)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc.String(), testRedirect+"?") {
		t.Fatalf("redirected to %s, want %s", loc, testRedirect)
	}
	return loc.Query().Get("code"), loc.Query().Get("state")
}

func TestSignIn_cases(t *testing.T) {
	tests := []struct {
		name string
		// setUp prepares the provider or the request before the exchange.
		setUp   func(p *oidctest.Provider, a *AuthRequest)
		wantErr string // substring of the error; empty for success
		isToken bool   // the error is a *TokenError rather than ErrInvalidIDToken
	}{
		{name: "success"},
		{
			name:    "wrong nonce",
			setUp:   func(_ *oidctest.Provider, a *AuthRequest) { a.Nonce = "another-nonce" },
			wantErr: "nonce does not match",
		},
		{
			name:    "bad PKCE verifier",
			setUp:   func(_ *oidctest.Provider, a *AuthRequest) { a.Verifier = strings.Repeat("x", 43) },
			wantErr: "PKCE verification failed",
			isToken: true,
		},
		{
			name: "expired ID token",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) {
					e.Claims["iat"] = time.Now().Add(-20 * time.Minute).Unix()
					e.Claims["exp"] = time.Now().Add(-2 * time.Minute).Unix()
				})
			},
			wantErr: `"exp" not satisfied`,
		},
		{
			name: "issued in the future",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["iat"] = time.Now().Add(5 * time.Minute).Unix() })
			},
			wantErr: `"iat" not satisfied`,
		},
		{
			name: "wrong audience",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["aud"] = "another-client" })
			},
			wantErr: `"aud" not satisfied`,
		},
		{
			name: "second audience without azp",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["aud"] = []string{testClientID, "another-client"} })
			},
			wantErr: "azp",
		},
		{
			name: "wrong issuer",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["iss"] = "https://idp.example" })
			},
			wantErr: `"iss" not satisfied`,
		},
		{
			name: "unknown kid",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.SignWithUnpublishedKey = true })
			},
			wantErr: "is not in the provider's JWK set",
		},
		{
			name: "no subject",
			setUp: func(p *oidctest.Provider, _ *AuthRequest) {
				p.EditNextToken(func(e *oidctest.TokenEdit) { delete(e.Claims, "sub") })
			},
			wantErr: `"sub" not satisfied`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := oidctest.Start(t, testClientID, testClientSecret)
			p.SignIn("subject-42", map[string]any{"customer_id": "alice"})
			c := discover(t, p)
			a, err := NewAuthRequest()
			if err != nil {
				t.Fatal(err)
			}
			code, state := authorize(t, c, a)
			if state != a.State {
				t.Fatalf("state returned = %q, want %q", state, a.State)
			}
			if tt.setUp != nil {
				tt.setUp(p, &a)
			}

			tok, err := c.Exchange(context.Background(), code, a)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if tok.Subject != "subject-42" {
					t.Errorf("Subject = %q, want subject-42", tok.Subject)
				}
				if got, err := tok.StringClaim("customer_id"); err != nil || got != "alice" {
					t.Errorf("StringClaim(customer_id) = %q, %v; want alice", got, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Exchange succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			var tokenErr *TokenError
			if tt.isToken && !errors.As(err, &tokenErr) {
				t.Errorf("error %v is not a *TokenError", err)
			}
			if !tt.isToken && !errors.Is(err, ErrInvalidIDToken) {
				t.Errorf("error %v does not wrap ErrInvalidIDToken", err)
			}
		})
	}
}

func TestExchange_codeUsedTwice(t *testing.T) {
	p := oidctest.Start(t, testClientID, testClientSecret)
	c := discover(t, p)
	a, _ := NewAuthRequest()
	code, _ := authorize(t, c, a)
	if _, err := c.Exchange(context.Background(), code, a); err != nil {
		t.Fatalf("first Exchange: %v", err)
	}
	var tokenErr *TokenError
	if _, err := c.Exchange(context.Background(), code, a); !errors.As(err, &tokenErr) || tokenErr.Code != "invalid_grant" {
		t.Errorf("second Exchange: error %v, want invalid_grant", err)
	}
}

func TestExchange_wrongClientSecret(t *testing.T) {
	p := oidctest.Start(t, testClientID, testClientSecret)
	c, err := Discover(context.Background(), Config{Issuer: p.Issuer, ClientID: testClientID, ClientSecret: "wrong", RedirectURL: testRedirect})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := NewAuthRequest()
	code, _ := authorize(t, c, a)
	var tokenErr *TokenError
	if _, err := c.Exchange(context.Background(), code, a); !errors.As(err, &tokenErr) || tokenErr.Code != "invalid_client" {
		t.Errorf("Exchange: error %v, want invalid_client", err)
	}
}

// The client fetches the JWK set again when a token names a new kid, so a
// provider's key rollover needs no restart.
func TestVerifyIDToken_keyRollover(t *testing.T) {
	p := oidctest.Start(t, testClientID, testClientSecret)
	c := discover(t, p)
	now := time.Now()
	c.keys.now = func() time.Time { return now }

	signIn := func() error {
		a, _ := NewAuthRequest()
		code, _ := authorize(t, c, a)
		_, err := c.Exchange(context.Background(), code, a)
		return err
	}
	if err := signIn(); err != nil {
		t.Fatalf("sign-in before rollover: %v", err)
	}
	if err := p.RotateKey(); err != nil {
		t.Fatal(err)
	}

	// Within the minimum refresh interval the cached set is kept, so the
	// new kid is unknown.
	if err := signIn(); err == nil || !strings.Contains(err.Error(), "is not in the provider's JWK set") {
		t.Errorf("sign-in right after rollover: error %v, want unknown kid", err)
	}
	now = now.Add(c.keys.minRefresh)
	if err := signIn(); err != nil {
		t.Errorf("sign-in after rollover: %v", err)
	}
}

func TestDiscover_rejects(t *testing.T) {
	p := oidctest.Start(t, testClientID, testClientSecret)
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"issuer with trailing slash", Config{Issuer: p.Issuer + "/", ClientID: testClientID, RedirectURL: testRedirect}, "names issuer"},
		{"plain http on another host", Config{Issuer: "http://idp.example", ClientID: testClientID, RedirectURL: testRedirect}, "plain http is allowed only on a loopback address"},
		{"no client ID", Config{Issuer: p.Issuer, RedirectURL: testRedirect}, "client ID is empty"},
		{"relative redirect URL", Config{Issuer: p.Issuer, ClientID: testClientID, RedirectURL: "/consent/signin/callback"}, "redirect URL"},
		{"no provider", Config{Issuer: "http://127.0.0.1:1", ClientID: testClientID, RedirectURL: testRedirect}, "discovery"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Discover(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Discover: error %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestAuthCodeURL_parameters(t *testing.T) {
	p := oidctest.Start(t, testClientID, testClientSecret)
	c := discover(t, p)
	a := AuthRequest{State: "st", Nonce: "no", Verifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}
	u, err := url.Parse(c.AuthCodeURL(a))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{
		"response_type": "code", "client_id": testClientID, "redirect_uri": testRedirect, "scope": "openid",
		"state": "st", "nonce": "no", "code_challenge_method": "S256",
		// The example of RFC 7636, appendix B.
		"code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
	}
	for k, v := range want {
		if got := q.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
}
