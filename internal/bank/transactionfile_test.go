package bank

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

// writeIvyWith writes a data folder with customer "ivy": the accounts,
// balances and party of testdata/edge/ivy and the given transactions.ndjson
// text. It returns the data folder and the file's path.
func writeIvyWith(t *testing.T, transactions string) (dataDir, file string) {
	t.Helper()
	dataDir = t.TempDir()
	dir := filepath.Join(dataDir, "ivy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{fileAccounts, fileBalances, fileParty} {
		data, err := os.ReadFile(filepath.Join(edgeDir, "ivy", name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file = filepath.Join(dir, fileTransactions)
	if err := os.WriteFile(file, []byte(transactions), 0o644); err != nil {
		t.Fatal(err)
	}
	return dataDir, file
}

// TestTransactions_pagesReadFromFileLines pins that each served entry is
// the Transaction object of its own line, whatever the line breaks, the
// multi-byte characters before it and the file order.
func TestTransactions_pagesReadFromFileLines(t *testing.T) {
	entries := []string{
		`{"Transaction":{"AccountId":"` + ivyCard + `","TransactionId":"C1","Amount":{"Amount":"5.00","Currency":"GBP"},"CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-03-02T10:00:00Z","TransactionInformation":"CAFÉ 東京 £5"}}`,
		`{"Transaction":{"AccountId":"` + ivyCurrent + `","TransactionId":"A1","Amount":{"Amount":"1.00","Currency":"GBP"},"CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2026-03-01T09:00:00Z","TransactionInformation":"ZAHLUNG ÜBER €1"}}`,
		`{"Transaction":{"AccountId":"` + ivyCurrent + `","TransactionId":"A2","Amount":{"Amount":"2.50","Currency":"GBP"},"CreditDebitIndicator":"Debit","Status":"Pending","BookingDateTime":"2026-03-03T09:00:00Z","TransactionInformation":"PLAIN"}}`,
		`{"Transaction":{"AccountId":"` + ivyCard + `","TransactionId":"C2","Amount":{"Amount":"7.25","Currency":"GBP"},"CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2026-02-28T23:30:00Z","TransactionInformation":"REFUND"}}`,
		`{"Transaction":{"AccountId":"` + ivyCurrent + `","TransactionId":"A3","Amount":{"Amount":"3.00","Currency":"GBP"},"CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-03-01T09:00:00Z","TransactionInformation":"LAST LINE"}}`,
	}
	// CRLF and LF breaks mixed, a blank line, and no break after the last line.
	text := entries[0] + "\r\n" + entries[1] + "\n\n" + entries[2] + "\r\n" + entries[3] + "\n" + entries[4]
	want := map[string]map[string]any{}
	for _, line := range entries {
		var obj struct{ Transaction map[string]any }
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			t.Fatal(err)
		}
		want[obj.Transaction["TransactionId"].(string)] = obj.Transaction
	}

	dataDir, _ := writeIvyWith(t, text)
	h := newHarness(t, dataDir, func(o *Options) { o.PageSize = 2 })
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, "")

	var served []map[string]any
	next := aispPrefix + "/transactions"
	for pages := 0; next != ""; pages++ {
		if pages > 10 {
			t.Fatal("more than 10 pages, want 3")
		}
		resp, body := h.do(http.MethodGet, next, nil, fapiHeader(access))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: status %d, body %.300s", next, resp.StatusCode, body)
		}
		p := decodePage(t, body)
		served = append(served, p.Data["Transaction"]...)
		next = strings.TrimPrefix(p.Links.Next, h.srv.URL)
	}

	var ids []string
	for _, tx := range served {
		id, _ := tx["TransactionId"].(string)
		ids = append(ids, id)
		if !reflect.DeepEqual(tx, want[id]) {
			t.Errorf("served %s = %v, want its line %v", id, tx, want[id])
		}
	}
	if got, wantOrder := strings.Join(ids, ","), "C2,A1,A3,C1,A2"; got != wantOrder {
		t.Errorf("served order = %s, want %s (booking time, then TransactionId)", got, wantOrder)
	}
}

// TestTransactions_fileChangedAfterLoad pins that a bank whose
// transactions.ndjson was rewritten after loading returns an error for a
// transaction read instead of serving other lines than it indexed.
func TestTransactions_fileChangedAfterLoad(t *testing.T) {
	line := `{"Transaction":{"AccountId":"` + ivyCurrent + `","TransactionId":"A1","Amount":{"Amount":"1.00","Currency":"GBP"},"CreditDebitIndicator":"Credit","Status":"Booked","BookingDateTime":"2026-03-01T09:00:00Z","TransactionInformation":"FIRST"}}` + "\n"
	dataDir, file := writeIvyWith(t, line)
	h := newHarness(t, dataDir, nil)
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, "")

	if resp, body := h.get(access, "/transactions"); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /transactions before the change: status %d, body %.300s", resp.StatusCode, body)
	}
	if err := os.WriteFile(file, []byte(strings.Replace(line, "FIRST", "OTHER TEXT", 1)), 0o644); err != nil {
		t.Fatal(err)
	}

	resp, body := h.get(access, "/transactions")
	if resp.StatusCode != http.StatusInternalServerError {
		t.Fatalf("GET /transactions after the change: status %d, want 500; body %.300s", resp.StatusCode, body)
	}
	if e := decodeError(t, body); len(e.Errors) != 1 || e.Errors[0].ErrorCode != codeUnexpectedError {
		t.Errorf("error body = %+v, want one %s", e, codeUnexpectedError)
	}
	if resp, body := h.get(access, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("GET /accounts after the change: status %d, want 200; body %.300s", resp.StatusCode, body)
	}
}

// TestReadTransactions_keepsNoLines checks that the entries the bank keeps
// for a file do not hold on to its lines: the decoder's strings share the
// text of the whole line, and a 10M-line file kept that way needed about
// 5 GB more.
func TestReadTransactions_keepsNoLines(t *testing.T) {
	const n = 20000
	description := strings.Repeat("CARD PAYMENT TO A SHOP WITH A LONG NAME ", 10)
	var text strings.Builder
	for i := range n {
		fmt.Fprintf(&text, `{"Transaction":{"AccountId":"%s","TransactionId":"T%07d","Amount":{"Amount":"1.00","Currency":"GBP"},"CreditDebitIndicator":"Debit","Status":"Booked","BookingDateTime":"2026-03-01T09:00:00Z","TransactionInformation":"%s"}}`+"\n",
			ivyCurrent, i, description)
	}
	lineSize := text.Len() / n
	_, file := writeIvyWith(t, text.String())
	text.Reset()

	dec := obie.Decoder{Local: obie.London, Now: time.Now}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, f, _, err := readTransactions(dec, file, map[string]bool{ivyCurrent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer f.file.Close()
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(out) != n {
		t.Fatalf("read %d transactions, want %d", len(out), n)
	}
	perEntry := (int64(after.HeapAlloc) - int64(before.HeapAlloc)) / n
	// An entry is a pointer, the struct and its ID: about 100 bytes.
	if perEntry > int64(lineSize)/2 {
		t.Errorf("entries take %d bytes each on the heap, lines are %d bytes: they keep their lines", perEntry, lineSize)
	}
	runtime.KeepAlive(out)
}
