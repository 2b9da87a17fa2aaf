package derive

import (
	"context"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store"
)

// IncomeStreams returns the newest stored set of the customer's income
// streams, sorted by payer, or none when no set was derived yet.
func (d *Deriver) IncomeStreams(ctx context.Context, customerID string) ([]insights.IncomeStream, error) {
	streams, _, err := d.storedIncome(ctx, customerID)
	if err != nil {
		return nil, fmt.Errorf("read income streams: %w", err)
	}
	return streams, nil
}

// IncomeStreamsDetailed returns the newest stored set of the customer's
// income streams with their confidence and amount bands, sorted by payer,
// or none when no set was derived yet.
func (d *Deriver) IncomeStreamsDetailed(ctx context.Context, customerID string) ([]categorize.Stream, error) {
	sets, err := d.storedSets(ctx, customerID, incomeTable)
	if err != nil {
		return nil, fmt.Errorf("read income streams: %w", err)
	}
	return sets.income, nil
}

// Commitments returns the newest stored set of the customer's committed
// outgoings, sorted by payee, or none when no set was derived yet.
func (d *Deriver) Commitments(ctx context.Context, customerID string) ([]categorize.Commitment, error) {
	sets, err := d.storedSets(ctx, customerID, commitmentsTable)
	if err != nil {
		return nil, fmt.Errorf("read commitments: %w", err)
	}
	return sets.commitments, nil
}

// storedIncome returns the newest set of the customer's income streams and
// its derived_at, or the zero time when none is stored.
func (d *Deriver) storedIncome(ctx context.Context, customerID string) ([]insights.IncomeStream, time.Time, error) {
	sets, err := d.storedSets(ctx, customerID, incomeTable)
	if err != nil {
		return nil, time.Time{}, err
	}
	return plainStreams(sets.income), sets.incomeAt, nil
}

// nextSalary decides ClaimNextSalaryDate from the newest stored income
// streams, derived again first when they are stale (see incomeStale). AsOf
// is when the streams used were derived. It is unavailable when no salary
// stream has a next payday.
func (d *Deriver) nextSalary(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req}
	streams, derivedAt, err := d.storedIncome(ctx, customerID)
	if err != nil {
		return res, fmt.Errorf("derive salary for claim: %w", err)
	}
	stale, err := d.incomeStale(ctx, customerID, derivedAt, now)
	if err != nil {
		return res, fmt.Errorf("derive salary for claim: %w", err)
	}
	if stale {
		if _, err := d.RefreshIncome(ctx, customerID, now); err != nil {
			return res, fmt.Errorf("derive salary for claim: %w", err)
		}
		if streams, derivedAt, err = d.storedIncome(ctx, customerID); err != nil {
			return res, fmt.Errorf("derive salary for claim: %w", err)
		}
	}

	salary, ok := categorize.NextSalary(streams)
	if !ok {
		return res, nil
	}
	res.Available = true
	res.AsOf = derivedAt
	// The streams come from the whole booked history up to derivedAt, so
	// the data window has no start of its own.
	res.DataTo = derivedAt
	res.NextDate, res.Cadence = salary.NextExpected, salary.Cadence
	if req.SalaryAmountBand {
		res.SalaryAmount, res.SalaryCurrency = salary.TypicalAmount, salary.Currency
	}
	return res, nil
}

// incomeStale reports whether the income streams derived at derivedAt no
// longer reflect the data at now. That is so when none was derived, when
// transactions were ingested after them, or when they were derived on an
// earlier local date, because the next payday and lapses depend on the date.
//
// NOTE: a customer with no income credits has no stored set, so each salary
// claim for them reads their credits again.
func (d *Deriver) incomeStale(ctx context.Context, customerID string, derivedAt, now time.Time) (bool, error) {
	if derivedAt.IsZero() || d.today(derivedAt).Before(d.today(now)) {
		return true, nil
	}

	const query = `SELECT toUnixTimestamp64Milli(max(ingested_at)) FROM transactions WHERE customer_id = {customer:String}`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return false, fmt.Errorf("read last transaction load: %w", err)
	}
	defer rows.Close()

	var ingestedMs int64
	if rows.Next() {
		if err := rows.Scan(&ingestedMs); err != nil {
			return false, fmt.Errorf("read last transaction load: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read last transaction load: %w", err)
	}
	return ingestedMs > derivedAt.UnixMilli(), nil
}
