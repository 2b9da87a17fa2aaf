package obie

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testdata = "../../testdata/obie"

// decodeErrors decodes data and returns its problems; it fails the test
// when the error is not an *ErrorList.
func decodeErrors(t *testing.T, source string, data []byte) (*Payload, *ErrorList) {
	t.Helper()
	p, err := Decoder{Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }}.Decode(source, data)
	if err == nil {
		return p, nil
	}
	var list *ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error %v is not an *ErrorList", err)
	}
	return p, list
}

func TestDecode_publishedFiles(t *testing.T) {
	var files []string
	err := filepath.WalkDir(testdata, func(path string, d fs.DirEntry, err error) error {
		// Payment order files have a decoder of their own; see
		// TestDecodeOrders_publishedFiles.
		if err == nil && strings.HasSuffix(path, ".json") && !isOrderFile(path) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 40 {
		t.Fatalf("found %d payload files under %s, want the 41 copied", len(files), testdata)
	}

	for _, path := range files {
		name, _ := filepath.Rel(testdata, path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			p, list := decodeErrors(t, name, data)
			base := filepath.Base(name)

			switch {
			case strings.HasSuffix(base, ".invalid.json"):
				if list == nil {
					t.Fatal("accepted a file that is not valid JSON")
				}
				e := list.Errors[0]
				if e.Line == 0 || e.Column == 0 || !strings.Contains(e.Reason, "invalid JSON") {
					t.Errorf("error = %v, want a syntax error with line and column", e)
				}
			case base == "cs-schema-invalid-empty-transaction-reference.json":
				// The conformance suite rejects TransactionReference "" for
				// its minLength, but an empty string reads as an absent
				// field here, and the reference is optional.
				if list != nil {
					t.Fatalf("rejected: %v", list)
				}
			case strings.HasPrefix(base, "cs-schema-invalid-"):
				if list == nil {
					t.Fatal("accepted a schema-invalid file")
				}
				if e := list.Errors[0]; !strings.HasPrefix(e.Path, "$.Data.") {
					t.Errorf("error = %v, want a path into Data", e)
				}
			default:
				if list != nil {
					t.Fatalf("rejected: %v", list)
				}
				if n := len(p.Accounts) + len(p.Balances) + len(p.Transactions) + len(p.Parties); n == 0 {
					t.Error("decoded no records")
				}
			}
		})
	}
}

func TestDecode_ozoneCounts(t *testing.T) {
	data, err := os.ReadFile(testdata + "/v3.1/transactions/cs-ozone-bulk-large.json")
	if err != nil {
		t.Fatal(err)
	}
	p, list := decodeErrors(t, "large.json", data)
	if list != nil {
		t.Fatal(list)
	}
	if len(p.Transactions) != 315 {
		t.Errorf("transactions = %d, want 315", len(p.Transactions))
	}
	withoutID := 0
	for _, tx := range p.Transactions {
		if tx.TransactionID == "" {
			withoutID++
		}
	}
	if withoutID != 277 {
		t.Errorf("transactions without TransactionId = %d, want 277", withoutID)
	}
}

// transactionJSON returns a valid v3.1 transaction with the given fields
// replaced, or removed where the value is nil.
func transactionJSON(t *testing.T, changes map[string]any) map[string]any {
	t.Helper()
	tx := map[string]any{
		"AccountId":            "22289",
		"TransactionId":        "123",
		"CreditDebitIndicator": "Credit",
		"Status":               "Booked",
		"BookingDateTime":      "2017-04-05T10:43:07+00:00",
		"ValueDateTime":        "2017-04-05T10:45:22+00:00",
		"Amount":               map[string]any{"Amount": "10.00", "Currency": "GBP"},
	}
	for k, v := range changes {
		if v == nil {
			delete(tx, k)
			continue
		}
		if sub, ok := v.(map[string]any); ok && k == "Amount" {
			merged := map[string]any{"Amount": "10.00", "Currency": "GBP"}
			for sk, sv := range sub {
				if sv == nil {
					delete(merged, sk)
				} else {
					merged[sk] = sv
				}
			}
			v = merged
		}
		tx[k] = v
	}
	return tx
}

func envelope(t *testing.T, resource string, records ...any) []byte {
	t.Helper()
	data, err := json.Marshal(map[string]any{
		"Data":  map[string]any{resource: records},
		"Links": map[string]any{"Self": "https://bank.example/open-banking/v3.1/aisp/transactions"},
		"Meta":  map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// wantOneError checks that list holds exactly one error, at path, whose
// reason contains reason.
func wantOneError(t *testing.T, list *ErrorList, path, reason string) {
	t.Helper()
	if list == nil {
		t.Fatalf("accepted; want an error at %s", path)
	}
	if len(list.Errors) != 1 {
		t.Fatalf("got %d errors, want 1: %v", len(list.Errors), list)
	}
	e := list.Errors[0]
	if e.Path != path {
		t.Errorf("path = %q, want %q (%v)", e.Path, path, e)
	}
	if !strings.Contains(e.Reason, reason) {
		t.Errorf("reason = %q, want it to contain %q", e.Reason, reason)
	}
}

func TestDecode_transactionRules(t *testing.T) {
	const at = "$.Data.Transaction[0]"
	tests := []struct {
		name    string
		changes map[string]any
		path    string // "" means valid
		reason  string
	}{
		{"valid", nil, "", ""},
		{"decimal comma", map[string]any{"Amount": map[string]any{"Amount": "12,30"}}, at + ".Amount.Amount", `invalid amount "12,30"`},
		{"exponent", map[string]any{"Amount": map[string]any{"Amount": "1e3"}}, at + ".Amount.Amount", `invalid amount "1e3"`},
		{"negative", map[string]any{"Amount": map[string]any{"Amount": "-5"}}, at + ".Amount.Amount", "unsigned"},
		{"plus sign", map[string]any{"Amount": map[string]any{"Amount": "+5"}}, at + ".Amount.Amount", "unsigned"},
		{"six decimals", map[string]any{"Amount": map[string]any{"Amount": "1.123456"}}, at + ".Amount.Amount", "invalid amount"},
		{"fourteen digits", map[string]any{"Amount": map[string]any{"Amount": "12345678901234"}}, at + ".Amount.Amount", "invalid amount"},
		{"trailing dot", map[string]any{"Amount": map[string]any{"Amount": "1."}}, at + ".Amount.Amount", "invalid amount"},
		{"leading dot", map[string]any{"Amount": map[string]any{"Amount": ".5"}}, at + ".Amount.Amount", "invalid amount"},
		{"space", map[string]any{"Amount": map[string]any{"Amount": " 1"}}, at + ".Amount.Amount", "invalid amount"},
		{"amount as number", map[string]any{"Amount": map[string]any{"Amount": 12.3}}, at + ".Amount.Amount", "want string, got number 12.3"},
		{"amount missing", map[string]any{"Amount": map[string]any{"Amount": nil}}, at + ".Amount.Amount", "missing"},
		{"amount empty", map[string]any{"Amount": map[string]any{"Amount": ""}}, at + ".Amount.Amount", "missing"},
		{"amount object missing", map[string]any{"Amount": nil}, at + ".Amount", "missing"},
		{"leading zero ok", map[string]any{"Amount": map[string]any{"Amount": "03.75"}}, "", ""},
		{"five decimals beyond minor units", map[string]any{"Amount": map[string]any{"Amount": "0.00001"}}, at + ".Amount.Amount", "GBP has 2 decimals"},
		{"GBP three decimals", map[string]any{"Amount": map[string]any{"Amount": "1.234"}}, at + ".Amount.Amount", `invalid amount "1.234": GBP has 2 decimals`},
		{"JPY one decimal", map[string]any{"Amount": map[string]any{"Amount": "100.5", "Currency": "JPY"}}, at + ".Amount.Amount", "JPY has 0 decimals"},
		{"KWD three decimals ok", map[string]any{"Amount": map[string]any{"Amount": "1.234", "Currency": "KWD"}}, "", ""},
		{"trailing zeros ok", map[string]any{"Amount": map[string]any{"Amount": "12.50000"}}, "", ""},
		{"zero ok", map[string]any{"Amount": map[string]any{"Amount": "0.0"}}, "", ""},
		{"lower-case currency", map[string]any{"Amount": map[string]any{"Currency": "gbp"}}, at + ".Amount.Currency", `invalid currency "gbp"`},
		{"two-letter currency", map[string]any{"Amount": map[string]any{"Currency": "GB"}}, at + ".Amount.Currency", "invalid currency"},
		{"currency missing", map[string]any{"Amount": map[string]any{"Currency": nil}}, at + ".Amount.Currency", "missing"},
		{"indicator case", map[string]any{"CreditDebitIndicator": "credit"}, at + ".CreditDebitIndicator", `invalid value "credit"`},
		{"indicator missing", map[string]any{"CreditDebitIndicator": nil}, at + ".CreditDebitIndicator", "missing"},
		{"unknown status", map[string]any{"Status": "Settled"}, at + ".Status", `invalid value "Settled"`},
		{"status missing", map[string]any{"Status": nil}, at + ".Status", "missing"},
		{"v4 status PDNG", map[string]any{"Status": "PDNG"}, "", ""},
		{"v4 status FUTR", map[string]any{"Status": "FUTR"}, "", ""},
		{"bad mutability", map[string]any{"TransactionMutability": "Fixed"}, at + ".TransactionMutability", `invalid value "Fixed"`},
		{"date only", map[string]any{"BookingDateTime": "2017-04-05"}, at + ".BookingDateTime", `invalid date-time "2017-04-05"`},
		{"day-month-year", map[string]any{"BookingDateTime": "01-05-2002"}, at + ".BookingDateTime", "invalid date-time"},
		{"space separator", map[string]any{"BookingDateTime": "2017-04-05 10:43:07Z"}, at + ".BookingDateTime", "invalid date-time"},
		{"offset without colon", map[string]any{"BookingDateTime": "2017-04-05T10:43:07+0000"}, at + ".BookingDateTime", "invalid date-time"},
		{"month 13", map[string]any{"BookingDateTime": "2017-13-05T10:43:07Z"}, at + ".BookingDateTime", "out of range"},
		{"30 February", map[string]any{"BookingDateTime": "2017-02-30T10:43:07Z"}, at + ".BookingDateTime", "out of range"},
		{"RFC 1123", map[string]any{"BookingDateTime": "Sun, 10 Sep 2017 19:43:31 GMT"}, at + ".BookingDateTime", "invalid date-time"},
		{"booking missing", map[string]any{"BookingDateTime": nil}, at + ".BookingDateTime", "missing"},
		{"bad value date", map[string]any{"ValueDateTime": "11-Dec-17"}, at + ".ValueDateTime", "invalid date-time"},
		{"fraction ok", map[string]any{"BookingDateTime": "2019-09-16T01:59:39.629Z"}, "", ""},
		{"no offset ok", map[string]any{"BookingDateTime": "2017-04-05T10:43:07"}, "", ""},
		{"account missing", map[string]any{"AccountId": nil}, at + ".AccountId", "missing"},
		{"account empty", map[string]any{"AccountId": ""}, at + ".AccountId", "missing"},
		{"account too long", map[string]any{"AccountId": strings.Repeat("9", 41)}, at + ".AccountId", "too long: 41 characters"},
		{"account of 40 characters in 80 bytes", map[string]any{"AccountId": strings.Repeat("é", 40)}, "", ""},
		{"account of 41 characters in 82 bytes", map[string]any{"AccountId": strings.Repeat("é", 41)}, at + ".AccountId", "too long: 41 characters"},
		{"account as number", map[string]any{"AccountId": 22289}, at + ".AccountId", "want string, got number 22289"},
		{"code without subcode", map[string]any{"BankTransactionCode": map[string]any{"Code": "ReceivedCreditTransfer"}}, at + ".BankTransactionCode.SubCode", "missing"},
		{"running balance type", map[string]any{"Balance": map[string]any{"Amount": map[string]any{"Amount": "1.00", "Currency": "GBP"}, "CreditDebitIndicator": "Credit", "Type": "Bogus"}}, at + ".Balance.Type", `invalid value "Bogus"`},
		{"merchant code length", map[string]any{"MerchantDetails": map[string]any{"MerchantCategoryCode": "58745"}}, at + ".MerchantDetails.MerchantCategoryCode", "3 or 4 characters"},
		{"unknown field ignored", map[string]any{"MyFatMergeField": 1}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, list := decodeErrors(t, "t.json", envelope(t, "Transaction", transactionJSON(t, tt.changes)))
			if tt.path == "" {
				if list != nil {
					t.Fatalf("rejected: %v", list)
				}
				return
			}
			wantOneError(t, list, tt.path, tt.reason)
		})
	}
}

func TestDecode_balanceAccountPartyRules(t *testing.T) {
	balance := func(changes map[string]any) map[string]any {
		b := map[string]any{
			"AccountId":            "22289",
			"Amount":               map[string]any{"Amount": "800.00", "Currency": "GBP"},
			"CreditDebitIndicator": "Credit",
			"Type":                 "InterimAvailable",
			"DateTime":             "2017-04-05T10:43:07+00:00",
		}
		for k, v := range changes {
			if v == nil {
				delete(b, k)
			} else {
				b[k] = v
			}
		}
		return b
	}
	tests := []struct {
		name     string
		resource string
		record   any
		path     string
		reason   string
	}{
		{"balance valid", "Balance", balance(nil), "", ""},
		{"balance v4 type", "Balance", balance(map[string]any{"Type": "ITAV"}), "", ""},
		{"balance bad type", "Balance", balance(map[string]any{"Type": "Available"}), "$.Data.Balance[0].Type", `invalid value "Available"`},
		{"balance no date-time", "Balance", balance(map[string]any{"DateTime": nil}), "$.Data.Balance[0].DateTime", "missing"},
		{"balance no amount", "Balance", balance(map[string]any{"Amount": nil}), "$.Data.Balance[0].Amount", "missing"},
		{"balance no indicator", "Balance", balance(map[string]any{"CreditDebitIndicator": nil}), "$.Data.Balance[0].CreditDebitIndicator", "missing"},
		{"balance no account", "Balance", balance(map[string]any{"AccountId": nil}), "$.Data.Balance[0].AccountId", "missing"},
		{"credit line no included", "Balance", balance(map[string]any{"CreditLine": []any{map[string]any{"Type": "Temporary"}}}), "$.Data.Balance[0].CreditLine[0].Included", "missing"},
		{"credit line bad type", "Balance", balance(map[string]any{"CreditLine": []any{map[string]any{"Included": true, "Type": "Overdraft"}}}), "$.Data.Balance[0].CreditLine[0].Type", `invalid value "Overdraft"`},
		{"balance bad sub type", "Balance", balance(map[string]any{"Amount": map[string]any{"Amount": "1", "Currency": "GBP", "SubType": "Base"}}), "$.Data.Balance[0].Amount.SubType", `invalid value "Base"`},
		{"account valid", "Account", map[string]any{"AccountId": "1", "Currency": "GBP", "AccountSubType": "Other"}, "", ""},
		{"account no currency", "Account", map[string]any{"AccountId": "1"}, "$.Data.Account[0].Currency", "missing"},
		{"account bad type", "Account", map[string]any{"AccountId": "1", "Currency": "GBP", "AccountType": "Private"}, "$.Data.Account[0].AccountType", `invalid value "Private"`},
		{"account bad category", "Account", map[string]any{"AccountId": "1", "Currency": "GBP", "AccountCategory": "PERS"}, "$.Data.Account[0].AccountCategory", `invalid value "PERS"`},
		{"account bad status", "Account", map[string]any{"AccountId": "1", "Currency": "GBP", "Status": "Open"}, "$.Data.Account[0].Status", `invalid value "Open"`},
		{"party valid", "Party", map[string]any{"PartyId": "P1", "BirthDate": "1990-02-28"}, "", ""},
		{"party no id", "Party", map[string]any{"Name": "Someone"}, "$.Data.Party[0].PartyId", "missing"},
		{"party bad type", "Party", map[string]any{"PartyId": "P1", "PartyType": "Owner"}, "$.Data.Party[0].PartyType", `invalid value "Owner"`},
		{"birth date month 13", "Party", map[string]any{"PartyId": "P1", "BirthDate": "1990-13-01"}, "$.Data.Party[0].BirthDate", "invalid birth date"},
		{"birth date slashes", "Party", map[string]any{"PartyId": "P1", "BirthDate": "01/02/1990"}, "$.Data.Party[0].BirthDate", "invalid birth date"},
		{"birth date with time", "Party", map[string]any{"PartyId": "P1", "BirthDate": "1990-02-01T00:00:00Z"}, "$.Data.Party[0].BirthDate", "invalid birth date"},
		{"birth date future", "Party", map[string]any{"PartyId": "P1", "BirthDate": "2027-01-01"}, "$.Data.Party[0].BirthDate", "after today"},
		{"birth date 29 February", "Party", map[string]any{"PartyId": "P1", "BirthDate": "2001-02-29"}, "$.Data.Party[0].BirthDate", "invalid birth date"},
		{"address bad country", "Party", map[string]any{"PartyId": "P1", "Address": map[string]any{"Country": "GBR"}}, "$.Data.Party[0].Address[0].Country", `invalid country "GBR"`},
		{"address bad type", "Party", map[string]any{"PartyId": "P1", "Address": []any{map[string]any{"AddressType": "Home"}}}, "$.Data.Party[0].Address[0].AddressType", `invalid value "Home"`},
		{"address wrong type", "Party", map[string]any{"PartyId": "P1", "Address": "1 High St"}, "$.Data.Party[0].Address", "want array, got string"},
		{"address element wrong type", "Party", map[string]any{"PartyId": "P1", "Address": []any{"1 High St"}}, "$.Data.Party[0].Address[0]", "want an object, got string"},
		{"address member wrong type", "Party", map[string]any{"PartyId": "P1", "Address": []any{map[string]any{"Country": "GB"}, map[string]any{"Country": 5}}}, "$.Data.Party[0].Address[1].Country", "want string, got number 5"},
		{"single address member wrong type", "Party", map[string]any{"PartyId": "P1", "Address": map[string]any{"AddressLine": "1 High St"}}, "$.Data.Party[0].Address.AddressLine", "want array, got string"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, list := decodeErrors(t, "t.json", envelope(t, tt.resource, tt.record))
			if tt.path == "" {
				if list != nil {
					t.Fatalf("rejected: %v", list)
				}
				return
			}
			wantOneError(t, list, tt.path, tt.reason)
		})
	}
}

func TestDecode_envelopeShape(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		path   string
		reason string
	}{
		{"no data", `{"Links":{}}`, "$.Data", "missing"},
		{"data array", `{"Data":[]}`, "$.Data", "want an object"},
		{"no resource", `{"Data":{"Product":[]}}`, "$.Data", "holds none"},
		{"transaction object", `{"Data":{"Transaction":{"AccountId":"1"}}}`, "$.Data.Transaction", "want an array"},
		{"account object", `{"Data":{"Account":{"AccountId":"1"}}}`, "$.Data.Account", "want an array"},
		{"record string", `{"Data":{"Account":["x"]}}`, "$.Data.Account[0]", "want an object, got string"},
		{"top array", `[]`, "$", "want a JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, list := decodeErrors(t, "t.json", []byte(tt.body))
			wantOneError(t, list, tt.path, tt.reason)
		})
	}
}

