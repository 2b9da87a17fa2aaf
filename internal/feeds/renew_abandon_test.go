package feeds

import (
	"context"
	"errors"
	"testing"
	"time"
)

// Renew twice without finishing at the bank, then finish the second: the
// first attempt is abandoned and its state no longer completes a link.
func TestRenew_supersedesEarlierAttempt(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link alice: %v", err)
	}
	old := e.only("alice")

	firstURL, err := e.svc.Renew(ctx, "alice", old.ConsentID)
	if err != nil {
		t.Fatalf("first Renew: %v", err)
	}
	secondURL, err := e.svc.Renew(ctx, "alice", old.ConsentID)
	if err != nil {
		t.Fatalf("second Renew: %v", err)
	}

	rows := e.consents("alice")
	if len(rows) != 3 {
		t.Fatalf("alice has %d consents after two renewals, want 3", len(rows))
	}
	statuses := map[string]int{}
	for _, r := range rows {
		statuses[r.Status]++
	}
	if statuses[StatusAbandoned] != 1 || statuses[StatusAwaitingAuthorisation] != 1 {
		t.Errorf("statuses after two renewals = %v, want one abandoned and one awaiting authorisation", statuses)
	}

	if err := e.approve(firstURL, "alice"); !errors.Is(err, ErrUnknownState) {
		t.Errorf("approve superseded attempt = %v, want ErrUnknownState", err)
	}
	if err := e.approve(secondURL, "alice"); err != nil {
		t.Fatalf("approve second attempt: %v", err)
	}

	statuses = map[string]int{}
	for _, r := range e.consents("alice") {
		statuses[r.Status]++
	}
	want := map[string]int{StatusReplaced: 1, StatusAbandoned: 1, StatusAuthorised: 1}
	for status, n := range want {
		if statuses[status] != n {
			t.Errorf("after the renewal completed: %d consents %s, want %d (all: %v)", statuses[status], status, n, statuses)
		}
	}
	if statuses[StatusAwaitingAuthorisation] != 0 {
		t.Errorf("after the renewal completed: %d consents still awaiting authorisation", statuses[StatusAwaitingAuthorisation])
	}
}

// A completed renewal ends attempts at the same bank that Renew did not
// supersede, such as one another replica started.
func TestRenew_completionEndsOtherAttempts(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link alice: %v", err)
	}
	old := e.only("alice")
	authURL, err := e.svc.Renew(ctx, "alice", old.ConsentID)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	// Started after the renewal, as on another replica.
	if _, err := e.svc.Link(ctx, "alice", "local"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	if err := e.approve(authURL, "alice"); err != nil {
		t.Fatalf("approve renewal: %v", err)
	}

	for id, r := range e.consents("alice") {
		if r.Status == StatusAwaitingAuthorisation {
			t.Errorf("consent %s still awaits authorisation after the renewal completed", id)
		}
	}
}

func TestEndLapsedLinks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	start := time.Now()

	e.setNow(start)
	if _, err := e.svc.Link(ctx, "alice", "local"); err != nil {
		t.Fatalf("Link: %v", err)
	}
	lapsed := e.only("alice")
	e.setNow(start.Add(linkTimeout - time.Minute))
	if _, err := e.svc.Link(ctx, "alice", "local"); err != nil {
		t.Fatalf("second Link: %v", err)
	}
	if _, err := e.svc.Link(ctx, "bob", "local"); err != nil {
		t.Fatalf("Link bob: %v", err)
	}

	e.setNow(start.Add(linkTimeout + time.Minute))
	if err := e.svc.EndLapsedLinks(ctx, "alice"); err != nil {
		t.Fatalf("EndLapsedLinks: %v", err)
	}
	for id, r := range e.consents("alice") {
		want := StatusAwaitingAuthorisation
		if id == lapsed.ConsentID {
			want = StatusAbandoned
		}
		if r.Status != want {
			t.Errorf("alice's consent %s: status %s, want %s", id, r.Status, want)
		}
		if id == lapsed.ConsentID && r.StateHash != "" {
			t.Errorf("abandoned consent %s keeps its state hash", id)
		}
	}
	if got := e.only("bob").Status; got != StatusAwaitingAuthorisation {
		t.Errorf("bob's consent: status %s, want %s (another customer's links are left alone)", got, StatusAwaitingAuthorisation)
	}
}
