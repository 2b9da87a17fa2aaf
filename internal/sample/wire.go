package sample

// Wire types of the files Write produces. They follow the OBIE Account and
// Transaction API v3.1 schemas (OBReadAccount6, OBReadBalance1, OBReadParty2,
// OBTransaction6) field by field, in schema order, so the output reads like a
// bank's response. Only the fields the sample fills are declared. Optional
// fields without a value are left out, as the OBIE profile requires.

type envelope[T any] struct {
	Data  T     `json:"Data"`
	Links links `json:"Links"`
	Meta  meta  `json:"Meta"`
}

type links struct {
	Self string `json:"Self"`
}

type meta struct {
	TotalPages int `json:"TotalPages"`
}

type amountJSON struct {
	Amount   string `json:"Amount"`
	Currency string `json:"Currency"`
}

type cashAccountJSON struct {
	SchemeName     string `json:"SchemeName"`
	Identification string `json:"Identification"`
	Name           string `json:"Name,omitempty"`
}

type accountsData struct {
	Account []accountJSON `json:"Account"`
}

type accountJSON struct {
	AccountID            string            `json:"AccountId"`
	Status               string            `json:"Status"`
	StatusUpdateDateTime string            `json:"StatusUpdateDateTime"`
	Currency             string            `json:"Currency"`
	AccountType          string            `json:"AccountType"`
	AccountSubType       string            `json:"AccountSubType"`
	Nickname             string            `json:"Nickname"`
	OpeningDate          string            `json:"OpeningDate"`
	Account              []cashAccountJSON `json:"Account"`
}

type balancesData struct {
	Balance []balanceJSON `json:"Balance"`
}

type balanceJSON struct {
	AccountID            string           `json:"AccountId"`
	Amount               amountJSON       `json:"Amount"`
	CreditDebitIndicator string           `json:"CreditDebitIndicator"`
	Type                 string           `json:"Type"`
	DateTime             string           `json:"DateTime"`
	CreditLine           []creditLineJSON `json:"CreditLine,omitempty"`
}

type creditLineJSON struct {
	Included bool       `json:"Included"`
	Amount   amountJSON `json:"Amount"`
	Type     string     `json:"Type"`
}

type partyData struct {
	Party partyJSON `json:"Party"`
}

type partyJSON struct {
	PartyID       string `json:"PartyId"`
	PartyType     string `json:"PartyType"`
	Name          string `json:"Name"`
	FullLegalName string `json:"FullLegalName"`
	// BirthDate is our extension of OBReadParty2, which has no birth date.
	BirthDate string        `json:"BirthDate,omitempty"`
	Address   []addressJSON `json:"Address"`
}

type addressJSON struct {
	AddressType    string   `json:"AddressType"`
	AddressLine    []string `json:"AddressLine"`
	StreetName     string   `json:"StreetName"`
	BuildingNumber string   `json:"BuildingNumber"`
	PostCode       string   `json:"PostCode"`
	TownName       string   `json:"TownName"`
	Country        string   `json:"Country"`
}

// transactionLine is one line of transactions.ndjson.
type transactionLine struct {
	Transaction transactionJSON `json:"Transaction"`
}

type transactionJSON struct {
	AccountID                      string                  `json:"AccountId"`
	TransactionID                  string                  `json:"TransactionId"`
	TransactionReference           string                  `json:"TransactionReference,omitempty"`
	Amount                         amountJSON              `json:"Amount"`
	CreditDebitIndicator           string                  `json:"CreditDebitIndicator"`
	Status                         string                  `json:"Status"`
	BookingDateTime                string                  `json:"BookingDateTime"`
	ValueDateTime                  string                  `json:"ValueDateTime,omitempty"`
	TransactionInformation         string                  `json:"TransactionInformation"`
	BankTransactionCode            bankTransactionCodeJSON `json:"BankTransactionCode"`
	ProprietaryBankTransactionCode proprietaryCodeJSON     `json:"ProprietaryBankTransactionCode"`
	Balance                        *runningBalanceJSON     `json:"Balance,omitempty"`
	MerchantDetails                *merchantDetailsJSON    `json:"MerchantDetails,omitempty"`
	CreditorAccount                *cashAccountJSON        `json:"CreditorAccount,omitempty"`
	DebtorAccount                  *cashAccountJSON        `json:"DebtorAccount,omitempty"`
	CardInstrument                 *cardInstrumentJSON     `json:"CardInstrument,omitempty"`
}

type bankTransactionCodeJSON struct {
	Code    string `json:"Code"`
	SubCode string `json:"SubCode"`
}

type proprietaryCodeJSON struct {
	Code   string `json:"Code"`
	Issuer string `json:"Issuer,omitempty"`
}

type runningBalanceJSON struct {
	Amount               amountJSON `json:"Amount"`
	CreditDebitIndicator string     `json:"CreditDebitIndicator"`
	Type                 string     `json:"Type"`
}

type merchantDetailsJSON struct {
	MerchantName         string `json:"MerchantName"`
	MerchantCategoryCode string `json:"MerchantCategoryCode"`
}

type cardInstrumentJSON struct {
	CardSchemeName    string `json:"CardSchemeName"`
	AuthorisationType string `json:"AuthorisationType"`
}
