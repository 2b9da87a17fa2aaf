package derive

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// countDerivedSets returns how many distinct derived_at the customer's
// stored income streams have.
func countDerivedSets(t *testing.T, e store.Engine, customer string) uint64 {
	t.Helper()
	rows, err := e.Query(context.Background(),
		"SELECT uniqExact(derived_at) FROM income_streams WHERE customer_id = {customer:String}", store.P("customer", customer))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
	}
	return n
}

func TestRefreshIncome_newSetOnlyWhenChanged(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	ingested := mustTime(t, "2026-11-30T06:00:00Z")
	insertCredits(t, e, "c1", ingested, salaries("ACME LOGISTICS LTD", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25")...)
	insertCredits(t, e, "c1", ingested, credit{key: "gift", date: "2026-11-02", amount: "50.00", counterparty: "J SMITH", description: "BIRTHDAY"})
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")

	first, err := d.RefreshIncome(ctx, "c1", now)
	if err != nil {
		t.Fatalf("RefreshIncome: %v", err)
	}
	// Refreshing unchanged data stores nothing; new data stores a new set,
	// even at the same instant.
	if _, err := d.RefreshIncome(ctx, "c1", now); err != nil {
		t.Fatalf("second RefreshIncome: %v", err)
	}
	if n := countDerivedSets(t, e, "c1"); n != 1 {
		t.Errorf("stored sets after an unchanged refresh = %d, want 1", n)
	}
	insertCredits(t, e, "c1", ingested, credit{key: "refund", date: "2026-11-20", amount: "12.00", counterparty: "K JONES", description: "PAYBACK"})
	latest, err := d.RefreshIncome(ctx, "c1", now)
	if err != nil {
		t.Fatalf("third RefreshIncome: %v", err)
	}
	if n := countDerivedSets(t, e, "c1"); n != 2 {
		t.Errorf("stored sets after new data = %d, want 2", n)
	}

	stored, err := d.IncomeStreams(ctx, "c1")
	if err != nil {
		t.Fatalf("IncomeStreams: %v", err)
	}
	if len(first) != 2 || len(stored) != len(latest) || len(stored) != 3 {
		t.Fatalf("IncomeStreams returned %d streams, RefreshIncome %d then %d; want 2, then 3 stored", len(stored), len(first), len(latest))
	}
	for i := range latest {
		if stored[i] != latest[i] {
			t.Errorf("stream %d stored as %+v, derived as %+v", i, stored[i], latest[i])
		}
	}

	salary, ok := categorize.NextSalary(stored)
	if !ok {
		t.Fatal("no salary stream stored")
	}
	if want := mustDate(t, "2026-12-24"); salary.NextExpected != want {
		t.Errorf("NextExpected = %s, want %s", salary.NextExpected, want)
	}
	if salary.Cadence != insights.CadenceMonthly {
		t.Errorf("Cadence = %s, want monthly", salary.Cadence)
	}
	if salary.CustomerID != "c1" || salary.Currency != "GBP" || salary.Payments != 4 {
		t.Errorf("salary stream = %+v, want customer c1, GBP, 4 payments", salary)
	}
}

func TestIncomeStreams_none(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	streams, err := d.IncomeStreams(context.Background(), "nobody")
	if err != nil {
		t.Fatal(err)
	}
	if len(streams) != 0 {
		t.Errorf("IncomeStreams = %+v, want none", streams)
	}
}

func TestDerive_nextSalary(t *testing.T) {
	e := storetest.New(t)
	ingested := mustTime(t, "2026-11-30T06:00:00Z")
	insertCredits(t, e, "paid", ingested, salaries("ACME LOGISTICS LTD", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25")...)
	insertCredits(t, e, "lapsed", ingested, salaries("OLD EMPLOYER LTD", "2026-05-25", "2026-06-25", "2026-07-24")...)
	insertCredits(t, e, "two-credits", ingested, salaries("ACME LOGISTICS LTD", "2026-10-23", "2026-11-25")...)

	tests := []struct {
		name, customer string
		wantAvl        bool
		wantDate       string
		wantCadence    insights.Cadence
	}{
		{name: "monthly", customer: "paid", wantAvl: true, wantDate: "2026-12-24", wantCadence: insights.CadenceMonthly},
		{name: "lapsed", customer: "lapsed"},
		{name: "too few payments", customer: "two-credits"},
		{name: "no transactions", customer: "nobody"},
	}
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := derive1(t, d, tt.customer, insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}, now)
			if res.Available != tt.wantAvl {
				t.Errorf("Available = %v, want %v", res.Available, tt.wantAvl)
			}
			if got := res.NextDate.String(); got != tt.wantDate {
				t.Errorf("NextDate = %q, want %q", got, tt.wantDate)
			}
			if res.Cadence != tt.wantCadence {
				t.Errorf("Cadence = %q, want %q", res.Cadence, tt.wantCadence)
			}
			if res.Holds {
				t.Error("Holds is set on a salary claim")
			}
		})
	}
}

