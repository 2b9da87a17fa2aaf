package derive

import (
	"context"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
)

// activeOrders returns the customer's direct debits and standing orders
// that the latest complete read of each account lists as active on today,
// for categorize.ApplyOrders. Payment dates are the days in the customer's
// zone.
func (d *Deriver) activeOrders(ctx context.Context, customerID string, today insights.Date) ([]categorize.PaymentOrder, error) {
	list, err := orders.Current(ctx, d.Engine, customerID)
	if err != nil {
		return nil, err
	}
	zone := d.zone()
	var out []categorize.PaymentOrder
	for _, o := range list {
		if o.Kind != orders.KindDirectDebit && o.Kind != orders.KindStandingOrder {
			continue
		}
		if !o.Active(today.In(zone)) {
			continue
		}
		p := categorize.PaymentOrder{Kind: o.Kind, Payee: o.Payee, Reference: o.Reference, Cadence: o.Cadence,
			Amount: o.NextAmount, Currency: o.Currency}
		if p.Amount == 0 {
			p.Amount = o.LastAmount
		}
		if !o.NextPayment.IsZero() {
			p.NextPayment = insights.DateOf(o.NextPayment.In(zone))
		}
		if !o.LastPayment.IsZero() {
			p.LastPayment = insights.DateOf(o.LastPayment.In(zone))
		}
		out = append(out, p)
	}
	if len(out) > 0 {
		d.logger().Debug("payment orders counted as commitments", "customer_id", customerID, "orders", len(out))
	}
	return out, nil
}
