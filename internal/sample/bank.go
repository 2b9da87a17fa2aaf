package sample

import (
	"fmt"
	"strings"
	"time"
)

// timeStyle is the layout a bank uses for BookingDateTime and ValueDateTime.
type timeStyle int

const (
	// utcMidnight: entries booked by date carry UK-local midnight converted
	// to UTC, so a summer booking on 25 June reads 2026-06-24T23:00:00Z. Every
	// date-time is written in UTC with a "Z".
	utcMidnight timeStyle = iota
	// zeroOffsetMidnight: entries booked by date carry T00:00:00+00:00 of
	// the UK date whatever the season, the default the OBIE profile gives
	// for systems without a time. Every date-time is written in UTC as +00:00.
	zeroOffsetMidnight
	// localTimes: every entry carries a time of day, written in UK local
	// time with its offset (+00:00 in winter, +01:00 in summer).
	localTimes
)

// kind is the payment type of an entry. It decides the ISO 20022 bank
// transaction code, the bank's proprietary code and the narrative layout.
type kind int

const (
	kindCard kind = iota // card purchase, or a refund when credited
	kindCash             // cash machine withdrawal
	kindDirectDebit
	kindDirectDebitReturn // an unpaid direct debit credited back
	kindStandingOrder
	kindBankGiroCredit // Bacs credit: salary, benefits, wages
	kindFasterIn
	kindFasterOut
	kindInterestCredit
	kindInterestDebit // overdraft interest
	kindCharge
	kindCount
)

// bankTransactionCodes holds the ISO 20022 family and sub-family of each
// kind, written as the CamelCase names UK ASPSPs send rather than the
// four-letter codes (PMNT-CCRD-POSD is CustomerCardTransactions /
// PointOfSalePaymentDebitCard). A card refund keeps the card code with
// CreditDebitIndicator Credit, as banks do.
var bankTransactionCodes = [kindCount]bankTransactionCodeJSON{
	kindCard:              {"CustomerCardTransactions", "PointOfSalePaymentDebitCard"},
	kindCash:              {"CustomerCardTransactions", "CashWithdrawal"},
	kindDirectDebit:       {"IssuedDirectDebits", "DirectDebitPayment"},
	kindDirectDebitReturn: {"IssuedDirectDebits", "ReversalDueToReturnUnpaidDirectDebit"},
	kindStandingOrder:     {"IssuedCreditTransfer", "StandingOrder"},
	kindBankGiroCredit:    {"ReceivedCreditTransfer", "DomesticCreditTransfer"},
	kindFasterIn:          {"ReceivedCreditTransfer", "DomesticCreditTransfer"},
	kindFasterOut:         {"IssuedCreditTransfer", "DomesticCreditTransfer"},
	kindInterestCredit:    {"MiscellaneousCreditOperations", "Interest"},
	kindInterestDebit:     {"MiscellaneousDebitOperations", "Interest"},
	kindCharge:            {"MiscellaneousDebitOperations", "Charges"},
}

// bank is a fictional ASPSP: its API address, sort code and the habits of
// its feed (time style, narratives, proprietary codes, transaction ids).
type bank struct {
	name     string
	apiBase  string // absolute base of the AIS resources, used in Links.Self
	sortCode string // six digits
	issuer   string // ProprietaryBankTransactionCode.Issuer, left out when ""
	style    timeStyle
	// postsCards reports whether card purchases are booked by date on the
	// next working day, with the purchase date in the narrative, rather than
	// at the moment of purchase.
	postsCards bool
	codes      [kindCount]string
	// narratives are fmt layouts per kind, where %[1]s is the counterparty
	// name and %[2]s the payment reference.
	narratives [kindCount]string
	// card formats the narrative of a card entry or cash withdrawal.
	card func(k kind, credit bool, m merchant, purchase time.Time) string
	// transactionID formats a 32-hex-digit digest as this bank's ids.
	transactionID func(digest string) string
}

var northgate = &bank{
	name:       "Northgate Bank",
	apiBase:    "https://api.northgate-bank.example/open-banking/v3.1/aisp",
	sortCode:   "309412",
	issuer:     "Northgate",
	style:      utcMidnight,
	postsCards: true,
	codes: [kindCount]string{
		kindCard: "DEB", kindCash: "CPT", kindDirectDebit: "DD", kindDirectDebitReturn: "DDR",
		kindStandingOrder: "SO", kindBankGiroCredit: "BGC", kindFasterIn: "FPI", kindFasterOut: "FPO",
		kindInterestCredit: "INT", kindInterestDebit: "INT", kindCharge: "CHG",
	},
	narratives: [kindCount]string{
		kindDirectDebit:       "DD %[1]s",
		kindDirectDebitReturn: "RETURNED DD %[1]s",
		kindStandingOrder:     "SO %[1]s %[2]s",
		kindBankGiroCredit:    "%[1]s %[2]s",
		kindFasterIn:          "FPI %[1]s %[2]s",
		kindFasterOut:         "FPO %[1]s %[2]s",
		kindInterestCredit:    "%[1]s",
		kindInterestDebit:     "%[1]s",
		kindCharge:            "%[1]s",
	},
	card: func(k kind, credit bool, m merchant, purchase time.Time) string {
		on := strings.ToUpper(purchase.Format("02 Jan"))
		switch {
		case k == kindCash:
			return fmt.Sprintf("CASH WITHDRAWAL AT %s %s ON %s", m.descriptor, m.town, on)
		case credit:
			return fmt.Sprintf("CARD REFUND FROM %s ON %s", m.descriptor, on)
		}
		return fmt.Sprintf("CARD PAYMENT TO %s ON %s", m.descriptor, on)
	},
	transactionID: func(digest string) string {
		// Twenty decimal digits, as some core banking systems number entries.
		var b strings.Builder
		for i := 0; i < 20; i++ {
			b.WriteByte('0' + hexValue(digest[i])%10)
		}
		return b.String()
	},
}

