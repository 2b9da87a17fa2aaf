package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// leaseSkew is how much earlier than its stored expiry a holder stops
// trusting its own lease, to tolerate clock differences between replicas.
const leaseSkew = 2 * time.Second

// leases runs scheduled jobs under leases stored in the job_leases table,
// so that service instances sharing one ClickHouse run each job on one
// instance at a time. A lease has numbered terms: acquiring or renewing
// inserts the next term with insert_deduplication_token "<job>/<term>",
// and the storage keeps only the first insert of each token, so of several
// instances that try the same term exactly one finds its own name on it.
type leases struct {
	Engine store.Engine
	// Holder names this instance in job_leases; it must differ between
	// instances.
	Holder string
	Logger *slog.Logger
	Now    func() time.Time
}

// lease is one stored term of a job's lease.
type lease struct {
	Term      uint64
	Holder    string
	ExpiresAt time.Time
}

// errLeaseHeld reports that another instance holds a job's lease.
var errLeaseHeld = errors.New("lease held by another instance")

// newHolderName returns a name for this process: host, process ID and a
// random suffix, so that a restarted process never takes over its
// predecessor's terms by name.
func newHolderName() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("read random bytes: %v", err))
	}
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}

func (l *leases) now() time.Time {
	if l.Now != nil {
		return l.Now().UTC()
	}
	return time.Now().UTC()
}

// current returns the newest term of job's lease; Term 0 means none.
func (l *leases) current(ctx context.Context, job string) (lease, error) {
	rows, err := l.Engine.Query(ctx, `SELECT toInt64(term), holder, toUnixTimestamp64Milli(expires_at)
FROM job_leases WHERE job = {job:String} ORDER BY term DESC LIMIT 1`, store.P("job", job))
	if err != nil {
		return lease{}, fmt.Errorf("read lease of job %s: %w", job, err)
	}
	defer rows.Close()

	var cur lease
	if rows.Next() {
		var term, expires int64
		if err := rows.Scan(&term, &cur.Holder, &expires); err != nil {
			return lease{}, fmt.Errorf("read lease of job %s: %w", job, err)
		}
		cur.Term, cur.ExpiresAt = uint64(term), time.UnixMilli(expires).UTC()
	}
	if err := rows.Err(); err != nil {
		return lease{}, fmt.Errorf("read lease of job %s: %w", job, err)
	}
	return cur, nil
}

// leaseTimeout bounds each acquisition or renewal.
const leaseTimeout = 30 * time.Second

// acquire takes or renews job's lease until now+hold. It returns the
// expiry this instance may rely on, or errLeaseHeld when another instance
// holds an unexpired lease or won the race for the next term.
func (l *leases) acquire(ctx context.Context, job string, hold time.Duration) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, leaseTimeout)
	defer cancel()

	cur, err := l.current(ctx, job)
	if err != nil {
		return time.Time{}, err
	}
	now := l.now()
	if cur.Term > 0 && cur.Holder != l.Holder && now.Before(cur.ExpiresAt) {
		return time.Time{}, errLeaseHeld
	}

	return l.claim(ctx, job, cur.Term+1, hold)
}

// claim inserts term of job's lease for this instance and returns the
// expiry it may rely on, or errLeaseHeld when another instance's insert of
// the same term came first.
func (l *leases) claim(ctx context.Context, job string, term uint64, hold time.Duration) (time.Time, error) {
	now := l.now()
	expires := now.Add(hold)
	token := job + "/" + strconv.FormatUint(term, 10)
	err := l.Engine.Exec(ctx, `INSERT INTO job_leases (job, term, holder, acquired_at, expires_at)
SETTINGS insert_deduplicate = 1, insert_deduplication_token = {token:String}
VALUES ({job:String}, {term:UInt64}, {holder:String}, fromUnixTimestamp64Milli({now:Int64}, 'UTC'),
    fromUnixTimestamp64Milli({expires:Int64}, 'UTC'))`,
		store.P("token", token), store.P("job", job), store.P("term", strconv.FormatUint(term, 10)),
		store.P("holder", l.Holder), store.P("now", strconv.FormatInt(now.UnixMilli(), 10)),
		store.P("expires", strconv.FormatInt(expires.UnixMilli(), 10)))
	if err != nil {
		return time.Time{}, fmt.Errorf("claim term %d of the lease of job %s: %w", term, job, err)
	}

	won, err := l.term(ctx, job, term)
	if err != nil {
		return time.Time{}, err
	}
	if won.Holder != l.Holder {
		return time.Time{}, errLeaseHeld
	}
	return won.ExpiresAt.Add(-leaseSkew), nil
}

// term reads one stored term of job's lease: the single row that the
// deduplication kept.
func (l *leases) term(ctx context.Context, job string, term uint64) (lease, error) {
	rows, err := l.Engine.Query(ctx, `SELECT holder, toUnixTimestamp64Milli(expires_at)
FROM job_leases WHERE job = {job:String} AND term = {term:UInt64} ORDER BY acquired_at, holder LIMIT 1`,
		store.P("job", job), store.P("term", strconv.FormatUint(term, 10)))
	if err != nil {
		return lease{}, fmt.Errorf("read term %d of the lease of job %s: %w", term, job, err)
	}
	defer rows.Close()

	got := lease{Term: term}
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return lease{}, fmt.Errorf("read term %d of the lease of job %s: %w", term, job, err)
		}
		return lease{}, fmt.Errorf("term %d of the lease of job %s is missing just after it was claimed", term, job)
	}
	var expires int64
	if err := rows.Scan(&got.Holder, &expires); err != nil {
		return lease{}, fmt.Errorf("read term %d of the lease of job %s: %w", term, job, err)
	}
	got.ExpiresAt = time.UnixMilli(expires).UTC()
	return got, rows.Err()
}

// run runs fn when this instance gets job's lease, and reports whether it
// ran. While fn runs, the lease is renewed every hold/3; after fn returns
// the lease is left to expire, so another instance whose schedule fires
// within hold of this run skips the job. hold should therefore be shorter
// than the job's period and longer than the spread of the instances'
// schedules.
func (l *leases) run(ctx context.Context, job string, hold time.Duration, fn func()) (bool, error) {
	if _, err := l.acquire(ctx, job, hold); err != nil {
		if errors.Is(err, errLeaseHeld) {
			return false, nil
		}
		return false, err
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.renew(ctx, job, hold, stop)
	}()
	defer func() {
		close(stop)
		wg.Wait()
	}()
	fn()
	return true, nil
}

// renew extends job's lease every hold/3 until stop is closed. Losing the
// lease cannot stop a job that is already running, so it is logged.
func (l *leases) renew(ctx context.Context, job string, hold time.Duration, stop <-chan struct{}) {
	ticker := time.NewTicker(hold / 3)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
		if _, err := l.acquire(ctx, job, hold); err != nil {
			l.logger().Warn("scheduled job lease renewal failed; another instance may start the job",
				"job", job, "holder", l.Holder, "err", err)
		}
	}
}

func (l *leases) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}
