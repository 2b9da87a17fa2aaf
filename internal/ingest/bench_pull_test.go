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
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/bank"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

const (
	pullClientID    = "insights-bench"
	pullSecret      = "bench-secret"
	pullFinancialID = "0015800001041RHAAY"
	pullPageSize    = 1000
)

// BenchmarkPullHTTP links one customer of the local bank, served on
// 127.0.0.1 with pages of 1,000 records (2,000 at 10M), and pulls all
// their transactions over HTTP into the embedded engine: Link, the bank's
// authorisation with prompt=none, and Callback, which runs the first pull.
//
// By default it pulls 100,000 transactions (the file benchmark's feed)
// from a bank served in the same process. INSIGHTS_BENCH_PULL_1M=1 and
// INSIGHTS_BENCH_PULL_10M=1 pull 1 and 10 million transactions from
// `insights bank` running in its own process, which the benchmark builds.
// INSIGHTS_BENCH_PULL_BANK_PROCESS=1 uses that process for 100,000 too.
//
// It reports transactions per second of the link and pull, and the peak
// resident memory (VmHWM, chDB included, reset just before the link), Go
// heap peak and CPU time per transaction of the pulling process. With the
// bank in the same process these include the bank's copy of the feed and
// its CPU. With the bank in its own process, bank-peak-RSS-MiB is the
// bank's VmHWM, its loading of the data folder included, and
// bank-cpu-µs/tx its CPU time during the link and pull.
func BenchmarkPullHTTP(b *testing.B) {
	var sizes []int
	if os.Getenv("INSIGHTS_BENCH_PULL_1M") == "1" {
		sizes = append(sizes, 1000000)
	}
	if os.Getenv("INSIGHTS_BENCH_PULL_10M") == "1" {
		sizes = append(sizes, 10000000)
	}
	ownProcess := len(sizes) > 0 || os.Getenv("INSIGHTS_BENCH_PULL_BANK_PROCESS") == "1"
	if len(sizes) == 0 {
		// 100,000 keep make bench short: about 5 seconds on 2 cores.
		sizes = []int{100000}
	}

	for _, n := range sizes {
		name := strconv.Itoa(n/1000) + "k"
		if n >= 1000000 {
			name = strconv.Itoa(n/1000000) + "M"
		}
		if ownProcess {
			name += "/bank-process"
		} else {
			name += "/bank-in-process"
		}
		b.Run(name, func(b *testing.B) { benchmarkPull(b, n, ownProcess) })
	}
}

// benchmarkPull pulls n transactions of one customer, from a bank in its
// own process when ownProcess is set.
func benchmarkPull(b *testing.B, n int, ownProcess bool) {
	dataDir := b.TempDir()
	writeBankCustomer(b, filepath.Join(dataDir, "bench"), n)

	// The service's clock is after the last booking, and the consent
	// reaches back to the first. The generated feed books one pair of
	// transactions every 126 seconds from 1 January 2024, so 10 million
	// reach into 2043. A bank in its own process runs on the real clock, and
	// the consent's ExpirationDateTime must be after it.
	first := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	last := first.Add(time.Duration(n/2) * 126 * time.Second)
	now := time.Date(2026, 1, 20, 12, 0, 0, 0, time.UTC)
	if ownProcess {
		now = time.Now().UTC().Truncate(time.Second)
	}
	if !now.After(last) {
		now = last.Add(24 * time.Hour).Truncate(time.Hour)
	}
	clock := func() time.Time { return now }
	// The service's client reads at most aspsp.DefaultMaxPages (1,000)
	// pages per resource of an account, and the feed spreads its
	// transactions evenly over its accounts. At 10M each account holds 2
	// million, so pages of 1,000 would stop every account at half.
	perAccount := (n + ingest.FeedAccounts - 1) / ingest.FeedAccounts
	pageSize := max(pullPageSize, (perAccount+aspsp.DefaultMaxPages-1)/aspsp.DefaultMaxPages)

	var baseURL, secret string
	var bankProc *bankProcess
	if ownProcess {
		binDir := b.TempDir()
		bin := buildInsights(b, binDir)
		secretFile := filepath.Join(binDir, "bank-client.secret")
		secret = writeBankSecret(b, secretFile)
		started := time.Now()
		bankProc = startBankProcess(b, bin, dataDir, secretFile, pageSize)
		b.Logf("bank process loaded %d transactions in %s, resident memory %d MiB",
			n, time.Since(started).Round(time.Second), bankProc.status("VmRSS:")>>20)
		baseURL = bankProc.url
	} else {
		secret = pullSecret
		bk, err := bank.New(bank.Options{DataDir: dataDir, ClientID: pullClientID, ClientSecret: secret,
			FinancialID: pullFinancialID, PageSize: pageSize, Now: clock})
		if err != nil {
			b.Fatalf("bank.New: %v", err)
		}
		srv := httptest.NewServer(bk)
		defer srv.Close()
		baseURL = srv.URL
	}

	engine := storetest.New(b)
	logger := slog.New(slog.DiscardHandler)
	svc := &feeds.Service{
		Engine: engine,
		Loader: &ingest.Loader{Engine: engine, Categorizer: categorize.New(), Logger: logger},
		Banks: map[string]aspsp.Bank{"local": {ID: "local", Name: "Local Bank", BaseURL: baseURL,
			ClientID: pullClientID, ClientSecret: secret, FinancialID: pullFinancialID,
			RedirectURI: "http://127.0.0.1:8080/banks/callback"}},
		TokenKey: bytes.Repeat([]byte{7}, 32),
		Logger:   logger,
		Now:      clock,
		History:  now.Sub(first) + 24*time.Hour,
	}
	runtime.GC()
	if !resetPeakRSS() {
		b.Log("cannot reset VmHWM, so peak-RSS-MiB includes writing the feed and starting the bank")
	}
	heap := ingest.WatchHeap()
	cpu := ingest.CPUTime()
	var bankCPU time.Duration
	if bankProc != nil {
		bankCPU = bankProc.cpuTime()
	}
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
	pulled := float64(n) * float64(b.N)
	b.ReportMetric(pulled/b.Elapsed().Seconds(), "tx/s")
	b.ReportMetric(float64(ingest.VmHWM())/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(float64(heap())/(1<<20), "peak-heap-MiB")
	b.ReportMetric((ingest.CPUTime()-cpu).Seconds()*1e6/pulled, "cpu-µs/tx")
	if bankProc != nil {
		b.ReportMetric((bankProc.cpuTime()-bankCPU).Seconds()*1e6/pulled, "bank-cpu-µs/tx")
		b.ReportMetric(float64(bankProc.status("VmHWM:"))/(1<<20), "bank-peak-RSS-MiB")
	}

	counts, err := ingest.CountRows(context.Background(), engine, "bench")
	if err != nil {
		b.Fatal(err)
	}
	if counts.Transactions != n {
		b.Fatalf("stored transactions = %d, want %d", counts.Transactions, n)
	}
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
