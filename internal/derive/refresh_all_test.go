package derive

import (
	"cmp"
	"context"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// referenceDaysQuery sums a customer's entries by account and day in SQL,
// as affordability did before the sums moved to Go. The tests compare
// dayRows with it.
const referenceDaysQuery = `SELECT
    account_id, toString(booking_date),
    toString(sum(amount)),
    toString(sumIf(amount, amount > 0 AND startsWith(category, 'income.') AND category != 'income.refund')),
    toString(-sumIf(amount, amount < 0 AND category IN ('housing.rent', 'housing.mortgage', 'council_tax', 'loans', 'credit_card', 'insurance', 'utilities'))),
    toString(-sumIf(amount, amount < 0 AND category IN ('groceries', 'transport'))),
    toString(-sumIf(amount, amount < 0 AND category NOT IN ('housing.rent', 'housing.mortgage', 'council_tax', 'loans', 'credit_card', 'insurance', 'utilities', 'groceries', 'transport', 'transfer'))),
    toString(-sumIf(amount, amount < 0 AND category = 'gambling')),
    toString(-sumIf(amount, amount < 0 AND category != 'transfer')),
    toUInt64(countIf(category = 'returned_payment')),
    toUInt64(count())
FROM transactions FINAL
WHERE customer_id = {customer:String} AND status = 'booked' AND currency = 'GBP' AND state = 'current'
GROUP BY account_id, booking_date`

func referenceDays(t *testing.T, e store.Engine, customer string) []dayFlows {
	t.Helper()
	rows, err := e.Query(context.Background(), referenceDaysQuery, store.P("customer", customer))
	if err != nil {
		t.Fatalf("reference sums: %v", err)
	}
	defer rows.Close()
	var days []dayFlows
	for rows.Next() {
		var account, day string
		var sums [7]string
		var f dayFlows
		if err := rows.Scan(&account, &day, &sums[0], &sums[1], &sums[2], &sums[3], &sums[4], &sums[5], &sums[6],
			&f.returned, &f.entries); err != nil {
			t.Fatal(err)
		}
		f.account, f.day = account, mustDate(t, day)
		for i, dest := range []*insights.Amount{&f.net, &f.income, &f.committed, &f.everyday, &f.discretionary, &f.gambling, &f.debits} {
			*dest = mustAmount(t, sums[i])
		}
		days = append(days, f)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return sortedDays(days)
}

func sortedDays(days []dayFlows) []dayFlows {
	out := slices.Clone(days)
	slices.SortFunc(out, func(a, b dayFlows) int {
		return cmp.Or(cmp.Compare(a.account, b.account), compareDays(a.day, b.day))
	})
	return out
}

// loadSampleAndEdgeCases stores the five sample customers and "edge", whose
// entries cover what the affordability sums must leave out or keep: a
// superseded and a vanished entry, a pending one, another currency, a
// zero amount, a returned payment and a refund.
func loadSampleAndEdgeCases(t *testing.T, e store.Engine) []string {
	t.Helper()
	ctx := context.Background()
	customers := []string{"alice", "bob", "chen", "dana", "eve"}
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New()}
	for _, customer := range customers {
		for _, name := range []string{"accounts.json", "balances.json", "transactions.ndjson"} {
			if _, err := loader.LoadFile(ctx, customer, filepath.Join("../../testdata/sample", customer, name)); err != nil {
				t.Fatalf("load %s of %s: %v", name, customer, err)
			}
		}
	}

	var edge []entry
	for _, month := range []string{"2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03",
		"2026-04", "2026-05", "2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"} {
		edge = append(edge, monthOfEntries(month)...)
	}
	edge = append(edge,
		entry{key: "superseded", date: "2026-11-03", amount: "-70.00", category: "groceries", state: "superseded"},
		entry{key: "vanished", date: "2026-11-04", amount: "-80.00", category: "groceries", state: "vanished"},
		entry{key: "pending", date: "2026-11-05", amount: "-90.00", category: "groceries", status: "pending"},
		entry{key: "dollars", date: "2026-11-06", amount: "-25.00", category: "eating_out", currency: "USD"},
		entry{key: "zero", date: "2026-11-07", amount: "0", category: "bank_fees"},
		entry{key: "returned", date: "2026-11-08", amount: "45.00", category: "returned_payment"},
		entry{key: "second-account", date: "2026-11-08", amount: "-12.00", category: "uncategorized", account: "acc-2"},
	)
	insertEntries(t, e, "edge", edge...)
	insertBalance(t, e, "edge", balance{account: "acc-1", typ: "ClosingBooked", amount: "1000.00",
		currency: "GBP", asOf: "2026-11-30T23:59:59Z"})
	return append(customers, "edge")
}

// TestRefreshAll_matchesSeparateCalls checks that the one read of
// RefreshAll gives the streams, commitments and figures that
// RefreshInsights and Affordability give on their own, and that its day
// sums equal those of the SQL aggregation they replaced.
func TestRefreshAll_matchesSeparateCalls(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	customers := loadSampleAndEdgeCases(t, e)
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-12-04T10:00:00Z")

	for _, customer := range customers {
		t.Run(customer, func(t *testing.T) {
			all, err := d.RefreshAll(ctx, customer, now)
			if err != nil {
				t.Fatalf("RefreshAll: %v", err)
			}
			derived, err := d.RefreshInsights(ctx, customer, now)
			if err != nil {
				t.Fatalf("RefreshInsights: %v", err)
			}
			if !reflect.DeepEqual(all.Derived, derived) {
				t.Errorf("RefreshAll derived %+v, RefreshInsights %+v", all.Derived, derived)
			}
			for months := range affordabilityMonths {
				want, ok, err := d.Affordability(ctx, customer, months, now)
				if err != nil {
					t.Fatalf("Affordability(%d): %v", months, err)
				}
				got, gotOK := all.Affordability[months]
				if gotOK != ok || !reflect.DeepEqual(got, want) {
					t.Errorf("%d months: RefreshAll %v %+v, Affordability %v %+v", months, gotOK, got, ok, want)
				}
			}

			state, err := d.stateColumn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			_, days, err := d.bookedHistory(ctx, customer, state)
			if err != nil {
				t.Fatal(err)
			}
			got, want := sortedDays(days), referenceDays(t, e, customer)
			if len(want) == 0 {
				t.Fatal("no reference day rows")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("day rows differ from the SQL sums:\n got %s\nwant %s", fmt.Sprint(got), fmt.Sprint(want))
			}
		})
	}
}
