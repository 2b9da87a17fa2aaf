package insights

import "time"

// ClaimKind names a claim a client can request.
type ClaimKind string

// Claim kinds. The string values are the claim names used in tokens.
const (
	ClaimAgeOver        ClaimKind = "age_over"
	ClaimFundsAtLeast   ClaimKind = "funds_at_least"
	ClaimAddressMatches ClaimKind = "address_matches"
	ClaimNextSalaryDate ClaimKind = "next_salary"
	ClaimAffordability  ClaimKind = "affordability"
)

// ClaimRequest is one claim a client asks for, with its arguments. Only the
// fields of its Kind are set.
type ClaimRequest struct {
	Kind ClaimKind
	// MinimumAge is the age threshold of ClaimAgeOver, for example 18.
	MinimumAge int
	// Amount and Currency are the threshold of ClaimFundsAtLeast.
	Amount   Amount
	Currency string
	// AverageDays, when above 0, makes ClaimFundsAtLeast compare the
	// average end-of-day available balance over that many days, ending
	// with the day of the newest balance, instead of the current balance.
	AverageDays int
	// IncludeOverdraft makes ClaimFundsAtLeast count arranged overdrafts
	// and credit lines as funds. The claim states the choice.
	IncludeOverdraft bool
	// PostCode is the postcode ClaimAddressMatches compares against.
	// Address is a whole address to compare against instead; a request
	// sets one of the two, or neither with an AddressScope.
	PostCode string
	Address  string
	// AddressScope, when set, requests only the country (AddressCountry)
	// or region (AddressRegion) of the customer's address from
	// ClaimAddressMatches instead of a match.
	AddressScope string
	// FullAddress requests the customer's whole address in the
	// ClaimAddressMatches claim. It is disclosed only when the customer
	// chooses to share it in the consent decision.
	FullAddress bool
	// Months is the window of ClaimAffordability in whole calendar months:
	// 3, 6 or 12.
	Months int
	// SalaryAmountBand makes ClaimNextSalaryDate also state the band of
	// the salary's typical payment, as the separate "next_salary_amount"
	// member. Without it the amount never leaves the service.
	SalaryAmountBand bool
}

// Values of ClaimRequest.AddressScope.
const (
	// AddressCountry discloses the ISO 3166-1 alpha-2 country of the
	// customer's address, such as "GB".
	AddressCountry = "country"
	// AddressRegion discloses the ISO 3166-2 code of the UK nation the
	// customer's postcode lies in, such as "GB-SCT".
	AddressRegion = "region"
)

// ClaimResult is the derived value of one requested claim. It is the only
// thing about a customer that leaves the service.
type ClaimResult struct {
	Request ClaimRequest
	// Available is false when the service has no data to decide the claim
	// (no birth date on file, no salary detected): the claim is reported as
	// unavailable, never guessed.
	Available bool
	// Holds is the yes/no result of ClaimAgeOver, ClaimFundsAtLeast and
	// ClaimAddressMatches.
	Holds bool
	// AsOf is the time of the data the result is derived from. For funds
	// it is the oldest of the balances used.
	AsOf time.Time
	// DataFrom and DataTo bound the stored data the result was derived
	// from: the oldest and newest balance, party record or transaction
	// read. They are zero when the claim is unavailable.
	DataFrom time.Time
	DataTo   time.Time
	// Country and Region are the result of a ClaimAddressMatches request
	// with an AddressScope.
	Country string
	Region  string
	// PostalAddress is the customer's address for a FullAddress request.
	// Derivation fills it, and it leaves the service only when the
	// customer chose to disclose it in the consent decision.
	PostalAddress *PostalAddress
	// Funds describes how a ClaimFundsAtLeast result was computed.
	Funds *FundsBasis
	// NextDate and Cadence are the result of ClaimNextSalaryDate.
	NextDate Date
	Cadence  Cadence
	// SalaryAmount and SalaryCurrency are the typical (median) payment of
	// the salary stream, set only when the request has SalaryAmountBand.
	// Only its band leaves the service.
	SalaryAmount   Amount
	SalaryCurrency string
	// Affordability holds the figures of ClaimAffordability; nil for other
	// kinds and when the claim is unavailable. Only bands of them leave the
	// service.
	Affordability *AffordabilityFigures
}

