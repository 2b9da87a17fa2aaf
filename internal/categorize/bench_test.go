package categorize

import (
	"fmt"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// benchMix is a day of a UK current account as the demo feed has it: mostly
// card payments with an MCC, then direct debits, standing orders, transfers
// and credits whose category comes from words.
var benchMix = []tx{
	{amount: "-42.10", counterparty: "TESCO STORES 3297", description: "CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR", mcc: "5411",
		code: "CustomerCardTransactions", subCode: "PointOfSalePaymentDebitCard", proprietary: "POS"},
	{amount: "-6.49", counterparty: "MCDONALDS 1123", description: "CARD PAYMENT TO MCDONALDS 1123", mcc: "5814",
		code: "PMNT-CCRD-POSD"},
	{amount: "-2.80", counterparty: "TFL TRAVEL CH", description: "POS 01MAR26 TFL TRAVEL CH", mcc: "4111",
		code: "CustomerCardTransactions", subCode: "PointOfSalePaymentDebitCard"},
	{amount: "-18.00", counterparty: "THE LANDLORD ARMS", mcc: "5813", code: "PMNT-CCRD-POSD"},
	{amount: "-10.99", counterparty: "NETFLIX.COM", mcc: "4899", proprietary: "DEB"},
	{amount: "-34.50", counterparty: "ARGOS LTD", mcc: "5311", code: "PMNT-CCRD-POSD"},
	{amount: "-80.00", counterparty: "BRITISH GAS", description: "DD BRITISH GAS 850012345678",
		code: "IssuedDirectDebits", subCode: "DirectDebitPayment", proprietary: "DD"},
	{amount: "-950.00", counterparty: "MCDONALDS PROPERTY LTD", description: "SO MCDONALDS PROPERTY LTD RENT",
		code: "IssuedCreditTransfer", subCode: "StandingOrder", proprietary: "SO"},
	{amount: "-150.00", description: "TO SAVINGS ACCOUNT", code: "PMNT-ICDT-DMCT"},
	{amount: "2384.17", counterparty: "ACME LOGISTICS LTD", description: "ACME LOGISTICS LTD SALARY",
		code: "ReceivedCreditTransfer", subCode: "DomesticCreditTransfer", proprietary: "BGC"},
}

// BenchmarkCategorize measures categorisation on one core over benchMix,
// with the transactions built before the timer starts.
func BenchmarkCategorize(b *testing.B) {
	txs := make([]insights.Transaction, len(benchMix))
	for i, x := range benchMix {
		txs[i] = x.transaction()
	}
	c := New()

	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	start := time.Now()
	for b.Loop() {
		c.Categorize(&txs[n%len(txs)])
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tx/s")
}

// BenchmarkCategorize_cardOnly measures the fast path: card payments with
// an MCC, which need no text.
func BenchmarkCategorize_cardOnly(b *testing.B) {
	txs := make([]insights.Transaction, 0, 6)
	for _, x := range benchMix[:6] {
		txs = append(txs, x.transaction())
	}
	c := New()

	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	start := time.Now()
	for b.Loop() {
		c.Categorize(&txs[n%len(txs)])
		n++
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "tx/s")
}

// BenchmarkCategorize_parallel measures the same mix on every core
// GOMAXPROCS allows.
func BenchmarkCategorize_parallel(b *testing.B) {
	c := New()
	b.ReportAllocs()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		txs := make([]insights.Transaction, len(benchMix))
		for i, x := range benchMix {
			txs[i] = x.transaction()
		}
		for n := 0; pb.Next(); n++ {
			c.Categorize(&txs[n%len(txs)])
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tx/s")
}

// twoYears returns two years of one customer's history: a monthly salary,
// a weekly side job, 40 one-off payers, monthly direct debits and 1,400
// card payments.
func twoYears() []insights.Transaction {
	var txs []insights.Transaction
	start := date("2024-12-06")
	for i := 0; i < 104; i++ {
		txs = append(txs, credits("WEEKLY LTD", "WAGES", "400.00", start.AddDays(7*i).String())...)
	}
	for i := 0; i < 24; i++ {
		d := insights.Date{Year: 2025 + i/12, Month: time.Month(i%12 + 1), Day: 25}
		txs = append(txs, credits("MONTHLY LTD", "SALARY", "2000.00", d.String())...)
		dd := credits("BRITISH GAS", "", "-80.00", insights.Date{Year: d.Year, Month: d.Month, Day: 14}.String())
		dd[0].BankTransactionCode = "PMNT-IDDT-PMDD"
		txs = append(txs, dd...)
	}
	for i := 0; i < 40; i++ {
		txs = append(txs, credits(fmt.Sprintf("PAYER %c%c", 'A'+i%26, 'A'+i/26), "", "25.00", start.AddDays(11*i).String())...)
	}
	for i := 0; i < 1400; i++ {
		card := credits("TESCO STORES 3297", "", "-12.00", start.AddDays(i/2).String())
		card[0].MCC = "5411"
		txs = append(txs, card...)
	}
	return txs
}

// BenchmarkDetectIncome measures income detection over two years of one
// customer's history.
func BenchmarkDetectIncome(b *testing.B) {
	txs := twoYears()
	cal := calendar.EnglandAndWales()
	asOf := date("2026-12-31")

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		DetectIncome(txs, asOf, cal)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/customer")
}

// BenchmarkDetectCommitments measures commitment detection over the same
// history.
func BenchmarkDetectCommitments(b *testing.B) {
	txs := twoYears()
	cal := calendar.EnglandAndWales()
	asOf := date("2026-12-31")

	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		DetectCommitments(txs, asOf, cal)
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N), "µs/customer")
}
