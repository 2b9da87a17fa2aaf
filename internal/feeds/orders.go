package feeds

import (
	"context"
	"fmt"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/obie"
)

// orderPage validates a page of direct debits, standing orders or scheduled
// payments and keeps its orders until the pull ends. A page with any
// invalid record is rejected whole, and its read is then incomplete, so
// the account's stored orders of that kind stay as they were.
func (p *pull) orderPage(page aspsp.Page) error {
	kind := orders.KindOfResource(page.Resource)
	resource := map[string]string{
		orders.KindDirectDebit:      obie.ResourceDirectDebit,
		orders.KindStandingOrder:    obie.ResourceStandingOrder,
		orders.KindScheduledPayment: obie.ResourceScheduledPayment,
	}[kind]

	dec := obie.Decoder{Local: obie.London, Now: p.service.Now}
	source := p.source + " " + urlPath(page.URL)
	recs, err := dec.DecodeOrders(source, resource, page.Body)
	if err != nil {
		return fmt.Errorf("%w: %w", aspsp.ErrPageRejected, err)
	}
	list := orders.FromOBIE(p.row.CustomerID, recs, obie.London)
	for _, o := range list {
		if o.AccountID != page.AccountID {
			return fmt.Errorf("%w: %s: a %s record names another account than the one read", aspsp.ErrPageRejected, source, resource)
		}
	}
	p.orders = append(p.orders, list...)
	return nil
}

// storeOrders stores, for every complete read of payment orders, the
// account's orders of that kind as its current snapshot. An incomplete read
// stores nothing, because its missing orders would look cancelled.
func (p *pull) storeOrders(ctx context.Context) error {
	at := p.service.now().UTC()
	for _, read := range p.outcome.Reads {
		kind := orders.KindOfResource(read.Resource)
		if kind == "" || !read.Complete {
			continue
		}
		var list []orders.Order
		for _, o := range p.orders {
			if o.AccountID == read.AccountID && o.Kind == kind {
				list = append(list, o)
			}
		}
		p.res.PaymentOrders += len(list)
		for _, snap := range orders.Group(p.row.CustomerID, p.source, kind, []string{read.AccountID}, list) {
			stored, err := orders.Write(ctx, p.service.Engine, snap, at)
			if err != nil {
				return err
			}
			if stored {
				p.service.logger().Info("payment orders replaced", "pull_id", p.res.PullID, "customer_id", p.row.CustomerID,
					"account_id", snap.AccountID, "kind", snap.Kind, "orders", len(snap.Orders))
			}
		}
	}
	return nil
}
