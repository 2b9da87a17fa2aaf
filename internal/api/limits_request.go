package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	gqlerrors "github.com/graph-gophers/graphql-go/errors"
)

// wireGraphQLRequest is the JSON body as read, with the variables kept as
// text so that their size is checked before they are decoded.
type wireGraphQLRequest struct {
	Query         string          `json:"query"`
	OperationName string          `json:"operationName"`
	Variables     json.RawMessage `json:"variables"`
	Extensions    map[string]any  `json:"extensions"`
}

// request checks the limits on the variables and the query member and
// returns the decoded request, or a non-zero status and a message.
func (w wireGraphQLRequest) request(limits Limits) (graphqlRequest, int, string) {
	body := graphqlRequest{Query: w.Query, OperationName: w.OperationName, Extensions: w.Extensions}
	if len(w.Variables) > limits.MaxVariablesBytes {
		return body, http.StatusRequestEntityTooLarge,
			fmt.Sprintf("variables are %d bytes, over the limit of %s", len(w.Variables), byteSize(int64(limits.MaxVariablesBytes)))
	}
	if len(w.Variables) > 0 && !bytes.Equal(w.Variables, []byte("null")) {
		if w.Variables[0] != '{' {
			return body, http.StatusBadRequest, "request body is not a valid GraphQL request object: variables must be a JSON object or null"
		}
		if err := json.Unmarshal(w.Variables, &body.Variables); err != nil {
			return body, http.StatusBadRequest, "request body is not a valid GraphQL request object: variables: " + err.Error()
		}
	}
	if body.Query == "" {
		return body, http.StatusBadRequest, "missing query: the JSON body must have a non-empty query member"
	}
	return body, 0, ""
}

// byteSize formats a limit in bytes for messages: "1 MiB", "64 KiB" or
// "300 bytes".
func byteSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// checkCost returns the response that rejects an operation over the cost
// limit, or one that selects __schema or __type while introspection is
// disabled, and nil for any other operation. The errors have the code of
// graphql-go's own validation errors, GRAPHQL_VALIDATION_FAILED.
func (h *graphqlHandler) checkCost(ctx context.Context, body graphqlRequest) *graphql.Response {
	cost, introspects, err := h.costs.queryCost(body.Query, body.OperationName)
	if err != nil {
		return nil // graphql-go reports the syntax error
	}
	var message string
	switch {
	case introspects && h.limits.DisableIntrospection:
		message = "introspection is disabled on this server: read the schema from the API documentation"
	case cost > h.limits.MaxCost:
		message = fmt.Sprintf("query cost %d exceeds the limit of %d. Each field costs 1 and a list field multiplies the cost of its selection by %d. Split the query or select fewer fields",
			cost, h.limits.MaxCost, listCost)
	default:
		return nil
	}
	loggerFrom(ctx).DebugContext(ctx, "graphql request rejected before execution", "cost", cost, "introspection", introspects)
	return &graphql.Response{Errors: []*gqlerrors.QueryError{{
		Message:    message,
		Extensions: map[string]any{extensionCodeKey: codeValidationFailed},
	}}}
}

// timeoutResponse replaces the result of an operation that ran out of time:
// its partial data may miss fields without an error saying so.
func timeoutResponse(ctx context.Context, timeout time.Duration) *graphql.Response {
	loggerFrom(ctx).ErrorContext(ctx, "graphql request timed out", "timeout", timeout)
	return &graphql.Response{Errors: []*gqlerrors.QueryError{{
		Message: fmt.Sprintf("the operation did not finish within %s; try again later", timeout),
		Extensions: map[string]any{
			extensionCodeKey:      codeUnavailable,
			extensionRequestIDKey: requestIDFrom(ctx),
		},
	}}}
}

// unavailableRetryAfter is the Retry-After, in seconds, of a 503 response.
const unavailableRetryAfter = "5"

// allUnavailable reports whether errs is not empty and every error in it
// has the code UNAVAILABLE.
func allUnavailable(errs []*gqlerrors.QueryError) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if e.Extensions[extensionCodeKey] != codeUnavailable {
			return false
		}
	}
	return true
}
