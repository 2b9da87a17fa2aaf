package bank

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

// Fault kinds that change the ID token of the next authorization_code
// grant, for testing a client's verification.
const (
	// kindIDTokenForeignKey signs the ID token with a new key that the
	// bank's JWK set does not contain, under the kid of the real key.
	kindIDTokenForeignKey = "id-token-foreign-key"
	// kindIDTokenWrongNonce puts a nonce into the ID token that differs
	// from the one of the authorization request.
	kindIDTokenWrongNonce = "id-token-wrong-nonce"
)

// idTokenTTL is the lifetime of an ID token. It only has to outlive the
// client's verification right after the token response.
const idTokenTTL = 5 * time.Minute

// signingKey is the bank's ID token key pair, generated in New and kept
// in memory only, so each bank process publishes a new JWK set.
type signingKey struct {
	private jwk.Key
	public  jwk.Set
}

// newSigningKey generates an ES256 (P-256) key pair whose kid is its
// RFC 7638 thumbprint.
func newSigningKey() (signingKey, error) {
	raw, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return signingKey{}, fmt.Errorf("generate ID token key: %w", err)
	}
	private, err := jwk.FromRaw(raw)
	if err != nil {
		return signingKey{}, fmt.Errorf("ID token key: %w", err)
	}
	if err := jwk.AssignKeyID(private); err != nil {
		return signingKey{}, fmt.Errorf("ID token key: %w", err)
	}
	_ = private.Set(jwk.AlgorithmKey, jwa.ES256)
	_ = private.Set(jwk.KeyUsageKey, jwk.ForSignature)
	public := jwk.NewSet()
	pub, err := jwk.PublicKeyOf(private)
	if err != nil {
		return signingKey{}, fmt.Errorf("ID token key: %w", err)
	}
	if err := public.AddKey(pub); err != nil {
		return signingKey{}, fmt.Errorf("ID token key: %w", err)
	}
	return signingKey{private: private, public: public}, nil
}

// issuer returns the bank's OpenID Provider identifier: Options.Issuer, or
// the scheme and host that r reached.
func (b *Bank) issuer(r *http.Request) string {
	if b.opts.Issuer != "" {
		return strings.TrimSuffix(b.opts.Issuer, "/")
	}
	return absoluteURL(r, "")
}

// handleJWKS serves GET /jwks: the public key that signs ID tokens.
func (b *Bank) handleJWKS(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, b.idKey.public)
}

// providerMetadata is the part of OpenID Connect Discovery 1.0 section 3
// metadata that this bank supports.
type providerMetadata struct {
	Issuer                   string   `json:"issuer"`
	AuthorizationEndpoint    string   `json:"authorization_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	JWKSURI                  string   `json:"jwks_uri"`
	ResponseTypes            []string `json:"response_types_supported"`
	SubjectTypes             []string `json:"subject_types_supported"`
	IDTokenSigningAlgs       []string `json:"id_token_signing_alg_values_supported"`
	ScopesSupported          []string `json:"scopes_supported"`
	ClaimsSupported          []string `json:"claims_supported"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	GrantTypesSupported      []string `json:"grant_types_supported"`
}

// handleDiscovery serves GET /.well-known/openid-configuration.
func (b *Bank) handleDiscovery(w http.ResponseWriter, r *http.Request) {
	iss := b.issuer(r)
	writeJSON(w, http.StatusOK, providerMetadata{
		Issuer:                   iss,
		AuthorizationEndpoint:    iss + "/authorize",
		TokenEndpoint:            iss + "/token",
		JWKSURI:                  iss + "/jwks",
		ResponseTypes:            []string{"code"},
		SubjectTypes:             []string{"public"},
		IDTokenSigningAlgs:       []string{jwa.ES256.String()},
		ScopesSupported:          []string{"openid", "accounts"},
		ClaimsSupported:          []string{"iss", "sub", "aud", "exp", "iat", "nonce", "birthdate"},
		TokenEndpointAuthMethods: []string{"client_secret_basic"},
		GrantTypesSupported:      []string{"authorization_code", "refresh_token", "client_credentials"},
	})
}

// idTokenLocked returns the signed ID token of an authorization code (OpenID
// Connect Core 1.0 section 3.1.3.3). Its subject is the demo customer's
// id, and its birthdate claim is the BirthDate of the customer's first
// party, left out when the party has none. fault is a fault kind that
// spoils the token, or "".
func (b *Bank) idTokenLocked(r *http.Request, ac *authCode, customer, fault string) (string, error) {
	now := b.now().UTC().Truncate(time.Second)
	tok := jwt.New()
	claims := map[string]any{
		jwt.IssuerKey:     b.issuer(r),
		jwt.SubjectKey:    customer,
		jwt.AudienceKey:   []string{b.opts.ClientID},
		jwt.IssuedAtKey:   now,
		jwt.ExpirationKey: now.Add(idTokenTTL),
	}
	if ac.nonce != "" {
		claims["nonce"] = ac.nonce
	}
	if fault == kindIDTokenWrongNonce {
		claims["nonce"] = newToken()
	}
	if birth := b.birthDateLocked(customer); birth != "" {
		claims["birthdate"] = birth
	}
	for k, v := range claims {
		if err := tok.Set(k, v); err != nil {
			return "", fmt.Errorf("ID token claim %s: %w", k, err)
		}
	}

	key := b.idKey.private
	if fault == kindIDTokenForeignKey {
		foreign, err := newSigningKey()
		if err != nil {
			return "", err
		}
		key = foreign.private
		_ = key.Set(jwk.KeyIDKey, b.idKey.private.KeyID())
	}
	headers := jws.NewHeaders()
	_ = headers.Set(jws.TypeKey, "JWT")
	_ = headers.Set(jws.KeyIDKey, key.KeyID())
	signed, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return "", fmt.Errorf("sign ID token: %w", err)
	}
	return string(signed), nil
}

// birthDateLocked returns the BirthDate of the customer's first party, the
// party GET /party serves, or "".
func (b *Bank) birthDateLocked(customer string) string {
	c := b.customers[customer]
	if c == nil || len(c.parties) == 0 {
		return ""
	}
	var birth string
	if raw, ok := c.parties[0].fields["BirthDate"]; !ok || json.Unmarshal(raw, &birth) != nil {
		return ""
	}
	return birth
}
