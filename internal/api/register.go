package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/lestrrat-go/jwx/v2/jwt"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// Registrar registers clients. *consent.Service implements it.
type Registrar interface {
	Register(ctx context.Context, md consent.ClientMetadata) (consent.Registration, string, error)
}

var _ Registrar = (*consent.Service)(nil)

// RegistrationOptions configures POST /register, the dynamic client
// registration endpoint.
type RegistrationOptions struct {
	Registrar Registrar
	// OperatorKeys are the public keys software statements must be signed
	// with, each with kid and alg (see consent.ParseClientJWKS).
	OperatorKeys jwk.Set
	// OperatorIssuer is the "iss" a software statement must carry.
	OperatorIssuer string
}

// Software statement claims beyond the registered JWT claims. The names
// follow the software statement of the UK Open Banking directory, with
// software_environment and software_allowed_claims added for this service.
const (
	claimSoftwareID           = "software_id"
	claimSoftwareClientName   = "software_client_name"
	claimSoftwareRedirectURIs = "software_redirect_uris"
	claimSoftwareEnvironment  = "software_environment"
	claimSoftwareClaims       = "software_allowed_claims"
	claimSoftwareContacts     = "software_contacts"
	claimSoftwareJWKSEndpoint = "software_jwks_endpoint"
)

// Limits of a registration request.
const (
	maxRegistrationBytes = 64 << 10
	// statementSkew is the clock difference tolerated on iat, nbf and exp.
	statementSkew = 30 * time.Second
)

// Error codes of registration responses. The first four are RFC 7591
// section 3.2.2's; the rest are this service's.
const (
	regInvalidRedirectURI       = "invalid_redirect_uri"
	regInvalidClientMetadata    = "invalid_client_metadata"
	regInvalidSoftwareStatement = "invalid_software_statement"
	regUnapprovedStatement      = "unapproved_software_statement"
	regSoftwareIDInUse          = "software_id_in_use"
	regInvalidRequest           = "invalid_request"
	regServerError              = "server_error"
)

var softwareIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// registrationRequest is the JSON body of POST /register: client metadata
// of RFC 7591 section 2 and the software statement of section 2.3.
type registrationRequest struct {
	SoftwareStatement string          `json:"software_statement"`
	RedirectURIs      []string        `json:"redirect_uris"`
	ClientName        string          `json:"client_name"`
	Contacts          []string        `json:"contacts"`
	JWKS              json.RawMessage `json:"jwks"`
	JWKSURI           string          `json:"jwks_uri"`
	AllowedClaims     []string        `json:"allowed_claims"`
}

// registrationResponse is the body of a successful registration (RFC 7591
// section 3.2.1).
type registrationResponse struct {
	ClientID                string   `json:"client_id"`
	ClientIDIssuedAt        int64    `json:"client_id_issued_at"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	Contacts                []string `json:"contacts,omitempty"`
	JWKSURI                 string   `json:"jwks_uri,omitempty"`
	SoftwareID              string   `json:"software_id"`
	Environment             string   `json:"environment"`
	AllowedClaims           []string `json:"allowed_claims"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	// APIKey is set only for a client registered without keys. It is shown
	// in this response only.
	APIKey string `json:"api_key,omitempty"`
}

// registrationError is an error response of RFC 7591 section 3.2.2.
type registrationError struct {
	status      int
	code        string
	description string
}

func (e *registrationError) Error() string { return e.code + ": " + e.description }

func regError(status int, code, format string, args ...any) *registrationError {
	return &registrationError{status: status, code: code, description: fmt.Sprintf(format, args...)}
}

// registerHandler serves POST /register.
type registerHandler struct {
	opts   RegistrationOptions
	logger *slog.Logger
	now    func() time.Time
}

func (h *registerHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	resp, err := h.register(w, r)
	if err != nil {
		var re *registrationError
		if !errors.As(err, &re) {
			h.logger.ErrorContext(ctx, "client registration failed", "err", err)
			re = regError(http.StatusInternalServerError, regServerError, "internal error")
		} else {
			h.logger.InfoContext(ctx, "client registration rejected", "error", re.code, "reason", re.description)
		}
		writeJSON(ctx, w, re.status, "application/json", map[string]string{"error": re.code, "error_description": re.description})
		return
	}
	writeJSON(ctx, w, http.StatusCreated, "application/json", resp)
}

