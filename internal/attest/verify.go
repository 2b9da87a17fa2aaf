package attest

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Categories of verification failure. Verify wraps one of them with the
// detail, so callers can tell them apart with errors.Is.
var (
	ErrMalformed   = errors.New("malformed token")
	ErrAlgorithm   = errors.New("algorithm not accepted")
	ErrUnknownKey  = errors.New("unknown key id")
	ErrSignature   = errors.New("signature invalid")
	ErrExpired     = errors.New("token expired")
	ErrNotYetValid = errors.New("token not yet valid")
	ErrAudience    = errors.New("wrong audience")
	ErrIssuer      = errors.New("wrong issuer")
)

// maxTokenSize bounds the input Verify parses. A token with every claim is
// under 1 KiB; 16 KiB leaves room while keeping hostile input cheap.
const maxTokenSize = 16 << 10

// acceptedAlgorithms are the only "alg" values Verify accepts. Listing them
// rules out "none" and HMAC, whose secret an attacker could set to the bytes
// of a public key.
var acceptedAlgorithms = map[string]bool{
	jwa.ES256.String(): true,
	jwa.EdDSA.String(): true,
}

// VerifyOptions are the checks Verify makes beyond the signature.
type VerifyOptions struct {
	// Audience, when set, must be the token's "aud" or one of its entries.
	Audience string
	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Skew is the clock difference tolerated on exp, nbf and iat; not negative.
	Skew time.Duration
}

// Header is the protected JOSE header of a verified token.
type Header struct {
	Algorithm string `json:"alg"`
	KeyID     string `json:"kid"`
	Type      string `json:"typ"`
}

// Verified is a token whose signature, key, times and audience were checked.
type Verified struct {
	Header Header
	// Claims is the whole payload as encoding/json decodes it into any:
	// JSON numbers are float64 and objects map[string]any.
	Claims    map[string]any
	Issuer    string
	Subject   string
	Audience  []string // one entry for our tokens, whose "aud" is a string
	IssuedAt  time.Time
	ExpiresAt time.Time
	JTI       string

	notBefore time.Time // "nbf"; zero when absent
}

// Verify checks a compact JWS token against the keys of a JWK set and
// returns its header and claims. It accepts only ES256 and EdDSA, looks the
// key up by the header's "kid" alone, and requires that key to carry the
// same "alg" as the header. It ignores jwk, jku, x5u and x5c headers, so a
// token can never choose its own key. The payload must carry iss, sub, aud,
// iat, exp and jti. Within opts.Skew, exp must be in the future, and iat and
// nbf (if present) must not be.
func Verify(ctx context.Context, token string, keys jwk.Set, opts VerifyOptions) (*Verified, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if keys == nil {
		return nil, errors.New("no JWK set to verify against")
	}
	if opts.Skew < 0 {
		return nil, fmt.Errorf("clock skew %s is negative", opts.Skew)
	}

	// Step 1: split the compact serialization and read the header.
	segments, err := splitCompact(token)
	if err != nil {
		return nil, err
	}
	header, err := parseHeader(segments[0])
	if err != nil {
		return nil, err
	}
	for i, name := range []string{"payload", "signature"} {
		if _, err := decodeSegment(segments[i+1]); err != nil {
			return nil, fmt.Errorf("%w: %s segment: %v", ErrMalformed, name, err)
		}
	}

	// Step 2: select the key by kid and check the signature with it.
	key, err := selectKey(keys, header)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.SignatureAlgorithm(header.Algorithm), key), jws.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("%w (kid %q)", ErrSignature, header.KeyID)
	}

	// Step 3: read the registered claims and check times, issuer and audience.
	verified, err := parseClaims(payload)
	if err != nil {
		return nil, err
	}
	verified.Header = header
	if err := checkClaims(verified, opts); err != nil {
		return nil, err
	}
	return verified, nil
}

// splitCompact returns the three segments of a compact JWS (RFC 7515
// section 7.1).
func splitCompact(token string) ([]string, error) {
	if len(token) > maxTokenSize {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrMalformed, len(token), maxTokenSize)
	}
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		return nil, fmt.Errorf("%w: want 3 base64url segments separated by dots, got %d", ErrMalformed, len(segments))
	}
	return segments, nil
}