// AffordabilityFigures are a customer's income and spending over a window
// of whole calendar months, computed from booked transactions and balances
// in one currency. Money figures are monthly averages: the window's total
// divided by Months.
type AffordabilityFigures struct {
	Months int
	// FirstMonth and LastMonth are the first days of the window's first and
	// last month, as calendar dates in the customer's zone.
	FirstMonth Date
	LastMonth  Date
	Currency   string // ISO 4217

	// NetIncome is credits in income.* categories other than refunds.
	NetIncome Amount
	// Committed is debits to housing, council tax, loans, credit cards,
	// insurance and utilities, as a positive amount.
	Committed Amount
	// Essential is Committed plus groceries and transport.
	Essential Amount
	// Discretionary is every other debit except transfers between the
	// customer's own accounts.
	Discretionary Amount
	// Disposable is NetIncome less Essential; negative when essential
	// spending exceeds income.
	Disposable Amount

	// GamblingShare is gambling debits over all debits except transfers,
	// from 0 to 1; 0 when there are no debits.
	GamblingShare float64
	// ReturnedPayments counts returned_payment transactions, credits and
	// debits alike.
	ReturnedPayments int

	// BalancesKnown is false when no deposit account has a booked balance
	// to anchor end-of-day balances; DaysInOverdraft and the balance
	// figures below are then zero and mean nothing.
	BalancesKnown bool
	// DaysInOverdraft counts days of the window on which any deposit
	// account ended the day below zero.
	DaysInOverdraft int
	// BalanceStdDev is the population standard deviation of the summed
	// end-of-day balance of the deposit accounts over the days of each
	// month, averaged over the window's months. Taken within months, it
	// measures swings, not the steady growth of savings.
	BalanceStdDev Amount
	// Volatility is BalanceStdDev over the larger of NetIncome and monthly
	// spending (Essential plus Discretionary). It is 0 when both are zero
	// and the balance never moved, and +Inf when both are zero but the
	// balance moved.
	Volatility float64
}

// RequestStatus is the state of an attestation request in the consent
// lifecycle: requested → approved | denied | expired; approved → issued →
// revoked | expired.
type RequestStatus string

// Request statuses.
const (
	RequestPending  RequestStatus = "requested"
	RequestApproved RequestStatus = "approved"
	RequestDenied   RequestStatus = "denied"
	RequestIssued   RequestStatus = "issued"
	RequestExpired  RequestStatus = "expired"
	RequestRevoked  RequestStatus = "revoked"
)

// AttestationRequest is a client's request for claims about a customer.
// CustomerID is empty until a customer signs in and takes up the request.
type AttestationRequest struct {
	ID         string
	ClientID   string
	ClientName string // the client's registered name, shown to the customer
	Purpose    string // the client's reason for the request, in its own words
	Claims     []ClaimRequest
	Status     RequestStatus
	CustomerID string
	CreatedAt  time.Time
	// ExpiresAt is when the request lapses if the customer has not decided.
	ExpiresAt time.Time
	// TokenLifetime is how long an issued token stays valid.
	TokenLifetime time.Duration
	// Format is the form of the token issued on approval. Empty means
	// TokenJWS.
	Format TokenFormat
	// ConsentDuration is how long after approval the client may fetch fresh
	// tokens under this request; 0 means one token only. ConsentUntil is
	// approval time plus ConsentDuration, zero until the customer approves.
	ConsentDuration time.Duration
	ConsentUntil    time.Time
	// HolderKey is the holder's public key as JWK JSON (RFC 7517), an EC
	// P-256 or Ed25519 key, or empty. Only a TokenSDJWT request has one: the
	// token then names it in "cnf", and a verifier can demand a Key Binding
	// JWT signed by it.
	HolderKey string
}

// TokenFormat is the form of an issued token.
type TokenFormat string

// Token formats.
const (
	// TokenJWS is a JWT in compact JWS form holding every approved claim.
	TokenJWS TokenFormat = "jws"
	// TokenSDJWT is an SD-JWT VC (RFC 9901) in which the holder chooses
	// which approved claims to disclose to each verifier.
	TokenSDJWT TokenFormat = "sd-jwt"
)

// Client is a registered merchant or lender.
type Client struct {
	ID            string
	Name          string
	AllowedClaims []ClaimKind
	Disabled      bool
}

// PostalAddress is a customer's address as the bank supplied it.
type PostalAddress struct {
	Lines    []string
	Town     string
	PostCode string
	Country  string // ISO 3166-1 alpha-2
}

// FundsBasis states how a ClaimFundsAtLeast result was computed.
type FundsBasis struct {
	// OverdraftIncluded is true when credit lines counted as funds.
	OverdraftIncluded bool
	// AverageDays is the number of days averaged, or 0 for the current
	// balance.
	AverageDays int
	// BalanceAge is the age of the oldest balance used, at the time the
	// claim was derived. Stale is true when that exceeds the configured
	// maximum and no fresher balance could be pulled.
	BalanceAge time.Duration
	Stale      bool
	// Refreshed is true when the balances were pulled from the bank for
	// this claim because the stored ones were stale.
	Refreshed bool
}
