package consent

import (
	"slices"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
)

// previewReuseWindow is how long after the consent page derived a
// request's claims an approval issues those same values instead of
// deriving them again. Within it, the token carries exactly what the
// customer was shown, as of the time shown. After it, the approval derives
// afresh from the data then stored.
const previewReuseWindow = time.Minute

// maxCachedPreviews bounds previewCache. Past it, lapsed entries are
// dropped, and if none lapsed the cache is emptied, so an approval then
// derives again.
const maxCachedPreviews = 100000

// previewCache holds the claims Preview derived for each open request,
// until the request is decided or the entry lapses. It lives in one
// process, so an approval served by another replica derives again.
type previewCache struct {
	mu      sync.Mutex
	entries map[string]cachedPreview // by request ID
}

type cachedPreview struct {
	customerID string
	derivedAt  time.Time
	results    []insights.ClaimResult
}

// put stores the results derived for requestID at derivedAt.
func (c *previewCache) put(requestID, customerID string, results []insights.ClaimResult, derivedAt time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedPreview{}
	}
	if len(c.entries) >= maxCachedPreviews {
		for id, e := range c.entries {
			if derivedAt.Sub(e.derivedAt) > previewReuseWindow {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedPreviews {
			clear(c.entries)
		}
	}
	c.entries[requestID] = cachedPreview{customerID: customerID, derivedAt: derivedAt, results: slices.Clone(results)}
}

// take removes the entry of requestID and returns its results when they
// were derived for customerID within previewReuseWindow before now.
func (c *previewCache) take(requestID, customerID string, now time.Time) ([]insights.ClaimResult, bool) {
	c.mu.Lock()
	e, ok := c.entries[requestID]
	delete(c.entries, requestID)
	c.mu.Unlock()
	if !ok || e.customerID != customerID {
		return nil, false
	}
	if age := now.Sub(e.derivedAt); age < 0 || age > previewReuseWindow {
		return nil, false
	}
	return e.results, true
}
