package attest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/openbanking-insights/insights"
)

// TokenType is the "typ" header of every token (RFC 7519 section 5.1).
const TokenType = "JWT"

// Registered claim names (RFC 7519 section 4.1) that every token carries.
const (
	claimIssuer    = "iss"
	claimSubject   = "sub"
	claimAudience  = "aud"
	claimIssuedAt  = "iat"
	claimExpiresAt = "exp"
	claimJWTID     = "jti"
)

const jtiSize = 16 // bytes: 128 random bits make a collision negligible

// Issuer signs tokens with the current signing key of Keys.
type Issuer struct {
	Keys *KeySet
	// Issuer is the "iss" of every token: the service's public base URL.
	Issuer string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Issued is a signed token and the facts about it that the service records.
// Token is a bearer credential: log JTI, never Token.
type Issued struct {
	Token     string
	JTI       string
	Subject   string
	IssuedAt  time.Time // UTC, whole seconds
	ExpiresAt time.Time // UTC, whole seconds
	// ClaimNames lists every requested claim in request order, including
	// those listed under "unavailable", for the audit log.
	ClaimNames []string
	// Status is the token's entry in a status list; nil when it has none.
	Status *StatusReference
	// Consent is the token's "consent" claim; nil when it has none.
	Consent *ConsentBinding
}

// Issue signs a compact JWS for clientID holding the claims of results and
// nothing else about the customer. The header is {alg, kid, typ: "JWT"}; the
// payload has iss, sub (the pairwise subject), aud (clientID), iat, exp (iat
// plus lifetime, rounded down to a second), jti and the members that
// ClaimsPayload returns.
func (i *Issuer) Issue(customerID, clientID string, results []insights.ClaimResult, lifetime time.Duration) (Issued, error) {
	return i.IssueWithStatus(customerID, clientID, results, lifetime, nil)
}

// IssueWithStatus is Issue with a status claim naming the token's entry in a
// Token Status List: "status": {"status_list": {"idx": N, "uri": URI}}. A nil
// status leaves the claim out.
func (i *Issuer) IssueWithStatus(customerID, clientID string, results []insights.ClaimResult, lifetime time.Duration,
	status *StatusReference) (Issued, error) {
	return i.IssueJWS(customerID, clientID, results, lifetime, JWSOptions{Status: status})
}

// JWSOptions are the optional members of a token that IssueJWS signs.
type JWSOptions struct {
	// Status is the token's entry in a Token Status List; nil leaves the
	// "status" claim out.
	Status *StatusReference
	// Consent binds the token to the consent that authorised it and the
	// data window its claims were derived from; nil leaves the "consent"
	// claim out. The consent service always sets it.
	Consent *ConsentBinding
	// Environment is the plain "env" claim: "sandbox" for tokens of
	// sandbox clients, which verifiers must not accept as live evidence.
	// Empty leaves the claim out.
	Environment string
}

// IssueJWS is Issue with the "status" and "consent" claims of opts.
func (i *Issuer) IssueJWS(customerID, clientID string, results []insights.ClaimResult, lifetime time.Duration,
	opts JWSOptions) (Issued, error) {
	if err := i.checkIssue(customerID, clientID, results, lifetime); err != nil {
		return Issued{}, err
	}
	status := opts.Status
	if status != nil {
		if err := checkStatusReference(*status); err != nil {
			return Issued{}, err
		}
	}
	if opts.Consent != nil {
		if err := checkConsentBinding(*opts.Consent); err != nil {
			return Issued{}, err
		}
	}

	claims, names, err := ClaimsPayload(results)
	if err != nil {
		return Issued{}, fmt.Errorf("failed to build the claims: %w", err)
	}
	jti, err := newJTI()
	if err != nil {
		return Issued{}, err
	}

	// NumericDate is whole seconds since the epoch (RFC 7519 section 2), so
	// the recorded times are cut to seconds to equal what the token states.
	now := time.Now
	if i.Now != nil {
		now = i.Now
	}
	issuedAt := now().Truncate(time.Second).UTC()
	expiresAt := issuedAt.Add(lifetime.Truncate(time.Second))

	issued := Issued{
		JTI:        jti,
		Subject:    i.Keys.Subject(customerID, clientID),
		IssuedAt:   issuedAt,
		ExpiresAt:  expiresAt,
		ClaimNames: names,
	}
	claims[claimIssuer] = i.Issuer
	claims[claimSubject] = issued.Subject
	claims[claimAudience] = clientID
	claims[claimIssuedAt] = issuedAt.Unix()
	claims[claimExpiresAt] = expiresAt.Unix()
	claims[claimJWTID] = jti
	if status != nil {
		ref := *status
		issued.Status = &ref
		claims[StatusClaim] = statusClaimValue{StatusList: ref}
	}
	if opts.Consent != nil {
		issued.Consent = opts.Consent
		claims[ConsentClaim] = *opts.Consent
	}
	if opts.Environment != "" {
		claims[EnvironmentClaim] = opts.Environment
	}

	payload, err := json.Marshal(claims)
	if err != nil {
		return Issued{}, fmt.Errorf("failed to encode the token payload: %w", err)
	}
	issued.Token, err = i.sign(payload)
	if err != nil {
		return Issued{}, err
	}
	return issued, nil
}

func (i *Issuer) checkIssue(customerID, clientID string, results []insights.ClaimResult, lifetime time.Duration) error {
	switch {
	case i.Keys == nil:
		return errors.New("issuer has no keys")
	case i.Issuer == "":
		return errors.New(`issuer has no "iss" URL`)
	case customerID == "":
		return errors.New("customer ID is empty")
	case clientID == "":
		return errors.New("client ID is empty")
	// The subject HMAC separates the two IDs with a NUL byte, so an ID that
	// contains one could give two different pairs the same subject.
	case strings.ContainsRune(customerID, 0):
		return errors.New("customer ID contains a NUL byte")
	case strings.ContainsRune(clientID, 0):
		return errors.New("client ID contains a NUL byte")
	case lifetime < time.Second:
		return fmt.Errorf("token lifetime %s is under one second", lifetime)
	case len(results) == 0:
		return errors.New("no claims to issue")
	}
	return nil
}

// sign returns the compact JWS of payload, signed by the current signing
// key with the protected header {alg, kid, typ}.
func (i *Issuer) sign(payload []byte) (string, error) {
	key := i.Keys.signingKey()
	alg := jwa.SignatureAlgorithm(key.Algorithm().String())

	headers := jws.NewHeaders()
	if err := headers.Set(jws.KeyIDKey, key.KeyID()); err != nil {
		return "", fmt.Errorf("failed to set the kid header: %w", err)
	}
	if err := headers.Set(jws.TypeKey, TokenType); err != nil {
		return "", fmt.Errorf("failed to set the typ header: %w", err)
	}

	signed, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers)))
	if err != nil {
		return "", fmt.Errorf("failed to sign the token with kid %q: %w", key.KeyID(), err)
	}
	return string(signed), nil
}

// newJTI returns 128 random bits, base64url-encoded without padding.
func newJTI() (string, error) {
	b := make([]byte, jtiSize)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("failed to generate a jti: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
