package derive

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// entry is a transactions row. date is the UK booking day, and the entry
// is booked at its UK midnight. Empty fields take the defaults of
// insertEntries: booked, GBP, account acc-1, state current.
type entry struct {
	key, date, amount, category string
	account, status, currency   string
	state                       string
	ingested                    string // RFC 3339; empty means 2026-12-01T06:00:00Z
}

func insertEntries(t testing.TB, e store.Engine, customer string, entries ...entry) {
	t.Helper()
	withState := hasStateColumn(t, e)
	for _, en := range entries {
		if en.account == "" {
			en.account = "acc-1"
		}
		if en.status == "" {
			en.status = "booked"
		}
		if en.currency == "" {
			en.currency = "GBP"
		}
		if en.ingested == "" {
			en.ingested = "2026-12-01T06:00:00Z"
		}
		if en.state == "" {
			en.state = "current"
		}
		day, err := time.ParseInLocation(time.DateOnly, en.date, london)
		if err != nil {
			t.Fatalf("bad test date %q: %v", en.date, err)
		}
		ingested, err := time.Parse(time.RFC3339, en.ingested)
		if err != nil {
			t.Fatalf("bad test time %q: %v", en.ingested, err)
		}

		columns, values := "", ""
		if withState {
			columns, values = ", state", ", {state:String}"
		} else if en.state != "current" {
			t.Fatalf("entry %s has state %q, but transactions has no state column", en.key, en.state)
		}
		err = e.Exec(context.Background(), `INSERT INTO transactions (customer_id, account_id, transaction_key, transaction_id, status,
    booking_time, booking_date, amount, currency, description, counterparty, category, category_rule,
    content_hash, source, ingested_at`+columns+`)
SELECT {customer:String}, {account:String}, {key:String}, {key:String}, {status:String},
       fromUnixTimestamp64Milli({booked:Int64}, 'UTC'), toDate32({date:String}), toDecimal64({amount:String}, 5),
       {currency:String}, 'TEST ENTRY', 'TEST PAYEE', {category:String}, 'test', '', 'test',
       fromUnixTimestamp64Milli({ingested:Int64}, 'UTC')`+values,
			store.P("customer", customer), store.P("account", en.account), store.P("key", en.key),
			store.P("status", en.status), store.P("booked", strconv.FormatInt(day.UnixMilli(), 10)),
			store.P("date", en.date), store.P("amount", en.amount), store.P("currency", en.currency),
			store.P("category", en.category), store.P("ingested", strconv.FormatInt(ingested.UnixMilli(), 10)),
			store.P("state", en.state))
		if err != nil {
			t.Fatalf("insert entry %s: %v", en.key, err)
		}
	}
}

