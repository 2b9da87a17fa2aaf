// Package feeds links customers' bank accounts through the OBIE
// account-access consent flow and pulls their data into ingest on a
// schedule.
//
// A pull decodes every page with obie.Decoder and adds it to one ingest
// load. A page that fails validation is recorded as a problem and its
// account's window is marked incomplete, but the good pages of the pull are
// kept. This is safe because stored transactions are deduplicated, so a
// later pull fills the gap. Ingest reconciles pending entries (vanish
// detection) only inside complete windows, so a missing page never removes
// anything.
//
// Direct debits, standing orders and scheduled payments bypass ingest: after
// the load commits, each complete read of them replaces the account's list
// in package orders, and an incomplete read changes nothing.
package feeds

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbanking-insights/insights/internal/aspsp"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store"
)

// Consent statuses stored in bank_consents.status.
const (
	StatusAwaitingAuthorisation = "awaiting_authorisation"
	StatusAuthorised            = "authorised"
	StatusRejected              = "rejected"
	StatusRevoked               = "revoked"
	StatusExpired               = "expired"
	// StatusNeedsRenewal marks a consent whose lifetime ended or whose
	// refresh token the bank rejected: the customer has to link again.
	StatusNeedsRenewal = "needs_renewal"
)

// Pull outcomes stored in pulls.outcome.
const (
	OutcomeComplete   = "complete"
	OutcomeIncomplete = "incomplete"
	OutcomeFailed     = "failed"
)

// Defaults of the Service settings.
const (
	DefaultConcurrency = 2
	// DefaultOverlap reaches back before the last booked transaction, to
	// catch entries a bank books with an earlier BookingDateTime after the
	// previous pull. The OBIE profile does not say whether the filter
	// bounds are inclusive either.
	DefaultOverlap = 7 * 24 * time.Hour
	// DefaultConsentLifetime is 90 days: UK banks ask customers to
	// reconfirm an AISP's access every 90 days.
	DefaultConsentLifetime = 90 * 24 * time.Hour
	// DefaultHistory is how far back a consent's TransactionFromDateTime
	// reaches: twelve months cover a year of salaries and bills.
	DefaultHistory = 365 * 24 * time.Hour
	// linkTimeout bounds the time between Link and Callback.
	linkTimeout = 30 * time.Minute
)

// DefaultPermissions are the permissions the service's insights need: account
// identifiers and names, balances, both directions of detailed
// transactions (payer names and narratives for income), the account
// holders and the customer for address checks, and committed payments for
// affordability. Standing orders are read at Detail level because only
// that level names the creditor, which is how a standing order is matched
// to the payments it made.
var DefaultPermissions = []string{
	"ReadAccountsDetail", "ReadBalances",
	"ReadTransactionsDetail", "ReadTransactionsCredits", "ReadTransactionsDebits",
	"ReadParty", "ReadPartyPSU",
	"ReadDirectDebits", "ReadStandingOrdersDetail",
}

// Errors that callers tell apart with errors.Is.
var (
	ErrUnknownBank = errors.New("unknown bank")
	// ErrUnknownState reports a callback whose state matches no pending
	// link: forged, already used or from another server.
	ErrUnknownState = errors.New("no pending bank link has this state")
	ErrLinkExpired  = errors.New("bank link took too long; start again")
	// ErrLinkDenied reports that the customer or the bank declined the
	// consent.
	ErrLinkDenied = errors.New("bank link declined")
	// ErrFirstPull reports that a link succeeded but its first pull did
	// not; the consent is authorised and later pulls retry.
	ErrFirstPull       = errors.New("bank linked, but the first pull failed")
	ErrConsentNotFound = errors.New("bank consent not found")
	// ErrNotAuthorised reports a pull of a consent that is not authorised.
	ErrNotAuthorised = errors.New("bank consent is not authorised")
	// ErrNeedsRenewal reports a consent past its expiry: the customer has
	// to link the bank again.
	ErrNeedsRenewal = errors.New("bank consent expired; the customer has to link the bank again")
)