func (h *registerHandler) register(w http.ResponseWriter, r *http.Request) (*registrationResponse, error) {
	if status, message := checkContentType(r.Header.Get("Content-Type")); status != 0 {
		return nil, regError(status, regInvalidRequest, "%s", message)
	}
	var req registrationRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRegistrationBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, regError(http.StatusRequestEntityTooLarge, regInvalidRequest, "request body is larger than %d KiB", maxRegistrationBytes>>10)
		}
		return nil, regError(http.StatusBadRequest, regInvalidClientMetadata, "request body is not a JSON object of client metadata: %v", err)
	}

	statement, err := h.verifyStatement(r.Context(), req.SoftwareStatement)
	if err != nil {
		return nil, err
	}
	md, err := metadataFromRequest(req, statement)
	if err != nil {
		return nil, err
	}
	reg, apiKey, err := h.opts.Registrar.Register(r.Context(), md)
	if err != nil {
		return nil, registrarError(err)
	}

	resp := &registrationResponse{
		ClientID: reg.ID, ClientIDIssuedAt: h.now().Unix(), ClientName: reg.Name, RedirectURIs: reg.RedirectURIs,
		JWKSURI: reg.JWKSURI, SoftwareID: reg.SoftwareID, Environment: reg.Environment,
		TokenEndpointAuthMethod: "private_key_jwt", APIKey: apiKey,
	}
	if reg.Contact != "" {
		resp.Contacts = []string{reg.Contact}
	}
	if apiKey != "" {
		resp.TokenEndpointAuthMethod = "api_key"
	}
	for _, k := range reg.AllowedClaims {
		resp.AllowedClaims = append(resp.AllowedClaims, string(k))
	}
	h.logger.InfoContext(r.Context(), "client registered from software statement", "client_id", reg.ID,
		"software_id", reg.SoftwareID, "environment", reg.Environment)
	return resp, nil
}

// softwareStatement is the verified content of a software statement.
type softwareStatement struct {
	SoftwareID    string
	ClientName    string
	RedirectURIs  []string
	Environment   string
	AllowedClaims []string
	Contacts      []string
	// JWKSEndpoint is the only jwks_uri the client may register: the
	// service fetches that URL, so the operator must have approved it.
	JWKSEndpoint string
}

// verifyStatement checks the signature of a software statement against
// the operator key its header kid names, with that key's registered alg
// only. It then checks iss, exp, iat and nbf with 30 seconds of clock
// skew, and the software_* claims.
func (h *registerHandler) verifyStatement(ctx context.Context, statement string) (softwareStatement, error) {
	var st softwareStatement
	bad := func(format string, args ...any) error {
		return regError(http.StatusBadRequest, regInvalidSoftwareStatement, "software_statement: "+format, args...)
	}
	if statement == "" {
		return st, bad("missing; send the JWT the operator signed for your software")
	}
	token, err := jwt.ParseString(statement,
		jwt.WithKeySet(h.opts.OperatorKeys, jws.WithRequireKid(true), jws.WithInferAlgorithmFromKey(false)),
		jwt.WithContext(ctx), jwt.WithValidate(false))
	if err != nil {
		return st, bad("signature does not verify with an operator key of the header kid, or the JWT is malformed")
	}

	now := h.now()
	switch {
	case token.Issuer() != h.opts.OperatorIssuer:
		return st, regError(http.StatusBadRequest, regUnapprovedStatement, "software_statement: iss %q is not this service's operator %q", token.Issuer(), h.opts.OperatorIssuer)
	case token.Expiration().IsZero():
		return st, bad("exp is missing")
	case !now.Before(token.Expiration().Add(statementSkew)):
		return st, bad("exp: expired at %s; ask the operator for a new statement", token.Expiration().UTC().Format(time.RFC3339))
	case token.IssuedAt().IsZero():
		return st, bad("iat is missing")
	case token.IssuedAt().After(now.Add(statementSkew)):
		return st, bad("iat %s is in the future", token.IssuedAt().UTC().Format(time.RFC3339))
	case token.NotBefore().After(now.Add(statementSkew)):
		return st, bad("nbf: not valid before %s", token.NotBefore().UTC().Format(time.RFC3339))
	}

	if st.SoftwareID, err = stringClaim(token, claimSoftwareID); err != nil {
		return st, bad("%v", err)
	}
	if !softwareIDPattern.MatchString(st.SoftwareID) {
		return st, bad("%s %q: want 1 to 64 letters, digits, '.', '_' or '-'", claimSoftwareID, st.SoftwareID)
	}
	if st.ClientName, err = stringClaim(token, claimSoftwareClientName); err != nil {
		return st, bad("%v", err)
	}
	if st.Environment, err = stringClaim(token, claimSoftwareEnvironment); err != nil {
		return st, bad("%v", err)
	}
	if _, err := consent.ParseEnvironment(st.Environment); err != nil {
		return st, bad("%s: %s", claimSoftwareEnvironment, insights.ErrorMessage(err))
	}
	if st.RedirectURIs, err = stringsClaim(token, claimSoftwareRedirectURIs, true); err != nil {
		return st, bad("%v", err)
	}
	if st.AllowedClaims, err = stringsClaim(token, claimSoftwareClaims, true); err != nil {
		return st, bad("%v", err)
	}
	if st.Contacts, err = stringsClaim(token, claimSoftwareContacts, false); err != nil {
		return st, bad("%v", err)
	}
	if _, ok := token.Get(claimSoftwareJWKSEndpoint); ok {
		if st.JWKSEndpoint, err = stringClaim(token, claimSoftwareJWKSEndpoint); err != nil {
			return st, bad("%v", err)
		}
	}
	return st, nil
}