func TestDecode_singleObjects(t *testing.T) {
	body := `{"Data":{"Party":{"PartyId":"P1","Address":{"AddressType":"Residential","PostCode":"NW1 1AB","Country":"GB"}},
"Balance":{"AccountId":"1","Amount":{"Amount":"1","Currency":"GBP"},"CreditDebitIndicator":"Debit","Type":"CLBD","DateTime":"2024-01-01T00:00:00Z"}}}`
	p, list := decodeErrors(t, "t.json", []byte(body))
	if list != nil {
		t.Fatal(list)
	}
	if len(p.Parties) != 1 || len(p.Parties[0].Address) != 1 {
		t.Fatalf("parties = %+v, want one with one address", p.Parties)
	}
	if p.Parties[0].Address[0].PostCode != "NW1 1AB" {
		t.Errorf("post code = %q", p.Parties[0].Address[0].PostCode)
	}
	if len(p.Balances) != 1 {
		t.Errorf("balances = %d, want 1", len(p.Balances))
	}
}

func TestDecode_syntaxErrorLocated(t *testing.T) {
	body := "{\n  \"Data\": {\n    \"Transaction\": [,]\n  }\n}"
	_, list := decodeErrors(t, "t.json", []byte(body))
	if list == nil {
		t.Fatal("accepted invalid JSON")
	}
	e := list.Errors[0]
	if e.Line != 3 || e.Column != 21 {
		t.Errorf("position = %d:%d, want 3:21 (%v)", e.Line, e.Column, e)
	}
}

