package consent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// maxClientJWKSBytes bounds a client's JWK set document. A public P-256 JWK
// with kid and alg is about 200 bytes, so 16 KiB holds dozens of keys, more
// than key rotation needs.
const maxClientJWKSBytes = 16 << 10

// ParseClientJWKS parses and checks the JWK set (RFC 7517 section 5) a
// client signs its client assertions with. Every key must be public, with a
// non-empty unique "kid" and an "alg" of ES256 (EC P-256) or EdDSA (OKP
// Ed25519). An error names the key's index and field, such as keys[1].alg,
// and never repeats key material.
func ParseClientJWKS(data []byte) (jwk.Set, error) {
	if len(data) > maxClientJWKSBytes {
		return nil, insights.Errorf(insights.ErrInvalid, "JWK set is %d bytes; the limit is %d", len(data), maxClientJWKSBytes)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, insights.Errorf(insights.ErrInvalid, `JWK set is not JSON of the form {"keys":[...]}`)
	}
	if len(doc.Keys) == 0 {
		return nil, insights.Errorf(insights.ErrInvalid, "JWK set: keys is missing or empty; want at least one public key")
	}

	set := jwk.NewSet()
	seen := map[string]bool{}
	for i, raw := range doc.Keys {
		key, err := parseClientJWK(raw)
		if err != nil {
			return nil, insights.Errorf(insights.ErrInvalid, "JWK set: keys[%d].%v", i, err)
		}
		if seen[key.KeyID()] {
			return nil, insights.Errorf(insights.ErrInvalid, "JWK set: keys[%d].kid: %q is used by an earlier key; each kid must be unique", i, key.KeyID())
		}
		seen[key.KeyID()] = true
		if err := set.AddKey(key); err != nil {
			return nil, fmt.Errorf("add keys[%d] to the JWK set: %w", i, err)
		}
	}
	return set, nil
}

// parseClientJWK checks one key of a client's JWK set. The error starts
// with the member at fault ("kid: ...") so the caller can prefix its index.
func parseClientJWK(raw json.RawMessage) (jwk.Key, error) {
	var members struct {
		KeyID     *string `json:"kid"`
		Algorithm *string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &members); err != nil {
		return nil, fmt.Errorf("kty: not a JWK object with string kid and alg members")
	}
	if members.KeyID == nil || strings.TrimSpace(*members.KeyID) == "" {
		return nil, fmt.Errorf("kid: missing; every key needs a kid, which client assertions name in their header")
	}
	// RFC 8725 section 3.1: a key is used with one algorithm, which the
	// registered JWK states, so a token cannot choose a weaker one.
	if members.Algorithm == nil || *members.Algorithm == "" {
		return nil, fmt.Errorf("alg: missing; want %q or %q", attest.AlgES256, attest.AlgEdDSA)
	}
	if err := attest.CheckSigningAlgorithm(*members.Algorithm); err != nil {
		return nil, fmt.Errorf("alg: %q is not supported; want %q or %q", *members.Algorithm, attest.AlgES256, attest.AlgEdDSA)
	}

	// CheckHolderKey rejects private members and checks that the key type
	// and curve fit the alg.
	key, err := CheckHolderKey(string(raw))
	if err != nil {
		return nil, fmt.Errorf("kty: %v", err)
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("use: %q; want \"sig\" or no use member", use)
	}
	return key, nil
}

// RegisterClientWithJWKS registers a live merchant or lender that
// authenticates with client assertions signed by the keys of jwks (see
// ParseClientJWKS) instead of an API key. The client has no API key.
func (s *Service) RegisterClientWithJWKS(ctx context.Context, name string, allowed []insights.ClaimKind, jwks []byte) (insights.Client, error) {
	if len(jwks) == 0 {
		return insights.Client{}, insights.Errorf(insights.ErrInvalid, "jwks: the JWK set is empty")
	}
	reg, _, err := s.Register(ctx, ClientMetadata{Name: name, AllowedClaims: allowed, JWKS: jwks})
	return reg.Client, err
}

// clientKey returns the key with this kid from the client's JWK set. For a
// set registered by URL, a kid missing from the cached copy makes the set
// be fetched again (at most once per remoteJWKSMinRefetch), so a client
// that publishes a new key can sign with it at once. found is false when
// the kid is not in the set; set is false when the client has no JWK set.
func (s *Service) clientKey(ctx context.Context, row clientRow, kid string) (key jwk.Key, found, hasSet bool, err error) {
	switch {
	case row.jwks != "":
		set, err := jwk.Parse([]byte(row.jwks))
		if err != nil {
			return nil, false, true, fmt.Errorf("parse the stored JWK set of client %s: %w", row.ID, err)
		}
		key, found = set.LookupKeyID(kid)
		return key, found, true, nil
	case row.JWKSURI != "":
		set, err := remoteSets.get(ctx, row.JWKSURI, false)
		if err != nil {
			return nil, false, true, fmt.Errorf("%w: the client's jwks_uri could not be read: %v", errAssertion, err)
		}
		if key, found = set.LookupKeyID(kid); found {
			return key, true, true, nil
		}
		if set, err = remoteSets.get(ctx, row.JWKSURI, true); err != nil {
			return nil, false, true, fmt.Errorf("%w: the client's jwks_uri could not be read: %v", errAssertion, err)
		}
		key, found = set.LookupKeyID(kid)
		return key, found, true, nil
	}
	return nil, false, false, nil
}

