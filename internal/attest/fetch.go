package attest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Limits of FetchJWKS. A JWK set of a few dozen EC keys is under 16 KiB, so
// 1 MiB only stops a runaway or hostile response.
const (
	fetchTimeout   = 10 * time.Second
	maxJWKSRespLen = 1 << 20
)

// FetchJWKS downloads and parses the JWK set at rawURL, such as an issuer's
// /.well-known/jwks.json. The whole request is bounded by 10 seconds (less
// if ctx ends sooner) and the body by 1 MiB. It returns an error for a
// status other than 200, a document without a "keys" array, an empty set,
// or a set that contains a private key. A nil client means
// http.DefaultClient.
func FetchJWKS(ctx context.Context, rawURL string, client *http.Client) (jwk.Set, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("JWKS URL %q is not an absolute http or https URL", rawURL)
	}
	if client == nil {
		client = http.DefaultClient
	}

	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("failed to build the JWKS request: %w", err)
	}
	req.Header.Set("Accept", "application/jwk-set+json, application/json")

	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("failed to fetch JWKS: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("failed to fetch JWKS from %s: status %s", u.Redacted(), resp.Status)
	}

	body, err := io.ReadAll(io.LimitReader(resp.Body, maxJWKSRespLen+1))
	if err != nil {
		return nil, fmt.Errorf("failed to read JWKS from %s: %w", u.Redacted(), err)
	}
	if len(body) > maxJWKSRespLen {
		return nil, fmt.Errorf("JWKS from %s is over the limit of %d bytes", u.Redacted(), maxJWKSRespLen)
	}
	return parseJWKS(body, u.Redacted())
}

// parseJWKS parses a JWK set document (RFC 7517 section 5) that contains only
// public keys.
func parseJWKS(body []byte, source string) (jwk.Set, error) {
	// jwk.Parse also accepts a single JWK; a JWKS endpoint must send a set.
	var doc struct {
		Keys json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil || len(doc.Keys) == 0 || doc.Keys[0] != '[' {
		return nil, fmt.Errorf("JWKS from %s is not a JSON object with a \"keys\" array", source)
	}

	set, err := jwk.Parse(body)
	if err != nil {
		return nil, fmt.Errorf("JWKS from %s is invalid: %w", source, err)
	}
	if set.Len() == 0 {
		return nil, fmt.Errorf("JWKS from %s has no keys", source)
	}
	for i := 0; i < set.Len(); i++ {
		key, _ := set.Key(i)
		private, err := jwk.IsPrivateKey(key)
		if err == nil && private {
			return nil, fmt.Errorf("JWKS from %s publishes a private key (kid %q), so it is rejected; the publisher must remove the private members", source, key.KeyID())
		}
	}
	return set, nil
}
