package consent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"strings"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// apiKeyPrefix marks the service's API keys so that secret scanners and
// people can recognise one.
const apiKeyPrefix = "ik_"

// Environments a client is registered in. Only demo customers can open a
// sandbox client's requests, and its tokens carry "env":"sandbox". Any
// customer can open a live client's requests.
const (
	EnvSandbox = "sandbox"
	EnvLive    = "live"
)

// Limits of client metadata.
const (
	maxRedirectURIs     = 10
	maxRedirectURIBytes = 2000
	maxContactBytes     = 254 // the maximum e-mail address length RFC 5321 allows in a path
)

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

// ParseEnvironment checks an environment name: "sandbox" or "live".
func ParseEnvironment(s string) (string, error) {
	switch s {
	case EnvSandbox, EnvLive:
		return s, nil
	}
	return "", insights.Errorf(insights.ErrInvalid, "environment %q: want sandbox or live", s)
}

// ClientMetadata is the registration data of a merchant or lender. Exactly
// one way of authenticating applies: JWKS (an inline public JWK set),
// JWKSURI (a URL the set is fetched from) or, when both are empty, an API
// key that Register generates.
type ClientMetadata struct {
	Name          string
	AllowedClaims []insights.ClaimKind
	// RedirectURIs are the optional URIs the consent page may send the
	// customer back to (see CheckRedirectURI).
	RedirectURIs []string
	// Contact is an e-mail address of the client's operations team.
	// Optional.
	Contact string
	// Environment is EnvSandbox or EnvLive; empty means EnvLive.
	Environment string
	JWKS        []byte
	JWKSURI     string
	// SoftwareID is the software_id of the software statement the client
	// registered with; empty for clients an operator added.
	SoftwareID string
}

// Registration is a registered client with its metadata. It never holds
// the API key, which the registry keeps only as a hash.
type Registration struct {
	insights.Client
	RedirectURIs []string
	Contact      string
	Environment  string
	JWKSURI      string
	SoftwareID   string
	// Auth is "api_key", "jwks" (an inline JWK set) or "jwks_uri".
	Auth string
	// KeyIDs lists the kids of an inline JWK set; empty otherwise.
	KeyIDs []string
}

// clientRow is one row of the clients table. Every write stores the whole
// row because the table keeps the latest row of each client.
type clientRow struct {
	Registration
	apiKeyHash string
	jwks       string // inline public JWK set as JSON, '' when none
}

// RegisterClient registers a live merchant or lender with an API key and
// returns the key. The key is shown only here: the registry keeps its
// SHA-256 hash.
func (s *Service) RegisterClient(ctx context.Context, name string, allowed []insights.ClaimKind) (insights.Client, string, error) {
	reg, key, err := s.Register(ctx, ClientMetadata{Name: name, AllowedClaims: allowed})
	return reg.Client, key, err
}

// Register checks md and registers the client. It returns the new API key
// when md has neither JWKS nor JWKSURI, and "" otherwise. A metadata error
// is an invalid error naming the field, such as redirect_uris[1].
func (s *Service) Register(ctx context.Context, md ClientMetadata) (Registration, string, error) {
	row, err := s.newClientRow(md)
	if err != nil {
		return Registration{}, "", err
	}
	if row.SoftwareID != "" {
		if err := s.checkSoftwareIDFree(ctx, row.SoftwareID); err != nil {
			return Registration{}, "", err
		}
	}
	if row.JWKSURI != "" {
		// Fetching the set now reports a wrong URL or wrong keys to the
		// registrant at once.
		if _, err := remoteSets.get(ctx, row.JWKSURI, false); err != nil {
			return Registration{}, "", insights.Errorf(insights.ErrInvalid, "jwks_uri %q: %v", row.JWKSURI, err)
		}
	}

	var key string
	if row.Auth == authAPIKey {
		if key, err = randomID(apiKeyPrefix, 32); err != nil {
			return Registration{}, "", err
		}
		row.apiKeyHash = hashAPIKey(key)
	}
	if err := s.writeClient(ctx, row); err != nil {
		return Registration{}, "", err
	}
	s.logger().Info("client registered", "client_id", row.ID, "environment", row.Environment, "auth", row.Auth,
		"allowed_claims", len(row.AllowedClaims), "redirect_uris", len(row.RedirectURIs), "keys", len(row.KeyIDs),
		"software_id", row.SoftwareID)
	return row.Registration, key, nil
}