func hasStateColumn(t testing.TB, e store.Engine) bool {
	t.Helper()
	filter, err := (&Deriver{Engine: e}).currentFilter(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return filter != ""
}

// monthOfEntries returns the entries of one month of the "steady"
// customer, month being "2026-09" and so on. Per month: salary 3000.00,
// a refund and a transfer in (not income), rent and council tax (committed
// 1050.00), groceries and transport (everyday 360.00), eating out and
// gambling (discretionary 240.00) and a transfer out (not spending).
func monthOfEntries(month string) []entry {
	day := func(d string) string { return month + "-" + d }
	return []entry{
		{key: month + "-rent", date: day("01"), amount: "-900.00", category: "housing.rent"},
		{key: month + "-ctax", date: day("01"), amount: "-150.00", category: "council_tax"},
		{key: month + "-groceries", date: day("10"), amount: "-300.00", category: "groceries"},
		{key: month + "-bus", date: day("10"), amount: "-60.00", category: "transport"},
		{key: month + "-dinner", date: day("10"), amount: "-200.00", category: "eating_out"},
		{key: month + "-bet", date: day("10"), amount: "-40.00", category: "gambling"},
		{key: month + "-refund", date: day("20"), amount: "100.00", category: "income.refund"},
		{key: month + "-from-savings", date: day("20"), amount: "500.00", category: "transfer"},
		{key: month + "-salary", date: day("25"), amount: "3000.00", category: "income.salary"},
		{key: month + "-to-savings", date: day("26"), amount: "-500.00", category: "transfer"},
	}
}

// steadyDays returns the end-of-day balances of the "steady" customer in
// one month of days days, starting from the balance at the end of the
// previous month, and the balance at the month's end.
func steadyDays(opening float64, days int, extra map[int]float64) ([]float64, float64) {
	moves := map[int]float64{1: -1050, 10: -600, 20: 600, 25: 3000, 26: -500}
	for d, v := range extra {
		moves[d] += v
	}
	out := make([]float64, days)
	balance := opening
	for d := 1; d <= days; d++ {
		balance += moves[d]
		out[d-1] = balance
	}
	return out, balance
}

func stddevPop(values []float64) float64 {
	var sum float64
	for _, v := range values {
		sum += v
	}
	mean := sum / float64(len(values))
	var squares float64
	for _, v := range values {
		squares += (v - mean) * (v - mean)
	}
	return math.Sqrt(squares / float64(len(values)))
}

func TestAffordability_knownFigures(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	now := mustTime(t, "2026-12-04T10:00:00Z")

	// "steady": three months of the same pattern, and rows that must not
	// count: a pending debit, a USD debit, an August debit before the
	// window, an older version of a row that a newer one replaced.
	var entries []entry
	for _, m := range []string{"2026-09", "2026-10", "2026-11"} {
		entries = append(entries, monthOfEntries(m)...)
	}
	entries = append(entries,
		entry{key: "returned", date: "2026-10-15", amount: "55.00", category: "returned_payment"},
		entry{key: "pending", date: "2026-11-28", amount: "-999.00", category: "shopping", status: "pending"},
		entry{key: "dollars", date: "2026-11-12", amount: "-999.00", category: "shopping", currency: "USD"},
		entry{key: "august", date: "2026-08-15", amount: "-70.00", category: "groceries"},
		entry{key: "december", date: "2026-12-02", amount: "-999.00", category: "shopping"},
		// An old version of the September groceries, replaced by the
		// version above, which has a later ingested_at.
		entry{key: "2026-09-groceries", date: "2026-09-10", amount: "-1300.00", category: "groceries", ingested: "2026-10-01T06:00:00Z"},
	)
	insertEntries(t, e, "steady", entries...)
	if hasStateColumn(t, e) {
		insertEntries(t, e, "steady", entry{key: "superseded", date: "2026-11-11", amount: "-999.00", category: "shopping", state: "superseded"})
	}

	// The only anchor: the ClosingBooked of 30 November, 5,505.00 after the
	// 999.00 December debit is taken back out. A credit card's negative
	// balance and an InterimAvailable must not count.
	insertBalance(t, e, "steady", balance{account: "acc-1", typ: "ClosingBooked", amount: "4506.00", currency: "GBP", asOf: "2026-12-03T23:59:59Z"})
	insertBalance(t, e, "steady", balance{account: "acc-1", typ: "InterimAvailable", amount: "-5000.00", currency: "GBP", asOf: "2026-11-30T23:59:59Z"})
	insertBalance(t, e, "steady", balance{account: "card-1", typ: "ClosingBooked", amount: "-800.00", currency: "GBP", asOf: "2026-11-30T23:59:59Z"})
	exec(t, e, `INSERT INTO accounts (customer_id, account_id, currency, account_type, account_sub_type, nickname, status, content_hash, source, ingested_at)
VALUES ('steady', 'card-1', 'GBP', 'Personal', 'CreditCard', '', 'Enabled', '', 'test', now64(3, 'UTC'))`)

	d := &Deriver{Engine: e}
	got, ok, err := d.Affordability(ctx, "steady", 3, now)
	if err != nil {
		t.Fatalf("Affordability: %v", err)
	}
	if !ok {
		t.Fatal("Affordability: not available, want figures")
	}

	// The balance ends August at 1,100.00 (5,505.00 less three months of
	// +1,450.00 and the returned 55.00), dips to -550.00 from 10 to 19
	// September, and never again.
	sep, end := steadyDays(1100, 30, nil)
	oct, end := steadyDays(end, 31, map[int]float64{15: 55})
	nov, end := steadyDays(end, 30, nil)
	if end != 5505 {
		t.Fatalf("test arithmetic: November ends at %.2f, want 5505.00", end)
	}
	wantDeviation := (stddevPop(sep) + stddevPop(oct) + stddevPop(nov)) / 3

	checks := []struct {
		name      string
		got, want any
	}{
		{"Months", got.Months, 3},
		{"FirstMonth", got.FirstMonth, mustDate(t, "2026-09-01")},
		{"LastMonth", got.LastMonth, mustDate(t, "2026-11-01")},
		{"Currency", got.Currency, "GBP"},
		{"NetIncome", got.NetIncome, mustAmount(t, "3000.00")},
		{"Committed", got.Committed, mustAmount(t, "1050.00")},
		{"Essential", got.Essential, mustAmount(t, "1410.00")},
		{"Discretionary", got.Discretionary, mustAmount(t, "240.00")},
		{"Disposable", got.Disposable, mustAmount(t, "1590.00")},
		{"ReturnedPayments", got.ReturnedPayments, 1},
		{"BalancesKnown", got.BalancesKnown, true},
		{"DaysInOverdraft", got.DaysInOverdraft, 10},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if want := 40.0 / 1650.0; math.Abs(got.GamblingShare-want) > 1e-12 {
		t.Errorf("GamblingShare = %v, want %v", got.GamblingShare, want)
	}
	if diff := math.Abs(float64(got.BalanceStdDev) - wantDeviation*1e5); diff > 1 {
		t.Errorf("BalanceStdDev = %s, want %.5f", got.BalanceStdDev, wantDeviation)
	}
	if want := float64(got.BalanceStdDev) / float64(mustAmount(t, "3000.00")); math.Abs(got.Volatility-want) > 1e-12 {
		t.Errorf("Volatility = %v, want %v", got.Volatility, want)
	}
}

func TestAffordability_dailyBalances(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	now := mustTime(t, "2026-12-01T00:30:00Z") // still 1 December in London

	// One salary a month and nothing else, while the bank's daily
	// ClosingBooked balances say 100.00 except on five days. The entries
	// do not explain the balances, so only the daily balances can give
	// the five days. Each balance is stamped at the UK midnight that ends
	// its day: 23:00Z in British Summer Time, 00:00Z after 25 October.
	insertEntries(t, e, "daily",
		entry{key: "s9", date: "2026-09-25", amount: "2000.00", category: "income.salary"},
		entry{key: "s10", date: "2026-10-23", amount: "2000.00", category: "income.salary"},
		entry{key: "s11", date: "2026-11-25", amount: "2000.00", category: "income.salary"},
	)
	overdrawn := map[string]bool{"2026-09-01": true, "2026-09-30": true, "2026-10-25": true, "2026-10-26": true, "2026-11-30": true}
	for day := mustDate(t, "2026-09-01"); !mustDate(t, "2026-12-01").Before(day.AddDays(1)); day = day.AddDays(1) {
		amount := "100.00"
		if overdrawn[day.String()] {
			amount = "-10.00"
		}
		closes := day.AddDays(1).In(london).UTC().Format(time.RFC3339)
		insertBalance(t, e, "daily", balance{account: "acc-1", typ: "ClosingBooked", amount: amount, currency: "GBP", asOf: closes})
	}

	d := &Deriver{Engine: e}
	got, ok, err := d.Affordability(ctx, "daily", 3, now)
	if err != nil {
		t.Fatalf("Affordability: %v", err)
	}
	if !ok {
		t.Fatal("Affordability: not available, want figures")
	}
	if got.DaysInOverdraft != len(overdrawn) {
		t.Errorf("DaysInOverdraft = %d, want %d", got.DaysInOverdraft, len(overdrawn))
	}
	if got.NetIncome != mustAmount(t, "2000.00") {
		t.Errorf("NetIncome = %s, want 2000.00", got.NetIncome)
	}
	if got.Disposable != mustAmount(t, "2000.00") {
		t.Errorf("Disposable = %s, want 2000.00", got.Disposable)
	}
}

func TestAffordability_unavailable(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	now := mustTime(t, "2026-12-04T10:00:00Z")

	// "late": history starts in the window's second month.
	insertEntries(t, e, "late", monthOfEntries("2026-10")...)
	insertEntries(t, e, "late", monthOfEntries("2026-11")...)
	// "old": booked entries, but none in the window.
	insertEntries(t, e, "old", monthOfEntries("2025-03")...)
	// "dollars": entries only in another currency.
	insertEntries(t, e, "dollars", entry{key: "usd", date: "2026-09-03", amount: "-5.00", category: "groceries", currency: "USD"})

	d := &Deriver{Engine: e}
	for _, customer := range []string{"late", "old", "dollars", "nobody"} {
		t.Run(customer, func(t *testing.T) {
			_, ok, err := d.Affordability(ctx, customer, 3, now)
			if err != nil {
				t.Fatalf("Affordability: %v", err)
			}
			if ok {
				t.Error("Affordability available, want unavailable")
			}
		})
	}

	// Two months of the window are covered from the start for "late".
	t.Run("late covered by a shorter window", func(t *testing.T) {
		late := mustTime(t, "2027-01-04T10:00:00Z")
		_, ok, err := d.Affordability(ctx, "late", 3, late)
		if err != nil {
			t.Fatalf("Affordability: %v", err)
		}
		if !ok {
			t.Error("Affordability unavailable, want available for October to December")
		}
	})
}

func TestAffordability_noBalances(t *testing.T) {
	e := storetest.New(t)
	insertEntries(t, e, "c1", monthOfEntries("2026-11")...)
	d := &Deriver{Engine: e}
	got, ok, err := d.Affordability(context.Background(), "c1", 3, mustTime(t, "2027-02-01T09:00:00Z"))
	if err != nil {
		t.Fatalf("Affordability: %v", err)
	}
	if !ok {
		t.Fatal("Affordability: not available, want figures")
	}
	if got.BalancesKnown || got.DaysInOverdraft != 0 || got.Volatility != 0 {
		t.Errorf("balance figures = %v, %d, %v, want unknown", got.BalancesKnown, got.DaysInOverdraft, got.Volatility)
	}
	// November to January: one month of entries averaged over three.
	if got.NetIncome != mustAmount(t, "1000.00") {
		t.Errorf("NetIncome = %s, want 1000.00", got.NetIncome)
	}
}

func TestAffordability_invalidMonths(t *testing.T) {
	d := &Deriver{Engine: brokenEngine{}}
	for _, months := range []int{0, 1, 4, 24, -3} {
		_, err := d.Derive(context.Background(), "c1",
			[]insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: months}}, time.Now())
		if code := insights.ErrorCode(err); code != insights.ErrInvalid {
			t.Errorf("Months %d: error code %q (%v), want %q", months, code, err, insights.ErrInvalid)
		}
		if _, _, err := d.Affordability(context.Background(), "c1", months, time.Now()); insights.ErrorCode(err) != insights.ErrInvalid {
			t.Errorf("Affordability(%d): %v, want an invalid error", months, err)
		}
	}
}

