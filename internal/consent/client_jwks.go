package consent

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

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

// RegisterClientWithJWKS registers a merchant or lender that authenticates
// with client assertions signed by the keys of jwks (see ParseClientJWKS)
// instead of an API key. The client has no API key.
func (s *Service) RegisterClientWithJWKS(ctx context.Context, name string, allowed []insights.ClaimKind, jwks []byte) (insights.Client, error) {
	set, err := ParseClientJWKS(jwks)
	if err != nil {
		return insights.Client{}, err
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return insights.Client{}, fmt.Errorf("encode the client's JWK set: %w", err)
	}
	client, err := s.newClient(name, allowed)
	if err != nil {
		return insights.Client{}, err
	}

	if err := s.writeClient(ctx, client, clientCredentials{jwks: string(doc)}); err != nil {
		return insights.Client{}, err
	}
	s.logger().Info("client registered", "client_id", client.ID, "allowed_claims", len(allowed), "jwks_keys", set.Len())
	return client, nil
}

// clientJWKS returns the stored JWK set of client id, or nil when the client
// has none (it uses an API key) or does not exist.
func (s *Service) clientJWKS(ctx context.Context, id string) (jwk.Set, error) {
	creds, found, err := s.readCredentials(ctx, id)
	if err != nil || !found || creds.jwks == "" {
		return nil, err
	}
	set, err := jwk.Parse([]byte(creds.jwks))
	if err != nil {
		return nil, fmt.Errorf("parse the stored JWK set of client %s: %w", id, err)
	}
	return set, nil
}