func TestDerive_nextSalaryStale(t *testing.T) {
	e := storetest.New(t)
	d := &Deriver{Engine: e}
	req := insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}
	insertCredits(t, e, "c1", mustTime(t, "2026-10-30T06:00:00Z"),
		salaries("ACME LOGISTICS LTD", "2026-07-24", "2026-08-25", "2026-09-25", "2026-10-23")...)

	// The first claim derives and stores the streams.
	first := derive1(t, d, "c1", req, mustTime(t, "2026-10-30T12:00:00Z"))
	if got := first.NextDate.String(); got != "2026-11-25" {
		t.Fatalf("first NextDate = %q, want 2026-11-25", got)
	}
	if want := mustTime(t, "2026-10-30T12:00:00Z"); !first.AsOf.Equal(want) {
		t.Errorf("first AsOf = %v, want %v", first.AsOf, want)
	}

	// Later the same day, with nothing new, the stored set is used.
	again := derive1(t, d, "c1", req, mustTime(t, "2026-10-30T18:00:00Z"))
	if !again.AsOf.Equal(first.AsOf) {
		t.Errorf("same-day AsOf = %v, want the stored set's %v", again.AsOf, first.AsOf)
	}

	// A new credit is ingested: the streams are derived again.
	insertCredits(t, e, "c1", mustTime(t, "2026-10-30T19:00:00Z"),
		credit{key: "gift", date: "2026-10-30", amount: "25.00", counterparty: "J SMITH", description: "GIFT"})
	afterLoad := derive1(t, d, "c1", req, mustTime(t, "2026-10-30T20:00:00Z"))
	if want := mustTime(t, "2026-10-30T20:00:00Z"); !afterLoad.AsOf.Equal(want) {
		t.Errorf("AsOf after a load = %v, want %v", afterLoad.AsOf, want)
	}

	// A month on with no new data, the set of an earlier day is stale.
	later := derive1(t, d, "c1", req, mustTime(t, "2026-12-10T12:00:00Z"))
	if later.Available {
		t.Errorf("salary unpaid since October still available on 10 December: %+v", later)
	}
	if n := countDerivedSets(t, e, "c1"); n != 3 {
		t.Errorf("stored sets = %d, want 3", n)
	}
}

func TestRefreshIncome_ownAccountTransfer(t *testing.T) {
	monthly := []string{"2026-07-02", "2026-08-03", "2026-09-02", "2026-10-02", "2026-11-02"}
	var mirrored, unmatched []credit
	for _, day := range monthly {
		// The savings account receives 750.00 from the customer's own
		// current account, which shows the matching debit the same day. The
		// narrative carries no transfer wording, so only the debit on the
		// other account tells the two apart.
		mirrored = append(mirrored,
			credit{key: "in" + day, date: day, amount: "750.00", counterparty: "MR W CHEN", description: "MR W CHEN", account: "savings"},
			credit{key: "out" + day, date: day, amount: "-750.00", counterparty: "MR W CHEN", description: "MR W CHEN", account: "current"})
		// The same credits with no debit elsewhere are a regular payer.
		unmatched = append(unmatched,
			credit{key: "in" + day, date: day, amount: "750.00", counterparty: "MR W CHEN", description: "MR W CHEN", account: "savings"})
	}
	// A debit of the same amount on the same account is not a transfer
	// between accounts.
	unmatched = append(unmatched, credit{key: "out", date: "2026-11-02", amount: "-750.00", counterparty: "RENT", description: "RENT", account: "savings"})

	tests := []struct {
		name        string
		credits     []credit
		wantStreams int
	}{
		{name: "mirrored", credits: mirrored, wantStreams: 0},
		{name: "unmatched", credits: unmatched, wantStreams: 1},
	}
	ctx := context.Background()
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := storetest.New(t)
			insertCredits(t, e, "c1", mustTime(t, "2026-11-30T06:00:00Z"), tt.credits...)
			d := &Deriver{Engine: e}
			streams, err := d.RefreshIncome(ctx, "c1", now)
			if err != nil {
				t.Fatalf("RefreshIncome: %v", err)
			}
			if len(streams) != tt.wantStreams {
				t.Errorf("streams = %+v, want %d", streams, tt.wantStreams)
			}
		})
	}
}

