package ingest

import (
	"context"
	"errors"
	"strings"
	"testing"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// ruleCategorizer gives every transaction category other with one rule.
type ruleCategorizer string

func (r ruleCategorizer) Categorize(t *insights.Transaction) {
	t.Category, t.CategoryRule = insights.CategoryOther, string(r)
}

func TestBegin_categorizerForPerCustomer(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.Categorizer = ruleCategorizer("unused")
	l.CategorizerFor = func(_ context.Context, customerID string) (Categorizer, error) {
		if customerID == "broken" {
			return nil, errors.New("overrides unavailable")
		}
		return ruleCategorizer("rule-" + customerID), nil
	}
	for _, customer := range []string{"c1", "c2"} {
		pull(t, l, customer, "pull:1", nil, txLine("T1", "Booked", "Debit", "10.00", "2026-11-02T09:00:00Z"))
		got := queryStrings(t, engine, "SELECT toString(category_rule) FROM transactions FINAL WHERE customer_id = '"+customer+"'")
		if len(got) != 1 || got[0] != "rule-"+customer {
			t.Errorf("%s stored rules %q, want [rule-%s]", customer, got, customer)
		}
	}

	_, err := l.Begin(context.Background(), "broken", "pull:1")
	if err == nil || !strings.Contains(err.Error(), "overrides unavailable") {
		t.Errorf("Begin with a failing CategorizerFor: error = %v, want it to wrap the failure", err)
	}
}

func TestRecategorize_keepsStatusAndState(t *testing.T) {
	engine := storetest.New(t)
	ctx := context.Background()
	l := newLoader(t, engine)
	rule := "v1"
	l.CategorizerFor = func(context.Context, string) (Categorizer, error) { return ruleCategorizer(rule), nil }

	pending := txLine("P1", "Pending", "Debit", "5.00", "2026-11-03T09:00:00Z")
	booked := txLine("T2", "Booked", "Debit", "7.00", "2026-11-02T09:00:00Z")
	vanishing := txLine("P3", "Pending", "Debit", "9.00", "2026-11-01T09:00:00Z")
	pull(t, l, "c1", "pull:1", nil, pending, booked, vanishing)
	// A complete window without P3 takes it out of current views.
	pull(t, l, "c1", "pull:2", []Window{{AccountID: "A1", Complete: true}}, pending, booked)
	stateOf := "SELECT transaction_id || ' ' || toString(status) || ' ' || toString(state) || ' ' || toString(category_rule) FROM transactions FINAL WHERE customer_id = 'c1' ORDER BY transaction_id"
	before := queryStrings(t, engine, stateOf)
	if len(before) != 3 || before[2] != "T2 booked current v1" || !strings.HasPrefix(before[1], "P3 pending vanished") {
		t.Fatalf("stored before = %q, want P1 and T2 current and P3 vanished", before)
	}
	history := physicalRows(t, engine, "transaction_history", "c1")

	rule = "v2"
	res, err := l.Recategorize(ctx, "c1", "recategorize:1", nil)
	if err != nil {
		t.Fatalf("Recategorize: %v", err)
	}
	if res.Transactions != 2 {
		t.Errorf("Recategorize changed %d transactions, want P1 and T2", res.Transactions)
	}
	want := []string{"P1 pending current v2", "P3 pending vanished v1", "T2 booked current v2"}
	if got := queryStrings(t, engine, stateOf); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored after = %q, want %q", got, want)
	}
	if got := physicalRows(t, engine, "transaction_history", "c1"); got != history {
		t.Errorf("transaction_history has %d rows after Recategorize, want %d as before", got, history)
	}
	if staged := stagedRows(t, engine); staged != 0 {
		t.Errorf("%d staged rows left after Recategorize", staged)
	}

	// include receives the stored and the new rule and can leave a change out.
	rule = "v3"
	var seen []string
	res, err = l.Recategorize(ctx, "c1", "recategorize:2", func(before, after string) bool {
		seen = append(seen, before+">"+after)
		return false
	})
	if err != nil || res.Transactions != 0 {
		t.Errorf("Recategorize with include rejecting all = %d, %v; want 0 changes", res.Transactions, err)
	}
	if want := "v2>v3,v2>v3"; strings.Join(seen, ",") != want {
		t.Errorf("include saw %q, want %q", strings.Join(seen, ","), want)
	}
	if got := queryStrings(t, engine, stateOf); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("stored after a rejected change = %q, want %q", got, want)
	}
}
