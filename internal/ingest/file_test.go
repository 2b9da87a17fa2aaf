package ingest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

const validLine = `{"Transaction":{"AccountId":"A1","TransactionId":"ok","CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-12-01T10:00:00Z","Amount":{"Amount":"1.00","Currency":"GBP"}}}`

// badLine returns validLine with old replaced by new.
func badLine(old, new string) string {
	if !strings.Contains(validLine, old) {
		panic("badLine: " + old + " not in validLine")
	}
	return strings.Replace(validLine, old, new, 1)
}

func TestLoadFile_badInput(t *testing.T) {
	tests := []struct {
		name   string
		line   string
		path   string
		reason string
	}{
		{"amount as number", badLine(`"Amount":"1.00"`, `"Amount":1.00`), "$.Transaction.Amount.Amount", "want string, got number"},
		{"account as object", badLine(`"AccountId":"A1"`, `"AccountId":{}`), "$.Transaction.AccountId", "want string, got object"},
		{"unknown status", badLine(`"Booked"`, `"Settled"`), "$.Transaction.Status", `invalid value "Settled"`},
		{"unknown indicator", badLine(`"Debit"`, `"DR"`), "$.Transaction.CreditDebitIndicator", `invalid value "DR"`},
		{"decimal comma", badLine(`"1.00"`, `"12,30"`), "$.Transaction.Amount.Amount", `invalid amount "12,30"`},
		{"exponent", badLine(`"1.00"`, `"1e3"`), "$.Transaction.Amount.Amount", `invalid amount "1e3"`},
		{"GBP three decimals", badLine(`"1.00"`, `"1.234"`), "$.Transaction.Amount.Amount", "GBP has 2 decimals"},
		{"JPY decimals", badLine(`"1.00","Currency":"GBP"`, `"1.50","Currency":"JPY"`), "$.Transaction.Amount.Amount", "JPY has 0 decimals"},
		{"negative debit", badLine(`"1.00"`, `"-5.00"`), "$.Transaction.Amount.Amount", "unsigned: CreditDebitIndicator carries the sign"},
		{"missing booking time", badLine(`"BookingDateTime":"2026-12-01T10:00:00Z",`, ``), "$.Transaction.BookingDateTime", "missing required field"},
		{"missing amount", badLine(`,"Amount":{"Amount":"1.00","Currency":"GBP"}`, ``), "$.Transaction.Amount", "missing required field"},
		{"date only", badLine(`2026-12-01T10:00:00Z`, `2026-12-01`), "$.Transaction.BookingDateTime", "invalid date-time"},
		{"offset without colon", badLine(`2026-12-01T10:00:00Z`, `2026-12-01T10:00:00+0100`), "$.Transaction.BookingDateTime", "invalid date-time"},
		{"invalid UTF-8", badLine(`"TransactionId":"ok"`, "\"TransactionId\":\"o\xffk\""), "$.Transaction.TransactionId", "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			engine := storetest.New(t)
			l := newLoader(t, engine)
			// The bad record is the third line: lines before it are staged
			// and must be dropped.
			data := strings.Join([]string{validLine, badLine(`"ok"`, `"ok2"`), tt.line, badLine(`"ok"`, `"ok3"`)}, "\n")
			_, err := l.LoadFile(context.Background(), "c1", writeTemp(t, "bad.ndjson", []byte(data)))

			var list *obie.ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error = %v, want an *obie.ErrorList", err)
			}
			if len(list.Errors) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(list.Errors), list)
			}
			e := list.Errors[0]
			if e.Line != 3 {
				t.Errorf("line = %d, want 3 (%v)", e.Line, e)
			}
			if e.Path != tt.path {
				t.Errorf("path = %q, want %q (%v)", e.Path, tt.path, e)
			}
			if !strings.Contains(e.Reason, tt.reason) {
				t.Errorf("reason = %q, want it to contain %q", e.Reason, tt.reason)
			}
			if got := mustCounts(t, l, "c1"); got != (Counts{}) {
				t.Errorf("counts = %+v, want nothing stored", got)
			}
			if n := stagedRows(t, engine); n != 0 {
				t.Errorf("staged rows = %d, want 0", n)
			}
		})
	}
}

func TestLoadFile_everyProblemListed(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	l.BatchSize = 1
	data := strings.Join([]string{
		validLine,
		badLine(`"1.00"`, `"12,30"`),
		badLine(`"ok"`, `"ok2"`),
		badLine(`"Booked"`, `"Settled"`),
		`{"Transaction":`,
	}, "\n")
	_, err := l.LoadFile(context.Background(), "c1", writeTemp(t, "bad.ndjson", []byte(data)))
	var list *obie.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v, want an *obie.ErrorList", err)
	}
	var lines []int
	for _, e := range list.Errors {
		lines = append(lines, e.Line)
	}
	if len(lines) != 3 || lines[0] != 2 || lines[1] != 4 || lines[2] != 5 {
		t.Errorf("error lines = %v, want [2 4 5]: %v", lines, list)
	}
	if n := stagedRows(t, engine); n != 0 {
		t.Errorf("staged rows = %d, want 0", n)
	}
}