func TestAffordability_storageError(t *testing.T) {
	d := &Deriver{Engine: brokenEngine{}}
	_, err := d.Derive(context.Background(), "c1",
		[]insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 6}}, time.Now())
	if !errors.Is(err, errBroken) {
		t.Errorf("Derive error = %v, want the storage error", err)
	}
}

func TestDerive_affordabilityClaim(t *testing.T) {
	e := storetest.New(t)
	for _, m := range []string{"2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"} {
		insertEntries(t, e, "c1", monthOfEntries(m)...)
	}
	d := &Deriver{Engine: e}
	req := insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 6}
	res := derive1(t, d, "c1", req, mustTime(t, "2026-12-04T10:00:00Z"))
	if !res.Available || res.Affordability == nil {
		t.Fatalf("result = %+v, want available with figures", res)
	}
	if want := mustTime(t, "2026-12-01T00:00:00Z"); !res.AsOf.Equal(want) {
		t.Errorf("AsOf = %s, want %s, the end of November in London", res.AsOf, want)
	}
	if res.Affordability.Months != 6 || res.Affordability.FirstMonth != mustDate(t, "2026-06-01") {
		t.Errorf("window = %d months from %s, want 6 from 2026-06-01", res.Affordability.Months, res.Affordability.FirstMonth)
	}
	if res.Affordability.Disposable != mustAmount(t, "1590.00") {
		t.Errorf("Disposable = %s, want 1590.00", res.Affordability.Disposable)
	}
}

