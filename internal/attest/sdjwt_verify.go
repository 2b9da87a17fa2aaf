package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Categories of SD-JWT failure beyond those Verify returns. VerifySDJWT
// wraps one of them, or one of Verify's, with the detail.
var (
	ErrDisclosure = errors.New("disclosure rejected")
	ErrKeyBinding = errors.New("key binding invalid")
)

const (
	// maxPresentationSize bounds the input VerifySDJWT parses. A token with
	// every claim kind and its disclosures is about 2.4 KiB.
	maxPresentationSize = 64 << 10
	// maxNesting bounds the depth of objects and arrays walked while
	// replacing digests, so a hostile payload cannot recurse without end.
	maxNesting = 32
	// DefaultKeyBindingMaxAge is the maximum age of a KB-JWT's "iat" when
	// SDJWTVerifyOptions.KeyBindingMaxAge is zero.
	DefaultKeyBindingMaxAge = 5 * time.Minute
)

// reservedClaims are top-level names a disclosure may not carry. RFC 9901
// section 7.1 forbids "_sd" and "...". The SD-JWT VC draft keeps iss, nbf,
// exp, cnf, vct, vct#integrity and status plain. This service also keeps
// sub, aud, iat, jti and consent plain, so a holder cannot swap any of them.
var reservedClaims = map[string]bool{
	claimDigests: true, arrayDigestKey: true, claimDigestAlg: true,
	claimIssuer: true, claimSubject: true, claimAudience: true, claimIssuedAt: true,
	claimExpiresAt: true, claimNotBefore: true, claimJWTID: true,
	claimConfirmation: true, claimVCT: true, "vct#integrity": true, StatusClaim: true,
	ConsentClaim: true,
}

// SDJWTVerifyOptions are the checks VerifySDJWT makes beyond the signature.
type SDJWTVerifyOptions struct {
	// Issuer, when set, must equal the token's "iss".
	Issuer string
	// VCT, when set, must equal the token's "vct".
	VCT string
	// Audience is the verifier's identifier. When set, it must be in the
	// issuer-signed JWT's "aud" if that has one. A KB-JWT's "aud" must
	// equal it.
	Audience string
	// Nonce is the value the verifier gave the holder. A KB-JWT's "nonce"
	// must equal it.
	Nonce string
	// RequireKeyBinding rejects a presentation without a KB-JWT signed by
	// the key in "cnf". A KB-JWT that is present is verified either way.
	RequireKeyBinding bool
	// KeyBindingMaxAge is the maximum age of a KB-JWT's "iat", beyond Skew.
	// Zero means DefaultKeyBindingMaxAge.
	KeyBindingMaxAge time.Duration
	// Now returns the current time. Nil means time.Now.
	Now func() time.Time
	// Skew is the clock difference tolerated on exp, nbf and the "iat" of
	// both JWTs. It must not be negative.
	Skew time.Duration
}

// VerifiedSDJWT is an SD-JWT presentation whose signature, disclosures,
// times and, when present, key binding were checked.
type VerifiedSDJWT struct {
	Header    Header
	Issuer    string
	Subject   string   // empty when the token has no "sub"
	Audience  []string // empty when the issuer-signed JWT has no "aud"
	IssuedAt  time.Time
	ExpiresAt time.Time
	JTI       string // empty when the token has no "jti"
	VCT       string
	// Claims is the processed payload of RFC 9901 section 7.1: the plain
	// claims and the disclosed ones in their places, without "_sd",
	// "_sd_alg" and undisclosed array elements. Values are as encoding/json
	// decodes them into any.
	Claims map[string]any
	// Disclosed contains the top-level claims that a disclosure revealed.
	Disclosed map[string]any
	// HolderKey is the public key in "cnf", nil when the token has none.
	HolderKey jwk.Key
	// KeyBinding is the verified KB-JWT, nil when the presentation has none.
	KeyBinding *KeyBinding
}

// KeyBinding is the content of a verified Key Binding JWT.
type KeyBinding struct {
	Algorithm string
	IssuedAt  time.Time
	Audience  string
	Nonce     string
}

