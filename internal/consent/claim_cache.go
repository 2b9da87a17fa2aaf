package consent

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
)

// claimValueLifetime is how long a derived claim value is reused for
// another request of the same customer with the same claim. It bounds how
// stale a consent page or a token may be when the customer's data changes
// without this process being notified. Such changes are an ingest by
// another process or replica, a birth date stored from an ID token, or a
// day boundary that changes an age or an average. A feed pull in this process drops the
// customer's values at once (ForgetClaims).
const claimValueLifetime = 30 * time.Second

// maxCachedClaimCustomers bounds claimCache. Past it, every value is
// dropped, so the next requests derive again.
const maxCachedClaimCustomers = 20000

// claimCache holds claim values derived for each customer, by the claim
// request, for claimValueLifetime. A value derived while the customer's
// data changed is never stored: each derivation takes a snapshot of
// version first, and put drops the value when ForgetClaims ran for the
// customer since then.
type claimCache struct {
	mu sync.Mutex
	// version counts the calls of forget.
	version uint64
	// floor is the version at which changed was last emptied. A snapshot
	// older than it may predate a forget that changed no longer records.
	floor   uint64
	changed map[string]uint64 // customer ID -> version of its last forget
	values  map[string]map[insights.ClaimRequest]cachedClaim
}

type cachedClaim struct {
	result    insights.ClaimResult
	derivedAt time.Time
}

// snapshot returns the version to pass to put for a derivation that
// starts now.
func (c *claimCache) snapshot() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// get returns the cached value of claim for the customer when it was
// derived at most claimValueLifetime before now.
func (c *claimCache) get(customerID string, claim insights.ClaimRequest, now time.Time) (insights.ClaimResult, bool) {
	c.mu.Lock()
	v, ok := c.values[customerID][claim]
	c.mu.Unlock()
	if !ok {
		return insights.ClaimResult{}, false
	}
	if age := now.Sub(v.derivedAt); age < 0 || age > claimValueLifetime {
		return insights.ClaimResult{}, false
	}
	return v.result, true
}

// put stores results[i] as the value of claims[i], derived at derivedAt
// from data read after snapshot was taken, unless the customer's data
// changed since.
func (c *claimCache) put(customerID string, snapshot uint64, claims []insights.ClaimRequest, results []insights.ClaimResult, derivedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if snapshot < c.floor || c.changed[customerID] > snapshot {
		return
	}
	if c.values == nil || len(c.values) >= maxCachedClaimCustomers {
		c.values = map[string]map[insights.ClaimRequest]cachedClaim{}
	}
	own := c.values[customerID]
	if own == nil {
		own = map[insights.ClaimRequest]cachedClaim{}
		c.values[customerID] = own
	}
	for i, r := range results {
		own[claims[i]] = cachedClaim{result: r, derivedAt: derivedAt}
	}
}

// forget drops the customer's values and makes put drop values whose
// derivation started before this call.
func (c *claimCache) forget(customerID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	delete(c.values, customerID)
	switch {
	case c.changed == nil:
		c.changed = map[string]uint64{}
	case len(c.changed) >= maxCachedClaimCustomers:
		clear(c.changed)
		c.floor = c.version
	}
	c.changed[customerID] = c.version
}

// ForgetClaims drops the claim values cached for the customer, so the next
// consent page derives them from the data now stored. Call it after the
// customer's data changed, such as after a feed pull.
func (s *Service) ForgetClaims(customerID string) {
	s.claims.forget(customerID)
}

// deriveClaims returns the values of reqs for the customer: those derived
// within claimValueLifetime before now from the cache, and the others from
// s.Claims in one call. The returned slice is the caller's own.
func (s *Service) deriveClaims(ctx context.Context, customerID string, reqs []insights.ClaimRequest, now time.Time) ([]insights.ClaimResult, error) {
	results := make([]insights.ClaimResult, len(reqs))
	var missing []insights.ClaimRequest
	var missingAt []int
	for i, r := range reqs {
		if v, ok := s.claims.get(customerID, r, now); ok {
			results[i] = v
			continue
		}
		missing = append(missing, r)
		missingAt = append(missingAt, i)
	}
	if len(missing) == 0 {
		return results, nil
	}

	snapshot := s.claims.snapshot()
	derived, err := s.Claims.Derive(ctx, customerID, missing, now)
	if err != nil {
		return nil, err
	}
	if len(derived) != len(missing) {
		return nil, fmt.Errorf("derive claims: %d results for %d claims", len(derived), len(missing))
	}
	for j, i := range missingAt {
		results[i] = derived[j]
	}
	s.claims.put(customerID, snapshot, missing, derived, now)
	return results, nil
}
