package bank

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Options configures a Bank.
type Options struct {
	// DataDir holds one folder per demo customer, named by the customer id,
	// each with accounts.json, balances.json and party.json (OBIE response
	// envelopes) and transactions.ndjson (one {"Transaction": {...}} per
	// line). direct-debits.json, standing-orders.json and
	// scheduled-payments.json are optional.
	DataDir string
	// ClientID and ClientSecret are the credentials of the one registered
	// TPP, checked by HTTP Basic authentication at /token.
	ClientID, ClientSecret string
	// FinancialID is the value every AISP request must send in
	// x-fapi-financial-id.
	FinancialID string
	// PageSize is the number of records per page of a multi-record read; 0
	// means 100.
	PageSize int
	// Admin serves /admin/faults and /admin/advance. Leave it off anywhere
	// but tests and demos: anyone who reaches the port can break the bank.
	Admin bool
	// TokenTTL is the lifetime of access tokens; 0 means one hour. Refresh
	// tokens last as long as their consent.
	TokenTTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Logger receives consent and fault events; nil discards them.
	Logger *slog.Logger
}

const (
	defaultPageSize = 100
	defaultTokenTTL = time.Hour
	// codeTTL is the lifetime of an authorization code. RFC 6749 section
	// 4.1.2 recommends at most ten minutes; a minute is plenty for a
	// redirect on one machine.
	codeTTL = 60 * time.Second

	aispPrefix = "/open-banking/v3.1/aisp"

	headerFinancialID   = "x-fapi-financial-id"
	headerInteractionID = "x-fapi-interaction-id"
	headerCustomerIP    = "x-fapi-customer-ip-address"
	headerAuthDate      = "x-fapi-auth-date"
)

// Bank is a local OBIE v3.1 ASPSP. It is safe for concurrent use.
type Bank struct {
	opts Options
	now  func() time.Time
	log  *slog.Logger
	mux  *http.ServeMux

	mu        sync.Mutex
	customers map[string]*customer
	names     []string
	consents  map[string]*consent
	access    map[string]*accessToken
	refresh   map[string]*refreshToken
	codes     map[string]*authCode
	faults    []*fault
	faultSeq  int
}

// New loads the customers of opts.DataDir. A data problem is returned with
// the file, line or record, and JSON path at fault.
func New(opts Options) (*Bank, error) {
	if err := validateOptions(opts); err != nil {
		return nil, err
	}
	if opts.PageSize == 0 {
		opts.PageSize = defaultPageSize
	}
	if opts.TokenTTL == 0 {
		opts.TokenTTL = defaultTokenTTL
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}

	customers, names, err := loadCustomers(opts.DataDir, now)
	if err != nil {
		return nil, fmt.Errorf("bank: load customers: %w", err)
	}

	b := &Bank{
		opts:      opts,
		now:       now,
		log:       logger,
		customers: customers,
		names:     names,
		consents:  map[string]*consent{},
		access:    map[string]*accessToken{},
		refresh:   map[string]*refreshToken{},
		codes:     map[string]*authCode{},
	}
	b.mux = b.routes()
	return b, nil
}

func validateOptions(opts Options) error {
	var problems []string
	if opts.DataDir == "" {
		problems = append(problems, "DataDir is empty")
	}
	if opts.ClientID == "" {
		problems = append(problems, "ClientID is empty")
	}
	if opts.ClientSecret == "" {
		problems = append(problems, "ClientSecret is empty")
	}
	if opts.FinancialID == "" {
		problems = append(problems, "FinancialID is empty")
	}
	if opts.PageSize < 0 {
		problems = append(problems, fmt.Sprintf("PageSize is %d: want 0 for the default or a positive number", opts.PageSize))
	}
	if opts.TokenTTL < 0 {
		problems = append(problems, fmt.Sprintf("TokenTTL is %s: want 0 for the default or a positive duration", opts.TokenTTL))
	}
	if len(problems) > 0 {
		return errors.New("bank: invalid options: " + strings.Join(problems, "; "))
	}
	return nil
}

// Customers returns the ids of the demo customers, sorted.
func (b *Bank) Customers() []string {
	return append([]string(nil), b.names...)
}

