package obie

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var quarantineDecoder = Decoder{Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC) }}

func TestValidationError_negativeDebitDistinguishable(t *testing.T) {
	const at = "$.Data.Transaction[0]"
	tests := []struct {
		name          string
		changes       map[string]any
		path          string
		negativeDebit bool
	}{
		{"negative debit", map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00"}}, at + ".Amount.Amount", true},
		{"negative credit", map[string]any{"CreditDebitIndicator": "Credit", "Amount": map[string]any{"Amount": "-5.00"}}, at + ".Amount.Amount", false},
		{"plus sign debit", map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "+5.00"}}, at + ".Amount.Amount", false},
		{"decimal comma debit", map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "12,30"}}, at + ".Amount.Amount", false},
		{"negative running balance debit", map[string]any{"CreditDebitIndicator": "Debit", "Balance": map[string]any{
			"Amount": map[string]any{"Amount": "-7.00", "Currency": "GBP"}, "CreditDebitIndicator": "Debit", "Type": "InterimBooked"}},
			at + ".Balance.Amount.Amount", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, list := decodeErrors(t, "page.json", envelope(t, "Transaction", transactionJSON(t, tt.changes)))
			if list == nil || len(list.Errors) != 1 {
				t.Fatalf("errors = %v, want exactly one", list)
			}
			e := list.Errors[0]
			if e.Path != tt.path {
				t.Errorf("path = %q, want %q", e.Path, tt.path)
			}
			if got := errors.Is(e, ErrNegativeDebit); got != tt.negativeDebit {
				t.Errorf("errors.Is(ErrNegativeDebit) = %v, want %v", got, tt.negativeDebit)
			}
		})
	}
}

func TestValidationError_negativeDebitMessageUnchanged(t *testing.T) {
	tx := transactionJSON(t, map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00"}})
	_, list := decodeErrors(t, "page.json", envelope(t, "Transaction", tx))
	wantOneError(t, list, "$.Data.Transaction[0].Amount.Amount",
		`invalid amount "-5.00": OBIE amounts are unsigned: CreditDebitIndicator carries the sign`)
	want := `page.json: $.Data.Transaction[0].Amount.Amount: invalid amount "-5.00": OBIE amounts are unsigned: CreditDebitIndicator carries the sign`
	if got := list.Errors[0].Error(); got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestDecodeEnvelopeQuarantine_cases(t *testing.T) {
	good := func(id string) map[string]any {
		return transactionJSON(t, map[string]any{"TransactionId": id})
	}
	negativeDebit := func(id string) map[string]any {
		return transactionJSON(t, map[string]any{"TransactionId": id, "CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00"}})
	}
	tests := []struct {
		name        string
		records     []any
		wantKept    []string // TransactionIds in the payload; nil with wantErr
		wantPaths   []string // paths of the quarantined records
		wantErr     bool
		wantErrPath string // a path the rejection must list
	}{
		{"all valid", []any{good("a"), good("b")}, []string{"a", "b"}, nil, false, ""},
		{"one negative debit", []any{good("a"), negativeDebit("b"), good("c")}, []string{"a", "c"}, []string{"$.Data.Transaction[1]"}, false, ""},
		{"two negative debits", []any{negativeDebit("a"), good("b"), negativeDebit("c")}, []string{"b"}, []string{"$.Data.Transaction[0]", "$.Data.Transaction[2]"}, false, ""},
		{"only negative debits", []any{negativeDebit("a")}, nil, []string{"$.Data.Transaction[0]"}, false, ""},
		{"negative debit and another problem", []any{negativeDebit("a"), transactionJSON(t, map[string]any{"Status": "Settled"})}, nil, nil, true, "$.Data.Transaction[0].Amount.Amount"},
		{"negative debit with bad currency in one record", []any{good("a"), transactionJSON(t, map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00", "Currency": "gbp"}})}, nil, nil, true, "$.Data.Transaction[1].Amount.Currency"},
		{"negative credit", []any{good("a"), transactionJSON(t, map[string]any{"Amount": map[string]any{"Amount": "-5.00"}})}, nil, nil, true, "$.Data.Transaction[1].Amount.Amount"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, quarantined, err := quarantineDecoder.DecodeEnvelopeQuarantine("page.json", envelope(t, "Transaction", tt.records...))
			if tt.wantErr {
				var list *ErrorList
				if !errors.As(err, &list) {
					t.Fatalf("error = %v, want an *ErrorList", err)
				}
				if !strings.Contains(list.Error(), tt.wantErrPath) {
					t.Errorf("error %q does not list %s", list.Error(), tt.wantErrPath)
				}
				if p != nil || quarantined != nil {
					t.Errorf("got payload %v and quarantined %v beside the error", p, quarantined)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			var keptIDs []string
			for _, tx := range p.Transactions {
				keptIDs = append(keptIDs, tx.TransactionID)
			}
			if strings.Join(keptIDs, ",") != strings.Join(tt.wantKept, ",") {
				t.Errorf("keptIDs = %v, want %v", keptIDs, tt.wantKept)
			}
			if len(quarantined) != len(tt.wantPaths) {
				t.Fatalf("quarantined %d records, want %d", len(quarantined), len(tt.wantPaths))
			}
			for i, q := range quarantined {
				if q.Path != tt.wantPaths[i] {
					t.Errorf("quarantined[%d].Path = %q, want %q", i, q.Path, tt.wantPaths[i])
				}
				if q.Resource != ResourceTransaction {
					t.Errorf("quarantined[%d].Resource = %q", i, q.Resource)
				}
				if !strings.Contains(string(q.Record), `"-5.00"`) {
					t.Errorf("quarantined[%d].Record = %s, want the record as sent", i, q.Record)
				}
				wantReason := q.Path + `.Amount.Amount: invalid amount "-5.00"`
				if !strings.HasPrefix(q.Reason(), wantReason) {
					t.Errorf("quarantined[%d].Reason() = %q, want prefix %q", i, q.Reason(), wantReason)
				}
			}
		})
	}
}

func TestDecodeEnvelope_negativeDebitStillRejected(t *testing.T) {
	tx := transactionJSON(t, map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00"}})
	p, err := quarantineDecoder.DecodeEnvelope("page.json", envelope(t, "Transaction", transactionJSON(t, nil), tx))
	if err == nil {
		t.Fatal("DecodeEnvelope accepted a negative debit")
	}
	if p != nil {
		t.Errorf("payload = %v, want nil", p)
	}
}

func TestDecodeNDJSON_negativeDebitStillRejected(t *testing.T) {
	tx := transactionJSON(t, map[string]any{"CreditDebitIndicator": "Debit", "Amount": map[string]any{"Amount": "-5.00"}})
	line, err := json.Marshal(map[string]any{"Transaction": tx})
	if err != nil {
		t.Fatal(err)
	}
	p, list := decodeErrors(t, "file.ndjson", line)
	if list == nil || len(list.Errors) != 1 {
		t.Fatalf("errors = %v, want exactly one", list)
	}
	if !errors.Is(list.Errors[0], ErrNegativeDebit) {
		t.Errorf("error %v is not ErrNegativeDebit", list.Errors[0])
	}
	if p != nil {
		t.Errorf("payload = %v, want nil: a file is rejected whole", p)
	}
}
