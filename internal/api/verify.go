package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights/internal/attest"
)

// verifySkew is the clock difference verifyAttestation tolerates on iat and
// exp, the value docs/tokens.md recommends to verifiers.
const verifySkew = 30 * time.Second

// Values of the VerificationFailureReason enum, by the attest error that
// causes each.
var failureReasons = []struct {
	err    error
	reason string
}{
	{attest.ErrRevoked, "REVOKED"},
	{attest.ErrSuspended, "SUSPENDED"},
	{attest.ErrNoStatus, "STATUS_UNAVAILABLE"},
	{attest.ErrStatusUnavailable, "STATUS_UNAVAILABLE"},
	{attest.ErrExpired, "EXPIRED"},
	{attest.ErrNotYetValid, "NOT_YET_VALID"},
	{attest.ErrAudience, "WRONG_AUDIENCE"},
	{attest.ErrIssuer, "WRONG_ISSUER"},
	{attest.ErrUnknownKey, "UNKNOWN_KEY"},
	{attest.ErrAlgorithm, "UNSUPPORTED_ALGORITHM"},
	{attest.ErrSignature, "BAD_SIGNATURE"},
	{attest.ErrDisclosure, "BAD_DISCLOSURE"},
	{attest.ErrKeyBinding, "BAD_KEY_BINDING"},
	{attest.ErrMalformed, "MALFORMED"},
}

// signatureChecked lists the failures Verify reports only after the
// signature verified, so the payload can be trusted to name the claims.
var signatureChecked = []error{attest.ErrExpired, attest.ErrNotYetValid, attest.ErrAudience, attest.ErrIssuer}

// registeredMembers are payload members that are not claims about the
// customer.
var registeredMembers = map[string]bool{
	"iss": true, "sub": true, "aud": true, "iat": true, "exp": true, "nbf": true, "jti": true,
	attest.StatusClaim: true, attest.UnavailableClaim: true, attest.ConsentClaim: true,
	"vct": true, "cnf": true, "_sd": true, "_sd_alg": true, "env": true,
}

// verifier checks tokens for Query.verifyAttestation against the service's
// own keys and status lists, without any network request.
type verifier struct {
	keys       func() (jwk.Set, error)
	issuer     string
	statusList func(ctx context.Context, id string) (string, time.Duration, error)
}

// verificationResult resolves VerificationResult. It never carries the
// token's subject or anything else that identifies the customer.
type verificationResult struct {
	reason     *string
	claimNames []string
	expiresAt  *dateTime
	format     string // TokenFormat value
	keyBound   bool
}

func (r *verificationResult) Format() string { return r.format }
func (r *verificationResult) KeyBound() bool { return r.keyBound }

func (r *verificationResult) Valid() bool          { return r.reason == nil }
func (r *verificationResult) Reason() *string      { return r.reason }
func (r *verificationResult) ClaimNames() []string { return nonNilStrings(r.claimNames) }
func (r *verificationResult) ExpiresAt() *dateTime { return r.expiresAt }