func TestDecode_invalidUTF8(t *testing.T) {
	tx := transactionJSON(t, map[string]any{"TransactionInformation": "PLACEHOLDER"})
	data := envelope(t, "Transaction", tx)
	data = []byte(strings.Replace(string(data), "PLACEHOLDER", "caf\xe9", 1))

	_, list := decodeErrors(t, "t.json", data)
	wantOneError(t, list, "$.Data.Transaction[0].TransactionInformation", "not valid UTF-8")
	if e := list.Errors[0]; e.Line != 1 || e.Column != strings.Index(string(data), "\xe9")+1 {
		t.Errorf("position = %d:%d, want 1:%d", e.Line, e.Column, strings.Index(string(data), "\xe9")+1)
	}

	// The same in an NDJSON line, and in an object key.
	ndjson := "\n{\"Transaction\":{\"AccountId\":\"1\",\"Note\xff\":\"x\"}}\n"
	_, list = decodeErrors(t, "t.ndjson", []byte(ndjson))
	wantOneError(t, list, "$.Transaction", "object key is not valid UTF-8")
	if e := list.Errors[0]; e.Line != 2 {
		t.Errorf("line = %d, want 2", e.Line)
	}
}

func TestDecode_ndjson(t *testing.T) {
	lines := []string{
		`{"Account":{"AccountId":"A1","Currency":"GBP"}}`,
		``,
		`{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Debit","Status":"BOOK","BookingDateTime":"2024-05-01T09:00:00Z","Amount":{"Amount":"1.5","Currency":"GBP"}}}`,
		`   `,
		`{"Balance":{"AccountId":"A1","Amount":{"Amount":"1","Currency":"GBP"},"CreditDebitIndicator":"Credit","Type":"ITBD","DateTime":"2024-05-01T09:00:00Z"}}`,
		`{"Party":{"PartyId":"P1"}}`,
	}
	p, list := decodeErrors(t, "feed.ndjson", []byte(strings.Join(lines, "\r\n")))
	if list != nil {
		t.Fatal(list)
	}
	if len(p.Accounts) != 1 || len(p.Transactions) != 1 || len(p.Balances) != 1 || len(p.Parties) != 1 {
		t.Errorf("payload = %d accounts, %d transactions, %d balances, %d parties, want one each",
			len(p.Accounts), len(p.Transactions), len(p.Balances), len(p.Parties))
	}

	bad := []string{
		`{"Account":{"AccountId":"A1","Currency":"GBP"}}`,
		``,
		`{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Debit","Status":"BOOK","BookingDateTime":"2024-05-01","Amount":{"Amount":"1.5","Currency":"GBP"}}}`,
		`{"Account":{"AccountId":"A2","Currency":"GBP"},"Party":{"PartyId":"P1"}}`,
		`{"Product":{}}`,
		`{"Account":{"AccountId":"A3",}}`,
	}
	_, list = decodeErrors(t, "feed.ndjson", []byte(strings.Join(bad, "\n")))
	if list == nil {
		t.Fatal("accepted bad lines")
	}
	want := []struct {
		line   int
		path   string
		reason string
	}{
		{3, "$.Transaction.BookingDateTime", "invalid date-time"},
		{4, "$", "want exactly one key"},
		{5, "$", `unknown resource "Product"`},
		{6, "", "invalid JSON"},
	}
	if len(list.Errors) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(list.Errors), len(want), list)
	}
	for i, w := range want {
		e := list.Errors[i]
		if e.Line != w.line || e.Path != w.path || !strings.Contains(e.Reason, w.reason) {
			t.Errorf("error %d = %v, want line %d, path %q, reason with %q", i, e, w.line, w.path, w.reason)
		}
	}
	if got := list.Errors[0].Error(); got != "feed.ndjson:3: $.Transaction.BookingDateTime: invalid date-time \"2024-05-01\": "+errDateTime.Error() {
		t.Errorf("Error() = %q", got)
	}
}

