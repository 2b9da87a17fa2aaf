package consent_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func TestHistory_customerStepsNewestFirst(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	start := f.now

	// alice opens, approves and later revokes the first request.
	first := f.request(t)
	f.now = start.Add(time.Minute)
	if _, err := f.svc.Preview(ctx, "alice", first); err != nil {
		t.Fatal(err)
	}
	f.now = start.Add(2 * time.Minute)
	if err := f.svc.Decide(ctx, "alice", first.ID, true); err != nil {
		t.Fatal(err)
	}

	// alice opens the second request and lets it lapse.
	f.now = start.Add(3 * time.Minute)
	second := f.request(t)
	f.now = start.Add(4 * time.Minute)
	if _, err := f.svc.Preview(ctx, "alice", second); err != nil {
		t.Fatal(err)
	}

	// bob denies a request of his own, and no customer opens the last one.
	f.now = start.Add(5 * time.Minute)
	bobs := f.request(t)
	if _, err := f.svc.Preview(ctx, "bob", bobs); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, "bob", bobs.ID, false); err != nil {
		t.Fatal(err)
	}
	unopened := f.request(t)

	f.now = start.Add(6 * time.Minute)
	if err := f.svc.Revoke(ctx, "alice", first.ID); err != nil {
		t.Fatal(err)
	}
	f.now = start.Add(30 * time.Minute) // past the second request's 15 minutes

	got, err := f.svc.History(ctx, "alice")
	if err != nil {
		t.Fatalf("History: %v", err)
	}
	type step struct {
		request string
		event   string
		at      time.Time
	}
	want := []step{
		{second.ID, "expired", second.ExpiresAt},
		{first.ID, "revoked", start.Add(6 * time.Minute)},
		{second.ID, "opened", start.Add(4 * time.Minute)},
		{second.ID, "requested", start.Add(3 * time.Minute)},
		{first.ID, "issued", start.Add(2 * time.Minute)},
		{first.ID, "approved", start.Add(2 * time.Minute)},
		{first.ID, "opened", start.Add(time.Minute)},
		{first.ID, "requested", start},
	}
	var steps []step
	for _, ev := range got {
		steps = append(steps, step{ev.RequestID, ev.Event, ev.At})
	}
	if !slices.Equal(steps, want) {
		t.Fatalf("steps =\n%v\nwant\n%v", steps, want)
	}

	for _, ev := range got {
		if ev.RequestID == bobs.ID || ev.RequestID == unopened.ID {
			t.Errorf("alice's history holds request %s, which she never opened", ev.RequestID)
		}
		if ev.ClientName != "Demo Shop" || ev.ClientID != f.client.ID {
			t.Errorf("%s: client %q (%s); want Demo Shop", ev.Event, ev.ClientName, ev.ClientID)
		}
		if len(ev.Claims) != 1 || ev.Claims[0].Kind != insights.ClaimAgeOver || ev.Claims[0].MinimumAge != 18 {
			t.Errorf("%s: claims %+v; want the age over 18 request", ev.Event, ev.Claims)
		}
		switch ev.Event {
		case "requested", "approved", "issued":
			if len(ev.ClaimNames) != 1 || !strings.HasPrefix(ev.ClaimNames[0], "age_over") {
				t.Errorf("%s: claim names %q; want one age_over name", ev.Event, ev.ClaimNames)
			}
		case "opened", "expired":
			if len(ev.ClaimNames) != 0 {
				t.Errorf("%s: claim names %q; want none", ev.Event, ev.ClaimNames)
			}
		}
	}

	bobHistory, err := f.svc.History(ctx, "bob")
	if err != nil {
		t.Fatalf("History(bob): %v", err)
	}
	var bobEvents []string
	for _, ev := range bobHistory {
		if ev.RequestID != bobs.ID {
			t.Errorf("bob's history holds request %s", ev.RequestID)
		}
		bobEvents = append(bobEvents, ev.Event)
	}
	if !slices.Equal(bobEvents, []string{"denied", "opened", "requested"}) {
		t.Errorf("bob's steps = %q; want denied, opened, requested", bobEvents)
	}
}

func TestHistory_rejectsEmptyCustomer(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.History(context.Background(), ""); insights.ErrorCode(err) != insights.ErrInvalid {
		t.Errorf("History(\"\") error = %v; want invalid", err)
	}
}
