package obie

import (
	"encoding/json"
	"reflect"
	"testing"
	"unicode/utf8"
)

// scanRecords are transaction records for TestScanTransaction_agrees, each
// with whether scanTransaction takes it or leaves it to the general
// decoder.
var scanRecords = []struct {
	record  string
	scanned bool
}{
	{`{}`, true},
	{` { "AccountId" : "A1" , "Amount" : { "Amount" : "1.00" , "Currency" : "GBP" } } `, true},
	{`{"AccountId":"A1","TransactionId":"T1","TransactionReference":"R","CreditDebitIndicator":"Debit",` +
		`"Status":"Booked","TransactionMutability":"Immutable","BookingDateTime":"2024-01-01T10:00:00Z",` +
		`"ValueDateTime":"2024-01-01T10:00:00+01:00","TransactionInformation":"Café £3 ☕",` +
		`"Amount":{"Amount":"1.00","Currency":"GBP"},"BankTransactionCode":{"Code":"C","SubCode":"S"},` +
		`"ProprietaryBankTransactionCode":{"Code":"PMT","Issuer":"Bank"},` +
		`"Balance":{"Amount":{"Amount":"9.00","Currency":"GBP","SubType":"x"},"CreditDebitIndicator":"Credit","Type":"InterimBooked"},` +
		`"MerchantDetails":{"MerchantName":"M","MerchantCategoryCode":"5411"},` +
		`"CreditorAccount":{"SchemeName":"UK.OBIE.SortCodeAccountNumber","Identification":"1","Name":"C"},` +
		`"DebtorAccount":{"Name":"D","SecondaryIdentification":"2"}}`, true},
	// Keys in another order than transactionKeys, and keys that skip
	// optional keys before them.
	{`{"Status":"Booked","AccountId":"A1","Amount":{"Currency":"GBP","Amount":"1.00"},"TransactionId":"T1"}`, true},
	{`{"AccountId":"A1","CreditDebitIndicator":"Debit","BookingDateTime":"2024-01-01T10:00:00Z","MerchantDetails":{"MerchantCategoryCode":"5411"}}`, true},
	// Unknown keys of every kind of value are skipped.
	{`{"AccountId":"A1","StatementReference":["a","b\n\u00e9"],"SupplementaryData":{"x":{"y":[1,-2.5e+3,0.1,true,false,null,{}]}},"Flags":[]}`, true},
	{`{"Amount":{},"Balance":{},"MerchantDetails":{"Other":1}}`, true},
	// Left to the general decoder.
	{`{"AccountId":"A\u0031"}`, false},
	{`{"AccountId":"A\/1"}`, false},
	{`{"accountid":"A1"}`, false},
	{`{"AccountID":"A1"}`, false},
	{`{"AccountId":"A1","AccountId":"A2"}`, false},
	{`{"Amount":{"Amount":"1"},"Amount":{"Currency":"GBP"}}`, false},
	{`{"AccountId":null}`, false},
	{`{"Amount":null}`, false},
	{`{"AccountId":1}`, false},
	{`{"Amount":"1.00"}`, false},
	{`{"Amount":{"Amount":1.00}}`, false},
	{`{"Amount":[]}`, false},
	{`{"\u0041ccountId":"A1"}`, false},
	{`{"Acc\u212aountId":"A1"}`, false},
	{"{\"AccountId\":\"A\t1\"}", false},
	{"{\"AccountId\":\"A\xff\"}", false},
	{`{"X":"\x"}`, false},
	{`{"X":"\u00g0"}`, false},
	{`{"X":01}`, false},
	{`{"X":1.}`, false},
	{`{"X":-}`, false},
	{`{"X":1e}`, false},
	{`{"X":.5}`, false},
	{`{"X":+1}`, false},
	{`{"X":tru}`, false},
	{`{"X":nullx}`, false},
	{`{"X":[1,]}`, false},
	{`{"X":{"a":1,}}`, false},
	{`{"X":{"a"}}`, false},
	{`{"X":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}`, false},
	{`{"AccountId":"A1",}`, false},
	{`{"AccountId":"A1"`, false},
	{`{"AccountId":"A1"} x`, false},
	{`{"AccountId":"A1"}}`, false},
	{`{"AccountId" "A1"}`, false},
	{`[]`, false},
	{``, false},
}

// TestScanTransaction_agrees scans each record three times: with no key
// order known, after the records before it (whose key orders differ),
// and after itself.
func TestScanTransaction_agrees(t *testing.T) {
	shared := new(keyOrders)
	for _, tc := range scanRecords {
		for _, orders := range []*keyOrders{nil, shared, shared} {
			var scanned Transaction
			ok := scanTransaction([]byte(tc.record), &scanned, nil, orders)
			if ok != tc.scanned {
				t.Errorf("scanTransaction(%s) = %v, want %v", tc.record, ok, tc.scanned)
				break
			}
			if ok {
				checkAsEncodingJSON(t, []byte(tc.record), &scanned)
			}
		}
	}
}

