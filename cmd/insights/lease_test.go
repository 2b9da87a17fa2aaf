package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
)

// The lease tests run two job runners in one process on one embedded
// engine, as two replicas would share one ClickHouse. The embedded engine
// allows one process per data directory, so replicas in production need
// the server engine.

func leaseEngine(t *testing.T) store.Engine {
	t.Helper()
	ctx := context.Background()
	e, err := chdb.Open(ctx, chdb.Config{Path: t.TempDir(), Database: "insights", Library: chdb.DefaultLibrary(), Logger: quietLogger()})
	if err != nil {
		t.Fatalf("open embedded engine: %v", err)
	}
	t.Cleanup(func() { e.Close() })
	if err := store.Migrate(ctx, e, quietLogger()); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return e
}

// clock is a settable time source shared by the runners of a test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func termRows(t *testing.T, e store.Engine, job string, term uint64) int64 {
	t.Helper()
	rows, err := e.Query(context.Background(), "SELECT toInt64(count()) FROM job_leases WHERE job = {job:String} AND term = {term:UInt64}",
		store.P("job", job), store.P("term", fmt.Sprint(term)))
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

func TestLeases(t *testing.T) {
	e := leaseEngine(t)
	ctx := context.Background()

	t.Run("same term claimed twice keeps the first", func(t *testing.T) {
		a := &leases{Engine: e, Holder: "replica-a", Logger: quietLogger()}
		b := &leases{Engine: e, Holder: "replica-b", Logger: quietLogger()}
		if _, err := a.claim(ctx, "dedupe", 1, time.Minute); err != nil {
			t.Fatalf("first claim: %v", err)
		}
		if _, err := b.claim(ctx, "dedupe", 1, time.Minute); !errors.Is(err, errLeaseHeld) {
			t.Fatalf("second claim of term 1: error %v, want errLeaseHeld", err)
		}
		if n := termRows(t, e, "dedupe", 1); n != 1 {
			t.Errorf("term 1 has %d stored rows, want 1", n)
		}
		cur, err := b.current(ctx, "dedupe")
		if err != nil {
			t.Fatal(err)
		}
		if cur.Holder != "replica-a" || cur.Term != 1 {
			t.Errorf("current lease = %+v, want term 1 held by replica-a", cur)
		}
	})

	t.Run("held lease blocks others until expiry", func(t *testing.T) {
		clk := &clock{t: time.Date(2026, 12, 4, 3, 0, 0, 0, time.UTC)}
		a := &leases{Engine: e, Holder: "replica-a", Logger: quietLogger(), Now: clk.Now}
		b := &leases{Engine: e, Holder: "replica-b", Logger: quietLogger(), Now: clk.Now}
		if _, err := a.acquire(ctx, "expiry", time.Minute); err != nil {
			t.Fatalf("a acquires: %v", err)
		}
		clk.Advance(30 * time.Second)
		if _, err := b.acquire(ctx, "expiry", time.Minute); !errors.Is(err, errLeaseHeld) {
			t.Fatalf("b acquires a held lease: error %v, want errLeaseHeld", err)
		}
		if _, err := a.acquire(ctx, "expiry", time.Minute); err != nil {
			t.Fatalf("a renews: %v", err)
		}
		clk.Advance(61 * time.Second)
		if _, err := b.acquire(ctx, "expiry", time.Minute); err != nil {
			t.Fatalf("b acquires an expired lease: %v", err)
		}
		if _, err := a.acquire(ctx, "expiry", time.Minute); !errors.Is(err, errLeaseHeld) {
			t.Fatalf("a acquires after b took over: error %v, want errLeaseHeld", err)
		}
		cur, err := a.current(ctx, "expiry")
		if err != nil {
			t.Fatal(err)
		}
		if cur.Term != 3 || cur.Holder != "replica-b" {
			t.Errorf("current lease = %+v, want term 3 held by replica-b", cur)
		}
	})

	t.Run("concurrent runners run each job once", func(t *testing.T) {
		runners := []*leases{
			{Engine: e, Holder: "replica-a", Logger: quietLogger()},
			{Engine: e, Holder: "replica-b", Logger: quietLogger()},
		}
		const jobs = 20
		var runs [jobs]atomic.Int32
		var wg sync.WaitGroup
		for _, r := range runners {
			for j := 0; j < jobs; j++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := r.run(ctx, fmt.Sprintf("race-%d", j), time.Minute, func() { runs[j].Add(1) })
					if err != nil {
						t.Errorf("%s job race-%d: %v", r.Holder, j, err)
					}
				}()
			}
		}
		wg.Wait()
		for j := range runs {
			if n := runs[j].Load(); n != 1 {
				t.Errorf("job race-%d ran %d times, want 1", j, n)
			}
		}
	})

	t.Run("running job keeps its lease", func(t *testing.T) {
		a := &leases{Engine: e, Holder: "replica-a", Logger: quietLogger()}
		b := &leases{Engine: e, Holder: "replica-b", Logger: quietLogger()}
		// leaseSkew is 2s, so a hold of 3s leaves a one-second window in
		// which a renewal every second keeps the lease.
		const hold = 3 * time.Second
		started := make(chan struct{})
		release := make(chan struct{})
		done := make(chan bool)
		go func() {
			ran, err := a.run(ctx, "long", hold, func() {
				close(started)
				<-release
			})
			if err != nil {
				t.Errorf("a runs: %v", err)
			}
			done <- ran
		}()
		<-started
		time.Sleep(hold + time.Second)
		ran, err := b.run(ctx, "long", hold, func() {})
		close(release)
		if err != nil {
			t.Fatalf("b runs: %v", err)
		}
		if ran {
			t.Error("b ran the job while a was still running it past the first hold")
		}
		if !<-done {
			t.Error("a did not run the job")
		}
	})
}

