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
	"testing"
	"time"

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
			l := &Loader{Engine: engine, Logger: benchLogger()}
			if n, err := strconv.Atoi(os.Getenv("INSIGHTS_BENCH_BATCH")); err == nil {
				l.BatchSize = n
			}
			heap := watchHeap()
			b.ResetTimer()

			for i := 0; i < b.N; i++ {
				// Each iteration loads for a new customer, so none is
				// skipped as already loaded.
				if _, err := l.LoadFile(context.Background(), "bench"+strconv.Itoa(i), feed); err != nil {
					b.Fatal(err)
				}
			}

			b.StopTimer()
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "tx/s")
			b.ReportMetric(float64(vmHWM())/(1<<20), "peak-RSS-MiB")
			b.ReportMetric(float64(heap())/(1<<20), "peak-heap-MiB")
		})
	}
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
		for {
			runtime.ReadMemStats(&m)
			if m.HeapInuse > peak.Load() {
				peak.Store(m.HeapInuse)
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
func vmHWM() uint64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
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
