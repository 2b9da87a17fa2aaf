package ingest_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

const (
	pullClientID     = "insights-bench"
	pullSecret       = "bench-secret"
	pullFinancialID  = "0015800001041RHAAY"
	pullTransactions = 1000000
)

// BenchmarkPullHTTP links one customer of the local bank, served on
// 127.0.0.1 with pages of 1,000 records, and pulls their 100,000
// transactions (the file benchmark's feed; 1 million with
// INSIGHTS_BENCH_PULL_1M=1) over HTTP into the embedded
// engine: Link, the bank's authorisation with prompt=none, and Callback,
// which runs the first pull. It reports transactions per second of the
// link and pull, the process's peak resident memory (which includes the
// bank's copy of the feed and chDB) and the Go heap's peak.
func BenchmarkPullHTTP(b *testing.B) {
	// The default of 100,000 keeps make bench short; 1 million take about
	// 35 seconds and 2.5 GiB of resident memory on a 2-core machine,
	// including the bank's copy of the feed in the same process.
	pullTransactions := 100000
	if os.Getenv("INSIGHTS_BENCH_PULL_1M") == "1" {
		pullTransactions = 1000000
	}
	dataDir := b.TempDir()
	writeBankCustomer(b, filepath.Join(dataDir, "bench"), pullTransactions)
	// The feed is booked from 2024 to early 2026; the clocks of both sides
	// stand after it, and the consent reaches back over all of it.
	now := time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	bk, err := bank.New(bank.Options{DataDir: dataDir, ClientID: pullClientID, ClientSecret: pullSecret,
		FinancialID: pullFinancialID, PageSize: 1000, Now: clock})
	if err != nil {
		b.Fatalf("bank.New: %v", err)
	}
	srv := httptest.NewServer(bk)
	defer srv.Close()

	engine := storetest.New(b)
	logger := slog.New(slog.DiscardHandler)
	svc := &feeds.Service{
		Engine: engine,
		Loader: &ingest.Loader{Engine: engine, Logger: logger},
		Banks: map[string]aspsp.Bank{"local": {ID: "local", Name: "Local Bank", BaseURL: srv.URL,
			ClientID: pullClientID, ClientSecret: pullSecret, FinancialID: pullFinancialID,
			RedirectURI: "http://127.0.0.1:8080/banks/callback"}},
		TokenKey: bytes.Repeat([]byte{7}, 32),
		Logger:   logger,
		Now:      clock,
		History:  3 * 365 * 24 * time.Hour,
	}
	heap := ingest.WatchHeap()
	cpu := ingest.CPUTime()
	b.ResetTimer()

	for i := 0; i < b.N; i++ {
		ctx := context.Background()
		authURL, err := svc.Link(ctx, "bench", "local")
		if err != nil {
			b.Fatalf("Link: %v", err)
		}
		q := authorize(b, authURL+"&"+url.Values{"login_hint": {"bench"}, "prompt": {"none"}}.Encode())
		if _, err := svc.Callback(ctx, q.Get("state"), q.Get("code"), q.Get("error")); err != nil {
			b.Fatalf("Callback: %v", err)
		}
	}

	b.StopTimer()
	counts, err := ingest.CountRows(context.Background(), engine, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if counts.Transactions != pullTransactions {
		b.Fatalf("stored transactions = %d, want %d", counts.Transactions, pullTransactions)
	}
	b.ReportMetric(float64(pullTransactions)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(ingest.VmHWM())/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(heap())/(1<<20), "peak-heap-MiB")
	// The CPU time includes the local bank's, which serves the pages from
	// the same process.
	b.ReportMetric((ingest.CPUTime()-cpu).Seconds()*1e6/(float64(pullTransactions)*float64(b.N)), "cpu-µs/tx")
}

// authorize follows the bank's authorisation URL and returns the query of
// its redirect back to the service.
func authorize(b *testing.B, authURL string) url.Values {
	b.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(authURL)
	if err != nil {
		b.Fatalf("GET authorize: %v", err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || err != nil {
		b.Fatalf("authorize: status %d, want a 302 redirect", resp.StatusCode)
	}
	return loc.Query()
}

// writeBankCustomer writes a customer folder of the local bank: the
// generated feed's accounts, one balance per account, a party, and n
// transactions.
func writeBankCustomer(b *testing.B, dir string, n int) {
	b.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	var accounts, balances []string
	for a := 1; a <= ingest.FeedAccounts; a++ {
		accounts = append(accounts, ingest.FeedAccount(a))
		balances = append(balances, fmt.Sprintf(`{"AccountId":"A%d","Amount":{"Amount":"100.00","Currency":"GBP"},`+
			`"CreditDebitIndicator":"Credit","Type":"InterimAvailable","DateTime":"2026-01-20T09:00:00Z"}`, a))
	}
	envelope := func(resource, records string) string {
		return `{"Data":{"` + resource + `":` + records + `},"Links":{"Self":"https://bank.example/"},"Meta":{"TotalPages":1}}`
	}
	files := map[string]string{
		"accounts.json": envelope("Account", "["+strings.Join(accounts, ",")+"]"),
		"balances.json": envelope("Balance", "["+strings.Join(balances, ",")+"]"),
		"party.json":    envelope("Party", `{"PartyId":"P1","PartyType":"Sole","Name":"Bench Tester"}`),
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
	}

	f, err := os.Create(filepath.Join(dir, "transactions.ndjson"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	ingest.WriteTransactionLines(b, w, n)
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}
