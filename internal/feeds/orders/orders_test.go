package orders

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

const published = "../../../testdata/obie"

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestLoadFile_publishedExamples(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	now := time.Date(2017, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		file             string
		kind             string
		orders, accounts int
	}{
		{"v3.1.11/direct-debits/bulk.json", KindDirectDebit, 2, 2},
		{"v3.1.11/standing-orders/single-account.json", KindStandingOrder, 1, 1},
		{"v3.1.11/scheduled-payments/bulk.json", KindScheduledPayment, 2, 2},
		{"v4.0/standing-orders/single-account.json", KindStandingOrder, 1, 1},
	}
	for _, tt := range tests {
		res, err := LoadFile(ctx, e, "c1", filepath.Join(published, tt.file), now)
		if err != nil {
			t.Fatalf("%s: %v", tt.file, err)
		}
		if res.Kind != tt.kind || res.Orders != tt.orders || res.Accounts != tt.accounts {
			t.Errorf("%s: %+v, want %s with %d orders on %d accounts", tt.file, res, tt.kind, tt.orders, tt.accounts)
		}
	}

	current, err := Current(ctx, e, "c1")
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Order{}
	for _, o := range current {
		byID[o.AccountID+"/"+o.OrderID] = o
	}
	// The v4.0 standing order replaced the v3.1.11 one of account 22289.
	so := byID["22289/Ben3"]
	if so.Frequency != "MNTH" || so.Cadence != insights.CadenceMonthly || so.Payee != "Mrs Juniper" || so.NextAmount.String() != "0.56000" {
		t.Errorf("standing order = %+v, want the v4.0 one", so)
	}
	if dd := byID["31820/DD77"]; dd.Payee != "Golf Club" || dd.LastAmount.String() != "22.30000" || dd.Status != StatusActive {
		t.Errorf("direct debit = %+v", dd)
	}
	sp := byID["39570/SP77"]
	if sp.Kind != KindScheduledPayment || !sp.NextPayment.Equal(time.Date(2017, 4, 5, 0, 0, 0, 0, time.UTC)) || sp.Active(now) {
		t.Errorf("scheduled payment = %+v, want one in the past, no longer active", sp)
	}
	if len(current) != 5 {
		t.Errorf("current orders = %d, want 5", len(current))
	}

	// Loading the same file again stores nothing new.
	res, err := LoadFile(ctx, e, "c1", filepath.Join(published, "v3.1.11/direct-debits/bulk.json"), now.Add(time.Hour))
	if err != nil || res.Unchanged != 2 {
		t.Errorf("reload = %+v, %v; want both accounts unchanged", res, err)
	}
}

func TestLoadFile_emptyListReplaces(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	if _, err := LoadFile(ctx, e, "c1", filepath.Join(published, "v3.1.11/standing-orders/single-account.json"), now); err != nil {
		t.Fatal(err)
	}
	empty := writeFile(t, "so.json", `{"Data": {"StandingOrder": []},
"Links": {"Self": "https://bank.example/open-banking/v3.1/aisp/accounts/22289/standing-orders"}}`)
	res, err := LoadFile(ctx, e, "c1", empty, now.Add(time.Minute))
	if err != nil || res.Accounts != 1 || res.Orders != 0 {
		t.Fatalf("LoadFile = %+v, %v; want one account emptied", res, err)
	}
	if current, err := Current(ctx, e, "c1"); err != nil || len(current) != 0 {
		t.Errorf("current = %+v, %v; want none", current, err)
	}

	noAccount := writeFile(t, "bulk.json", `{"Data": {"StandingOrder": []}}`)
	if _, err := LoadFile(ctx, e, "c1", noAccount, now); err == nil || !strings.Contains(err.Error(), "names no account") {
		t.Errorf("empty bulk file: %v, want an error naming the missing account", err)
	}
}

func TestLoadFile_invalidStoresNothing(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	_, err := LoadFile(ctx, e, "c1", filepath.Join(published, "v3.1.11/standing-orders/bulk.json"), time.Now())
	var list *obie.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v, want an *obie.ErrorList", err)
	}
	if e := list.Errors[0]; e.Path != "$.Data.StandingOrder[1].Frequency" || !strings.Contains(e.Reason, `"WkinMnthDay(2)"`) {
		t.Errorf("error = %v, want the frequency's path and value", e)
	}
	if current, err := Current(ctx, e, "c1"); err != nil || len(current) != 0 {
		t.Errorf("current = %+v, %v; want nothing stored", current, err)
	}

	other := writeFile(t, "so.json", `{"Data": {"StandingOrder": [{"AccountId": "B", "Frequency": "EvryDay"}]},
"Links": {"Self": "https://bank.example/open-banking/v3.1/aisp/accounts/A/standing-orders"}}`)
	if _, err := LoadFile(ctx, e, "c1", other, time.Now()); err == nil || !strings.Contains(err.Error(), "$.Data.StandingOrder[0].AccountId") {
		t.Errorf("record of another account: %v, want its path", err)
	}
}

