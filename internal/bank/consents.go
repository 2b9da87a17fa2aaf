package bank

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

// Consent statuses of OBIE v3.1 (OBExternalRequestStatus1Code).
const (
	statusAwaitingAuthorisation = "AwaitingAuthorisation"
	statusAuthorised            = "Authorised"
	statusRejected              = "Rejected"
	statusRevoked               = "Revoked"
)

// OBIE v3.1 permission codes (OBExternalPermissions1Code).
const (
	permAccountsBasic           = "ReadAccountsBasic"
	permAccountsDetail          = "ReadAccountsDetail"
	permBalances                = "ReadBalances"
	permBeneficiariesBasic      = "ReadBeneficiariesBasic"
	permBeneficiariesDetail     = "ReadBeneficiariesDetail"
	permDirectDebits            = "ReadDirectDebits"
	permOffers                  = "ReadOffers"
	permPAN                     = "ReadPAN"
	permParty                   = "ReadParty"
	permPartyPSU                = "ReadPartyPSU"
	permProducts                = "ReadProducts"
	permScheduledPaymentsBasic  = "ReadScheduledPaymentsBasic"
	permScheduledPaymentsDetail = "ReadScheduledPaymentsDetail"
	permStandingOrdersBasic     = "ReadStandingOrdersBasic"
	permStandingOrdersDetail    = "ReadStandingOrdersDetail"
	permStatementsBasic         = "ReadStatementsBasic"
	permStatementsDetail        = "ReadStatementsDetail"
	permTransactionsBasic       = "ReadTransactionsBasic"
	permTransactionsCredits     = "ReadTransactionsCredits"
	permTransactionsDebits      = "ReadTransactionsDebits"
	permTransactionsDetail      = "ReadTransactionsDetail"
)

var knownPermissions = []string{
	permAccountsBasic, permAccountsDetail, permBalances, permBeneficiariesBasic,
	permBeneficiariesDetail, permDirectDebits, permOffers, permPAN, permParty,
	permPartyPSU, permProducts, permScheduledPaymentsBasic, permScheduledPaymentsDetail,
	permStandingOrdersBasic, permStandingOrdersDetail, permStatementsBasic,
	permStatementsDetail, permTransactionsBasic, permTransactionsCredits,
	permTransactionsDebits, permTransactionsDetail,
}

// consent is an account-access-consent. The date-time strings keep the
// values as the TPP sent them, because an ASPSP must not alter
// ExpirationDateTime; the parsed times drive the checks.
type consent struct {
	id          string
	permissions []string
	perms       map[string]bool
	status      string
	created     time.Time
	updated     time.Time
	customer    string // set when a customer authorises it

	expiration, txFrom, txTo          *time.Time
	expirationRaw, txFromRaw, txToRaw string
}

func (c *consent) has(perm string) bool { return c.perms[perm] }

func (c *consent) expiredAt(now time.Time) bool {
	return c.expiration != nil && !now.Before(*c.expiration)
}

// usableLocked returns why the consent cannot grant tokens or reads, or
// "" when it can.
func (c *consent) usableLocked(now time.Time) string {
	switch {
	case c == nil:
		return "consent not found"
	case c.status != statusAuthorised:
		return "consent status is " + c.status
	case c.expiredAt(now):
		return "consent expired"
	}
	return ""
}

// consentRequest is OBReadConsent1.
type consentRequest struct {
	Data *struct {
		Permissions             []string `json:"Permissions"`
		ExpirationDateTime      string   `json:"ExpirationDateTime"`
		TransactionFromDateTime string   `json:"TransactionFromDateTime"`
		TransactionToDateTime   string   `json:"TransactionToDateTime"`
	} `json:"Data"`
	Risk json.RawMessage `json:"Risk"`
}

// consentData is OBReadConsentResponse1Data.
type consentData struct {
	ConsentID               string   `json:"ConsentId"`
	CreationDateTime        string   `json:"CreationDateTime"`
	Status                  string   `json:"Status"`
	StatusUpdateDateTime    string   `json:"StatusUpdateDateTime"`
	Permissions             []string `json:"Permissions"`
	ExpirationDateTime      string   `json:"ExpirationDateTime,omitempty"`
	TransactionFromDateTime string   `json:"TransactionFromDateTime,omitempty"`
	TransactionToDateTime   string   `json:"TransactionToDateTime,omitempty"`
}

type consentResponse struct {
	Data  consentData    `json:"Data"`
	Risk  struct{}       `json:"Risk"`
	Links links          `json:"Links"`
	Meta  map[string]any `json:"Meta"`
}

