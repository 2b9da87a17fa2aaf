package derive

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestRefreshInsights_paymentOrders(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New(),
		Now: func() time.Time { return mustTime(t, "2026-11-30T06:00:00Z") }}
	for _, name := range []string{"accounts.json", "balances.json", "party.json", "transactions.ndjson"} {
		if _, err := loader.LoadFile(ctx, "alice", filepath.Join("../../testdata/sample/alice", name)); err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
	}
	const account = "9f29d8af-a4b3-358c-405a-82ba632b6855"
	rent := orders.Order{AccountID: account, Kind: orders.KindStandingOrder, OrderID: "SO-RENT", Status: orders.StatusActive,
		Payee: "HOLBECK LETTINGS LTD", Reference: "FLAT 2", Cadence: insights.CadenceMonthly,
		NextPayment: mustTime(t, "2026-12-01T00:00:00Z"), NextAmount: mustAmount(t, "895.00"), Currency: "GBP"}
	gym := orders.Order{AccountID: account, Kind: orders.KindStandingOrder, OrderID: "SO-GYM", Status: orders.StatusActive,
		Payee: "PULSE GYM LEEDS", Reference: "MEMBER 4471", Cadence: insights.CadenceMonthly,
		NextPayment: mustTime(t, "2026-12-05T00:00:00Z"), NextAmount: mustAmount(t, "29.99"), Currency: "GBP"}
	mobile := orders.Order{AccountID: account, Kind: orders.KindDirectDebit, OrderID: "DD-EE", Status: orders.StatusActive,
		Payee: "EE LIMITED", Reference: "EE-1234", LastAmount: mustAmount(t, "25.50"), Currency: "GBP"}
	inactive := orders.Order{AccountID: account, Kind: orders.KindDirectDebit, OrderID: "DD-OLD", Status: orders.StatusInactive,
		Payee: "OLD PHONE CO", Reference: "OLD-1", LastAmount: mustAmount(t, "9.00"), Currency: "GBP"}
	write := func(kind string, list ...orders.Order) {
		t.Helper()
		snaps := orders.Group("alice", "test", kind, []string{account}, list)
		if _, err := orders.Write(ctx, e, snaps[0], time.Now()); err != nil {
			t.Fatalf("write %s snapshot: %v", kind, err)
		}
	}
	write(orders.KindStandingOrder, rent, gym)
	write(orders.KindDirectDebit, mobile, inactive)

	d := &Deriver{Engine: e}
	derived, err := d.RefreshInsights(ctx, "alice", mustTime(t, "2026-11-30T12:00:00Z"))
	if err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	byPayee := map[string]categorize.Commitment{}
	for _, c := range derived.Commitments {
		byPayee[c.Payee] = c
	}

	// The rent detected from transactions is confirmed by its standing order.
	if c := byPayee["HOLBECK LETTINGS LTD"]; c.Rule != "commitment:listed-standing-order" || c.PaymentType != "standing_order" || c.Payments == 0 {
		t.Errorf("rent commitment = %+v, want the detected one confirmed by the standing order", c)
	}
	// The gym order has no payment yet and is added as it stands.
	c, ok := byPayee["PULSE GYM LEEDS"]
	if !ok {
		t.Fatalf("commitments %v lack the gym standing order", derived.Commitments)
	}
	if c.Payments != 0 || c.Cadence != insights.CadenceMonthly || c.NextExpected != mustDate(t, "2026-12-05") ||
		c.TypicalAmount != mustAmount(t, "29.99") || c.Confidence == 0 {
		t.Errorf("gym commitment = %+v", c)
	}
	// The EE mandate confirms the detected direct debit; the inactive one
	// adds nothing.
	confirmed := false
	for _, c := range derived.Commitments {
		if c.Rule == "commitment:listed-direct-debit" && c.Payments > 0 {
			confirmed = true
		}
		if c.Payee == "OLD PHONE CO" {
			t.Errorf("inactive mandate counted: %+v", c)
		}
	}
	if !confirmed {
		t.Errorf("commitments %+v: want the EE direct debit confirmed by its mandate", derived.Commitments)
	}

	// Deriving again from the same data stores no new set, so a
	// commitment with no payment yet reads back as derived.
	sets := func() uint64 {
		t.Helper()
		rows, err := e.Query(ctx, `SELECT toUInt64(uniqExact(derived_at)) FROM commitments WHERE customer_id = 'alice'`)
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
	before := sets()
	if _, err := d.RefreshInsights(ctx, "alice", mustTime(t, "2026-11-30T12:30:00Z")); err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	if after := sets(); after != before {
		t.Errorf("commitment sets = %d after an unchanged derivation, want %d", after, before)
	}

	// Once the gym order is cancelled, the next derivation drops it.
	write(orders.KindStandingOrder, rent)
	derived, err = d.RefreshInsights(ctx, "alice", mustTime(t, "2026-11-30T13:00:00Z"))
	if err != nil {
		t.Fatalf("RefreshInsights: %v", err)
	}
	stored, err := d.Commitments(ctx, "alice")
	if err != nil {
		t.Fatalf("Commitments: %v", err)
	}
	for _, c := range stored {
		if c.Payee == "PULSE GYM LEEDS" {
			t.Errorf("stored commitments still hold the cancelled gym order: %+v", c)
		}
	}
	if len(stored) != len(derived.Commitments) {
		t.Errorf("stored %d commitments, derived %d", len(stored), len(derived.Commitments))
	}
}