func TestErrorList_cap(t *testing.T) {
	var records []any
	for range MaxErrors + 50 {
		records = append(records, transactionJSON(t, map[string]any{"Status": "Unknown"}))
	}
	_, list := decodeErrors(t, "t.json", envelope(t, "Transaction", records...))
	if list == nil {
		t.Fatal("accepted")
	}
	if len(list.Errors) != MaxErrors {
		t.Errorf("kept %d errors, want %d", len(list.Errors), MaxErrors)
	}
	if list.Omitted != 50 || list.Len() != MaxErrors+50 {
		t.Errorf("Omitted = %d, Len = %d, want 50 and %d", list.Omitted, list.Len(), MaxErrors+50)
	}
	if last := list.Errors[MaxErrors-1].Path; last != fmt.Sprintf("$.Data.Transaction[%d].Status", MaxErrors-1) {
		t.Errorf("last kept path = %s", last)
	}
	if !strings.HasSuffix(list.Error(), "... and 50 more") {
		t.Errorf("Error() does not end with the omitted count: %q", list.Error()[len(list.Error())-40:])
	}
}

func TestDecode_reasonsOmitPersonalValues(t *testing.T) {
	const secret = "Kevin Bartholomew Atkinson 80200110203345"
	records := []any{
		transactionJSON(t, map[string]any{"TransactionInformation": strings.Repeat(secret, 20)}),
		transactionJSON(t, map[string]any{"AccountId": secret}),
	}
	_, list := decodeErrors(t, "t.json", envelope(t, "Transaction", records...))
	_, partyList := decodeErrors(t, "p.json", envelope(t, "Party", map[string]any{"PartyId": "P1", "BirthDate": "1971-02-31"}))
	if list == nil || partyList == nil {
		t.Fatal("accepted")
	}
	for _, msg := range []string{list.Error(), partyList.Error()} {
		if strings.Contains(msg, "Kevin") || strings.Contains(msg, "80200110203345") || strings.Contains(msg, "1971") {
			t.Errorf("message echoes a personal value: %s", msg)
		}
	}
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{
		"v3.1.11/transactions/bulk.json",
		"v3.1.11/balances/bulk.json",
		"v3.1.11/party/account-party-owner.json",
		"v4.0/accounts/bulk-detail-permission.json",
	} {
		data, err := os.ReadFile(filepath.Join(testdata, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data, false)
	}
	f.Add([]byte(`{"Transaction":{"AccountId":"1","CreditDebitIndicator":"Debit","Status":"PDNG","BookingDateTime":"2024-03-31T01:30:00","Amount":{"Amount":"0.1","Currency":"GBP"}}}`), true)

	now := func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }
	f.Fuzz(func(t *testing.T, data []byte, ndjson bool) {
		source := "f.json"
		if ndjson {
			source = "f.ndjson"
		}
		p, err := Decoder{Now: now}.Decode(source, data)
		if err != nil {
			var list *ErrorList
			if !errors.As(err, &list) || list.Len() == 0 {
				t.Fatalf("error %v is not a non-empty *ErrorList", err)
			}
			return
		}
		// Whatever validates must convert.
		for i := range p.Transactions {
			if _, err := p.Transactions[i].ToDomain("c", London); err != nil {
				t.Fatalf("valid transaction %d does not convert: %v", i, err)
			}
		}
		for i := range p.Balances {
			if _, err := p.Balances[i].ToDomain("c", London); err != nil {
				t.Fatalf("valid balance %d does not convert: %v", i, err)
			}
		}
	})
}

