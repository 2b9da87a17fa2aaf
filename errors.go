package insights

import (
	"errors"
	"fmt"
)

// Error codes of the application error. They are stable: the API returns
// them to clients as extensions.code.
const (
	ErrInvalid      = "invalid"      // the caller's input is wrong
	ErrNotFound     = "not_found"    // no such object, or not the caller's
	ErrUnauthorized = "unauthorized" // no or bad credentials
	ErrForbidden    = "forbidden"    // authenticated but not allowed
	ErrConflict     = "conflict"     // the object's state does not allow it
	ErrUnavailable  = "unavailable"  // a dependency such as storage is down
	ErrInternal     = "internal"     // anything else; details are logged only
)

// Error is an application error whose Message is safe to show to the caller.
// Any other error reaching the API edge is reported as ErrInternal.
type Error struct {
	Code    string
	Message string
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Errorf returns an *Error with the given code and formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for nil,
// and ErrInternal for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ErrInternal
}

// ErrorMessage returns the safe message of the first *Error in err's chain,
// and a generic message for any other error.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return "internal error"
}