const (
	authAPIKey  = "api_key"
	authJWKS    = "jwks"
	authJWKSURI = "jwks_uri"
)

// newClientRow checks md and gives the client an ID.
func (s *Service) newClientRow(md ClientMetadata) (clientRow, error) {
	var row clientRow
	name := strings.TrimSpace(md.Name)
	if name == "" || len(name) > 100 {
		return row, insights.Errorf(insights.ErrInvalid, "client_name: must be 1 to 100 characters")
	}
	if len(md.AllowedClaims) == 0 {
		return row, insights.Errorf(insights.ErrInvalid, "allowed_claims: a client must be allowed at least one claim kind")
	}
	for i, k := range md.AllowedClaims {
		if _, err := ParseClaimKind(string(k)); err != nil {
			return row, insights.Errorf(insights.ErrInvalid, "allowed_claims[%d]: %s", i, insights.ErrorMessage(err))
		}
	}
	env := md.Environment
	if env == "" {
		env = EnvLive
	}
	if _, err := ParseEnvironment(env); err != nil {
		return row, insights.Errorf(insights.ErrInvalid, "environment: %s", insights.ErrorMessage(err))
	}
	uris, err := checkRedirectURIs(md.RedirectURIs, env)
	if err != nil {
		return row, err
	}
	contact, err := checkContact(md.Contact)
	if err != nil {
		return row, err
	}

	row.Name, row.AllowedClaims, row.Environment = name, md.AllowedClaims, env
	row.RedirectURIs, row.Contact, row.SoftwareID = uris, contact, md.SoftwareID
	if err := row.setKeys(md.JWKS, md.JWKSURI); err != nil {
		return row, err
	}
	if row.ID, err = randomID("cli_", 10); err != nil {
		return row, err
	}
	return row, nil
}

// setKeys replaces the row's JWK set, or its JWK set URL, after checking
// it. With neither, the row authenticates with an API key.
func (row *clientRow) setKeys(jwks []byte, jwksURI string) error {
	row.jwks, row.JWKSURI, row.KeyIDs = "", "", nil
	switch {
	case len(jwks) > 0 && jwksURI != "":
		return insights.Errorf(insights.ErrInvalid, "jwks and jwks_uri exclude each other: register the keys inline or by URL")
	case len(jwks) > 0:
		set, err := ParseClientJWKS(jwks)
		if err != nil {
			return insights.Errorf(insights.ErrInvalid, "jwks: %s", insights.ErrorMessage(err))
		}
		doc, err := json.Marshal(set)
		if err != nil {
			return fmt.Errorf("encode the client's JWK set: %w", err)
		}
		row.jwks, row.Auth = string(doc), authJWKS
		for i := range set.Len() {
			key, _ := set.Key(i)
			row.KeyIDs = append(row.KeyIDs, key.KeyID())
		}
	case jwksURI != "":
		if err := CheckJWKSURI(jwksURI, row.Environment); err != nil {
			return err
		}
		row.JWKSURI, row.Auth = jwksURI, authJWKSURI
	default:
		row.Auth = authAPIKey
	}
	return nil
}

