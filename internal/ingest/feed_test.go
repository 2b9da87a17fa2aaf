package ingest

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"testing"
	"time"
)

// writeFeed writes an NDJSON feed of five accounts and n transactions to
// path, the same for the same n. Every 20th transaction has no
// TransactionId (so it is keyed by fingerprint, and some fingerprints
// repeat), every 50th is pending, and the rest are booked, spread over two
// years.
func writeFeed(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for a := 1; a <= feedAccounts; a++ {
		fmt.Fprintf(w, `{"Account":%s}`+"\n", feedAccount(a))
	}
	writeTransactionLines(tb, w, n)
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

// feedAccounts is the number of accounts of a generated feed, A1 to A5.
const feedAccounts = 5

// feedAccount returns the OBIE Account record of account a of a generated
// feed.
func feedAccount(a int) string {
	return fmt.Sprintf(`{"AccountId":"A%d","Status":"Enabled","Currency":"GBP","AccountType":"Personal","AccountSubType":"CurrentAccount","Nickname":"Bills"}`, a)
}

// writeTransactionLines writes the n transactions of a generated feed to
// w, one {"Transaction": {...}} per line, booked from 1 January 2024 on.
func writeTransactionLines(tb testing.TB, w io.Writer, n int) {
	tb.Helper()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	merchants := []string{"TESCO STORES 2231", "TFL TRAVEL CH", "AMAZON MKTPLACE", "ACME PAYROLL", "COUNCIL TAX", "COSTA COFFEE"}
	var line []byte
	for i := 0; i < n; i++ {
		line = line[:0]
		pair := i / 2
		account := 1 + pair%5
		// Fingerprinted entries repeat their booking time and amount in
		// pairs, as identical same-day card payments do.
		at := start.Add(time.Duration(pair) * 126 * time.Second)
		id := ""
		if i%20 != 0 && i%20 != 1 {
			id = `"TransactionId":"T` + strconv.Itoa(i) + `",`
		}
		status, indicator := "Booked", "Debit"
		if i%50 == 7 {
			status = "Pending"
		}
		if pair%9 == 0 {
			indicator = "Credit"
		}
		amount := fmt.Sprintf("%d.%02d", 1+pair%700, (pair*7)%100)
		line = fmt.Appendf(line, `{"Transaction":{"AccountId":"A%d",%s"CreditDebitIndicator":%q,"Status":%q,`+
			`"BookingDateTime":%q,"ValueDateTime":%q,"TransactionInformation":"%s REF %d",`+
			`"Amount":{"Amount":%q,"Currency":"GBP"},`+
			`"BankTransactionCode":{"Code":"ReceivedCreditTransfer","SubCode":"DomesticCreditTransfer"},`+
			`"ProprietaryBankTransactionCode":{"Code":"PMT","Issuer":"Bank"},`+
			`"MerchantDetails":{"MerchantName":%q,"MerchantCategoryCode":"5411"}}}`+"\n",
			account, id, indicator, status, at.Format("2006-01-02T15:04:05.000Z"), at.Format(time.RFC3339),
			merchants[pair%len(merchants)], pair, amount, merchants[pair%len(merchants)])
		if _, err := w.Write(line); err != nil {
			tb.Fatal(err)
		}
	}
}
