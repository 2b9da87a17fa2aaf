package obie

import (
	"strconv"
	"testing"

	insights "github.com/openbanking-insights/insights"
)

func TestJSONPath_String(t *testing.T) {
	root := pathOf("$")
	line := pathOf("$.Transaction")
	lineAmount := line.key(".Amount")
	envelope := elemPath("$.Data.Transaction", 3)
	balanceAmount := envelope.key(".Balance.Amount")
	balance := elemPath("$.Data.Balance", 0)
	creditLine := balance.elem(".CreditLine", 12)
	creditAmount := creditLine.key(".Amount")

	tests := []struct {
		name string
		path jsonPath
		want string
	}{
		{"root", root, "$"},
		{"line record", lineAmount.key(".Amount"), "$.Transaction.Amount.Amount"},
		{"envelope record", balanceAmount.key(".Currency"), "$.Data.Transaction[3].Balance.Amount.Currency"},
		{"credit line amount", creditAmount.key(".Amount"), "$.Data.Balance[0].CreditLine[12].Amount.Amount"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.path.String(); got != tc.want {
				t.Errorf("String() = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestJSONPath_deep formats a path longer than String's stack buffer.
func TestJSONPath_deep(t *testing.T) {
	paths := make([]jsonPath, 40)
	paths[0] = pathOf("$")
	want := "$"
	for i := 1; i < len(paths); i++ {
		paths[i] = paths[i-1].elem(".A", i)
		want += ".A[" + strconv.Itoa(i) + "]"
	}
	if got := paths[len(paths)-1].String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

// TestJSONPath_copies checks that key returns a longer copy and leaves
// the path it was called on, which sibling fields share, unchanged.
func TestJSONPath_copies(t *testing.T) {
	record := pathOf("$.Transaction")
	amount := record.key(".Amount")
	_ = amount.key(".Currency")
	if got := record.key(".Status").String(); got != "$.Transaction.Status" {
		t.Errorf("sibling path = %q, want $.Transaction.Status", got)
	}
	if got := amount.String(); got != "$.Transaction.Amount" {
		t.Errorf("parent path = %q, want $.Transaction.Amount", got)
	}
}

// TestValidator_validRecordAllocatesNoPath checks that validating a valid
// transaction formats no JSON path.
func TestValidator_validRecordAllocatesNoPath(t *testing.T) {
	list := &ErrorList{}
	v := Decoder{}.validator(reporter{list: list, source: "feed.ndjson"})
	tx := &Transaction{
		AccountID: "22289", TransactionID: "123", CreditDebitIndicator: Debit, Status: "Booked",
		BookingDateTime: "2017-04-05T10:43:07+00:00", ValueDateTime: "2017-04-05T10:45:22+00:00",
		Amount:                 &Amount{Amount: "10.00", Currency: "GBP"},
		TransactionInformation: "Cash from Aubrey",
		BankTransactionCode:    &BankTransactionCode{Code: "ReceivedCreditTransfer", SubCode: "DomesticCreditTransfer"},
	}
	path := pathOf("$.Transaction")
	allocs := testing.AllocsPerRun(100, func() { v.transaction(path, tx) })
	if list.Len() != 0 {
		t.Fatalf("valid transaction reported: %v", list)
	}
	// The amount check is the only step that may allocate.
	amountAllocs := testing.AllocsPerRun(100, func() { _, _ = insights.ParseAmount(tx.Amount.Amount) })
	if allocs != amountAllocs {
		t.Errorf("validating a valid transaction allocated %v times, want %v (those of insights.ParseAmount)", allocs, amountAllocs)
	}
}