// presentation is an SD-JWT split at its "~" separators.
type presentation struct {
	issuerJWT   string
	disclosures []string
	keyBinding  string // empty when the presentation ends with "~"
	// signedPart is everything up to and including the last "~", the input
	// of "sd_hash" (RFC 9901 section 4.3.1).
	signedPart string
}

// VerifySDJWT checks an SD-JWT presentation against the keys of a JWK set
// and returns its claims, following the verifier rules of RFC 9901
// section 7. The issuer-signed JWT must have typ "dc+sd-jwt" and pass the
// header, key and signature rules of Verify. Every disclosure must match
// exactly one digest, no digest may occur twice, and no disclosure may
// replace a plain or reserved claim. The "_sd_alg" must be "sha-256". When
// the presentation carries a KB-JWT or opts.RequireKeyBinding is set, the
// token must have a "cnf" key and the KB-JWT must be signed by it, with
// opts.Audience, opts.Nonce, a fresh "iat" and the "sd_hash" of the
// presentation.
func VerifySDJWT(ctx context.Context, sdjwt string, keys jwk.Set, opts SDJWTVerifyOptions) (*VerifiedSDJWT, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := checkSDJWTOptions(keys, opts); err != nil {
		return nil, err
	}
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}

	// Step 1: split the presentation and verify the issuer-signed JWT.
	parts, err := splitPresentation(sdjwt)
	if err != nil {
		return nil, err
	}
	header, payload, err := verifyIssuerJWT(ctx, parts.issuerJWT, keys)
	if err != nil {
		return nil, err
	}
	verified, members, err := parseSDJWTClaims(payload)
	if err != nil {
		return nil, err
	}
	verified.Header = header

	// Step 2: replace digests by the disclosed claims.
	if err := processDisclosures(verified, payload, parts.disclosures); err != nil {
		return nil, err
	}

	// Step 3: times, issuer, type and audience of the issuer-signed JWT.
	if err := checkSDJWTClaims(verified, members, opts, now); err != nil {
		return nil, err
	}

	// Step 4: key binding.
	if parts.keyBinding == "" && !opts.RequireKeyBinding {
		return verified, nil
	}
	if verified.HolderKey == nil {
		return nil, fmt.Errorf(`%w: the token has no "cnf" key to check a KB-JWT against`, ErrKeyBinding)
	}
	if parts.keyBinding == "" {
		return nil, fmt.Errorf("%w: the presentation has no KB-JWT, but key binding is required", ErrKeyBinding)
	}
	verified.KeyBinding, err = verifyKeyBinding(ctx, parts, verified.HolderKey, opts, now)
	if err != nil {
		return nil, err
	}
	return verified, nil
}

func checkSDJWTOptions(keys jwk.Set, opts SDJWTVerifyOptions) error {
	switch {
	case keys == nil:
		return errors.New("no JWK set to verify against")
	case opts.Skew < 0:
		return fmt.Errorf("clock skew %s is negative", opts.Skew)
	case opts.KeyBindingMaxAge < 0:
		return fmt.Errorf("KB-JWT max age %s is negative", opts.KeyBindingMaxAge)
	case opts.RequireKeyBinding && (opts.Audience == "" || opts.Nonce == ""):
		return errors.New("key binding needs SDJWTVerifyOptions.Audience and Nonce")
	}
	return nil
}

// splitPresentation splits "<JWT>~<D1>~...~<Dn>~<KB-JWT>", in which the
// disclosures and the KB-JWT may be absent (RFC 9901 section 4).
func splitPresentation(sdjwt string) (presentation, error) {
	if len(sdjwt) > maxPresentationSize {
		return presentation{}, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrMalformed, len(sdjwt), maxPresentationSize)
	}
	last := strings.LastIndexByte(sdjwt, '~')
	if last < 0 {
		return presentation{}, fmt.Errorf(`%w: an SD-JWT has at least one "~" after the issuer-signed JWT`, ErrMalformed)
	}

	parts := presentation{signedPart: sdjwt[:last+1], keyBinding: sdjwt[last+1:]}
	fields := strings.Split(sdjwt[:last], "~")
	parts.issuerJWT = fields[0]
	parts.disclosures = fields[1:]
	for n, d := range parts.disclosures {
		if d == "" {
			return presentation{}, fmt.Errorf(`%w: disclosure %d is empty ("~~")`, ErrMalformed, n)
		}
	}
	return parts, nil
}

