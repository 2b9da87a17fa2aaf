package consent

import (
	"context"
	"sync"
)

// clientFacts are the fields of a registered client that never change after
// registration: no update of the registry rewrites a client's name or
// environment. Every read of a request needs the name and every decision
// the environment, so they are cached for the life of the process. Fields
// that do change (disabled, keys, redirect URIs) are always read from
// storage.
type clientFacts struct {
	name string
	env  string // as stored: EnvSandbox or EnvLive
}

// maxCachedClients bounds the cache. Past it, the cache is emptied and
// filled again from storage, which costs one query per client.
const maxCachedClients = 10000

// clientFactsCache maps client IDs to their clientFacts.
type clientFactsCache struct {
	mu      sync.RWMutex
	clients map[string]clientFacts
}

// clientFacts returns the name and environment of a registered client,
// from the cache or else from storage. An unknown client is not_found and
// is not cached, so a client registered later by another process is found.
func (s *Service) clientFacts(ctx context.Context, id string) (clientFacts, error) {
	c := &s.facts
	c.mu.RLock()
	facts, ok := c.clients[id]
	c.mu.RUnlock()
	if ok {
		return facts, nil
	}

	reg, err := s.ClientRegistration(ctx, id)
	if err != nil {
		return clientFacts{}, err
	}
	facts = clientFacts{name: reg.Name, env: reg.Environment}
	c.mu.Lock()
	if c.clients == nil || len(c.clients) >= maxCachedClients {
		c.clients = map[string]clientFacts{}
	}
	c.clients[id] = facts
	c.mu.Unlock()
	return facts, nil
}
