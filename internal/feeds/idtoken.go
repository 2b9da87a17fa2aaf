package feeds

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/aspsp"
)

// BirthDates verifies OpenID Connect ID tokens and stores the birth dates
// they carry. The service wires it to package derive, which cannot be
// imported here because it imports feeds.
type BirthDates interface {
	// VerifyIDTokenBirthDate checks the token's signature against keys,
	// its iss, aud, exp and iat, and returns its birthdate claim.
	VerifyIDTokenBirthDate(ctx context.Context, token string, keys jwk.Set, issuer, audience string) (insights.Date, error)
	// StoreIDTokenBirthDate stores birth as the customer's birth date,
	// with the issuer as its source.
	StoreIDTokenBirthDate(ctx context.Context, customerID string, birth insights.Date, issuer string) error
}

// OpenIDProvider locates a bank's ID token signing keys.
type OpenIDProvider struct {
	// Issuer is the "iss" of the bank's ID tokens; empty means the bank's
	// BaseURL.
	Issuer string `json:"issuer"`
	// JWKSURL is the bank's JWK set; empty means the jwks_uri of the
	// Issuer's /.well-known/openid-configuration.
	JWKSURL string `json:"jwksURL"`
}

const (
	// jwksMaxAge is how long a fetched JWK set is used before it is
	// fetched again.
	jwksMaxAge = time.Hour
	// jwksMinRefetch bounds refetches caused by an unknown kid, which a
	// key rotation at the bank explains, so that forged tokens cannot make
	// the service fetch on every callback.
	jwksMinRefetch = time.Minute
	// maxMetadataBytes bounds a discovery document or JWK set.
	maxMetadataBytes = 1 << 20
)

// jwksCache holds each bank's JWK set.
type jwksCache struct {
	mu   sync.Mutex
	sets map[string]cachedKeys // by bank ID
}

type cachedKeys struct {
	keys    jwk.Set
	fetched time.Time
}

// oidcNonce returns the nonce of the authorization request whose state is
// state: an HMAC of the state under the token key. The callback brings the
// state back, so the nonce is recomputed there rather than stored, and it
// cannot be computed without the key.
func oidcNonce(key []byte, state string) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("openid-nonce\x00" + state))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// withNonce adds the OpenID Connect nonce parameter to an authorization
// URL.
func withNonce(authURL, nonce string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("authorization URL: %w", err)
	}
	q := u.Query()
	q.Set("nonce", nonce)
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// receiveIDToken verifies the ID token of a completed link and stores its
// birth date. A token that fails any check is logged with the reason and
// ignored: it never fails the link. Neither the token nor the birth date
// is logged.
func (s *Service) receiveIDToken(ctx context.Context, row *consentRow, state, idToken string) {
	if idToken == "" {
		return
	}
	log := s.logger().With("consent_id", row.ConsentID, "customer_id", row.CustomerID, "bank", row.BankID)
	if s.BirthDates == nil {
		log.Debug("ID token ignored: no birth date store is configured")
		return
	}
	claims, err := unverifiedClaims(idToken)
	if err != nil {
		log.Warn("ID token rejected", "reason", err.Error())
		return
	}
	if !claims.hasBirthDate {
		log.Info("ID token has no birthdate claim; no birth date stored")
		return
	}

	bank := s.Banks[row.BankID]
	issuer, keys, err := s.bankKeys(ctx, bank, claims.kid)
	if err != nil {
		log.Warn("ID token not verified: the bank's keys are unavailable", "reason", err.Error())
		return
	}
	birth, err := s.BirthDates.VerifyIDTokenBirthDate(ctx, idToken, keys, issuer, bank.ClientID)
	if err != nil {
		log.Warn("ID token rejected", "reason", err.Error())
		return
	}
	// The signature covers the payload read above, so its nonce is the
	// bank's. OpenID Connect Core 1.0 section 3.1.3.7 requires it to equal
	// the nonce of the authorization request.
	want := oidcNonce(s.TokenKey, state)
	if subtle.ConstantTimeCompare([]byte(claims.nonce), []byte(want)) != 1 {
		log.Warn("ID token rejected", "reason", "nonce does not match the authorization request")
		return
	}
	if err := s.BirthDates.StoreIDTokenBirthDate(ctx, row.CustomerID, birth, issuer); err != nil {
		log.Error("failed to store the birth date of an ID token", "err", err)
		return
	}
	log.Info("birth date stored from ID token")
}

// idTokenClaims are the parts of an ID token read before verification.
type idTokenClaims struct {
	kid          string
	nonce        string
	hasBirthDate bool
}

