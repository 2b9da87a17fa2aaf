package consent_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store"
)

// countingEngine counts the statements that reach the engine it wraps.
type countingEngine struct {
	store.Engine
	queries, execs atomic.Int64
}

func (c *countingEngine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	c.queries.Add(1)
	return c.Engine.Query(ctx, query, params...)
}

func (c *countingEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	c.execs.Add(1)
	return c.Engine.Exec(ctx, query, params...)
}

// processCPU returns the user and system CPU time of the test process,
// chDB's threads included.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkIssuance runs the consent side of an issuance (the client's
// authenticated request, the customer's open, approval and redirect, the
// client's authenticated fetch) from concurrent goroutines on the
// embedded engine behind a store.Batcher, as `insights serve` wires it.
// Every flow has a customer of its own, so no claim value is reused. Claims come from fixedClaims, so derivation
// from stored data is not part of the figure. It reports flows per second
// and CPU time per flow (the whole test process), and the statements each flow sends: queries, and inserts as the
// Batcher writes them (grouped rows count once).
//
//	go test -run '^$' -bench Issuance -cpuprofile /tmp/issuance.cpu ./internal/consent/
func BenchmarkIssuance(b *testing.B) {
	for _, workers := range []int{1, 16} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			f := newFixture(b)
			counter := &countingEngine{Engine: f.svc.Engine}
			f.svc.Engine = store.NewBatcher(counter)
			ctx := context.Background()
			var next atomic.Int64

			b.SetParallelism(workers)
			cpuStart := processCPU(b)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					customer := fmt.Sprintf("customer-%d", next.Add(1))
					if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
						b.Error(err)
						return
					}
					req, err := f.svc.CreateRequest(ctx, f.client, "Age check at checkout",
						[]insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, consent.TokenOptions{})
					if err != nil {
						b.Error(err)
						return
					}
					if _, err := f.svc.Preview(ctx, customer, req); err != nil {
						b.Error(err)
						return
					}
					if err := f.svc.Decide(ctx, customer, req.ID, true); err != nil {
						b.Error(err)
						return
					}
					if _, _, err := f.svc.DecisionRedirect(ctx, req.ID, true); err != nil {
						b.Error(err)
						return
					}
					if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
						b.Error(err)
						return
					}
					if _, att, err := f.svc.ClientRequest(ctx, f.client, req.ID); err != nil || att == nil {
						b.Errorf("fetch token: %v, %v", att, err)
						return
					}
				}
			})
			b.StopTimer()
			cpu := processCPU(b) - cpuStart
			flows := float64(b.N)
			b.ReportMetric(cpu.Seconds()*1000/flows, "cpu-ms/flow")
			b.ReportMetric(flows/b.Elapsed().Seconds(), "flows/s")
			b.ReportMetric(float64(counter.queries.Load())/flows, "queries/flow")
			b.ReportMetric(float64(counter.execs.Load())/flows, "inserts/flow")
		})
	}
}
