package obie

import (
	"bytes"
	"encoding/json"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// The wire types hold the fields of the OBIE Account and Transaction API
// resources that the service reads or validates, spelled as in OBReadAccount6,
// OBReadBalance1, OBReadTransaction6 and OBReadParty2/3 of v3.1.11 and v4.0.
// All values stay strings as sent; Validate checks them and the domain
// conversion parses them. Fields not listed are ignored when decoding, as the
// specification lets ASPSPs add fields.

// Amount is OBActiveOrHistoricCurrencyAndAmount: a decimal string without
// sign and an ISO 4217 currency code.
type Amount struct {
	Amount   string `json:"Amount"`
	Currency string `json:"Currency"`
	// SubType appears on balance amounts only: BaseCurrency/LocalCurrency in
	// v3.1, BCUR/LCUR in v4.0.
	SubType string `json:"SubType"`
}

// Account is one entry of Data.Account. Identifiers (Account[], Servicer)
// are not decoded: no derived claim needs them.
type Account struct {
	AccountID string `json:"AccountId"`
	Status    string `json:"Status"`
	Currency  string `json:"Currency"`
	// AccountType and AccountSubType are the v3.1 names; v4.0 renames them
	// AccountCategory and AccountTypeCode.
	AccountType     string `json:"AccountType"`
	AccountSubType  string `json:"AccountSubType"`
	AccountCategory string `json:"AccountCategory"`
	AccountTypeCode string `json:"AccountTypeCode"`
	Nickname        string `json:"Nickname"`
}

// Balance is one entry of Data.Balance.
type Balance struct {
	AccountID            string       `json:"AccountId"`
	Amount               *Amount      `json:"Amount"`
	CreditDebitIndicator string       `json:"CreditDebitIndicator"`
	Type                 string       `json:"Type"`
	DateTime             string       `json:"DateTime"`
	CreditLine           []CreditLine `json:"CreditLine"`
}

// CreditLine is an overdraft or credit limit attached to a balance.
// Included reports whether the balance Amount already contains it.
type CreditLine struct {
	Included *bool   `json:"Included"`
	Type     string  `json:"Type"`
	Amount   *Amount `json:"Amount"`
}

// Transaction is one entry of Data.Transaction.
type Transaction struct {
	AccountID              string `json:"AccountId"`
	TransactionID          string `json:"TransactionId"`
	TransactionReference   string `json:"TransactionReference"`
	CreditDebitIndicator   string `json:"CreditDebitIndicator"`
	Status                 string `json:"Status"`
	TransactionMutability  string `json:"TransactionMutability"`
	BookingDateTime        string `json:"BookingDateTime"`
	ValueDateTime          string `json:"ValueDateTime"`
	TransactionInformation string `json:"TransactionInformation"`
	// Amount is required; a pointer distinguishes an absent Amount from an empty one.
	Amount                         *Amount                         `json:"Amount"`
	BankTransactionCode            *BankTransactionCode            `json:"BankTransactionCode"`
	ProprietaryBankTransactionCode *ProprietaryBankTransactionCode `json:"ProprietaryBankTransactionCode"`
	// Balance is the running balance after the transaction (Detail only).
	Balance         *TransactionBalance `json:"Balance"`
	MerchantDetails *MerchantDetails    `json:"MerchantDetails"`
	CreditorAccount *CashAccount        `json:"CreditorAccount"`
	DebtorAccount   *CashAccount        `json:"DebtorAccount"`

	// parsed contains the values validation parsed, for ToDomain.
	parsed parsedValues
}

// parsedValues are the date-times and amount of a Transaction as
// validation parsed them, each beside the text it was parsed from. ToDomain
// uses a value only when that text and the zone are still the ones it is
// given, so a Transaction changed or reused after validation is parsed
// again. An empty text means the value was not parsed.
type parsedValues struct {
	zone                   *time.Location
	booking, value         string
	bookingTime, valueTime time.Time
	amountText             string
	amount                 insights.Amount // unsigned
}

// BankTransactionCode is the ISO 20022 family (Code) and sub-family
// (SubCode). ASPSPs send either the names (ReceivedCreditTransfer) or the
// four-letter codes (RCDT).
type BankTransactionCode struct {
	Code    string `json:"Code"`
	SubCode string `json:"SubCode"`
}

// ProprietaryBankTransactionCode is the ASPSP's own code for a transaction.
type ProprietaryBankTransactionCode struct {
	Code   string `json:"Code"`
	Issuer string `json:"Issuer"`
}

// TransactionBalance is the running balance a transaction carries.
type TransactionBalance struct {
	Amount               *Amount `json:"Amount"`
	CreditDebitIndicator string  `json:"CreditDebitIndicator"`
	Type                 string  `json:"Type"`
}

// MerchantDetails names the card merchant and its ISO 18245 category code.
type MerchantDetails struct {
	MerchantName         string `json:"MerchantName"`
	MerchantCategoryCode string `json:"MerchantCategoryCode"`
}

// CashAccount is the counterparty account of a transaction. Only its Name
// is decoded; scheme and identification are personal data of a third party.
type CashAccount struct {
	Name string `json:"Name"`
}

// Party is one entry of Data.Party.
type Party struct {
	PartyID       string `json:"PartyId"`
	PartyType     string `json:"PartyType"`
	Name          string `json:"Name"`
	FullLegalName string `json:"FullLegalName"`
	// BirthDate ("YYYY-MM-DD") is an extension of this service: the OBIE
	// Party resource has no birth date, but some sources (and the sample
	// generator) send one with the party.
	BirthDate string `json:"BirthDate"`
	// Address is an array in the schema; OBIE's own examples send a single
	// object, which is read as an array of one.
	Address OneOrMany[PostalAddress] `json:"Address"`
}

// PostalAddress is OBPostalAddress6 (v3.1) or OBPostalAddress7 (v4.0),
// reduced to the parts an address claim compares.
type PostalAddress struct {
	AddressType    string   `json:"AddressType"`
	AddressLine    []string `json:"AddressLine"`
	StreetName     string   `json:"StreetName"`
	BuildingNumber string   `json:"BuildingNumber"`
	PostCode       string   `json:"PostCode"`
	TownName       string   `json:"TownName"`
	Country        string   `json:"Country"`
}

// OneOrMany decodes a JSON array of T, or a single T object as an array of
// one.
type OneOrMany[T any] []T

// UnmarshalJSON implements json.Unmarshaler.
func (m *OneOrMany[T]) UnmarshalJSON(data []byte) error {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var one T
		if err := json.Unmarshal(trimmed, &one); err != nil {
			return err
		}
		*m = OneOrMany[T]{one}
		return nil
	}
	var many []T
	if err := json.Unmarshal(trimmed, &many); err != nil {
		return err
	}
	*m = many
	return nil
}
