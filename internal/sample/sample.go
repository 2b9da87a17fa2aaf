// Package sample generates the demo customers' OBIE v3.1 feeds: accounts,
// balances, party, a history of transactions that reads like UK bank
// statements, and the direct debits, standing orders and scheduled
// payments the bank lists at the end of the history. labels.json gives the
// intended category of every transaction and each income stream's next pay
// date. Everything is invented, and the output is deterministic: the same
// Config writes the same bytes.
package sample

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
	_ "time/tzdata" // Europe/London must not depend on the host's zoneinfo

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// Config selects which history Write generates.
type Config struct {
	// Seed drives every random choice. Each customer also mixes in a hash
	// of its id, so adding a persona leaves the others unchanged.
	Seed int64
	// End is the last day of the history, in UK local time. Card entries of
	// its last two days are Pending.
	End insights.Date
	// Months is how many calendar months the history covers, the last being
	// End's month. Zero means 13.
	Months int
}

// DefaultConfig returns the Config of the committed sample in
// testdata/sample.
func DefaultConfig() Config {
	return Config{Seed: 20261204, End: insights.Date{Year: 2026, Month: time.November, Day: 30}, Months: 13}
}

// maxMonths bounds the history so a mistyped Config cannot fill the disk.
const maxMonths = 120

// Customers returns the ids of the demo customers, which are also the names
// of their folders.
func Customers() []string {
	ids := make([]string, len(personas))
	for i, p := range personas {
		ids[i] = p.id
	}
	return ids
}

// File names Write creates in each customer's folder.
const (
	AccountsFile     = "accounts.json"
	BalancesFile     = "balances.json"
	PartyFile        = "party.json"
	TransactionsFile = "transactions.ndjson"
	LabelsFile       = "labels.json"
	// Payment orders, as GET /direct-debits, /standing-orders and
	// /scheduled-payments return them at End. A customer without orders of
	// a kind has no such file.
	DirectDebitsFile      = "direct-debits.json"
	StandingOrdersFile    = "standing-orders.json"
	ScheduledPaymentsFile = "scheduled-payments.json"
)

// Write generates every customer's feed into dir/<customer id>/, creating
// the folders and replacing the files. A payment order file of a kind the
// customer has no orders of is removed.
func Write(dir string, cfg Config) error {
	if cfg.Months == 0 {
		cfg.Months = 13
	}
	if err := cfg.validate(); err != nil {
		return err
	}

	cal := calendar.EnglandAndWales()
	for _, p := range personas {
		c := &customer{id: p.id, bank: p.bank}
		g := newGenerator(cfg, cal, c)
		p.build(g)

		files, err := render(c, cfg, g.start)
		if err != nil {
			return err
		}
		orders, err := renderOrders(c, g)
		if err != nil {
			return err
		}
		if err := writeFiles(filepath.Join(dir, c.id), files, orders); err != nil {
			return err
		}
	}
	return nil
}

func (cfg Config) validate() error {
	if cfg.End.IsZero() {
		return errors.New("invalid sample config: End is missing")
	}
	if _, err := insights.ParseDate(cfg.End.String()); err != nil {
		return fmt.Errorf("invalid sample config: End is not a calendar date: %w", err)
	}
	if cfg.Months < 1 || cfg.Months > maxMonths {
		return fmt.Errorf("invalid sample config: Months is %d, want 1 to %d", cfg.Months, maxMonths)
	}
	return nil
}

func writeFiles(dir string, files feedFiles, orders orderFiles) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create sample folder: %w", err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{
		{AccountsFile, files.accounts},
		{BalancesFile, files.balances},
		{PartyFile, files.party},
		{TransactionsFile, files.transactions},
		{LabelsFile, files.labels},
		{DirectDebitsFile, orders.directDebits},
		{StandingOrdersFile, orders.standingOrders},
		{ScheduledPaymentsFile, orders.scheduledPayments},
	} {
		path := filepath.Join(dir, f.name)
		if f.data == nil {
			if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("remove stale sample file: %w", err)
			}
			continue
		}
		if err := os.WriteFile(path, f.data, 0o644); err != nil {
			return fmt.Errorf("write sample file: %w", err)
		}
	}
	return nil
}