// CheckRedirectURI checks one redirect URI of a client in environment env:
// an absolute https URI with a host, no user information and no fragment
// (RFC 6749 section 3.1.2). A sandbox client may also use http on a
// loopback host (127.0.0.1, [::1] or localhost), for development on the
// developer's own machine.
func CheckRedirectURI(raw, env string) error {
	if len(raw) > maxRedirectURIBytes {
		return fmt.Errorf("longer than %d bytes", maxRedirectURIBytes)
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return fmt.Errorf("not an absolute URI with a host")
	}
	if u.User != nil {
		return fmt.Errorf("must not contain user information")
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return fmt.Errorf("must not contain a fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if !isLoopbackHost(u.Hostname()) {
			return fmt.Errorf("http is allowed only for 127.0.0.1, [::1] or localhost; use https")
		}
		if env != EnvSandbox {
			return fmt.Errorf("http on a loopback host is allowed only for sandbox clients; use https")
		}
		return nil
	}
	return fmt.Errorf("scheme %q is not supported; use https", u.Scheme)
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func checkRedirectURIs(uris []string, env string) ([]string, error) {
	if len(uris) > maxRedirectURIs {
		return nil, insights.Errorf(insights.ErrInvalid, "redirect_uris: %d URIs; the limit is %d", len(uris), maxRedirectURIs)
	}
	seen := map[string]bool{}
	out := make([]string, 0, len(uris))
	for i, raw := range uris {
		if err := CheckRedirectURI(raw, env); err != nil {
			return nil, insights.Errorf(insights.ErrInvalid, "redirect_uris[%d] %q: %v", i, raw, err)
		}
		if !seen[raw] {
			seen[raw] = true
			out = append(out, raw)
		}
	}
	return out, nil
}

// checkContact accepts an empty contact or one bare e-mail address.
func checkContact(contact string) (string, error) {
	contact = strings.TrimSpace(contact)
	if contact == "" {
		return "", nil
	}
	addr, err := mail.ParseAddress(contact)
	if err != nil || addr.Name != "" || addr.Address != contact || len(contact) > maxContactBytes {
		return "", insights.Errorf(insights.ErrInvalid, "contacts: %q is not an e-mail address such as ops@example.com", contact)
	}
	return contact, nil
}

// checkSoftwareIDFree rejects a software_id that an active client already
// registered with, so one piece of software has one registration.
func (s *Service) checkSoftwareIDFree(ctx context.Context, softwareID string) error {
	rows, err := s.queryClientRows(ctx, "WHERE software_id = {sid:String}", store.P("sid", softwareID))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if !r.Disabled {
			return insights.Errorf(insights.ErrConflict, "software_id %q is already registered as client %s; disable that client before registering again", softwareID, r.ID)
		}
	}
	return nil
}

func (s *Service) writeClient(ctx context.Context, row clientRow) error {
	claims := make([]string, len(row.AllowedClaims))
	for i, k := range row.AllowedClaims {
		claims[i] = string(k)
	}
	status := "active"
	if row.Disabled {
		status = "disabled"
	}
	uris, err := json.Marshal(row.RedirectURIs)
	if err != nil {
		return fmt.Errorf("encode redirect URIs of client %s: %w", row.ID, err)
	}
	err = s.Engine.Exec(ctx, `INSERT INTO clients (client_id, name, api_key_hash, jwks, allowed_claims, status, updated_at,
    redirect_uris, contact, jwks_uri, environment, software_id)
VALUES ({id:String}, {name:String}, {hash:String}, {jwks:String}, splitByChar(',', {claims:String}), {status:String},
    fromUnixTimestamp64Milli({at:Int64}, 'UTC'), JSONExtract({uris:String}, 'Array(String)'), {contact:String},
    {jwks_uri:String}, {env:String}, {sid:String})`,
		store.P("id", row.ID), store.P("name", row.Name), store.P("hash", row.apiKeyHash), store.P("jwks", row.jwks),
		store.P("claims", strings.Join(claims, ",")), store.P("status", status), store.P("at", millis(s.writeTime(ctx, row.ID))),
		store.P("uris", string(uris)), store.P("contact", row.Contact), store.P("jwks_uri", row.JWKSURI),
		store.P("env", row.Environment), store.P("sid", row.SoftwareID))
	if err != nil {
		return fmt.Errorf("store client %s: %w", row.ID, err)
	}
	return nil
}

