package obie

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func isOrderFile(path string) bool {
	dir := filepath.Base(filepath.Dir(path))
	return dir == "direct-debits" || dir == "standing-orders" || dir == "scheduled-payments"
}

func TestDecodeOrders_publishedFiles(t *testing.T) {
	// Records per file; the v3.1.11 bulk standing orders are rejected
	// below for their second record's frequency.
	want := map[string]int{
		"v3.1.11/direct-debits/single-account.json":      1,
		"v3.1.11/direct-debits/bulk.json":                2,
		"v3.1.11/standing-orders/single-account.json":    1,
		"v3.1.11/scheduled-payments/single-account.json": 1,
		"v3.1.11/scheduled-payments/bulk.json":           2,
		"v4.0/direct-debits/single-account.json":         1,
		"v4.0/direct-debits/bulk.json":                   2,
		"v4.0/standing-orders/single-account.json":       1,
	}
	found := 0
	err := filepath.WalkDir(testdata, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, ".json") || !isOrderFile(path) {
			return err
		}
		found++
		name, _ := filepath.Rel(testdata, path)
		name = filepath.ToSlash(name)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			orders, err := Decoder{}.DecodeOrders(name, "", data)
			if name == "v3.1.11/standing-orders/bulk.json" {
				var list *ErrorList
				if !errors.As(err, &list) || list.Len() != 1 {
					t.Fatalf("error = %v, want one problem", err)
				}
				e := list.Errors[0]
				if e.Path != "$.Data.StandingOrder[1].Frequency" || !strings.Contains(e.Reason, `"WkinMnthDay(2)"`) {
					t.Errorf("error = %v, want the frequency's path and value", e)
				}
				return
			}
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			if n, ok := want[name]; !ok || orders.Len() != n {
				t.Errorf("decoded %d records, want %d", orders.Len(), n)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != 9 {
		t.Errorf("found %d payment order files, want 9", found)
	}
}

func TestDecodeOrders_v4MandateFrequency(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(testdata, "v4.0/standing-orders/single-account.json"))
	if err != nil {
		t.Fatal(err)
	}
	orders, err := Decoder{}.DecodeOrders("so.json", ResourceStandingOrder, data)
	if err != nil {
		t.Fatal(err)
	}
	// The example repeats MandateRelatedInformation; the last one counts,
	// as in any JSON decoder that keeps the last duplicate key.
	m := orders.StandingOrders[0].MandateRelatedInformation
	if m == nil || m.Frequency == nil || m.Frequency.Code() != "MNTH" || m.MandateIdentification != "Golfers" {
		t.Errorf("MandateRelatedInformation = %+v, want the second one with Frequency MNTH", m)
	}
}

