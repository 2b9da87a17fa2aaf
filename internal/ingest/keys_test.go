package ingest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/zeebo/xxh3"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
)

func ozoneTransactions(t *testing.T) []insights.Transaction {
	t.Helper()
	data, err := os.ReadFile(testdata + "v3.1/transactions/cs-ozone-bulk-large.json")
	if err != nil {
		t.Fatal(err)
	}
	p, err := obie.Decoder{}.Decode("large.json", data)
	if err != nil {
		t.Fatal(err)
	}
	txs := make([]insights.Transaction, len(p.Transactions))
	for i := range p.Transactions {
		if txs[i], err = p.Transactions[i].ToDomain("c1", obie.London); err != nil {
			t.Fatal(err)
		}
	}
	setTransactionKeys(txs)
	return txs
}

func TestTransactionKeys_ozoneDistinct(t *testing.T) {
	txs := ozoneTransactions(t)
	keys := make(map[string]bool)
	fingerprinted := 0
	for _, tx := range txs {
		keys[tx.AccountID+"/"+tx.Key] = true
		if tx.Key[:3] == "fp:" {
			fingerprinted++
		}
	}
	if len(keys) != len(txs) {
		t.Errorf("distinct keys = %d, want %d", len(keys), len(txs))
	}
	if fingerprinted != 277 {
		t.Errorf("fingerprint keys = %d, want 277", fingerprinted)
	}

	// The same file gives the same keys.
	again := ozoneTransactions(t)
	for i := range txs {
		if txs[i].Key != again[i].Key {
			t.Fatalf("key of transaction %d differs between runs", i)
		}
	}
}

func TestTransactionKeys_occurrenceIndex(t *testing.T) {
	base := insights.Transaction{AccountID: "A1", Status: insights.StatusBooked, Amount: -620000, Currency: "GBP",
		BookingTime: time.Date(2017, 1, 2, 0, 0, 0, 0, time.UTC)}
	other := base
	other.Amount = -1988000
	withID := base
	withID.TransactionID = "X9"

	txs := []insights.Transaction{base, other, base, withID}
	setTransactionKeys(txs)
	if txs[0].Key == txs[2].Key {
		t.Error("identical entries share a key")
	}
	if txs[0].Key == txs[1].Key {
		t.Error("different amounts share a key")
	}
	if txs[3].Key != "id:X9" {
		t.Errorf("key with TransactionId = %q, want id:X9", txs[3].Key)
	}

	// A later file with the two identical entries gives them the same keys.
	later := []insights.Transaction{base, base}
	setTransactionKeys(later)
	if later[0].Key != txs[0].Key || later[1].Key != txs[2].Key {
		t.Error("keys of identical entries differ between files")
	}
}

func TestHashFields_unambiguous(t *testing.T) {
	if hashFields("ab", "c") == hashFields("a", "bc") {
		t.Error(`hashFields("ab","c") equals hashFields("a","bc")`)
	}
	if hashFields("a") == hashFields("a", "") {
		t.Error("a trailing empty field does not change the hash")
	}
}

// TestTransactionHash_sameAsFieldList pins the content hash to the XXH3
// of the length-prefixed formatted fields, and the fingerprint key to
// hashFields over them, so rows stored before keep matching new rows of
// the same content.
func TestTransactionHash_sameAsFieldList(t *testing.T) {
	txs := ozoneTransactions(t)
	txs = append(txs, insights.Transaction{AccountID: "A1", Status: insights.StatusPending, Amount: 5,
		Currency: "GBP", BookingTime: time.Date(2017, 6, 30, 23, 0, 0, 123456789, time.UTC),
		Description: "ÜBER 9", Category: insights.CategoryUncategorized})
	for i := range txs {
		tx := &txs[i]
		var input []byte
		for _, f := range []string{tx.AccountID, tx.Key, tx.TransactionID, string(tx.Status), formatTime(tx.BookingTime),
			formatTime(tx.ValueTime), tx.BookingDate.String(), tx.Amount.String(), tx.Currency, tx.Description,
			tx.Counterparty, tx.MCC, tx.BankTransactionCode, tx.BankTransactionSubCode, tx.ProprietaryCode,
			tx.ProprietaryIssuer, string(tx.Category), tx.CategoryRule} {
			input = appendField(input, f)
		}
		want := fmt.Sprintf("%016x", xxh3.Hash(input))
		if got := transactionHash(tx); got != want {
			t.Fatalf("transactionHash of transaction %d = %s, want %s", i, got, want)
		}

		fingerprinted := *tx
		fingerprinted.TransactionID = ""
		newKeyer().setKey(&fingerprinted)
		base := hashFields(tx.AccountID, formatTime(tx.BookingTime), tx.Amount.String(), tx.Currency,
			string(tx.Status), tx.Description, tx.BankTransactionCode, tx.BankTransactionSubCode,
			tx.ProprietaryCode, tx.ProprietaryIssuer)
		if want := "fp:" + hashFields(base, "0"); fingerprinted.Key != want {
			t.Fatalf("fingerprint key of transaction %d = %s, want %s", i, fingerprinted.Key, want)
		}
	}
}

