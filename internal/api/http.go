package api

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// graphqlHandler serves POST /graphql. It follows the GraphQL over HTTP
// convention: the body is a JSON object with query, operationName and
// variables, and a request that reaches execution gets 200 with a JSON body
// of data and errors. A body the handler cannot read gets a 4xx status with
// a JSON body in the same shape, holding one error.
type graphqlHandler struct {
	schema  *graphql.Schema
	consent Consent
	logger  *slog.Logger
	limits  Limits
	costs   *costChecker
	// rateLimiter is nil when no rate limit is configured.
	rateLimiter *RateLimiter
}

// graphqlRequest is the JSON body of a GraphQL request. The optional
// extensions member is accepted and ignored.
type graphqlRequest struct {
	Query         string         `json:"query"`
	OperationName string         `json:"operationName"`
	Variables     map[string]any `json:"variables"`
	Extensions    map[string]any `json:"extensions"`
}

func (h *graphqlHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	state := newRequestState(r, h.consent, h.logger)
	ctx := withRequestState(r.Context(), state)
	w.Header().Set("X-Request-Id", state.id)
	if !h.limitGraphQL(ctx, w, r) {
		return
	}

	// Read the body.
	if status, message := checkContentType(r.Header.Get("Content-Type")); status != 0 {
		writeRequestError(ctx, w, status, message)
		return
	}
	body, status, message := decodeGraphQLRequest(w, r, h.limits)
	if status != 0 {
		writeRequestError(ctx, w, status, message)
		return
	}
	if resp := h.checkCost(ctx, body); resp != nil {
		writeJSON(ctx, w, http.StatusOK, "application/json", resp)
		return
	}
	release, admitted := admitGraphQL(ctx, w, r, body)
	if !admitted {
		return
	}
	defer release()

	// Run the operation.
	start := time.Now()
	execCtx, cancel := context.WithTimeout(ctx, h.limits.Timeout)
	defer cancel()
	resp := h.schema.Exec(execCtx, body.Query, body.OperationName, body.Variables)
	if errors.Is(execCtx.Err(), context.DeadlineExceeded) {
		resp = timeoutResponse(ctx, h.limits.Timeout)
	}
	addErrorCodes(resp.Errors)
	state.logger.DebugContext(ctx, "graphql request served", "operation_name", body.OperationName,
		"errors", len(resp.Errors), "duration", time.Since(start))
	status = http.StatusOK
	if allUnavailable(resp.Errors) {
		// Every failure is temporary, so load balancers and clients see
		// 503 and when to retry; the body is the usual GraphQL response.
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", unavailableRetryAfter)
	}
	writeJSON(ctx, w, status, "application/json", resp)
}

// checkContentType accepts application/json with an optional charset of
// UTF-8, the only encoding JSON allows on the wire (RFC 8259 section 8.1).
func checkContentType(header string) (status int, message string) {
	const want = "the Content-Type must be application/json"
	if header == "" {
		return http.StatusUnsupportedMediaType, "missing Content-Type: " + want
	}
	mediaType, params, err := mime.ParseMediaType(header)
	if err != nil || mediaType != "application/json" {
		return http.StatusUnsupportedMediaType, "unsupported Content-Type: " + want
	}
	if charset, ok := params["charset"]; ok && !strings.EqualFold(charset, "utf-8") {
		return http.StatusUnsupportedMediaType, "unsupported charset: JSON must be encoded as utf-8"
	}
	return 0, ""
}

// decodeGraphQLRequest reads one JSON object of at most
// limits.MaxBodyBytes, whose variables take at most
// limits.MaxVariablesBytes. It returns a non-zero status and a message for
// the client when it cannot.
func decodeGraphQLRequest(w http.ResponseWriter, r *http.Request, limits Limits) (graphqlRequest, int, string) {
	var body graphqlRequest
	var wire wireGraphQLRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limits.MaxBodyBytes))
	err := dec.Decode(&wire)
	if err == nil {
		// Exactly one value: anything after it but white space is an error.
		err = dec.Decode(&struct{}{})
		if err == io.EOF {
			err = nil
		} else if err == nil {
			err = errors.New("more than one JSON value")
		}
	}

	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return body, http.StatusRequestEntityTooLarge, "request body is larger than " + byteSize(limits.MaxBodyBytes)
	case errors.Is(err, io.EOF):
		return body, http.StatusBadRequest, "empty request body: send a JSON object with a query member"
	case err != nil:
		return body, http.StatusBadRequest, "request body is not a valid GraphQL request object: " + err.Error()
	}
	return wire.request(limits)
}

