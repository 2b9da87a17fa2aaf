package consent

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store"
)

// Limits of a client assertion (a JWT of RFC 7523 section 3 signed by the
// client's own key, as OAuth's private_key_jwt client authentication uses).
const (
	// maxAssertionLifetime is how far in the future "exp" may be. A short
	// lifetime bounds how long the replay cache must remember a jti.
	maxAssertionLifetime = 5 * time.Minute
	// assertionSkew is the clock difference tolerated on "iat" and "nbf".
	assertionSkew = 30 * time.Second
	// maxAssertionBytes bounds the input parsed before the signature is
	// checked. An assertion with the registered claims is under 1 KiB.
	maxAssertionBytes = 8 << 10
	// maxJTIBytes bounds a jti, which the replay cache stores.
	maxJTIBytes = 256
)

// errAssertion is the category of every client assertion failure; its
// detail states which check failed, never the token or a key.
var errAssertion = errors.New("invalid client assertion")

// IsClientAssertion reports whether a bearer value has the shape of a
// compact JWS (RFC 7515 section 7.1): three non-empty parts separated by
// dots. API keys contain no dot.
func IsClientAssertion(bearer string) bool {
	parts := strings.Split(bearer, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" {
			return false
		}
	}
	return true
}

// AssertionAudience returns the "aud" a client assertion must carry: the
// GraphQL endpoint under the service's public URL.
func (s *Service) AssertionAudience() string {
	return strings.TrimRight(s.BaseURL, "/") + "/graphql"
}

// AuthenticateClientAssertion returns the active client that signed
// assertion, or an *insights.Error with code unauthorized. The header must
// name alg ES256 or EdDSA and the kid of a key in the client's registered
// JWK set, whose own alg must be the header's. The claims must have iss and
// sub equal to the client ID, aud including AssertionAudience, exp in the
// future and at most 5 minutes away, iat and nbf (both optional, as in RFC
// 7523) not more than 30 seconds in the future, and a jti not used before.
func (s *Service) AuthenticateClientAssertion(ctx context.Context, assertion string) (insights.Client, error) {
	client, jti, exp, err := s.verifyClientAssertion(ctx, assertion)
	if err != nil {
		if errors.Is(err, errAssertion) {
			s.logger().Debug("client assertion rejected", "client_id", client.ID, "reason", err.Error())
			return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "%v", err)
		}
		return insights.Client{}, err
	}

	// RFC 7523 section 3: the server may reject a JWT whose jti it has
	// already seen. The check comes last so a rejected token does not use
	// up its jti.
	first, err := s.claimAssertionID(ctx, client.ID, jti, exp)
	if err != nil {
		return insights.Client{}, err
	}
	if !first {
		s.logger().Info("client assertion replayed", "client_id", client.ID)
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "%v: jti was already used; sign a new assertion with a fresh jti for each request", errAssertion)
	}
	return client, nil
}

// verifyClientAssertion checks everything but replay and returns the
// client, the jti and the expiry. Errors wrapping errAssertion are the
// caller's fault; others are storage failures.
func (s *Service) verifyClientAssertion(ctx context.Context, assertion string) (insights.Client, string, time.Time, error) {
	var none insights.Client

	// Step 1: read the header and the still unverified issuer.
	if len(assertion) > maxAssertionBytes {
		return none, "", time.Time{}, fmt.Errorf("%w: %d bytes, over the limit of %d", errAssertion, len(assertion), maxAssertionBytes)
	}
	if !IsClientAssertion(assertion) {
		return none, "", time.Time{}, fmt.Errorf("%w: not a compact JWS of three base64url parts", errAssertion)
	}
	parts := strings.Split(assertion, ".")
	header, err := parseAssertionHeader(parts[0])
	if err != nil {
		return none, "", time.Time{}, err
	}
	unverified, err := parseAssertionClaims(parts[1])
	if err != nil {
		return none, "", time.Time{}, err
	}

	// Step 2: find the client the issuer names and its key for the kid.
	client, key, err := s.assertionKey(ctx, unverified.Issuer, header)
	if err != nil {
		return none, "", time.Time{}, err
	}

	// Step 3: check the signature with the registered key and that key's
	// own alg, then the claims of the verified payload.
	payload, err := jws.Verify([]byte(assertion), jws.WithKey(jwa.SignatureAlgorithm(key.Algorithm().String()), key), jws.WithContext(ctx))
	if err != nil {
		return client, "", time.Time{}, fmt.Errorf("%w: signature does not verify with the registered key of the header kid", errAssertion)
	}
	claims, err := parseAssertionClaims(base64.RawURLEncoding.EncodeToString(payload))
	if err != nil {
		return client, "", time.Time{}, err
	}
	if err := s.checkAssertionClaims(client.ID, claims); err != nil {
		return client, "", time.Time{}, err
	}
	return client, claims.JTI, claims.ExpiresAt, nil
}

