package consent_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store"
)

func TestPreview_reusesClaimValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	claims := f.svc.Claims.(*fixedClaims)

	preview := func(customer string) int64 {
		t.Helper()
		before := claims.calls.Load()
		if _, err := f.svc.Preview(ctx, customer, f.request(t)); err != nil {
			t.Fatalf("preview for %s: %v", customer, err)
		}
		return claims.calls.Load() - before
	}

	steps := []struct {
		name        string
		customer    string
		before      func()
		wantDerives int64
	}{
		{"first request", "bob", nil, 1},
		{"second request within lifetime", "bob", func() { f.now = f.now.Add(10 * time.Second) }, 0},
		{"other customer", "carol", nil, 1},
		{"after the customer's data changed", "bob", func() { f.svc.ForgetClaims("bob") }, 1},
		{"other customer's data changed", "carol", func() { f.svc.ForgetClaims("bob") }, 0},
		{"after the lifetime", "bob", func() { f.now = f.now.Add(31 * time.Second) }, 1},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if got := preview(s.customer); got != s.wantDerives {
			t.Errorf("%s: derivations = %d, want %d", s.name, got, s.wantDerives)
		}
	}
}

// switchableEngine fails every statement with store.ErrUnavailable while
// down is set, as an engine whose server went away does.
type switchableEngine struct {
	store.Engine
	down           atomic.Bool
	queries, pings atomic.Int64 // pings are SELECT 1, queries the others
}

func (e *switchableEngine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	if query == "SELECT 1" {
		e.pings.Add(1)
	} else {
		e.queries.Add(1)
	}
	if e.down.Load() {
		return nil, fmt.Errorf("query: %w: connection refused", store.ErrUnavailable)
	}
	return e.Engine.Query(ctx, query, params...)
}

func (e *switchableEngine) Exec(ctx context.Context, query string, params ...store.Param) error {
	if e.down.Load() {
		return fmt.Errorf("exec: %w: connection refused", store.ErrUnavailable)
	}
	return e.Engine.Exec(ctx, query, params...)
}

// newMonitoredFixture is newFixture with the engine behind a
// store.Batcher, which can be pinged, as `insights serve` wires it, over a
// switchableEngine.
func newMonitoredFixture(t *testing.T) (*fixture, *switchableEngine) {
	f := newFixture(t)
	engine := &switchableEngine{Engine: f.svc.Engine}
	f.svc.Engine = store.NewBatcher(engine)
	return f, engine
}

func TestAuthenticateClient_cachesKey(t *testing.T) {
	f, engine := newMonitoredFixture(t)
	ctx := context.Background()

	for i := range 3 {
		if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
			t.Fatalf("authentication %d: %v", i, err)
		}
	}
	if got := engine.queries.Load(); got != 1 {
		t.Errorf("queries for 3 authentications = %d, want 1", got)
	}
	if got := engine.pings.Load(); got != 2 {
		t.Errorf("storage checks for 2 cached authentications = %d, want 2", got)
	}
	if _, err := f.svc.AuthenticateClient(ctx, "ik_not-a-key"); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("unknown key: err = %v, want unauthorized", err)
	}
}

func TestAuthenticateClient_disabledHere(t *testing.T) {
	f, _ := newMonitoredFixture(t)
	ctx := context.Background()

	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SetClientDisabled(ctx, f.client.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("right after disabling: err = %v, want unauthorized", err)
	}
}

func TestAuthenticateClient_disabledElsewhere(t *testing.T) {
	f, engine := newMonitoredFixture(t)
	ctx := context.Background()
	// Another replica on the same storage.
	other := &consent.Service{Engine: engine.Engine, Claims: f.svc.Claims, Issuer: f.svc.Issuer, Now: f.svc.Now}

	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
		t.Fatal(err)
	}
	if err := other.SetClientDisabled(ctx, f.client.ID, true); err != nil {
		t.Fatal(err)
	}
	// The cached lookup lasts one second, and no longer.
	time.Sleep(1100 * time.Millisecond)
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("after the cache lifetime: err = %v, want unauthorized", err)
	}
}

func TestAuthenticateClient_storageOutage(t *testing.T) {
	f, engine := newMonitoredFixture(t)
	ctx := context.Background()

	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
		t.Fatal(err)
	}
	engine.down.Store(true)
	// The key is cached, but the storage check fails, so the first
	// request of the outage reports it.
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("authentication during the outage: err = %v, want store.ErrUnavailable", err)
	}

	engine.down.Store(false)
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
		t.Errorf("authentication after the outage: %v", err)
	}
}

func TestAuthenticateClient_noCacheWithoutPing(t *testing.T) {
	f := newFixture(t)
	counter := &countingEngine{Engine: f.svc.Engine}
	f.svc.Engine = counter
	ctx := context.Background()

	for range 2 {
		if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); err != nil {
			t.Fatal(err)
		}
	}
	if got := counter.queries.Load(); got != 2 {
		t.Errorf("queries = %d, want 2: an engine that cannot be pinged gets no caching", got)
	}
}

func TestDecisionRedirect_createdHere(t *testing.T) {
	f, engine := newMonitoredFixture(t)
	ctx := context.Background()

	if err := f.svc.SetClientRedirectURIs(ctx, f.client.ID, []string{"https://shop.example/back"}); err != nil {
		t.Fatal(err)
	}
	plain := f.request(t)
	withURI := f.request(t)
	if err := f.svc.StoreRequestRedirect(ctx, f.client.ID, withURI.ID, "https://shop.example/back", "s1"); err != nil {
		t.Fatal(err)
	}

	before := engine.queries.Load()
	if _, ok, err := f.svc.DecisionRedirect(ctx, plain.ID, true); err != nil || ok {
		t.Errorf("request without redirect: ok = %v, err = %v, want false, nil", ok, err)
	}
	if got := engine.queries.Load() - before; got != 0 {
		t.Errorf("queries for a request created here without redirect = %d, want 0", got)
	}

	// Another replica created none of them, so it reads storage and finds
	// the same redirects.
	other := &consent.Service{Engine: engine.Engine, Claims: f.svc.Claims, Issuer: f.svc.Issuer, Now: f.svc.Now}
	if _, ok, err := other.DecisionRedirect(ctx, plain.ID, true); err != nil || ok {
		t.Errorf("other replica, request without redirect: ok = %v, err = %v", ok, err)
	}
	for name, svc := range map[string]*consent.Service{"this replica": f.svc, "other replica": other} {
		target, ok, err := svc.DecisionRedirect(ctx, withURI.ID, false)
		if err != nil || !ok {
			t.Errorf("%s: redirect: ok = %v, err = %v", name, ok, err)
			continue
		}
		want := "https://shop.example/back?request_id=" + withURI.ID + "&state=s1&status=denied"
		if target != want {
			t.Errorf("%s: target = %q, want %q", name, target, want)
		}
	}
}