// decodeSegment decodes base64url without padding, rejecting non-zero
// trailing bits so each byte string has one encoding.
func decodeSegment(segment string) ([]byte, error) {
	if segment == "" {
		return nil, errors.New("empty")
	}
	data, err := base64.RawURLEncoding.Strict().DecodeString(segment)
	if err != nil {
		return nil, errors.New("not unpadded base64url")
	}
	return data, nil
}

// parseHeader decodes and checks the protected header of a token.
func parseHeader(segment string) (Header, error) {
	return parseTypedHeader(segment, TokenType, true)
}

// selectKey returns the public key of keys whose kid is the header's, after
// checking that its "alg" is the header's and its type fits that alg.
func selectKey(keys jwk.Set, h Header) (jwk.Key, error) {
	key, ok := keys.LookupKeyID(h.KeyID)
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKey, h.KeyID)
	}

	// RFC 8725 section 3.1: each key is used with exactly one algorithm,
	// which the JWK set states; the token's own "alg" only has to agree.
	keyAlg := ""
	if key.Algorithm() != nil {
		keyAlg = key.Algorithm().String()
	}
	switch {
	case keyAlg == "":
		return nil, fmt.Errorf("%w: JWK %q has no \"alg\"", ErrAlgorithm, h.KeyID)
	case keyAlg != h.Algorithm:
		return nil, fmt.Errorf("%w: token alg %q differs from alg %q of JWK %q", ErrAlgorithm, h.Algorithm, keyAlg, h.KeyID)
	}
	if use := key.KeyUsage(); use != "" && use != string(jwk.ForSignature) {
		return nil, fmt.Errorf("%w: JWK %q has use %q; want \"sig\"", ErrAlgorithm, h.KeyID, use)
	}

	pub, err := key.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("failed to read public part of JWK %q: %w", h.KeyID, err)
	}
	if err := checkKeyFitsAlgorithm(pub, h.Algorithm); err != nil {
		return nil, fmt.Errorf("%w: JWK %q: %v", ErrAlgorithm, h.KeyID, err)
	}
	return pub, nil
}

// checkKeyFitsAlgorithm checks the curve RFC 7518 section 3.4 (ES256: P-256)
// or RFC 8037 (EdDSA: here Ed25519 only) requires of alg.
func checkKeyFitsAlgorithm(pub jwk.Key, alg string) error {
	switch alg {
	case jwa.ES256.String():
		ec, ok := pub.(jwk.ECDSAPublicKey)
		if !ok || ec.Crv() != jwa.P256 {
			return fmt.Errorf("ES256 needs an EC P-256 key; got kty %q", pub.KeyType())
		}
	case jwa.EdDSA.String():
		okp, ok := pub.(jwk.OKPPublicKey)
		if !ok || okp.Crv() != jwa.Ed25519 {
			return fmt.Errorf("EdDSA needs an OKP Ed25519 key; got kty %q", pub.KeyType())
		}
	}
	return pub.Validate()
}

// parseClaims decodes the payload and reads its registered claims.
func parseClaims(payload []byte) (*Verified, error) {
	members, err := decodeObject(payload)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	v := &Verified{}
	if err := json.Unmarshal(payload, &v.Claims); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}

	for _, f := range []struct {
		name string
		dst  *string
	}{{claimIssuer, &v.Issuer}, {claimSubject, &v.Subject}, {claimJWTID, &v.JTI}} {
		if err := json.Unmarshal(members[f.name], f.dst); err != nil || *f.dst == "" {
			return nil, fmt.Errorf("%w: payload: %q is missing or not a non-empty string", ErrMalformed, f.name)
		}
	}
	if v.Audience, err = parseAudience(members[claimAudience]); err != nil {
		return nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	if v.IssuedAt, err = parseNumericDate(members, claimIssuedAt); err != nil {
		return nil, err
	}
	if v.ExpiresAt, err = parseNumericDate(members, claimExpiresAt); err != nil {
		return nil, err
	}
	if _, ok := members["nbf"]; ok {
		if v.notBefore, err = parseNumericDate(members, "nbf"); err != nil {
			return nil, err
		}
	}
	return v, nil
}