// assertionHeader is the protected JOSE header of a client assertion.
type assertionHeader struct {
	Algorithm string `json:"alg"`
	KeyID     string `json:"kid"`
	Type      string `json:"typ"`
	Critical  any    `json:"crit"`
}

func parseAssertionHeader(segment string) (assertionHeader, error) {
	var h assertionHeader
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return h, fmt.Errorf("%w: header is not unpadded base64url", errAssertion)
	}
	if err := json.Unmarshal(data, &h); err != nil {
		return h, fmt.Errorf("%w: header is not a JSON object with string alg, kid and typ", errAssertion)
	}

	// Listing the accepted algorithms rules out "none" and HMAC, whose
	// secret an attacker could set to the bytes of a public key.
	if err := attest.CheckSigningAlgorithm(h.Algorithm); err != nil {
		return h, fmt.Errorf("%w: header alg is not accepted; want %q or %q", errAssertion, attest.AlgES256, attest.AlgEdDSA)
	}
	if h.KeyID == "" {
		return h, fmt.Errorf("%w: header kid is missing; name the key of your registered JWK set", errAssertion)
	}
	// RFC 7515 section 4.1.11: a recipient must reject a "crit" extension
	// it does not understand, and this code understands none.
	if h.Critical != nil {
		return h, fmt.Errorf("%w: header crit extensions are not supported", errAssertion)
	}
	// RFC 7523 sets no "typ"; one other than JWT marks another kind of token.
	if h.Type != "" && !strings.EqualFold(h.Type, "JWT") {
		return h, fmt.Errorf("%w: header typ must be \"JWT\" or absent", errAssertion)
	}
	return h, nil
}

// assertionKey returns the active client id and the public key of its JWK
// set (inline or fetched from its jwks_uri) that has the header's kid and
// alg. A client may list several keys, so it rotates by publishing a new
// key next to the old one and switching the kid it signs with.
func (s *Service) assertionKey(ctx context.Context, id string, h assertionHeader) (insights.Client, jwk.Key, error) {
	rows, err := s.queryClientRows(ctx, "WHERE client_id = {id:String}", store.P("id", id))
	if err != nil {
		return insights.Client{}, nil, err
	}
	if len(rows) != 1 {
		return insights.Client{}, nil, fmt.Errorf("%w: iss is not a registered client ID", errAssertion)
	}
	client := rows[0].Client
	if client.Disabled {
		return client, nil, fmt.Errorf("%w: the client is disabled", errAssertion)
	}
	key, found, hasSet, err := s.clientKey(ctx, rows[0], h.KeyID)
	switch {
	case err != nil:
		return client, nil, err
	case !hasSet:
		return client, nil, fmt.Errorf("%w: the client has no registered JWK set; authenticate with its API key", errAssertion)
	case !found:
		return client, nil, fmt.Errorf("%w: the header kid is not in the client's JWK set", errAssertion)
	}
	// RFC 8725 section 3.1: the registered key fixes the algorithm, and the
	// token's alg only has to agree with it.
	if key.Algorithm() == nil || key.Algorithm().String() != h.Algorithm {
		return client, nil, fmt.Errorf("%w: header alg differs from the alg registered for the header kid", errAssertion)
	}
	return client, key, nil
}

// assertionClaims are the registered claims of a client assertion.
type assertionClaims struct {
	Issuer    string
	Subject   string
	Audience  []string
	ExpiresAt time.Time
	IssuedAt  time.Time // zero when absent
	NotBefore time.Time // zero when absent
	JTI       string
}