// verifyIssuerJWT checks the issuer-signed JWT under Verify's header and
// key rules with typ "dc+sd-jwt", and returns its header and payload.
func verifyIssuerJWT(ctx context.Context, jwt string, keys jwk.Set) (Header, []byte, error) {
	segments, err := splitCompact(jwt)
	if err != nil {
		return Header{}, nil, err
	}
	header, err := parseTypedHeader(segments[0], SDJWTType, true)
	if err != nil {
		return Header{}, nil, err
	}
	for n, name := range []string{"payload", "signature"} {
		if _, err := decodeSegment(segments[n+1]); err != nil {
			return Header{}, nil, fmt.Errorf("%w: %s segment: %v", ErrMalformed, name, err)
		}
	}

	key, err := selectKey(keys, header)
	if err != nil {
		return Header{}, nil, err
	}
	payload, err := jws.Verify([]byte(jwt), jws.WithKey(jwa.SignatureAlgorithm(header.Algorithm), key), jws.WithContext(ctx))
	if err != nil {
		return Header{}, nil, fmt.Errorf("%w (kid %q)", ErrSignature, header.KeyID)
	}
	return header, payload, nil
}

// parseTypedHeader decodes a protected header with the rules of Verify:
// alg ES256 or EdDSA, no "crit", and the given "typ", compared without
// regard to case (RFC 7515 section 4.1.9). The kid is required when
// needKeyID is set. A KB-JWT has no kid because its key comes from "cnf".
func parseTypedHeader(segment, typ string, needKeyID bool) (Header, error) {
	data, err := decodeSegment(segment)
	if err != nil {
		return Header{}, fmt.Errorf("%w: header segment: %v", ErrMalformed, err)
	}
	members, err := decodeObject(data)
	if err != nil {
		return Header{}, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	// RFC 7515 section 4.1.11: a recipient must reject a JWS whose "crit"
	// lists an extension it does not understand, and this code understands
	// none (such as "b64" of RFC 7797).
	if _, ok := members["crit"]; ok {
		return Header{}, fmt.Errorf("%w: header: \"crit\" extensions are not supported", ErrMalformed)
	}

	var h Header
	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{"alg", &h.Algorithm, true}, {"kid", &h.KeyID, needKeyID}, {"typ", &h.Type, true}} {
		raw, ok := members[f.name]
		if !ok && !f.required {
			continue
		}
		if !ok {
			return Header{}, fmt.Errorf("%w: header: missing %q", ErrMalformed, f.name)
		}
		if err := json.Unmarshal(raw, f.dst); err != nil || *f.dst == "" {
			return Header{}, fmt.Errorf("%w: header: %q is not a non-empty string", ErrMalformed, f.name)
		}
	}

	if !acceptedAlgorithms[h.Algorithm] {
		return Header{}, fmt.Errorf("%w: alg %q; want ES256 or EdDSA", ErrAlgorithm, h.Algorithm)
	}
	// RFC 8725 section 3.11: a distinct "typ" keeps another kind of JWT
	// signed by the same key from being accepted as this one.
	if !strings.EqualFold(h.Type, typ) {
		return Header{}, fmt.Errorf("%w: header: typ %q; want %q", ErrMalformed, h.Type, typ)
	}
	return h, nil
}