// handleCreateConsent serves POST /account-access-consents.
func (b *Bank) handleCreateConsent(w http.ResponseWriter, r *http.Request) {
	if !b.clientCredentials(w, r) {
		return
	}
	var req consentRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Invalid request body.", decodeProblem(err))
		return
	}
	c, problems := b.newConsent(req)
	if len(problems) > 0 {
		writeError(w, http.StatusBadRequest, "Invalid consent request.", problems...)
		return
	}

	b.mu.Lock()
	b.consents[c.id] = c
	resp := b.consentResponseLocked(r, c)
	b.mu.Unlock()

	b.log.Info("consent created", "consent_id", c.id, "permissions", len(c.permissions))
	writeJSON(w, http.StatusCreated, resp)
}

// decodeProblem turns a JSON decoding error into an OBIE error entry that
// names the path and the expected type.
func decodeProblem(err error) obError {
	var typeErr *json.UnmarshalTypeError
	if errors.As(err, &typeErr) && typeErr.Field != "" {
		return obError{ErrorCode: codeFieldInvalid, Message: "want " + typeErr.Type.String() + ", got JSON " + typeErr.Value, Path: typeErr.Field}
	}
	return obError{ErrorCode: codeResourceInvalidFormat, Message: "body is not a valid JSON object"}
}

// newConsent validates a consent request, collecting every problem, and
// returns the consent awaiting authorisation.
func (b *Bank) newConsent(req consentRequest) (*consent, []obError) {
	var problems []obError
	if len(bytes.TrimSpace(req.Risk)) == 0 || bytes.Equal(bytes.TrimSpace(req.Risk), []byte("null")) {
		problems = append(problems, obError{ErrorCode: codeFieldMissing, Message: "Risk is required (send {} when empty)", Path: "Risk"})
	}
	if req.Data == nil {
		return nil, append(problems, obError{ErrorCode: codeFieldMissing, Message: "Data is required", Path: "Data"})
	}
	now := b.now()
	c := &consent{
		id:      "aac-" + newUUID(),
		perms:   map[string]bool{},
		status:  statusAwaitingAuthorisation,
		created: now,
		updated: now,
	}

	problems = append(problems, c.setPermissions(req.Data.Permissions)...)

	var err *obError
	if c.expiration, err = parseConsentTime("Data.ExpirationDateTime", req.Data.ExpirationDateTime); err != nil {
		problems = append(problems, *err)
	} else if c.expiration != nil && !c.expiration.After(now) {
		problems = append(problems, obError{ErrorCode: codeFieldInvalidDate, Message: "must be in the future", Path: "Data.ExpirationDateTime"})
	}
	if c.txFrom, err = parseConsentTime("Data.TransactionFromDateTime", req.Data.TransactionFromDateTime); err != nil {
		problems = append(problems, *err)
	}
	if c.txTo, err = parseConsentTime("Data.TransactionToDateTime", req.Data.TransactionToDateTime); err != nil {
		problems = append(problems, *err)
	}
	if c.txFrom != nil && c.txTo != nil && c.txFrom.After(*c.txTo) {
		problems = append(problems, obError{ErrorCode: codeFieldInvalidDate, Message: "TransactionFromDateTime is after TransactionToDateTime", Path: "Data.TransactionFromDateTime"})
	}
	c.expirationRaw = req.Data.ExpirationDateTime
	c.txFromRaw = req.Data.TransactionFromDateTime
	c.txToRaw = req.Data.TransactionToDateTime
	return c, problems
}