// writeTime returns the updated_at of a new row of client id: now, or one
// millisecond after the stored row when that is not earlier, so that two
// changes within one millisecond still replace each other in order.
func (s *Service) writeTime(ctx context.Context, id string) time.Time {
	now := s.now()
	rows, err := s.Engine.Query(ctx, "SELECT toUnixTimestamp64Milli(max(updated_at)) FROM clients WHERE client_id = {id:String}", store.P("id", id))
	if err != nil {
		return now
	}
	defer rows.Close()
	var last int64
	if rows.Next() && rows.Scan(&last) == nil && last >= now.UnixMilli() {
		return time.UnixMilli(last + 1).UTC()
	}
	return now
}

// readCredentials returns the stored row of client id; found is false when
// no such client exists.
func (s *Service) readCredentials(ctx context.Context, id string) (row clientRow, found bool, err error) {
	rows, err := s.queryClientRows(ctx, "WHERE client_id = {id:String}", store.P("id", id))
	if err != nil || len(rows) != 1 {
		return row, false, err
	}
	return rows[0], true, nil
}

// AuthenticateClient returns the active client whose API key this is.
func (s *Service) AuthenticateClient(ctx context.Context, apiKey string) (insights.Client, error) {
	// A client without an API key has an empty hash, which no key matches.
	if !strings.HasPrefix(apiKey, apiKeyPrefix) {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	hash := hashAPIKey(apiKey)
	client, ok, err := s.cachedAPIKey(ctx, hash)
	if err != nil {
		return insights.Client{}, err
	}
	if ok {
		return client, nil
	}
	generation, fetchedAt := s.apiKeyGeneration(), time.Now()
	clients, err := s.queryClients(ctx, "WHERE api_key_hash = {hash:String}", store.P("hash", hash))
	if err != nil {
		return insights.Client{}, err
	}
	if len(clients) != 1 || clients[0].Disabled {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	s.rememberAPIKey(hash, clients[0], generation, fetchedAt)
	return clients[0], nil
}

// Client returns the registered client with this id.
func (s *Service) Client(ctx context.Context, id string) (insights.Client, error) {
	reg, err := s.ClientRegistration(ctx, id)
	return reg.Client, err
}

// ClientRegistration returns the registered client with this id and its
// metadata.
func (s *Service) ClientRegistration(ctx context.Context, id string) (Registration, error) {
	row, found, err := s.readCredentials(ctx, id)
	if err != nil {
		return Registration{}, err
	}
	if !found {
		return Registration{}, insights.Errorf(insights.ErrNotFound, "client %s not found", id)
	}
	return row.Registration, nil
}

// Clients lists the registered clients by name.
func (s *Service) Clients(ctx context.Context) ([]insights.Client, error) {
	return s.queryClients(ctx, "")
}

// Registrations lists the registered clients by name, with their metadata.
func (s *Service) Registrations(ctx context.Context) ([]Registration, error) {
	rows, err := s.queryClientRows(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Registration, len(rows))
	for i, r := range rows {
		out[i] = r.Registration
	}
	return out, nil
}

// SetClientDisabled disables or re-enables a client; a disabled client's API
// key and client assertions are rejected.
func (s *Service) SetClientDisabled(ctx context.Context, id string, disabled bool) error {
	return s.updateClient(ctx, id, func(row *clientRow) error {
		// Enabling must keep one active registration per software_id: a
		// client disabled so that its software could register again stays
		// disabled while the newer registration is active.
		if !disabled && row.Disabled && row.SoftwareID != "" {
			if err := s.checkSoftwareIDFree(ctx, row.SoftwareID); err != nil {
				return err
			}
		}
		row.Disabled = disabled
		return nil
	})
}

// SetClientKeys replaces the public JWK set a client's assertions are
// checked against, inline (jwks) or by URL (jwksURI). To rotate without
// downtime, register a set holding the old and the new key, switch the
// client to signing with the new kid, then register a set without the old
// key. A client that used an API key loses it.
func (s *Service) SetClientKeys(ctx context.Context, id string, jwks []byte, jwksURI string) error {
	if len(jwks) == 0 && jwksURI == "" {
		return insights.Errorf(insights.ErrInvalid, "jwks or jwks_uri is required")
	}
	if jwksURI != "" {
		if _, err := remoteSets.get(ctx, jwksURI, true); err != nil {
			return insights.Errorf(insights.ErrInvalid, "jwks_uri %q: %v", jwksURI, err)
		}
	}
	return s.updateClient(ctx, id, func(row *clientRow) error {
		if err := row.setKeys(jwks, jwksURI); err != nil {
			return err
		}
		row.apiKeyHash = ""
		return nil
	})
}

// SetClientRedirectURIs replaces a client's redirect URIs.
func (s *Service) SetClientRedirectURIs(ctx context.Context, id string, uris []string) error {
	return s.updateClient(ctx, id, func(row *clientRow) error {
		checked, err := checkRedirectURIs(uris, row.Environment)
		row.RedirectURIs = checked
		return err
	})
}

func (s *Service) updateClient(ctx context.Context, id string, change func(*clientRow) error) error {
	row, found, err := s.readCredentials(ctx, id)
	if err != nil {
		return err
	}
	if !found {
		return insights.Errorf(insights.ErrNotFound, "client %s not found", id)
	}
	if err := change(&row); err != nil {
		return err
	}
	err = s.writeClient(ctx, row)
	// The write may have reached storage even when it reports an error.
	s.forgetAPIKeys()
	if err != nil {
		return err
	}
	s.logger().Info("client updated", "client_id", id, "disabled", row.Disabled, "auth", row.Auth,
		"redirect_uris", len(row.RedirectURIs), "keys", len(row.KeyIDs))
	return nil
}

func (s *Service) queryClients(ctx context.Context, where string, params ...store.Param) ([]insights.Client, error) {
	rows, err := s.queryClientRows(ctx, where, params...)
	if err != nil {
		return nil, err
	}
	out := make([]insights.Client, len(rows))
	for i, r := range rows {
		out[i] = r.Client
	}
	return out, nil
}

func (s *Service) queryClientRows(ctx context.Context, where string, params ...store.Param) ([]clientRow, error) {
	rows, err := s.Engine.Query(ctx, `SELECT client_id, name, allowed_claims, toBool(status = 'disabled'), api_key_hash, jwks,
    redirect_uris, contact, jwks_uri, environment, software_id
FROM clients FINAL `+where+" ORDER BY name, client_id", params...)
	if err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	defer rows.Close()

	var out []clientRow
	for rows.Next() {
		var r clientRow
		var claims []string
		if err := rows.Scan(&r.ID, &r.Name, &claims, &r.Disabled, &r.apiKeyHash, &r.jwks,
			&r.RedirectURIs, &r.Contact, &r.JWKSURI, &r.Environment, &r.SoftwareID); err != nil {
			return nil, fmt.Errorf("read clients: %w", err)
		}
		for _, k := range claims {
			r.AllowedClaims = append(r.AllowedClaims, insights.ClaimKind(k))
		}
		r.Auth = authAPIKey
		switch {
		case r.jwks != "":
			r.Auth = authJWKS
			r.KeyIDs = keyIDsOf(r.jwks)
		case r.JWKSURI != "":
			r.Auth = authJWKSURI
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	return out, nil
}

// keyIDsOf returns the kids of a stored JWK set, which registration checked.
func keyIDsOf(jwks string) []string {
	var doc struct {
		Keys []struct {
			KeyID string `json:"kid"`
		} `json:"keys"`
	}
	if json.Unmarshal([]byte(jwks), &doc) != nil {
		return nil
	}
	ids := make([]string, len(doc.Keys))
	for i, k := range doc.Keys {
		ids[i] = k.KeyID
	}
	return ids
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
