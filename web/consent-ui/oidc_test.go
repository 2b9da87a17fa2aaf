package consentui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/oidc"
	"github.com/openbanking-insights/insights/internal/oidc/oidctest"
)

const oidcClientID = "consent-pages"

// newOIDCEnv starts the consent pages with sign-in through a test OpenID
// provider on 127.0.0.1. claim is Options.OIDC.CustomerClaim.
func newOIDCEnv(t *testing.T, devSignIn bool, claim string) (*testEnv, *oidctest.Provider) {
	t.Helper()
	p := oidctest.Start(t, oidcClientID, "provider-secret")
	p.SignIn("alice", nil)
	env := newTestEnvAt(t, func(baseURL string, opts *Options) {
		client, err := oidc.Discover(context.Background(), oidc.Config{
			Issuer: p.Issuer, ClientID: p.ClientID, ClientSecret: p.ClientSecret, RedirectURL: baseURL + CallbackPath,
		})
		if err != nil {
			t.Fatalf("Discover: %v", err)
		}
		opts.DevSignIn = devSignIn
		opts.OIDC = &OIDCSignIn{Client: client, CustomerClaim: claim}
	})
	return env, p
}

// startOIDC follows the sign-in link as far as the provider's redirect back
// and returns the callback URL, without opening it.
func startOIDC(t *testing.T, env *testEnv, c *http.Client, next string) *url.URL {
	t.Helper()
	resp := env.do(t, c, http.MethodGet, oidcStartURL(next), nil)
	if resp.Status != http.StatusFound {
		t.Fatalf("GET sign-in start: status %d, want 302; body:\n%s", resp.Status, resp.Body)
	}
	authResp, err := c.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("GET authorization endpoint: %v", err)
	}
	authResp.Body.Close()
	if authResp.StatusCode != http.StatusFound {
		t.Fatalf("authorization endpoint: status %d, want 302", authResp.StatusCode)
	}
	callback, err := url.Parse(authResp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(callback.String(), env.server.URL+CallbackPath+"?") {
		t.Fatalf("provider redirected to %s, want the callback", callback)
	}
	return callback
}

func openCallback(t *testing.T, env *testEnv, c *http.Client, callback *url.URL) response {
	t.Helper()
	return env.do(t, c, http.MethodGet, CallbackPath+"?"+callback.RawQuery, nil)
}

func TestOIDCSignIn_success(t *testing.T) {
	env, p := newOIDCEnv(t, false, "")
	c := env.newClient(t)

	// A signed-out visitor is sent to the sign-in page, which links to the
	// provider and offers no development sign-in.
	resp := env.do(t, c, http.MethodGet, "/consent/requests/req-shop", nil)
	if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/consent/signin?next=%2Fconsent%2Frequests%2Freq-shop" {
		t.Fatalf("signed out: status %d, Location %q", resp.Status, resp.Header.Get("Location"))
	}
	page := env.do(t, c, http.MethodGet, resp.Header.Get("Location"), nil)
	if page.Status != http.StatusOK || !strings.Contains(page.Body, `href="/consent/signin/oidc?next=%2Fconsent%2Frequests%2Freq-shop"`) {
		t.Fatalf("sign-in page: status %d, no link to the provider:\n%s", page.Status, page.Body)
	}
	if strings.Contains(page.Body, "dev-banner") || strings.Contains(page.Body, `name="customer"`) {
		t.Errorf("sign-in page offers the development sign-in although it is off:\n%s", page.Body)
	}

	callback := startOIDC(t, env, c, "/consent/requests/req-shop")
	resp = openCallback(t, env, c, callback)
	if resp.Status != http.StatusSeeOther || resp.Header.Get("Location") != "/consent/requests/req-shop" {
		t.Fatalf("callback: status %d, Location %q, want 303 to the request; body:\n%s", resp.Status, resp.Header.Get("Location"), resp.Body)
	}
	resp = env.do(t, c, http.MethodGet, "/consent/requests/req-shop", nil)
	if resp.Status != http.StatusOK || !strings.Contains(resp.Body, "Signed in as alice") {
		t.Errorf("request page after sign-in: status %d:\n%s", resp.Status, resp.Body)
	}
	if p.TokenCalls() != 1 {
		t.Errorf("token endpoint called %d times, want 1", p.TokenCalls())
	}

	// The callback cannot be replayed: its flow cookie is gone.
	other := env.newClient(t)
	if resp := openCallback(t, env, other, callback); resp.Status != http.StatusBadRequest {
		t.Errorf("replayed callback in another browser: status %d, want 400", resp.Status)
	}
}

