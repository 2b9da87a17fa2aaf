package obie

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxErrors is the number of problems an ErrorList keeps. A file that is
// wrong throughout, such as one with a decimal comma in every amount, would
// otherwise produce one message per record. The first hundred show the
// pattern, and Omitted counts the rest.
const MaxErrors = 100

// ValidationError is one problem in an input file, located by the file, the
// line where one is known, and the JSON path of the offending value.
//
// Reason never contains a personal value (a name, an address, a description,
// an account number, a birth date). It may quote format-level values such as
// an enum code or a malformed amount or date-time.
type ValidationError struct {
	Source string // file name or other label of the input
	// Line and Column are 1-based. Line is set for syntax errors and for every
	// error in an NDJSON file; Column only for syntax and encoding errors.
	Line   int
	Column int
	// Path is a JSON path such as $.Data.Transaction[3].Amount.Amount. In an
	// NDJSON file it is relative to the object on Line.
	Path   string
	Reason string
	// Err is the class of the problem when callers may treat it apart,
	// such as ErrNegativeDebit, and nil otherwise. Reason alone is the
	// message: Err does not appear in Error().
	Err error
}

// ErrNegativeDebit is the Err of a ValidationError for an Amount with a
// minus sign beside CreditDebitIndicator "Debit". The record is invalid,
// because OBIE amounts are unsigned, but its direction is not in doubt, so
// a caller may set the record aside instead of rejecting its whole input.
// Its sign is never flipped.
var ErrNegativeDebit = errors.New("negative amount beside Debit")

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.Source)
	if e.Line > 0 {
		b.WriteString(":" + strconv.Itoa(e.Line))
		if e.Column > 0 {
			b.WriteString(":" + strconv.Itoa(e.Column))
		}
	}
	if e.Path != "" {
		b.WriteString(": " + e.Path)
	}
	b.WriteString(": " + e.Reason)
	return b.String()
}

// Unwrap returns Err, so errors.Is(e, ErrNegativeDebit) works.
func (e *ValidationError) Unwrap() error { return e.Err }

// ErrorList collects the problems of one file, keeping at most MaxErrors of
// them. Decoding returns it as the error when it holds any.
type ErrorList struct {
	Errors []*ValidationError
	// Omitted is the number of problems found beyond MaxErrors.
	Omitted int
}

// Add records a problem, or counts it in Omitted once the list is full.
func (l *ErrorList) Add(e *ValidationError) {
	if len(l.Errors) >= MaxErrors {
		l.Omitted++
		return
	}
	l.Errors = append(l.Errors, e)
}

// Len returns the number of problems found, kept or omitted.
func (l *ErrorList) Len() int { return len(l.Errors) + l.Omitted }

// Err returns l when it holds a problem and nil otherwise.
func (l *ErrorList) Err() error {
	if l.Len() == 0 {
		return nil
	}
	return l
}

// Error lists every kept problem on its own line.
func (l *ErrorList) Error() string {
	var b strings.Builder
	if l.Len() == 1 {
		b.WriteString("1 validation error")
	} else {
		fmt.Fprintf(&b, "%d validation errors", l.Len())
	}
	for _, e := range l.Errors {
		b.WriteString("\n  " + e.Error())
	}
	if l.Omitted > 0 {
		fmt.Fprintf(&b, "\n  ... and %d more", l.Omitted)
	}
	return b.String()
}

// reporter adds errors located under one record to a list.
type reporter struct {
	list   *ErrorList
	source string
	line   int
}

func (r reporter) add(path jsonPath, format string, args ...any) {
	r.addCause(path, nil, format, args...)
}

// addCause adds a problem whose ValidationError.Err is cause.
func (r reporter) addCause(path jsonPath, cause error, format string, args ...any) {
	r.list.Add(&ValidationError{Source: r.source, Line: r.line, Path: path.String(), Reason: fmt.Sprintf(format, args...), Err: cause})
}
