package obie

import (
	"encoding/binary"
	"math/bits"
	"unicode/utf8"
)

// scanTransaction decodes record, one JSON object, into t, a zero
// Transaction, when the record has the shape ASPSPs send. In that shape
// every key of a decoded field is spelled as the wire types spell it and
// given once, the strings of those fields have no escape sequences, and
// each nested record is an object. It returns false for anything else,
// with t partly filled. The caller then clears t and decodes the record
// with a general decoder, which also reports what is wrong. What it
// accepts, it decodes as encoding/json does, which
// TestScanTransaction_agrees and FuzzScanTransaction check.
//
// It exists for speed: a 1M-line feed spends more time decoding than on
// any other step of the load. The strings of t share one copy of record,
// and the nested records one allocation, where a general decoder
// allocates each of them. So a caller that keeps one of the strings long
// after the record clones it, or it keeps the whole record in memory.
func scanTransaction(record []byte, t *Transaction, parts *transactionParts, orders *keyOrders) bool {
	if orders == nil {
		orders = new(keyOrders)
	}
	s := scanner{data: record, text: string(record), parts: parts, orders: orders}
	if !s.transaction(t) {
		return false
	}
	s.ws()
	return s.pos == len(s.data)
}

// transactionParts holds the nested records of one scanned Transaction.
type transactionParts struct {
	amount, balanceAmount Amount
	code                  BankTransactionCode
	proprietary           ProprietaryBankTransactionCode
	balance               TransactionBalance
	merchant              MerchantDetails
	creditor, debtor      CashAccount
}

// The keys of each wire type, in the order of the bits that record which
// keys an object has given. A key that matches none of them exactly but
// one of them in another case makes the scan fail: encoding/json matches
// keys without regard to case, and the general decoder handles that.
var (
	transactionKeys = []string{"AccountId", "TransactionId", "TransactionReference", "CreditDebitIndicator",
		"Status", "TransactionMutability", "BookingDateTime", "ValueDateTime", "TransactionInformation",
		"Amount", "BankTransactionCode", "ProprietaryBankTransactionCode", "Balance", "MerchantDetails",
		"CreditorAccount", "DebtorAccount"}
	amountKeys             = []string{"Amount", "Currency", "SubType"}
	bankCodeKeys           = []string{"Code", "SubCode"}
	proprietaryCodeKeys    = []string{"Code", "Issuer"}
	transactionBalanceKeys = []string{"Amount", "CreditDebitIndicator", "Type"}
	merchantKeys           = []string{"MerchantName", "MerchantCategoryCode"}
	cashAccountKeys        = []string{"Name"}
)

// keyOrders holds the order of keys that the records of one input gave,
// one keyOrder for each key list. A sender's serializer usually writes
// the keys of every record in one order, and the published OBIE examples
// use several orders. So the scanner compares the input with the key that
// came next in the record before (scanner.key).
type keyOrders struct {
	transaction, amount, bankCode, proprietaryCode, balance, merchant, cashAccount keyOrder
}

// keyOrder is the order of the keys of one list in the last object read.
// next[0] is 1 + the position in the list of the first key, next[i+1] of
// the key after key i, and 0 where none is known.
type keyOrder struct {
	next [17]uint8
}

// maxSkipDepth bounds the nesting of values the scanner skips; deeper
// values go to the general decoder.
const maxSkipDepth = 32

// scanner reads one JSON record from data. Every method reports false
// when the input is not in the shape scanTransaction accepts.
type scanner struct {
	data   []byte
	text   string // string(data), which decoded strings slice
	pos    int
	parts  *transactionParts
	orders *keyOrders
}

