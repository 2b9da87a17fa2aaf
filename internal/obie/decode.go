package obie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	insights "github.com/openbanking-insights/insights"
)

// Resource names, as they appear as keys of Data in a response envelope and
// as the single key of an NDJSON line.
const (
	ResourceAccount     = "Account"
	ResourceBalance     = "Balance"
	ResourceTransaction = "Transaction"
	ResourceParty       = "Party"
)

// Payload holds the validated records of one input file.
type Payload struct {
	Accounts     []Account
	Balances     []Balance
	Transactions []Transaction
	Parties      []Party
	// parts holds the nested records (amounts, codes, merchant details)
	// of the transactions that LineDecoder scanned, so that a Payload
	// reused through Reset allocates none for them.
	parts []transactionParts
}

// Reset empties p for the records of the next decode and keeps its memory.
// Those records reuse the memory of the records p held, so none of these
// may be used after Reset.
func (p *Payload) Reset() {
	p.Accounts, p.Balances = p.Accounts[:0], p.Balances[:0]
	p.Transactions, p.Parties = p.Transactions[:0], p.Parties[:0]
	p.parts = p.parts[:0]
}

// Decoder decodes and validates OBIE files. The zero Decoder reads
// date-times without an offset in Europe/London and checks birth dates
// against the current day.
type Decoder struct {
	// Local is the zone of date-times sent without an offset; nil means
	// London.
	Local *time.Location
	// Now returns the current time; nil means time.Now. A birth date after
	// Now's day in Local is invalid.
	Now func() time.Time
}

// Decode decodes data by the file name in source: NDJSON when it ends in
// ".ndjson", otherwise one JSON response envelope.
func (d Decoder) Decode(source string, data []byte) (*Payload, error) {
	if strings.EqualFold(filepath.Ext(source), ".ndjson") {
		return d.DecodeNDJSON(source, data)
	}
	return d.DecodeEnvelope(source, data)
}

// DecodeEnvelope decodes one OBIE response {"Data": {...}, "Links": {...},
// "Meta": {...}} whose Data holds Account, Balance, Transaction or Party
// records, and validates every record. Links and Meta are not read.
//
// Account and Transaction must be arrays. Party may be an object (GET
// /party) or an array (GET /parties). Balance is an array in the schema,
// but OBIE's single-account examples send one object, so an object is read
// as an array of one.
//
// The error, when not nil, is an *ErrorList holding every problem found.
func (d Decoder) DecodeEnvelope(source string, data []byte) (*Payload, error) {
	payload, _, err := d.decodeEnvelope(source, data, false)
	return payload, err
}

// decodeEnvelope does the work of DecodeEnvelope. With quarantine set, a
// record whose every problem is an ErrNegativeDebit is left out of the
// payload and returned as a QuarantinedRecord, as long as the envelope has
// no other problem.
func (d Decoder) decodeEnvelope(source string, data []byte, quarantine bool) (*Payload, []QuarantinedRecord, error) {
	list := &ErrorList{}
	r := reporter{list: list, source: source}
	if !checkEncoding(r, data, 0) || !checkSyntax(r, data, 0) {
		return nil, nil, list
	}

	var top map[string]json.RawMessage
	if err := unmarshal(data, &top); err != nil {
		r.add(pathOf("$"), "want a JSON object holding Data")
		return nil, nil, list
	}
	rawData, ok := top["Data"]
	if !ok || isNull(rawData) {
		r.add(pathOf("$.Data"), "missing required field")
		return nil, nil, list
	}
	var resources map[string]json.RawMessage
	if err := unmarshal(rawData, &resources); err != nil {
		r.add(pathOf("$.Data"), "want an object")
		return nil, nil, list
	}

	payload := &Payload{}
	v := d.validator(r)
	found := false
	var quarantined []QuarantinedRecord
	negativeDebits := 0 // problems in list that belong to quarantined records
	for _, name := range []string{ResourceAccount, ResourceBalance, ResourceTransaction, ResourceParty} {
		raw, ok := resources[name]
		if !ok || isNull(raw) {
			continue
		}
		found = true
		path := "$.Data." + name
		items, ok := splitRecords(name, raw)
		if !ok {
			r.add(pathOf(path), "want an array")
			continue
		}
		for i, item := range items {
			itemPath := elemPath(path, i)
			if !quarantine {
				payload.add(v, name, itemPath, item)
				continue
			}
			if q, ok := addOrQuarantine(v, list, payload, name, itemPath, item); ok {
				quarantined = append(quarantined, q)
				negativeDebits += len(q.Errors)
			}
		}
	}
	if !found {
		r.add(pathOf("$.Data"), "holds none of Account, Balance, Transaction, Party")
	}
	// Any other problem rejects the whole envelope, and the error then
	// lists the negative debits too, in the order they were found.
	if list.Len() > negativeDebits {
		return nil, nil, list
	}
	return payload, quarantined, nil
}

