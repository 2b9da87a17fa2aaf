package consent

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// TestAllocateStatus_concurrentProcesses allocates from several services
// on one storage at once, as replicas do, with ranges small enough that
// they reserve many times and often race.
func TestAllocateStatus_concurrentProcesses(t *testing.T) {
	engine := storetest.New(t)
	issuer := &attest.Issuer{Issuer: "http://127.0.0.1:8080"}
	now := func() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }
	const (
		processes = 4
		each      = 150 // over two ranges of 64 per process
	)

	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		seen = map[string]int{}
		errs []error
	)
	for p := range processes {
		svc := &Service{Engine: engine, Issuer: issuer, Now: now, StatusListSize: 1000}
		wg.Go(func() {
			for range each {
				list, idx, err := svc.allocateStatus(context.Background())
				mu.Lock()
				if err != nil {
					errs = append(errs, fmt.Errorf("process %d: %w", p, err))
					mu.Unlock()
					return
				}
				seen[fmt.Sprintf("%d/%d", list, idx)]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		t.Error(err)
	}
	if len(seen) != processes*each {
		t.Errorf("%d distinct entries; want %d", len(seen), processes*each)
	}
	for entry, n := range seen {
		if n > 1 {
			t.Errorf("entry %s handed out %d times", entry, n)
		}
	}
}