// TestDerive_sampleFeed loads the demo customers through ingest and checks
// each claim against the feed's labels.json and party.json.
func TestDerive_sampleFeed(t *testing.T) {
	const sample = "../../testdata/sample"
	tests := []struct {
		customer, postCode string
		over18, hasBirth   bool
		nextSalary         string
		cadence            insights.Cadence
	}{
		{customer: "alice", postCode: "ls6 2qt", over18: true, hasBirth: true, nextSalary: "2026-12-24", cadence: insights.CadenceMonthly},
		{customer: "bob", postCode: "S6 4JR", over18: true, hasBirth: true, nextSalary: "2026-12-11", cadence: insights.CadenceFourWeekly},
		{customer: "chen", postCode: "M46DZ", over18: true, hasBirth: true, nextSalary: "2026-12-24", cadence: insights.CadenceMonthly},
		{customer: "dana", postCode: "BS7 9PL", over18: false, hasBirth: true, nextSalary: "2026-12-04", cadence: insights.CadenceWeekly},
		{customer: "eve", postCode: "E8 2BT"},
	}
	ctx := context.Background()
	e := storetest.New(t)
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New(),
		Now: func() time.Time { return mustTime(t, "2026-11-30T06:00:00Z") }}
	for _, tt := range tests {
		files, err := filepath.Glob(filepath.Join(sample, tt.customer, "*.*json"))
		if err != nil || len(files) == 0 {
			t.Fatalf("sample files of %s: %v (%d found)", tt.customer, err, len(files))
		}
		for _, f := range files {
			if filepath.Base(f) == "labels.json" {
				continue
			}
			// Direct debits, standing orders and scheduled payments have
			// their own loader, as in `insights ingest`.
			isOrders, err := orders.IsOrderFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if isOrders {
				if _, err := orders.LoadFile(ctx, e, tt.customer, f, mustTime(t, "2026-11-30T06:00:00Z")); err != nil {
					t.Fatalf("load %s: %v", f, err)
				}
				continue
			}
			if _, err := loader.LoadFile(ctx, tt.customer, f); err != nil {
				t.Fatalf("load %s: %v", f, err)
			}
		}
	}

	d := &Deriver{Engine: e}
	customers, err := d.Customers(ctx)
	if err != nil {
		t.Fatalf("Customers: %v", err)
	}
	if want := []string{"alice", "bob", "chen", "dana", "eve"}; !equalStrings(customers, want) {
		t.Errorf("Customers = %v, want %v", customers, want)
	}

	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.customer, func(t *testing.T) {
			reqs := []insights.ClaimRequest{
				{Kind: insights.ClaimAgeOver, MinimumAge: 18},
				{Kind: insights.ClaimAddressMatches, PostCode: tt.postCode},
				{Kind: insights.ClaimNextSalaryDate},
				{Kind: insights.ClaimFundsAtLeast, Amount: 0, Currency: "GBP"},
			}
			res, err := d.Derive(ctx, tt.customer, reqs, now)
			if err != nil {
				t.Fatalf("Derive: %v", err)
			}
			if len(res) != len(reqs) {
				t.Fatalf("Derive returned %d results, want %d", len(res), len(reqs))
			}
			age, address, salary, funds := res[0], res[1], res[2], res[3]

			if age.Available != tt.hasBirth || age.Holds != tt.over18 {
				t.Errorf("age_over 18 = available %v holds %v, want %v %v", age.Available, age.Holds, tt.hasBirth, tt.over18)
			}
			if !address.Available || !address.Holds {
				t.Errorf("address_matches = available %v holds %v, want true true", address.Available, address.Holds)
			}
			if got := salary.NextDate.String(); got != tt.nextSalary || salary.Cadence != tt.cadence {
				t.Errorf("next_salary = %q %q, want %q %q", got, salary.Cadence, tt.nextSalary, tt.cadence)
			}
			if salary.Available != (tt.nextSalary != "") {
				t.Errorf("next_salary available = %v, want %v", salary.Available, tt.nextSalary != "")
			}
			if !funds.Available {
				t.Error("funds_at_least unavailable, want available from the sample balances")
			}
		})
	}
}

