package feeds

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/feeds/orders"
	"github.com/openbanking-insights/insights/internal/store"
)

// aliceAccount is the AccountId of alice's current account in
// testdata/sample.
const aliceAccount = "9f29d8af-a4b3-358c-405a-82ba632b6855"

const aliceStandingOrders = `{"Data": {"StandingOrder": [
  {"AccountId": "` + aliceAccount + `", "StandingOrderId": "SO-RENT", "Frequency": "IntrvlMnthDay:01:01",
   "Reference": "FLAT 2 RENT", "StandingOrderStatusCode": "Active",
   "FirstPaymentDateTime": "2025-01-01T00:00:00+00:00", "NextPaymentDateTime": "2026-08-01T00:00:00+01:00",
   "NextPaymentAmount": {"Amount": "895.00", "Currency": "GBP"},
   "CreditorAccount": {"SchemeName": "UK.OBIE.SortCodeAccountNumber", "Identification": "40123412345678", "Name": "HOLBECK LETTINGS LTD"}},
  {"AccountId": "` + aliceAccount + `", "StandingOrderId": "SO-GYM", "Frequency": "IntrvlWkDay:01:05",
   "Reference": "GYM", "StandingOrderStatusCode": "Active",
   "NextPaymentDateTime": "2026-07-03T00:00:00+01:00", "NextPaymentAmount": {"Amount": "12.50", "Currency": "GBP"},
   "LastPaymentDateTime": "2026-06-26T00:00:00+01:00", "LastPaymentAmount": {"Amount": "12.50", "Currency": "GBP"}}
]}, "Links": {"Self": "https://bank.example/open-banking/v3.1/aisp/standing-orders"}, "Meta": {"TotalPages": 1}}`

const aliceDirectDebits = `{"Data": {"DirectDebit": [
  {"AccountId": "` + aliceAccount + `", "DirectDebitId": "DD-VM", "MandateIdentification": "VM-778812",
   "DirectDebitStatusCode": "Active", "Name": "VIRGIN MEDIA",
   "PreviousPaymentDateTime": "2026-06-02T00:00:00+01:00", "PreviousPaymentAmount": {"Amount": "42.00", "Currency": "GBP"}}
]}, "Links": {"Self": "https://bank.example/open-banking/v3.1/aisp/direct-debits"}, "Meta": {"TotalPages": 1}}`