// unverifiedClaims decodes the header kid and the payload's nonce and
// birthdate presence of a compact JWS. Nothing it returns is trusted until
// the signature has been verified.
func unverifiedClaims(token string) (idTokenClaims, error) {
	parts := strings.Split(strings.TrimSpace(token), ".")
	if len(parts) != 3 {
		return idTokenClaims{}, errors.New("ID token: not a compact JWS of three dot-separated parts")
	}
	var header struct {
		Kid string `json:"kid"`
	}
	if err := decodeSegment(parts[0], &header); err != nil {
		return idTokenClaims{}, fmt.Errorf("ID token header: %w", err)
	}
	var payload struct {
		Nonce     string          `json:"nonce"`
		BirthDate json.RawMessage `json:"birthdate"`
	}
	if err := decodeSegment(parts[1], &payload); err != nil {
		return idTokenClaims{}, fmt.Errorf("ID token payload: %w", err)
	}
	return idTokenClaims{kid: header.Kid, nonce: payload.Nonce,
		hasBirthDate: len(payload.BirthDate) > 0 && string(payload.BirthDate) != "null"}, nil
}

func decodeSegment(segment string, v any) error {
	data, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return errors.New("not unpadded base64url")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return errors.New("not a JSON object")
	}
	return nil
}

// provider returns the bank's issuer and configured JWK set URL, which is
// empty when discovery must find it.
func (s *Service) provider(bank aspsp.Bank) OpenIDProvider {
	p := s.OpenIDProviders[bank.ID]
	if p.Issuer == "" {
		p.Issuer = strings.TrimSuffix(bank.BaseURL, "/")
	}
	return p
}

// bankKeys returns the bank's issuer and JWK set. A fetched set is reused
// for up to jwksMaxAge, and fetched again sooner when it lacks kid and is
// older than jwksMinRefetch.
func (s *Service) bankKeys(ctx context.Context, bank aspsp.Bank, kid string) (string, jwk.Set, error) {
	p := s.provider(bank)
	now := s.now()

	s.jwks.mu.Lock()
	defer s.jwks.mu.Unlock()
	cached, ok := s.jwks.sets[bank.ID]
	if ok {
		_, known := cached.keys.LookupKeyID(kid)
		age := now.Sub(cached.fetched)
		if age < jwksMaxAge && (known || age < jwksMinRefetch) {
			return p.Issuer, cached.keys, nil
		}
	}

	keys, err := s.fetchKeys(ctx, p)
	if err != nil {
		if ok {
			// A stale set still verifies tokens of keys that the bank has
			// not rotated away.
			s.logger().Warn("JWK set refetch failed; using the cached set", "bank", bank.ID, "err", err)
			return p.Issuer, cached.keys, nil
		}
		return "", nil, err
	}
	if s.jwks.sets == nil {
		s.jwks.sets = map[string]cachedKeys{}
	}
	s.jwks.sets[bank.ID] = cachedKeys{keys: keys, fetched: now}
	return p.Issuer, keys, nil
}

// fetchKeys fetches the JWK set of p, finding its URL through OpenID
// Connect Discovery when p names none.
func (s *Service) fetchKeys(ctx context.Context, p OpenIDProvider) (jwk.Set, error) {
	jwksURL := p.JWKSURL
	if jwksURL == "" {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		discovery := p.Issuer + "/.well-known/openid-configuration"
		data, err := s.fetchMetadata(ctx, discovery)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(data, &meta); err != nil {
			return nil, fmt.Errorf("GET %s: not a JSON object", discovery)
		}
		// OpenID Connect Discovery 1.0 section 4.3: the issuer in the
		// metadata must be the one the document was fetched for.
		if meta.Issuer != p.Issuer {
			return nil, fmt.Errorf("GET %s: issuer %q, want %q", discovery, meta.Issuer, p.Issuer)
		}
		if meta.JWKSURI == "" {
			return nil, fmt.Errorf("GET %s: jwks_uri is missing", discovery)
		}
		jwksURL = meta.JWKSURI
	}
	data, err := s.fetchMetadata(ctx, jwksURL)
	if err != nil {
		return nil, err
	}
	keys, err := jwk.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("GET %s: not a JWK set: %w", jwksURL, err)
	}
	return keys, nil
}

// fetchMetadata GETs a public document of the bank.
func (s *Service) fetchMetadata(ctx context.Context, target string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	req.Header.Set("Accept", "application/json")
	client := s.HTTP
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: status %d", target, resp.StatusCode)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataBytes+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if len(data) > maxMetadataBytes {
		return nil, fmt.Errorf("GET %s: response exceeds %d bytes", target, maxMetadataBytes)
	}
	return data, nil
}
