package obie

import (
	"bytes"
	"encoding/json"
	"reflect"

	gojson "github.com/goccy/go-json"
)

// unmarshal decodes data into v with goccy/go-json, which decodes OBIE
// records about six times faster than encoding/json. When goccy/go-json
// fails, v is reset and decoded again by encoding/json, so every error
// a caller sees, and everything it reports, is the one encoding/json
// gives. Both libraries accept the same inputs; TestUnmarshal_agrees
// compares them on malformed and unusual JSON.
func unmarshal(data []byte, v any) error {
	if err := gojson.Unmarshal(data, v); err == nil {
		return nil
	}
	reflect.ValueOf(v).Elem().SetZero()
	return json.Unmarshal(data, v)
}

// validJSON reports whether data is one well-formed JSON value.
func validJSON(data []byte) bool {
	return gojson.Valid(data)
}

// fastLines turns on the fast path of LineDecoder.Decode; tests turn it
// off to compare both paths.
var fastLines = true

// Paths of the record of an NDJSON line, by resource.
var linePaths = map[string]jsonPath{
	ResourceAccount:     pathOf("$." + ResourceAccount),
	ResourceBalance:     pathOf("$." + ResourceBalance),
	ResourceTransaction: pathOf("$." + ResourceTransaction),
	ResourceParty:       pathOf("$." + ResourceParty),
}

// transactionLinePath is the path of a transaction record, which addScanned
// takes from here for every line instead of looking it up in linePaths.
var transactionLinePath = linePaths[ResourceTransaction]

// splitLine returns the resource name and the record of an NDJSON line
// of the common form {"Transaction":{...}}: one key, spelled without
// escapes, whose value is an object. ok is false for any other line,
// which the caller then decodes in full. The record is not checked here:
// the line is one well-formed object with exactly one key only when the
// record itself decodes as one JSON value.
func splitLine(line []byte) (name string, record []byte, ok bool) {
	line = trimJSONSpace(line)
	if len(line) < 2 || line[0] != '{' || line[len(line)-1] != '}' {
		return "", nil, false
	}
	rest := trimJSONSpace(line[1 : len(line)-1])
	if len(rest) == 0 || rest[0] != '"' {
		return "", nil, false
	}
	end := bytes.IndexByte(rest[1:], '"')
	if end < 0 {
		return "", nil, false
	}
	key := rest[1 : 1+end]
	switch string(key) {
	case ResourceAccount:
		name = ResourceAccount
	case ResourceBalance:
		name = ResourceBalance
	case ResourceTransaction:
		name = ResourceTransaction
	case ResourceParty:
		name = ResourceParty
	default:
		return "", nil, false
	}
	rest = trimJSONSpace(rest[2+end:])
	if len(rest) == 0 || rest[0] != ':' {
		return "", nil, false
	}
	record = trimJSONSpace(rest[1:])
	if len(record) == 0 || record[0] != '{' {
		return "", nil, false
	}
	return name, record, true
}

// trimJSONSpace returns b without the white space that JSON allows
// between tokens at its ends. bytes.TrimSpace would also remove Unicode
// spaces such as U+00A0, which make a line invalid JSON, and bytes.Trim
// builds a set of the bytes to cut at every call.
func trimJSONSpace(b []byte) []byte {
	for len(b) > 0 && isJSONSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isJSONSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func isJSONSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// addScanned appends the transaction of a record that splitLine found,
// validated, when scanTransaction takes the record, and reports whether
// it did. Otherwise it appends nothing.
func (p *Payload) addScanned(v *validator, orders *keyOrders, record []byte) bool {
	p.Transactions = append(p.Transactions, Transaction{})
	p.parts = append(p.parts, transactionParts{})
	rec := &p.Transactions[len(p.Transactions)-1]
	if !scanTransaction(record, rec, &p.parts[len(p.parts)-1], orders) {
		*rec = Transaction{}
		p.Transactions = p.Transactions[:len(p.Transactions)-1]
		p.parts = p.parts[:len(p.parts)-1]
		return false
	}
	v.transaction(transactionLinePath, rec)
	return true
}

// addFast decodes a record that splitLine found with goccy/go-json,
// validates it and appends it to p. A transaction record gets here only
// when addScanned did not take it. When goccy/go-json cannot decode the
// record, it returns false and has reported and appended nothing. The
// caller then decodes the line with encoding/json, which locates the
// problem.
func (p *Payload) addFast(v *validator, name string, record []byte) bool {
	path := linePaths[name]
	switch name {
	case ResourceAccount:
		var rec Account
		if gojson.Unmarshal(record, &rec) != nil {
			return false
		}
		v.account(path, &rec)
		p.Accounts = append(p.Accounts, rec)
	case ResourceBalance:
		var rec Balance
		if gojson.Unmarshal(record, &rec) != nil {
			return false
		}
		v.balance(path, &rec)
		p.Balances = append(p.Balances, rec)
	case ResourceTransaction:
		p.Transactions = append(p.Transactions, Transaction{})
		rec := &p.Transactions[len(p.Transactions)-1]
		if gojson.Unmarshal(record, rec) != nil {
			p.Transactions = p.Transactions[:len(p.Transactions)-1]
			return false
		}
		v.transaction(path, rec)
	case ResourceParty:
		var rec Party
		if gojson.Unmarshal(record, &rec) != nil {
			return false
		}
		v.party(path, &rec)
		p.Parties = append(p.Parties, rec)
	}
	return true
}
