package main

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// startJobs registers the service's periodic work with cron. Every minute
// it records lapsed requests and rereads the signing key directory. On
// RefreshSchedule (Europe/London) it refreshes every customer's income
// streams, so next pay dates roll forward when no new data arrives. On
// KeyRotation, unless it is off, it rotates and prunes the signing keys.
func (m *Main) startJobs() error {
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		return fmt.Errorf("load time zone Europe/London: %w", err)
	}
	c := cron.New(cron.WithLocation(london), cron.WithChain(cron.SkipIfStillRunning(cron.DiscardLogger)))
	if _, err := c.AddFunc("@every 1m", m.expireRequests); err != nil {
		return fmt.Errorf("schedule request expiry: %w", err)
	}
	if _, err := c.AddFunc(m.Config.RefreshSchedule, m.refreshIncome); err != nil {
		return fmt.Errorf("-refresh-schedule %q: %w", m.Config.RefreshSchedule, err)
	}
	if _, err := c.AddFunc("@every 1m", m.reloadKeys); err != nil {
		return fmt.Errorf("schedule signing key reload: %w", err)
	}
	if m.Config.keyRotationEnabled() {
		if _, err := c.AddFunc(m.Config.KeyRotation, m.rotateKeys); err != nil {
			return fmt.Errorf("-key-rotation %q: %w", m.Config.KeyRotation, err)
		}
	}
	m.jobs = c // Open starts it once every job is registered
	return nil
}

// stopJobs stops scheduling and waits up to 10 seconds for running jobs.
func (m *Main) stopJobs() {
	if m.jobs == nil {
		return
	}
	done := m.jobs.Stop()
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
