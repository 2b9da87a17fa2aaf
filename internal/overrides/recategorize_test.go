package overrides_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/overrides"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// monthlyRent returns six monthly debits to the payee, from January 2026.
func monthlyRent(payee string) []string {
	var lines []string
	for m := 1; m <= 6; m++ {
		lines = append(lines, debitTo(fmt.Sprintf("R%d", m), payee, fmt.Sprintf("2026-%02d-01T09:00:00Z", m)))
	}
	return lines
}

// rentCommitments returns the payees of the customer's derived rent
// commitments after a refresh.
func rentCommitments(t *testing.T, d *derive.Deriver, customer string) []string {
	t.Helper()
	derived, err := d.RefreshInsights(context.Background(), customer, time.Date(2026, 6, 20, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	var payees []string
	for _, c := range derived.Commitments {
		if c.Category == insights.CategoryRent {
			payees = append(payees, c.Payee)
		}
	}
	return payees
}

// pullAgain loads lines as a pull does and returns how many rows it found
// stored.
func pullAgain(t *testing.T, loader *ingest.Loader, customer string, lines []string) int {
	t.Helper()
	ctx := context.Background()
	payload, err := obie.Decoder{}.Decode("page.ndjson", []byte(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	ld, err := loader.Begin(ctx, customer, "pull:again")
	if err != nil {
		t.Fatal(err)
	}
	if err := ld.Add(ctx, payload); err != nil {
		t.Fatal(err)
	}
	res, err := ld.Commit(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	return res.Unchanged
}

func TestRecategorize_storedTransactionsFollowOverrides(t *testing.T) {
	engine := storetest.New(t)
	ctx := context.Background()
	s := &overrides.Store{Engine: engine}
	base := categorize.New()
	loader := &ingest.Loader{Engine: engine, CategorizerFor: s.CategorizerFor(base)}
	deriver := &derive.Deriver{Engine: engine}
	lines := append(monthlyRent("Burger Palace Ltd"), debitTo("W1", "Northern Water", "2026-03-02T09:00:00Z"))
	if _, err := loader.LoadFile(ctx, "c1", writeFeed(t, "first.ndjson", lines...)); err != nil {
		t.Fatal(err)
	}
	before := storedCategories(t, engine, "c1")
	if strings.Contains(strings.Join(before, "\n"), "housing.rent") {
		t.Fatalf("built-in rules already call the payments rent, so the test shows nothing: %q", before)
	}
	if got := rentCommitments(t, deriver, "c1"); len(got) != 0 {
		t.Fatalf("rent commitments before the override = %q, want none", got)
	}

	rent := categorize.Override{ID: "landlord", Counterparty: "Burger Palace Limited", Direction: categorize.Debits, Category: insights.CategoryRent}
	if _, err := s.Add(ctx, "c1", rent, "test"); err != nil {
		t.Fatal(err)
	}
	n, err := s.Recategorize(ctx, "c1", base, nil)
	if err != nil {
		t.Fatalf("Recategorize: %v", err)
	}
	if n != 6 {
		t.Errorf("Recategorize changed %d transactions, want the 6 rent payments", n)
	}
	after := storedCategories(t, engine, "c1")
	for _, row := range after {
		isRent := strings.HasPrefix(row, "R")
		if got := strings.HasSuffix(row, " housing.rent override:landlord"); got != isRent {
			t.Errorf("stored %q after Recategorize: override applied = %v, want %v", row, got, isRent)
		}
	}
	if after[len(after)-1] != before[len(before)-1] {
		t.Errorf("W1 changed from %q to %q, but no override covers it", before[len(before)-1], after[len(after)-1])
	}
	if got := rentCommitments(t, deriver, "c1"); len(got) != 1 {
		t.Errorf("rent commitments after the override = %q, want one", got)
	}

	// A second run finds nothing to change, and a new file with the same
	// transactions finds every row stored: the new versions carry the
	// content hash a load with the override computes.
	if n, err := s.Recategorize(ctx, "c1", base, nil); err != nil || n != 0 {
		t.Errorf("second Recategorize = %d, %v; want 0 changes", n, err)
	}
	if unchanged := pullAgain(t, loader, "c1", lines); unchanged != len(lines) {
		t.Errorf("pull after Recategorize: %d of %d rows unchanged, want all", unchanged, len(lines))
	}

	// Removing the override brings back the built-in decisions.
	if err := s.Remove(ctx, "c1", "landlord", "test"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Recategorize(ctx, "c1", base, nil); err != nil || n != 6 {
		t.Errorf("Recategorize after Remove = %d, %v; want 6 changes", n, err)
	}
	if got := storedCategories(t, engine, "c1"); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Errorf("stored after Remove:\n%s\nwant as before the override:\n%s", strings.Join(got, "\n"), strings.Join(before, "\n"))
	}
	if got := rentCommitments(t, deriver, "c1"); len(got) != 0 {
		t.Errorf("rent commitments after Remove = %q, want none", got)
	}
}

func TestRecategorize_otherCustomersUnchanged(t *testing.T) {
	engine := storetest.New(t)
	ctx := context.Background()
	s := &overrides.Store{Engine: engine}
	base := categorize.New()
	loader := &ingest.Loader{Engine: engine, CategorizerFor: s.CategorizerFor(base)}
	for _, customer := range []string{"c1", "c2"} {
		if _, err := loader.LoadFile(ctx, customer, writeFeed(t, customer+".ndjson", monthlyRent("Burger Palace Ltd")...)); err != nil {
			t.Fatal(err)
		}
	}
	before := storedCategories(t, engine, "c2")
	if _, err := s.Add(ctx, "c1", categorize.Override{ID: "landlord", Counterparty: "Burger Palace Ltd", Category: insights.CategoryRent}, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Recategorize(ctx, "c1", base, nil); err != nil {
		t.Fatal(err)
	}
	if got := storedCategories(t, engine, "c2"); strings.Join(got, "\n") != strings.Join(before, "\n") {
		t.Errorf("c2 stored %q after c1's override, want %q", got, before)
	}
	if n, err := s.Recategorize(ctx, "c2", base, nil); err != nil || n != 0 {
		t.Errorf("Recategorize of c2 without overrides = %d, %v; want 0", n, err)
	}
}

// The same round trip over clickhouse-go, whose scanning of column types
// differs from the embedded engine's.
func TestOverrides_overClickHouseServer(t *testing.T) {
	engine := storetest.NewServer(t, "")
	ctx := context.Background()
	s := &overrides.Store{Engine: engine}
	base := categorize.New()
	loader := &ingest.Loader{Engine: engine, CategorizerFor: s.CategorizerFor(base)}
	lines := monthlyRent("Burger Palace Ltd")
	if _, err := loader.LoadFile(ctx, "c1", writeFeed(t, "feed.ndjson", lines...)); err != nil {
		t.Fatal(err)
	}
	rent := categorize.Override{ID: "landlord", Counterparty: "Burger Palace Ltd", Direction: categorize.Debits, Category: insights.CategoryRent}
	if _, err := s.Add(ctx, "c1", rent, "test"); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Recategorize(ctx, "c1", base, nil); err != nil || n != len(lines) {
		t.Fatalf("Recategorize = %d, %v; want %d changes", n, err, len(lines))
	}
	if got := storedCategories(t, engine, "c1"); len(got) != len(lines) || got[0] != "R1 housing.rent override:landlord" {
		t.Errorf("stored %q, want every payment as housing.rent by override:landlord", got)
	}
	if unchanged := pullAgain(t, loader, "c1", lines); unchanged != len(lines) {
		t.Errorf("pull after Recategorize: %d of %d rows unchanged, want all", unchanged, len(lines))
	}
	if err := s.Remove(ctx, "c1", "landlord", "test"); err != nil {
		t.Fatal(err)
	}
	if list, err := s.List(ctx, "c1"); err != nil || len(list) != 0 {
		t.Errorf("List after Remove = %+v, %v; want none", list, err)
	}
}
