package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"strconv"
	"time"

	"github.com/zeebo/xxh3"

	insights "github.com/openbanking-insights/insights"
)

// hashFields returns the hex SHA-256 of fields, each prefixed with its
// length so that no two different lists hash alike ("ab","c" vs "a","bc").
func hashFields(fields ...string) string {
	var scratch [1024]byte
	b := scratch[:0]
	for _, f := range fields {
		b = appendField(b, f)
	}
	return sumHex(b)
}

// The append functions below build the input of a hash in a buffer that
// the caller keeps on its stack, so hashing a row allocates only the
// returned string. Each appends one field as hashFields would: its length
// as an unsigned varint, then its bytes.

func appendField(dst []byte, f string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(f)))
	return append(dst, f...)
}

// appendTimeField appends t as formatTime formats it.
func appendTimeField(dst []byte, t time.Time) []byte {
	if t.IsZero() {
		return appendField(dst, "")
	}
	t = t.UTC()
	year, month, day := t.Date()
	if year < 0 || year > 9999 {
		return appendField(dst, formatTime(t))
	}
	hour, minute, sec := t.Clock()
	milli := t.Nanosecond() / int(time.Millisecond)
	var b [len(hashTimeLayout)]byte
	putPair(b[0:], year/100)
	putPair(b[2:], year%100)
	b[4] = '-'
	putPair(b[5:], int(month))
	b[7] = '-'
	putPair(b[8:], day)
	b[10] = 'T'
	putPair(b[11:], hour)
	b[13] = ':'
	putPair(b[14:], minute)
	b[16] = ':'
	putPair(b[17:], sec)
	b[19] = '.'
	b[20] = byte('0' + milli/100)
	putPair(b[21:], milli%100)
	b[23] = 'Z'
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b[:]...)
}

// appendDateField appends d as insights.Date.String formats it.
func appendDateField(dst []byte, d insights.Date) []byte {
	if d.IsZero() || d.Year < 0 || d.Year > 9999 || d.Month < 1 || d.Month > 12 || d.Day < 1 || d.Day > 31 {
		return appendField(dst, d.String())
	}
	var b [len("2006-01-02")]byte
	putPair(b[0:], d.Year/100)
	putPair(b[2:], d.Year%100)
	b[4] = '-'
	putPair(b[5:], int(d.Month))
	b[7] = '-'
	putPair(b[8:], d.Day)
	dst = binary.AppendUvarint(dst, uint64(len(b)))
	return append(dst, b[:]...)
}

// appendAmountField appends a as insights.Amount.String formats it: the
// sign, the integer part and all insights.AmountScale decimals.
func appendAmountField(dst []byte, a insights.Amount) []byte {
	v := int64(a)
	if v == math.MinInt64 {
		return appendField(dst, a.String())
	}
	var b [32]byte
	s := b[:0]
	if v < 0 {
		s = append(s, '-')
		v = -v
	}
	unit := int64(1)
	for range insights.AmountScale {
		unit *= 10
	}
	s = strconv.AppendInt(s, v/unit, 10)
	s = append(s, '.')
	s = appendDigits(s, int(v%unit), insights.AmountScale)
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// appendDigits appends the non-negative v in decimal, zero-padded to width.
func appendDigits(dst []byte, v, width int) []byte {
	var b [20]byte
	i := len(b)
	for v >= 100 {
		i -= 2
		putPair(b[i:], v%100)
		v /= 100
	}
	if v >= 10 {
		i -= 2
		putPair(b[i:], v)
	} else if v > 0 {
		i--
		b[i] = byte('0' + v)
	}
	for i > len(b)-width {
		i--
		b[i] = '0'
	}
	return append(dst, b[i:]...)
}

// putPair writes v, below 100, as two decimal digits at the start of b.
// Hashing formats several numbers a row, and a table lookup a pair costs
// less than a division a digit.
func putPair(b []byte, v int) {
	b[0], b[1] = digitPairs[2*v], digitPairs[2*v+1]
}

const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" + "60616263646566676869" +
	"70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// sumHex returns the hex SHA-256 of b.
func sumHex(b []byte) string {
	digest := sha256.Sum256(b)
	var out [2 * sha256.Size]byte
	hex.Encode(out[:], digest[:])
	return string(out[:])
}

// hashTimeLayout formats times for hashing: UTC at millisecond precision,
// the precision of the DateTime64(3) columns, so a stored row and a new
// row of the same content hash alike.
const hashTimeLayout = "2006-01-02T15:04:05.000Z"

// formatTime formats t for hashing with hashTimeLayout; the zero time is "".
func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Millisecond).Format(hashTimeLayout)
}

// setTransactionKeys sets Key on every transaction of one file; see keyer.
func setTransactionKeys(txs []insights.Transaction) {
	k := newKeyer()
	for i := range txs {
		k.setKey(&txs[i])
	}
}

