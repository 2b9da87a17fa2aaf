// Package derive computes insights and claim values from a customer's
// stored data. It detects income streams and committed outgoings in booked
// transactions and decides age, funds, address, next-salary and
// affordability claims. Only the derived values leave it, and its errors
// and logs carry customer IDs and counts, never personal values.
package derive

import (
	"context"
	"fmt"
	"log/slog"
	"time"
	_ "time/tzdata" // Europe/London must load on hosts without a zoneinfo database

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/store"
)

// Values of Deriver.LeapDayBirthday.
const (
	// LeapDayMarch1 marks a 29 February birthday on 1 March in non-leap
	// years, the reading usually given for UK law.
	LeapDayMarch1 = "march-1"
	// LeapDayFebruary28 marks it on 28 February instead.
	LeapDayFebruary28 = "february-28"
)

// DefaultMaxBalanceAge is the balance age above which a funds claim
// counts as resting on stale data when Deriver.MaxBalanceAge is 0.
const DefaultMaxBalanceAge = 72 * time.Hour

var london = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Deriver computes derived insights and claim values from a storage
// engine. Its methods are safe for concurrent use.
type Deriver struct {
	Engine store.Engine
	// Calendar gives the bank holidays that move paydays; nil means
	// England and Wales.
	Calendar *calendar.Calendar
	// Zone is the customer's zone. It decides the local date on which a
	// birthday counts and the "today" of income detection. nil means
	// Europe/London.
	Zone *time.Location
	// LeapDayBirthday is LeapDayMarch1 (the default when empty) or
	// LeapDayFebruary28: the day a 29 February birthday is marked in
	// non-leap years.
	LeapDayBirthday string
	// MaxBalanceAge is the age above which a balance is stale; 0 means
	// DefaultMaxBalanceAge. A stale balance still decides a funds claim
	// when no fresher one can be pulled, and the claim states its age.
	MaxBalanceAge time.Duration
	// Balances pulls fresh balances when a funds claim would rest on one
	// older than MaxBalanceAge; nil keeps the stored balance, and the
	// claim states its age.
	Balances BalanceRefresher
	// Logger receives warnings about stored data; nil means slog.Default().
	Logger *slog.Logger

	// setCache keeps the stored sets that refreshes read or wrote.
	setCache setCache
}

// Derive computes each requested claim for the customer, in request order,
// as consent.ClaimDeriver defines it.
// It returns an *insights.Error with code invalid when a request is
// malformed, before reading any data, and a wrapped storage error when a
// read fails. A claim without data to decide it has Available false.
func (d *Deriver) Derive(ctx context.Context, customerID string, reqs []insights.ClaimRequest, now time.Time) ([]insights.ClaimResult, error) {
	if customerID == "" {
		return nil, insights.Errorf(insights.ErrInvalid, "customer ID is empty")
	}
	if err := d.checkConfig(); err != nil {
		return nil, err
	}
	for i, req := range reqs {
		if field, reason := checkRequest(req); field != "" {
			return nil, insights.Errorf(insights.ErrInvalid, "claims[%d].%s: %s", i, field, reason)
		}
	}

	results := make([]insights.ClaimResult, 0, len(reqs))
	for _, req := range reqs {
		res, err := d.deriveClaim(ctx, customerID, req, now)
		if err != nil {
			return nil, err
		}
		results = append(results, res)
	}
	return results, nil
}

func (d *Deriver) deriveClaim(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	switch req.Kind {
	case insights.ClaimAgeOver:
		return d.ageOver(ctx, customerID, req, now)
	case insights.ClaimFundsAtLeast:
		return d.fundsAtLeast(ctx, customerID, req, now)
	case insights.ClaimAddressMatches:
		return d.addressMatches(ctx, customerID, req)
	case insights.ClaimNextSalaryDate:
		return d.nextSalary(ctx, customerID, req, now)
	case insights.ClaimAffordability:
		return d.affordability(ctx, customerID, req, now)
	}
	// checkRequest rejects every other kind first.
	return insights.ClaimResult{}, fmt.Errorf("derive claim: unknown claim kind %q", req.Kind)
}

