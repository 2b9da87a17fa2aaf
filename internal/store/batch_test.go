package store_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// countingEngine counts the statements that reach the engine.
type countingEngine struct {
	store.Engine
	execs atomic.Int64
}

func (c *countingEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	c.execs.Add(1)
	return c.Engine.Exec(ctx, query, params...)
}

const auditInsert = `INSERT INTO audit_log (at, actor, action, request_id, client_id, claim_names)
VALUES (fromUnixTimestamp64Milli({at:Int64}, 'UTC'), {actor:String}, {action:String}, {id:String}, {client:String},
    arrayFilter(x -> x != '', splitByChar(',', {claims:String})))`

func auditParams(id, at string) []store.Param {
	return []store.Param{store.P("at", at), store.P("actor", "customer"), store.P("action", "approved"),
		store.P("id", id), store.P("client", "client-1"), store.P("claims", "age_over_18,post_code")}
}

func rowCount(t *testing.T, e store.Engine, where string) int64 {
	t.Helper()
	rows, err := e.Query(context.Background(), "SELECT toInt64(count()) FROM audit_log WHERE "+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n int64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestBatcher_groupsConcurrentInserts(t *testing.T) {
	e := &countingEngine{Engine: storetest.New(t)}
	b := &store.Batcher{Engine: e, Window: 20 * time.Millisecond, MaxRows: 64}

	const callers = 200
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := b.Exec(context.Background(), auditInsert, auditParams(fmt.Sprintf("req-%03d", i), "1700000000000")...); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		}()
	}
	wg.Wait()

	if n := rowCount(t, e, "1"); n != callers {
		t.Errorf("stored %d rows, want %d", n, callers)
	}
	if n := rowCount(t, e, "request_id = 'req-123' AND claim_names = ['age_over_18', 'post_code']"); n != 1 {
		t.Errorf("row of caller 123 stored %d times with its values, want 1", n)
	}
	if n := e.execs.Load(); n >= callers/4 {
		t.Errorf("%d inserts for %d rows, want batches", n, callers)
	}
}

func TestBatcher_badRowFailsAlone(t *testing.T) {
	e := storetest.New(t)
	b := &store.Batcher{Engine: e, Window: 50 * time.Millisecond}

	var wg sync.WaitGroup
	errs := make([]error, 6)
	for i := range errs {
		at := "1700000000000"
		if i == 3 {
			at = "not-a-number"
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = b.Exec(context.Background(), auditInsert, auditParams(fmt.Sprintf("bad-%d", i), at)...)
		}()
	}
	wg.Wait()

	for i, err := range errs {
		if i == 3 {
			if err == nil || !strings.Contains(err.Error(), "audit_log") {
				t.Errorf("caller with the bad value: error %v, want one naming audit_log", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("caller %d with good values: %v", i, err)
		}
	}
	if n := rowCount(t, e, "startsWith(request_id, 'bad-')"); n != 5 {
		t.Errorf("stored %d rows, want the 5 good ones", n)
	}
}

func TestBatcher_otherStatementsPassThrough(t *testing.T) {
	e := &countingEngine{Engine: storetest.New(t)}
	b := store.NewBatcher(e)
	ctx := context.Background()

	// A multi-row insert and an INSERT ... SELECT are not batched.
	if err := b.Exec(ctx, "INSERT INTO audit_log (request_id) VALUES ({a:String}), ({b:String})", store.P("a", "x1"), store.P("b", "x2")); err != nil {
		t.Fatal(err)
	}
	if err := b.Exec(ctx, "INSERT INTO audit_log (request_id) SELECT 'x3'"); err != nil {
		t.Fatal(err)
	}
	if n := e.execs.Load(); n != 2 {
		t.Errorf("%d statements reached the engine, want 2", n)
	}
	if n := rowCount(t, e, "request_id IN ('x1', 'x2', 'x3')"); n != 3 {
		t.Errorf("stored %d rows, want 3", n)
	}
}
