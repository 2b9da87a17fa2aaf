package derive

import (
	"context"
	"time"

	"github.com/openbanking-insights/insights"
)

// Insights is one derivation of all of a customer's insights.
type Insights struct {
	Derived
	// Affordability holds the figures of each window length of
	// ClaimAffordability (3, 6 and 12 months) that the stored data
	// supports, by number of months.
	Affordability map[int]insights.AffordabilityFigures
}

// RefreshAll refreshes the customer's income streams and commitments as
// RefreshInsights does, and computes the affordability figures over 3, 6
// and 12 months as Affordability does, at now. It reads the transactions
// once for both: the detectors and the affordability sums take the same
// rows. The balance anchors are read in the statement that reads the
// stamps of the stored sets (see sideQuery).
func (d *Deriver) RefreshAll(ctx context.Context, customerID string, now time.Time) (Insights, error) {
	derived, days, anchors, err := d.refresh(ctx, customerID, now, true)
	if err != nil {
		return Insights{}, err
	}

	all := Insights{Derived: derived, Affordability: map[int]insights.AffordabilityFigures{}}
	for months := range affordabilityMonths {
		if figures, ok := d.affordabilityFigures(days, anchors, months, now); ok {
			all.Affordability[months] = figures
		}
	}
	return all, nil
}
