package bank

import (
	"encoding/json"
	"net/http"
	"strconv"
)

// OBIE v3.1 error codes (OBErrorResponseError1Code) that this bank sends.
const (
	codeFieldInvalid          = "UK.OBIE.Field.Invalid"
	codeFieldInvalidDate      = "UK.OBIE.Field.InvalidDate"
	codeFieldMissing          = "UK.OBIE.Field.Missing"
	codeHeaderInvalid         = "UK.OBIE.Header.Invalid"
	codeHeaderMissing         = "UK.OBIE.Header.Missing"
	codeResourceNotFound      = "UK.OBIE.Resource.NotFound"
	codeConsentMismatch       = "UK.OBIE.Resource.ConsentMismatch"
	codeInvalidConsentStatus  = "UK.OBIE.Resource.InvalidConsentStatus"
	codeResourceInvalidFormat = "UK.OBIE.Resource.InvalidFormat"
	codeUnexpectedError       = "UK.OBIE.UnexpectedError"
)

// obError is one entry of OBErrorResponse1.Errors. Path is the JSON path or
// the header or query parameter at fault.
type obError struct {
	ErrorCode string `json:"ErrorCode"`
	Message   string `json:"Message"`
	Path      string `json:"Path,omitempty"`
}

// obErrorResponse is OBErrorResponse1: Code is the HTTP status and its
// reason phrase, Id the x-fapi-interaction-id of the request.
type obErrorResponse struct {
	Code    string    `json:"Code"`
	ID      string    `json:"Id"`
	Message string    `json:"Message"`
	Errors  []obError `json:"Errors"`
}

// writeError sends an OBIE error body. Messages name fields and rules and
// never contain a customer's data.
func writeError(w http.ResponseWriter, status int, message string, errs ...obError) {
	body := obErrorResponse{
		Code:    strconv.Itoa(status) + " " + http.StatusText(status),
		ID:      w.Header().Get(headerInteractionID),
		Message: message,
		Errors:  errs,
	}
	writeJSON(w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	data, err := json.Marshal(body)
	if err != nil {
		http.Error(w, "failed to encode response", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(data)
}

// writeUnauthorized sends 401 for a missing, unknown or expired bearer
// token, with the WWW-Authenticate challenge of RFC 6750 section 3.
func writeUnauthorized(w http.ResponseWriter, reason string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+reason+`"`)
	writeError(w, http.StatusUnauthorized, "Unauthorized.", obError{ErrorCode: codeHeaderInvalid, Message: reason, Path: "Authorization"})
}

// unexpected logs err, a fault of the bank's own data, and returns a 500
// whose body carries none of its text.
func (b *Bank) unexpected(err error) *apiError {
	b.log.Error("serve read failed", "error", err)
	return &apiError{status: http.StatusInternalServerError, message: "Internal error.",
		errs: []obError{{ErrorCode: codeUnexpectedError, Message: "the bank could not read its stored data"}}}
}
