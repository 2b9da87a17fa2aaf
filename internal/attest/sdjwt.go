package attest

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
)

// Header "typ" values and the digest algorithm of SD-JWT tokens.
const (
	// SDJWTType is the "typ" of the issuer-signed JWT of an SD-JWT VC.
	// Recent SD-JWT VC drafts use it in place of the earlier "vc+sd-jwt".
	SDJWTType = "dc+sd-jwt"
	// KeyBindingType is the "typ" of a Key Binding JWT (RFC 9901 section 4.3).
	KeyBindingType = "kb+jwt"
	// SDAlgorithm is the "_sd_alg" value: SHA-256, named as in the IANA
	// Named Information Hash Algorithm registry, which RFC 9901 uses.
	SDAlgorithm = "sha-256"
	// DefaultVCTPath is appended to the issuer URL to form the default "vct".
	DefaultVCTPath = "/vct/attestation"
)

// Payload members that RFC 9901 and the SD-JWT VC draft define.
const (
	claimDigests      = "_sd"
	claimDigestAlg    = "_sd_alg"
	claimVCT          = "vct"
	claimConfirmation = "cnf"
	claimNotBefore    = "nbf"
	// arrayDigestKey is the only member of the object that replaces a
	// selectively disclosable array element (RFC 9901 section 4.2.4.2).
	arrayDigestKey = "..."
)

const (
	saltSize = 16 // bytes: RFC 9901 section 4.2.1 recommends 128 bits of salt

	// minDigests is the smallest "_sd" array issued. Five claim kinds, the
	// salary amount band and "unavailable" make seven disclosures when each
	// kind is asked once, so with decoys up to this size the array length
	// does not tell how many claims a token has.
	minDigests = 8
	// minDecoys and maxExtraDecoys bound the decoys added beyond minDigests:
	// at least minDecoys, then 0 to maxExtraDecoys more at random.
	minDecoys      = 2
	maxExtraDecoys = 3
)

// SDJWTOptions are the choices of IssueSDJWT beyond those of Issue.
type SDJWTOptions struct {
	// VCT is the credential type, the "vct" claim. Empty means the issuer
	// URL followed by DefaultVCTPath.
	VCT string
	// HolderKey is the public key of the holder, an EC P-256 or Ed25519 JWK.
	// When set, the token carries it as "cnf" (RFC 7800) and a verifier can
	// demand a Key Binding JWT signed by it. A private key is rejected.
	HolderKey jwk.Key
	// Status is the token's entry in a Token Status List, stated in the
	// plain "status" claim. Nil leaves the claim out.
	Status *StatusReference
	// Consent binds the token to its consent and data window in the plain
	// "consent" claim. Nil leaves the claim out.
	Consent *ConsentBinding
	// Environment is the plain "env" claim, as in JWSOptions.
	Environment string
}

// IssuedSDJWT is an SD-JWT VC and the facts about it that the service
// records. Token is a bearer credential unless it was issued with a holder
// key: log JTI, never Token or a disclosure.
type IssuedSDJWT struct {
	// Token is "<issuer-signed JWT>~<disclosure>~...~<disclosure>~" with one
	// disclosure per claim (RFC 9901 section 4).
	Token     string
	JTI       string
	Subject   string
	VCT       string
	IssuedAt  time.Time // UTC, whole seconds
	ExpiresAt time.Time // UTC, whole seconds
	// ClaimNames lists every requested claim in request order, including
	// those listed under "unavailable", for the audit log.
	ClaimNames []string
	// Disclosed lists the names that have a disclosure in Token, sorted:
	// the available claims and "unavailable" when some claim was not.
	Disclosed []string
	// Status is the token's entry in a status list, or nil.
	Status *StatusReference
	// Consent is the token's plain "consent" claim, or nil.
	Consent *ConsentBinding
}