// TestAffordability_sampleFeed loads the demo customers through ingest and
// checks that their figures match what the generator meant them to show.
func TestAffordability_sampleFeed(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New()}
	for _, customer := range []string{"alice", "bob", "chen", "dana", "eve"} {
		for _, name := range []string{"accounts.json", "balances.json", "transactions.ndjson"} {
			if _, err := loader.LoadFile(ctx, customer, filepath.Join("../../testdata/sample", customer, name)); err != nil {
				t.Fatalf("load %s of %s: %v", name, customer, err)
			}
		}
	}

	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-12-04T10:00:00Z")
	figures := map[string]insights.AffordabilityFigures{}
	for _, customer := range []string{"alice", "bob", "chen", "dana", "eve"} {
		f, ok, err := d.Affordability(ctx, customer, 12, now)
		if err != nil {
			t.Fatalf("Affordability(%s): %v", customer, err)
		}
		if !ok {
			t.Fatalf("Affordability(%s): unavailable, want figures from 13 months of history", customer)
		}
		if !f.BalancesKnown {
			t.Errorf("%s: BalancesKnown false, want true from the ClosingBooked balances", customer)
		}
		if f.Disposable != f.NetIncome-f.Essential {
			t.Errorf("%s: Disposable %s != NetIncome %s - Essential %s", customer, f.Disposable, f.NetIncome, f.Essential)
		}
		if f.Essential < f.Committed {
			t.Errorf("%s: Essential %s < Committed %s", customer, f.Essential, f.Committed)
		}
		t.Logf("%s: %+v", customer, f)
		figures[customer] = f
	}

	// Alice's salary is about 2,384.17 a month, with a December bonus.
	alice := figures["alice"]
	if alice.NetIncome < mustAmount(t, "2300.00") || alice.NetIncome > mustAmount(t, "3000.00") {
		t.Errorf("alice: NetIncome %s, want 2300 to 3000 a month", alice.NetIncome)
	}
	if alice.GamblingShare != 0 || alice.ReturnedPayments != 0 || alice.DaysInOverdraft != 0 {
		t.Errorf("alice: gambling %v, returned %d, overdrawn days %d, want none", alice.GamblingShare, alice.ReturnedPayments, alice.DaysInOverdraft)
	}
	if alice.Committed <= 0 || alice.Discretionary <= 0 {
		t.Errorf("alice: Committed %s, Discretionary %s, want both above zero", alice.Committed, alice.Discretionary)
	}

	// Bob's car insurance direct debit was returned unpaid in April 2026.
	if bob := figures["bob"]; bob.ReturnedPayments < 1 {
		t.Errorf("bob: ReturnedPayments %d, want at least 1", bob.ReturnedPayments)
	}

	// Eve gambles and moves in and out of her arranged overdraft.
	eve := figures["eve"]
	if eve.GamblingShare <= 0 || eve.GamblingShare >= 1 {
		t.Errorf("eve: GamblingShare %v, want between 0 and 1", eve.GamblingShare)
	}
	if eve.DaysInOverdraft < 1 || eve.DaysInOverdraft > 365 {
		t.Errorf("eve: DaysInOverdraft %d, want 1 to 365", eve.DaysInOverdraft)
	}

	// The running sum, anchored at the closing balance, must give back
	// the opening balance that labels.json records for a one-account
	// customer: the day before the window, balance = opening + entries.
	checkOpening(t, e, "alice")
}