// ordersData writes a bank data directory holding alice from
// testdata/sample with the given optional files, by name.
func ordersData(t *testing.T, extra map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "alice")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"accounts.json", "balances.json", "party.json", "transactions.ndjson"} {
		data, err := os.ReadFile(filepath.Join("../../testdata/sample/alice", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Dir(dir)
}

func (e *env) cancelOrder(resource, id string) {
	e.t.Helper()
	body := `{"customer":"alice","resource":"` + resource + `","id":"` + id + `"}`
	resp, err := http.Post(e.bankSrv.URL+"/admin/cancel-order", "application/json", strings.NewReader(body))
	if err != nil {
		e.t.Fatalf("POST /admin/cancel-order: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(resp.Body)
		e.t.Fatalf("POST /admin/cancel-order %s: status %d: %s", body, resp.StatusCode, msg)
	}
}

func (e *env) currentOrders() map[string]orders.Order {
	e.t.Helper()
	list, err := orders.Current(context.Background(), e.engine, "alice")
	if err != nil {
		e.t.Fatalf("current orders: %v", err)
	}
	out := map[string]orders.Order{}
	for _, o := range list {
		out[o.OrderID] = o
	}
	return out
}

func (e *env) countRows(query string) uint64 {
	e.t.Helper()
	rows, err := e.engine.Query(context.Background(), query, store.P("c", "alice"))
	if err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			e.t.Fatalf("%s: %v", query, err)
		}
	}
	return n
}

func TestRefresh_cancelledStandingOrderRemoved(t *testing.T) {
	e := newEnvData(t, ordersData(t, map[string]string{
		"standing-orders.json": aliceStandingOrders, "direct-debits.json": aliceDirectDebits}))
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	consentID := e.only("alice").ConsentID

	// The first pull stores both standing orders and the direct debit.
	got := e.currentOrders()
	if len(got) != 3 {
		t.Fatalf("current orders = %v, want SO-RENT, SO-GYM and DD-VM", got)
	}
	rent := got["SO-RENT"]
	if rent.Kind != orders.KindStandingOrder || rent.Status != orders.StatusActive || rent.Payee != "HOLBECK LETTINGS LTD" ||
		rent.Cadence != insights.CadenceMonthly || rent.NextAmount.String() != "895.00000" || rent.Currency != "GBP" ||
		rent.NextPayment.Format("2006-01-02T15:04") != "2026-07-31T23:00" {
		t.Errorf("SO-RENT = %+v", rent)
	}
	if gym := got["SO-GYM"]; gym.Cadence != insights.CadenceWeekly || gym.Payee != "GYM" || gym.LastAmount.String() != "12.50000" {
		t.Errorf("SO-GYM = %+v, want weekly, paid to the reference GYM", gym)
	}
	if dd := got["DD-VM"]; dd.Kind != orders.KindDirectDebit || dd.Payee != "VIRGIN MEDIA" || dd.Reference != "VM-778812" ||
		dd.LastAmount.String() != "42.00000" {
		t.Errorf("DD-VM = %+v", dd)
	}

	// The customer cancels the gym order at the bank; the next pull
	// leaves it out of current views and keeps it in the history.
	e.cancelOrder("standing-orders", "SO-GYM")
	res, err := e.svc.Refresh(context.Background(), consentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.PaymentOrders != 2 {
		t.Errorf("PaymentOrders = %d, want 2", res.PaymentOrders)
	}
	got = e.currentOrders()
	if _, ok := got["SO-GYM"]; ok || len(got) != 2 {
		t.Errorf("current orders after cancelling SO-GYM = %v, want SO-RENT and DD-VM", got)
	}
	stored := e.countRows(`SELECT toUInt64(count()) FROM payment_orders WHERE customer_id = {c:String} AND order_id = 'SO-GYM'`)
	if stored != 1 {
		t.Errorf("stored SO-GYM rows = %d, want 1 kept as history", stored)
	}

	// A pull that finds nothing changed adds no snapshot.
	snapshots := e.countRows(`SELECT toUInt64(count()) FROM payment_order_snapshots WHERE customer_id = {c:String}`)
	if snapshots != 3 {
		t.Errorf("snapshots = %d, want 3: standing orders twice, direct debits once", snapshots)
	}
	if _, err := e.svc.Refresh(context.Background(), consentID); err != nil {
		t.Fatalf("third Refresh: %v", err)
	}
	if again := e.countRows(`SELECT toUInt64(count()) FROM payment_order_snapshots WHERE customer_id = {c:String}`); again != snapshots {
		t.Errorf("snapshots after an unchanged pull = %d, want %d", again, snapshots)
	}

	// Cancelling the last standing order empties the current list.
	e.cancelOrder("standing-orders", "SO-RENT")
	if _, err := e.svc.Refresh(context.Background(), consentID); err != nil {
		t.Fatalf("fourth Refresh: %v", err)
	}
	if got = e.currentOrders(); len(got) != 1 || got["DD-VM"].OrderID == "" {
		t.Errorf("current orders = %v, want only DD-VM", got)
	}
}

func TestRefresh_incompleteOrderReadKeepsStored(t *testing.T) {
	e := newEnvData(t, ordersData(t, map[string]string{"standing-orders.json": aliceStandingOrders}))
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	consentID := e.only("alice").ConsentID
	e.cancelOrder("standing-orders", "SO-GYM")

	// The standing orders page arrives cut short: the read is incomplete,
	// so the cancelled order is not taken out, and nothing is lost.
	e.fault(`{"kind":"malformed","path":"/standing-orders","count":1}`)
	res, err := e.svc.Refresh(context.Background(), consentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.Outcome != OutcomeIncomplete {
		t.Errorf("outcome = %s, want incomplete", res.Outcome)
	}
	if got := e.currentOrders(); len(got) != 2 {
		t.Errorf("current orders = %v, want both standing orders of the first pull", got)
	}
}

func TestRefresh_invalidStandingOrderRejected(t *testing.T) {
	bad := strings.Replace(aliceStandingOrders, `"IntrvlWkDay:01:05"`, `"WkinMnthDay(2)"`, 1)
	e := newEnvData(t, ordersData(t, map[string]string{"standing-orders.json": bad, "direct-debits.json": aliceDirectDebits}))
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	consentID := e.only("alice").ConsentID

	pulls := e.pulls(consentID)
	if len(pulls) != 1 || pulls[0].Outcome != OutcomeIncomplete {
		t.Fatalf("pulls = %+v, want one incomplete", pulls)
	}
	problems := strings.Join(pulls[0].Problems, "\n")
	want := `$.Data.StandingOrder[1].Frequency: invalid frequency "WkinMnthDay(2)"`
	if !strings.Contains(problems, want) {
		t.Errorf("problems = %q, want %q", problems, want)
	}
	if !strings.Contains(problems, "/accounts/"+aliceAccount+"/standing-orders") {
		t.Errorf("problems = %q, want the page's URL path", problems)
	}

	// The whole page is rejected, and the direct debits still stored.
	got := e.currentOrders()
	if len(got) != 1 || got["DD-VM"].OrderID == "" {
		t.Errorf("current orders = %v, want only DD-VM", got)
	}
	if n := e.countRows(`SELECT toUInt64(count()) FROM payment_orders WHERE customer_id = {c:String} AND kind = 'standing_order'`); n != 0 {
		t.Errorf("stored standing orders = %d, want 0", n)
	}
}
