package attest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// Outcomes of CheckStatus. It wraps one of them, so callers can tell them
// apart with errors.Is.
var (
	// ErrRevoked reports that the token's entry is INVALID (0x01).
	ErrRevoked = errors.New("token revoked")
	// ErrSuspended reports that the token's entry is SUSPENDED (0x02).
	ErrSuspended = errors.New("token suspended")
	// ErrNoStatus reports a token without a status claim.
	ErrNoStatus = errors.New("token has no status list entry")
	// ErrStatusUnavailable reports that the status could not be established:
	// the list could not be fetched, or its token failed a check.
	ErrStatusUnavailable = errors.New("token status unavailable")
)

// Limits of HTTPStatusFetcher. A 1-bit list of 2^20 entries, mostly zero,
// compresses to a few hundred bytes; 1 MiB leaves room for lists with many
// revocations while bounding a hostile response.
const (
	statusFetchTimeout = 10 * time.Second
	maxStatusTokenLen  = 1 << 20
)

// StatusFetcher returns the Status List Token served at uri.
type StatusFetcher func(ctx context.Context, uri string) ([]byte, error)

// StatusOptions are the checks CheckStatus makes on the Status List Token.
type StatusOptions struct {
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Skew is the clock difference tolerated on exp and iat; not negative.
	Skew time.Duration
}