// Each case breaks one step of the sign-in; every one must end on the
// "did not complete" page with no session.
func TestOIDCSignIn_failures(t *testing.T) {
	tests := []struct {
		name  string
		claim string
		// breakFlow may edit the provider's next token and returns the
		// callback URL to open.
		breakFlow func(t *testing.T, env *testEnv, c *http.Client, p *oidctest.Provider) *url.URL
	}{
		{
			name: "wrong state",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, _ *oidctest.Provider) *url.URL {
				cb := startOIDC(t, env, c, "/consent/")
				q := cb.Query()
				q.Set("state", "forged-state")
				cb.RawQuery = q.Encode()
				return cb
			},
		},
		{
			name: "wrong nonce",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, p *oidctest.Provider) *url.URL {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["nonce"] = "nonce-of-another-sign-in" })
				return startOIDC(t, env, c, "/consent/")
			},
		},
		{
			// A code taken from one browser and replayed in another sign-in:
			// the second browser's PKCE verifier does not match.
			name: "bad PKCE verifier",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, _ *oidctest.Provider) *url.URL {
				victim := startOIDC(t, env, env.newClient(t), "/consent/")
				own := startOIDC(t, env, c, "/consent/")
				q := own.Query()
				q.Set("code", victim.Query().Get("code"))
				own.RawQuery = q.Encode()
				return own
			},
		},
		{
			name: "expired ID token",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, p *oidctest.Provider) *url.URL {
				p.EditNextToken(func(e *oidctest.TokenEdit) {
					e.Claims["iat"] = time.Now().Add(-time.Hour).Unix()
					e.Claims["exp"] = time.Now().Add(-10 * time.Minute).Unix()
				})
				return startOIDC(t, env, c, "/consent/")
			},
		},
		{
			name: "wrong audience",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, p *oidctest.Provider) *url.URL {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.Claims["aud"] = "another-relying-party" })
				return startOIDC(t, env, c, "/consent/")
			},
		},
		{
			name: "unknown kid",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, p *oidctest.Provider) *url.URL {
				p.EditNextToken(func(e *oidctest.TokenEdit) { e.SignWithUnpublishedKey = true })
				return startOIDC(t, env, c, "/consent/")
			},
		},
		{
			name:  "customer claim missing",
			claim: "customer_id",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, _ *oidctest.Provider) *url.URL {
				return startOIDC(t, env, c, "/consent/")
			},
		},
		{
			name: "provider error",
			breakFlow: func(t *testing.T, env *testEnv, c *http.Client, _ *oidctest.Provider) *url.URL {
				cb := startOIDC(t, env, c, "/consent/")
				q := cb.Query()
				q.Del("code")
				q.Set("error", "access_denied")
				cb.RawQuery = q.Encode()
				return cb
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, p := newOIDCEnv(t, false, tt.claim)
			c := env.newClient(t)
			callback := tt.breakFlow(t, env, c, p)

			resp := openCallback(t, env, c, callback)
			if resp.Status != http.StatusBadRequest {
				t.Errorf("callback: status %d, want 400", resp.Status)
			}
			if h1 := h1Of(resp.Body); h1 != "Sign-in did not complete" {
				t.Errorf("callback h1 = %q, want %q", h1, "Sign-in did not complete")
			}
			for _, cookie := range c.Jar.Cookies(mustParse(t, env.server.URL+"/consent/")) {
				if cookie.Name == sessionCookie {
					t.Errorf("a session cookie was set after a failed sign-in")
				}
			}
			if resp := env.do(t, c, http.MethodGet, "/consent/", nil); resp.Status != http.StatusSeeOther {
				t.Errorf("GET /consent/ after a failed sign-in: status %d, want 303 to the sign-in", resp.Status)
			}
		})
	}
}

func TestOIDCSignIn_customerClaim(t *testing.T) {
	env, p := newOIDCEnv(t, false, "customer_id")
	p.SignIn("provider-subject-1", map[string]any{"customer_id": "bob"})
	c := env.newClient(t)

	resp := openCallback(t, env, c, startOIDC(t, env, c, "/consent/"))
	if resp.Status != http.StatusSeeOther {
		t.Fatalf("callback: status %d; body:\n%s", resp.Status, resp.Body)
	}
	resp = env.do(t, c, http.MethodGet, "/consent/", nil)
	if !strings.Contains(resp.Body, "Signed in as bob") {
		t.Errorf("list page does not show bob signed in:\n%s", resp.Body)
	}
}

// With a provider configured and the development sign-in off, the
// development sign-in form is refused.
func TestOIDCSignIn_refusesDevSignIn(t *testing.T) {
	env, _ := newOIDCEnv(t, false, "")
	c := env.newClient(t)
	resp := env.do(t, c, http.MethodPost, "/consent/signin", url.Values{"customer": {"alice"}, "next": {"/consent/"}})
	if resp.Status != http.StatusNotFound {
		t.Errorf("POST development sign-in: status %d, want 404", resp.Status)
	}
	if h1 := h1Of(resp.Body); h1 != "Page not found" {
		t.Errorf("POST development sign-in: h1 %q, want %q", h1, "Page not found")
	}
	if resp := env.do(t, c, http.MethodGet, "/consent/", nil); resp.Status != http.StatusSeeOther {
		t.Errorf("GET /consent/ after a refused sign-in: status %d, want 303", resp.Status)
	}
}

// Both sign-ins can be on together, as in development against a local
// provider; the page then offers both and shows the development banner.
func TestOIDCSignIn_besideDevSignIn(t *testing.T) {
	env, _ := newOIDCEnv(t, true, "")
	c := env.newClient(t)
	page := env.do(t, c, http.MethodGet, "/consent/signin", nil)
	for _, want := range []string{`id="signin-oidc"`, `name="customer"`, "dev-banner"} {
		if !strings.Contains(page.Body, want) {
			t.Errorf("sign-in page lacks %s:\n%s", want, page.Body)
		}
	}
}

func TestOIDCSignIn_tamperedFlowCookie(t *testing.T) {
	env, _ := newOIDCEnv(t, false, "")
	c := env.newClient(t)
	callback := startOIDC(t, env, c, "/consent/")

	u := mustParse(t, env.server.URL+CallbackPath)
	for _, cookie := range c.Jar.Cookies(u) {
		if cookie.Name == flowCookie {
			cookie.Value = strings.Replace(cookie.Value, "v1.", "v1.e", 1)
			c.Jar.SetCookies(u, []*http.Cookie{cookie})
		}
	}
	if resp := openCallback(t, env, c, callback); resp.Status != http.StatusBadRequest {
		t.Errorf("callback with a tampered flow cookie: status %d, want 400", resp.Status)
	}
}

func mustParse(t *testing.T, raw string) *url.URL {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
