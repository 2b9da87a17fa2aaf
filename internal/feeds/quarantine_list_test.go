package feeds

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestListQuarantine_states(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	e.fault(`{"kind":"negative-debit","customer":"alice","path":"/transactions","count":1}`)
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link alice: %v", err)
	}
	if _, err := e.link("bob"); err != nil {
		t.Fatalf("link bob: %v", err)
	}

	// The quarantined record is open, with its id and signed amount.
	open, err := ListQuarantine(ctx, e.engine, QuarantineFilter{})
	if err != nil {
		t.Fatalf("ListQuarantine: %v", err)
	}
	if len(open) != 1 {
		t.Fatalf("open entries = %+v, want one", open)
	}
	q := open[0]
	if q.CustomerID != "alice" || q.State != QuarantineOpen || q.TransactionID == "" || q.Key != q.TransactionID {
		t.Errorf("entry = %+v, want alice's open record keyed by its TransactionId", q)
	}
	if !strings.HasPrefix(q.Amount, "-") || q.Indicator != "Debit" || q.Currency != "GBP" {
		t.Errorf("amount = %q %q %q, want the signed amount beside Debit", q.Amount, q.Currency, q.Indicator)
	}
	if !strings.HasPrefix(q.Path, "$.Data.Transaction[") || !strings.Contains(q.Reason, "unsigned") || q.QuarantinedAt.IsZero() {
		t.Errorf("entry = %+v, want the path, the reason and the time", q)
	}
	if bob, err := ListQuarantine(ctx, e.engine, QuarantineFilter{CustomerID: "bob", All: true}); err != nil || len(bob) != 0 {
		t.Errorf("bob's entries = %+v, %v; want none", bob, err)
	}

	// A clean pull stores the record the bank now sends unsigned.
	if _, err := e.svc.Refresh(ctx, e.only("alice").ConsentID); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if open, err = ListQuarantine(ctx, e.engine, QuarantineFilter{CustomerID: "alice"}); err != nil || len(open) != 0 {
		t.Errorf("open entries after a clean pull = %+v, %v; want none", open, err)
	}
	all, err := ListQuarantine(ctx, e.engine, QuarantineFilter{CustomerID: "alice", All: true})
	if err != nil || len(all) != 1 || all[0].State != QuarantineStored {
		t.Errorf("all entries = %+v, %v; want one stored", all, err)
	}

	// A dismissal wins over the stored state and is counted.
	n, err := DismissQuarantine(ctx, e.engine, "alice", q.Key, "ops@example", "bank resent it", time.Now())
	if err != nil || n != 1 {
		t.Fatalf("DismissQuarantine = %d, %v; want 1", n, err)
	}
	counts, err := CountQuarantine(ctx, e.engine, "")
	if err != nil {
		t.Fatalf("CountQuarantine: %v", err)
	}
	if counts != (QuarantineCounts{Dismissed: 1}) {
		t.Errorf("counts = %+v, want one dismissed", counts)
	}
	if _, err := DismissQuarantine(ctx, e.engine, "bob", q.Key, "ops@example", "", time.Now()); !errors.Is(err, ErrNoQuarantinedRecord) {
		t.Errorf("dismiss another customer's key: %v, want ErrNoQuarantinedRecord", err)
	}
}
