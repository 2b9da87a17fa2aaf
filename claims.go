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
	// PostCode is the postcode ClaimAddressMatches compares against.
	PostCode string
}

// ClaimResult is the derived value of one requested claim. It is the only
// thing about a customer that leaves the service.
type ClaimResult struct {
	Request ClaimRequest
	// Available is false when the service has no data to decide the claim
	// (no birth date on file, no salary detected): the claim is reported as
	// unavailable, never guessed.
	Available bool
	// Holds is the yes/no answer of ClaimAgeOver, ClaimFundsAtLeast and
	// ClaimAddressMatches.
	Holds bool
	// AsOf is the time of the data the answer rests on; for funds, the
	// oldest of the balances used.
	AsOf time.Time
	// NextDate and Cadence answer ClaimNextSalaryDate.
	NextDate Date
	Cadence  Cadence
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
	Purpose    string // why the client asks, in the client's words
	Claims     []ClaimRequest
	Status     RequestStatus
	CustomerID string
	CreatedAt  time.Time
	// ExpiresAt is when the request lapses if the customer has not decided.
	ExpiresAt time.Time
	// TokenLifetime is how long an issued token stays valid.
	TokenLifetime time.Duration
}

// Client is a registered merchant or lender.
type Client struct {
	ID            string
	Name          string
	AllowedClaims []ClaimKind
	Disabled      bool
}
