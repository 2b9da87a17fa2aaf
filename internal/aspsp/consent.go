package aspsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"
)

// Consent statuses of an account-access consent: v3.1 names, and the v4.0
// codes that map onto them.
const (
	StatusAwaitingAuthorisation = "AwaitingAuthorisation"
	StatusAuthorised            = "Authorised"
	StatusRejected              = "Rejected"
	StatusRevoked               = "Revoked"
	// StatusExpired exists only in v4.0 (EXPD); a v3.1 bank reports an
	// expired consent as Authorised with a past ExpirationDateTime.
	StatusExpired = "Expired"
)

var consentStatuses = map[string]string{
	StatusAwaitingAuthorisation: StatusAwaitingAuthorisation,
	StatusAuthorised:            StatusAuthorised,
	StatusRejected:              StatusRejected,
	StatusRevoked:               StatusRevoked,
	StatusExpired:               StatusExpired,
	"AWAU":                      StatusAwaitingAuthorisation,
	"AUTH":                      StatusAuthorised,
	"RJCT":                      StatusRejected,
	"CANC":                      StatusRevoked,
	"EXPD":                      StatusExpired,
}

const consentsPath = APIPath + "/account-access-consents"

// ConsentStatus is the state of a consent as the bank reports it.
type ConsentStatus struct {
	ConsentID string
	// Status is a v3.1 name (v4.0 codes are mapped), or the value as sent
	// when it is neither.
	Status  string
	Expires time.Time // zero when the consent has no ExpirationDateTime
}

// CreateConsent registers an account-access consent with the bank and
// returns its ConsentId, which is then AwaitingAuthorisation. Zero
// expires, txFrom or txTo leave the field out: the consent is then
// indefinite or the window unbounded on that side.
func (c *Client) CreateConsent(ctx context.Context, perms []string, expires, txFrom, txTo time.Time) (string, error) {
	if len(perms) == 0 {
		return "", errors.New("create consent: Permissions is empty")
	}
	type consentData struct {
		Permissions             []string `json:"Permissions"`
		ExpirationDateTime      string   `json:"ExpirationDateTime,omitempty"`
		TransactionFromDateTime string   `json:"TransactionFromDateTime,omitempty"`
		TransactionToDateTime   string   `json:"TransactionToDateTime,omitempty"`
	}
	body, err := json.Marshal(map[string]any{
		"Data": consentData{
			Permissions:             perms,
			ExpirationDateTime:      bodyTime(expires),
			TransactionFromDateTime: bodyTime(txFrom),
			TransactionToDateTime:   bodyTime(txTo),
		},
		"Risk": map[string]any{},
	})
	if err != nil {
		return "", fmt.Errorf("create consent: %w", err)
	}

	access, err := c.clientCredentials(ctx)
	if err != nil {
		return "", fmt.Errorf("create consent: %w", err)
	}
	endpoint := c.endpoint(consentsPath)
	resp, err := c.do(ctx, request{method: http.MethodPost, url: endpoint, body: body, bearer: access, fapi: true})
	if err != nil {
		return "", fmt.Errorf("create consent: %w", err)
	}
	if resp.status != http.StatusCreated && resp.status != http.StatusOK {
		return "", fmt.Errorf("create consent: %w", newHTTPError(http.MethodPost, consentsPath, resp.status, resp.body))
	}
	status, err := parseConsent(resp.body)
	if err != nil {
		return "", fmt.Errorf("create consent: POST %s: %w", consentsPath, err)
	}
	return status.ConsentID, nil
}

// GetConsent reads a consent's status from the bank.
func (c *Client) GetConsent(ctx context.Context, consentID string) (ConsentStatus, error) {
	access, err := c.clientCredentials(ctx)
	if err != nil {
		return ConsentStatus{}, fmt.Errorf("get consent: %w", err)
	}
	path := consentsPath + "/" + url.PathEscape(consentID)
	resp, err := c.do(ctx, request{method: http.MethodGet, url: c.endpoint(path), bearer: access, fapi: true, idempotent: true})
	if err != nil {
		return ConsentStatus{}, fmt.Errorf("get consent: %w", err)
	}
	if resp.status != http.StatusOK {
		return ConsentStatus{}, fmt.Errorf("get consent: %w", newHTTPError(http.MethodGet, path, resp.status, resp.body))
	}
	status, err := parseConsent(resp.body)
	if err != nil {
		return ConsentStatus{}, fmt.Errorf("get consent: GET %s: %w", path, err)
	}
	return status, nil
}

// RevokeConsent deletes a consent at the bank, which then refuses every
// read under it. A consent the bank no longer has (404) counts as
// revoked.
func (c *Client) RevokeConsent(ctx context.Context, consentID string) error {
	access, err := c.clientCredentials(ctx)
	if err != nil {
		return fmt.Errorf("revoke consent: %w", err)
	}
	path := consentsPath + "/" + url.PathEscape(consentID)
	resp, err := c.do(ctx, request{method: http.MethodDelete, url: c.endpoint(path), bearer: access, fapi: true, idempotent: true})
	if err != nil {
		return fmt.Errorf("revoke consent: %w", err)
	}
	switch resp.status {
	case http.StatusNoContent, http.StatusOK, http.StatusNotFound:
		return nil
	}
	return fmt.Errorf("revoke consent: %w", newHTTPError(http.MethodDelete, path, resp.status, resp.body))
}

// AuthorizeURL returns the bank's authorisation page for a consent (RFC
// 6749 section 4.1.1). state comes back unchanged on the redirect and ties
// it to this request.
func (c *Client) AuthorizeURL(consentID, state string) string {
	q := url.Values{
		"response_type": {"code"},
		"client_id":     {c.Bank.ClientID},
		"redirect_uri":  {c.Bank.RedirectURI},
		"scope":         {"openid accounts"},
		"state":         {state},
		"consent_id":    {consentID},
	}
	return c.endpoint("/authorize") + "?" + q.Encode()
}

func parseConsent(body []byte) (ConsentStatus, error) {
	var env struct {
		Data struct {
			ConsentID          string `json:"ConsentId"`
			Status             string `json:"Status"`
			ExpirationDateTime string `json:"ExpirationDateTime"`
		} `json:"Data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return ConsentStatus{}, errors.New("consent response is not an OBIE envelope")
	}
	if env.Data.ConsentID == "" {
		return ConsentStatus{}, errors.New("consent response: $.Data.ConsentId is missing")
	}
	out := ConsentStatus{ConsentID: env.Data.ConsentID, Status: env.Data.Status}
	if name, ok := consentStatuses[env.Data.Status]; ok {
		out.Status = name
	}
	if env.Data.ExpirationDateTime != "" {
		t, err := time.Parse(time.RFC3339Nano, env.Data.ExpirationDateTime)
		if err != nil {
			return ConsentStatus{}, errors.New("consent response: $.Data.ExpirationDateTime: want an RFC 3339 date-time")
		}
		out.Expires = t
	}
	return out, nil
}

// bodyTime formats a date-time for a request body, where OBIE requires the
// offset, or "" for the zero time.
func bodyTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
