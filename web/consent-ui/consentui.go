// Package consentui serves the consent pages where a bank customer reviews a
// client's attestation request and approves or denies it, and where the
// customer sees and revokes the proofs already shared, unlinks banks and
// reads the history of their requests. Pages are rendered on the server in
// English or Simplified Chinese and need no JavaScript.
package consentui

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// Service is the part of the consent lifecycle that the pages call. Its
// errors are *insights.Error. The pages show not_found and conflict as such,
// and any other error as an internal error without details.
type Service interface {
	// Customers returns the customer IDs offered by the development sign-in.
	Customers(ctx context.Context) ([]string, error)
	// Request returns one attestation request by ID.
	Request(ctx context.Context, id string) (insights.AttestationRequest, error)
	// Pending returns the requests waiting for this customer's decision.
	Pending(ctx context.Context, customerID string) ([]insights.AttestationRequest, error)
	// Preview derives, for this customer, the exact claim values a token
	// would carry now.
	Preview(ctx context.Context, customerID string, req insights.AttestationRequest) ([]insights.ClaimResult, error)
	// DecideWith approves (issuing the token) or denies the request for
	// this customer, binding an untaken request to them. The customer's
	// whole address is shared only when decision.DiscloseAddress is set.
	DecideWith(ctx context.Context, customerID, requestID string, decision consent.Decision) error
	// Shared returns the proofs issued for this customer's requests,
	// newest first, revoked ones included.
	Shared(ctx context.Context, customerID string) ([]consent.SharedProof, error)
	// SharedProof returns one of them by request ID; another customer's
	// proof is not_found.
	SharedProof(ctx context.Context, customerID, requestID string) (consent.SharedProof, error)
	// Revoke sets the proof's status list entries to INVALID. Revoking a
	// revoked proof succeeds; another customer's proof is not_found.
	Revoke(ctx context.Context, customerID, requestID string) error
	// BankLinks returns the customer's bank links, newest first; none when
	// no bank is configured.
	BankLinks(ctx context.Context, customerID string) ([]BankLink, error)
	// Unlink revokes the bank consent of one of the customer's links.
	// Another customer's link is not_found.
	Unlink(ctx context.Context, customerID, linkID string) error
	// History returns every step of the customer's requests, newest first.
	History(ctx context.Context, customerID string) ([]HistoryEvent, error)
}

// Bank link statuses, as stored for the bank's account-access consent.
const (
	BankAwaitingAuthorisation = "awaiting_authorisation"
	BankAuthorised            = "authorised"
	BankRejected              = "rejected"
	BankRevoked               = "revoked"
	BankExpired               = "expired"
	BankNeedsRenewal          = "needs_renewal"
	// BankReplaced marks a link that a renewal replaced with a new one.
	BankReplaced = "replaced"
)

// BankRenewer is implemented by a Service that can renew bank links. The
// Linked banks page offers Renew only when the Service implements it.
type BankRenewer interface {
	// RenewBank starts a new consent for the customer at the bank of one
	// of their links and returns the bank's authorisation page. When the
	// customer approves there, the new link replaces the old one. Another
	// customer's link is not_found; a link that cannot be renewed is
	// conflict.
	RenewBank(ctx context.Context, customerID, linkID string) (authURL string, err error)
}

// RenewalWindow is how long before a link's expiry the Linked banks page
// offers to renew it.
const RenewalWindow = 14 * 24 * time.Hour

// Outcomes of the latest pull of a bank link.
const (
	RefreshComplete   = "complete"
	RefreshIncomplete = "incomplete"
	RefreshFailed     = "failed"
)

// BankLink is one account-access consent the customer gave a bank, so the
// service may read their accounts.
type BankLink struct {
	ID       string // the service's consent ID
	BankName string
	Status   string // one of the Bank* constants
	// ExpiresAt is when the consent ends. UK banks ask customers to
	// reconfirm an account information service's access every 90 days.
	ExpiresAt time.Time
	// LastRefresh is when the latest pull finished, zero before the first.
	// LastOutcome is one of the Refresh* constants, empty before the first.
	LastRefresh time.Time
	LastOutcome string
}

// HistoryEvent is one step of one of the customer's requests.
type HistoryEvent = consent.HistoryEvent

// Options configures the handler returned by New.
type Options struct {
	Service Service
	// DevSignIn enables the development sign-in, where anyone can pick a
	// customer from Service.Customers. With DevSignIn false and OIDC nil,
	// the handler serves no sign-in at all and every page needs an
	// existing session.
	DevSignIn bool
	// OIDC enables sign-in through an OpenID Connect provider. It works
	// beside the development sign-in or alone; with DevSignIn false the
	// development sign-in is refused even when OIDC is set.
	OIDC *OIDCSignIn
	// SessionKey is the HMAC-SHA256 key of session cookies and CSRF tokens,
	// at least 32 bytes. Anyone holding it can sign in as any customer.
	SessionKey []byte
	// SecureCookies marks every cookie Secure, also on requests that reach
	// the handler without TLS, as behind a proxy that terminates TLS. Set it
	// when the service's public URL is https. Without it, cookies are
	// Secure only on requests that came over TLS.
	SecureCookies bool
	// SessionTTL is the lifetime of a session from sign-in. Zero means 15
	// minutes.
	SessionTTL time.Duration
	// EndedSessions records signed-out sessions and is checked on every
	// request that reads the session, so a copy of a signed-out cookie no
	// longer works. Nil means sign-out only deletes the cookie in the
	// browser, and a copy works until the session expires.
	EndedSessions EndedSessions
	// Logger receives one record per decision and one per server fault. Nil
	// discards them.
	Logger *slog.Logger
	// Now is the clock. Nil means time.Now.
	Now func() time.Time
}

