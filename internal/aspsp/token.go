package aspsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// tokenResponse is the RFC 6749 section 5.1 access token response.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	IDToken      string `json:"id_token"`
}

// ExchangeCode exchanges an authorization code from the redirect for the
// customer's tokens (RFC 6749 section 4.1.3).
func (c *Client) ExchangeCode(ctx context.Context, code string) (Tokens, error) {
	if code == "" {
		return Tokens{}, errors.New("exchange code: code is empty")
	}
	form := url.Values{
		"grant_type":   {"authorization_code"},
		"code":         {code},
		"redirect_uri": {c.Bank.RedirectURI},
	}
	tok, err := c.token(ctx, form)
	if err != nil {
		return Tokens{}, fmt.Errorf("exchange code: %w", err)
	}
	return tok, nil
}

// Refresh obtains new tokens with a refresh token (RFC 6749 section 6). A
// bank that does not rotate refresh tokens sends none back, and the old one
// is kept. A refresh token the bank rejects gives ErrTokenExpired.
func (c *Client) Refresh(ctx context.Context, refresh string) (Tokens, error) {
	if refresh == "" {
		return Tokens{}, fmt.Errorf("refresh token: no refresh token: %w", ErrTokenExpired)
	}
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}
	tok, err := c.token(ctx, form)
	if err != nil {
		var httpErr *HTTPError
		// RFC 6749 section 5.2: invalid_grant means the refresh token is
		// invalid, expired or revoked.
		if errors.As(err, &httpErr) && (httpErr.OAuthError == "invalid_grant" || httpErr.Status == http.StatusUnauthorized) {
			return Tokens{}, fmt.Errorf("refresh token: %w: %w", ErrTokenExpired, err)
		}
		return Tokens{}, fmt.Errorf("refresh token: %w", err)
	}
	if tok.Refresh == "" {
		tok.Refresh = refresh
	}
	return tok, nil
}

// clientCredentials obtains a token for the client itself, which the
// consent endpoints require.
func (c *Client) clientCredentials(ctx context.Context) (string, error) {
	tok, err := c.token(ctx, url.Values{"grant_type": {"client_credentials"}, "scope": {"accounts"}})
	if err != nil {
		return "", fmt.Errorf("client credentials: %w", err)
	}
	return tok.Access, nil
}

func (c *Client) token(ctx context.Context, form url.Values) (Tokens, error) {
	endpoint := c.endpoint("/token")
	resp, err := c.do(ctx, request{method: http.MethodPost, url: endpoint, form: form})
	if err != nil {
		return Tokens{}, err
	}
	if resp.status != http.StatusOK {
		return Tokens{}, newHTTPError(http.MethodPost, pathOf(endpoint), resp.status, resp.body)
	}

	var body tokenResponse
	if err := json.Unmarshal(resp.body, &body); err != nil {
		return Tokens{}, fmt.Errorf("POST %s: token response is not a JSON object", pathOf(endpoint))
	}
	if body.AccessToken == "" {
		return Tokens{}, fmt.Errorf("POST %s: token response: access_token is missing", pathOf(endpoint))
	}
	// RFC 6750 section 4: the token type is matched case-insensitively.
	if !strings.EqualFold(body.TokenType, "Bearer") {
		return Tokens{}, fmt.Errorf("POST %s: token response: token_type %q, want Bearer", pathOf(endpoint), body.TokenType)
	}
	tok := Tokens{Access: body.AccessToken, Refresh: body.RefreshToken, IDToken: body.IDToken}
	if body.ExpiresIn > 0 {
		tok.Expiry = c.now().Add(time.Duration(body.ExpiresIn) * time.Second)
	}
	return tok, nil
}

// endpoint joins the bank's base URL and a path.
func (c *Client) endpoint(path string) string {
	return strings.TrimSuffix(c.Bank.BaseURL, "/") + path
}