// parseAudience reads "aud", which RFC 7519 section 4.1.3 allows as one
// string or an array of strings.
func parseAudience(raw json.RawMessage) ([]string, error) {
	if raw == nil {
		return nil, errors.New(`missing "aud"`)
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil && one != "" {
		return []string{one}, nil
	}
	var many []string
	if err := json.Unmarshal(raw, &many); err != nil || len(many) == 0 {
		return nil, errors.New(`"aud" is not a non-empty string or array of strings`)
	}
	for _, a := range many {
		if a == "" {
			return nil, errors.New(`"aud" has an empty entry`)
		}
	}
	return many, nil
}

// parseNumericDate reads a NumericDate (RFC 7519 section 2): seconds since
// 1970-01-01T00:00:00Z UTC, possibly with a fraction.
func parseNumericDate(members map[string]json.RawMessage, name string) (time.Time, error) {
	raw, ok := members[name]
	if !ok {
		return time.Time{}, fmt.Errorf("%w: payload: missing %q", ErrMalformed, name)
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return time.Time{}, fmt.Errorf("%w: payload: %q is not a number", ErrMalformed, name)
	}

	// 253402300799 is 9999-12-31T23:59:59Z; beyond it time arithmetic and
	// RFC 3339 formatting stop being meaningful.
	seconds, err := n.Float64()
	if err != nil || seconds < 0 || seconds > 253402300799 {
		return time.Time{}, fmt.Errorf("%w: payload: %q is not a NumericDate between 0 and year 9999", ErrMalformed, name)
	}
	whole, frac := math.Modf(seconds)
	return time.Unix(int64(whole), int64(frac*1e9)).UTC(), nil
}

// checkClaims checks exp, nbf, iat, iss and aud against opts.
func checkClaims(v *Verified, opts VerifyOptions) error {
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}

	// RFC 7519 section 4.1.4: the current time must be before exp.
	if !now.Before(v.ExpiresAt.Add(opts.Skew)) {
		return fmt.Errorf("%w at %s", ErrExpired, v.ExpiresAt.Format(time.RFC3339))
	}
	if v.IssuedAt.After(now.Add(opts.Skew)) {
		return fmt.Errorf("%w: issued at %s, in the future", ErrNotYetValid, v.IssuedAt.Format(time.RFC3339))
	}
	// RFC 7519 section 4.1.5: the current time must be at or after nbf.
	if v.notBefore.After(now.Add(opts.Skew)) {
		return fmt.Errorf("%w before %s", ErrNotYetValid, v.notBefore.Format(time.RFC3339))
	}

	if opts.Issuer != "" && v.Issuer != opts.Issuer {
		return fmt.Errorf("%w: iss %q; want %q", ErrIssuer, v.Issuer, opts.Issuer)
	}
	if opts.Audience != "" && !contains(v.Audience, opts.Audience) {
		return fmt.Errorf("%w: aud %q does not include %q", ErrAudience, v.Audience, opts.Audience)
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}

// decodeObject decodes a JSON object into its members, rejecting a member
// name that occurs twice. RFC 7515 section 5.2 lets a JWS recipient reject
// duplicates, and decoders disagree on which of two values wins.
func decodeObject(data []byte) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}

	members := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("invalid JSON: %v", err)
		}
		name, _ := tok.(string) // inside an object, Token returns names as strings
		var value json.RawMessage
		if err := dec.Decode(&value); err != nil {
			return nil, fmt.Errorf("invalid JSON in member %q: %v", name, err)
		}
		if _, dup := members[name]; dup {
			return nil, fmt.Errorf("member %q occurs twice", name)
		}
		members[name] = value
	}

	if _, err := dec.Token(); err != nil {
		return nil, fmt.Errorf("invalid JSON: %v", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON object")
	}
	return members, nil
}