// ParseStatusReference reads the status claim of a token payload as Verify
// decodes it. It returns ErrNoStatus when the claim is absent, and an error
// matching ErrMalformed when it has the wrong shape.
func ParseStatusReference(claims map[string]any) (StatusReference, error) {
	raw, ok := claims[StatusClaim]
	if !ok {
		return StatusReference{}, ErrNoStatus
	}
	data, err := json.Marshal(raw)
	if err != nil {
		return StatusReference{}, fmt.Errorf("%w: payload: %q: %v", ErrMalformed, StatusClaim, err)
	}
	var value struct {
		StatusList *struct {
			Index *json.Number `json:"idx"`
			URI   string       `json:"uri"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(data, &value); err != nil || value.StatusList == nil {
		return StatusReference{}, fmt.Errorf("%w: payload: %q is not an object with a \"status_list\" object", ErrMalformed, StatusClaim)
	}

	ref := StatusReference{URI: value.StatusList.URI}
	if value.StatusList.Index == nil {
		return StatusReference{}, fmt.Errorf("%w: payload: status.status_list.idx is missing", ErrMalformed)
	}
	idx, err := value.StatusList.Index.Int64()
	if err != nil || idx < 0 {
		return StatusReference{}, fmt.Errorf("%w: payload: status.status_list.idx is not a non-negative integer", ErrMalformed)
	}
	ref.Index = uint64(idx)
	if err := checkStatusReference(ref); err != nil {
		return StatusReference{}, fmt.Errorf("%w: payload: status.status_list.uri: %v", ErrMalformed, err)
	}
	return ref, nil
}

// CheckStatus looks up the status of a verified token in its status list.
// It fetches the Status List Token at the claim's uri, checks its signature
// against keys (the same JWK set as the token's), its typ, that its sub
// equals the uri and that it has not expired, then reads the entry at idx.
//
// It returns nil for VALID; an error matching ErrRevoked, ErrSuspended,
// ErrNoStatus or ErrMalformed (a bad status claim); or one matching
// ErrStatusUnavailable when the list cannot be fetched or fails a check.
func CheckStatus(ctx context.Context, claims map[string]any, fetch StatusFetcher, keys jwk.Set, opts StatusOptions) error {
	ref, err := ParseStatusReference(claims)
	if err != nil {
		return err
	}
	if fetch == nil || keys == nil {
		return fmt.Errorf("%w: no status list fetcher or JWK set", ErrStatusUnavailable)
	}

	token, err := fetch(ctx, ref.URI)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
	}
	list, err := VerifyStatusListToken(ctx, string(token), keys, ref.URI, opts)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
	}
	status, err := list.Get(ref.Index)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
	}

	switch status {
	case StatusValid:
		return nil
	case StatusInvalid:
		return fmt.Errorf("%w: entry %d of %s", ErrRevoked, ref.Index, ref.URI)
	case StatusSuspended:
		return fmt.Errorf("%w: entry %d of %s", ErrSuspended, ref.Index, ref.URI)
	}
	// The draft leaves 0x03 and 0x0C-0x0F to applications and reserves the
	// rest; none of them has a meaning a generic verifier could act on.
	return fmt.Errorf("%w: entry %d of %s has status 0x%02x, which this verifier does not know", ErrStatusUnavailable, ref.Index, ref.URI, status)
}

// VerifyStatusListToken checks a Status List Token published at uri and
// returns its list. The header must have typ "statuslist+jwt", an accepted
// alg and a kid of keys; the payload must have sub equal to uri, iat not in
// the future and, when present, exp in the future, all within opts.Skew.
func VerifyStatusListToken(ctx context.Context, token string, keys jwk.Set, uri string, opts StatusOptions) (*StatusList, error) {
	if opts.Skew < 0 {
		return nil, fmt.Errorf("clock skew %s is negative", opts.Skew)
	}

	// Step 1: read the header and check the signature with the kid's key.
	// splitCompact is not used: its 16 KiB limit fits a token of claims but
	// not a list with thousands of scattered revocations.
	token = strings.TrimSpace(token)
	if len(token) > maxStatusTokenLen {
		return nil, fmt.Errorf("status list token: %w: %d bytes, over the limit of %d", ErrMalformed, len(token), maxStatusTokenLen)
	}
	segments := strings.Split(token, ".")
	if len(segments) != 3 {
		return nil, fmt.Errorf("status list token: %w: want 3 base64url segments separated by dots, got %d", ErrMalformed, len(segments))
	}
	header, err := parseStatusListHeader(segments[0])
	if err != nil {
		return nil, err
	}
	key, err := selectKey(keys, header)
	if err != nil {
		return nil, fmt.Errorf("status list token: %w", err)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKey(jwa.SignatureAlgorithm(header.Algorithm), key), jws.WithContext(ctx))
	if err != nil {
		return nil, fmt.Errorf("status list token: %w (kid %q)", ErrSignature, header.KeyID)
	}

	// Step 2: check subject and times.
	var claims struct {
		Subject    string       `json:"sub"`
		IssuedAt   *json.Number `json:"iat"`
		ExpiresAt  *json.Number `json:"exp"`
		StatusList *struct {
			Bits int    `json:"bits"`
			List string `json:"lst"`
		} `json:"status_list"`
	}
	if _, err := decodeObject(payload); err != nil {
		return nil, fmt.Errorf("status list token: %w: payload: %v", ErrMalformed, err)
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("status list token: %w: payload: %v", ErrMalformed, err)
	}
	// The draft: the sub of the Status List Token must equal the uri of the
	// referenced token's status claim, so one list cannot stand in for another.
	if claims.Subject != uri {
		return nil, fmt.Errorf("status list token: sub %q differs from the status list URI %q", claims.Subject, uri)
	}
	if err := checkStatusListTimes(claims.IssuedAt, claims.ExpiresAt, opts); err != nil {
		return nil, err
	}

	// Step 3: decode the list.
	if claims.StatusList == nil {
		return nil, fmt.Errorf("status list token: %w: payload: missing \"status_list\"", ErrMalformed)
	}
	list, err := DecodeStatusList(claims.StatusList.List, claims.StatusList.Bits)
	if err != nil {
		return nil, fmt.Errorf("status list token: %w: %v", ErrMalformed, err)
	}
	return list, nil
}

// parseStatusListHeader decodes the protected header of a Status List
// Token, with the same rules as parseHeader but the typ "statuslist+jwt".
func parseStatusListHeader(segment string) (Header, error) {
	h, err := parseTypedHeader(segment, StatusListTokenType, true)
	if err != nil {
		return Header{}, fmt.Errorf("status list token: %w", err)
	}
	return h, nil
}

// checkStatusListTimes checks iat (required) and exp (optional).
func checkStatusListTimes(iat, exp *json.Number, opts StatusOptions) error {
	now := time.Now()
	if opts.Now != nil {
		now = opts.Now()
	}
	if iat == nil {
		return fmt.Errorf("status list token: %w: payload: missing \"iat\"", ErrMalformed)
	}
	issued, err := iat.Int64()
	if err != nil {
		return fmt.Errorf("status list token: %w: payload: \"iat\" is not an integer", ErrMalformed)
	}
	if time.Unix(issued, 0).After(now.Add(opts.Skew)) {
		return fmt.Errorf("status list token: %w: issued at %s, in the future", ErrNotYetValid, time.Unix(issued, 0).UTC().Format(time.RFC3339))
	}
	if exp == nil {
		return nil
	}
	expires, err := exp.Int64()
	if err != nil {
		return fmt.Errorf("status list token: %w: payload: \"exp\" is not an integer", ErrMalformed)
	}
	if !now.Before(time.Unix(expires, 0).Add(opts.Skew)) {
		return fmt.Errorf("status list token: %w at %s", ErrExpired, time.Unix(expires, 0).UTC().Format(time.RFC3339))
	}
	return nil
}

// HTTPStatusFetcher returns a StatusFetcher that GETs the uri with Accept
// application/statuslist+jwt, within 10 seconds and 1 MiB. It fetches only
// http and https URLs. A nil client means http.DefaultClient.
func HTTPStatusFetcher(client *http.Client) StatusFetcher {
	if client == nil {
		client = http.DefaultClient
	}
	return func(ctx context.Context, uri string) ([]byte, error) {
		u, err := url.Parse(uri)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("status list URI %q is not an absolute http or https URL", uri)
		}
		ctx, cancel := context.WithTimeout(ctx, statusFetchTimeout)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
		if err != nil {
			return nil, fmt.Errorf("failed to build the status list request: %w", err)
		}
		req.Header.Set("Accept", StatusListMediaType)

		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("failed to fetch the status list: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("failed to fetch the status list from %s: status %s", u.Redacted(), resp.Status)
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, maxStatusTokenLen+1))
		if err != nil {
			return nil, fmt.Errorf("failed to read the status list from %s: %w", u.Redacted(), err)
		}
		if len(body) > maxStatusTokenLen {
			return nil, fmt.Errorf("status list from %s is over the limit of %d bytes", u.Redacted(), maxStatusTokenLen)
		}
		return body, nil
	}
}
