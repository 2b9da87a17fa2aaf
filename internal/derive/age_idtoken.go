package derive

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// IDTokenSource is the parties.source of a birth date taken from an
// OpenID Connect ID token.
const IDTokenSource = "oidc-id-token"

// maxIDTokenBytes bounds an ID token; real ones are 1 to 3 KiB.
const maxIDTokenBytes = 16 << 10

// idTokenAlgorithms are the signature algorithms accepted on an ID token,
// with the key type each needs. HMAC algorithms are left out: their key is
// a shared secret, never a key of a published JWK set.
var idTokenAlgorithms = map[jwa.SignatureAlgorithm]jwa.KeyType{
	jwa.RS256: jwa.RSA, jwa.RS384: jwa.RSA, jwa.RS512: jwa.RSA,
	jwa.PS256: jwa.RSA, jwa.PS384: jwa.RSA, jwa.PS512: jwa.RSA,
	jwa.ES256: jwa.EC, jwa.ES384: jwa.EC, jwa.ES512: jwa.EC,
	jwa.EdDSA: jwa.OKP,
}

// IDTokenOptions are the checks VerifyIDTokenBirthDate makes.
type IDTokenOptions struct {
	// Issuer must equal the token's "iss": the bank's OpenID Provider URL.
	Issuer string
	// Audience is this service's client ID at the bank; the token's "aud"
	// must contain it.
	Audience string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Skew is the clock difference tolerated on exp, iat and nbf.
	Skew time.Duration
}

