package derive

import (
	"context"
	"errors"
	"fmt"

	"github.com/openbanking-insights/insights/internal/feeds"
)

// BankFeeds is the part of the feeds service that FeedsRefresher calls.
type BankFeeds interface {
	Consents(ctx context.Context, customerID string) ([]feeds.ConsentInfo, error)
	Refresh(ctx context.Context, consentID string) (feeds.PullResult, error)
}

// FeedsRefresher is a BalanceRefresher that pulls each authorised bank
// link of the customer through the feeds service.
type FeedsRefresher struct {
	Feeds BankFeeds
}

// RefreshBalances pulls every authorised link and reports whether one
// pull completed or stored part of its data. It returns the errors of
// failed pulls joined, after trying every link.
func (r FeedsRefresher) RefreshBalances(ctx context.Context, customerID string) (bool, error) {
	links, err := r.Feeds.Consents(ctx, customerID)
	if err != nil {
		return false, fmt.Errorf("refresh balances: %w", err)
	}
	var (
		pulled bool
		errs   []error
	)
	for _, link := range links {
		if link.Status != feeds.StatusAuthorised {
			continue
		}
		res, err := r.Feeds.Refresh(ctx, link.ConsentID)
		if err != nil {
			errs = append(errs, fmt.Errorf("refresh bank link %s: %w", link.ConsentID, err))
			continue
		}
		if res.Outcome == feeds.OutcomeComplete || res.Outcome == feeds.OutcomeIncomplete {
			pulled = true
		}
	}
	return pulled, errors.Join(errs...)
}
