// Package aspsp is a client of an ASPSP's UK Open Banking (OBIE) Account and
// Transaction API v3.1. It creates account-access consents, runs the OAuth
// 2.0 authorization-code flow that authorises them, and reads a customer's
// resources page by page. Every read carries the FAPI headers and is guarded
// by retries and pagination checks, because real banks make them necessary.
//
// The client speaks plain OAuth 2.0 with HTTP Basic client authentication
// and passes the consent to /authorize as a query parameter, as the local
// bank does.
//
// NOTE: a production ASPSP wants mutual TLS, private_key_jwt client
// authentication and a signed request object carrying the consent (FAPI 1.0
// Advanced); none of that is implemented here.
package aspsp

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// APIPath is the path of the Account and Transaction API v3.1 under a bank's
// base URL.
const APIPath = "/open-banking/v3.1/aisp"

// Defaults of the Client limits.
const (
	// DefaultMaxPages bounds the pages read for one resource of one account.
	// OBIE suggests 25 to 1000 records per page, so 1000 pages hold at least
	// 25,000 records, which is years of history on a personal account.
	DefaultMaxPages = 1000
	// DefaultMaxPageBytes bounds one response body. Nationwide's unpaged
	// transactions response was capped at 10 MB; nothing legitimate is
	// larger.
	DefaultMaxPageBytes = 10 << 20
)

// Bank is one ASPSP the service is registered with.
type Bank struct {
	ID   string // our identifier, e.g. "localbank"
	Name string // shown to customers
	// BaseURL is the scheme and host (and optional path prefix) under which
	// the bank serves /token, /authorize and APIPath.
	BaseURL      string
	ClientID     string
	ClientSecret string
	// FinancialID is sent as x-fapi-financial-id: the bank's organisation ID
	// in the Open Banking directory.
	FinancialID string
	// RedirectURI is the URI, registered with the bank, to which the bank
	// redirects the customer after authorisation.
	RedirectURI string
}

// Tokens are a customer's OAuth 2.0 tokens for one consent.
type Tokens struct {
	Access  string
	Refresh string
	Expiry  time.Time // when Access expires; zero when the bank sent no expires_in
	// IDToken is the OpenID Connect ID token of an authorization_code
	// grant, unverified; empty when the bank sent none.
	IDToken string
}

// Consent describes an authorised account-access consent, as Pull needs it.
type Consent struct {
	ID          string // the ASPSP's ConsentId
	Permissions []string
	// Expires is the consent's ExpirationDateTime; zero means indefinite.
	// Pull sends no request at or after it.
	Expires time.Time
	// TransactionFrom and TransactionTo are the consent's
	// TransactionFromDateTime and TransactionToDateTime; zero means
	// unbounded. Pull clips its transaction windows to them.
	TransactionFrom, TransactionTo time.Time
	// AuthDate is when the customer last logged in with the bank, sent as
	// x-fapi-auth-date; zero leaves the header out.
	AuthDate time.Time
	// CustomerIP is sent as x-fapi-customer-ip-address when the customer is
	// present; empty leaves the header out.
	CustomerIP string
}

// RetryPolicy sets how a request is repeated after 429, 5xx and transport
// errors. The zero value means DefaultRetryPolicy.
type RetryPolicy struct {
	// MaxAttempts counts the first attempt; 1 disables retries.
	MaxAttempts int
	// BaseDelay is the wait before the second attempt; each further wait
	// doubles it, with random jitter.
	BaseDelay time.Duration
	// MaxDelay caps every wait, Retry-After included.
	MaxDelay time.Duration
}

// DefaultRetryPolicy is used when Client.Retry is the zero value.
var DefaultRetryPolicy = RetryPolicy{MaxAttempts: 4, BaseDelay: 500 * time.Millisecond, MaxDelay: 30 * time.Second}

// Client calls one bank. Its fields are read-only once requests start, so a
// Client is safe for concurrent use.
type Client struct {
	Bank Bank
	// HTTP sends the requests; nil means a client with a 30-second timeout.
	HTTP *http.Client
	// Logger receives retries and protocol warnings; nil means
	// slog.Default(). Tokens and personal data are never logged.
	Logger *slog.Logger
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// MaxPages bounds the pages of one resource; 0 means DefaultMaxPages.
	MaxPages int
	// MaxPageBytes bounds one response body; 0 means DefaultMaxPageBytes.
	MaxPageBytes int64
	Retry        RetryPolicy
}

// Errors that callers tell apart with errors.Is.
var (
	// ErrTokenExpired reports that the access token was rejected (401) and a
	// refresh did not produce one the bank accepts, or that the refresh
	// token itself was rejected. The customer has to authorise again.
	ErrTokenExpired = errors.New("access token expired and could not be refreshed")
	// ErrForbidden reports a 403: the consent lacks a permission, or it is
	// no longer authorised.
	ErrForbidden = errors.New("request forbidden by the ASPSP")
	// ErrConsentInactive reports a 403 whose OBIE error code means that the
	// consent is not in the Authorised status (expired or revoked). It is
	// also an ErrForbidden.
	ErrConsentInactive = errors.New("consent is not authorised: expired or revoked")
	// ErrPageRejected is returned by a Pull sink for a page whose content
	// is invalid. Pull records it as a problem, marks the page's window
	// incomplete and goes on.
	ErrPageRejected = errors.New("page rejected")
)

var defaultHTTP = &http.Client{Timeout: 30 * time.Second}

func (c *Client) httpClient() *http.Client {
	if c.HTTP != nil {
		return c.HTTP
	}
	return defaultHTTP
}

func (c *Client) logger() *slog.Logger {
	if c.Logger != nil {
		return c.Logger
	}
	return slog.Default()
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) maxPages() int {
	if c.MaxPages > 0 {
		return c.MaxPages
	}
	return DefaultMaxPages
}

func (c *Client) maxPageBytes() int64 {
	if c.MaxPageBytes > 0 {
		return c.MaxPageBytes
	}
	return DefaultMaxPageBytes
}

func (c *Client) retry() RetryPolicy {
	if c.Retry == (RetryPolicy{}) {
		return DefaultRetryPolicy
	}
	p := c.Retry
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 1
	}
	return p
}
