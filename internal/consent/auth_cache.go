package consent

import (
	"context"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
)

// apiKeyLifetime is how long an API key lookup is reused. A client
// disabled, or given new credentials, on another replica is therefore
// rejected by this process at most this long after the change. A change
// made through this Service takes effect here at once.
const apiKeyLifetime = time.Second

// maxCachedAPIKeys bounds apiKeyCache. Past it, the cache is emptied.
const maxCachedAPIKeys = 10000

// storagePinger is implemented by an engine that checks cheaply that
// storage responds, as store.Batcher does with one SELECT 1 shared by
// concurrent callers. A cached API key is served only after such a check
// that started after the request arrived, so that during an outage a
// request with a cached key still fails with the storage error.
type storagePinger interface {
	Ping(ctx context.Context) error
}

// apiKeyCache maps the hashes of valid API keys to their enabled clients.
// Rejected keys are never cached.
type apiKeyCache struct {
	mu      sync.Mutex
	entries map[string]cachedClient // by hashAPIKey
	// generation counts the calls of forgetAPIKeys, so that a lookup that
	// read storage before a client changed is not stored after it.
	generation uint64
}

type cachedClient struct {
	client    insights.Client
	fetchedAt time.Time
}

// cachedAPIKey returns the client of hash when it was read from storage
// within apiKeyLifetime and storage responds to a ping now. An engine that
// cannot be pinged gets no caching.
func (s *Service) cachedAPIKey(ctx context.Context, hash string) (insights.Client, bool, error) {
	pinger, ok := s.Engine.(storagePinger)
	if !ok {
		return insights.Client{}, false, nil
	}
	c := &s.apiKeys
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || time.Since(e.fetchedAt) > apiKeyLifetime {
		return insights.Client{}, false, nil
	}
	if err := pinger.Ping(ctx); err != nil {
		return insights.Client{}, false, err
	}
	return e.client, true, nil
}

// apiKeyGeneration returns the generation to pass to rememberAPIKey for
// a lookup that starts now.
func (s *Service) apiKeyGeneration() uint64 {
	c := &s.apiKeys
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.generation
}

// rememberAPIKey stores the enabled client that hash belongs to, read
// from storage at fetchedAt, unless a client changed since generation.
func (s *Service) rememberAPIKey(hash string, client insights.Client, generation uint64, fetchedAt time.Time) {
	if _, ok := s.Engine.(storagePinger); !ok {
		return
	}
	c := &s.apiKeys
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.generation != generation {
		return
	}
	if c.entries == nil || len(c.entries) >= maxCachedAPIKeys {
		c.entries = map[string]cachedClient{}
	}
	c.entries[hash] = cachedClient{client: client, fetchedAt: fetchedAt}
}

// forgetAPIKeys empties the cache, after a client was changed.
func (s *Service) forgetAPIKeys() {
	c := &s.apiKeys
	c.mu.Lock()
	defer c.mu.Unlock()
	c.generation++
	clear(c.entries)
}