// DecodeNDJSON decodes newline-delimited JSON: each line one object with
// exactly one key naming the resource, such as {"Transaction": {...}}.
// Blank lines are skipped. Errors carry the line number and a path relative
// to the line's object.
//
// The error, when not nil, is an *ErrorList holding every problem found.
func (d Decoder) DecodeNDJSON(source string, data []byte) (*Payload, error) {
	lines := d.NewLineDecoder(source)
	payload := &Payload{}
	for i, line := range bytes.Split(data, []byte("\n")) {
		lines.Decode(i+1, line, payload)
	}
	if err := lines.Errors.Err(); err != nil {
		return nil, err
	}
	return payload, nil
}

// LineDecoder decodes an NDJSON file one line at a time, so a caller can
// stream a file of any size: it keeps only the problems found, in Errors.
type LineDecoder struct {
	// Errors collects the problems of every line decoded so far.
	Errors *ErrorList
	source string
	v      *validator
	orders keyOrders // the order of the keys in the file's records
}

// NewLineDecoder returns a LineDecoder for the NDJSON file named source.
func (d Decoder) NewLineDecoder(source string) *LineDecoder {
	list := &ErrorList{}
	return &LineDecoder{Errors: list, source: source, v: d.validator(reporter{list: list, source: source})}
}

// Decode decodes and validates line number lineNo (1-based) and appends
// its record to p. It returns false, and appends nothing, when the line
// holds a problem; the problem goes to Errors. A blank line returns true.
func (ld *LineDecoder) Decode(lineNo int, line []byte, p *Payload) bool {
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(bytes.TrimSpace(line)) == 0 {
		return true
	}
	before := ld.Errors.Len()
	r := reporter{list: ld.Errors, source: ld.source, line: lineNo}
	ld.v.reporter = r
	// Most transaction lines take the fastest path, scanTransaction.
	// splitLine takes only ASCII around a record and scanTransaction only
	// valid UTF-8, so such a line needs no encoding check.
	name, record, split := splitLine(line)
	split = split && fastLines
	if split && name == ResourceTransaction && p.addScanned(ld.v, &ld.orders, record) {
		return ld.Errors.Len() == before || ld.dropLast(p, name)
	}
	if !checkEncoding(r, line, lineNo-1) {
		return false
	}

	// Most other lines take the fast path: one decode with goccy/go-json.
	// A line it does not take, or whose record goccy/go-json cannot
	// decode, is decoded again below, where encoding/json locates the
	// problem.
	if split && p.addFast(ld.v, name, record) {
		return ld.Errors.Len() == before || ld.dropLast(p, name)
	}

	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		// Locate a syntax error by line and column; anything else is a
		// value that is not an object.
		if checkSyntax(r, line, lineNo-1) {
			r.add(pathOf("$"), "want a JSON object with one key: Account, Balance, Transaction or Party")
		}
		return false
	}
	if len(obj) != 1 {
		r.add(pathOf("$"), "want exactly one key, Account, Balance, Transaction or Party; found %d", len(obj))
		return false
	}

	// The record is appended before validation, so it is taken back when
	// validation found a problem.
	saved := *p
	for name, raw := range obj {
		switch name {
		case ResourceAccount, ResourceBalance, ResourceTransaction, ResourceParty:
			p.add(ld.v, name, pathOf("$."+name), raw)
		default:
			r.add(pathOf("$"), "unknown resource %s: want Account, Balance, Transaction or Party", quote(name))
		}
	}
	if ld.Errors.Len() != before {
		*p = saved
		return false
	}
	return true
}

