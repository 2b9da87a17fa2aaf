package obie

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

// unusualLines are NDJSON lines that the fast path must decode exactly as
// encoding/json does: malformed JSON, wrong types, duplicate and
// differently cased keys, escapes and extra keys.
var unusualLines = []string{
	`{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-01T10:00:00Z","Amount":{"Amount":"1.00","Currency":"GBP"}}}`,
	`{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-01T10:00:00Z","Amount":{"Amount":"1.001","Currency":"GBP"}}}`,
	`{"Transaction":{"accountid":"A1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-01T10:00:00Z","Amount":{"Amount":"1","Currency":"GBP"}}}`,
	`{"Transaction":{"AccountId":"A1","AccountId":"A2","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-01T10:00:00Z","Amount":{"Amount":"1"},"Amount":{"Currency":"GBP"}}}`,
	`{"Transaction":{"AccountId":1}}`,
	`{"Transaction":{"AccountId":"A1"}, "Account":{"AccountId":"A1"}}`,
	`{"Transaction":{"AccountId":"A1"}, "x":1}`,
	`{"Transaction":{"AccountId":"A1"},}`,
	`{"Transaction":{"AccountId":"A1\x"}}`,
	"{\"Transaction\":{\"AccountId\":\"A\t1\"}}",
	`{"Transaction":{"AccountId":"\ud800"}}`,
	`{"Transaction":{"AccountId":"A1","X":[1,{"a":nul}]}}`,
	`{"Transaction":{"AccountId":"A1"}`,
	`{"Transaction":null}`,
	`{"Transaction":[]}`,
	`{"\u0054ransaction":{"AccountId":"A1"}}`,
	`{"transaction":{"AccountId":"A1"}}`,
	`{ "Account" : { "AccountId" : "A1", "Currency" : "GBP" } }`,
	`{"Account":{"AccountId":"A1","Currency":"gbp"}}`,
	`{"Balance":{"AccountId":"A1","Amount":{"Amount":"5.00","Currency":"GBP"},"CreditDebitIndicator":"Credit","Type":"InterimAvailable","DateTime":"2024-01-01T10:00:00Z","CreditLine":[{"Included":true,"Amount":{"Amount":"100.00","Currency":"GBP"}}]}}`,
	`{"Party":{"PartyId":"P1","Name":"N","Address":{"AddressType":"Residential","Country":"GB"}}}`,
	`{"Party":{"PartyId":"P1","BirthDate":"2999-01-01","Address":[{"Country":"gb"}]}}`,
	`{"Party":{"PartyId":"P1","Address":"x"}}`,
	`{}`,
	`[]`,
	`{"Transaction":{}} x`,
	"{\"Transaction\":{\"AccountId\":\"A1\"}\u00a0}",
	"\u00a0{\"Transaction\":{\"AccountId\":\"A1\"}}",
	"{\"Transaction\":{\"AccountId\":\"A1\"}}\u0085",
}

func TestLineDecoder_fastPathAgrees(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	decode := func(fast bool) (*Payload, string) {
		fastLines = fast
		defer func() { fastLines = true }()
		lines := Decoder{Now: now}.NewLineDecoder("feed.ndjson")
		p := &Payload{}
		for i, line := range unusualLines {
			lines.Decode(i+1, []byte(line), p)
		}
		return p, lines.Errors.Error()
	}

	fastPayload, fastErrors := decode(true)
	slowPayload, slowErrors := decode(false)
	if fastErrors != slowErrors {
		t.Errorf("errors of the fast path:\n%s\nwant, as encoding/json gives:\n%s", fastErrors, slowErrors)
	}
	if !reflect.DeepEqual(records(fastPayload), records(slowPayload)) {
		t.Errorf("payload of the fast path:\n%+v\nwant, as encoding/json gives:\n%+v", fastPayload, slowPayload)
	}
}

func TestUnmarshal_agrees(t *testing.T) {
	for _, line := range unusualLines {
		var fast, slow map[string]json.RawMessage
		fastErr := unmarshal([]byte(line), &fast)
		slowErr := json.Unmarshal([]byte(line), &slow)
		if (fastErr == nil) != (slowErr == nil) || !reflect.DeepEqual(fast, slow) {
			t.Errorf("unmarshal(%s) = %v, %v; encoding/json gives %v, %v", line, fast, fastErr, slow, slowErr)
		}
		if validJSON([]byte(line)) != json.Valid([]byte(line)) {
			t.Errorf("validJSON(%s) = %v, encoding/json says %v", line, !json.Valid([]byte(line)), json.Valid([]byte(line)))
		}
	}
}