func TestFieldPath(t *testing.T) {
	tests := []struct{ field, want string }{
		{"Amount", ".Amount"},
		{"Amount.Currency", ".Amount.Currency"},
		{"CreditLine.0.Amount", ".CreditLine[0].Amount"},
		{"Address.12", ".Address[12]"},
	}
	for _, tt := range tests {
		if got := fieldPath(tt.field); got != tt.want {
			t.Errorf("fieldPath(%q) = %q, want %q", tt.field, got, tt.want)
		}
	}
}

func TestDecodeNDJSON_syntaxErrors(t *testing.T) {
	tests := []struct {
		name, line string
		column     int
		reason     string
	}{
		{"plain text", "this line is not JSON", 1, `invalid JSON: want an object starting with '{', found 't'`},
		{"indented number list", "  12,30", 3, `invalid JSON: want an object starting with '{', found '1'`},
		{"non-ASCII text", "äöü", 1, `invalid JSON: want an object starting with '{', found 'ä'`},
		{"trailing comma in object", `{"Account":{"AccountId":"A3",}}`, 30, `invalid JSON: invalid character '}'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, list := decodeErrors(t, "feed.ndjson", []byte(tt.line))
			if list == nil || len(list.Errors) != 1 {
				t.Fatalf("errors = %v, want one", list)
			}
			e := list.Errors[0]
			if e.Line != 1 || e.Column != tt.column {
				t.Errorf("position = %d:%d, want 1:%d", e.Line, e.Column, tt.column)
			}
			if !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", e.Reason, tt.reason)
			}
		})
	}
}