// maxMinimumAge bounds ClaimAgeOver thresholds: no living person is older.
const maxMinimumAge = 150

// checkRequest returns the field of req that is invalid and why, or "" when
// req is valid. Reasons echo thresholds and codes, never a postcode, which
// is personal.
func checkRequest(req insights.ClaimRequest) (field, reason string) {
	if req.SalaryAmountBand && req.Kind != insights.ClaimNextSalaryDate {
		return "SalaryAmountBand", fmt.Sprintf("only a %[2]s claim has an amount band, not %[1]s", req.Kind, insights.ClaimNextSalaryDate)
	}
	switch req.Kind {
	case insights.ClaimAgeOver:
		if req.MinimumAge < 1 || req.MinimumAge > maxMinimumAge {
			return "MinimumAge", fmt.Sprintf("invalid value %d: want an age from 1 to %d", req.MinimumAge, maxMinimumAge)
		}
	case insights.ClaimFundsAtLeast:
		if req.Amount < 0 {
			return "Amount", fmt.Sprintf("invalid value %s: want zero or more", req.Amount)
		}
		if !isCurrencyCode(req.Currency) {
			return "Currency", fmt.Sprintf("invalid value %q: want an ISO 4217 code such as GBP", req.Currency)
		}
		return checkFundsRequest(req)
	case insights.ClaimAddressMatches:
		return checkAddressRequest(req)
	case insights.ClaimNextSalaryDate:
	case insights.ClaimAffordability:
		if !affordabilityMonths[req.Months] {
			return "Months", fmt.Sprintf("invalid value %d: want 3, 6 or 12", req.Months)
		}
	default:
		return "Kind", fmt.Sprintf("unknown claim kind %q", req.Kind)
	}
	return "", ""
}

// isCurrencyCode reports whether s has the form of an ISO 4217 alphabetic
// code: three upper-case letters.
func isCurrencyCode(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (d *Deriver) checkConfig() error {
	switch d.LeapDayBirthday {
	case "", LeapDayMarch1, LeapDayFebruary28:
	default:
		return fmt.Errorf("derive: invalid LeapDayBirthday %q: want %q or %q", d.LeapDayBirthday, LeapDayMarch1, LeapDayFebruary28)
	}
	if d.Engine == nil {
		return fmt.Errorf("derive: Engine is nil")
	}
	return nil
}

func (d *Deriver) calendar() *calendar.Calendar {
	if d.Calendar != nil {
		return d.Calendar
	}
	return calendar.EnglandAndWales()
}

func (d *Deriver) zone() *time.Location {
	if d.Zone != nil {
		return d.Zone
	}
	return london
}

// today returns the customer's local date at now.
func (d *Deriver) today(now time.Time) insights.Date {
	return insights.DateOf(now.In(d.zone()))
}

func (d *Deriver) maxBalanceAge() time.Duration {
	if d.MaxBalanceAge > 0 {
		return d.MaxBalanceAge
	}
	return DefaultMaxBalanceAge
}

func (d *Deriver) logger() *slog.Logger {
	if d.Logger != nil {
		return d.Logger
	}
	return slog.Default()
}

// Customers lists, sorted, the IDs of customers with any stored account,
// balance, party or transaction.
func (d *Deriver) Customers(ctx context.Context) ([]string, error) {
	const query = `SELECT customer_id FROM (
    SELECT DISTINCT customer_id FROM accounts
    UNION DISTINCT SELECT DISTINCT customer_id FROM balances
    UNION DISTINCT SELECT DISTINCT customer_id FROM parties
    UNION DISTINCT SELECT DISTINCT customer_id FROM transactions
)
ORDER BY customer_id`
	rows, err := d.Engine.Query(ctx, query)
	if err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	defer rows.Close()

	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("list customers: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list customers: %w", err)
	}
	return ids, nil
}
