package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

// overridesCLI runs an insights command with a logger whose output the
// test reads, and returns standard output.
func overridesCLI(t *testing.T, logs *bytes.Buffer, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	err := run(context.Background(), args, &out, slog.New(slog.NewTextHandler(logs, nil)))
	return out.String(), err
}

// storedRule returns the category and rule stored for transaction id of
// the customer.
func storedRule(t *testing.T, dataDir, customer, id string) string {
	t.Helper()
	engine := openTestStorage(t, dataDir)
	defer engine.Close()
	rows, err := engine.Query(context.Background(), `SELECT toString(category), toString(category_rule) FROM transactions FINAL
WHERE customer_id = {c:String} AND transaction_id = {id:String}`, store.P("c", customer), store.P("id", id))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	if !rows.Next() {
		t.Fatalf("transaction %s of %s not stored", id, customer)
	}
	var category, rule string
	if err := rows.Scan(&category, &rule); err != nil {
		t.Fatal(err)
	}
	return category + " " + rule
}

func TestOverrides_addListRemoveAndIngest(t *testing.T) {
	dataDir := t.TempDir()
	var logs bytes.Buffer
	const payee = "SECRET PIZZA PALACE LTD"

	out, err := overridesCLI(t, &logs, "overrides", "add", "-data", dataDir, "-customer", "alice",
		"-counterparty", payee, "-category", "housing.rent", "-direction", "debit", "-id", "rent")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if !strings.Contains(out, `added override "rent"`) || !strings.Contains(out, "rule override:rent") {
		t.Errorf("add output = %q", out)
	}

	out, err = overridesCLI(t, &logs, "overrides", "list", "-data", dataDir, "-customer", "alice")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rent", "debit", "housing.rent", payee} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	out, err = overridesCLI(t, &logs, "overrides", "list", "-data", dataDir, "-customer", "alice", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []overrideJSON
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatalf("list -json: %v\n%s", err, out)
	}
	if len(listed) != 1 || listed[0].ID != "rent" || listed[0].Category != "housing.rent" || listed[0].Direction != "debit" {
		t.Errorf("list -json = %+v", listed)
	}

	// Ingest applies the override to alice only.
	feed := filepath.Join(t.TempDir(), "feed.ndjson")
	line := `{"Transaction":{"AccountId":"A1","TransactionId":"T1","CreditDebitIndicator":"Debit","Status":"Booked",` +
		`"BookingDateTime":"2026-11-02T09:00:00Z","Amount":{"Amount":"700.00","Currency":"GBP"},` +
		`"TransactionInformation":"` + payee + ` FPO","CreditorAccount":{"Name":"` + payee + `"}}}` + "\n"
	if err := os.WriteFile(feed, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, customer := range []string{"alice", "bob"} {
		if out, err := overridesCLI(t, &logs, "ingest", "-data", dataDir, "-customer", customer, feed); err != nil {
			t.Fatalf("ingest for %s: %v\n%s", customer, err, out)
		}
	}
	if got := storedRule(t, dataDir, "alice", "T1"); got != "housing.rent override:rent" {
		t.Errorf("alice's T1 stored as %q, want housing.rent by override:rent", got)
	}
	if got := storedRule(t, dataDir, "bob", "T1"); strings.Contains(got, "override:") {
		t.Errorf("bob's T1 stored as %q: alice's override applied to bob", got)
	}

	bobBefore := storedRule(t, dataDir, "bob", "T1")
	if strings.HasPrefix(bobBefore, "housing.rent") {
		t.Fatalf("built-in rules store bob's T1 as %q already, so the test shows nothing", bobBefore)
	}

	// An override added after the ingest recategorises the stored row.
	out, err = overridesCLI(t, &logs, "overrides", "add", "-data", dataDir, "-customer", "bob",
		"-counterparty", "Secret Pizza Palace Limited", "-category", "housing.rent", "-id", "flat")
	if err != nil {
		t.Fatalf("add for bob: %v\n%s", err, out)
	}
	if !strings.Contains(out, "recategorised 1 stored transactions") {
		t.Errorf("add for bob output = %q, want 1 transaction recategorised", out)
	}
	if got := storedRule(t, dataDir, "bob", "T1"); got != "housing.rent override:flat" {
		t.Errorf("bob's T1 after add stored as %q, want housing.rent by override:flat", got)
	}

	out, err = overridesCLI(t, &logs, "overrides", "remove", "-data", dataDir, "-customer", "alice", "-id", "rent")
	if err != nil {
		t.Fatalf("remove: %v\n%s", err, out)
	}
	if !strings.Contains(out, "recategorised 1 stored transactions") {
		t.Errorf("remove output = %q, want 1 transaction recategorised", out)
	}
	if got := storedRule(t, dataDir, "alice", "T1"); got != bobBefore {
		t.Errorf("alice's T1 after remove stored as %q, want the built-in %q", got, bobBefore)
	}
	if out, _ := overridesCLI(t, &logs, "overrides", "list", "-data", dataDir, "-customer", "alice"); !strings.Contains(out, "no overrides") {
		t.Errorf("list after remove = %q", out)
	}
	_, err = overridesCLI(t, &logs, "overrides", "remove", "-data", dataDir, "-customer", "alice", "-id", "rent")
	var exit exitError
	if !errors.As(err, &exit) || exit.code != 1 || !strings.Contains(exit.msg, "override not found") {
		t.Errorf("second remove error = %v, want exit 1 with override not found", err)
	}

	if strings.Contains(logs.String(), "SECRET") {
		t.Errorf("logs show the counterparty:\n%s", logs.String())
	}
}