// CheckJWKSURI checks the URL a client publishes its JWK set at: https, or
// http on a loopback host for a sandbox client, like a redirect URI.
func CheckJWKSURI(raw, env string) error {
	if err := CheckRedirectURI(raw, env); err != nil {
		return insights.Errorf(insights.ErrInvalid, "jwks_uri %q: %v", raw, err)
	}
	return nil
}

// Caching of JWK sets registered by URL.
const (
	// remoteJWKSDefaultTTL applies when the response has no usable
	// Cache-Control max-age.
	remoteJWKSDefaultTTL = 5 * time.Minute
	remoteJWKSMinTTL     = 30 * time.Second
	remoteJWKSMaxTTL     = time.Hour
	// remoteJWKSStaleLimit is how long a cached set stays in use while its
	// URL fails, so a short outage at the client does not lock it out.
	remoteJWKSStaleLimit = 24 * time.Hour
)

// remoteJWKSMinRefetch bounds how often an unknown kid makes a set be
// fetched again, so a stream of bad assertions cannot turn this service
// into a load generator against the client's server. Tests lower it.
var remoteJWKSMinRefetch = 10 * time.Second

// remoteSets caches fetched JWK sets by URL for every Service of the
// process: the documents are public, and one URL has one content.
var remoteSets = &jwksCache{client: &http.Client{Timeout: 10 * time.Second}}

type jwksCache struct {
	client *http.Client
	mu     sync.Mutex
	byURL  map[string]*cachedSet
}

type cachedSet struct {
	set       jwk.Set
	fetchedAt time.Time
	expiresAt time.Time
}

// get returns the set published at url, from the cache while it is fresh.
// refresh requests a new fetch unless the last one is more recent than
// remoteJWKSMinRefetch.
func (c *jwksCache) get(ctx context.Context, url string, refresh bool) (jwk.Set, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byURL == nil {
		c.byURL = map[string]*cachedSet{}
	}
	now := time.Now()
	cached := c.byURL[url]
	if cached != nil {
		fresh := now.Before(cached.expiresAt)
		tooSoon := now.Sub(cached.fetchedAt) < remoteJWKSMinRefetch
		if (fresh && !refresh) || tooSoon {
			return cached.set, nil
		}
	}

	set, ttl, err := c.fetch(ctx, url)
	if err != nil {
		if cached != nil && now.Sub(cached.fetchedAt) < remoteJWKSStaleLimit {
			slog.Default().Warn("client JWK set fetch failed; using the cached copy", "jwks_uri", url, "err", err)
			cached.fetchedAt = now // wait remoteJWKSMinRefetch before trying again
			return cached.set, nil
		}
		return nil, err
	}
	c.byURL[url] = &cachedSet{set: set, fetchedAt: now, expiresAt: now.Add(ttl)}
	return set, nil
}

func (c *jwksCache) fetch(ctx context.Context, url string) (jwk.Set, time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, 0, fmt.Errorf("build request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("fetch failed: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("fetch returned HTTP %d; want 200", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxClientJWKSBytes+1))
	if err != nil {
		return nil, 0, fmt.Errorf("read response: %w", err)
	}
	set, err := ParseClientJWKS(body)
	if err != nil {
		return nil, 0, errors.New(insights.ErrorMessage(err))
	}
	return set, cacheTTL(resp.Header.Get("Cache-Control")), nil
}

// cacheTTL reads max-age from a Cache-Control header, clamped to the
// limits above; no-store and no-cache give the minimum.
func cacheTTL(header string) time.Duration {
	ttl := remoteJWKSDefaultTTL
	for _, directive := range strings.Split(header, ",") {
		name, value, _ := strings.Cut(strings.TrimSpace(directive), "=")
		switch strings.ToLower(name) {
		case "no-store", "no-cache":
			return remoteJWKSMinTTL
		case "max-age":
			if seconds, err := strconv.Atoi(strings.Trim(value, `"`)); err == nil {
				ttl = time.Duration(seconds) * time.Second
			}
		}
	}
	return min(max(ttl, remoteJWKSMinTTL), remoteJWKSMaxTTL)
}
