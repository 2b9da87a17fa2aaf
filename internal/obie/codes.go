package obie

import (
	"slices"

	insights "github.com/openbanking-insights/insights"
)

// The code lists below are the enums of account-info-openapi.json in
// read-write-api-specs, tag v3.1.11r5 (names) and tag v4.0-Update-4 (ISO
// codes). Both spellings are accepted wherever a field carries a code,
// because ASPSPs and OBIE's own v4.0 examples mix them in one payload.

// CreditDebitIndicator values (OBCreditDebitCode, unchanged in v4.0).
const (
	Credit = "Credit"
	Debit  = "Debit"
)

var creditDebitCodes = []string{Credit, Debit}

// transactionStatuses maps OBEntryStatus1Code (v3.1) and
// ExternalEntryStatus1Code (v4.0) onto the domain status. FUTR (a future
// entry) and INFO (an informational entry) are neither settled nor
// rejected, so they map to pending: no insight counts pending money.
//
// NOTE: insights.TransactionStatus has no value for FUTR and INFO, so they
// are stored as pending and cannot be distinguished from PDNG later.
var transactionStatuses = map[string]insights.TransactionStatus{
	"Booked":   insights.StatusBooked,
	"Pending":  insights.StatusPending,
	"Rejected": insights.StatusRejected,
	"BOOK":     insights.StatusBooked,
	"PDNG":     insights.StatusPending,
	"RJCT":     insights.StatusRejected,
	"FUTR":     insights.StatusPending,
	"INFO":     insights.StatusPending,
}

// TransactionStatus returns the domain status of a v3.1 or v4.0 Status
// code, and false for any other value.
func TransactionStatus(code string) (insights.TransactionStatus, bool) {
	s, ok := transactionStatuses[code]
	return s, ok
}

// balanceTypes maps every v3.1 OBBalanceType1Code name to itself and every
// v4.0 code to its v3.1 name. OBIE publishes no such table: the pairs come
// from the "Code Name" column of OBIE's ISO external code set, where ITAV
// is named InterimAvailable and so on. The three *Cleared types exist only
// in v3.1.
var balanceTypes = map[string]string{
	"ClosingAvailable":       "ClosingAvailable",
	"ClosingBooked":          "ClosingBooked",
	"ClosingCleared":         "ClosingCleared",
	"Expected":               "Expected",
	"ForwardAvailable":       "ForwardAvailable",
	"Information":            "Information",
	"InterimAvailable":       "InterimAvailable",
	"InterimBooked":          "InterimBooked",
	"InterimCleared":         "InterimCleared",
	"OpeningAvailable":       "OpeningAvailable",
	"OpeningBooked":          "OpeningBooked",
	"OpeningCleared":         "OpeningCleared",
	"PreviouslyClosedBooked": "PreviouslyClosedBooked",
	"CLAV":                   "ClosingAvailable",
	"CLBD":                   "ClosingBooked",
	"XPCD":                   "Expected",
	"FWAV":                   "ForwardAvailable",
	"INFO":                   "Information",
	"ITAV":                   "InterimAvailable",
	"ITBD":                   "InterimBooked",
	"OPAV":                   "OpeningAvailable",
	"OPBD":                   "OpeningBooked",
	"PRCD":                   "PreviouslyClosedBooked",
}

// BalanceType returns the v3.1 name of a v3.1 or v4.0 balance Type, and
// false for any other value.
func BalanceType(code string) (string, bool) {
	name, ok := balanceTypes[code]
	return name, ok
}

// accountTypeCodes maps the v4.0 AccountTypeCode (ISO cash-account type)
// onto the v3.1 AccountSubType name where the two plainly mean the same
// product. OBIE publishes no mapping; codes without a v3.1 counterpart
// (CASH, TRAN, ...) are kept as sent.
var accountTypeCodes = map[string]string{
	"CACC": "CurrentAccount",
	"SVGS": "Savings",
	"CARD": "CreditCard",
	"LOAN": "Loan",
	"MORT": "Mortgage",
	"WALT": "Wallet",
}

// AccountSubType returns the v3.1 AccountSubType name for a v3.1 name or a
// v4.0 AccountTypeCode, or the value itself when no name corresponds.
func AccountSubType(code string) string {
	if name, ok := accountTypeCodes[code]; ok {
		return name
	}
	return code
}

var (
	// AccountType (v3.1) and AccountCategory (v4.0) share one list.
	accountTypes = []string{"Business", "Personal"}
	// OBAccountStatus1Code, the same in both versions.
	accountStatuses = []string{"Deleted", "Disabled", "Enabled", "Pending", "ProForma"}
	// OBExternalPartyType1Code, the same in both versions.
	partyTypes = []string{"Delegate", "Joint", "Sole"}
	// TransactionMutability, since v3.1.5.
	mutabilities = []string{"Mutable", "Immutable"}
	// CreditLine Type, the same in both versions.
	creditLineTypes = []string{"Available", "Credit", "Emergency", "Pre-Agreed", "Temporary"}
	// Amount SubType of a balance: v3.1 names, then v4.0 codes.
	amountSubTypes = []string{"BaseCurrency", "LocalCurrency", "BCUR", "LCUR"}
	// AddressType: OBAddressTypeCode (v3.1), then OBAddressType2Code (v4.0).
	addressTypes = []string{
		"Business", "Correspondence", "DeliveryTo", "MailTo", "POBox", "Postal", "Residential", "Statement",
		"BIZZ", "CORR", "DLVY", "MLTO", "PBOX", "ADDR", "HOME", "STAT",
	}
)

func isCode(list []string, v string) bool { return slices.Contains(list, v) }
