package consent

import (
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// maxHolderKeyBytes bounds the JWK JSON of a holder key. A P-256 public
// JWK is about 120 bytes and an Ed25519 one about 80, so 2 KiB leaves room
// for optional members such as "kid" and "use".
const maxHolderKeyBytes = 2 << 10

// TokenOptions choose the form of the token a request is issued as.
type TokenOptions struct {
	// Format is the token form. Empty means insights.TokenJWS.
	Format insights.TokenFormat
	// HolderKey is the holder's public key as JWK JSON, or empty. It is
	// allowed only with insights.TokenSDJWT; see CheckHolderKey.
	HolderKey string
	// ConsentDuration, when above 0, lets the client fetch fresh tokens
	// with Reissue for that long after the customer approves. Only a
	// request for affordability claims alone may have one. Whole seconds.
	ConsentDuration time.Duration
}

// checkTokenOptions returns opts with Format set, or an invalid error that
// names the field at fault.
func checkTokenOptions(opts TokenOptions) (TokenOptions, error) {
	switch opts.Format {
	case "":
		opts.Format = insights.TokenJWS
	case insights.TokenJWS, insights.TokenSDJWT:
	default:
		return opts, insights.Errorf(insights.ErrInvalid, "format %q is not supported; want %q or %q",
			opts.Format, insights.TokenJWS, insights.TokenSDJWT)
	}
	if opts.HolderKey == "" {
		return opts, nil
	}

	// A JWS token has no "cnf" claim, so a holder key could not be bound to it.
	if opts.Format != insights.TokenSDJWT {
		return opts, insights.Errorf(insights.ErrInvalid, "holderKey: only a %q request can have a holder key", insights.TokenSDJWT)
	}
	if _, err := CheckHolderKey(opts.HolderKey); err != nil {
		return opts, insights.Errorf(insights.ErrInvalid, "holderKey: %v", err)
	}
	return opts, nil
}

// CheckHolderKey parses a holder's key from JWK JSON (RFC 7517) and checks
// that an SD-JWT VC can carry it in "cnf" (RFC 7800). The key must be a
// public EC P-256 key (kty "EC", crv "P-256") or Ed25519 key (kty "OKP",
// crv "Ed25519"). Its "alg", when present, must be ES256 or EdDSA to match.
// The error states the reason without repeating the key.
func CheckHolderKey(data string) (jwk.Key, error) {
	if len(data) > maxHolderKeyBytes {
		return nil, fmt.Errorf("the JWK is %d bytes; the limit is %d", len(data), maxHolderKeyBytes)
	}
	key, err := jwk.ParseKey([]byte(data))
	if err != nil {
		return nil, errors.New(`not a JSON Web Key: want one JWK object such as {"kty":"EC","crv":"P-256","x":"...","y":"..."}`)
	}

	// The private-key cases come first: a private key also implements the
	// public-key interface of its type.
	var alg jwa.SignatureAlgorithm
	curve := ""
	switch k := key.(type) {
	case jwk.ECDSAPrivateKey, jwk.OKPPrivateKey, jwk.RSAPrivateKey, jwk.SymmetricKey:
		return nil, fmt.Errorf("the kty %q key has private or secret members; send only the public key", key.KeyType())
	case jwk.ECDSAPublicKey:
		curve = k.Crv().String()
		if k.Crv() == jwa.P256 {
			alg = jwa.ES256
		}
	case jwk.OKPPublicKey:
		curve = k.Crv().String()
		if k.Crv() == jwa.Ed25519 {
			alg = jwa.EdDSA
		}
	}
	switch {
	case alg == "" && curve == "":
		return nil, fmt.Errorf("kty %q is not supported; want EC P-256 or OKP Ed25519", key.KeyType())
	case alg == "":
		return nil, fmt.Errorf("kty %q with crv %q is not supported; want EC P-256 or OKP Ed25519", key.KeyType(), curve)
	}
	if own := key.Algorithm(); own != nil && own.String() != "" && own.String() != alg.String() {
		return nil, fmt.Errorf("JWK alg %q does not fit its key, which signs with %s", own.String(), alg)
	}
	if err := key.Validate(); err != nil {
		return nil, errors.New("not a valid public key: a coordinate is missing or has the wrong length")
	}
	return key, nil
}

// issuedToken is the record approve stores of a token of either form.
type issuedToken struct {
	Token      string
	JTI        string
	Subject    string
	ClaimNames []string
	IssuedAt   time.Time
	ExpiresAt  time.Time
}

// issue signs the token of an approved request in the request's format,
// with the status list entry ref: a JWS with IssueJWS, or an SD-JWT
// VC with IssueSDJWT that names the holder key in "cnf" when the request
// has one.
//
// Every token carries the "consent" claim: the request ID, the window of
// the data its claims were derived from, and derivedAt. A non-empty env
// becomes the "env" claim. The token is valid for lifetime.
func (s *Service) issue(req insights.AttestationRequest, customerID string, results []insights.ClaimResult, ref *attest.StatusReference,
	derivedAt time.Time, env string, lifetime time.Duration) (issuedToken, error) {
	binding, err := attest.NewConsentBinding(req.ID, results, derivedAt)
	if err != nil {
		return issuedToken{}, err
	}
	if req.Format != insights.TokenSDJWT {
		t, err := s.Issuer.IssueJWS(customerID, req.ClientID, results, lifetime,
			attest.JWSOptions{Status: ref, Consent: &binding, Environment: env})
		if err != nil {
			return issuedToken{}, err
		}
		return issuedToken{Token: t.Token, JTI: t.JTI, Subject: t.Subject, ClaimNames: t.ClaimNames,
			IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}, nil
	}

	opts := attest.SDJWTOptions{Status: ref, Consent: &binding, Environment: env}
	if req.HolderKey != "" {
		key, err := CheckHolderKey(req.HolderKey)
		if err != nil {
			return issuedToken{}, fmt.Errorf("stored holder key of request %s: %w", req.ID, err)
		}
		opts.HolderKey = key
	}
	t, err := s.Issuer.IssueSDJWT(customerID, req.ClientID, results, lifetime, opts)
	if err != nil {
		return issuedToken{}, err
	}
	return issuedToken{Token: t.Token, JTI: t.JTI, Subject: t.Subject, ClaimNames: t.ClaimNames,
		IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt}, nil
}