func stringClaim(token jwt.Token, name string) (string, error) {
	v, ok := token.Get(name)
	if !ok {
		return "", fmt.Errorf("%s is missing", name)
	}
	s, ok := v.(string)
	if !ok || strings.TrimSpace(s) == "" {
		return "", fmt.Errorf("%s must be a non-empty string", name)
	}
	return s, nil
}

func stringsClaim(token jwt.Token, name string, required bool) ([]string, error) {
	v, ok := token.Get(name)
	if !ok {
		if required {
			return nil, fmt.Errorf("%s is missing", name)
		}
		return nil, nil
	}
	list, ok := v.([]any)
	if !ok || (required && len(list) == 0) {
		return nil, fmt.Errorf("%s must be a non-empty array of strings", name)
	}
	out := make([]string, len(list))
	for i, item := range list {
		s, ok := item.(string)
		if !ok {
			return nil, fmt.Errorf("%s[%d] must be a string", name, i)
		}
		out[i] = s
	}
	return out, nil
}

// metadataFromRequest combines the request's metadata with the statement.
// The statement bounds the request: redirect_uris and allowed_claims must
// be subsets of the statement's, and default to them when absent.
func metadataFromRequest(req registrationRequest, st softwareStatement) (consent.ClientMetadata, error) {
	md := consent.ClientMetadata{Name: st.ClientName, Environment: st.Environment, SoftwareID: st.SoftwareID}
	if req.ClientName != "" {
		md.Name = req.ClientName
	}

	md.RedirectURIs = st.RedirectURIs
	if len(req.RedirectURIs) > 0 {
		for i, uri := range req.RedirectURIs {
			if !contains(st.RedirectURIs, uri) {
				return md, regError(http.StatusBadRequest, regInvalidRedirectURI,
					"redirect_uris[%d] %q is not in the software statement's %s", i, uri, claimSoftwareRedirectURIs)
			}
		}
		md.RedirectURIs = req.RedirectURIs
	}

	claims := st.AllowedClaims
	if len(req.AllowedClaims) > 0 {
		for i, c := range req.AllowedClaims {
			if !contains(st.AllowedClaims, c) {
				return md, regError(http.StatusBadRequest, regInvalidClientMetadata,
					"allowed_claims[%d] %q is not in the software statement's %s", i, c, claimSoftwareClaims)
			}
		}
		claims = req.AllowedClaims
	}
	for i, c := range claims {
		kind, err := consent.ParseClaimKind(c)
		if err != nil {
			return md, regError(http.StatusBadRequest, regInvalidClientMetadata, "allowed_claims[%d]: %s", i, insights.ErrorMessage(err))
		}
		md.AllowedClaims = append(md.AllowedClaims, kind)
	}

	contacts := req.Contacts
	if len(contacts) == 0 {
		contacts = st.Contacts
	}
	switch len(contacts) {
	case 0:
		return md, regError(http.StatusBadRequest, regInvalidClientMetadata, "contacts: missing; give one e-mail address of your operations team")
	case 1:
		md.Contact = contacts[0]
	default:
		return md, regError(http.StatusBadRequest, regInvalidClientMetadata, "contacts: %d addresses; this service stores one", len(contacts))
	}

	if len(req.JWKS) > 0 && string(req.JWKS) != "null" {
		md.JWKS = req.JWKS
	}
	// The service fetches jwks_uri, so it must be the URL the operator
	// signed, never one the registrant chooses alone.
	switch {
	case req.JWKSURI != "" && req.JWKSURI != st.JWKSEndpoint:
		return md, regError(http.StatusBadRequest, regInvalidClientMetadata,
			"jwks_uri %q: must equal the software statement's %s %q", req.JWKSURI, claimSoftwareJWKSEndpoint, st.JWKSEndpoint)
	case req.JWKSURI != "":
		md.JWKSURI = req.JWKSURI
	case md.JWKS == nil && st.JWKSEndpoint != "":
		md.JWKSURI = st.JWKSEndpoint
	}
	return md, nil
}

// registrarError maps an error of Registrar.Register to a response.
func registrarError(err error) error {
	message := insights.ErrorMessage(err)
	switch insights.ErrorCode(err) {
	case insights.ErrInvalid:
		if strings.HasPrefix(message, "redirect_uris") {
			return regError(http.StatusBadRequest, regInvalidRedirectURI, "%s", message)
		}
		return regError(http.StatusBadRequest, regInvalidClientMetadata, "%s", message)
	case insights.ErrConflict:
		return regError(http.StatusConflict, regSoftwareIDInUse, "%s", message)
	}
	return err
}

func contains(list []string, s string) bool {
	for _, item := range list {
		if item == s {
			return true
		}
	}
	return false
}
