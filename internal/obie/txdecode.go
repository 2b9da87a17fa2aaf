package obie

import (
	"strings"
	"unicode/utf8"
)

// decodeTransaction decodes the JSON object record into t, which must be
// the zero Transaction, for the common form of a transaction record. In
// that form every field of Transaction that is present is a string or an
// object, spelled exactly as its tag, and at most once per object. Its
// strings hold no escape sequence. Other keys may hold any JSON value and
// are skipped, as encoding/json skips them.
//
// It returns false for anything else: a key that differs from a field's
// name only in case (encoding/json matches those), a repeated field, a
// null, a number or an escaped string in a field, or any syntax error. The
// caller then clears t and decodes the record with goccy/go-json or
// encoding/json, which decide those cases. A record decoded here gets the
// values encoding/json would give.
//
// Each string field is a substring of one copy of record, so a record
// costs one allocation for its strings instead of one per field.
func decodeTransaction(record []byte, t *Transaction) bool {
	sc := jsonScanner{s: string(record)}
	if !sc.transaction(t) {
		return false
	}
	sc.space()
	return sc.pos == len(sc.s)
}

// transactionFields are the JSON names of the fields of Transaction.
var transactionFields = []string{"AccountId", "TransactionId", "TransactionReference", "CreditDebitIndicator",
	"Status", "TransactionMutability", "BookingDateTime", "ValueDateTime", "TransactionInformation", "Amount",
	"BankTransactionCode", "ProprietaryBankTransactionCode", "Balance", "MerchantDetails", "CreditorAccount",
	"DebtorAccount"}

// jsonScanner reads JSON text from s, starting at pos.
type jsonScanner struct {
	s   string
	pos int
}