// dropLast takes back the record of resource name that addFast appended
// when validation found a problem in it, and returns false.
func (ld *LineDecoder) dropLast(p *Payload, name string) bool {
	switch name {
	case ResourceAccount:
		p.Accounts = p.Accounts[:len(p.Accounts)-1]
	case ResourceBalance:
		p.Balances = p.Balances[:len(p.Balances)-1]
	case ResourceTransaction:
		p.Transactions = p.Transactions[:len(p.Transactions)-1]
	case ResourceParty:
		p.Parties = p.Parties[:len(p.Parties)-1]
	}
	return false
}

func (d Decoder) validator(r reporter) *validator {
	local := d.Local
	if local == nil {
		local = London
	}
	now := time.Now
	if d.Now != nil {
		now = d.Now
	}
	return &validator{reporter: r, local: local, today: insights.DateOf(now().In(local))}
}

// add decodes one record of resource name found at path, validates it, and
// appends it to p.
func (p *Payload) add(v *validator, name string, path jsonPath, raw json.RawMessage) {
	switch name {
	case ResourceAccount:
		var rec Account
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.account(path, &rec)
			p.Accounts = append(p.Accounts, rec)
		}
	case ResourceBalance:
		var rec Balance
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.balance(path, &rec)
			p.Balances = append(p.Balances, rec)
		}
	case ResourceTransaction:
		var rec Transaction
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.transaction(path, &rec)
			p.Transactions = append(p.Transactions, rec)
		}
	case ResourceParty:
		var rec partyRecord
		if decodeRecord(v.reporter, path, raw, &rec) && decodeAddresses(v.reporter, &path, &rec) {
			v.party(path, &rec.Party)
			p.Parties = append(p.Parties, rec.Party)
		}
	}
}

// splitRecords returns the elements of a resource's value. Balance and
// Party accept a single object as well as an array.
func splitRecords(name string, raw json.RawMessage) ([]json.RawMessage, bool) {
	if name == ResourceBalance || name == ResourceParty {
		var items OneOrMany[json.RawMessage]
		if err := unmarshal(raw, &items); err != nil {
			return nil, false
		}
		return items, true
	}
	var items []json.RawMessage
	if err := unmarshal(raw, &items); err != nil {
		return nil, false
	}
	return items, true
}

// decodeRecord decodes one record into rec and reports a value of the wrong
// JSON type. encoding/json reports only the first such value of a record.
func decodeRecord(r reporter, path jsonPath, raw json.RawMessage, rec any) bool {
	err := unmarshal(raw, rec)
	if err == nil {
		return true
	}
	var typeErr *json.UnmarshalTypeError
	if !errors.As(err, &typeErr) {
		r.add(path, "cannot decode: %v", err)
		return false
	}
	if typeErr.Field == "" {
		r.add(path, "want an object, got %s", jsonKind(typeErr.Value))
		return false
	}
	got := jsonKind(typeErr.Value)
	if v, ok := scalarAt(raw, typeErr.Field); ok {
		got += " " + v
	}
	r.add(path.key(fieldPath(typeErr.Field)), "want %s, got %s", goKind(typeErr.Type), got)
	return false
}

// maxShownValue is the longest JSON text of a wrongly typed value that an
// error quotes. A longer value is named by its kind only.
const maxShownValue = 40

