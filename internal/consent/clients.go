package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// apiKeyPrefix marks the service's API keys so that secret scanners and
// people can recognise one.
const apiKeyPrefix = "ik_"

// knownClaims are the claim kinds a client may be allowed to request.
var knownClaims = []insights.ClaimKind{
	insights.ClaimAgeOver, insights.ClaimFundsAtLeast, insights.ClaimAddressMatches, insights.ClaimNextSalaryDate,
	insights.ClaimAffordability,
}

// ParseClaimKind returns the claim kind named s, such as "age_over".
func ParseClaimKind(s string) (insights.ClaimKind, error) {
	for _, k := range knownClaims {
		if string(k) == s {
			return k, nil
		}
	}
	return "", insights.Errorf(insights.ErrInvalid, "unknown claim kind %q: want one of age_over, funds_at_least, address_matches, next_salary, affordability", s)
}

// RegisterClient registers a merchant or lender and returns its API key. The
// key is shown only here: the registry keeps its SHA-256 hash.
func (s *Service) RegisterClient(ctx context.Context, name string, allowed []insights.ClaimKind) (insights.Client, string, error) {
	client, err := s.newClient(name, allowed)
	if err != nil {
		return insights.Client{}, "", err
	}
	key, err := randomID(apiKeyPrefix, 32)
	if err != nil {
		return insights.Client{}, "", err
	}
	if err := s.writeClient(ctx, client, clientCredentials{apiKeyHash: hashAPIKey(key)}); err != nil {
		return insights.Client{}, "", err
	}
	s.logger().Info("client registered", "client_id", client.ID, "allowed_claims", len(allowed))
	return client, key, nil
}

// newClient checks a new client's name and claim kinds and gives it an ID.
func (s *Service) newClient(name string, allowed []insights.ClaimKind) (insights.Client, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return insights.Client{}, insights.Errorf(insights.ErrInvalid, "client name must be 1 to 100 characters")
	}
	if len(allowed) == 0 {
		return insights.Client{}, insights.Errorf(insights.ErrInvalid, "a client must be allowed at least one claim kind")
	}
	for _, k := range allowed {
		if _, err := ParseClaimKind(string(k)); err != nil {
			return insights.Client{}, err
		}
	}

	id, err := randomID("cli_", 10)
	if err != nil {
		return insights.Client{}, err
	}
	return insights.Client{ID: id, Name: name, AllowedClaims: allowed}, nil
}

// clientCredentials is the stored secret or key material a client
// authenticates with: the SHA-256 hash of its API key, or its public JWK set
// as JSON for client assertions. Only one of the two is set.
type clientCredentials struct {
	apiKeyHash string
	jwks       string
}

func (s *Service) writeClient(ctx context.Context, c insights.Client, creds clientCredentials) error {
	claims := make([]string, len(c.AllowedClaims))
	for i, k := range c.AllowedClaims {
		claims[i] = string(k)
	}
	status := "active"
	if c.Disabled {
		status = "disabled"
	}
	err := s.Engine.Exec(ctx, `INSERT INTO clients (client_id, name, api_key_hash, jwks, allowed_claims, status, updated_at)
VALUES ({id:String}, {name:String}, {hash:String}, {jwks:String}, splitByChar(',', {claims:String}), {status:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'))`,
		store.P("id", c.ID), store.P("name", c.Name), store.P("hash", creds.apiKeyHash), store.P("jwks", creds.jwks),
		store.P("claims", strings.Join(claims, ",")), store.P("status", status), store.P("at", millis(s.now())))
	if err != nil {
		return fmt.Errorf("store client %s: %w", c.ID, err)
	}
	return nil
}

// readCredentials returns the stored credentials of client id; found is
// false when no such client exists.
func (s *Service) readCredentials(ctx context.Context, id string) (creds clientCredentials, found bool, err error) {
	rows, err := s.Engine.Query(ctx, "SELECT api_key_hash, jwks FROM clients FINAL WHERE client_id = {id:String}", store.P("id", id))
	if err != nil {
		return creds, false, fmt.Errorf("read client %s: %w", id, err)
	}
	defer rows.Close()
	if !rows.Next() {
		return creds, false, rows.Err()
	}
	if err := rows.Scan(&creds.apiKeyHash, &creds.jwks); err != nil {
		return creds, false, fmt.Errorf("read client %s: %w", id, err)
	}
	return creds, true, nil
}

// AuthenticateClient returns the active client whose API key this is.
func (s *Service) AuthenticateClient(ctx context.Context, apiKey string) (insights.Client, error) {
	// A client without an API key has an empty hash, which no key matches.
	if !strings.HasPrefix(apiKey, apiKeyPrefix) {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	clients, err := s.queryClients(ctx, "WHERE api_key_hash = {hash:String}", store.P("hash", hashAPIKey(apiKey)))
	if err != nil {
		return insights.Client{}, err
	}
	if len(clients) != 1 || clients[0].Disabled {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	return clients[0], nil
}

// Client returns the registered client with this id.
func (s *Service) Client(ctx context.Context, id string) (insights.Client, error) {
	clients, err := s.queryClients(ctx, "WHERE client_id = {id:String}", store.P("id", id))
	if err != nil {
		return insights.Client{}, err
	}
	if len(clients) != 1 {
		return insights.Client{}, insights.Errorf(insights.ErrNotFound, "client %s not found", id)
	}
	return clients[0], nil
}

// Clients lists the registered clients by name.
func (s *Service) Clients(ctx context.Context) ([]insights.Client, error) {
	return s.queryClients(ctx, "")
}

// SetClientDisabled disables or re-enables a client; a disabled client's API
// key and client assertions are rejected.
func (s *Service) SetClientDisabled(ctx context.Context, id string, disabled bool) error {
	creds, found, err := s.readCredentials(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return insights.Errorf(insights.ErrNotFound, "client %s not found", id)
	}
	c, err := s.Client(ctx, id)
	if err != nil {
		return err
	}
	c.Disabled = disabled
	return s.writeClient(ctx, c, creds)
}

func (s *Service) queryClients(ctx context.Context, where string, params ...store.Param) ([]insights.Client, error) {
	rows, err := s.Engine.Query(ctx, "SELECT client_id, name, allowed_claims, toBool(status = 'disabled') FROM clients FINAL "+where+" ORDER BY name, client_id", params...)
	if err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	defer rows.Close()

	var out []insights.Client
	for rows.Next() {
		var c insights.Client
		var claims []string
		if err := rows.Scan(&c.ID, &c.Name, &claims, &c.Disabled); err != nil {
			return nil, fmt.Errorf("read clients: %w", err)
		}
		for _, k := range claims {
			c.AllowedClaims = append(c.AllowedClaims, insights.ClaimKind(k))
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func hashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// randomID returns prefix followed by n random bytes in unpadded base64url.
func randomID(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("read random bytes: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

func millis(t time.Time) string { return fmt.Sprint(t.UnixMilli()) }
