package overrides_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/overrides"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

func newStore(t *testing.T) *overrides.Store {
	t.Helper()
	return &overrides.Store{Engine: storetest.New(t)}
}

func TestAdd_rejectsInvalidOverride(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	valid := categorize.Override{ID: "rent", Counterparty: "Burger Palace Ltd", Category: insights.CategoryRent}
	tests := []struct {
		name     string
		customer string
		mutate   func(o *categorize.Override)
		want     string
	}{
		{"empty customer", "", func(*categorize.Override) {}, "customer ID is empty"},
		{"empty id", "c1", func(o *categorize.Override) { o.ID = "" }, `invalid id ""`},
		{"id with space", "c1", func(o *categorize.Override) { o.ID = "my rent" }, `invalid id "my rent"`},
		{"id too long", "c1", func(o *categorize.Override) { o.ID = strings.Repeat("a", 65) }, "invalid id"},
		{"noise-only counterparty", "c1", func(o *categorize.Override) { o.Counterparty = "CARD PAYMENT TO" }, "counterparty"},
		{"long counterparty", "c1", func(o *categorize.Override) { o.Counterparty = strings.Repeat("x", 257) }, "invalid counterparty: 257 bytes"},
		{"unknown direction", "c1", func(o *categorize.Override) { o.Direction = "both" }, `direction "both"`},
		{"unknown category", "c1", func(o *categorize.Override) { o.Category = "housing.castle" }, `category "housing.castle"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.mutate(&o)
			_, err := s.Add(ctx, tt.customer, o, "test")
			if err == nil {
				t.Fatalf("Add succeeded, want error containing %q", tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Add error = %q, want it to contain %q", err, tt.want)
			}
		})
	}
	list, err := s.List(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Errorf("List after rejected adds = %v, want none stored", list)
	}
}

func TestStore_addReplaceListRemove(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	rent := categorize.Override{ID: "rent", Counterparty: "Burger Palace Ltd", Direction: categorize.Debits, Category: insights.CategoryRent}
	pay := categorize.Override{ID: "pay", Counterparty: "Acme Limited", Direction: categorize.Credits, Category: insights.CategorySalary}
	for _, o := range []categorize.Override{rent, pay} {
		replaced, err := s.Add(ctx, "c1", o, "alice")
		if err != nil {
			t.Fatalf("Add %s: %v", o.ID, err)
		}
		if replaced {
			t.Errorf("Add %s: replaced = true for a new ID", o.ID)
		}
	}

	list, err := s.List(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Override != pay || list[1].Override != rent {
		t.Fatalf("List = %+v, want pay then rent", list)
	}
	if list[0].Actor != "alice" || list[0].UpdatedAt.IsZero() {
		t.Errorf("List[0] actor %q, updated_at %v: want alice and a time", list[0].Actor, list[0].UpdatedAt)
	}

	rent.Category = insights.CategoryMortgage
	replaced, err := s.Add(ctx, "c1", rent, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if !replaced {
		t.Error("Add with an existing ID: replaced = false, want true")
	}
	loaded, err := s.Load(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if want := (categorize.Overrides{pay, rent}); len(loaded) != 2 || loaded[0] != want[0] || loaded[1] != want[1] {
		t.Errorf("Load after replace = %+v, want %+v", loaded, want)
	}

	if err := s.Remove(ctx, "c1", "pay", "bob"); err != nil {
		t.Fatalf("Remove: %v", err)
	}
	loaded, err = s.Load(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(loaded) != 1 || loaded[0] != rent {
		t.Errorf("Load after remove = %+v, want only rent", loaded)
	}
	if err := s.Remove(ctx, "c1", "pay", "bob"); !errors.Is(err, overrides.ErrNotFound) {
		t.Errorf("second Remove error = %v, want ErrNotFound", err)
	}

	// A removed ID can be added again.
	if _, err := s.Add(ctx, "c1", pay, "bob"); err != nil {
		t.Fatalf("Add after remove: %v", err)
	}
	if list, _ := s.List(ctx, "c1"); len(list) != 2 {
		t.Errorf("List after re-adding = %+v, want 2 overrides", list)
	}
}

func TestStore_writesInSameMillisecondOrdered(t *testing.T) {
	// A fixed clock gives every write the same time, so only the version
	// counter orders them.
	fixed := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	s := &overrides.Store{Engine: storetest.New(t), Now: func() time.Time { return fixed }}
	ctx := context.Background()
	o := categorize.Override{ID: "rent", Counterparty: "Landlord", Category: insights.CategoryRent}
	for _, c := range []insights.Category{insights.CategoryRent, insights.CategoryMortgage, insights.CategoryUtilities} {
		o.Category = c
		if _, err := s.Add(ctx, "c1", o, "test"); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Category != insights.CategoryUtilities {
		t.Errorf("List = %+v, want the last write (utilities)", list)
	}
}

func TestAdd_rejectsSecondOverrideForCounterparty(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	if _, err := s.Add(ctx, "c1", categorize.Override{ID: "a", Counterparty: "Acme Limited", Category: insights.CategoryRent}, "t"); err != nil {
		t.Fatal(err)
	}
	// "ACME LTD" normalises to the same counterparty.
	_, err := s.Add(ctx, "c1", categorize.Override{ID: "b", Counterparty: "ACME LTD", Category: insights.CategoryUtilities}, "t")
	if err == nil || !strings.Contains(err.Error(), `override "a" already sets`) {
		t.Errorf("Add of a clashing override: error = %v, want one naming override \"a\"", err)
	}
	// Another direction, or another customer, is no clash.
	if _, err := s.Add(ctx, "c1", categorize.Override{ID: "b", Counterparty: "ACME LTD", Direction: categorize.Credits, Category: insights.CategoryRefund}, "t"); err != nil {
		t.Errorf("Add for credits only: %v", err)
	}
	if _, err := s.Add(ctx, "c2", categorize.Override{ID: "b", Counterparty: "ACME LTD", Category: insights.CategoryUtilities}, "t"); err != nil {
		t.Errorf("Add for another customer: %v", err)
	}
	if list, _ := s.List(ctx, "c2"); len(list) != 1 {
		t.Errorf("List of c2 = %+v, want 1 override", list)
	}
}

// debitTo returns an NDJSON transaction line of a debit to a named payee.
func debitTo(id, payee, booked string) string {
	return `{"Transaction":{"AccountId":"A1","TransactionId":"` + id + `","CreditDebitIndicator":"Debit","Status":"Booked",` +
		`"BookingDateTime":"` + booked + `","Amount":{"Amount":"650.00","Currency":"GBP"},` +
		`"TransactionInformation":"` + payee + ` FPO","CreditorAccount":{"Name":"` + payee + `"}}}`
}

func writeFeed(t *testing.T, name string, lines ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// storedCategories returns "transaction_id category category_rule" of the
// customer's current transactions, ordered by transaction_id.
func storedCategories(t *testing.T, engine store.Engine, customer string) []string {
	t.Helper()
	rows, err := engine.Query(context.Background(), `SELECT transaction_id, toString(category), toString(category_rule)
FROM transactions FINAL WHERE customer_id = {c:String} ORDER BY transaction_id`, store.P("c", customer))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id, category, rule string
		if err := rows.Scan(&id, &category, &rule); err != nil {
			t.Fatal(err)
		}
		out = append(out, id+" "+category+" "+rule)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestLoadFile_appliesCustomerOverrides(t *testing.T) {
	engine := storetest.New(t)
	ctx := context.Background()
	s := &overrides.Store{Engine: engine}
	loader := &ingest.Loader{Engine: engine, CategorizerFor: s.CategorizerFor(categorize.New())}
	rent := categorize.Override{ID: "landlord", Counterparty: "BURGER PALACE LIMITED", Direction: categorize.Debits, Category: insights.CategoryRent}
	if _, err := s.Add(ctx, "c1", rent, "test"); err != nil {
		t.Fatal(err)
	}

	lines := []string{
		debitTo("T1", "Burger Palace Ltd", "2026-03-01T09:00:00Z"),
		debitTo("T2", "Northern Water", "2026-03-02T09:00:00Z"),
	}
	for _, customer := range []string{"c1", "c2"} {
		if _, err := loader.LoadFile(ctx, customer, writeFeed(t, customer+".ndjson", lines...)); err != nil {
			t.Fatalf("LoadFile for %s: %v", customer, err)
		}
	}

	got := storedCategories(t, engine, "c1")
	if len(got) != 2 || got[0] != "T1 housing.rent override:landlord" {
		t.Errorf("c1 stored %q, want T1 as housing.rent by override:landlord", got)
	}
	if len(got) == 2 && strings.Contains(got[1], "override:") {
		t.Errorf("c1 stored %q for T2, whose counterparty has no override", got[1])
	}
	// The other customer's transactions follow the built-in rules only.
	for _, row := range storedCategories(t, engine, "c2") {
		if strings.Contains(row, "override:") {
			t.Errorf("c2 stored %q: another customer's override applied", row)
		}
	}
}

func TestCategorizerFor_storageErrorFailsLoad(t *testing.T) {
	engine := storetest.New(t)
	ctx := context.Background()
	s := &overrides.Store{Engine: engine}
	loader := &ingest.Loader{Engine: engine, CategorizerFor: s.CategorizerFor(categorize.New())}
	if err := engine.Exec(ctx, "DROP TABLE category_overrides"); err != nil {
		t.Fatal(err)
	}
	_, err := loader.LoadFile(ctx, "c1", writeFeed(t, "feed.ndjson", debitTo("T1", "Burger Palace Ltd", "2026-03-01T09:00:00Z")))
	if err == nil || !strings.Contains(err.Error(), "category overrides") {
		t.Fatalf("LoadFile error = %v, want one about reading category overrides", err)
	}
	if got := storedCategories(t, engine, "c1"); len(got) != 0 {
		t.Errorf("stored %q after the failed load, want nothing", got)
	}
}