// scalarAt returns the JSON text of the number, true, false or null at the
// dotted field path of an UnmarshalTypeError inside raw, so the error can
// quote the value it rejects. Strings, objects and arrays, and a path that
// cannot be followed, give false.
func scalarAt(raw json.RawMessage, field string) (string, bool) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return "", false
	}
	for step := range strings.SplitSeq(field, ".") {
		switch node := v.(type) {
		case map[string]any:
			v = node[step]
		case []any:
			i, err := strconv.Atoi(step)
			if err != nil || i < 0 || i >= len(node) {
				return "", false
			}
			v = node[i]
		default:
			return "", false
		}
	}
	var text string
	switch v := v.(type) {
	case json.Number:
		text = v.String()
	case bool:
		text = strconv.FormatBool(v)
	case nil:
		text = "null"
	default:
		return "", false
	}
	if len(text) > maxShownValue {
		return "", false
	}
	return text, true
}

// fieldPath turns an UnmarshalTypeError's Field into the JSON path steps
// after the record. encoding/json before Go 1.27 writes "CreditLine.Amount"
// without array indexes; from Go 1.27 on it writes "CreditLine.0.Amount",
// which becomes ".CreditLine[0].Amount".
func fieldPath(field string) string {
	var b strings.Builder
	for step := range strings.SplitSeq(field, ".") {
		if _, err := strconv.Atoi(step); err == nil {
			b.WriteString("[" + step + "]")
			continue
		}
		b.WriteString("." + step)
	}
	return b.String()
}

// partyRecord is a Party as the decoder reads it: its Address member,
// which shadows Party.Address, stays raw for decodeAddresses.
type partyRecord struct {
	Party
	Address json.RawMessage `json:"Address"`
}

// decodeAddresses decodes a party's Address: an array of addresses or a
// single address object. It runs after the record is decoded, and not as
// OneOrMany's UnmarshalJSON method, because encoding/json from Go 1.27 on
// drops the field path of an error that such a method returns.
func decodeAddresses(r reporter, party *jsonPath, p *partyRecord) bool {
	raw := bytes.TrimSpace(p.Address)
	if len(raw) == 0 || isNull(raw) {
		return true
	}
	path := party.key(".Address")
	switch raw[0] {
	case '{':
		var address PostalAddress
		if !decodeRecord(r, path, raw, &address) {
			return false
		}
		p.Party.Address = OneOrMany[PostalAddress]{address}
		return true
	case '[':
	default:
		r.add(path, "want array, got %s", rawKind(raw))
		return false
	}

	var items []json.RawMessage
	if err := unmarshal(raw, &items); err != nil {
		r.add(path, "cannot decode: %v", err)
		return false
	}
	list := make(OneOrMany[PostalAddress], len(items))
	for i, item := range items {
		if !decodeRecord(r, party.elem(".Address", i), item, &list[i]) {
			return false
		}
	}
	p.Party.Address = list
	return true
}

// rawKind names the JSON type of a well-formed JSON value.
func rawKind(raw []byte) string {
	switch raw[0] {
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "array"
	default:
		return "number"
	}
}

// jsonKind returns the JSON type named at the start of an
// UnmarshalTypeError's Value, dropping the value that may follow it.
func jsonKind(value string) string {
	kind, _, _ := strings.Cut(value, " ")
	return kind
}

