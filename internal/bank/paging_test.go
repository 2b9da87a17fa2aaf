package bank

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

const (
	chenCurrent = "22e90f2e-7664-f9c2-730a-e1e870c246a5"
	chenSaver   = "758a90c8-249e-6ae7-fe7b-d1f675dff880"
)

// TestTransactions_indexMatchesScan pages through chen's transactions,
// seven to a page, and compares them with a scan of the loaded feed under
// the same account, direction and booking filters.
func TestTransactions_indexMatchesScan(t *testing.T) {
	h := newHarness(t, sampleDir, func(o *Options) { o.PageSize = 7 })
	both := []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits, permTransactionsDebits}
	credits := []string{permAccountsBasic, permTransactionsBasic, permTransactionsCredits}
	debits := []string{permAccountsBasic, permTransactionsBasic, permTransactionsDebits}
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, obie.London)
	to := time.Date(2026, 8, 31, 23, 59, 59, 0, obie.London)
	bounds := "?fromBookingDateTime=2026-03-01T00:00:00&toBookingDateTime=2026-08-31T23:59:59"

	tests := []struct {
		name       string
		perms      []string
		account    string // "" reads GET /transactions
		bounded    bool
		wantCredit bool
		wantDebit  bool
	}{
		{"all accounts both", both, "", false, true, true},
		{"all accounts credits bounded", credits, "", true, true, false},
		{"current debits", debits, chenCurrent, false, false, true},
		{"current both bounded", both, chenCurrent, true, true, true},
		{"saver credits", credits, chenSaver, false, true, false},
		{"saver debits", debits, chenSaver, false, false, true},
		{"saver both bounded", both, chenSaver, true, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Expected: a linear scan in the bank's stored order.
			var want []string
			var first, last time.Time
			for _, tx := range h.bank.customers["chen"].transactions {
				if (tt.account != "" && tx.accountID != tt.account) || (tx.credit && !tt.wantCredit) || (!tx.credit && !tt.wantDebit) {
					continue
				}
				if first.IsZero() {
					first = tx.booking()
				}
				last = tx.booking()
				if tt.bounded && (tx.booking().Before(from) || tx.booking().After(to)) {
					continue
				}
				want = append(want, tx.id)
			}
			if len(want) < 2 {
				t.Fatalf("filter selects %d transactions, want a test that pages", len(want))
			}

			path := aispPrefix + "/transactions"
			if tt.account != "" {
				path = aispPrefix + "/accounts/" + tt.account + "/transactions"
			}
			if tt.bounded {
				path += bounds
			}
			access, _, _ := h.link("chen", tt.perms, "")
			var got []string
			next := h.srv.URL + path
			for pages := 0; next != ""; pages++ {
				if pages > len(want) {
					t.Fatalf("more than %d pages", len(want))
				}
				resp, body := h.do(http.MethodGet, next, nil, fapiHeader(access))
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("GET %s: status %d", next, resp.StatusCode)
				}
				p := decodePage(t, body)
				if p.Meta.FirstAvailableDateTime != formatTime(first) || p.Meta.LastAvailableDateTime != formatTime(last) {
					t.Errorf("Meta available range = %s..%s, want %s..%s", p.Meta.FirstAvailableDateTime,
						p.Meta.LastAvailableDateTime, formatTime(first), formatTime(last))
				}
				got = append(got, transactionIDs(p)...)
				next = p.Links.Next
			}
			if !slices.Equal(got, want) {
				t.Errorf("served %d transactions, want %d in the scan's order\ngot  %v\nwant %v", len(got), len(want), got, want)
			}
		})
	}
}

// TestPage_costIndependentOfReadSize pins that serving one page copies
// only that page: a read twenty times larger allocates about as much per
// page. Copying the whole read per page made pulling a feed quadratic.
func TestPage_costIndependentOfReadSize(t *testing.T) {
	allocs := map[int]float64{}
	for _, n := range []int{200, 4000} {
		dir := writeGeneratedCustomer(t, n)
		h := newHarness(t, dir, func(o *Options) { o.PageSize = 50 })
		access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, "")
		header := fapiHeader(access)
		target := aispPrefix + "/accounts/" + ivyCurrent + "/transactions?fromBookingDateTime=2025-01-01&page=3"

		serve := func() *httptest.ResponseRecorder {
			req := httptest.NewRequest(http.MethodGet, target, nil)
			req.Header = header.Clone()
			rec := httptest.NewRecorder()
			h.bank.ServeHTTP(rec, req)
			return rec
		}
		if rec := serve(); rec.Code != http.StatusOK {
			t.Fatalf("n=%d: GET page 3: status %d, body %.200s", n, rec.Code, rec.Body.Bytes())
		} else if got := len(transactionIDs(decodePage(t, rec.Body.Bytes()))); got != 50 {
			t.Fatalf("n=%d: page 3 holds %d transactions, want 50", n, got)
		}
		allocs[n] = testing.AllocsPerRun(20, func() { serve() })
		t.Logf("n=%d: %.0f allocations per page", n, allocs[n])
	}

	if allocs[4000] > allocs[200]*1.25 {
		t.Errorf("allocations per page = %.0f for 4,000 transactions and %.0f for 200, want about the same",
			allocs[4000], allocs[200])
	}
}

// writeGeneratedCustomer writes a data folder with customer "ivy": the
// accounts, balances and party of testdata/edge/ivy and n booked
// transactions on ivy's current account, one an hour from 2025-01-01,
// alternating credit and debit.
func writeGeneratedCustomer(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "ivy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fileAccounts, fileBalances, fileParty} {
		data, err := os.ReadFile(filepath.Join(edgeDir, "ivy", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	var b strings.Builder
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		indicator := "Credit"
		if i%2 == 1 {
			indicator = "Debit"
		}
		fmt.Fprintf(&b, `{"Transaction":{"AccountId":%q,"TransactionId":"G%05d","Amount":{"Amount":"%d.00","Currency":"GBP"},`+
			`"CreditDebitIndicator":%q,"Status":"Booked","BookingDateTime":%q,"TransactionInformation":"GENERATED ENTRY"}}`+"\n",
			ivyCurrent, i, 1+i%90, indicator, start.Add(time.Duration(i)*time.Hour).Format(time.RFC3339))
	}
	if err := os.WriteFile(filepath.Join(dir, fileTransactions), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(dir)
}