func TestDecodeOrders_rules(t *testing.T) {
	const account = `"AccountId": "A1"`
	tests := []struct {
		name, resource, record string
		path, reason           string
	}{
		{"decimal comma", ResourceDirectDebit,
			`{` + account + `, "MandateIdentification": "M1", "Name": "N", "PreviousPaymentAmount": {"Amount": "12,30", "Currency": "GBP"}}`,
			"$.Data.DirectDebit[0].PreviousPaymentAmount.Amount", `invalid amount "12,30"`},
		{"signed amount", ResourceStandingOrder,
			`{` + account + `, "Frequency": "EvryDay", "NextPaymentAmount": {"Amount": "-5.00", "Currency": "GBP"}}`,
			"$.Data.StandingOrder[0].NextPaymentAmount.Amount", "unsigned"},
		{"too many decimals", ResourceScheduledPayment,
			`{` + account + `, "ScheduledPaymentDateTime": "2026-01-05T00:00:00Z", "ScheduledType": "Execution", "InstructedAmount": {"Amount": "1.234", "Currency": "GBP"}}`,
			"$.Data.ScheduledPayment[0].InstructedAmount.Amount", "GBP has 2 decimals"},
		{"unknown status", ResourceDirectDebit,
			`{` + account + `, "MandateIdentification": "M1", "Name": "N", "DirectDebitStatusCode": "Paused"}`,
			"$.Data.DirectDebit[0].DirectDebitStatusCode", `invalid value "Paused"`},
		{"missing name", ResourceDirectDebit,
			`{` + account + `, "MandateIdentification": "M1"}`,
			"$.Data.DirectDebit[0].Name", "missing required field"},
		{"missing frequency", ResourceStandingOrder,
			`{` + account + `}`,
			"$.Data.StandingOrder[0].Frequency", "missing required field"},
		{"unknown v4 frequency", ResourceStandingOrder,
			`{` + account + `, "MandateRelatedInformation": {"Frequency": {"Type": "MONTHLY"}}}`,
			"$.Data.StandingOrder[0].MandateRelatedInformation.Frequency.Type", `invalid value "MONTHLY"`},
		{"date-time without T", ResourceStandingOrder,
			`{` + account + `, "Frequency": "EvryDay", "NextPaymentDateTime": "2026-01-05 00:00:00"}`,
			"$.Data.StandingOrder[0].NextPaymentDateTime", `invalid date-time "2026-01-05 00:00:00"`},
		{"wrong type", ResourceScheduledPayment,
			`{` + account + `, "ScheduledPaymentDateTime": 20260105, "ScheduledType": "Execution", "InstructedAmount": {"Amount": "1", "Currency": "GBP"}}`,
			"$.Data.ScheduledPayment[0].ScheduledPaymentDateTime", "want string, got number"},
		{"missing account", ResourceScheduledPayment,
			`{"ScheduledPaymentDateTime": "2026-01-05", "ScheduledType": "Arrival", "InstructedAmount": {"Amount": "1", "Currency": "GBP"}}`,
			"$.Data.ScheduledPayment[0].AccountId", "missing required field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := `{"Data": {"` + tt.resource + `": [` + tt.record + `]}}`
			orders, err := Decoder{}.DecodeOrders("page.json", tt.resource, []byte(data))
			if orders != nil {
				t.Errorf("returned %d records with the error", orders.Len())
			}
			var list *ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error = %v, want an *ErrorList", err)
			}
			e := list.Errors[0]
			if e.Source != "page.json" || e.Path != tt.path || !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("error = %v, want %s: ...%s...", e, tt.path, tt.reason)
			}
		})
	}
}

func TestDecodeOrders_envelope(t *testing.T) {
	tests := []struct {
		name, resource, data, wantErr string
		records                       int
	}{
		{"empty Data for a resource", ResourceStandingOrder, `{"Data": {}}`, "", 0},
		{"empty array", ResourceDirectDebit, `{"Data": {"DirectDebit": []}}`, "", 0},
		{"other resource", ResourceDirectDebit, `{"Data": {"StandingOrder": []}}`, "$.Data.StandingOrder: unexpected resource", 0},
		{"no resource to route", "", `{"Data": {}}`, "$.Data: holds none of DirectDebit, StandingOrder, ScheduledPayment", 0},
		{"not an array", ResourceDirectDebit, `{"Data": {"DirectDebit": {}}}`, "$.Data.DirectDebit: want an array", 0},
		{"invalid UTF-8", ResourceDirectDebit, "{\"Data\": {\"DirectDebit\": [{\"Name\": \"\xff\"}]}}", "not valid UTF-8", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			orders, err := Decoder{}.DecodeOrders("page.json", tt.resource, []byte(tt.data))
			if tt.wantErr == "" {
				if err != nil || orders.Len() != tt.records {
					t.Fatalf("DecodeOrders = %v, %v; want %d records", orders, err, tt.records)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseOrderDate(t *testing.T) {
	london, _ := time.LoadLocation("Europe/London")
	got, err := ParseOrderDate("2026-07-01", london)
	if err != nil || !got.Equal(time.Date(2026, 7, 1, 0, 0, 0, 0, london)) {
		t.Errorf("date = %v, %v; want London midnight", got, err)
	}
	if _, err := ParseOrderDate("2026-13-01", london); err == nil {
		t.Error("accepted month 13")
	}
}

func TestOrderResource(t *testing.T) {
	if got := OrderResource([]byte(`{"Data": {"ScheduledPayment": []}}`)); got != ResourceScheduledPayment {
		t.Errorf("OrderResource = %q", got)
	}
	if got := OrderResource([]byte(`{"Data": {"Transaction": []}}`)); got != "" {
		t.Errorf("OrderResource of transactions = %q, want empty", got)
	}
}