func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	}
	return t.String()
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// checkSyntax reports a JSON syntax error with its line and column and
// returns whether data is well-formed. Lines after the first count from
// firstLine, the zero-based line of data in its file.
func checkSyntax(r reporter, data []byte, firstLine int) bool {
	if validJSON(data) {
		return true
	}
	var probe any
	err := json.Unmarshal(data, &probe)
	var syntaxErr *json.SyntaxError
	if err == nil || !errors.As(err, &syntaxErr) {
		return true
	}
	// Offset counts the bytes read when the error was found, so the
	// offending byte is the last of them (the last byte of a truncated
	// input).
	offset := int(syntaxErr.Offset)
	if offset > 0 {
		offset--
	}
	line, col := position(data, offset)
	reason := "invalid JSON: " + syntaxErr.Error()
	// encoding/json reads a line of plain text as a misspelt literal
	// ("invalid character 'h' in literal true"), so such a line is
	// described by its first character instead.
	if trimmed := bytes.TrimLeft(data, " \t\r\n"); len(trimmed) > 0 && trimmed[0] != '{' && trimmed[0] != '[' && trimmed[0] != '"' {
		first, _ := utf8.DecodeRune(trimmed)
		line, col = position(data, len(data)-len(trimmed))
		reason = fmt.Sprintf("invalid JSON: want an object starting with '{', found %q", first)
	}
	r.list.Add(&ValidationError{Source: r.source, Line: firstLine + line, Column: col, Reason: reason})
	return false
}

// position returns the 1-based line and column (counting bytes) of offset.
func position(data []byte, offset int) (line, col int) {
	before := data[:min(offset, len(data))]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// checkEncoding reports every JSON string that is not valid UTF-8, which
// RFC 8259 section 8.1 requires, and returns whether data is valid.
// encoding/json would silently replace the bad bytes with U+FFFD.
func checkEncoding(r reporter, data []byte, firstLine int) bool {
	if utf8.Valid(data) {
		return true
	}
	found := false
	walkStrings(data, func(path string, isKey bool, raw []byte, end int) {
		if utf8.Valid(raw) {
			return
		}
		found = true
		line, col := position(data, end-len(raw)+invalidIndex(raw))
		reason := "string is not valid UTF-8"
		if isKey {
			reason = "object key is not valid UTF-8"
		}
		r.list.Add(&ValidationError{Source: r.source, Line: firstLine + line, Column: col, Path: path, Reason: reason})
	})
	if !found {
		// The bad bytes lie outside any string the walk reached, for
		// example after a syntax error.
		line, col := position(data, invalidIndex(data))
		r.list.Add(&ValidationError{Source: r.source, Line: firstLine + line, Column: col, Reason: "input is not valid UTF-8"})
	}
	return false
}

func invalidIndex(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// walkStrings calls visit for every string token of data with its JSON
// path, whether it is an object key, its raw bytes (with any separators
// before it) and the offset where it ends. It stops at the first syntax
// error.
func walkStrings(data []byte, visit func(path string, isKey bool, raw []byte, end int)) {
	type frame struct {
		array   bool
		index   int
		key     string
		wantKey bool
	}
	var stack []*frame
	pathOf := func(frames []*frame) string {
		var b strings.Builder
		b.WriteString("$")
		for _, f := range frames {
			if f.array {
				fmt.Fprintf(&b, "[%d]", f.index)
			} else {
				b.WriteString(pathKey(f.key))
			}
		}
		return b.String()
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		top := stack[len(stack)-1]
		if top.array {
			top.index++
		} else {
			top.wantKey = true
		}
	}

	dec := json.NewDecoder(bytes.NewReader(data))
	for {
		start := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return
		}
		end := int(dec.InputOffset())
		switch t := tok.(type) {
		case json.Delim:
			if t == '{' || t == '[' {
				stack = append(stack, &frame{array: t == '[', wantKey: t == '{'})
				continue
			}
			stack = stack[:len(stack)-1]
			valueDone()
		case string:
			if n := len(stack); n > 0 && !stack[n-1].array && stack[n-1].wantKey {
				visit(pathOf(stack[:n-1]), true, data[start:end], end)
				stack[n-1].key = t
				stack[n-1].wantKey = false
				continue
			}
			visit(pathOf(stack), false, data[start:end], end)
			valueDone()
		default:
			valueDone()
		}
	}
}

// pathKey formats an object key as a path step: .Name for plain keys,
// ["..."] for any other.
func pathKey(key string) string {
	for _, c := range key {
		if !(c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return fmt.Sprintf("[%q]", key)
		}
	}
	return "." + key
}
