// Package insights holds the domain types of the service: customers' accounts,
// balances, parties and transactions as ingested from an open-banking feed, the
// claims a merchant or lender may request, and the embedded GraphQL schema.
// It imports only the standard library, so storage and transport stay adapters.
package insights

import (
	_ "embed"
	"time"
)

// Schema is the GraphQL schema of the public API, the one description of it.
//
//go:embed schema.graphql
var Schema string

// TransactionStatus is the booking status of a transaction. OBIE v3.1 sends
// Booked, Pending and Rejected; v4.0 sends BOOK, PDNG and RJCT, which ingest
// maps onto the same values.
type TransactionStatus string

// Transaction statuses.
const (
	StatusBooked   TransactionStatus = "booked"
	StatusPending  TransactionStatus = "pending"
	StatusRejected TransactionStatus = "rejected"
)

// Account is a customer's account at an ASPSP. Account identifiers (sort
// code, account number, IBAN, PAN) are not kept: no derived claim needs them.
type Account struct {
	CustomerID     string
	AccountID      string // ASPSP's opaque AccountId, stable within one consent
	Currency       string // ISO 4217
	AccountType    string // Personal or Business (v4.0 AccountCategory)
	AccountSubType string // CurrentAccount, Savings, ... (v4.0 AccountTypeCode)
	Nickname       string
	Status         string
}

// Balance is one balance of an account at a point in time.
type Balance struct {
	CustomerID string
	AccountID  string
	// Type is the OBIE balance type in its v3.1 spelling: InterimAvailable,
	// ClosingBooked, Expected, ... (v4.0 codes such as ITAV are mapped).
	Type     string
	Amount   Amount // signed: negative when CreditDebitIndicator is Debit
	Currency string
	AsOf     time.Time // DateTime of the balance, UTC
	// CreditLineIncluded reports whether Amount already includes an overdraft
	// or credit line; CreditLine is the sum of the included lines.
	CreditLineIncluded bool
	CreditLine         Amount
}

// Party is the account holder or the signed-in user as the ASPSP describes
// them. The UK OBIE Party resource has no birth date: BirthDate is set only
// when the source carries one (see Date.IsZero).
type Party struct {
	CustomerID string
	PartyID    string
	Name       string
	BirthDate  Date
	Address    Address
}

// Address is a postal address as the ASPSP sent it.
type Address struct {
	Lines    []string
	Town     string
	PostCode string
	Country  string // ISO 3166-1 alpha-2
}

// Transaction is one entry of an account's statement, normalised from OBIE.
type Transaction struct {
	CustomerID string
	AccountID  string
	// Key identifies the transaction for deduplication: the ASPSP's
	// TransactionId when present, otherwise a fingerprint of its content.
	Key           string
	TransactionID string
	Status        TransactionStatus
	BookingTime   time.Time // UTC
	ValueTime     time.Time // UTC; zero when the ASPSP sent none
	// BookingDate is the calendar day of BookingTime in the ASPSP's zone
	// (Europe/London for UK banks), which decides the month a payment falls in.
	BookingDate Date
	Amount      Amount // signed: negative for a debit
	Currency    string
	// Description is TransactionInformation, the free-text narrative.
	Description  string
	Counterparty string // creditor or debtor name, or merchant name
	MCC          string // ISO 18245 merchant category code
	// BankTransactionCode is the ISO 20022 family and sub-family, as names
	// (ReceivedCreditTransfer) or four-letter codes (RCDT), as the bank sent it.
	BankTransactionCode    string
	BankTransactionSubCode string
	ProprietaryCode        string
	ProprietaryIssuer      string
	Category               Category
	// CategoryRule names the rule that decided Category, so every derived
	// figure can be explained without showing the transaction.
	CategoryRule string
}

// Category is the spending or income category of a transaction.
type Category string

// Categories known to the first categorizer.
const (
	CategoryUncategorized Category = "uncategorized"
	CategorySalary        Category = "income.salary"
	CategoryBenefits      Category = "income.benefits"
	CategoryPension       Category = "income.pension"
	CategoryInterest      Category = "income.interest"
	CategoryRefund        Category = "income.refund"
	CategoryOtherIncome   Category = "income.other"
	CategoryTransfer      Category = "transfer"
	CategoryRent          Category = "housing.rent"
	CategoryMortgage      Category = "housing.mortgage"
	CategoryCouncilTax    Category = "council_tax"
	CategoryUtilities     Category = "utilities"
	CategoryLoan          Category = "loans"
	CategoryCreditCard    Category = "credit_card"
	CategoryInsurance     Category = "insurance"
	CategoryGroceries     Category = "groceries"
	CategoryEatingOut     Category = "eating_out"
	CategoryTransport     Category = "transport"
	CategoryGambling      Category = "gambling"
	CategoryCash          Category = "cash"
	CategoryBankFees      Category = "bank_fees"
	CategoryReturned      Category = "returned_payment"
	CategorySubscriptions Category = "subscriptions"
	CategoryShopping      Category = "shopping"
	CategoryOther         Category = "other"
)

// Cadence is how often an income stream pays.
type Cadence string

// Cadences the salary detector recognises.
const (
	CadenceWeekly      Cadence = "weekly"
	CadenceFortnightly Cadence = "fortnightly"
	CadenceFourWeekly  Cadence = "four_weekly"
	CadenceMonthly     Cadence = "monthly"
	CadenceIrregular   Cadence = "irregular"
)

// IncomeStream is a series of credits from one payer, with its cadence and
// the next payment the detector expects.
type IncomeStream struct {
	CustomerID   string
	Payer        string // normalised counterparty
	Category     Category
	Cadence      Cadence
	Payments     int  // credits seen
	LastPaid     Date // booking date of the latest credit
	NextExpected Date // zero when the stream is irregular
	// TypicalAmount is the median credit of the stream.
	TypicalAmount Amount
	Currency      string
	// Rule names the detector rule that classified the stream.
	Rule string
}
