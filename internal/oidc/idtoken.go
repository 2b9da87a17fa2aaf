package oidc

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"
)

var b64 = base64.RawURLEncoding

// ErrInvalidIDToken is wrapped by every error of VerifyIDToken.
var ErrInvalidIDToken = errors.New("oidc: invalid ID token")

// IDToken is a verified ID token.
type IDToken struct {
	Subject  string
	IssuedAt time.Time
	Expiry   time.Time
	claims   map[string]any
}

// Claim returns the value of a claim, as decoded from JSON.
func (t *IDToken) Claim(name string) (any, bool) {
	v, ok := t.claims[name]
	return v, ok
}

// StringClaim returns a claim whose value is a non-empty string, or an
// integer, which providers use for numeric account IDs, in decimal.
func (t *IDToken) StringClaim(name string) (string, error) {
	v, ok := t.claims[name]
	if !ok {
		return "", fmt.Errorf("oidc: ID token has no claim %q", name)
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return "", fmt.Errorf("oidc: ID token claim %q is empty", name)
		}
		return v, nil
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10), nil
		}
	}
	return "", fmt.Errorf("oidc: ID token claim %q is a %T, want a string", name, v)
}

// VerifyIDToken checks an ID token as OpenID Connect Core 1.0, section
// 3.1.3.7, asks. The token must have a single signature by an asymmetric
// algorithm the provider lists, made with a key of its JWK set. iss must
// equal the issuer, aud must contain the client ID, and azp must equal the
// client ID when aud names other parties too. exp must be in the future and
// iat in the past, each within a minute of clock skew. sub must be present,
// and nonce must equal the one sent in the authorization request.
func (c *Client) VerifyIDToken(ctx context.Context, raw, nonce string) (*IDToken, error) {
	msg, err := jws.Parse([]byte(raw))
	if err != nil {
		return nil, fmt.Errorf("%w: not a compact JWS: %w", ErrInvalidIDToken, err)
	}
	sigs := msg.Signatures()
	if len(sigs) != 1 {
		return nil, fmt.Errorf("%w: %d signatures, want 1", ErrInvalidIDToken, len(sigs))
	}
	header := sigs[0].ProtectedHeaders()
	alg := header.Algorithm().String()
	if !slices.Contains(c.algs, alg) {
		return nil, fmt.Errorf("%w: signature algorithm %q, want one of %q", ErrInvalidIDToken, alg, c.algs)
	}
	key, err := c.keys.lookup(ctx, header.KeyID())
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}

	tok, err := jwt.Parse([]byte(raw),
		jwt.WithKey(jwa.SignatureAlgorithm(alg), key),
		jwt.WithValidate(true),
		jwt.WithIssuer(c.cfg.Issuer),
		jwt.WithAudience(c.cfg.ClientID),
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithRequiredClaim(jwt.IssuedAtKey),
		jwt.WithAcceptableSkew(clockSkew),
		jwt.WithClock(jwt.ClockFunc(c.now)),
	)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidIDToken, err)
	}

	claims, err := tok.AsMap(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: read claims: %w", ErrInvalidIDToken, err)
	}
	if aud := tok.Audience(); len(aud) > 1 {
		if azp, _ := claims["azp"].(string); azp != c.cfg.ClientID {
			return nil, fmt.Errorf("%w: aud names %d parties and azp is %q, want %q", ErrInvalidIDToken, len(aud), azp, c.cfg.ClientID)
		}
	}
	got, _ := claims["nonce"].(string)
	if nonce == "" || subtle.ConstantTimeCompare([]byte(got), []byte(nonce)) != 1 {
		return nil, fmt.Errorf("%w: nonce does not match the authorization request", ErrInvalidIDToken)
	}
	// Normalise times to float64 seconds like the other JSON numbers, so
	// Claim returns what the provider sent rather than jwx's time.Time.
	claims[jwt.IssuedAtKey] = float64(tok.IssuedAt().Unix())
	claims[jwt.ExpirationKey] = float64(tok.Expiration().Unix())
	return &IDToken{Subject: tok.Subject(), IssuedAt: tok.IssuedAt(), Expiry: tok.Expiration(), claims: claims}, nil
}

// keyCache holds the provider's JWK set. It fetches the set again when it
// is older than maxAge, and when a token names a kid the set lacks, which
// is how a provider's key rollover shows. A fetch for an unknown kid
// happens only when the last fetch is at least minRefresh old, so tokens
// with made-up kids cannot make this service flood the provider.
type keyCache struct {
	url        string
	client     httpDoer
	now        func() time.Time
	maxAge     time.Duration
	minRefresh time.Duration

	mu      sync.Mutex
	set     jwk.Set
	fetched time.Time
}

type httpDoer = jwk.HTTPClient

func newKeyCache(url string, client httpDoer, now func() time.Time) *keyCache {
	return &keyCache{url: url, client: client, now: now, maxAge: time.Hour, minRefresh: 10 * time.Second}
}

// lookup returns the key named kid. An empty kid is allowed only while the
// set holds a single key.
func (k *keyCache) lookup(ctx context.Context, kid string) (jwk.Key, error) {
	k.mu.Lock()
	defer k.mu.Unlock()

	now := k.now()
	if k.set == nil || now.Sub(k.fetched) > k.maxAge {
		if err := k.fetch(ctx, now); err != nil {
			return nil, err
		}
	}
	if key, ok := k.find(kid); ok {
		return key, nil
	}
	if now.Sub(k.fetched) >= k.minRefresh {
		if err := k.fetch(ctx, now); err != nil {
			return nil, err
		}
		if key, ok := k.find(kid); ok {
			return key, nil
		}
	}
	if kid == "" {
		return nil, fmt.Errorf("token header has no kid, which is allowed only while the provider's JWK set contains one key, and it contains %d", k.set.Len())
	}
	return nil, fmt.Errorf("kid %q is not in the provider's JWK set at %s", kid, k.url)
}

func (k *keyCache) find(kid string) (jwk.Key, bool) {
	if kid == "" {
		if k.set.Len() != 1 {
			return nil, false
		}
		return k.set.Key(0)
	}
	return k.set.LookupKeyID(kid)
}

func (k *keyCache) fetch(ctx context.Context, now time.Time) error {
	set, err := jwk.Fetch(ctx, k.url, jwk.WithHTTPClient(k.client))
	if err != nil {
		return fmt.Errorf("fetch the provider's JWK set: %w", err)
	}
	k.set, k.fetched = set, now
	return nil
}
