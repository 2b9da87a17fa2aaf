package derive

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// sampleAccount is the current account of the sample customer alice.
const sampleAccount = "9f29d8af-a4b3-358c-405a-82ba632b6855"

// loadAlice stores the sample customer alice's files under each of
// customers.
func loadAlice(t *testing.T, e store.Engine, customers ...string) {
	t.Helper()
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New(),
		Now: func() time.Time { return mustTime(t, "2026-11-30T06:00:00Z") }}
	for _, customer := range customers {
		for _, name := range []string{"accounts.json", "balances.json", "party.json", "transactions.ndjson"} {
			if _, err := loader.LoadFile(context.Background(), customer, filepath.Join("../../testdata/sample/alice", name)); err != nil {
				t.Fatalf("load %s for %s: %v", name, customer, err)
			}
		}
	}
}

func TestRefreshAll_withAndWithoutOrders(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	loadAlice(t, e, "with-orders", "without-orders", "cancelled-orders")
	gym := orders.Order{AccountID: sampleAccount, Kind: orders.KindStandingOrder, OrderID: "SO-GYM", Status: orders.StatusActive,
		Payee: "PULSE GYM LEEDS", Reference: "MEMBER 4471", Cadence: insights.CadenceMonthly,
		NextPayment: mustTime(t, "2026-12-05T00:00:00Z"), NextAmount: mustAmount(t, "29.99"), Currency: "GBP"}
	write := func(customer string, at time.Time, list ...orders.Order) {
		t.Helper()
		snaps := orders.Group(customer, "test", orders.KindStandingOrder, []string{sampleAccount}, list)
		if _, err := orders.Write(ctx, e, snaps[0], at); err != nil {
			t.Fatalf("write snapshot of %s: %v", customer, err)
		}
	}
	write("with-orders", mustTime(t, "2026-11-30T06:00:00Z"), gym)
	// A snapshot listing the order, then one listing none: no current order.
	write("cancelled-orders", mustTime(t, "2026-11-30T06:00:00Z"), gym)
	write("cancelled-orders", mustTime(t, "2026-11-30T07:00:00Z"))

	now := mustTime(t, "2026-11-30T12:00:00Z")
	d := &Deriver{Engine: e}
	hasGym := map[string]bool{}
	for _, customer := range []string{"with-orders", "without-orders", "cancelled-orders"} {
		all, err := d.RefreshAll(ctx, customer, now)
		if err != nil {
			t.Fatalf("RefreshAll(%s): %v", customer, err)
		}
		for _, c := range all.Commitments {
			if c.Payee == "PULSE GYM LEEDS" {
				hasGym[customer] = true
			}
		}
		if len(all.Affordability) == 0 {
			t.Errorf("RefreshAll(%s): no affordability figures", customer)
		}
		f, ok, err := d.Affordability(ctx, customer, 12, now)
		if err != nil || !ok {
			t.Fatalf("Affordability(%s): %v (available %v)", customer, err, ok)
		}
		if all.Affordability[12] != f {
			t.Errorf("RefreshAll(%s) 12-month figures = %+v, Affordability = %+v", customer, all.Affordability[12], f)
		}
	}
	want := map[string]bool{"with-orders": true}
	for _, customer := range []string{"with-orders", "without-orders", "cancelled-orders"} {
		if hasGym[customer] != want[customer] {
			t.Errorf("%s: gym standing order counted = %v, want %v", customer, hasGym[customer], want[customer])
		}
	}
}

// insertStream stores one income stream row for the customer under
// derivedAt, as another writer would.
func insertStream(t *testing.T, e store.Engine, customer, payer string, derivedAt time.Time) {
	t.Helper()
	exec(t, e, `INSERT INTO income_streams (customer_id, derived_at, payer, category, cadence, payments, last_paid,
    next_expected, typical_amount, currency, rule, confidence, amount_low, amount_high)
VALUES ({customer:String}, fromUnixTimestamp64Milli({at:Int64}, 'UTC'), {payer:String}, 'income.salary', 'monthly', 6,
    '2026-11-27', '2026-12-24', 1000, 'GBP', 'test', 0.5, 900, 1100)`,
		store.P("customer", customer), store.P("payer", payer), store.P("at", strconv.FormatInt(derivedAt.UnixMilli(), 10)))
}