// Service links banks and pulls their data. Set the exported fields before
// the first call and do not copy a Service after it.
type Service struct {
	Engine store.Engine
	Loader *ingest.Loader
	// Banks are the ASPSPs customers can link, by Bank.ID.
	Banks map[string]aspsp.Bank
	// TokenKey is the 32-byte AES-256 key that encrypts OAuth tokens at
	// rest; see LoadTokenKey.
	TokenKey []byte
	// Logger receives link and pull events; nil means slog.Default().
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// HTTP sends requests to the banks; nil means a 30-second timeout.
	HTTP *http.Client
	// Retry is the banks' retry policy; the zero value means
	// aspsp.DefaultRetryPolicy.
	Retry aspsp.RetryPolicy
	// Concurrency bounds the pulls RefreshAll runs at once; 0 means
	// DefaultConcurrency.
	Concurrency int
	// Overlap is how far before the last booked transaction an incremental
	// pull starts; 0 means DefaultOverlap.
	Overlap time.Duration
	// Jitter is the maximum random delay before each consent's pull in
	// RefreshAll, which spreads the load on the banks; 0 means none.
	Jitter time.Duration
	// ConsentLifetime sets a new consent's ExpirationDateTime; 0 means
	// DefaultConsentLifetime.
	ConsentLifetime time.Duration
	// History sets how far back a new consent's TransactionFromDateTime
	// reaches; 0 means DefaultHistory.
	History time.Duration
	// Permissions are requested for every new consent; nil means
	// DefaultPermissions.
	Permissions []string
	// AfterPull runs after a pull stored data for a customer, for example to
	// derive income again. It runs on the pulling goroutine.
	AfterPull func(ctx context.Context, customerID string)
	// BirthDates verifies the ID token a bank returns with a link's tokens
	// and stores its birth date; nil ignores ID tokens.
	BirthDates BirthDates
	// OpenIDProviders locate the ID token keys of banks by Bank.ID; a bank
	// without an entry has its BaseURL as issuer and is found by discovery.
	OpenIDProviders map[string]OpenIDProvider

	locks   sync.Map // consent ID -> *sync.Mutex
	renewal sync.Map // new consent ID -> pendingRenewal, see Renew
	jwks    jwksCache
	running atomic.Bool
}

func (s *Service) check() error {
	if s.Engine == nil || s.Loader == nil {
		return errors.New("feeds: Engine and Loader are required")
	}
	if len(s.TokenKey) != tokenKeySize {
		return fmt.Errorf("feeds: TokenKey is %d bytes, want %d", len(s.TokenKey), tokenKeySize)
	}
	return nil
}

func (s *Service) client(bankID string) (*aspsp.Client, error) {
	bank, ok := s.Banks[bankID]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownBank, bankID)
	}
	return &aspsp.Client{Bank: bank, HTTP: s.HTTP, Logger: s.logger(), Now: s.Now, Retry: s.Retry}, nil
}

// lock serialises work on one consent in this process and returns the
// unlock function.
//
// NOTE: two service instances sharing a ClickHouse cluster can still pull
// one consent at once. The stored data stays correct because ingest
// deduplicates, but the bank receives the reads twice.
func (s *Service) lock(consentID string) func() {
	m, _ := s.locks.LoadOrStore(consentID, &sync.Mutex{})
	mu := m.(*sync.Mutex)
	mu.Lock()
	return mu.Unlock
}

func (s *Service) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Service) concurrency() int {
	if s.Concurrency > 0 {
		return s.Concurrency
	}
	return DefaultConcurrency
}

func (s *Service) overlap() time.Duration {
	if s.Overlap > 0 {
		return s.Overlap
	}
	return DefaultOverlap
}

func (s *Service) consentLifetime() time.Duration {
	if s.ConsentLifetime > 0 {
		return s.ConsentLifetime
	}
	return DefaultConsentLifetime
}

func (s *Service) history() time.Duration {
	if s.History > 0 {
		return s.History
	}
	return DefaultHistory
}

func (s *Service) permissions() []string {
	if s.Permissions != nil {
		return s.Permissions
	}
	return DefaultPermissions
}
