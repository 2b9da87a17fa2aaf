package api

import (
	"context"
	"errors"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights/internal/attest"
)

// Values of the TokenFormat enum that VerificationResult.format returns.
const (
	formatJWS   = "JWS"
	formatSDJWT = "SD_JWT"
)

// verifySDJWT checks an SD-JWT presentation with the verifier rules of
// RFC 9901 section 7, as attest.VerifySDJWT implements them, and then its
// status list entry. A nonce demands a KB-JWT over that nonce and the
// audience; a presentation that ends with a KB-JWT needs both. claimNames
// are the claims the presentation discloses.
func (r *rootResolver) verifySDJWT(ctx context.Context, clientID, token string, keys jwk.Set, audience, nonce *string) (*verificationResult, error) {
	opts := attest.SDJWTVerifyOptions{Issuer: r.verifier.issuer, Skew: verifySkew}
	if audience != nil {
		opts.Audience = *audience
	}
	if nonce != nil {
		opts.Nonce = *nonce
		opts.RequireKeyBinding = true
	}
	result := &verificationResult{format: formatSDJWT}

	v, err := attest.VerifySDJWT(ctx, token, keys, opts)
	if err == nil {
		err = attest.CheckStatus(ctx, v.Claims, r.verifier.fetchStatusList, keys, attest.StatusOptions{Skew: verifySkew})
	}
	if v != nil {
		result.claimNames = claimNamesOf(v.Disclosed)
		result.expiresAt = &dateTime{v.ExpiresAt}
		result.keyBound = v.KeyBinding != nil
	}
	if err == nil {
		loggerFrom(ctx).DebugContext(ctx, "SD-JWT verified", "client_id", clientID, "jti", v.JTI, "key_bound", result.keyBound)
		return result, nil
	}
	if ctx.Err() != nil {
		return nil, toGraphQLError(ctx, "verifyAttestation", ctx.Err())
	}

	result.reason = failureReason(err)
	if errors.Is(err, attest.ErrStatusUnavailable) {
		loggerFrom(ctx).ErrorContext(ctx, "token status unavailable", "client_id", clientID, "err", err)
	} else {
		loggerFrom(ctx).DebugContext(ctx, "SD-JWT rejected", "client_id", clientID, "reason", *result.reason, "err", err)
	}
	return result, nil
}