// keyer sets Key on the transactions of one load, in input order: "id:"
// and the ASPSP's TransactionId when it sent one, otherwise "fp:" and a
// fingerprint.
//
// The fingerprint hashes account, booking time, signed amount, currency,
// status, TransactionInformation and the bank transaction codes, followed
// by the occurrence index among transactions of the load with the same
// content. Identical entries are real: the Ozone model bank books several
// debits of the same amount on the same day, and they must stay distinct.
// A window that overlaps an earlier file holds all entries of a booking
// time or none, because ASPSPs filter on BookingDateTime, so the indexes
// match between files.
//
// NOTE: seen grows by 50 to 100 bytes per transaction without a
// TransactionId (measured with Go 1.27). It is the only state of a load
// that grows with its size, and a 10-million-row file without any
// TransactionId would need up to 1 GB.
type keyer struct {
	// seen counts the transactions of each fingerprint so far, by the
	// SHA-256 of its fields. Its keys and values hold no pointers, so the
	// garbage collector does not scan its entries. With hex strings as
	// keys, it marked each of them at every cycle.
	seen map[[sha256.Size]byte]int
}

func newKeyer() *keyer { return &keyer{seen: make(map[[sha256.Size]byte]int)} }

func (k *keyer) setKey(t *insights.Transaction) {
	if t.TransactionID != "" {
		t.Key = "id:" + t.TransactionID
		return
	}
	var scratch [1024]byte
	b := appendField(scratch[:0], t.AccountID)
	b = appendTimeField(b, t.BookingTime)
	b = appendAmountField(b, t.Amount)
	for _, f := range [...]string{t.Currency, string(t.Status), t.Description, t.BankTransactionCode,
		t.BankTransactionSubCode, t.ProprietaryCode, t.ProprietaryIssuer} {
		b = appendField(b, f)
	}
	base := sha256.Sum256(b)
	n := k.seen[base]
	k.seen[base] = n + 1
	// The key hashes the fingerprint as hex, as it did when seen held
	// strings, so keys stored before stay the same.
	var baseHex [2 * sha256.Size]byte
	hex.Encode(baseHex[:], base[:])
	var num [20]byte
	b = binary.AppendUvarint(scratch[:0], uint64(len(baseHex)))
	b = append(b, baseHex[:]...)
	b = appendField(b, string(strconv.AppendInt(num[:0], int64(n), 10)))
	t.Key = "fp:" + sumHex(b)
}

// The content hashes cover every column a row stores except customer_id,
// source, ingested_at and the hash itself, so the same content sent in
// another file is recognised as stored.

func accountHash(a *insights.Account) string {
	return hashFields(a.AccountID, a.Currency, a.AccountType, a.AccountSubType, a.Nickname, a.Status)
}

func balanceHash(b *insights.Balance) string {
	return hashFields(b.AccountID, b.Type, b.Amount.String(), b.Currency, formatTime(b.AsOf),
		strconv.FormatBool(b.CreditLineIncluded), b.CreditLine.String())
}

func partyHash(p *insights.Party) string {
	fields := []string{p.PartyID, p.Name, p.BirthDate.String(), p.Address.Town, p.Address.PostCode,
		p.Address.Country, strconv.Itoa(len(p.Address.Lines))}
	return hashFields(append(fields, p.Address.Lines...)...)
}

// transactionHash returns the content hash of a transaction: the XXH3
// 64-bit hash of its fields, as 16 hex digits. It replaced SHA-256, which
// took about a tenth of the CPU time of a file load. Ingest compares a
// content hash only with the stored hash of the same identity, to tell a
// changed row from a resent one, so it needs no resistance to deliberate
// collisions: such a pair would at worst keep the earlier content of one
// transaction. The other tables hold few rows a load and keep SHA-256.
//
// Migration 0020 computes the same hash in SQL for the rows stored before.
// TestMigration0020_sameHashAsGo checks that the two agree, so a change of
// the fields needs a migration that rewrites the stored hashes.
func transactionHash(t *insights.Transaction) string {
	var scratch [1024]byte
	b := scratch[:0]
	for _, f := range [...]string{t.AccountID, t.Key, t.TransactionID, string(t.Status)} {
		b = appendField(b, f)
	}
	b = appendTimeField(b, t.BookingTime)
	b = appendTimeField(b, t.ValueTime)
	b = appendDateField(b, t.BookingDate)
	b = appendAmountField(b, t.Amount)
	for _, f := range [...]string{t.Currency, t.Description, t.Counterparty, t.MCC, t.BankTransactionCode,
		t.BankTransactionSubCode, t.ProprietaryCode, t.ProprietaryIssuer, string(t.Category), t.CategoryRule} {
		b = appendField(b, f)
	}
	var sum [8]byte
	binary.BigEndian.PutUint64(sum[:], xxh3.Hash(b))
	var out [2 * len(sum)]byte
	hex.Encode(out[:], sum[:])
	return string(out[:])
}
