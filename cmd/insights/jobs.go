package main

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/robfig/cron/v3"
)

// Lease hold times of the scheduled jobs: each is shorter than the job's
// period and longer than the spread of the replicas' schedules, so one run
// per period happens on one replica. holdWithin shortens them for
// schedules that fire more often.
const (
	expiryHold    = 50 * time.Second
	dailyHold     = time.Hour
	otherJobsHold = 5 * time.Minute
)

// holdWithin returns hold, or five sixths of the shortest interval between
// the next activations of the cron spec when that is shorter. A lease that
// outlasts the period would make every replica skip the next runs, a
// restarted process included, because a restart gets a new holder name.
// An invalid spec returns hold, and registering the job reports it.
func holdWithin(spec string, location *time.Location, hold time.Duration) time.Duration {
	schedule, err := cron.ParseStandard(spec)
	if err != nil {
		return hold
	}
	at := schedule.Next(time.Now().In(location))
	for range 8 {
		next := schedule.Next(at)
		if limit := next.Sub(at) * 5 / 6; limit < hold {
			hold = limit
		}
		at = next
	}
	return hold
}

// startJobs registers the service's periodic work with cron. Every minute
// it records lapsed requests and rereads the signing key directory. On
// RefreshSchedule (Europe/London) it refreshes every customer's income
// streams, so next pay dates roll forward when no new data arrives. On
// KeyRotation, unless it is off, it rotates and prunes the signing keys.
//
// Every job except the key reload runs under a lease in storage (see
// leases), so replicas sharing one ClickHouse do not run it twice. The key
// reload updates this process's memory and runs on every replica.
func (m *Main) startJobs() error {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return fmt.Errorf("load time zone Europe/London: %w", err)
	}
	l := &leases{Engine: m.Engine, Holder: newHolderName(), Logger: m.Logger}
	// The bank pulls are the only job another package registers.
	bankHold := holdWithin(m.Config.Feeds.Refresh, london, otherJobsHold)
	c := cron.New(cron.WithLocation(london),
		cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger), leaseWrapper(l, m.Logger, bankHold)))
	if _, err := c.AddJob("@every 1m", leasedJob{name: "request-expiry", hold: expiryHold, fn: m.expireRequests}); err != nil {
		return fmt.Errorf("schedule request expiry: %w", err)
	}
	incomeHold := holdWithin(m.Config.RefreshSchedule, london, dailyHold)
	if _, err := c.AddJob(m.Config.RefreshSchedule, leasedJob{name: "income-refresh", hold: incomeHold, fn: m.refreshIncome}); err != nil {
		return fmt.Errorf("-refresh-schedule %q: %w", m.Config.RefreshSchedule, err)
	}
	if _, err := c.AddJob("@every 1m", localJob(m.reloadKeys)); err != nil {
		return fmt.Errorf("schedule signing key reload: %w", err)
	}
	if m.Config.keyRotationEnabled() {
		rotationHold := holdWithin(m.Config.KeyRotation, london, dailyHold)
		if _, err := c.AddJob(m.Config.KeyRotation, leasedJob{name: "key-rotation", hold: rotationHold, fn: m.rotateKeys}); err != nil {
			return fmt.Errorf("-key-rotation %q: %w", m.Config.KeyRotation, err)
		}
	}
	m.jobs = c // Open starts it once every job is registered
	return nil
}

// localJob is a scheduled job that runs on every replica, without a lease.
type localJob func()

func (j localJob) Run() { j() }

// leasedJob is a scheduled job that runs only on the replica holding its
// lease, which it keeps for hold after the run starts.
type leasedJob struct {
	name string
	hold time.Duration
	fn   func()
}

func (j leasedJob) Run() { j.fn() }

// leaseWrapper returns the cron.JobWrapper that runs each job under its
// lease. Jobs registered as plain functions by other packages (the bank
// pulls) are named job-1, job-2, ... in registration order, which is the
// same on every replica started with the same flags, and held for
// unnamedHold.
func leaseWrapper(l *leases, logger *slog.Logger, unnamedHold time.Duration) cron.JobWrapper {
	var unnamed int
	return func(j cron.Job) cron.Job {
		var job leasedJob
		switch j := j.(type) {
		case localJob:
			return j
		case leasedJob:
			job = j
		default:
			unnamed++
			job = leasedJob{name: "job-" + strconv.Itoa(unnamed), hold: unnamedHold, fn: j.Run}
		}
		return cron.FuncJob(func() {
			ran, err := l.run(context.Background(), job.name, job.hold, job.fn)
			switch {
			case err != nil:
				logger.Error("scheduled job skipped: lease unavailable", "job", job.name, "err", err)
			case !ran:
				logger.Debug("scheduled job skipped: another replica holds its lease", "job", job.name)
			}
		})
	}
}

// stopJobs stops scheduling and waits up to 10 seconds for running jobs.
func (m *Main) stopJobs() {
	if m.jobs == nil {
		return
	}
	done := m.jobs.Stop()
	if m.stopPulls != nil {
		m.stopPulls()
	}
	select {
	case <-done.Done():
	case <-time.After(10 * time.Second):
		m.Logger.Warn("scheduled jobs still running at shutdown")
	}
	m.jobs = nil
}

func (m *Main) expireRequests() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := m.Consent.ExpireRequests(ctx)
	if err != nil {
		m.Logger.Error("request expiry failed", "err", err)
		return
	}
	if n > 0 {
		m.Logger.Info("lapsed requests expired", "requests", n)
	}
}

func (m *Main) refreshIncome() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	customers, err := m.Deriver.Customers(ctx)
	if err != nil {
		m.Logger.Error("income refresh failed: list customers", "err", err)
		return
	}
	var failed int
	for _, c := range customers {
		if _, err := m.Deriver.RefreshIncome(ctx, c, time.Now()); err != nil {
			failed++
			m.Logger.Error("income refresh failed", "customer_id", c, "err", err)
		}
	}
	m.Logger.Info("income streams refreshed", "customers", len(customers), "failed", failed)
}