// parseSDJWTClaims reads the registered claims, "vct", "_sd_alg" and "cnf"
// of the issuer-signed payload.
func parseSDJWTClaims(payload []byte) (*VerifiedSDJWT, map[string]json.RawMessage, error) {
	members, err := decodeObject(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
	}
	v := &VerifiedSDJWT{}

	for _, f := range []struct {
		name     string
		dst      *string
		required bool
	}{{claimIssuer, &v.Issuer, true}, {claimVCT, &v.VCT, true}, {claimSubject, &v.Subject, false}, {claimJWTID, &v.JTI, false}} {
		raw, ok := members[f.name]
		if !ok && !f.required {
			continue
		}
		if err := json.Unmarshal(raw, f.dst); err != nil || *f.dst == "" {
			return nil, nil, fmt.Errorf("%w: payload: %q is missing or not a non-empty string", ErrMalformed, f.name)
		}
	}
	if raw, ok := members[claimAudience]; ok {
		if v.Audience, err = parseAudience(raw); err != nil {
			return nil, nil, fmt.Errorf("%w: payload: %v", ErrMalformed, err)
		}
	}
	if v.IssuedAt, err = parseNumericDate(members, claimIssuedAt); err != nil {
		return nil, nil, err
	}
	if v.ExpiresAt, err = parseNumericDate(members, claimExpiresAt); err != nil {
		return nil, nil, err
	}

	// RFC 9901 section 4.1.1: without "_sd_alg" the digests are SHA-256.
	// This verifier implements no other hash, so it rejects any other name.
	if raw, ok := members[claimDigestAlg]; ok {
		var alg string
		if err := json.Unmarshal(raw, &alg); err != nil || alg != SDAlgorithm {
			return nil, nil, fmt.Errorf("%w: payload: %q is not %q", ErrAlgorithm, claimDigestAlg, SDAlgorithm)
		}
	}
	if raw, ok := members[claimConfirmation]; ok {
		if v.HolderKey, err = parseConfirmation(raw); err != nil {
			return nil, nil, err
		}
	}
	return v, members, nil
}

// parseConfirmation reads "cnf", which must hold a public key as "jwk"
// (RFC 7800 section 3.2). Other confirmation methods are not supported.
func parseConfirmation(raw json.RawMessage) (jwk.Key, error) {
	var cnf map[string]json.RawMessage
	if err := json.Unmarshal(raw, &cnf); err != nil {
		return nil, fmt.Errorf("%w: payload: %q is not a JSON object", ErrMalformed, claimConfirmation)
	}
	data, ok := cnf["jwk"]
	if !ok {
		return nil, fmt.Errorf(`%w: payload: %q has no "jwk" member`, ErrMalformed, claimConfirmation)
	}
	key, err := jwk.ParseKey(data)
	if err != nil {
		return nil, fmt.Errorf("%w: payload: cnf.jwk is not a valid JWK: %v", ErrMalformed, err)
	}
	if _, err := keyBindingAlgorithm(key); err != nil {
		return nil, fmt.Errorf("%w: payload: cnf.jwk: %v", ErrMalformed, err)
	}
	return key, nil
}

// checkSDJWTClaims applies Verify's time and issuer checks, then the
// audience and type checks of opts.
func checkSDJWTClaims(v *VerifiedSDJWT, members map[string]json.RawMessage, opts SDJWTVerifyOptions, now time.Time) error {
	checked := &Verified{Issuer: v.Issuer, Audience: v.Audience, IssuedAt: v.IssuedAt, ExpiresAt: v.ExpiresAt}
	if _, ok := members[claimNotBefore]; ok {
		var err error
		if checked.notBefore, err = parseNumericDate(members, claimNotBefore); err != nil {
			return err
		}
	}
	verifyOpts := VerifyOptions{Issuer: opts.Issuer, Now: func() time.Time { return now }, Skew: opts.Skew}
	// A token without "aud" is bound to a verifier by its KB-JWT alone.
	if len(v.Audience) > 0 {
		verifyOpts.Audience = opts.Audience
	}
	if err := checkClaims(checked, verifyOpts); err != nil {
		return err
	}

	if opts.VCT != "" && v.VCT != opts.VCT {
		return fmt.Errorf("%w: vct %q; want %q", ErrMalformed, v.VCT, opts.VCT)
	}
	return nil
}
