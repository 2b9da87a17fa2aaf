package ingest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// TestMigration0020_sameHashAsGo loads transactions whose fields take the
// forms that the SQL of migration 0020 must reproduce. It then replaces
// their content hashes by 64 hex digits, as SHA-256 left them, runs the
// migration, and expects each row to hold the loader's Go hash again.
func TestMigration0020_sameHashAsGo(t *testing.T) {
	ctx := context.Background()
	engine := storetest.New(t)
	l := &Loader{Engine: engine, Categorizer: categorize.New()}

	lines := []string{
		// Offsets, milliseconds with leading zeros, a value time.
		`{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked",` +
			`"BookingDateTime":"2026-03-01T00:30:00.007+01:00","ValueDateTime":"2026-03-02T10:11:12.345Z",` +
			`"Amount":{"Amount":"12.30","Currency":"GBP"},"TransactionInformation":"TESCO STORES 2231 REF 88",` +
			`"MerchantDetails":{"MerchantName":"Tesco","MerchantCategoryCode":"5411"},` +
			`"BankTransactionCode":{"Code":"IssuedCreditTransfers","SubCode":"DomesticCreditTransfer"},` +
			`"ProprietaryBankTransactionCode":{"Code":"PMT","Issuer":"Bank"}}}`,
		// No TransactionId (a fingerprint key), no value time, pending,
		// a credit, an amount below one.
		`{"Transaction":{"AccountId":"A1","CreditDebitIndicator":"Credit","Status":"Pending",` +
			`"BookingDateTime":"1999-12-31T23:59:59.999Z","Amount":{"Amount":"0.05","Currency":"GBP"},` +
			`"TransactionInformation":"ACME PAYROLL"}}`,
		// Descriptions of 127 and 128 bytes: one and two length bytes.
		`{"Transaction":{"AccountId":"A2","TransactionId":"T2","CreditDebitIndicator":"Debit","Status":"Booked",` +
			`"BookingDateTime":"2026-03-03T09:00:00Z","Amount":{"Amount":"1200","Currency":"JPY"},` +
			`"TransactionInformation":"` + strings.Repeat("A", 127) + `"}}`,
		`{"Transaction":{"AccountId":"A2","TransactionId":"T3","CreditDebitIndicator":"Debit","Status":"Booked",` +
			`"BookingDateTime":"2026-03-03T09:00:00Z","Amount":{"Amount":"1234567890.12","Currency":"EUR"},` +
			`"TransactionInformation":"` + strings.Repeat("B", 128) + `"}}`,
		// Multi-byte characters: 500 of them take 1,500 bytes.
		`{"Transaction":{"AccountId":"账户-1","TransactionId":"交易-4","CreditDebitIndicator":"Debit","Status":"Booked",` +
			`"BookingDateTime":"2026-03-04T12:00:00+08:00","ValueDateTime":"2026-03-04T12:00:00+08:00",` +
			`"Amount":{"Amount":"88.88","Currency":"CNY"},"TransactionInformation":"` + strings.Repeat("付", 500) + `",` +
			`"MerchantDetails":{"MerchantName":"Café \"Zürich\" O'Neill"}}}`,
		// No description at all.
		`{"Transaction":{"AccountId":"A3","TransactionId":"T5","CreditDebitIndicator":"Debit","Status":"Booked",` +
			`"BookingDateTime":"2026-03-05T08:00:00Z","Amount":{"Amount":"7.00","Currency":"GBP"}}}`,
	}
	path := filepath.Join(t.TempDir(), "hashes.ndjson")
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := l.LoadFile(ctx, "c1", path); err != nil {
		t.Fatal(err)
	}

	const query = "SELECT concat(transaction_key, ' ', content_hash) FROM transactions ORDER BY transaction_key"
	want := queryStrings(t, engine, query)
	if len(want) != len(lines) {
		t.Fatalf("stored %d transactions, want %d", len(want), len(lines))
	}
	for _, row := range want {
		if _, hash, _ := strings.Cut(row, " "); len(hash) != 16 {
			t.Fatalf("stored row %q: want a hash of 16 hex digits", row)
		}
	}

	if err := engine.Exec(ctx, "ALTER TABLE transactions UPDATE content_hash = lower(hex(SHA256(transaction_key))) "+
		"WHERE 1 SETTINGS mutations_sync = 2"); err != nil {
		t.Fatal(err)
	}
	if old := queryStrings(t, engine, "SELECT toString(countIf(length(content_hash) = 64)) FROM transactions"); old[0] != "6" {
		t.Fatalf("%s rows hold 64 hex digits before the migration, want 6", old[0])
	}
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, m := range migrations {
		if m.Version != 20 {
			continue
		}
		for _, stmt := range m.Statements {
			if err := engine.Exec(ctx, stmt); err != nil {
				t.Fatalf("migration 0020: %v", err)
			}
		}
		ran = true
	}
	if !ran {
		t.Fatal("no migration 0020")
	}

	got := queryStrings(t, engine, query)
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("after the migration: %q, want %q", got[i], want[i])
		}
	}
}
