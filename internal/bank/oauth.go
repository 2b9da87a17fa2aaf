package bank

import (
	"crypto/subtle"
	"net/http"
	"strings"
	"time"
)

// accessToken is an issued bearer token. A client-credentials token has no
// consent, so it may only manage consents. A token from the
// authorization-code or refresh grant reads the data of its one consent.
type accessToken struct {
	consentID string // empty for a client-credentials token
	expires   time.Time
	code      string // the authorization code it came from, if any
}

// refreshToken renews access to one consent. It is rotated on use.
type refreshToken struct {
	consentID string
	code      string
}

// authCode is an authorization code, bound to the consent, the customer
// who approved it and the redirect URI it was sent to.
type authCode struct {
	consentID   string
	redirectURI string
	expires     time.Time
	used        bool
	customer    string
	openID      bool   // the authorization request's scope contained "openid"
	nonce       string // the authorization request's nonce, "" when it sent none
}

// tokenResponse is the successful token response of RFC 6749 section 5.1.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

// oauthError is the error response of RFC 6749 section 5.2.
type oauthError struct {
	Error       string `json:"error"`
	Description string `json:"error_description,omitempty"`
}

// rejectToken sends a token error response. A rejection is the client's
// mistake, so it is logged at debug level.
func (b *Bank) rejectToken(w http.ResponseWriter, status int, code, description string) {
	b.log.Debug("token request rejected", "error", code, "reason", description)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, oauthError{Error: code, Description: description})
}

