package ingest

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// BenchmarkLoadFile loads generated NDJSON feeds into the embedded engine
// and reports transactions per second, the process's peak resident memory
// (VmHWM, which includes chDB's own memory) and the Go heap's peak. The
// 10-million-row feed runs only with INSIGHTS_BENCH_10M=1.
func BenchmarkLoadFile(b *testing.B) {
	sizes := []int{1000000}
	if os.Getenv("INSIGHTS_BENCH_10M") == "1" {
		sizes = append(sizes, 10000000)
	}
	for _, n := range sizes {
		b.Run(strconv.Itoa(n/1000000)+"M", func(b *testing.B) {
			feed := filepath.Join(b.TempDir(), "feed.ndjson")
			writeFeed(b, feed, n)
			engine := storetest.New(b)
			// The categoriser the service loads with (cmd/insights) runs
			// here too, so the figures include categorisation.
			l := &Loader{Engine: engine, Categorizer: categorize.New(), Logger: benchLogger()}
			if n, err := strconv.Atoi(os.Getenv("INSIGHTS_BENCH_BATCH")); err == nil {
				l.BatchSize = n
			}
			heap := watchHeap()
			merged := mergedRows(b, engine)
			cpu := cpuTime()
			b.ResetTimer()

			for i := 0; i < b.N; i++ {
				// Each iteration loads for a new customer, so none is
				// skipped as already loaded.
				if _, err := l.LoadFile(context.Background(), "bench"+strconv.Itoa(i), feed); err != nil {
					b.Fatal(err)
				}
			}

			b.StopTimer()
			loaded := float64(n) * float64(b.N)
			b.ReportMetric(loaded/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric((cpuTime()-cpu).Seconds()*1e6/loaded, "cpu-µs/tx")
			// The attached parts are merged in the background after the
			// timed loads. Waiting for those merges shows what the loads
			// cost in all.
			waitForMerges(b, engine)
			b.ReportMetric((cpuTime()-cpu).Seconds()*1e6/loaded, "settled-cpu-µs/tx")
			b.ReportMetric(float64(mergedRows(b, engine)-merged)/loaded, "merged-rows/tx")
			b.ReportMetric(float64(vmHWM())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(heap())/(1<<20), "peak-heap-MiB")
		})
	}
}

// waitForMerges returns when no merge has run in the engine's database for
// ten seconds. ClickHouse may take a few seconds to pick the next merge.
// After the attach of a 10M load, the first merge started about 4 s after
// LoadFile returned, so a quiet time of three seconds could end the wait
// before any merge had run.
func waitForMerges(b *testing.B, engine store.Engine) {
	for quiet := 0; quiet < 100; {
		if benchCount(b, engine, "SELECT count() FROM system.merges WHERE database = currentDatabase()") == 0 {
			quiet++
		} else {
			quiet = 0
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mergedRows returns the number of rows the server's merges have read
// since it started (the MergedRows event).
func mergedRows(b *testing.B, engine store.Engine) uint64 {
	return benchCount(b, engine, "SELECT sum(value) FROM system.events WHERE event = 'MergedRows'")
}

// benchCount returns the one number that query selects.
func benchCount(b *testing.B, engine store.Engine, query string) uint64 {
	rows, err := engine.Query(context.Background(), query)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	for rows.Next() {
		if err := rows.Scan(&n); err != nil {
			b.Fatal(err)
		}
	}
	if err := rows.Err(); err != nil {
		b.Fatal(err)
	}
	return n
}

// cpuTime returns the user and system CPU time the process has used, chDB's
// threads included. On a machine shared with other work, CPU time per
// transaction varies less between runs than transactions per second.
func cpuTime() time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &u); err != nil {
		return 0
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// watchHeap samples the Go heap every 50 ms until the returned function is
// called, which returns the largest HeapInuse seen.
func watchHeap() func() uint64 {
	var peak atomic.Uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		ticker := time.NewTicker(50 * time.Millisecond)
		defer ticker.Stop()
		var m runtime.MemStats
		logRSS := os.Getenv("INSIGHTS_BENCH_LOG") == "1"
		for tick := 0; ; tick++ {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
			}
			if logRSS && tick%20 == 0 {
				slog.New(slog.NewTextHandler(os.Stderr, nil)).Info("memory",
					"rss_mib", procStatus("VmRSS:")>>20, "heap_inuse_mib", m.HeapInuse>>20)
			}
			select {
			case <-done:
				return
			case <-ticker.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak.Load()
	}
}

// vmHWM returns the process's peak resident set size in bytes, from
// /proc/self/status, or 0 where that is not available.
func vmHWM() uint64 { return procStatus("VmHWM:") }

// procStatus returns the value in bytes of one kB line of
// /proc/self/status, or 0 where that is not available.
func procStatus(key string) uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			kb, _ := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// benchLogger logs at debug level to standard error with INSIGHTS_BENCH_LOG=1,
// which shows how long staging and each commit step take; otherwise it
// discards every record.
func benchLogger() *slog.Logger {
	if os.Getenv("INSIGHTS_BENCH_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}