func TestRefreshInsights_storedSetCache(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	loadAlice(t, e, "alice")
	d := &Deriver{Engine: e}
	refresh := func(d *Deriver, now string) Derived {
		t.Helper()
		derived, err := d.RefreshInsights(ctx, "alice", mustTime(t, now))
		if err != nil {
			t.Fatalf("RefreshInsights: %v", err)
		}
		return derived
	}
	newestPayers := func() string {
		t.Helper()
		streams, err := d.IncomeStreams(ctx, "alice")
		if err != nil {
			t.Fatalf("IncomeStreams: %v", err)
		}
		var payers []string
		for _, s := range streams {
			payers = append(payers, s.Payer)
		}
		return strings.Join(payers, ",")
	}

	first := refresh(d, "2026-11-30T12:00:00Z")
	if len(first.Income) == 0 || len(first.Commitments) == 0 {
		t.Fatalf("first derivation: %d streams, %d commitments, want both", len(first.Income), len(first.Commitments))
	}
	derivedPayers := newestPayers()

	steps := []struct {
		name string
		// change alters storage before the refresh, as another writer would.
		change      func()
		deriver     *Deriver
		incomeSets  uint64
		commitments uint64
	}{
		{"unchanged, cached", nil, d, 1, 1},
		{"unchanged, another process", nil, &Deriver{Engine: e}, 1, 1},
		{"newer set from another writer", func() {
			insertStream(t, e, "alice", "OTHER WRITER", mustTime(t, "2026-11-30T12:10:00Z"))
		}, d, 3, 1},
		{"extra row under the newest derived_at", func() {
			var newest time.Time
			rows, err := e.Query(ctx, `SELECT toUnixTimestamp64Milli(max(derived_at)) FROM income_streams WHERE customer_id = 'alice'`)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var ms int64
			if rows.Next() {
				if err := rows.Scan(&ms); err != nil {
					t.Fatal(err)
				}
			}
			newest = time.UnixMilli(ms).UTC()
			insertStream(t, e, "alice", "SAME STAMP WRITER", newest)
		}, d, 4, 1},
		{"unchanged after the rewrite", nil, d, 4, 1},
	}
	for i, step := range steps {
		if step.change != nil {
			step.change()
		}
		derived := refresh(step.deriver, "2026-11-30T12:"+strconv.Itoa(20+i)+":00Z")
		if !sameStreams(derived.Income, first.Income) {
			t.Errorf("%s: derived streams %+v, want %+v", step.name, derived.Income, first.Income)
		}
		if got := countSets(t, e, "income_streams", "alice"); got != step.incomeSets {
			t.Errorf("%s: %d income sets stored, want %d", step.name, got, step.incomeSets)
		}
		if got := countSets(t, e, "commitments", "alice"); got != step.commitments {
			t.Errorf("%s: %d commitment sets stored, want %d", step.name, got, step.commitments)
		}
		if got := newestPayers(); got != derivedPayers {
			t.Errorf("%s: newest stored payers %q, want %q", step.name, got, derivedPayers)
		}
	}
}

func TestSetCache_stampAndSize(t *testing.T) {
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	set := setRows{rows: []categorize.Commitment{{Payee: "A"}}, derivedAt: at, stored: 1}
	var c setCache
	c.put(incomeTable, "alice", set)

	lookups := []struct {
		name     string
		table    setTable
		customer string
		stamp    setStamp
		want     bool
	}{
		{"same stamp", incomeTable, "alice", setStamp{at, 1}, true},
		{"newer derived_at", incomeTable, "alice", setStamp{at.Add(time.Millisecond), 1}, false},
		{"more rows", incomeTable, "alice", setStamp{at, 2}, false},
		{"other table", commitmentsTable, "alice", setStamp{at, 1}, false},
		{"other customer", incomeTable, "bob", setStamp{at, 1}, false},
	}
	for _, l := range lookups {
		if _, ok := c.get(l.table, l.customer, l.stamp); ok != l.want {
			t.Errorf("%s: found %v, want %v", l.name, ok, l.want)
		}
	}

	for i := range setCacheSize + 10 {
		c.put(commitmentsTable, "customer-"+strconv.Itoa(i), set)
	}
	if len(c.entries) != setCacheSize {
		t.Errorf("cache holds %d sets, want at most %d", len(c.entries), setCacheSize)
	}
}