// IssueSDJWT signs an SD-JWT VC for clientID in which every claim that
// ClaimsPayload returns, "unavailable" included, is selectively disclosable
// through its own disclosure. The header is {alg, kid, typ: "dc+sd-jwt"}.
// The payload has iss, sub (the pairwise subject), aud (clientID), iat, exp,
// jti, vct, "_sd_alg": "sha-256", "_sd" (the claim digests and random decoys,
// sorted), cnf with opts.HolderKey, and status with opts.Status. Registered
// claims, cnf and status are never selectively disclosable.
//
// The issuer-signed JWT keeps "aud" although the SD-JWT VC draft leaves it
// out and puts the verifier in the Key Binding JWT: the pairwise subject is
// only meaningful to clientID, so the token names it as its audience.
func (i *Issuer) IssueSDJWT(customerID, clientID string, results []insights.ClaimResult, lifetime time.Duration, opts SDJWTOptions) (IssuedSDJWT, error) {
	if err := i.checkIssue(customerID, clientID, results, lifetime); err != nil {
		return IssuedSDJWT{}, err
	}
	vct := opts.VCT
	if vct == "" {
		vct = strings.TrimSuffix(i.Issuer, "/") + DefaultVCTPath
	}
	var confirmation map[string]json.RawMessage
	if opts.HolderKey != nil {
		holder, err := holderKeyJSON(opts.HolderKey)
		if err != nil {
			return IssuedSDJWT{}, fmt.Errorf("holder key: %w", err)
		}
		confirmation = map[string]json.RawMessage{"jwk": holder}
	}
	if opts.Status != nil {
		if err := checkStatusReference(*opts.Status); err != nil {
			return IssuedSDJWT{}, err
		}
	}
	if opts.Consent != nil {
		if err := checkConsentBinding(*opts.Consent); err != nil {
			return IssuedSDJWT{}, err
		}
	}

	// Step 1: build the claims, one disclosure for each, and "_sd".
	claims, names, err := ClaimsPayload(results)
	if err != nil {
		return IssuedSDJWT{}, fmt.Errorf("failed to build the claims: %w", err)
	}
	disclosed, disclosures, digests, err := discloseEach(claims)
	if err != nil {
		return IssuedSDJWT{}, err
	}

	// Step 2: the registered claims stay plain.
	jti, err := newJTI()
	if err != nil {
		return IssuedSDJWT{}, err
	}
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	issuedAt := now().Truncate(time.Second).UTC()
	issued := IssuedSDJWT{
		JTI:        jti,
		Subject:    i.Keys.Subject(customerID, clientID),
		VCT:        vct,
		IssuedAt:   issuedAt,
		ExpiresAt:  issuedAt.Add(lifetime.Truncate(time.Second)),
		ClaimNames: names,
		Disclosed:  disclosed,
	}
	payload := map[string]any{
		claimIssuer:    i.Issuer,
		claimSubject:   issued.Subject,
		claimAudience:  clientID,
		claimIssuedAt:  issued.IssuedAt.Unix(),
		claimExpiresAt: issued.ExpiresAt.Unix(),
		claimJWTID:     jti,
		claimVCT:       vct,
		claimDigestAlg: SDAlgorithm,
		claimDigests:   digests,
	}
	if confirmation != nil {
		payload[claimConfirmation] = confirmation
	}
	if opts.Status != nil {
		ref := *opts.Status
		issued.Status = &ref
		payload[StatusClaim] = statusClaimValue{StatusList: ref}
	}
	if opts.Consent != nil {
		issued.Consent = opts.Consent
		payload[ConsentClaim] = *opts.Consent
	}
	if opts.Environment != "" {
		payload[EnvironmentClaim] = opts.Environment
	}

	// Step 3: sign and append the disclosures, each followed by "~".
	encoded, err := json.Marshal(payload)
	if err != nil {
		return IssuedSDJWT{}, fmt.Errorf("failed to encode the SD-JWT payload: %w", err)
	}
	jwt, err := i.signTyped(encoded, SDJWTType)
	if err != nil {
		return IssuedSDJWT{}, err
	}
	var token strings.Builder
	token.WriteString(jwt)
	token.WriteByte('~')
	for _, d := range disclosures {
		token.WriteString(d)
		token.WriteByte('~')
	}
	issued.Token = token.String()
	return issued, nil
}

