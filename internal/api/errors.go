package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"

	gqlerrors "github.com/graph-gophers/graphql-go/errors"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// Values of extensions.code in GraphQL errors. Clients branch on them, so
// they never change meaning.
const (
	codeBadRequest       = "BAD_REQUEST"  // an HTTP body that is no GraphQL request
	codeRateLimited      = "RATE_LIMITED" // HTTP 429: the client or address is over its rate limit
	codeBadUserInput     = "BAD_USER_INPUT"
	codeNotFound         = "NOT_FOUND"
	codeUnauthenticated  = "UNAUTHENTICATED"
	codeForbidden        = "FORBIDDEN"
	codeConflict         = "CONFLICT"
	codeUnavailable      = "UNAVAILABLE"
	codeInternal         = "INTERNAL"
	codeParseFailed      = "GRAPHQL_PARSE_FAILED"
	codeValidationFailed = "GRAPHQL_VALIDATION_FAILED"
)

// Keys of GraphQL error extensions, and the message of every INTERNAL error.
const (
	extensionCodeKey      = "code"
	extensionRequestIDKey = "requestId"
	internalMessage       = "internal error"
	// storageUnavailableMessage is the message of UNAVAILABLE errors
	// caused by storage; the cause is logged, not sent.
	storageUnavailableMessage = "storage is unavailable; try again later"
)

// extensionCodes maps the application error codes onto extensions.code. It
// is the one place where the two vocabularies meet.
var extensionCodes = map[string]string{
	insights.ErrInvalid:      codeBadUserInput,
	insights.ErrNotFound:     codeNotFound,
	insights.ErrUnauthorized: codeUnauthenticated,
	insights.ErrForbidden:    codeForbidden,
	insights.ErrConflict:     codeConflict,
	insights.ErrUnavailable:  codeUnavailable,
}

// resolverError is an error a resolver returns to the client. graphql-go
// copies Error() into the message and Extensions() into extensions.
type resolverError struct {
	code      string
	message   string
	requestID string
}

func (e *resolverError) Error() string { return e.message }

// Extensions returns the GraphQL error extensions: the code, and for
// internal errors the request ID that finds the logged cause.
func (e *resolverError) Extensions() map[string]any {
	ext := map[string]any{extensionCodeKey: e.code}
	if e.requestID != "" {
		ext[extensionRequestIDKey] = e.requestID
	}
	return ext
}

// toGraphQLError translates an error of the consent service into the error
// returned to the client. An *insights.Error keeps its safe message. Any
// other error becomes INTERNAL with a generic message, and its cause is
// logged with the request ID. The log level follows blame: caller mistakes at
// debug, refusals at info, server faults at error.
func toGraphQLError(ctx context.Context, operation string, err error) error {
	logger := loggerFrom(ctx).With("operation", operation)
	code, known := extensionCodes[insights.ErrorCode(err)]
	if !known && errors.Is(err, store.ErrUnavailable) {
		// A storage engine that cannot be reached is a temporary
		// condition the client may retry, not an internal fault.
		logger.ErrorContext(ctx, "storage unavailable", "err", err)
		return &resolverError{code: codeUnavailable, message: storageUnavailableMessage, requestID: requestIDFrom(ctx)}
	}
	switch {
	case !known:
		logger.ErrorContext(ctx, "resolver failed", "err", err)
		return &resolverError{code: codeInternal, message: internalMessage, requestID: requestIDFrom(ctx)}
	case code == codeUnavailable:
		logger.ErrorContext(ctx, "dependency unavailable", "err", err)
		return &resolverError{code: code, message: insights.ErrorMessage(err), requestID: requestIDFrom(ctx)}
	case code == codeForbidden || code == codeConflict:
		logger.InfoContext(ctx, "request refused", "code", code, "err", err)
	default:
		logger.DebugContext(ctx, "request rejected", "code", code, "err", err)
	}
	return &resolverError{code: code, message: insights.ErrorMessage(err)}
}

// addErrorCodes gives an extensions.code to the errors graphql-go raises
// itself (syntax, validation, variable coercion), which have none.
func addErrorCodes(errs []*gqlerrors.QueryError) {
	for _, e := range errs {
		if _, ok := e.Extensions[extensionCodeKey]; ok {
			continue
		}
		if e.Extensions == nil {
			e.Extensions = map[string]any{}
		}
		if errors.Is(e.Err, gqlerrors.ErrSyntax) {
			e.Extensions[extensionCodeKey] = codeParseFailed
		} else {
			e.Extensions[extensionCodeKey] = codeValidationFailed
		}
	}
}

// panicLogger logs a resolver panic with its stack. graphql-go's default
// logger would print the whole context, so it is replaced.
type panicLogger struct{ logger *slog.Logger }

func (l panicLogger) LogPanic(ctx context.Context, value any) {
	l.logger.ErrorContext(ctx, "resolver panicked", "request_id", requestIDFrom(ctx),
		"panic", fmt.Sprint(value), "stack", string(debug.Stack()))
}

// panicHandler turns a resolver panic into an INTERNAL error without the
// panic value, which may hold internal detail.
type panicHandler struct{}

func (panicHandler) MakePanicError(ctx context.Context, _ any) *gqlerrors.QueryError {
	return &gqlerrors.QueryError{
		Message: internalMessage,
		Extensions: map[string]any{
			extensionCodeKey:      codeInternal,
			extensionRequestIDKey: requestIDFrom(ctx),
		},
	}
}
