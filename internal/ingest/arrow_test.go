package ingest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// TestLoad_lowCardinalityValuesStored stages LowCardinality columns with
// more distinct values a batch than lowCardColumn keeps as recent, the
// empty string among them, over batches that each start a new
// dictionary. Each row must store the values the feed sent.
func TestLoad_lowCardinalityValuesStored(t *testing.T) {
	engine := storetest.New(t)
	cat := categorize.New()
	l := &Loader{Engine: engine, Categorizer: cat, BatchSize: 7}

	mccs := []string{"", "5411", "5812", "4111", "5999", "6011"}
	codes := []string{"", "CARD", "DD", "SO", "FPS"}
	var lines []string
	for i := range 20 {
		status, indicator := "Booked", "Debit"
		if i%3 == 1 {
			status = "Pending"
		}
		if i%4 == 3 {
			indicator = "Credit"
		}
		currency := "GBP"
		if i%5 == 4 {
			currency = "EUR"
		}
		var extra []string
		if mcc := mccs[i%len(mccs)]; mcc != "" {
			extra = append(extra, fmt.Sprintf(`"MerchantDetails":{"MerchantName":"SHOP %d","MerchantCategoryCode":%q}`, i%4, mcc))
		}
		if i%2 == 0 {
			extra = append(extra, `"BankTransactionCode":{"Code":"IssuedDirectDebits","SubCode":"DirectDebitPayment"}`)
		}
		if code := codes[i%len(codes)]; code != "" {
			issuer := "Bank"
			if i%3 == 0 {
				issuer = "Other"
			}
			extra = append(extra, fmt.Sprintf(`"ProprietaryBankTransactionCode":{"Code":%q,"Issuer":%q}`, code, issuer))
		}
		lines = append(lines, fmt.Sprintf(`{"Transaction":{"AccountId":"A1","TransactionId":"T%02d","CreditDebitIndicator":%q,`+
			`"Status":%q,"BookingDateTime":"2026-03-%02dT10:00:00Z","Amount":{"Amount":"%d.00","Currency":%q},`+
			`"TransactionInformation":"PAYMENT %d"%s}}`,
			i, indicator, status, 1+i, 1+i, currency, i, strings.Join(append([]string{""}, extra...), ",")))
	}
	pull(t, l, "c1", "lowcard.ndjson", nil, lines...)

	// What the service stores for each transaction, decided from the feed.
	var want []string
	for _, wire := range decodePayload(t, lines...).Transactions {
		tx, err := wire.ToDomain("c1", time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		cat.Categorize(&tx)
		if tx.Category == "" {
			tx.Category = insights.CategoryUncategorized
		}
		want = append(want, strings.Join([]string{tx.TransactionID, string(tx.Status), tx.Currency, tx.MCC,
			tx.BankTransactionCode, tx.BankTransactionSubCode, tx.ProprietaryCode, tx.ProprietaryIssuer,
			string(tx.Category), tx.CategoryRule}, "|"))
	}
	got := queryStrings(t, engine, `SELECT arrayStringConcat([transaction_id, status, currency, mcc,
    bank_tx_code, bank_tx_subcode, proprietary_code, proprietary_issuer, category, category_rule], '|')
FROM transactions FINAL ORDER BY transaction_id`)
	if len(got) != len(want) {
		t.Fatalf("stored %d transactions, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("row %d stored as\n  %s\nwant\n  %s", i, got[i], want[i])
		}
	}
}

// TestLowCardColumn_batches appends values to one column over two
// batches. Each batch must hold its values in order, in a dictionary of
// its own distinct values only.
func TestLowCardColumn_batches(t *testing.T) {
	b := newRowBuilder(transactionsTable.schema(true))
	defer b.Release()
	col := -1
	for i, f := range b.Schema().Fields() {
		if f.Name == "mcc" {
			col = i
		}
	}
	batches := [][]string{
		{"a", "b", "", "c", "d", "e", "a", "e", "", "b"},
		{"e", "f", "e", ""},
	}
	for n, values := range batches {
		for _, v := range values {
			appendLowCard(b, col, v)
		}
		// A batch needs as many rows in every column.
		for i, f := range b.Fields() {
			if i != col {
				for range values {
					f.AppendEmptyValue()
				}
			}
		}
		rec := b.newBatch()
		d := rec.Column(col).(*array.Dictionary)
		dict := d.Dictionary().(*array.String)
		var got []string
		for i := range d.Len() {
			got = append(got, dict.Value(d.GetValueIndex(i)))
		}
		distinct := map[string]bool{}
		for _, v := range values {
			distinct[v] = true
		}
		if !slices.Equal(got, values) {
			t.Errorf("batch %d holds %q, want %q", n, got, values)
		}
		if dict.Len() != len(distinct) {
			t.Errorf("batch %d has a dictionary of %d values, want its %d distinct values", n, dict.Len(), len(distinct))
		}
		rec.Release()
	}
}