const (
	minSessionKeyLen  = 32 // bytes: the output size of SHA-256, so the key is no weaker than the MAC
	defaultSessionTTL = 15 * time.Minute
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

// handler serves every path under /consent/.
type handler struct {
	service   Service
	devSignIn bool
	oidc      *OIDCSignIn
	flowKey   []byte // HMAC key of the OpenID Connect flow cookie
	sessions  sessionCodec
	ended     EndedSessions // nil when sessions are not recorded at sign-out
	logger    *slog.Logger
	now       func() time.Time
	pages     map[string]*template.Template
	catalogs  map[string]catalog // by locale tag, "en" and "zh-CN"
	london    *time.Location
	mux       *http.ServeMux
}

// New returns the consent UI handler. It expects the full request path, so
// mount it at "/consent/" and "/consent" without stripping the prefix.
func New(opts Options) (http.Handler, error) {
	if opts.Service == nil {
		return nil, errors.New("consentui: Options.Service is nil")
	}
	if len(opts.SessionKey) < minSessionKeyLen {
		return nil, fmt.Errorf("consentui: Options.SessionKey is %d bytes, want at least %d", len(opts.SessionKey), minSessionKeyLen)
	}
	if opts.SessionTTL < 0 {
		return nil, fmt.Errorf("consentui: Options.SessionTTL is %s, want a positive duration or 0 for the default", opts.SessionTTL)
	}

	h := &handler{
		service:   opts.Service,
		devSignIn: opts.DevSignIn,
		oidc:      opts.OIDC,
		flowKey:   deriveKey(opts.SessionKey, "consentui oidc flow v1"),
		ended:     opts.EndedSessions,
		logger:    opts.Logger,
		now:       opts.Now,
	}
	if opts.OIDC != nil && opts.OIDC.Client == nil {
		return nil, errors.New("consentui: Options.OIDC.Client is nil")
	}
	ttl := opts.SessionTTL
	if ttl == 0 {
		ttl = defaultSessionTTL
	}
	h.sessions = newSessionCodec(opts.SessionKey, ttl)
	h.sessions.alwaysSecure = opts.SecureCookies
	if h.logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	if h.now == nil {
		h.now = time.Now
	}

	// Times are shown in UK time, the zone of the banks whose customers use
	// these pages. The zone abbreviation is printed beside every time.
	london, err := time.LoadLocation("Europe/London")
	if err != nil {
		h.logger.Warn("consent UI shows times in UTC: time zone Europe/London not found", "error", err)
		london = time.UTC
	}
	h.london = london

	if h.catalogs, err = loadCatalogs(localeFS); err != nil {
		return nil, fmt.Errorf("consentui: failed to load message catalogs: %w", err)
	}
	if h.pages, err = parsePages(templateFS); err != nil {
		return nil, fmt.Errorf("consentui: failed to parse templates: %w", err)
	}
	h.routes()
	return securityHeaders(http.NewCrossOriginProtection().Handler(withSessionMemo(h.mux))), nil
}

func (h *handler) routes() {
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded folder exists at compile time
	}

	mux := http.NewServeMux()
	mux.Handle("GET /consent/static/", http.StripPrefix("/consent/static/", staticFiles(static)))
	mux.HandleFunc("GET /consent", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/consent/", http.StatusMovedPermanently)
	})
	mux.HandleFunc("GET /consent/{$}", h.handleList)
	mux.HandleFunc("GET /consent/signin", h.handleSignInForm)
	mux.HandleFunc("POST /consent/signin", h.handleSignIn)
	mux.HandleFunc("GET /consent/signin/oidc", h.handleOIDCStart)
	mux.HandleFunc("GET "+CallbackPath, h.handleOIDCCallback)
	mux.HandleFunc("POST /consent/signout", h.handleSignOut)
	mux.HandleFunc("GET /consent/requests/{id}", h.handleRequest)
	mux.HandleFunc("POST /consent/requests/{id}/approve", h.handleDecide(true))
	mux.HandleFunc("POST /consent/requests/{id}/deny", h.handleDecide(false))
	mux.HandleFunc("GET /consent/shared", h.handleShared)
	mux.HandleFunc("GET /consent/shared/{id}/revoke", h.handleRevokeConfirm)
	mux.HandleFunc("POST /consent/shared/{id}/revoke", h.handleRevoke)
	mux.HandleFunc("GET /consent/banks", h.handleBanks)
	mux.HandleFunc("GET /consent/banks/{id}/unlink", h.handleUnlinkConfirm)
	mux.HandleFunc("POST /consent/banks/{id}/unlink", h.handleUnlink)
	mux.HandleFunc("POST /consent/banks/{id}/renew", h.handleRenew)
	mux.HandleFunc("GET /consent/history", h.handleHistory)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		h.renderMessage(w, r, http.StatusNotFound, "notfound")
	})
	h.mux = mux
}