func TestIsOrderFile(t *testing.T) {
	tests := map[string]bool{
		"v3.1.11/direct-debits/single-account.json": true,
		"v3.1.11/transactions/bulk.json":            false,
		"v3.1.11/balances/bulk.json":                false,
	}
	for file, want := range tests {
		got, err := IsOrderFile(filepath.Join(published, file))
		if err != nil || got != want {
			t.Errorf("IsOrderFile(%s) = %v, %v; want %v", file, got, err, want)
		}
	}
	// A transaction whose text names a resource is still a transaction.
	tx := writeFile(t, "tx.json", `{"Data": {"Transaction": [{"TransactionInformation": "\"StandingOrder\""}]}}`)
	if got, err := IsOrderFile(tx); err != nil || got {
		t.Errorf("IsOrderFile(transactions naming StandingOrder) = %v, %v; want false", got, err)
	}
}

func TestIsOrderFile_transactionFiles(t *testing.T) {
	// A BankTransactionCode SubCode names an order resource as a value.
	line := `{"Transaction": {"AccountId": "22289", "BankTransactionCode": {"Code": "ReceivedCreditTransfer", "SubCode": "StandingOrder"}, "ProprietaryBankTransactionCode": {"Code": "DirectDebit"}}}` + "\n"
	big := strings.Repeat(line, (MaxFileSize/len(line))+100)
	tests := []struct {
		name, file, content string
		want                bool
	}{
		{"NDJSON over the order file limit", "big.ndjson", big, false},
		{"envelope over the order file limit", "big.json",
			`{"Data": {"Transaction": [` + strings.Repeat(`{"SubCode": "StandingOrder"},`, MaxFileSize/28) + `{}]}}`, false},
		{"envelope with Links before Data", "links.json",
			`{"Links": {"Self": "/accounts/1/standing-orders"}, "Data": {"StandingOrder": []}}`, true},
		{"envelope whose Data starts with another resource", "tx-first.json",
			`{"Data": {"Transaction": [], "StandingOrder": []}}`, false},
		{"not JSON", "text.json", "StandingOrder DirectDebit", false},
		{"empty file", "empty.json", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := IsOrderFile(writeFile(t, tt.file, tt.content))
			if err != nil {
				t.Fatalf("IsOrderFile: %v", err)
			}
			if got != tt.want {
				t.Errorf("IsOrderFile = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCadence(t *testing.T) {
	tests := map[string]insights.Cadence{
		"IntrvlWkDay:01:05": insights.CadenceWeekly, "IntrvlWkDay:02:05": insights.CadenceFortnightly,
		"IntrvlWkDay:04:01": insights.CadenceFourWeekly, "IntrvlMnthDay:01:15": insights.CadenceMonthly,
		"WkInMnthDay:02:03": insights.CadenceMonthly, "IntrvlMnthDay:03:01": insights.CadenceIrregular,
		"EvryWorkgDay": insights.CadenceIrregular, "IntrvlDay:14": insights.CadenceFortnightly,
	}
	for code, want := range tests {
		if got := standingOrderCadence(code); got != want {
			t.Errorf("standingOrderCadence(%s) = %s, want %s", code, got, want)
		}
	}
	two := 2
	if code, c := mandateFrequency(&obie.MandateFrequency{Type: "MNTH", CountPerPeriod: &two}); code != "MNTH:2" || c != insights.CadenceTwiceMonthly {
		t.Errorf("MNTH twice = %s %s", code, c)
	}
}

// TestIsOrderFile_notRegularFiles checks that a directory and a named pipe
// are rejected with an error naming them, without reading them (opening a
// pipe with no writer would block).
func TestIsOrderFile_notRegularFiles(t *testing.T) {
	dir := t.TempDir()
	pipe := filepath.Join(dir, "feed.ndjson")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatalf("mkfifo: %v", err)
	}
	for _, tc := range []struct {
		path, want string
	}{
		{dir, "is a directory"},
		{pipe, "is not a regular file"},
	} {
		isOrders, err := IsOrderFile(tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.path+" "+tc.want) {
			t.Errorf("IsOrderFile(%s) = %v, %v; want an error containing %q", tc.path, isOrders, err, tc.want)
		}
	}
}
