package loadtest

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// BenchmarkEnginePrimitives measures, on the embedded engine, the
// statements one issuance runs many times: a one-row INSERT ... VALUES
// into audit_log and consent_events, and the point read of a request's
// events with FINAL. These bound how many issuances per second a path
// that runs them one after another can reach.
func BenchmarkEnginePrimitives(b *testing.B) {
	ctx := context.Background()
	e, err := chdb.Open(ctx, chdb.Config{Path: filepath.Join(b.TempDir(), "chdb"), Database: "insights", Library: chdb.DefaultLibrary(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := store.Migrate(ctx, e, quiet()); err != nil {
		b.Fatal(err)
	}

	b.Run("insert audit_log 1 row", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := e.Exec(ctx, `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
VALUES (now64(3), 'customer', 'approved', {id:String}, 'client', ['age_over_18'])`, store.P("id", fmt.Sprint("req-", i)))
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert consent_events 1 row", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := e.Exec(ctx, `INSERT INTO consent_events (request_id, seq, event, client_id, customer_id, purpose, claims, actor, at, expires_at)
VALUES ({id:String}, 1, 'requested', 'client', '', 'purpose', '[]', 'client', now64(3), now64(3))`, store.P("id", fmt.Sprint("req-", i)))
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("insert audit_log 100 rows", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			err := e.Exec(ctx, `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
SELECT now64(3), 'customer', 'approved', concat({id:String}, toString(number)), 'client', ['age_over_18'] FROM numbers(100)`,
				store.P("id", fmt.Sprint("batch-", i, "-")))
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("read request events FINAL", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			rows, err := e.Query(ctx, "SELECT toInt64(max(seq)) FROM consent_events FINAL WHERE request_id = {id:String}",
				store.P("id", fmt.Sprint("req-", i%1000)))
			if err != nil {
				b.Fatal(err)
			}
			rows.Close()
		}
	})
}

// BenchmarkBatchedInserts compares 64 concurrent callers each inserting one
// audit_log row directly and through store.Batcher, which groups them into
// multi-row inserts. ns/op is the time per stored row.
func BenchmarkBatchedInserts(b *testing.B) {
	ctx := context.Background()
	e, err := chdb.Open(ctx, chdb.Config{Path: filepath.Join(b.TempDir(), "chdb"), Database: "insights", Library: chdb.DefaultLibrary(), Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := store.Migrate(ctx, e, quiet()); err != nil {
		b.Fatal(err)
	}
	const insert = `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
VALUES (now64(3), 'customer', {action:String}, {id:String}, 'client', ['age_over_18'])`

	for _, tc := range []struct {
		name   string
		engine store.Engine
	}{
		{"direct", e},
		{"batcher 2ms", &store.Batcher{Engine: e, Window: 2 * time.Millisecond}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var n atomic.Int64
			b.SetParallelism(32) // 64 callers on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := fmt.Sprint("req-", n.Add(1))
					if err := tc.engine.Exec(ctx, insert, store.P("action", "approved"), store.P("id", id)); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
