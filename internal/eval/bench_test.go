package eval

import (
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// BenchmarkCategorize_corpus measures categorisation on one core over every
// transaction of the labelled corpus and the demo feed, in their own mix of
// card payments, direct debits, transfers and credits.
func BenchmarkCategorize_corpus(b *testing.B) {
	corpus, err := LoadCorpus(labelledDir)
	if err != nil {
		b.Fatal(err)
	}
	sample, err := LoadSample(sampleDir)
	if err != nil {
		b.Fatal(err)
	}
	var txs []insights.Transaction
	for _, c := range append(corpus, sample...) {
		txs = append(txs, c.Transactions...)
	}
	c := categorize.New()

	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	start := time.Now()
	for b.Loop() {
		c.Categorize(&txs[n%len(txs)])
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tx/s")
}
