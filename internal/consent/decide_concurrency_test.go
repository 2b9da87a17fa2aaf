package consent_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// eventRows returns the stored consent_events rows of a request and the
// number of distinct sequence numbers among them, read without FINAL so
// that two rows claiming one sequence number both show.
func eventRows(t *testing.T, engine store.Engine, requestID string) (rows, distinct int64) {
	t.Helper()
	r, err := engine.Query(context.Background(),
		"SELECT toInt64(count()), toInt64(uniqExact(seq)) FROM consent_events WHERE request_id = {id:String}",
		store.P("id", requestID))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if !r.Next() {
		t.Fatalf("no event count for request %s: %v", requestID, r.Err())
	}
	if err := r.Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	return rows, distinct
}

func TestDecide_concurrentDistinctRequests(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 24
	reqs := make([]insights.AttestationRequest, n)
	for i := range reqs {
		reqs[i] = f.request(t)
	}

	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			customer := fmt.Sprintf("customer-%02d", i)
			if _, err := f.svc.Preview(ctx, customer, req); err != nil {
				errs[i] = fmt.Errorf("preview: %w", err)
				return
			}
			if err := f.svc.Decide(ctx, customer, req.ID, i%4 != 0); err != nil {
				errs[i] = fmt.Errorf("decide: %w", err)
			}
		}()
	}
	wg.Wait()

	jtis := map[string]string{}
	for i, req := range reqs {
		if errs[i] != nil {
			t.Errorf("request %d: %v", i, errs[i])
			continue
		}
		got, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		want := insights.RequestIssued
		if i%4 == 0 {
			want = insights.RequestDenied
		}
		if got.Status != want {
			t.Errorf("request %d status = %s, want %s", i, got.Status, want)
		}
		if got.CustomerID != fmt.Sprintf("customer-%02d", i) {
			t.Errorf("request %d customer = %q", i, got.CustomerID)
		}
		if want == insights.RequestIssued {
			if att == nil {
				t.Fatalf("request %d issued without a token", i)
			}
			if other, dup := jtis[att.JTI]; dup {
				t.Errorf("requests %s and %s share jti %s", other, req.ID, att.JTI)
			}
			jtis[att.JTI] = req.ID
		}
		if rows, distinct := eventRows(t, f.svc.Engine, req.ID); rows != distinct {
			t.Errorf("request %d has %d events for %d sequence numbers", i, rows, distinct)
		}
	}
}

func TestDecide_concurrentOnOneRequest(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)
	const n = 16

	// Customers race to open the unbound request: exactly one binds it.
	bound := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, bound[i] = f.svc.Preview(ctx, fmt.Sprintf("customer-%02d", i), req)
		}()
	}
	wg.Wait()
	owner := ""
	for i, err := range bound {
		switch {
		case err == nil && owner == "":
			owner = fmt.Sprintf("customer-%02d", i)
		case err == nil:
			t.Errorf("customer-%02d also opened the request bound to %s", i, owner)
		case insights.ErrorCode(err) != insights.ErrNotFound:
			t.Errorf("customer-%02d open: %v, want not_found", i, err)
		}
	}
	if owner == "" {
		t.Fatal("no customer opened the request")
	}

	// The owner's approvals and denials race: exactly one is decided.
	decided := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			decided[i] = f.svc.Decide(ctx, owner, req.ID, i%2 == 0)
		}()
	}
	wg.Wait()
	winner := -1
	for i, err := range decided {
		switch {
		case err == nil && winner < 0:
			winner = i
		case err == nil:
			t.Errorf("decisions %d and %d both succeeded", winner, i)
		case insights.ErrorCode(err) != insights.ErrConflict:
			t.Errorf("decision %d: %v, want conflict", i, err)
		}
	}
	if winner < 0 {
		t.Fatal("no decision succeeded")
	}

	got, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if winner%2 == 0 && (got.Status != insights.RequestIssued || att == nil) {
		t.Errorf("approval won, but status = %s and token = %v", got.Status, att)
	}
	if winner%2 == 1 && (got.Status != insights.RequestDenied || att != nil) {
		t.Errorf("denial won, but status = %s and token = %v", got.Status, att)
	}
	if rows, distinct := eventRows(t, f.svc.Engine, req.ID); rows != distinct {
		t.Errorf("request has %d events for %d sequence numbers", rows, distinct)
	}
	entries, err := f.svc.Engine.Query(ctx, "SELECT toInt64(count()) FROM attestations WHERE request_id = {id:String}", store.P("id", req.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer entries.Close()
	var tokens int64
	if entries.Next() {
		if err := entries.Scan(&tokens); err != nil {
			t.Fatal(err)
		}
	}
	if want := int64(1 - winner%2); tokens != want {
		t.Errorf("stored tokens = %d, want %d", tokens, want)
	}
}

func TestDecide_reusesPreviewClaims(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	claims := f.svc.Claims.(*fixedClaims)

	tests := []struct {
		name        string
		wait        time.Duration
		wantDerives int64
	}{
		{"soon after preview", 30 * time.Second, 1},
		{"after reuse window", 2 * time.Minute, 2},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A customer of its own per case, so that no claim value
			// cached by an earlier case is reused.
			customer := fmt.Sprintf("alice-%d", i)
			req := f.request(t)
			before := claims.calls.Load()
			if _, err := f.svc.Preview(ctx, customer, req); err != nil {
				t.Fatalf("preview: %v", err)
			}
			f.now = f.now.Add(tt.wait)
			if err := f.svc.Decide(ctx, customer, req.ID, true); err != nil {
				t.Fatalf("approve: %v", err)
			}
			if got := claims.calls.Load() - before; got != tt.wantDerives {
				t.Errorf("derivations = %d, want %d", got, tt.wantDerives)
			}
			_, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
			if err != nil || att == nil {
				t.Fatalf("fetch token: %v, %v", att, err)
			}
		})
	}
}