func TestDerive_sampleFunds(t *testing.T) {
	// alice's InterimAvailable is 6065.58 GBP, with no credit line.
	path := "../../testdata/sample/alice/balances.json"
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	e := storetest.New(t)
	loader := &ingest.Loader{Engine: e}
	if _, err := loader.LoadFile(ctx, "alice", path); err != nil {
		t.Fatal(err)
	}

	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-12-01T09:00:00Z")
	for _, tt := range []struct {
		amount string
		want   bool
	}{{"6065.58", true}, {"6065.59", false}} {
		res := derive1(t, d, "alice", insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: mustAmount(t, tt.amount), Currency: "GBP"}, now)
		if !res.Available || res.Holds != tt.want {
			t.Errorf("funds >= %s: available %v holds %v, want true %v", tt.amount, res.Available, res.Holds, tt.want)
		}
		if want := mustTime(t, "2026-11-30T23:59:59Z"); !res.AsOf.Equal(want) {
			t.Errorf("AsOf = %v, want %v", res.AsOf, want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRefreshIncome_emptySetReplacesStoredStreams(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	ingested := mustTime(t, "2026-11-30T06:00:00Z")
	insertCredits(t, e, "c1", ingested, salaries("ACME LOGISTICS LTD", "2026-08-25", "2026-09-25", "2026-10-23", "2026-11-25")...)
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	if first, err := d.RefreshIncome(ctx, "c1", now); err != nil || len(first) != 1 {
		t.Fatalf("RefreshIncome = %v, %v; want one stream", first, err)
	}

	// The customer's overrides now make the payer a transfer, so no income
	// is left: the stored stream must stop being the newest set.
	exec(t, e, `INSERT INTO transactions SELECT * REPLACE ('transfer' AS category, 'override:pay' AS category_rule,
    fromUnixTimestamp64Milli({ingested:Int64}, 'UTC') AS ingested_at)
FROM transactions FINAL WHERE customer_id = 'c1'`, store.P("ingested", strconv.FormatInt(ingested.Add(time.Hour).UnixMilli(), 10)))
	for i := range 2 {
		streams, err := d.RefreshIncome(ctx, "c1", now)
		if err != nil {
			t.Fatalf("RefreshIncome %d after the override: %v", i+1, err)
		}
		if len(streams) != 0 {
			t.Errorf("RefreshIncome %d after the override = %v, want no stream", i+1, streams)
		}
	}
	stored, err := (&Deriver{Engine: e}).IncomeStreams(ctx, "c1")
	if err != nil {
		t.Fatalf("IncomeStreams: %v", err)
	}
	if len(stored) != 0 {
		t.Errorf("IncomeStreams after the override = %v, want none", stored)
	}
	if n := countDerivedSets(t, e, "c1"); n != 2 {
		t.Errorf("stored sets = %d, want 2: the stream's, then one empty set stored once", n)
	}

	// A customer who never had income never stores an empty set.
	if _, err := d.RefreshIncome(ctx, "c2", now); err != nil {
		t.Fatalf("RefreshIncome c2: %v", err)
	}
	if n := countDerivedSets(t, e, "c2"); n != 0 {
		t.Errorf("stored sets of a customer without income = %d, want 0", n)
	}
}
