package obie

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// decodeTransactionCases are transaction records with the result
// decodeTransaction must give: decoded (and equal to encoding/json's
// result) or left to the other decoders.
var decodeTransactionCases = []struct {
	name    string
	record  string
	decoded bool
}{
	{"every field", `{"AccountId":"22289","TransactionId":"123","TransactionReference":"Ref 1","CreditDebitIndicator":"Debit","Status":"Booked","TransactionMutability":"Immutable","BookingDateTime":"2017-04-05T10:43:07+00:00","ValueDateTime":"2017-04-05T10:45:22+00:00","TransactionInformation":"Cash from Aubrey","Amount":{"Amount":"10.00","Currency":"GBP"},"BankTransactionCode":{"Code":"ReceivedCreditTransfer","SubCode":"DomesticCreditTransfer"},"ProprietaryBankTransactionCode":{"Code":"Transfer","Issuer":"AlphaBank"},"Balance":{"Amount":{"Amount":"230.00","Currency":"GBP"},"CreditDebitIndicator":"Credit","Type":"InterimBooked"},"MerchantDetails":{"MerchantName":"Shop","MerchantCategoryCode":"5411"},"CreditorAccount":{"SchemeName":"UK.OBIE.SortCodeAccountNumber","Identification":"80200112344562","Name":"Mr A"},"DebtorAccount":{"Name":"Ms B"}}`, true},
	{"empty object", `{}`, true},
	{"white space", " {\n\t\"AccountId\" : \"1\" ,\r\n \"Amount\" : { \"Amount\" : \"1.5\" , \"Currency\" : \"EUR\" } } \n", true},
	{"unknown fields of every type", `{"AccountId":"1","SupplementaryData":{"a":[1,-2.5e+3,0.25,true,false,null,{"b":"c\"\\\/\b\f\n\r\t\u00e9"}],"d":{}},"CardInstrument":{"CardSchemeName":"Visa"},"X":[],"Y":-0,"Z":1E9,"Amount":{"Amount":"2","Currency":"GBP","Extra":"x"}}`, true},
	{"non-ASCII text", `{"TransactionInformation":"咖啡 €3 — naïve","MerchantDetails":{"MerchantName":"Café"}}`, true},
	{"v4.0 codes", `{"AccountId":"1","CreditDebitIndicator":"DBIT","Status":"BOOK","BookingDateTime":"2024-01-01T00:00:00Z","Amount":{"Amount":"1","Currency":"GBP"}}`, true},

	{"key in other case", `{"accountid":"1"}`, false},
	{"nested key in other case", `{"Amount":{"amount":"1","Currency":"GBP"}}`, false},
	{"repeated field", `{"AccountId":"1","AccountId":"2"}`, false},
	{"repeated object", `{"Amount":{"Amount":"1"},"Amount":{"Currency":"GBP"}}`, false},
	{"null field", `{"AccountId":null}`, false},
	{"null object", `{"Amount":null}`, false},
	{"number field", `{"AccountId":1}`, false},
	{"number amount", `{"Amount":{"Amount":895.00,"Currency":"GBP"}}`, false},
	{"escaped value", `{"TransactionInformation":"a\"b"}`, false},
	{"escaped key", `{"Account\u0049d":"1"}`, false},
	{"control character", "{\"AccountId\":\"a\tb\"}", false},
	{"trailing comma", `{"AccountId":"1",}`, false},
	{"trailing data", `{"AccountId":"1"} {}`, false},
	{"missing colon", `{"AccountId" "1"}`, false},
	{"unclosed object", `{"AccountId":"1"`, false},
	{"unclosed string", `{"AccountId":"1}`, false},
	{"bad number in unknown field", `{"X":01}`, false},
	{"bad fraction in unknown field", `{"X":1.}`, false},
	{"bad exponent in unknown field", `{"X":1e}`, false},
	{"bad literal in unknown field", `{"X":nul}`, false},
	{"bad escape in unknown field", `{"X":"\x"}`, false},
	{"short unicode escape in unknown field", `{"X":"\u12"}`, false},
	{"array", `[]`, false},
}

// TestDecodeTransaction_agreesWithEncodingJSON decodes each case and checks
// that decodeTransaction decodes what it should, with the result
// encoding/json gives.
func TestDecodeTransaction_agreesWithEncodingJSON(t *testing.T) {
	for _, tc := range decodeTransactionCases {
		t.Run(tc.name, func(t *testing.T) {
			var got Transaction
			decoded := decodeTransaction([]byte(tc.record), &got)
			if decoded != tc.decoded {
				t.Fatalf("decodeTransaction(%s) = %v, want %v", tc.record, decoded, tc.decoded)
			}
			if decoded {
				checkSameAsEncodingJSON(t, []byte(tc.record), &got)
			}
		})
	}
}

// TestDecodeTransaction_publishedExamples decodes every transaction of the
// published OBIE example responses under testdata: each must be decoded
// with the result encoding/json gives, unless it holds an escape sequence.
func TestDecodeTransaction_publishedExamples(t *testing.T) {
	files, err := filepath.Glob("../../testdata/obie/*/transactions/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transaction examples under testdata: %v", err)
	}
	decoded := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var envelope struct {
			Data struct {
				Transaction []json.RawMessage
			}
		}
		if err := json.Unmarshal(data, &envelope); err != nil {
			continue // the examples of invalid input
		}
		for i, raw := range envelope.Data.Transaction {
			var got Transaction
			if !decodeTransaction(raw, &got) {
				if bytes.IndexByte(raw, '\\') < 0 {
					t.Errorf("%s, transaction %d not decoded: %s", path, i, raw)
				}
				continue
			}
			decoded++
			checkSameAsEncodingJSON(t, raw, &got)
		}
	}
	if decoded == 0 {
		t.Error("no published transaction was decoded")
	}
}

// FuzzDecodeTransaction checks that whatever decodeTransaction decodes,
// encoding/json decodes alike.
func FuzzDecodeTransaction(f *testing.F) {
	for _, tc := range decodeTransactionCases {
		f.Add([]byte(tc.record))
	}
	f.Fuzz(func(t *testing.T, record []byte) {
		var got Transaction
		if decodeTransaction(record, &got) {
			checkSameAsEncodingJSON(t, record, &got)
		}
	})
}

// checkSameAsEncodingJSON fails the test unless encoding/json decodes
// record into got's value.
func checkSameAsEncodingJSON(t *testing.T, record []byte, got *Transaction) {
	t.Helper()
	var want Transaction
	if err := json.Unmarshal(record, &want); err != nil {
		t.Fatalf("decodeTransaction decoded %q, which encoding/json rejects: %v", record, err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("decodeTransaction(%s)\ngot  %+v\nwant %+v", record, *got, want)
	}
}