// records returns the records of p without the memory for nested records
// that only the fast path fills (Payload.parts).
func records(p *Payload) Payload {
	if p == nil {
		return Payload{}
	}
	return Payload{Accounts: p.Accounts, Balances: p.Balances, Transactions: p.Transactions, Parties: p.Parties}
}

// TestPayload_resetReusesNoRecord decodes lines into a Payload, resets it
// and decodes lines with fewer nested records. The second records must be
// what a new Payload gets, with nothing left from the first.
func TestPayload_resetReusesNoRecord(t *testing.T) {
	first := []string{
		`{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-01T10:00:00Z","Amount":{"Amount":"1.00","Currency":"GBP","SubType":"BaseCurrency"},"BankTransactionCode":{"Code":"IssuedDirectDebits","SubCode":"DirectDebitPayment"},"ProprietaryBankTransactionCode":{"Code":"DD","Issuer":"Bank"},"MerchantDetails":{"MerchantName":"SHOP","MerchantCategoryCode":"5411"}}}`,
		`{"Transaction":{"AccountId":"A1","TransactionId":"T2","CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2024-01-02T10:00:00Z","Amount":{"Amount":"2.00","Currency":"GBP"},"CreditorAccount":{"Name":"C"},"DebtorAccount":{"Name":"D"}}}`,
	}
	second := []string{
		`{"Transaction":{"AccountId":"A2","TransactionId":"T3","CreditDebitIndicator":"Debit","Status":"Pending","BookingDateTime":"2024-01-03T10:00:00Z","Amount":{"Amount":"3.00","Currency":"EUR"},"BankTransactionCode":{"Code":"ReceivedCreditTransfer","SubCode":"DomesticCreditTransfer"}}}`,
		`{"Transaction":{"AccountId":"A2","TransactionId":"T4","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2024-01-04T10:00:00Z","Amount":{"Amount":"4.00","Currency":"EUR"},"MerchantDetails":{"MerchantName":"CAFE"}}}`,
	}
	decode := func(p *Payload, lines []string) {
		d := Decoder{}.NewLineDecoder("feed.ndjson")
		for i, line := range lines {
			d.Decode(i+1, []byte(line), p)
		}
		if err := d.Errors.Err(); err != nil {
			t.Fatal(err)
		}
	}
	reused, fresh := &Payload{}, &Payload{}
	decode(reused, first)
	reused.Reset()
	decode(reused, second)
	decode(fresh, second)
	if len(reused.parts) != len(second) {
		t.Fatalf("reused payload holds %d nested parts, want %d", len(reused.parts), len(second))
	}
	if !reflect.DeepEqual(records(reused), records(fresh)) {
		t.Errorf("records after Reset:\n%s\nwant, as a new Payload gets:\n%s", transactionsJSON(t, reused), transactionsJSON(t, fresh))
	}
}

func transactionsJSON(t *testing.T, p *Payload) []byte {
	t.Helper()
	b, err := json.Marshal(p.Transactions)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSplitLine_forms(t *testing.T) {
	tests := []struct {
		line, name, record string
		ok                 bool
	}{
		{`{"Transaction":{"AccountId":"A1"}}`, ResourceTransaction, `{"AccountId":"A1"}`, true},
		{" \t{ \"Balance\" :\r\n {} } \n", ResourceBalance, `{}`, true},
		{`{"Party":{"PartyId":"P1"} }`, ResourceParty, `{"PartyId":"P1"}`, true},
		{"\u00a0{\"Account\":{}}", "", "", false},
		{"{\"Account\":{}}\u00a0", "", "", false},
		{`{"Other":{}}`, "", "", false},
		{`{"Transaction":[]}`, "", "", false},
		{`{"Transaction" {}}`, "", "", false},
		{`{"Transaction`, "", "", false},
		{` { } `, "", "", false},
		{``, "", "", false},
	}
	for _, tt := range tests {
		name, record, ok := splitLine([]byte(tt.line))
		if ok != tt.ok || name != tt.name || string(record) != tt.record {
			t.Errorf("splitLine(%q) = %q, %q, %v; want %q, %q, %v", tt.line, name, record, ok, tt.name, tt.record, tt.ok)
		}
	}
}