func TestLeaseWrapper_jobsAcrossReplicas(t *testing.T) {
	e := leaseEngine(t)
	a := leaseWrapper(&leases{Engine: e, Holder: "replica-a"}, quietLogger(), otherJobsHold)
	b := leaseWrapper(&leases{Engine: e, Holder: "replica-b"}, quietLogger(), otherJobsHold)

	var leased, local, unnamed atomic.Int32
	jobsA := []interface{ Run() }{
		a(leasedJob{name: "request-expiry", hold: time.Minute, fn: func() { leased.Add(1) }}),
		a(localJob(func() { local.Add(1) })),
		a(funcJob(func() { unnamed.Add(1) })),
	}
	jobsB := []interface{ Run() }{
		b(leasedJob{name: "request-expiry", hold: time.Minute, fn: func() { leased.Add(1) }}),
		b(localJob(func() { local.Add(1) })),
		b(funcJob(func() { unnamed.Add(1) })),
	}
	var wg sync.WaitGroup
	for i := range jobsA {
		for _, j := range []interface{ Run() }{jobsA[i], jobsB[i]} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				j.Run()
			}()
		}
	}
	wg.Wait()

	if n := leased.Load(); n != 1 {
		t.Errorf("leased job ran %d times on two replicas, want 1", n)
	}
	if n := local.Load(); n != 2 {
		t.Errorf("local job ran %d times on two replicas, want 2", n)
	}
	if n := unnamed.Load(); n != 1 {
		t.Errorf("job registered as a plain function ran %d times on two replicas, want 1", n)
	}
}

// funcJob is a job as another package registers it with cron.AddFunc.
type funcJob func()

func (f funcJob) Run() { f() }

func TestHoldWithin_schedules(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spec string
		hold time.Duration
		want time.Duration
	}{
		{"@every 20s", otherJobsHold, 20 * time.Second * 5 / 6},
		{"@every 6h", otherJobsHold, otherJobsHold},
		{"@every 1m", expiryHold, expiryHold},
		{"*/5 * * * *", dailyHold, 250 * time.Second},
		{"0 3 * * *", dailyHold, dailyHold},
		{"not a spec", dailyHold, dailyHold},
	} {
		if got := holdWithin(tc.spec, london, tc.hold); got != tc.want {
			t.Errorf("holdWithin(%q, %v) = %v, want %v", tc.spec, tc.hold, got, tc.want)
		}
	}
}

// A job registered as a plain function is held for the hold the wrapper
// was given, so a replica, or the process after a restart, runs it once
// that hold has passed.
func TestLeaseWrapper_unnamedHold(t *testing.T) {
	e := leaseEngine(t)
	const hold = 500 * time.Millisecond
	var runs atomic.Int32
	job := funcJob(func() { runs.Add(1) })
	a := leaseWrapper(&leases{Engine: e, Holder: "before-restart"}, quietLogger(), hold)(job)
	b := leaseWrapper(&leases{Engine: e, Holder: "after-restart"}, quietLogger(), hold)(job)

	a.Run()
	b.Run()
	if n := runs.Load(); n != 1 {
		t.Fatalf("job ran %d times within its hold, want 1", n)
	}
	time.Sleep(hold + 100*time.Millisecond)
	b.Run()
	if n := runs.Load(); n != 2 {
		t.Errorf("job ran %d times after its hold, want 2", n)
	}
}
