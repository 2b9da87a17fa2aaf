package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// pingEngine counts the queries that reach the engine, and fails them all
// with store.ErrUnavailable while down is set.
type pingEngine struct {
	store.Engine
	down    atomic.Bool
	queries atomic.Int64
}

func (p *pingEngine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	p.queries.Add(1)
	if p.down.Load() {
		return nil, fmt.Errorf("query: %w: connection refused", store.ErrUnavailable)
	}
	return p.Engine.Query(ctx, query, params...)
}

func TestBatcherPing(t *testing.T) {
	engine := &pingEngine{Engine: storetest.New(t)}
	b := store.NewBatcher(engine)
	ctx := context.Background()

	if err := b.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}

	// Concurrent callers share statements: never more than one per
	// caller, and each caller gets a result.
	const callers = 64
	before := engine.queries.Load()
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { errs[i] = b.Ping(ctx) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Errorf("concurrent pings: %v", err)
	}
	if got := engine.queries.Load() - before; got < 1 || got > callers {
		t.Errorf("statements for %d pings = %d, want 1 to %d", callers, got, callers)
	}

	engine.down.Store(true)
	if err := b.Ping(ctx); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("ping during an outage: err = %v, want store.ErrUnavailable", err)
	}
	engine.down.Store(false)
	if err := b.Ping(ctx); err != nil {
		t.Errorf("ping after the outage: %v", err)
	}
}
