package feeds

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestListPulls_filters(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.fault(`{"kind":"next-loop","customer":"alice","path":"/transactions","count":1}`)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link alice: %v", err)
	}
	e.setNow(e.clock().Add(time.Minute))
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link bob: %v", err)
	}

	all, err := ListPulls(ctx, e.engine, PullFilter{})
	if err != nil {
		t.Fatalf("ListPulls: %v", err)
	}
	if len(all) != 2 {
		t.Fatalf("pulls = %+v, want two", all)
	}
	if all[0].CustomerID != "bob" || all[1].CustomerID != "alice" {
		t.Errorf("order = %s, %s; want bob's later pull first", all[0].CustomerID, all[1].CustomerID)
	}
	bob := all[0]
	if bob.Outcome != OutcomeComplete || bob.BankID != "local" || bob.ConsentID != e.only("bob").ConsentID {
		t.Errorf("bob's pull = %+v, want a complete pull of his consent at the local bank", bob)
	}
	if bob.Pages == 0 || bob.Transactions == 0 || len(bob.Problems) != 0 {
		t.Errorf("bob's pull = %+v, want pages and transactions and no problems", bob)
	}
	if bob.StartedAt.IsZero() || bob.FinishedAt.Before(bob.StartedAt) {
		t.Errorf("bob's pull ran from %v to %v", bob.StartedAt, bob.FinishedAt)
	}

	incomplete, err := ListPulls(ctx, e.engine, PullFilter{Outcome: OutcomeIncomplete})
	if err != nil {
		t.Fatalf("ListPulls incomplete: %v", err)
	}
	if len(incomplete) != 1 || incomplete[0].CustomerID != "alice" {
		t.Fatalf("incomplete pulls = %+v, want alice's", incomplete)
	}
	if p := incomplete[0].Problems; len(p) == 0 || !strings.Contains(strings.Join(p, "\n"), "page loop") {
		t.Errorf("alice's problems = %q, want the page loop", p)
	}

	if got, err := ListPulls(ctx, e.engine, PullFilter{CustomerID: "alice"}); err != nil || len(got) != 1 || got[0].Outcome != OutcomeIncomplete {
		t.Errorf("alice's pulls = %+v, %v; want her incomplete pull", got, err)
	}
	if got, err := ListPulls(ctx, e.engine, PullFilter{Limit: 1}); err != nil || len(got) != 1 || got[0].CustomerID != "bob" {
		t.Errorf("newest pull = %+v, %v; want bob's", got, err)
	}
	if got, err := ListPulls(ctx, e.engine, PullFilter{CustomerID: "carol"}); err != nil || len(got) != 0 {
		t.Errorf("carol's pulls = %+v, %v; want none", got, err)
	}
}

func TestListPulls_invalidFilter(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		filter PullFilter
		want   string
	}{
		{PullFilter{Outcome: "done"}, `outcome "done"`},
		{PullFilter{Limit: -1}, "limit -1"},
	} {
		_, err := ListPulls(context.Background(), e.engine, tc.filter)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ListPulls(%+v) = %v, want an error naming %s", tc.filter, err, tc.want)
		}
	}
}