func (b *Bank) routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", b.handleToken)
	mux.HandleFunc("GET /authorize", b.handleAuthorize)
	mux.HandleFunc("POST /authorize", b.handleAuthorizeDecision)

	mux.Handle("POST "+aispPrefix+"/account-access-consents", b.fapi(b.handleCreateConsent))
	mux.Handle("GET "+aispPrefix+"/account-access-consents/{ConsentId}", b.fapi(b.handleGetConsent))
	mux.Handle("DELETE "+aispPrefix+"/account-access-consents/{ConsentId}", b.fapi(b.handleDeleteConsent))

	for _, rt := range b.resourceRoutes() {
		mux.Handle("GET "+aispPrefix+rt.pattern, b.fapi(b.aisp(rt)))
	}

	if b.opts.Admin {
		mux.HandleFunc("POST /admin/faults", b.handleAddFault)
		mux.HandleFunc("GET /admin/faults", b.handleListFaults)
		mux.HandleFunc("DELETE /admin/faults", b.handleClearFaults)
		mux.HandleFunc("POST /admin/advance", b.handleAdvance)
	}
	return mux
}

// ServeHTTP serves one request. Every response carries an
// x-fapi-interaction-id: the request's own, or a new UUID when it sent
// none, as the FAPI read/write profile requires.
func (b *Bank) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	interactionID := r.Header.Get(headerInteractionID)
	if interactionID == "" {
		interactionID = newUUID()
	}
	w.Header().Set(headerInteractionID, interactionID)

	if strings.HasPrefix(r.URL.Path, "/admin/") {
		b.mux.ServeHTTP(w, r)
		return
	}
	f := b.takeFault(r)
	if f == nil {
		b.mux.ServeHTTP(w, r)
		return
	}
	b.serveFault(w, r, f)
}

// fapi checks the FAPI headers of an AISP request. x-fapi-financial-id is
// required and must name this ASPSP. When sent, x-fapi-auth-date must be an
// HTTP-date (RFC 7231 section 7.1.1.1) and x-fapi-customer-ip-address an IP
// address.
func (b *Bank) fapi(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if problem := b.checkFAPI(r); problem != nil {
			b.log.Debug("request rejected", "path", r.URL.Path, "header", problem.Path, "reason", problem.Message)
			writeError(w, http.StatusBadRequest, "Invalid request headers.", *problem)
			return
		}
		h(w, r)
	})
}

func (b *Bank) checkFAPI(r *http.Request) *obError {
	financialID := r.Header.Get(headerFinancialID)
	if financialID == "" {
		return &obError{ErrorCode: codeHeaderMissing, Message: "header is required", Path: headerFinancialID}
	}
	if financialID != b.opts.FinancialID {
		return &obError{ErrorCode: codeHeaderInvalid, Message: "header does not name this ASPSP", Path: headerFinancialID}
	}
	if v := r.Header.Get(headerAuthDate); v != "" {
		if _, err := http.ParseTime(v); err != nil {
			return &obError{ErrorCode: codeHeaderInvalid, Message: "want an HTTP-date such as Sun, 10 Sep 2017 19:43:31 GMT", Path: headerAuthDate}
		}
	}
	if v := r.Header.Get(headerCustomerIP); v != "" && !validIP(v) {
		return &obError{ErrorCode: codeHeaderInvalid, Message: "want an IPv4 or IPv6 address", Path: headerCustomerIP}
	}
	return nil
}

// newToken returns 32 random bytes, base64url-encoded: an opaque value
// with 256 bits of entropy, used for tokens and codes.
func newToken() string {
	buf := make([]byte, 32)
	_, _ = rand.Read(buf) // crypto/rand.Read never returns an error
	return base64.RawURLEncoding.EncodeToString(buf)
}

// newUUID returns a random (version 4) UUID, RFC 9562 section 5.4.
func newUUID() string {
	buf := make([]byte, 16)
	_, _ = rand.Read(buf)
	buf[6] = buf[6]&0x0f | 0x40
	buf[8] = buf[8]&0x3f | 0x80
	s := hex.EncodeToString(buf)
	return s[0:8] + "-" + s[8:12] + "-" + s[12:16] + "-" + s[16:20] + "-" + s[20:32]
}

// absoluteURL returns the URL of path and query on the server that r
// reached, built from r.Host, because OBIE requires absolute links.
func absoluteURL(r *http.Request, pathAndQuery string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + pathAndQuery
}