// checkAsEncodingJSON fails the test unless encoding/json decodes record
// without error into a Transaction equal to scanned.
func checkAsEncodingJSON(t *testing.T, record []byte, scanned *Transaction) {
	t.Helper()
	var want Transaction
	if err := json.Unmarshal(record, &want); err != nil {
		t.Fatalf("scanTransaction took %q, which encoding/json rejects: %v", record, err)
	}
	if !reflect.DeepEqual(*scanned, want) {
		t.Fatalf("scanTransaction(%s) decoded\n%+v\nencoding/json decodes\n%+v", record, *scanned, want)
	}
}

// generatedFeedLine is a transaction record of the feed that the ingest
// benchmarks generate.
var generatedFeedLine = []byte(`{"AccountId":"A3","TransactionId":"T18","CreditDebitIndicator":"Debit","Status":"Booked",` +
	`"BookingDateTime":"2024-01-01T00:18:54.000Z","ValueDateTime":"2024-01-01T00:18:54Z",` +
	`"TransactionInformation":"TESCO STORES 2231 REF 9","Amount":{"Amount":"10.63","Currency":"GBP"},` +
	`"BankTransactionCode":{"Code":"ReceivedCreditTransfer","SubCode":"DomesticCreditTransfer"},` +
	`"ProprietaryBankTransactionCode":{"Code":"PMT","Issuer":"Bank"},` +
	`"MerchantDetails":{"MerchantName":"TESCO STORES 2231","MerchantCategoryCode":"5411"}}`)

func TestScanTransaction_generatedFeedLine(t *testing.T) {
	// The shape of the benchmark feed's lines must take the scan, or the
	// benchmark measures the general decoder.
	line := generatedFeedLine
	var tx Transaction
	if !scanTransaction(line, &tx, nil, nil) {
		t.Fatal("scanTransaction did not take a line of the generated feed")
	}
	checkAsEncodingJSON(t, line, &tx)
}

// BenchmarkScanTransaction scans one record of the generated feed, as the
// file pipeline does for each line: nested records reused, key order
// known from the lines before.
func BenchmarkScanTransaction(b *testing.B) {
	var parts transactionParts
	var orders keyOrders
	for b.Loop() {
		var tx Transaction
		parts = transactionParts{}
		if !scanTransaction(generatedFeedLine, &tx, &parts, &orders) {
			b.Fatal("the record was not scanned")
		}
	}
}

// FuzzScanTransaction checks that whatever scanTransaction takes is valid
// JSON that encoding/json decodes to the same Transaction.
func FuzzScanTransaction(f *testing.F) {
	for _, tc := range scanRecords {
		f.Add([]byte(tc.record))
	}
	for _, path := range seedFiles(f, ".ndjson") {
		for _, line := range seedLines(f, path, 8) {
			if _, record, ok := splitLine(line); ok {
				f.Add(record)
			}
		}
	}
	f.Fuzz(func(t *testing.T, record []byte) {
		// The record is scanned with no key order known, after a record of
		// another order, and after itself. The key order must not change
		// what the scan takes or decodes.
		orders := new(keyOrders)
		var tx Transaction
		if !scanTransaction(generatedFeedLine, &tx, nil, orders) {
			t.Fatal("the generated feed line was not scanned")
		}
		var took []bool
		for _, o := range []*keyOrders{nil, orders, orders} {
			var scanned Transaction
			ok := scanTransaction(record, &scanned, nil, o)
			took = append(took, ok)
			if !ok {
				continue
			}
			if !utf8.Valid(record) {
				t.Fatalf("scanTransaction took invalid UTF-8 %q", record)
			}
			checkAsEncodingJSON(t, record, &scanned)
		}
		if took[0] != took[1] || took[0] != took[2] {
			t.Fatalf("scanTransaction(%q) took it %v: the key order changed the result", record, took)
		}
	})
}

// TestKeyLists_matchIndex checks that each key list and its index
// function agree, because scanner.key takes a key found at its expected
// place in a list without calling the index function, and that keyOrder
// has room for the list.
func TestKeyLists_matchIndex(t *testing.T) {
	lists := []struct {
		name  string
		keys  []string
		index func(key []byte) int
	}{
		{"transaction", transactionKeys, transactionKey},
		{"amount", amountKeys, amountKey},
		{"bank transaction code", bankCodeKeys, bankCodeKey},
		{"proprietary code", proprietaryCodeKeys, proprietaryCodeKey},
		{"transaction balance", transactionBalanceKeys, transactionBalanceKey},
		{"merchant", merchantKeys, merchantKey},
		{"cash account", cashAccountKeys, cashAccountKey},
	}
	for _, l := range lists {
		if len(l.keys) >= len(keyOrder{}.next) {
			t.Errorf("%s: %d keys, but keyOrder has room for %d", l.name, len(l.keys), len(keyOrder{}.next)-1)
		}
		for i, k := range l.keys {
			if got := l.index([]byte(k)); got != i {
				t.Errorf("%s: index(%q) = %d, want %d", l.name, k, got, i)
			}
		}
	}
}