var cobalt = &bank{
	name:       "Cobalt",
	apiBase:    "https://openbanking.cobalt-money.example/open-banking/v3.1/aisp",
	sortCode:   "048817",
	issuer:     "Cobalt",
	style:      localTimes,
	postsCards: false,
	codes: [kindCount]string{
		kindCard: "card_payment", kindCash: "atm_withdrawal", kindDirectDebit: "direct_debit",
		kindDirectDebitReturn: "direct_debit_return", kindStandingOrder: "standing_order",
		kindBankGiroCredit: "bacs_credit", kindFasterIn: "faster_payment_in", kindFasterOut: "faster_payment_out",
		kindInterestCredit: "interest", kindInterestDebit: "overdraft_interest", kindCharge: "fee",
	},
	narratives: [kindCount]string{
		kindDirectDebit:       "%[1]s",
		kindDirectDebitReturn: "%[1]s RETURNED",
		kindStandingOrder:     "%[1]s %[2]s",
		kindBankGiroCredit:    "%[1]s %[2]s",
		kindFasterIn:          "%[1]s %[2]s",
		kindFasterOut:         "%[1]s %[2]s",
		kindInterestCredit:    "%[1]s",
		kindInterestDebit:     "%[1]s",
		kindCharge:            "%[1]s",
	},
	card: func(k kind, credit bool, m merchant, purchase time.Time) string {
		// The acquirer's descriptor: name padded to 23, town padded to 13,
		// then the country, as card schemes pass it through.
		return fmt.Sprintf("%-23s%-13s%s", m.descriptor, m.town, "GBR")
	},
	transactionID: func(digest string) string {
		return "tx_" + digest[:24]
	},
}

var kestrel = &bank{
	name:       "Kestrel Bank",
	apiBase:    "https://api.kestrelbank.example/obie/open-banking/v3.1/aisp",
	sortCode:   "771240",
	issuer:     "",
	style:      zeroOffsetMidnight,
	postsCards: true,
	codes: [kindCount]string{
		kindCard: "POS", kindCash: "ATM", kindDirectDebit: "D/D", kindDirectDebitReturn: "D/D",
		kindStandingOrder: "S/O", kindBankGiroCredit: "BACS", kindFasterIn: "FPS", kindFasterOut: "FPS",
		kindInterestCredit: "INT", kindInterestDebit: "INT", kindCharge: "CHG",
	},
	narratives: [kindCount]string{
		kindDirectDebit:       "D/D %[1]s",
		kindDirectDebitReturn: "UNPAID D/D %[1]s",
		kindStandingOrder:     "S/O %[1]s REF %[2]s",
		kindBankGiroCredit:    "BACS %[1]s %[2]s",
		kindFasterIn:          "FASTER PAYMENT RECEIVED %[1]s REF %[2]s",
		kindFasterOut:         "FASTER PAYMENT %[1]s REF %[2]s",
		kindInterestCredit:    "%[1]s",
		kindInterestDebit:     "%[1]s",
		kindCharge:            "%[1]s",
	},
	card: func(k kind, credit bool, m merchant, purchase time.Time) string {
		on := strings.ToUpper(purchase.Format("02Jan06"))
		switch {
		case k == kindCash:
			return fmt.Sprintf("ATM %s %s %s", on, m.descriptor, m.town)
		case credit:
			return fmt.Sprintf("POS REFUND %s %s", on, m.descriptor)
		}
		return fmt.Sprintf("POS %s %s", on, m.descriptor)
	},
	transactionID: func(digest string) string {
		// RFC 4122 layout with the version nibble set to 4.
		return digest[:8] + "-" + digest[8:12] + "-4" + digest[13:16] + "-a" + digest[17:20] + "-" + digest[20:32]
	},
}

// formatTime writes t as the bank writes date-times: RFC 3339 with an offset.
func (b *bank) formatTime(t time.Time) string {
	switch b.style {
	case utcMidnight:
		return t.UTC().Format(time.RFC3339)
	case zeroOffsetMidnight:
		return t.UTC().Format("2006-01-02T15:04:05+00:00")
	}
	return t.In(london).Format("2006-01-02T15:04:05-07:00")
}

func hexValue(c byte) byte {
	if c >= 'a' {
		return c - 'a' + 10
	}
	return c - '0'
}
