package obie

import (
	"encoding/json"
	"errors"
	"strings"
)

// QuarantinedRecord is a record that DecodeEnvelopeQuarantine left out of
// the payload because its only problems are ErrNegativeDebit ones.
type QuarantinedRecord struct {
	Resource string // Account, Balance, Transaction or Party
	// Path is the JSON path of the record, such as $.Data.Transaction[3].
	Path string
	// Errors are the record's problems, every one an ErrNegativeDebit.
	Errors []*ValidationError
	// Record is the record as the input sent it.
	Record json.RawMessage
}

// Reason returns the record's problems as one line, each as its JSON path
// and reason. Like ValidationError.Reason, it contains no personal value.
func (q *QuarantinedRecord) Reason() string {
	parts := make([]string, len(q.Errors))
	for i, e := range q.Errors {
		parts[i] = e.Path + ": " + e.Reason
	}
	return strings.Join(parts, "; ")
}

// DecodeEnvelopeQuarantine decodes and validates like DecodeEnvelope, but
// sets aside each record whose only problems are an Amount with a minus
// sign beside CreditDebitIndicator "Debit" (ErrNegativeDebit). When every
// problem of the envelope is of that kind, it returns the payload without
// those records and the records themselves. Any other problem rejects the
// envelope as DecodeEnvelope does: the error is then an *ErrorList with
// every problem, the negative debits included.
//
// The sign of a quarantined amount is never flipped: the record stays out
// of the payload.
func (d Decoder) DecodeEnvelopeQuarantine(source string, data []byte) (*Payload, []QuarantinedRecord, error) {
	return d.decodeEnvelope(source, data, true)
}

// addOrQuarantine validates one record of an envelope against a list of
// its own. A valid record is appended to p. A record whose problems are all
// ErrNegativeDebit is returned with ok set, and p is left unchanged. The
// problems of an invalid record, of any kind, are copied to list.
func addOrQuarantine(v *validator, list *ErrorList, p *Payload, name string, path jsonPath, raw json.RawMessage) (q QuarantinedRecord, ok bool) {
	scratch := &ErrorList{}
	outer := v.reporter
	v.reporter = reporter{list: scratch, source: outer.source, line: outer.line}
	saved := *p
	p.add(v, name, path, raw)
	v.reporter = outer

	if scratch.Len() == 0 {
		return QuarantinedRecord{}, false
	}
	for _, e := range scratch.Errors {
		list.Add(e)
	}
	list.Omitted += scratch.Omitted

	*p = saved
	if scratch.Omitted > 0 {
		return QuarantinedRecord{}, false
	}
	for _, e := range scratch.Errors {
		if !errors.Is(e, ErrNegativeDebit) {
			return QuarantinedRecord{}, false
		}
	}
	return QuarantinedRecord{Resource: name, Path: path.String(), Errors: scratch.Errors, Record: raw}, true
}