// checkOpening compares the end-of-day balance the running-sum method
// derives for the day before the first entry with labels.json.
func checkOpening(t *testing.T, e store.Engine, customer string) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../testdata/sample", customer, "labels.json"))
	if err != nil {
		t.Fatal(err)
	}
	var labels struct {
		From     string `json:"from"`
		Accounts []struct {
			OpeningBalance string `json:"opening_balance"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal(data, &labels); err != nil {
		t.Fatal(err)
	}
	if len(labels.Accounts) != 1 {
		t.Fatalf("%s has %d accounts, want 1", customer, len(labels.Accounts))
	}

	// A window of one day: the day before the first entry.
	d := &Deriver{Engine: e}
	days, anchors, err := d.affordabilityData(context.Background(), customer)
	if err != nil {
		t.Fatalf("read affordability rows: %v", err)
	}
	first := mustDate(t, labels.From).AddDays(-1)
	balances := endOfDay(days, anchors, first, first)
	if len(balances) != 1 {
		t.Fatalf("%s: %d end-of-day balances for one day, want 1", customer, len(balances))
	}
	gotAmount := balances[0].total
	if want := mustAmount(t, labels.Accounts[0].OpeningBalance); gotAmount != want {
		t.Errorf("%s: end-of-day balance on %s = %s, want the opening balance %s", customer, first, gotAmount, want)
	}
}
