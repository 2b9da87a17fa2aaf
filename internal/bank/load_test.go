package bank

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestNew_customers(t *testing.T) {
	b, err := New(Options{DataDir: sampleDir, ClientID: "c", ClientSecret: "s", FinancialID: "f"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if got, want := b.Customers(), []string{"alice", "bob", "chen", "dana", "eve"}; !slices.Equal(got, want) {
		t.Errorf("Customers() = %v, want %v", got, want)
	}
}

func TestNew_errors(t *testing.T) {
	empty := t.TempDir()
	missingFile := t.TempDir()
	if err := os.Mkdir(filepath.Join(missingFile, "amy"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want []string // substrings of the error
	}{
		{"options missing", Options{}, []string{"DataDir is empty", "ClientID is empty", "ClientSecret is empty", "FinancialID is empty"}},
		{"negative page size", Options{DataDir: sampleDir, ClientID: "c", ClientSecret: "s", FinancialID: "f", PageSize: -1}, []string{"PageSize is -1"}},
		{"no directory", Options{DataDir: filepath.Join(empty, "absent"), ClientID: "c", ClientSecret: "s", FinancialID: "f"}, []string{"read data directory"}},
		{"no customers", Options{DataDir: empty, ClientID: "c", ClientSecret: "s", FinancialID: "f"}, []string{"contains no customer folders"}},
		{"missing file", Options{DataDir: missingFile, ClientID: "c", ClientSecret: "s", FinancialID: "f"}, []string{filepath.Join("amy", "accounts.json")}},
		{"bad amount", Options{DataDir: "testdata/bad-amount", ClientID: "c", ClientSecret: "s", FinancialID: "f"}, []string{"transactions.ndjson:2", "$.Transaction.Amount.Amount"}},
		{"orphan transaction", Options{DataDir: "testdata/orphan", ClientID: "c", ClientSecret: "s", FinancialID: "f"}, []string{"transactions.ndjson:2", "not an account of accounts.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil {
				t.Fatal("New succeeded, want an error")
			}
			for _, want := range tt.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}