// discloseEach returns the claim names sorted, the disclosure of each in
// that order, and the sorted "_sd" array: their digests plus decoys. Decoys
// and sorting keep the length and order of "_sd" from telling which claims,
// or how many, the token has (RFC 9901 sections 4.2.4.1 and 4.2.5).
func discloseEach(claims map[string]any) (names, disclosures, digests []string, err error) {
	names = make([]string, 0, len(claims))
	for name := range claims {
		names = append(names, name)
	}
	sort.Strings(names)

	disclosures = make([]string, len(names))
	digests = make([]string, 0, len(names)+minDigests)
	for n, name := range names {
		if disclosures[n], err = newDisclosure(name, claims[name]); err != nil {
			return nil, nil, nil, err
		}
		digests = append(digests, disclosureDigest(disclosures[n]))
	}

	decoys, err := decoyDigests(len(digests))
	if err != nil {
		return nil, nil, nil, err
	}
	digests = append(digests, decoys...)
	sort.Strings(digests)
	return names, disclosures, digests, nil
}

// newDisclosure returns the disclosure of an object property: the
// base64url encoding, without padding, of the JSON array [salt, name, value]
// (RFC 9901 section 4.2.1), with a fresh 128-bit salt.
func newDisclosure(name string, value any) (string, error) {
	salt := make([]byte, saltSize)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("failed to generate a disclosure salt: %w", err)
	}
	array, err := json.Marshal([]any{base64.RawURLEncoding.EncodeToString(salt), name, value})
	if err != nil {
		return "", fmt.Errorf("failed to encode the disclosure of claim %s: %w", name, err)
	}
	return base64.RawURLEncoding.EncodeToString(array), nil
}

// disclosureDigest returns base64url(SHA-256(ASCII(s))) without padding:
// the digest of a disclosure (RFC 9901 section 4.2.3), and also the
// "sd_hash" of a presentation (section 4.3.1).
func disclosureDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// decoyDigests returns digests of random bytes, which no disclosure
// matches (RFC 9901 section 4.2.5). It pads real digests to at least
// minDigests, adds no fewer than minDecoys and then 0 to maxExtraDecoys
// more, so the count varies between tokens.
func decoyDigests(real int) ([]string, error) {
	extra, err := rand.Int(rand.Reader, big.NewInt(maxExtraDecoys+1))
	if err != nil {
		return nil, fmt.Errorf("failed to choose the number of decoy digests: %w", err)
	}
	count := max(minDecoys, minDigests-real) + int(extra.Int64())

	decoys := make([]string, count)
	for n := range decoys {
		seed := make([]byte, saltSize)
		if _, err := rand.Read(seed); err != nil {
			return nil, fmt.Errorf("failed to generate a decoy digest: %w", err)
		}
		sum := sha256.Sum256(seed)
		decoys[n] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	return decoys, nil
}

// holderKeyJSON checks a holder key and returns its JWK JSON for "cnf".
func holderKeyJSON(key jwk.Key) (json.RawMessage, error) {
	if _, err := keyBindingAlgorithm(key); err != nil {
		return nil, err
	}
	data, err := json.Marshal(key)
	if err != nil {
		return nil, fmt.Errorf("failed to encode the JWK: %w", err)
	}
	return data, nil
}

// keyBindingAlgorithm returns the JWS algorithm a holder's public key
// signs Key Binding JWTs with: ES256 for EC P-256, EdDSA for Ed25519. It
// rejects private keys, other key types, and a key whose own "alg" differs.
func keyBindingAlgorithm(key jwk.Key) (string, error) {
	// The private-key cases come first because a private key also has
	// every method of the public-key interface of its type.
	var alg string
	switch k := key.(type) {
	case jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.RSAPrivateKey, jwk.SymmetricKey:
		return "", fmt.Errorf("kty %q key with private or secret members; want a public key", key.KeyType())
	case jwk.ECDSAPublicKey:
		if k.Crv() == jwa.P256 {
			alg = jwa.ES256.String()
		}
	case jwk.OKPPublicKey:
		if k.Crv() == jwa.Ed25519 {
			alg = jwa.EdDSA.String()
		}
	}
	if alg == "" {
		return "", fmt.Errorf("kty %q key; want EC P-256 or OKP Ed25519", key.KeyType())
	}
	if own := key.Algorithm(); own != nil && own.String() != "" && own.String() != alg {
		return "", fmt.Errorf("JWK alg %q does not fit its key, which signs with %s", own.String(), alg)
	}
	if err := checkKeyFitsAlgorithm(key, alg); err != nil {
		return "", err
	}
	return alg, nil
}
