package feeds

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

// quarantineRow is one row of the quarantine table.
type quarantineRow struct {
	Source, Path, Reason, Record string
}

func (e *env) quarantined(customer string) []quarantineRow {
	e.t.Helper()
	rows, err := e.engine.Query(context.Background(), `SELECT source, path, reason, record FROM quarantine
WHERE customer_id = {c:String} ORDER BY quarantined_at, path`, store.P("c", customer))
	if err != nil {
		e.t.Fatalf("read quarantine: %v", err)
	}
	defer rows.Close()
	var out []quarantineRow
	for rows.Next() {
		var q quarantineRow
		if err := rows.Scan(&q.Source, &q.Path, &q.Reason, &q.Record); err != nil {
			e.t.Fatalf("read quarantine: %v", err)
		}
		out = append(out, q)
	}
	return out
}

// storedTransaction counts the stored rows of one transaction id.
func (e *env) storedTransaction(customer, transactionID string) uint64 {
	e.t.Helper()
	rows, err := e.engine.Query(context.Background(), `SELECT count() FROM transactions
WHERE customer_id = {c:String} AND transaction_id = {id:String}`, store.P("c", customer), store.P("id", transactionID))
	if err != nil {
		e.t.Fatalf("count transaction: %v", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n); err != nil {
			e.t.Fatalf("count transaction: %v", err)
		}
	}
	return n
}

func incompleteWindows(res PullResult) int {
	n := 0
	for _, w := range res.Windows {
		if !w.Complete {
			n++
		}
	}
	return n
}

func TestRefresh_negativeDebitQuarantined(t *testing.T) {
	// The same customer linked without a fault gives the full count.
	control := newEnv(t)
	if _, err := control.link("alice"); err != nil {
		t.Fatalf("control link: %v", err)
	}
	full := control.counts("alice")

	e := newEnv(t)
	e.fault(`{"kind":"negative-debit","path":"/transactions","count":1}`)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link: %v", err)
	}
	row := e.only("alice")

	// The first pull keeps every transaction but the quarantined one.
	pulls := e.pulls(row.ConsentID)
	if len(pulls) != 1 || pulls[0].Outcome != OutcomeIncomplete {
		t.Fatalf("pulls = %+v, want one incomplete", pulls)
	}
	problems := strings.Join(pulls[0].Problems, "\n")
	if !strings.Contains(problems, "quarantined 1 record with a negative Amount beside Debit at pull:"+pulls[0].PullID) {
		t.Errorf("problems = %q, want the quarantine with its source", problems)
	}
	if strings.Contains(problems, "rejected") {
		t.Errorf("problems = %q, want no rejected page", problems)
	}
	if got := e.counts("alice"); got.Transactions != full.Transactions-1 || got.Accounts != full.Accounts {
		t.Errorf("stored %+v, want %+v less one transaction", got, full)
	}

	quarantined := e.quarantined("alice")
	if len(quarantined) != 1 {
		t.Fatalf("quarantine rows = %+v, want one", quarantined)
	}
	q := quarantined[0]
	if !strings.HasPrefix(q.Source, "pull:"+pulls[0].PullID+" ") || !strings.Contains(q.Source, "/transactions") {
		t.Errorf("source = %q, want the pull and the page's URL path", q.Source)
	}
	if !strings.HasPrefix(q.Path, "$.Data.Transaction[") {
		t.Errorf("path = %q, want a transaction record", q.Path)
	}
	if !strings.Contains(q.Reason, q.Path+`.Amount.Amount: invalid amount "-`) || !strings.Contains(q.Reason, "unsigned") {
		t.Errorf("reason = %q, want the amount's path and the unsigned rule", q.Reason)
	}
	var record struct {
		TransactionID        string `json:"TransactionId"`
		CreditDebitIndicator string
		Amount               struct{ Amount string }
	}
	if err := json.Unmarshal([]byte(q.Record), &record); err != nil {
		t.Fatalf("record %q is not JSON: %v", q.Record, err)
	}
	if record.TransactionID == "" || record.CreditDebitIndicator != "Debit" || !strings.HasPrefix(record.Amount.Amount, "-") {
		t.Errorf("record = %+v, want the transaction as sent, signed and Debit", record)
	}
	if n := e.storedTransaction("alice", record.TransactionID); n != 0 {
		t.Errorf("quarantined transaction stored %d times, want none", n)
	}
	if n := control.storedTransaction("alice", record.TransactionID); n != 1 {
		t.Fatalf("control stored transaction %d times, want once", n)
	}

	// A clean pull stores the entry the bank now sends unsigned.
	res, err := e.svc.Refresh(context.Background(), row.ConsentID)
	if err != nil || res.Outcome != OutcomeComplete {
		t.Fatalf("clean Refresh = %s %v, %v; want complete", res.Outcome, res.Problems, err)
	}
	if n := e.storedTransaction("alice", record.TransactionID); n != 1 {
		t.Errorf("transaction stored %d times after a clean pull, want once", n)
	}
	before, physicalBefore := e.counts("alice"), e.physical("alice")

	// Another negative debit loses nothing stored before.
	e.fault(`{"kind":"negative-debit","path":"/transactions","count":1}`)
	res, err = e.svc.Refresh(context.Background(), e.only("alice").ConsentID)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if res.Outcome != OutcomeIncomplete {
		t.Errorf("Outcome = %s, want incomplete", res.Outcome)
	}
	if got := incompleteWindows(res); got != 1 {
		t.Errorf("windows %+v, want exactly one incomplete", res.Windows)
	}
	if !strings.Contains(strings.Join(res.Problems, "\n"), "quarantined 1 record") {
		t.Errorf("Problems = %q, want the quarantine", res.Problems)
	}
	after := e.counts("alice")
	after.Loads = before.Loads // every pull adds a load
	if after != before {
		t.Errorf("stored %+v after the quarantine, want %+v", after, before)
	}
	if got := e.physical("alice"); got != physicalBefore {
		t.Errorf("physical transaction rows %d, want %d", got, physicalBefore)
	}
	if got := len(e.quarantined("alice")); got != 2 {
		t.Errorf("quarantine rows = %d, want 2", got)
	}
}