func (s *scanner) transaction(t *Transaction) bool {
	return s.object(transactionKeys, transactionKey, &s.orders.transaction, func(i int) bool {
		switch i {
		case 0:
			return s.str(&t.AccountID)
		case 1:
			return s.str(&t.TransactionID)
		case 2:
			return s.str(&t.TransactionReference)
		case 3:
			return s.str(&t.CreditDebitIndicator)
		case 4:
			return s.str(&t.Status)
		case 5:
			return s.str(&t.TransactionMutability)
		case 6:
			return s.str(&t.BookingDateTime)
		case 7:
			return s.str(&t.ValueDateTime)
		case 8:
			return s.str(&t.TransactionInformation)
		}
		p := s.nested()
		switch i {
		case 9:
			t.Amount = &p.amount
			return s.amount(t.Amount)
		case 10:
			t.BankTransactionCode = &p.code
			return s.object(bankCodeKeys, bankCodeKey, &s.orders.bankCode, func(i int) bool {
				return s.str(pick(i, &p.code.Code, &p.code.SubCode))
			})
		case 11:
			t.ProprietaryBankTransactionCode = &p.proprietary
			return s.object(proprietaryCodeKeys, proprietaryCodeKey, &s.orders.proprietaryCode, func(i int) bool {
				return s.str(pick(i, &p.proprietary.Code, &p.proprietary.Issuer))
			})
		case 12:
			t.Balance = &p.balance
			return s.object(transactionBalanceKeys, transactionBalanceKey, &s.orders.balance, func(i int) bool {
				switch i {
				case 0:
					p.balance.Amount = &p.balanceAmount
					return s.amount(p.balance.Amount)
				case 1:
					return s.str(&p.balance.CreditDebitIndicator)
				}
				return s.str(&p.balance.Type)
			})
		case 13:
			t.MerchantDetails = &p.merchant
			return s.object(merchantKeys, merchantKey, &s.orders.merchant, func(i int) bool {
				return s.str(pick(i, &p.merchant.MerchantName, &p.merchant.MerchantCategoryCode))
			})
		case 14:
			t.CreditorAccount = &p.creditor
			return s.object(cashAccountKeys, cashAccountKey, &s.orders.cashAccount, func(int) bool { return s.str(&p.creditor.Name) })
		default:
			t.DebtorAccount = &p.debtor
			return s.object(cashAccountKeys, cashAccountKey, &s.orders.cashAccount, func(int) bool { return s.str(&p.debtor.Name) })
		}
	})
}

func (s *scanner) amount(a *Amount) bool {
	return s.object(amountKeys, amountKey, &s.orders.amount, func(i int) bool {
		switch i {
		case 0:
			return s.str(&a.Amount)
		case 1:
			return s.str(&a.Currency)
		}
		return s.str(&a.SubType)
	})
}

// pick returns a for 0 and b otherwise.
func pick(i int, a, b *string) *string {
	if i == 0 {
		return a
	}
	return b
}

// nested returns the nested records of the transaction: the zeroed parts
// that the caller of scanTransaction passed, or new ones allocated at the
// first nested record.
func (s *scanner) nested() *transactionParts {
	if s.parts == nil {
		s.parts = new(transactionParts)
	}
	return s.parts
}

// ws skips JSON whitespace.
func (s *scanner) ws() {
	i := s.pos
	for i < len(s.data) {
		switch s.data[i] {
		case ' ', '\t', '\n', '\r':
			i++
			continue
		}
		break
	}
	s.pos = i
}