// handleToken serves POST /token for the client_credentials,
// authorization_code and refresh_token grants.
func (b *Bank) handleToken(w http.ResponseWriter, r *http.Request) {
	// RFC 6749 section 2.3.1: the authorization server MUST support HTTP
	// Basic authentication of the client.
	id, secret, ok := r.BasicAuth()
	if !ok || !b.clientMatches(id, secret) {
		w.Header().Set("WWW-Authenticate", `Basic realm="bank"`)
		b.rejectToken(w, http.StatusUnauthorized, "invalid_client", "client authentication failed")
		return
	}
	if err := r.ParseForm(); err != nil {
		b.rejectToken(w, http.StatusBadRequest, "invalid_request", "body is not a valid form")
		return
	}

	switch grant := r.PostForm.Get("grant_type"); grant {
	case "client_credentials":
		b.grantClientCredentials(w)
	case "authorization_code":
		b.grantAuthorizationCode(w, r, r.PostForm.Get("code"), r.PostForm.Get("redirect_uri"))
	case "refresh_token":
		b.grantRefreshToken(w, r.PostForm.Get("refresh_token"))
	case "":
		b.rejectToken(w, http.StatusBadRequest, "invalid_request", "grant_type is missing")
	default:
		b.rejectToken(w, http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials, authorization_code or refresh_token")
	}
}

// clientMatches compares in constant time, so response timing does not
// reveal how much of a guessed secret was right.
func (b *Bank) clientMatches(id, secret string) bool {
	idOK := subtle.ConstantTimeCompare([]byte(id), []byte(b.opts.ClientID))
	secretOK := subtle.ConstantTimeCompare([]byte(secret), []byte(b.opts.ClientSecret))
	return idOK&secretOK == 1
}

func (b *Bank) grantClientCredentials(w http.ResponseWriter) {
	b.mu.Lock()
	token, expires := b.issueAccessLocked("", "")
	b.mu.Unlock()

	b.writeTokens(w, token, expires, "", "")
}

func (b *Bank) grantAuthorizationCode(w http.ResponseWriter, r *http.Request, code, redirectURI string) {
	if code == "" || redirectURI == "" {
		b.rejectToken(w, http.StatusBadRequest, "invalid_request", "code and redirect_uri are required")
		return
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	ac, ok := b.codes[code]
	switch {
	case !ok:
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", "unknown authorization code")
		return
	case ac.used:
		// RFC 6749 section 4.1.2: a code used twice must be refused, and
		// the tokens issued from it should be revoked.
		b.revokeCodeLocked(code)
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", "authorization code was already used")
		return
	case !now.Before(ac.expires):
		delete(b.codes, code)
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", "authorization code expired")
		return
	case ac.redirectURI != redirectURI:
		// RFC 6749 section 4.1.3: redirect_uri must be identical to the
		// one of the authorization request.
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", "redirect_uri does not match the authorization request")
		return
	}
	ac.used = true

	c := b.consents[ac.consentID]
	if reason := c.usableLocked(now); reason != "" {
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", reason)
		return
	}
	// OpenID Connect Core 1.0 section 3.1.3.3: the token response of an
	// openid request carries an ID token.
	var idToken string
	if ac.openID {
		var err error
		if idToken, err = b.idTokenLocked(r, ac, c.customer, faultFrom(r)); err != nil {
			b.log.Error("failed to sign ID token", "consent_id", c.id, "error", err)
			b.rejectToken(w, http.StatusInternalServerError, "server_error", "the ID token could not be signed")
			return
		}
	}
	token, expires := b.issueAccessLocked(c.id, code)
	refresh := newToken()
	b.refresh[refresh] = &refreshToken{consentID: c.id, code: code}
	b.writeTokens(w, token, expires, refresh, idToken)
}

func (b *Bank) grantRefreshToken(w http.ResponseWriter, refresh string) {
	if refresh == "" {
		b.rejectToken(w, http.StatusBadRequest, "invalid_request", "refresh_token is required")
		return
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	rt, ok := b.refresh[refresh]
	if !ok {
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", "unknown refresh token")
		return
	}
	c := b.consents[rt.consentID]
	if reason := c.usableLocked(b.now()); reason != "" {
		delete(b.refresh, refresh)
		b.rejectToken(w, http.StatusBadRequest, "invalid_grant", reason)
		return
	}

	// Rotation: the old refresh token stops working once a new one is out.
	delete(b.refresh, refresh)
	token, expires := b.issueAccessLocked(c.id, rt.code)
	next := newToken()
	b.refresh[next] = &refreshToken{consentID: c.id, code: rt.code}
	b.writeTokens(w, token, expires, next, "")
}

// issueAccessLocked stores a new access token and drops expired ones.
func (b *Bank) issueAccessLocked(consentID, code string) (string, time.Time) {
	now := b.now()
	for t, at := range b.access {
		if !now.Before(at.expires) {
			delete(b.access, t)
		}
	}
	for c, ac := range b.codes {
		if !now.Before(ac.expires) {
			delete(b.codes, c)
		}
	}

	token := newToken()
	expires := now.Add(b.opts.TokenTTL)
	b.access[token] = &accessToken{consentID: consentID, expires: expires, code: code}
	return token, expires
}

// revokeCodeLocked revokes every access and refresh token issued from code.
func (b *Bank) revokeCodeLocked(code string) {
	for t, at := range b.access {
		if at.code == code {
			delete(b.access, t)
		}
	}
	for t, rt := range b.refresh {
		if rt.code == code {
			delete(b.refresh, t)
		}
	}
}

func (b *Bank) writeTokens(w http.ResponseWriter, token string, expires time.Time, refresh, idToken string) {
	// RFC 6749 section 5.1: responses with tokens must not be cached.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  token,
		TokenType:    "Bearer",
		ExpiresIn:    int64(expires.Sub(b.now()).Round(time.Second) / time.Second),
		RefreshToken: refresh,
		IDToken:      idToken,
	})
}

// bearerToken returns the token of an "Authorization: Bearer" header
// (RFC 6750 section 2.1; the scheme is case-insensitive).
func bearerToken(r *http.Request) string {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// lookupAccess returns the live access token of r, or a reason for 401.
func (b *Bank) lookupAccessLocked(r *http.Request) (*accessToken, string) {
	token := bearerToken(r)
	if token == "" {
		return nil, "missing bearer token"
	}
	at, ok := b.access[token]
	if !ok {
		return nil, "unknown access token"
	}
	if !b.now().Before(at.expires) {
		delete(b.access, token)
		return nil, "access token expired"
	}
	return at, ""
}