func (sc *jsonScanner) transaction(t *Transaction) bool {
	if !sc.consume('{') {
		return false
	}
	var seen uint32
	for first := true; ; first = false {
		key, end, ok := sc.nextKey(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		field := -1
		for i, name := range transactionFields {
			if key == name {
				field = i
				break
			}
		}
		if field < 0 {
			if !sc.skipUnknown(key, transactionFields) {
				return false
			}
			continue
		}
		if seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		switch field {
		case 0:
			t.AccountID, ok = sc.str()
		case 1:
			t.TransactionID, ok = sc.str()
		case 2:
			t.TransactionReference, ok = sc.str()
		case 3:
			t.CreditDebitIndicator, ok = sc.str()
		case 4:
			t.Status, ok = sc.str()
		case 5:
			t.TransactionMutability, ok = sc.str()
		case 6:
			t.BookingDateTime, ok = sc.str()
		case 7:
			t.ValueDateTime, ok = sc.str()
		case 8:
			t.TransactionInformation, ok = sc.str()
		case 9:
			t.Amount = &Amount{}
			ok = sc.amount(t.Amount)
		case 10:
			t.BankTransactionCode = &BankTransactionCode{}
			ok = sc.stringFields(bankTransactionCodeFields, &t.BankTransactionCode.Code, &t.BankTransactionCode.SubCode, nil)
		case 11:
			t.ProprietaryBankTransactionCode = &ProprietaryBankTransactionCode{}
			c := t.ProprietaryBankTransactionCode
			ok = sc.stringFields(proprietaryCodeFields, &c.Code, &c.Issuer, nil)
		case 12:
			t.Balance = &TransactionBalance{}
			ok = sc.transactionBalance(t.Balance)
		case 13:
			t.MerchantDetails = &MerchantDetails{}
			m := t.MerchantDetails
			ok = sc.stringFields(merchantDetailsFields, &m.MerchantName, &m.MerchantCategoryCode, nil)
		case 14:
			t.CreditorAccount = &CashAccount{}
			ok = sc.stringFields(cashAccountFields, &t.CreditorAccount.Name, nil, nil)
		case 15:
			t.DebtorAccount = &CashAccount{}
			ok = sc.stringFields(cashAccountFields, &t.DebtorAccount.Name, nil, nil)
		}
		if !ok {
			return false
		}
	}
}

// The JSON names of the fields of the nested objects, in the order of
// the pointers stringFields takes.
var (
	amountFields              = []string{"Amount", "Currency", "SubType"}
	bankTransactionCodeFields = []string{"Code", "SubCode"}
	proprietaryCodeFields     = []string{"Code", "Issuer"}
	merchantDetailsFields     = []string{"MerchantName", "MerchantCategoryCode"}
	cashAccountFields         = []string{"Name"}
	transactionBalanceFields  = []string{"Amount", "CreditDebitIndicator", "Type"}
)

func (sc *jsonScanner) amount(a *Amount) bool {
	return sc.stringFields(amountFields, &a.Amount, &a.Currency, &a.SubType)
}

// stringFields reads an object whose fields are all strings: names[i]
// goes to the i-th of first, second and third.
func (sc *jsonScanner) stringFields(names []string, first, second, third *string) bool {
	if !sc.consume('{') {
		return false
	}
	targets := [3]*string{first, second, third}
	var seen uint8
	for isFirst := true; ; isFirst = false {
		key, end, ok := sc.nextKey(isFirst)
		if !ok {
			return false
		}
		if end {
			return true
		}
		field := -1
		for i, name := range names {
			if key == name {
				field = i
				break
			}
		}
		if field < 0 {
			if !sc.skipUnknown(key, names) {
				return false
			}
			continue
		}
		if seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		if *targets[field], ok = sc.str(); !ok {
			return false
		}
	}
}

func (sc *jsonScanner) transactionBalance(b *TransactionBalance) bool {
	if !sc.consume('{') {
		return false
	}
	var seen uint8
	for first := true; ; first = false {
		key, end, ok := sc.nextKey(first)
		if !ok {
			return false
		}
		if end {
			return true
		}
		field := -1
		for i, name := range transactionBalanceFields {
			if key == name {
				field = i
				break
			}
		}
		if field < 0 {
			if !sc.skipUnknown(key, transactionBalanceFields) {
				return false
			}
			continue
		}
		if seen&(1<<field) != 0 {
			return false
		}
		seen |= 1 << field
		switch field {
		case 0:
			b.Amount = &Amount{}
			ok = sc.amount(b.Amount)
		case 1:
			b.CreditDebitIndicator, ok = sc.str()
		case 2:
			b.Type, ok = sc.str()
		}
		if !ok {
			return false
		}
	}
}

// space skips JSON white space.
func (sc *jsonScanner) space() {
	for sc.pos < len(sc.s) {
		switch sc.s[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// consume skips white space and then c, and reports whether c was there.
func (sc *jsonScanner) consume(c byte) bool {
	sc.space()
	if sc.pos < len(sc.s) && sc.s[sc.pos] == c {
		sc.pos++
		return true
	}
	return false
}

// nextKey reads the next key of an object and the colon after it. first
// is true right after the opening brace. end is true, and the closing
// brace consumed, when the object has no more keys.
func (sc *jsonScanner) nextKey(first bool) (key string, end, ok bool) {
	if sc.consume('}') {
		return "", true, true
	}
	if !first && !sc.consume(',') {
		return "", false, false
	}
	if key, ok = sc.str(); !ok || !sc.consume(':') {
		return "", false, false
	}
	return key, false, true
}

// str reads a string without escape sequences and returns its text. It
// returns false for a string that is not valid UTF-8, which encoding/json
// would change (LineDecoder rejects such lines before they get here).
func (sc *jsonScanner) str() (string, bool) {
	sc.space()
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '"' {
		return "", false
	}
	start := sc.pos + 1
	ascii := true
	for i := start; i < len(sc.s); i++ {
		switch c := sc.s[i]; {
		case c == '"':
			text := sc.s[start:i]
			if !ascii && !utf8.ValidString(text) {
				return "", false
			}
			sc.pos = i + 1
			return text, true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return "", false
}

// skipUnknown skips the value of a key that is not among names, unless
// the key matches one of them without regard to case, as encoding/json
// matches keys: then it returns false.
func (sc *jsonScanner) skipUnknown(key string, names []string) bool {
	for _, name := range names {
		if strings.EqualFold(key, name) {
			return false
		}
	}
	return sc.skipValue(0)
}

// maxSkipDepth bounds the nesting of a skipped value; deeper values are
// left to the other decoders.
const maxSkipDepth = 64

// skipValue skips one JSON value and reports whether it is well formed.
func (sc *jsonScanner) skipValue(depth int) bool {
	sc.space()
	if sc.pos >= len(sc.s) || depth > maxSkipDepth {
		return false
	}
	switch c := sc.s[sc.pos]; c {
	case '"':
		return sc.skipString()
	case '{':
		sc.pos++
		for first := true; ; first = false {
			if sc.consume('}') {
				return true
			}
			if !first && !sc.consume(',') {
				return false
			}
			sc.space()
			if !sc.skipString() || !sc.consume(':') || !sc.skipValue(depth+1) {
				return false
			}
		}
	case '[':
		sc.pos++
		for first := true; ; first = false {
			if sc.consume(']') {
				return true
			}
			if !first && !sc.consume(',') {
				return false
			}
			if !sc.skipValue(depth + 1) {
				return false
			}
		}
	case 't':
		return sc.literal("true")
	case 'f':
		return sc.literal("false")
	case 'n':
		return sc.literal("null")
	default:
		return sc.skipNumber()
	}
}

func (sc *jsonScanner) literal(word string) bool {
	if !strings.HasPrefix(sc.s[sc.pos:], word) {
		return false
	}
	sc.pos += len(word)
	return true
}

// skipString skips a string at pos, escape sequences included.
func (sc *jsonScanner) skipString() bool {
	if sc.pos >= len(sc.s) || sc.s[sc.pos] != '"' {
		return false
	}
	for i := sc.pos + 1; i < len(sc.s); i++ {
		switch c := sc.s[i]; {
		case c == '"':
			sc.pos = i + 1
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if i+1 >= len(sc.s) {
				return false
			}
			switch sc.s[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i++
			case 'u':
				if i+5 >= len(sc.s) {
					return false
				}
				for _, h := range []byte(sc.s[i+2 : i+6]) {
					if !isHexDigit(h) {
						return false
					}
				}
				i += 5
			default:
				return false
			}
		}
	}
	return false
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// skipNumber skips a number as the JSON grammar defines it:
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (sc *jsonScanner) skipNumber() bool {
	s, i := sc.s, sc.pos
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		start := i
		for i < len(s) && '0' <= s[i] && s[i] <= '9' {
			i++
		}
		if i == start {
			return false
		}
	}
	sc.pos = i
	return true
}
