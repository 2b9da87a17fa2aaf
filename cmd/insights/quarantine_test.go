package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

// insertQuarantined stores one quarantined record for alice, as a pull
// does, with a description and a payee name that no output may show.
func insertQuarantined(t *testing.T, dataDir string) {
	t.Helper()
	engine := openTestStorage(t, dataDir)
	defer engine.Close()
	record := `{"AccountId":"A1","TransactionId":"TX-991","CreditDebitIndicator":"Debit","Status":"Booked",` +
		`"BookingDateTime":"2026-11-02T09:00:00Z","Amount":{"Amount":"-42.50","Currency":"GBP"},` +
		`"TransactionInformation":"SECRET SHOP PURCHASE","CreditorAccount":{"Name":"SECRET PAYEE"}}`
	err := engine.Exec(context.Background(), `INSERT INTO quarantine (customer_id, source, path, reason, record, quarantined_at)
VALUES ('alice', 'pull:p1 /open-banking/v3.1/aisp/accounts/A1/transactions', '$.Data.Transaction[3]',
'$.Data.Transaction[3].Amount.Amount: invalid amount "-42.50": OBIE amounts are unsigned', {record:String}, now64(3, 'UTC'))`,
		store.P("record", record))
	if err != nil {
		t.Fatal(err)
	}
}

func TestQuarantine_listCountDismiss(t *testing.T) {
	dataDir := t.TempDir()
	if out := mustCLI(t, "quarantine", "list", "-data", dataDir); !strings.Contains(out, "no quarantined records") {
		t.Errorf("empty list = %q", out)
	}
	insertQuarantined(t, dataDir)

	out := mustCLI(t, "quarantine", "list", "-data", dataDir)
	for _, want := range []string{"alice", "open", "TX-991", "-42.50 GBP Debit", "$.Data.Transaction[3]", "pull:p1", "unsigned"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SECRET") {
		t.Errorf("list shows the record's description or payee:\n%s", out)
	}
	if out := mustCLI(t, "quarantine", "count", "-data", dataDir); !strings.Contains(out, "open 1, stored 0, dismissed 0") {
		t.Errorf("count = %q", out)
	}
	if stats := mustCLI(t, "stats", "-data", dataDir); !strings.Contains(stats, "quarantine: 1 open, 0 stored since, 0 dismissed") {
		t.Errorf("stats lacks the quarantine line:\n%s", stats)
	}

	// A key of no record is rejected with a pointer to the keys.
	_, err := cli(t, "quarantine", "dismiss", "-data", dataDir, "-customer", "alice", "-key", "TX-000")
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 1 || !strings.Contains(exit.msg, "list -all -json") {
		t.Errorf("dismiss of an unknown key: %v, want exit 1 naming the list command", err)
	}
	if out := mustCLI(t, "quarantine", "dismiss", "-data", dataDir, "-customer", "alice", "-key", "TX-991", "-note", "bank will not resend"); !strings.Contains(out, "1 quarantined rows") {
		t.Errorf("dismiss = %q", out)
	}

	// Dismissed records leave the default list and show with -all.
	if out := mustCLI(t, "quarantine", "list", "-data", dataDir); !strings.Contains(out, "no quarantined records") {
		t.Errorf("list after dismissal = %q", out)
	}
	var entries []map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, "quarantine", "list", "-data", dataDir, "-all", "-json")), &entries); err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0]["state"] != "dismissed" || entries[0]["key"] != "TX-991" {
		t.Errorf("list -all -json = %v, want the dismissed record", entries)
	}
}

func TestQuarantine_usage(t *testing.T) {
	for _, args := range [][]string{{"quarantine"}, {"quarantine", "purge"}, {"quarantine", "dismiss", "-data", t.TempDir()}} {
		_, err := cli(t, args...)
		var exit exitError
		if !errors.As(err, &exit) || exit.code != 2 {
			t.Errorf("insights %s: %v, want exit 2 with usage", strings.Join(args, " "), err)
		}
	}
}

func TestIngest_paymentOrderFiles(t *testing.T) {
	dataDir := t.TempDir()
	published := "../../testdata/obie/v3.1.11"
	out := mustCLI(t, "ingest", "-data", dataDir, "-customer", "alice",
		filepath.Join(published, "direct-debits/bulk.json"), filepath.Join(published, "standing-orders/single-account.json"))
	for _, want := range []string{"2 direct_debit orders on 2 accounts", "1 standing_order orders on 1 accounts"} {
		if !strings.Contains(out, want) {
			t.Errorf("ingest output lacks %q:\n%s", want, out)
		}
	}
	if got := storedRows(t, dataDir, "payment_orders"); got != "3/3" {
		t.Errorf("payment_orders = %s, want 3/3", got)
	}

	// An empty list of account 22289's direct debits removes its one
	// mandate from the current rows, and the history keeps it.
	empty := filepath.Join(t.TempDir(), "dd.json")
	body := `{"Data": {"DirectDebit": []}, "Links": {"Self": "https://bank.example/open-banking/v3.1/aisp/accounts/22289/direct-debits"}}`
	if err := os.WriteFile(empty, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	mustCLI(t, "ingest", "-data", dataDir, "-customer", "alice", empty)
	if got := storedRows(t, dataDir, "payment_orders"); got != "2/3" {
		t.Errorf("payment_orders after emptying one account = %s, want 2/3", got)
	}

	out, err := cli(t, "ingest", "-data", dataDir, "-customer", "alice", filepath.Join(published, "standing-orders/bulk.json"))
	if err == nil || !strings.Contains(out, `$.Data.StandingOrder[1].Frequency: invalid frequency "WkinMnthDay(2)"`) {
		t.Errorf("invalid standing orders: %v\n%s\nwant the path and value", err, out)
	}
	if got := storedRows(t, dataDir, "payment_orders"); got != "2/3" {
		t.Errorf("payment_orders after the rejected file = %s, want 2/3", got)
	}
}