func TestOverrides_addRejectsBadInput(t *testing.T) {
	dataDir := t.TempDir()
	var logs bytes.Buffer
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"missing customer", []string{"-counterparty", "Acme", "-category", "utilities"}, 2, "-customer is required"},
		{"missing category", []string{"-customer", "alice", "-counterparty", "Acme"}, 2, "-counterparty and -category are required"},
		{"unknown category", []string{"-customer", "alice", "-counterparty", "Acme", "-category", "housing.castle"}, 1, `category "housing.castle"`},
		{"unknown direction", []string{"-customer", "alice", "-counterparty", "Acme", "-category", "utilities", "-direction", "out"}, 1, `direction "out"`},
		{"invalid id", []string{"-customer", "alice", "-counterparty", "Acme", "-category", "utilities", "-id", "a b"}, 1, `invalid id "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"overrides", "add", "-data", dataDir}, tt.args...)
			_, err := overridesCLI(t, &logs, args...)
			var exit exitError
			if !errors.As(err, &exit) {
				t.Fatalf("error = %v, want an exit error", err)
			}
			if exit.code != tt.code {
				t.Errorf("exit code = %d, want %d", exit.code, tt.code)
			}
			if !strings.Contains(exit.msg, tt.want) {
				t.Errorf("message = %q, want it to contain %q", exit.msg, tt.want)
			}
		})
	}
	if out, _ := overridesCLI(t, &logs, "overrides", "list", "-data", dataDir, "-customer", "alice"); !strings.Contains(out, "no overrides") {
		t.Errorf("list after rejected adds = %q, want no overrides", out)
	}
}

func TestOverrides_addWithoutIDMakesRandomID(t *testing.T) {
	dataDir := t.TempDir()
	var logs bytes.Buffer
	out, err := overridesCLI(t, &logs, "overrides", "add", "-data", dataDir, "-customer", "alice",
		"-counterparty", "Northern Water", "-category", "utilities")
	if err != nil {
		t.Fatalf("add: %v\n%s", err, out)
	}
	if !strings.Contains(out, `customer "alice" has no stored transactions`) {
		t.Errorf("add output for a customer without data = %q, want a note that nothing is stored", out)
	}
	out, err = overridesCLI(t, &logs, "overrides", "list", "-data", dataDir, "-customer", "alice", "-json")
	if err != nil {
		t.Fatal(err)
	}
	var listed []overrideJSON
	if err := json.Unmarshal([]byte(out), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed) != 1 || len(listed[0].ID) != 9 || !strings.HasPrefix(listed[0].ID, "o") {
		t.Fatalf("list -json = %+v, want one override with an ID of o and 8 hex digits", listed)
	}
	if strings.Contains(strings.ToLower(listed[0].ID), "water") {
		t.Errorf("ID %q is made from the counterparty", listed[0].ID)
	}
}