func TestHashFields_lengthPrefixed(t *testing.T) {
	// SHA-256 of the bytes 02 'a' 'b' 01 'c': each field after its length
	// as an unsigned varint.
	want := sha256.Sum256([]byte("\x02ab\x01c"))
	if got := hashFields("ab", "c"); got != hex.EncodeToString(want[:]) {
		t.Errorf("hashFields(ab, c) = %s, want %x", got, want)
	}
	if hashFields("ab", "c") == hashFields("a", "bc") {
		t.Error("hashFields(ab, c) = hashFields(a, bc)")
	}
}

// TestAppendFields_sameAsStrings checks that the allocation-free field
// writers of the hashes write what the string formatting they replace
// writes, so content hashes of stored rows keep matching.
func TestAppendFields_sameAsStrings(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	times := []time.Time{
		{},
		time.Date(2017, 6, 30, 23, 0, 0, 123456789, time.UTC),
		time.Date(2017, 1, 1, 0, 0, 0, 999999, london),
		time.Date(1969, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Unix(0, 0),
	}
	amounts := []insights.Amount{0, 1, -1, 99999, 100000, -100000, 123456789, -5, math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	dates := []insights.Date{{}, {Year: 2024, Month: 2, Day: 29}, {Year: 7, Month: 1, Day: 5}, {Year: 12345, Month: 1, Day: 1},
		{Year: -1, Month: 1, Day: 1}, {Year: 2024, Month: 12, Day: 31}}
	// Values with every digit in every place, from a fixed seed.
	r := rand.New(rand.NewPCG(1, 2))
	for range 5000 {
		times = append(times, time.Unix(r.Int64N(253402300800), r.Int64N(1e9)))
		amounts = append(amounts, insights.Amount(r.Int64()>>r.IntN(63)), -insights.Amount(r.Int64N(1e12)))
		dates = append(dates, insights.Date{Year: r.IntN(10000), Month: time.Month(1 + r.IntN(12)), Day: 1 + r.IntN(28)})
	}
	for _, tm := range times {
		if got, want := appendTimeField(nil, tm), appendField(nil, formatTime(tm)); string(got) != string(want) {
			t.Errorf("appendTimeField(%v) = %q, want %q", tm, got, want)
		}
	}
	for _, a := range amounts {
		if got, want := appendAmountField(nil, a), appendField(nil, a.String()); string(got) != string(want) {
			t.Errorf("appendAmountField(%d) = %q, want %q", int64(a), got, want)
		}
	}
	for _, d := range dates {
		if got, want := appendDateField(nil, d), appendField(nil, d.String()); string(got) != string(want) {
			t.Errorf("appendDateField(%+v) = %q, want %q", d, got, want)
		}
	}
}

func TestTxSpan(t *testing.T) {
	at := func(minute int) time.Time { return time.Date(2026, 3, 1, 9, minute, 0, 0, time.UTC) }
	var s txSpan
	for _, tx := range []insights.Transaction{
		{AccountID: "B", BookingTime: at(30)},
		{AccountID: "A", BookingTime: at(5)},
		{AccountID: "A", BookingTime: at(50)},
		{AccountID: "B", BookingTime: at(10)},
	} {
		s.add(&tx)
	}
	if len(s.accounts) != 2 || !s.accounts["A"] || !s.accounts["B"] || s.tooMany {
		t.Errorf("accounts = %v, tooMany %v; want A and B", s.accounts, s.tooMany)
	}
	if s.first != at(5).UnixMilli() || s.last != at(50).UnixMilli() {
		t.Errorf("booking times %d to %d, want %d to %d", s.first, s.last, at(5).UnixMilli(), at(50).UnixMilli())
	}
	for i := range maxSpanAccounts {
		s.add(&insights.Transaction{AccountID: strconv.Itoa(i), BookingTime: at(20)})
	}
	if !s.tooMany {
		t.Errorf("%d accounts kept, more than maxSpanAccounts", len(s.accounts))
	}
}