// VerifyAttestation resolves Query.verifyAttestation. A token that fails a
// check is a result with valid false and a reason, not a GraphQL error.
func (r *rootResolver) VerifyAttestation(ctx context.Context, args struct {
	Token    string
	Audience *string
	Nonce    *string
}) (*verificationResult, error) {
	client, err := authenticatedClient(ctx)
	if err != nil {
		return nil, toGraphQLError(ctx, "verifyAttestation", err)
	}
	if r.verifier == nil {
		return nil, toGraphQLError(ctx, "verifyAttestation", errors.New("no verifier configured"))
	}
	keys, err := r.verifier.keys()
	if err != nil {
		return nil, toGraphQLError(ctx, "verifyAttestation", fmt.Errorf("read the JWK set: %w", err))
	}

	token := strings.TrimSpace(args.Token)
	if strings.Contains(token, "~") {
		return r.verifySDJWT(ctx, client.ID, token, keys, args.Audience, args.Nonce)
	}
	if args.Nonce != nil {
		// A JWS has no cnf claim, so it cannot prove possession of a key.
		reason := "BAD_KEY_BINDING"
		return &verificationResult{reason: &reason, format: formatJWS}, nil
	}
	opts := attest.VerifyOptions{Issuer: r.verifier.issuer, Skew: verifySkew}
	if args.Audience != nil {
		opts.Audience = *args.Audience
	}
	v, err := attest.Verify(ctx, token, keys, opts)
	if err == nil {
		err = attest.CheckStatus(ctx, v.Claims, r.verifier.fetchStatusList, keys, attest.StatusOptions{Skew: verifySkew})
	}
	if err == nil {
		loggerFrom(ctx).DebugContext(ctx, "token verified", "client_id", client.ID, "jti", v.JTI)
		return &verificationResult{claimNames: claimNamesOf(v.Claims), expiresAt: &dateTime{v.ExpiresAt}, format: formatJWS}, nil
	}
	if ctx.Err() != nil {
		return nil, toGraphQLError(ctx, "verifyAttestation", ctx.Err())
	}

	result := &verificationResult{reason: failureReason(err), format: formatJWS}
	if errors.Is(err, attest.ErrStatusUnavailable) {
		loggerFrom(ctx).ErrorContext(ctx, "token status unavailable", "client_id", client.ID, "err", err)
	} else {
		loggerFrom(ctx).DebugContext(ctx, "token rejected", "client_id", client.ID, "reason", *result.reason, "err", err)
	}
	switch {
	case v != nil: // the signature and times verified; the status did not
		result.claimNames, result.expiresAt = claimNamesOf(v.Claims), &dateTime{v.ExpiresAt}
	case isOneOf(err, signatureChecked):
		if claims, ok := payloadOf(token); ok {
			result.claimNames = claimNamesOf(claims)
			if exp, ok := claims["exp"].(float64); ok {
				result.expiresAt = &dateTime{time.Unix(int64(exp), 0).UTC()}
			}
		}
	}
	return result, nil
}

// fetchStatusList serves CheckStatus the service's own Status List Token for
// a uri under the issuer URL. Any other uri is refused, so a token cannot
// make the server send a request elsewhere.
func (v *verifier) fetchStatusList(ctx context.Context, uri string) ([]byte, error) {
	id, ok := strings.CutPrefix(uri, strings.TrimRight(v.issuer, "/")+"/statuslists/")
	if !ok || v.statusList == nil {
		return nil, fmt.Errorf("status list %q is not served by this issuer", uri)
	}
	token, _, err := v.statusList(ctx, id)
	if err != nil {
		return nil, err
	}
	return []byte(token), nil
}

func failureReason(err error) *string {
	for _, f := range failureReasons {
		if errors.Is(err, f.err) {
			reason := f.reason
			return &reason
		}
	}
	reason := "MALFORMED"
	return &reason
}

func isOneOf(err error, targets []error) bool {
	for _, target := range targets {
		if errors.Is(err, target) {
			return true
		}
	}
	return false
}

// payloadOf decodes the payload of a compact JWS without checking it. Call
// it only after the signature verified.
func payloadOf(token string) (map[string]any, bool) {
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		return nil, false
	}
	data, err := base64.RawURLEncoding.DecodeString(segments[1])
	if err != nil {
		return nil, false
	}
	var claims map[string]any
	if err := json.Unmarshal(data, &claims); err != nil {
		return nil, false
	}
	return claims, true
}

// claimNamesOf returns the names of the claims a payload holds values for,
// sorted, leaving out registered members, the status entry and the list of
// unavailable claims.
func claimNamesOf(claims map[string]any) []string {
	names := make([]string, 0, len(claims))
	for name := range claims {
		if !registeredMembers[name] {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}