// next skips whitespace and returns the byte there, or 0 at the end.
func (s *scanner) next() byte {
	if s.pos < len(s.data) && s.data[s.pos] > ' ' {
		return s.data[s.pos]
	}
	s.ws()
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// object reads an object whose decoded keys are keys; index returns the
// position of a key in keys, or -1. For each of them it calls value with
// that position and the scanner at the value; value reads the value.
// Other keys have their values skipped. order learns the order of the
// keys for the next object of the list.
func (s *scanner) object(keys []string, index func(key []byte) int, order *keyOrder, value func(i int) bool) bool {
	if s.next() != '{' {
		return false
	}
	s.pos++
	if s.next() == '}' {
		s.pos++
		return true
	}
	var given uint32
	prev := 0 // 1 + the position of the last key read, 0 before the first
	for {
		i, key, ok := s.key(keys, int(order.next[prev])-1, index)
		if !ok || s.next() != ':' {
			return false
		}
		s.pos++
		switch {
		case i >= 0:
			if given&(1<<i) != 0 || !value(i) {
				return false
			}
			given |= 1 << i
			order.next[prev] = uint8(i + 1)
			prev = i + 1
		case foldsToKey(keys, key):
			return false
		default:
			if !s.skip(0) {
				return false
			}
		}
		switch s.next() {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return true
		default:
			return false
		}
	}
}

// key reads an object key and returns its position in keys, or -1 and
// the key. It first compares the input with keys[guess], the key expected
// there (-1 for none), which costs less than scanning the string and
// looking it up with index.
func (s *scanner) key(keys []string, guess int, index func(key []byte) int) (int, []byte, bool) {
	if s.next() != '"' {
		return 0, nil, false
	}
	if guess >= 0 {
		k := keys[guess]
		end := s.pos + 1 + len(k)
		if end < len(s.data) && s.data[end] == '"' && string(s.data[s.pos+1:end]) == k {
			s.pos = end + 1
			return guess, nil, true
		}
	}
	start, end, ok := s.plainString()
	if !ok {
		return 0, nil, false
	}
	key := s.data[start:end]
	return index(key), key, true
}

// The index functions of each key list, a switch being several times
// faster than comparing with each key in turn.

func transactionKey(key []byte) int {
	switch string(key) {
	case "AccountId":
		return 0
	case "TransactionId":
		return 1
	case "TransactionReference":
		return 2
	case "CreditDebitIndicator":
		return 3
	case "Status":
		return 4
	case "TransactionMutability":
		return 5
	case "BookingDateTime":
		return 6
	case "ValueDateTime":
		return 7
	case "TransactionInformation":
		return 8
	case "Amount":
		return 9
	case "BankTransactionCode":
		return 10
	case "ProprietaryBankTransactionCode":
		return 11
	case "Balance":
		return 12
	case "MerchantDetails":
		return 13
	case "CreditorAccount":
		return 14
	case "DebtorAccount":
		return 15
	}
	return -1
}

func amountKey(key []byte) int {
	switch string(key) {
	case "Amount":
		return 0
	case "Currency":
		return 1
	case "SubType":
		return 2
	}
	return -1
}

// codeKey serves BankTransactionCode and ProprietaryBankTransactionCode,
// whose second keys differ.
func codeKey(second string) func(key []byte) int {
	return func(key []byte) int {
		switch string(key) {
		case "Code":
			return 0
		case second:
			return 1
		}
		return -1
	}
}

var (
	bankCodeKey        = codeKey("SubCode")
	proprietaryCodeKey = codeKey("Issuer")
)

func transactionBalanceKey(key []byte) int {
	switch string(key) {
	case "Amount":
		return 0
	case "CreditDebitIndicator":
		return 1
	case "Type":
		return 2
	}
	return -1
}

func merchantKey(key []byte) int {
	switch string(key) {
	case "MerchantName":
		return 0
	case "MerchantCategoryCode":
		return 1
	}
	return -1
}

func cashAccountKey(key []byte) int {
	if string(key) == "Name" {
		return 0
	}
	return -1
}

// foldsToKey reports whether key might match one of keys without regard
// to case. Any key that is not ASCII might, through Unicode's case
// folding (the Kelvin sign folds to k).
func foldsToKey(keys []string, key []byte) bool {
	for _, c := range key {
		if c >= utf8.RuneSelf {
			return true
		}
	}
	for _, k := range keys {
		if len(k) == len(key) && asciiEqualFold(k, key) {
			return true
		}
	}
	return false
}

func asciiEqualFold(k string, key []byte) bool {
	for i := range len(k) {
		a, b := k[i], key[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// str reads a string without escape sequences into dst.
func (s *scanner) str(dst *string) bool {
	start, end, ok := s.plainString()
	if ok {
		*dst = s.text[start:end]
	}
	return ok
}

// plainString reads a string without escape sequences and returns the
// offsets of its contents. It tests eight bytes at a time while they are
// printable ASCII other than a quote or backslash.
func (s *scanner) plainString() (start, end int, ok bool) {
	if s.next() != '"' {
		return 0, 0, false
	}
	d := s.data
	i := s.pos + 1
	start = i
	for {
		for i+8 <= len(d) {
			if m := specialBytes(binary.LittleEndian.Uint64(d[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				break
			}
			i += 8
		}
		if i >= len(d) {
			return 0, 0, false
		}
		switch c := d[i]; {
		case c == '"':
			s.pos = i + 1
			return start, i, true
		case c == '\\' || c < 0x20:
			return 0, 0, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(d[i:])
			if r == utf8.RuneError && size == 1 {
				return 0, 0, false
			}
			i += size
		default:
			i++
		}
	}
}

// specialBytes returns x, eight bytes of a string, with the high bit of a
// byte set where that byte is a quote, a backslash, a control character
// or part of a multi-byte character. A subtraction's borrow may also set
// the bytes above a set one, so only the lowest set byte is certain, and
// the caller looks only at that one.
func specialBytes(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ ones*'"'
	backslash := x ^ ones*'\\'
	return ((quote-ones)&^quote | (backslash-ones)&^backslash | (x-ones*0x20)&^x | x) & highs
}

// skip reads any JSON value, at most maxSkipDepth levels deep.
func (s *scanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	switch s.next() {
	case '"':
		return s.skipString()
	case '{':
		s.pos++
		if s.next() == '}' {
			s.pos++
			return true
		}
		for {
			if !s.skipString() || s.next() != ':' {
				return false
			}
			s.pos++
			if !s.skip(depth + 1) {
				return false
			}
			switch s.next() {
			case ',':
				s.pos++
			case '}':
				s.pos++
				return true
			default:
				return false
			}
		}
	case '[':
		s.pos++
		if s.next() == ']' {
			s.pos++
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			switch s.next() {
			case ',':
				s.pos++
			case ']':
				s.pos++
				return true
			default:
				return false
			}
		}
	case 't':
		return s.literal("true")
	case 'f':
		return s.literal("false")
	case 'n':
		return s.literal("null")
	}
	return s.number()
}

// skipString reads a string, escape sequences included.
func (s *scanner) skipString() bool {
	if s.next() != '"' {
		return false
	}
	s.pos++
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if !s.escape() {
				return false
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(s.data[s.pos:])
			if r == utf8.RuneError && size == 1 {
				return false
			}
			s.pos += size
		default:
			s.pos++
		}
	}
	return false
}

// escape reads one escape sequence.
func (s *scanner) escape() bool {
	if s.pos+1 >= len(s.data) {
		return false
	}
	switch s.data[s.pos+1] {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		s.pos += 2
		return true
	case 'u':
		if s.pos+6 > len(s.data) {
			return false
		}
		for _, c := range s.data[s.pos+2 : s.pos+6] {
			if !isHex(c) {
				return false
			}
		}
		s.pos += 6
		return true
	}
	return false
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func (s *scanner) literal(word string) bool {
	if len(s.data)-s.pos < len(word) || string(s.data[s.pos:s.pos+len(word)]) != word {
		return false
	}
	s.pos += len(word)
	return true
}

// number reads a number as the JSON grammar spells it.
func (s *scanner) number() bool {
	d, i := s.data, s.pos
	digits := func() bool {
		from := i
		for i < len(d) && isDigit(d[i]) {
			i++
		}
		return i > from
	}
	if i < len(d) && d[i] == '-' {
		i++
	}
	switch {
	case i < len(d) && d[i] == '0':
		i++
	case !digits():
		return false
	}
	if i < len(d) && d[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(d) && (d[i] == 'e' || d[i] == 'E') {
		i++
		if i < len(d) && (d[i] == '+' || d[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	s.pos = i
	return true
}