// writeRequestError writes an HTTP-level error in the shape of a GraphQL
// response, so that clients parse every failure the same way.
func writeRequestError(ctx context.Context, w http.ResponseWriter, status int, message string) {
	writeRequestErrorCode(ctx, w, status, codeBadRequest, message)
}

// writeRequestErrorCode is writeRequestError with an extensions.code other
// than BAD_REQUEST.
func writeRequestErrorCode(ctx context.Context, w http.ResponseWriter, status int, code, message string) {
	loggerFrom(ctx).DebugContext(ctx, "graphql request rejected", "status", status, "reason", message)
	body := map[string]any{"errors": []map[string]any{{
		"message":    message,
		"extensions": map[string]any{extensionCodeKey: code},
	}}}
	writeJSON(ctx, w, status, "application/json", body)
}

// writeJSON encodes v as the response body.
func writeJSON(ctx context.Context, w http.ResponseWriter, status int, contentType string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		loggerFrom(ctx).ErrorContext(ctx, "failed to encode response", "err", err)
		http.Error(w, internalMessage, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	if _, err := w.Write(data); err != nil {
		loggerFrom(ctx).DebugContext(ctx, "failed to write response", "err", err)
	}
}

// jwksHandler serves GET /.well-known/jwks.json, the public keys verifiers
// use to check token signatures. The media type is the one RFC 7517 section
// 8.5 registers for a JWK set.
type jwksHandler struct {
	jwks   func() ([]byte, error)
	logger *slog.Logger
}

func (h *jwksHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	set, err := h.jwks()
	if err != nil {
		h.logger.ErrorContext(r.Context(), "failed to read JWK set", "err", err)
		http.Error(w, internalMessage, http.StatusInternalServerError)
		return
	}

	// NOTE: verifiers may cache the set for five minutes, so a new signing
	// key must be published at least that long before it signs a token.
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(set)
}

// healthHandler serves GET /healthz for load balancers and orchestrators.
type healthHandler struct {
	health func(ctx context.Context) error
	logger *slog.Logger
}

func (h *healthHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	if h.health != nil {
		if err := h.health(ctx); err != nil {
			h.logger.ErrorContext(ctx, "health check failed", "err", err)
			writeJSON(ctx, w, http.StatusServiceUnavailable, "application/json", map[string]string{"status": "unavailable"})
			return
		}
	}
	writeJSON(ctx, w, http.StatusOK, "application/json", map[string]string{"status": "ok"})
}

// statusListHandler serves GET /statuslists/{id}: the Status List Token of
// one list (draft-ietf-oauth-status-list), with the media type the draft
// registers. Verifiers may cache it for its ttl, which Cache-Control states.
type statusListHandler struct {
	token  func(ctx context.Context, id string) (string, time.Duration, error)
	logger *slog.Logger
}

func (h *statusListHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	id := r.PathValue("id")
	if len(id) > maxIDBytes {
		http.NotFound(w, r)
		return
	}
	token, ttl, err := h.token(ctx, id)
	switch {
	case insights.ErrorCode(err) == insights.ErrNotFound:
		h.logger.DebugContext(ctx, "status list not found", "list_id", id)
		http.NotFound(w, r)
		return
	case err != nil:
		h.logger.ErrorContext(ctx, "failed to build status list token", "list_id", id, "err", err)
		http.Error(w, internalMessage, http.StatusInternalServerError)
		return
	}

	w.Header().Set("Content-Type", attest.StatusListMediaType)
	w.Header().Set("Cache-Control", "public, max-age="+strconv.Itoa(int(ttl/time.Second)))
	_, _ = io.WriteString(w, token)
}