// birthdateClaim matches the full-date form of the OpenID Connect
// "birthdate" claim (OpenID Connect Core 1.0 section 5.1). The year-only
// form and a year of 0000 (year withheld) cannot decide an age threshold.
var birthdateClaim = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}$`)

// VerifyIDTokenBirthDate verifies an OpenID Connect ID token against the
// bank's JWK set and returns its "birthdate" claim. The header's alg must
// be an asymmetric algorithm, and the key is chosen by kid alone and must
// be of the type the alg needs and, when it names one, the same alg. The
// token must have iss equal to opts.Issuer, aud containing opts.Audience,
// an exp in the future and iat and nbf not in the future, within opts.Skew.
// Errors never quote the birth date.
func VerifyIDTokenBirthDate(ctx context.Context, token string, keys jwk.Set, opts IDTokenOptions) (insights.Date, error) {
	if err := ctx.Err(); err != nil {
		return insights.Date{}, err
	}
	switch {
	case opts.Issuer == "":
		return insights.Date{}, errors.New("ID token: the expected issuer is empty")
	case opts.Audience == "":
		return insights.Date{}, errors.New("ID token: the expected audience is empty")
	case len(token) > maxIDTokenBytes:
		return insights.Date{}, fmt.Errorf("ID token: %d bytes; the limit is %d", len(token), maxIDTokenBytes)
	}
	token = strings.TrimSpace(token)

	// Step 1: the header names an accepted alg and a kid of the set.
	alg, kid, err := idTokenHeader(token)
	if err != nil {
		return insights.Date{}, err
	}
	key, ok := keys.LookupKeyID(kid)
	if !ok {
		return insights.Date{}, fmt.Errorf("ID token: kid %q is not in the bank's JWK set", kid)
	}
	if key.KeyType() != idTokenAlgorithms[alg] {
		return insights.Date{}, fmt.Errorf("ID token: alg %s needs a %s key, but kid %q is %s", alg, idTokenAlgorithms[alg], kid, key.KeyType())
	}
	if own := key.Algorithm(); own != nil && own.String() != "" && own.String() != alg.String() {
		return insights.Date{}, fmt.Errorf("ID token: alg %s differs from the alg %s of key %q", alg, own, kid)
	}

	// Step 2: the signature.
	payload, err := jws.Verify([]byte(token), jws.WithKey(alg, key))
	if err != nil {
		return insights.Date{}, fmt.Errorf("ID token: signature does not verify with key %q: %w", kid, err)
	}

	// Step 3: the registered claims.
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	parsed, err := jwt.Parse(payload, jwt.WithVerify(false), jwt.WithValidate(true),
		jwt.WithIssuer(opts.Issuer), jwt.WithAudience(opts.Audience), jwt.WithRequiredClaim(jwt.ExpirationKey),
		jwt.WithClock(jwt.ClockFunc(now)), jwt.WithAcceptableSkew(opts.Skew))
	if err != nil {
		return insights.Date{}, fmt.Errorf("ID token: %w", err)
	}

	// Step 4: the birth date.
	raw, ok := parsed.Get("birthdate")
	if !ok {
		return insights.Date{}, errors.New(`ID token: no "birthdate" claim`)
	}
	s, ok := raw.(string)
	if !ok || !birthdateClaim.MatchString(s) || strings.HasPrefix(s, "0000") {
		return insights.Date{}, errors.New(`ID token: "birthdate" is not a full YYYY-MM-DD date`)
	}
	birth, err := insights.ParseDate(s)
	if err != nil {
		return insights.Date{}, errors.New(`ID token: "birthdate" is not a valid calendar date`)
	}
	if birth.In(time.UTC).After(now()) {
		return insights.Date{}, errors.New(`ID token: "birthdate" is in the future`)
	}
	return birth, nil
}

// idTokenHeader returns the alg and kid of a compact JWS header.
func idTokenHeader(token string) (jwa.SignatureAlgorithm, string, error) {
	segment, _, ok := strings.Cut(token, ".")
	if !ok || strings.Count(token, ".") != 2 {
		return "", "", errors.New("ID token: not a compact JWS of three dot-separated parts")
	}
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return "", "", errors.New("ID token: the header is not unpadded base64url")
	}
	var header struct {
		Alg  string          `json:"alg"`
		Kid  string          `json:"kid"`
		Crit json.RawMessage `json:"crit"`
	}
	if err := json.Unmarshal(data, &header); err != nil {
		return "", "", errors.New("ID token: the header is not a JSON object")
	}
	alg := jwa.SignatureAlgorithm(header.Alg)
	if _, ok := idTokenAlgorithms[alg]; !ok {
		return "", "", fmt.Errorf("ID token: alg %q is not accepted; want an RSA, ECDSA or EdDSA algorithm", header.Alg)
	}
	if header.Kid == "" {
		return "", "", errors.New(`ID token: the header has no "kid"`)
	}
	if header.Crit != nil {
		return "", "", errors.New(`ID token: the header has a "crit" member, which is not supported`)
	}
	return alg, header.Kid, nil
}

// StoreBirthDate stores birth as the customer's birth date from source, in
// a parties row of its own ("<source>:<issuer>") that holds no name or
// address. Age claims then read it like a birth date of the bank's party
// records; when the two differ, age claims are unavailable.
func (d *Deriver) StoreBirthDate(ctx context.Context, customerID string, birth insights.Date, source, issuer string) error {
	if customerID == "" {
		return insights.Errorf(insights.ErrInvalid, "customer ID is empty")
	}
	if birth.IsZero() {
		return insights.Errorf(insights.ErrInvalid, "birth date is zero")
	}
	err := d.Engine.Exec(ctx, `INSERT INTO parties (customer_id, party_id, name, birth_date, address_lines, town, post_code, country,
    content_hash, source, ingested_at)
VALUES ({customer:String}, {party:String}, '', toDate32({birth:String}), [], '', '', '', '', {source:String}, now64(3, 'UTC'))`,
		store.P("customer", customerID), store.P("party", source+":"+issuer),
		store.P("birth", birth.String()), store.P("source", source))
	if err != nil {
		return fmt.Errorf("store the birth date of customer %s from %s: %w", customerID, source, err)
	}
	return nil
}