// setPermissions applies the rules of the OBIE account-access-consents
// resource: Permissions must include ReadAccountsBasic or
// ReadAccountsDetail; ReadTransactionsBasic or ReadTransactionsDetail needs
// ReadTransactionsCredits or ReadTransactionsDebits, and the reverse.
func (c *consent) setPermissions(perms []string) []obError {
	if len(perms) == 0 {
		return []obError{{ErrorCode: codeFieldMissing, Message: "at least one permission is required", Path: "Data.Permissions"}}
	}
	var problems []obError
	for i, p := range perms {
		if !slices.Contains(knownPermissions, p) {
			problems = append(problems, obError{ErrorCode: codeFieldInvalid, Message: "not an OBIE v3.1 permission code", Path: fmt.Sprintf("Data.Permissions[%d]", i)})
			continue
		}
		if !c.perms[p] {
			c.perms[p] = true
			c.permissions = append(c.permissions, p)
		}
	}
	if len(problems) > 0 {
		return problems
	}

	if !c.has(permAccountsBasic) && !c.has(permAccountsDetail) {
		problems = append(problems, obError{ErrorCode: codeFieldInvalid, Message: "must include ReadAccountsBasic or ReadAccountsDetail", Path: "Data.Permissions"})
	}
	content := c.has(permTransactionsBasic) || c.has(permTransactionsDetail)
	direction := c.has(permTransactionsCredits) || c.has(permTransactionsDebits)
	if content && !direction {
		problems = append(problems, obError{ErrorCode: codeFieldInvalid, Message: "ReadTransactionsBasic or ReadTransactionsDetail needs ReadTransactionsCredits or ReadTransactionsDebits", Path: "Data.Permissions"})
	}
	if direction && !content {
		problems = append(problems, obError{ErrorCode: codeFieldInvalid, Message: "ReadTransactionsCredits or ReadTransactionsDebits needs ReadTransactionsBasic or ReadTransactionsDetail", Path: "Data.Permissions"})
	}
	return problems
}

// parseConsentTime parses an optional ISODateTime of the request body. A
// value without an offset is read in Europe/London.
func parseConsentTime(path, value string) (*time.Time, *obError) {
	if value == "" {
		return nil, nil
	}
	t, err := obie.ParseDateTime(value, obie.London)
	if err != nil {
		return nil, &obError{ErrorCode: codeFieldInvalidDate, Message: err.Error(), Path: path}
	}
	return &t, nil
}

// handleGetConsent serves GET /account-access-consents/{ConsentId}.
func (b *Bank) handleGetConsent(w http.ResponseWriter, r *http.Request) {
	if !b.clientCredentials(w, r) {
		return
	}
	b.mu.Lock()
	c, ok := b.consents[r.PathValue("ConsentId")]
	var resp consentResponse
	if ok {
		resp = b.consentResponseLocked(r, c)
	}
	b.mu.Unlock()

	if !ok {
		writeError(w, http.StatusNotFound, "Consent not found.", obError{ErrorCode: codeResourceNotFound, Message: "no consent has this ConsentId", Path: "ConsentId"})
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleDeleteConsent serves DELETE /account-access-consents/{ConsentId}:
// the consent becomes Revoked, and every token for it stops working.
func (b *Bank) handleDeleteConsent(w http.ResponseWriter, r *http.Request) {
	if !b.clientCredentials(w, r) {
		return
	}
	id := r.PathValue("ConsentId")
	b.mu.Lock()
	c, ok := b.consents[id]
	if ok && c.status != statusRevoked {
		c.status = statusRevoked
		c.updated = b.now()
	}
	b.mu.Unlock()

	if !ok {
		writeError(w, http.StatusNotFound, "Consent not found.", obError{ErrorCode: codeResourceNotFound, Message: "no consent has this ConsentId", Path: "ConsentId"})
		return
	}
	b.log.Info("consent revoked", "consent_id", id)
	w.WriteHeader(http.StatusNoContent)
}

// clientCredentials checks that r carries a live client-credentials token,
// which the consent endpoints require, and writes the refusal otherwise.
func (b *Bank) clientCredentials(w http.ResponseWriter, r *http.Request) bool {
	b.mu.Lock()
	at, reason := b.lookupAccessLocked(r)
	b.mu.Unlock()

	if at == nil {
		writeUnauthorized(w, reason)
		return false
	}
	if at.consentID != "" {
		writeError(w, http.StatusForbidden, "Forbidden.", obError{ErrorCode: codeConsentMismatch, Message: "consent endpoints need a client-credentials token", Path: "Authorization"})
		return false
	}
	return true
}

func (b *Bank) consentResponseLocked(r *http.Request, c *consent) consentResponse {
	return consentResponse{
		Data: consentData{
			ConsentID:               c.id,
			CreationDateTime:        formatTime(c.created),
			Status:                  c.status,
			StatusUpdateDateTime:    formatTime(c.updated),
			Permissions:             slices.Clone(c.permissions),
			ExpirationDateTime:      c.expirationRaw,
			TransactionFromDateTime: c.txFromRaw,
			TransactionToDateTime:   c.txToRaw,
		},
		Links: links{Self: absoluteURL(r, aispPrefix+"/account-access-consents/"+c.id)},
		Meta:  map[string]any{"TotalPages": 1},
	}
}

// formatTime formats t in UTC as RFC 3339 with its offset, which OBIE
// requires on every date-time of a response.
func formatTime(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
