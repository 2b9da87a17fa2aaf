package ingest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// hashFields returns the hex SHA-256 of fields, each prefixed with its
// length so that no two different lists hash alike ("ab","c" vs "a","bc").
func hashFields(fields ...string) string {
	var h fieldHash
	for _, f := range fields {
		h.str(f)
	}
	return h.sum()
}

// fieldHash builds the input of hashFields field by field in one buffer,
// so hashing a row allocates only the returned string.
type fieldHash struct {
	scratch [1024]byte
	buf     []byte
}

func (h *fieldHash) str(f string) {
	if h.buf == nil {
		h.buf = h.scratch[:0]
	}
	h.buf = binary.AppendUvarint(h.buf, uint64(len(f)))
	h.buf = append(h.buf, f...)
}

// time adds t as formatTime formats it.
func (h *fieldHash) time(t time.Time) {
	if t.IsZero() {
		h.str("")
		return
	}
	var b [len(hashTimeLayout)]byte
	h.str(string(t.UTC().Truncate(time.Millisecond).AppendFormat(b[:0], hashTimeLayout)))
}

func (h *fieldHash) sum() string {
	if h.buf == nil {
		h.buf = h.scratch[:0]
	}
	digest := sha256.Sum256(h.buf)
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
// NOTE: seen grows by about 100 bytes per transaction without a
// TransactionId, the only state of a load that grows with its size; a
// 10-million-row file without any TransactionId would need about 1 GB.
type keyer struct {
	seen map[string]int
}

func newKeyer() *keyer { return &keyer{seen: make(map[string]int)} }

func (k *keyer) setKey(t *insights.Transaction) {
	if t.TransactionID != "" {
		t.Key = "id:" + t.TransactionID
		return
	}
	var h fieldHash
	h.str(t.AccountID)
	h.time(t.BookingTime)
	h.str(t.Amount.String())
	for _, f := range []string{t.Currency, string(t.Status), t.Description, t.BankTransactionCode,
		t.BankTransactionSubCode, t.ProprietaryCode, t.ProprietaryIssuer} {
		h.str(f)
	}
	base := h.sum()
	n := k.seen[base]
	k.seen[base] = n + 1
	t.Key = "fp:" + hashFields(base, strconv.Itoa(n))
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

func transactionHash(t *insights.Transaction) string {
	var h fieldHash
	for _, f := range []string{t.AccountID, t.Key, t.TransactionID, string(t.Status)} {
		h.str(f)
	}
	h.time(t.BookingTime)
	h.time(t.ValueTime)
	h.str(t.BookingDate.String())
	h.str(t.Amount.String())
	for _, f := range []string{t.Currency, t.Description, t.Counterparty, t.MCC, t.BankTransactionCode,
		t.BankTransactionSubCode, t.ProprietaryCode, t.ProprietaryIssuer, string(t.Category), t.CategoryRule} {
		h.str(f)
	}
	return h.sum()
}
