package consent

import (
	"sync"
	"time"
)

// maxCachedRedirects bounds redirectCache. Past it, entries of requests
// past their expiry are dropped, and if none were, the cache is emptied,
// so decisions on the requests dropped read their redirect from storage.
const maxCachedRedirects = 100000

// redirectCache holds the redirect URI and state of the requests this
// process created, so that the page after a decision needs no read. A
// request's redirect is stored before the client learns the request's ID
// and never changes, so no other replica can make an entry stale. A
// request created by another replica is not in the cache and is read from
// storage.
type redirectCache struct {
	mu      sync.Mutex
	entries map[string]cachedRedirect // by request ID
}

// cachedRedirect is the redirect of one request. An empty uri means the
// request has none.
type cachedRedirect struct {
	clientID, uri, state string
	expiresAt            time.Time // the request's expiry
}

// put records the redirect of a request.
func (c *redirectCache) put(requestID string, r cachedRedirect, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedRedirect{}
	}
	if len(c.entries) >= maxCachedRedirects {
		for id, e := range c.entries {
			if !now.Before(e.expiresAt) {
				delete(c.entries, id)
			}
		}
		if len(c.entries) >= maxCachedRedirects {
			clear(c.entries)
		}
	}
	c.entries[requestID] = r
}

// drop removes the entry of a request, so its redirect is read from
// storage.
func (c *redirectCache) drop(requestID string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, requestID)
}

// take removes and returns the entry of a request.
func (c *redirectCache) take(requestID string) (cachedRedirect, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[requestID]
	delete(c.entries, requestID)
	return e, ok
}