func TestLoadFile_lineTooLong(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	long := badLine(`"AccountId":"A1"`, `"AccountId":"A1","Padding":"`+strings.Repeat("x", MaxLineSize)+`"`)
	data := validLine + "\n" + long + "\n" + validLine + "\n"
	_, err := l.LoadFile(context.Background(), "c1", writeTemp(t, "long.ndjson", []byte(data)))
	var list *obie.ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error = %v, want an *obie.ErrorList", err)
	}
	if len(list.Errors) != 1 || list.Errors[0].Line != 2 || !strings.Contains(list.Errors[0].Reason, "NDJSON line limit") {
		t.Errorf("errors = %v, want one on line 2 naming the line limit", list)
	}
	if got := mustCounts(t, l, "c1"); got != (Counts{}) {
		t.Errorf("counts = %+v, want nothing stored", got)
	}
}

func TestLoadFile_pageTooLarge(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	path := writeTemp(t, "page.json", nil)
	// A sparse file: its size exceeds the limit without writing 64 MiB.
	if err := os.Truncate(path, MaxPageSize+1); err != nil {
		t.Fatal(err)
	}
	_, err := l.LoadFile(context.Background(), "c1", path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "67108864 bytes") {
		t.Errorf("error = %v, want one naming the file and the 67108864-byte limit", err)
	}
}

func TestLoadFile_dateTimeForms(t *testing.T) {
	engine := storetest.New(t)
	l := newLoader(t, engine)
	forms := []struct{ sent, stored string }{
		{"2026-12-01T10:00:00Z", "2026-12-01 10:00:00.000"},
		{"2026-12-01T10:00:00.123Z", "2026-12-01 10:00:00.123"},
		{"2026-12-01T10:00:00+01:00", "2026-12-01 09:00:00.000"},
		// Without an offset the time is Europe/London: GMT in December,
		// BST (UTC+1) in July.
		{"2026-12-01T10:00:00", "2026-12-01 10:00:00.000"},
		{"2026-07-01T10:00:00.5", "2026-07-01 09:00:00.500"},
	}
	var lines []string
	for i, f := range forms {
		lines = append(lines, badLine(`"ok"`, `"f`+string(rune('0'+i))+`"`))
		lines[i] = strings.Replace(lines[i], "2026-12-01T10:00:00Z", f.sent, 1)
	}
	if _, err := l.LoadFile(context.Background(), "c1", writeTemp(t, "times.ndjson", []byte(strings.Join(lines, "\n")))); err != nil {
		t.Fatal(err)
	}
	got := queryStrings(t, engine, "SELECT toString(booking_time) FROM transactions FINAL ORDER BY transaction_id")
	if len(got) != len(forms) {
		t.Fatalf("stored %d rows, want %d", len(got), len(forms))
	}
	for i, f := range forms {
		if got[i] != f.stored {
			t.Errorf("%s stored as %s, want %s", f.sent, got[i], f.stored)
		}
	}
}

// cancelAfter cancels a context when it categorises its n-th transaction.
type cancelAfter struct {
	n, seen int
	cancel  context.CancelFunc
}

func (c *cancelAfter) Categorize(*insights.Transaction) {
	c.seen++
	if c.seen == c.n {
		c.cancel()
	}
}

// TestLoadFile_cancelledMidFile cancels a load after a few chunks of its
// file are staged: the load must end with the context's error, store
// nothing, and leave the file to load whole on the next try.
func TestLoadFile_cancelledMidFile(t *testing.T) {
	const n = 5000 // about five chunks of lines
	engine := storetest.New(t)
	path := filepath.Join(t.TempDir(), "feed.ndjson")
	writeFeed(t, path, n)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	l := newLoader(t, engine)
	l.Categorizer = &cancelAfter{n: 2500, cancel: cancel}
	if _, err := l.LoadFile(ctx, "c1", path); !errors.Is(err, context.Canceled) {
		t.Fatalf("LoadFile error = %v, want context.Canceled", err)
	}
	if got := mustCounts(t, l, "c1"); got != (Counts{}) {
		t.Errorf("counts after the cancelled load = %+v, want nothing stored", got)
	}

	l.Categorizer = nil
	if _, err := l.LoadFile(context.Background(), "c1", path); err != nil {
		t.Fatalf("LoadFile after the cancelled load: %v", err)
	}
	if got := mustCounts(t, l, "c1").Transactions; got != n {
		t.Errorf("transactions after the second load = %d, want %d", got, n)
	}
}