func parseAssertionClaims(segment string) (assertionClaims, error) {
	var c assertionClaims
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return c, fmt.Errorf("%w: payload is not unpadded base64url", errAssertion)
	}
	var raw struct {
		Issuer    string          `json:"iss"`
		Subject   string          `json:"sub"`
		Audience  json.RawMessage `json:"aud"`
		ExpiresAt *json.Number    `json:"exp"`
		IssuedAt  *json.Number    `json:"iat"`
		NotBefore *json.Number    `json:"nbf"`
		JTI       string          `json:"jti"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return c, fmt.Errorf("%w: payload is not a JSON object with string iss, sub and jti and numeric exp, iat and nbf", errAssertion)
	}
	if raw.Issuer == "" {
		return c, fmt.Errorf("%w: iss is missing; set it to your client ID", errAssertion)
	}
	c.Issuer, c.Subject, c.JTI = raw.Issuer, raw.Subject, raw.JTI

	// RFC 7519 section 4.1.3: aud is one string or an array of strings.
	var one string
	if json.Unmarshal(raw.Audience, &one) == nil && one != "" {
		c.Audience = []string{one}
	} else if json.Unmarshal(raw.Audience, &c.Audience) != nil || len(c.Audience) == 0 {
		return c, fmt.Errorf("%w: aud is missing or not a string or array of strings", errAssertion)
	}

	for _, f := range []struct {
		name string
		num  *json.Number
		dst  *time.Time
	}{{"exp", raw.ExpiresAt, &c.ExpiresAt}, {"iat", raw.IssuedAt, &c.IssuedAt}, {"nbf", raw.NotBefore, &c.NotBefore}} {
		if f.num == nil {
			continue
		}
		if *f.dst, err = numericDate(*f.num); err != nil {
			return c, fmt.Errorf("%w: %s: %v", errAssertion, f.name, err)
		}
	}
	return c, nil
}

// numericDate reads a NumericDate (RFC 7519 section 2): seconds since
// 1970-01-01T00:00:00Z UTC, possibly with a fraction.
func numericDate(n json.Number) (time.Time, error) {
	// 253402300799 is 9999-12-31T23:59:59Z.
	seconds, err := n.Float64()
	if err != nil || seconds < 0 || seconds > 253402300799 {
		return time.Time{}, errors.New("not a NumericDate between 0 and year 9999")
	}
	whole, frac := math.Modf(seconds)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
}

// checkAssertionClaims applies RFC 7523 section 3 to the verified claims.
func (s *Service) checkAssertionClaims(clientID string, c assertionClaims) error {
	now := s.now()

	// RFC 7523 section 3, items 1 and 2: for client authentication both
	// iss and sub are the client ID.
	if c.Issuer != clientID || c.Subject != clientID {
		return fmt.Errorf("%w: iss and sub must both be your client ID", errAssertion)
	}
	// Item 3: the JWT must name this service as an audience.
	audience := s.AssertionAudience()
	if !containsString(c.Audience, audience) {
		return fmt.Errorf("%w: aud does not include %q", errAssertion, audience)
	}
	// Item 4: exp is required and must not have passed. The upper limit
	// is this service's policy.
	switch {
	case c.ExpiresAt.IsZero():
		return fmt.Errorf("%w: exp is missing", errAssertion)
	case !now.Before(c.ExpiresAt):
		return fmt.Errorf("%w: expired at %s", errAssertion, c.ExpiresAt.Format(time.RFC3339))
	case c.ExpiresAt.After(now.Add(maxAssertionLifetime)):
		return fmt.Errorf("%w: exp is more than %s in the future", errAssertion, maxAssertionLifetime)
	}
	// Items 5 and 6: nbf and iat are optional, but not in the future.
	if c.NotBefore.After(now.Add(assertionSkew)) {
		return fmt.Errorf("%w: not valid before %s", errAssertion, c.NotBefore.Format(time.RFC3339))
	}
	if c.IssuedAt.After(now.Add(assertionSkew)) {
		return fmt.Errorf("%w: iat %s is in the future", errAssertion, c.IssuedAt.Format(time.RFC3339))
	}
	// RFC 7523 section 3 makes jti optional; this service requires it to stop replay.
	if c.JTI == "" || len(c.JTI) > maxJTIBytes {
		return fmt.Errorf("%w: jti must be a string of 1 to %d bytes", errAssertion, maxJTIBytes)
	}
	return nil
}

func containsString(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

// replayCache remembers the jti values of accepted client assertions until
// they expire. Its zero value is ready to use.
//
// The cache lives in one process and only saves a storage round trip:
// claimAssertionID checks used_assertion_ids, which replicas share.
type replayCache struct {
	mu        sync.Mutex
	expiry    map[string]time.Time // key: client ID, NUL, jti
	sweepSize int                  // sweep expired entries once the map reaches this size
}

// claim records key until exp and reports true, or reports false when key
// is already recorded and not yet expired.
func (c *replayCache) claim(key string, exp, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expiry == nil {
		c.expiry = map[string]time.Time{}
	}
	if until, seen := c.expiry[key]; seen && now.Before(until) {
		return false
	}

	// Sweeping whenever the map doubles keeps the cost per claim constant
	// on average, and the map no larger than twice the live entries.
	if len(c.expiry) >= c.sweepSize {
		for k, until := range c.expiry {
			if !now.Before(until) {
				delete(c.expiry, k)
			}
		}
		c.sweepSize = max(2*len(c.expiry), 1024)
	}
	c.expiry[key] = exp
	return true
}
