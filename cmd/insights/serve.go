package main

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/openbanking-insights/insights/internal/api"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/store"
	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// serveConfig is the configuration of `insights serve`.
type serveConfig struct {
	Storage storageConfig
	Addr    string
	// BaseURL is the public URL of the service: the "iss" of tokens and
	// the origin of consent links. Empty means http://Addr.
	BaseURL       string
	DevSignIn     bool
	RequestTTL    time.Duration
	TokenLifetime time.Duration
	SessionTTL    time.Duration
	// MaxConsentDuration bounds how long a lender's affordability consent
	// may last.
	MaxConsentDuration time.Duration
	// RefreshSchedule is the cron spec, in Europe/London time, of the
	// daily refresh of every customer's income streams.
	RefreshSchedule string
	// SigningAlg is the algorithm, ES256 or EdDSA, of signing keys
	// generated at first start and by rotation; empty means ES256.
	SigningAlg string
	// KeyRotation is the cron spec, in Europe/London time, of signing key
	// rotation and pruning; empty or "off" disables it.
	KeyRotation string
	Feeds       feedsConfig
	// Server holds the HTTP timeouts, body, GraphQL and rate limits.
	Server   serverConfig
	Platform platformConfig
	OIDC     oidcConfig
	// Calendar moves pay dates off bank holidays; nil means England and
	// Wales.
	Calendar *calendar.Calendar
	// Admission bounds the requests of decision and issuance work served
	// at once.
	Admission api.AdmissionLimits
}

func (c *serveConfig) register(fs *flag.FlagSet) {
	c.Storage.register(fs)
	fs.StringVar(&c.Addr, "addr", envOr("INSIGHTS_ADDR", "127.0.0.1:8080"), "address to listen on (env INSIGHTS_ADDR)")
	fs.StringVar(&c.BaseURL, "base-url", envOr("INSIGHTS_BASE_URL", ""),
		"public URL of the service, used as token issuer and in consent links; empty means http://ADDR (env INSIGHTS_BASE_URL)")
	fs.BoolVar(&c.DevSignIn, "dev-signin", envOr("INSIGHTS_DEV_SIGNIN", "") == "true",
		"enable the development sign-in, where anyone may act as any demo customer; never in production (env INSIGHTS_DEV_SIGNIN=true)")
	fs.DurationVar(&c.RequestTTL, "request-ttl", 15*time.Minute, "how long a customer has to decide on a request")
	fs.DurationVar(&c.TokenLifetime, "token-lifetime", 10*time.Minute, "how long an issued token is valid")
	fs.DurationVar(&c.SessionTTL, "session-ttl", 15*time.Minute, "how long a consent page sign-in lasts")
	fs.DurationVar(&c.MaxConsentDuration, "max-consent-duration", 90*24*time.Hour,
		"longest consent a lender may request for fetching fresh affordability results, at least 24h")
	c.Feeds.register(fs)
	c.Server.register(fs)
	fs.IntVar(&c.Admission.MaxInFlight, "max-in-flight", 64,
		"GraphQL requests and consent pages of a request served at once; beyond it a request waits up to -admission-wait and then gets 503 with Retry-After. A freed slot goes to a waiting consent page or GraphQL query before a request that starts a flow (requestAttestation). 0 turns the bound off")
	fs.DurationVar(&c.Admission.Wait, "admission-wait", api.DefaultAdmissionWait,
		"how long a request beyond -max-in-flight waits for a free slot before it gets 503")
	c.Platform.register(fs)
	c.OIDC.register(fs)
	fs.StringVar(&c.RefreshSchedule, "refresh-schedule", "0 3 * * *",
		"cron spec, in Europe/London time, of the daily refresh of income streams and next pay dates")
	fs.StringVar(&c.SigningAlg, "signing-alg", envOr("INSIGHTS_SIGNING_ALG", attest.AlgES256),
		"algorithm of signing keys generated at first start and by rotation: ES256 or EdDSA (env INSIGHTS_SIGNING_ALG)")
	fs.StringVar(&c.KeyRotation, "key-rotation", envOr("INSIGHTS_KEY_ROTATION", "@every 720h"),
		"cron spec, in Europe/London time, of signing key rotation, which also retires keys whose tokens have expired; "+
			"off disables it; @every counts from process start (env INSIGHTS_KEY_ROTATION)")
}

func (c *serveConfig) validate() error {
	if err := c.Storage.validate(); err != nil {
		return err
	}
	if err := c.OIDC.validate(); err != nil {
		return err
	}
	if err := c.Server.validate(); err != nil {
		return err
	}
	if _, _, err := net.SplitHostPort(c.Addr); err != nil {
		return fmt.Errorf("-addr (INSIGHTS_ADDR) %q: want host:port", c.Addr)
	}
	if c.BaseURL != "" {
		u, err := url.Parse(c.BaseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("-base-url (INSIGHTS_BASE_URL) %q: want an absolute http or https URL", c.BaseURL)
		}
	}
	if err := attest.CheckSigningAlgorithm(c.signingAlg()); err != nil {
		return fmt.Errorf("-signing-alg (INSIGHTS_SIGNING_ALG): %w", err)
	}
	if c.keyRotationEnabled() {
		if _, err := cron.ParseStandard(c.KeyRotation); err != nil {
			return fmt.Errorf("-key-rotation (INSIGHTS_KEY_ROTATION) %q: want a cron spec or off: %w", c.KeyRotation, err)
		}
	}
	for name, d := range map[string]time.Duration{"-request-ttl": c.RequestTTL, "-token-lifetime": c.TokenLifetime, "-session-ttl": c.SessionTTL} {
		if d < time.Second {
			return fmt.Errorf("%s %s: must be at least 1s", name, d)
		}
	}
	// 0, from a config built in code, means the consent service's default.
	if c.MaxConsentDuration != 0 && c.MaxConsentDuration < 24*time.Hour {
		return fmt.Errorf("-max-consent-duration %s: must be at least 24h, the shortest consent a lender may request", c.MaxConsentDuration)
	}
	return nil
}

func runServe(ctx context.Context, args []string, logger *slog.Logger) error {
	var cfg serveConfig
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	cfg.register(fs)
	holidays := holidaysFlag(fs)
	if err := parseFlagsOnly(fs, args); err != nil {
		return err
	}
	cal, err := holidays()
	if err != nil {
		return exitError{code: 2, msg: "insights serve: " + err.Error()}
	}
	cfg.Calendar = cal

	m := &Main{Config: cfg, Logger: logger}
	if err := m.Open(ctx); err != nil {
		return err
	}
	defer m.Close()
	logger.Info("serving", "addr", m.Addr(), "base_url", m.baseURL, "dev_signin", cfg.DevSignIn, "oidc_issuer", cfg.OIDC.Issuer)

	<-ctx.Done()
	logger.Info("shutting down")
	return m.Close()
}

// Main is the running service: storage, signing keys, consent service and
// HTTP server. Tests start it on port 0.
type Main struct {
	Config serveConfig
	Logger *slog.Logger
	// Engine, when set before Open, is used instead of opening storage
	// from Config.Storage; Main does not close it.
	Engine store.Engine

	ownEngine bool
	listener  net.Listener
	server    *http.Server
	baseURL   string
	Consent   *consent.Service
	Deriver   *derive.Deriver
	Feeds     *feeds.Service
	Keys      *attest.KeySet
	closed    chan struct{}
	jobs      *cron.Cron
	// stopPulls ends the waits of scheduled bank refreshes at shutdown,
	// so that no pull starts after it. See feeds.Service.Schedule.
	stopPulls context.CancelFunc
}

// Open starts the service and returns once it is listening.
func (m *Main) Open(ctx context.Context) error {
	if err := m.Config.validate(); err != nil {
		return err
	}
	if m.Engine == nil {
		engine, err := m.Config.Storage.open(ctx, m.Logger)
		if err != nil {
			return err
		}
		m.Engine, m.ownEngine = engine, true
	}

	keys, err := attest.LoadOrCreateKeysAlg(keyDir(m.Config.Storage.DataDir), m.Config.signingAlg())
	if err != nil {
		m.Close()
		return fmt.Errorf("load signing keys: %w", err)
	}
	m.Keys = keys
	m.pruneKeys(time.Now())
	sessionKey, err := loadOrCreateSecret(filepath.Join(m.Config.Storage.DataDir, "session.key"))
	if err != nil {
		m.Close()
		return fmt.Errorf("load session key: %w", err)
	}

	ln, err := net.Listen("tcp", m.Config.Addr)
	if err != nil {
		m.Close()
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	m.listener = ln
	m.baseURL = m.Config.BaseURL
	if m.baseURL == "" {
		m.baseURL = "http://" + ln.Addr().String()
	}

	handler, err := m.handler(sessionKey)
	if err != nil {
		m.Close()
		return err
	}
	if err := m.startJobs(); err != nil {
		m.Close()
		return err
	}
	if err := m.openFeeds(); err != nil {
		m.Close()
		return err
	}
	// The feeds open after the handler builds the deriver, and before the
	// server accepts requests, so no funds claim runs before the refresher
	// is set.
	if m.Feeds != nil {
		m.Deriver.Balances = derive.FeedsRefresher{Feeds: m.Feeds}
		// A pull changes the customer's data, so the consent pages stop
		// showing claim values derived before it.
		afterPull := m.Feeds.AfterPull
		m.Feeds.AfterPull = func(ctx context.Context, customerID string) {
			if afterPull != nil {
				afterPull(ctx, customerID)
			}
			m.Consent.ForgetClaims(customerID)
		}
	}
	m.server = m.Config.Server.httpServer(handler)
	m.closed = make(chan struct{})
	go func() {
		defer close(m.closed)
		if err := m.server.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			m.Logger.Error("HTTP server stopped", "err", err)
		}
	}()

	m.markDemoCustomers(ctx)
	m.linkDemoCustomers(ctx)
	m.jobs.Start()
	return nil
}

func (m *Main) handler(sessionKey []byte) (http.Handler, error) {
	m.Deriver = &derive.Deriver{Engine: m.Engine, Logger: m.Logger, Calendar: m.Config.Calendar}
	m.Consent = &consent.Service{
		// Concurrent decisions append the same one-row inserts (events,
		// audit rows, tokens). The Batcher stores them as one insert per
		// group and acknowledges each only after its group is stored.
		Engine:        store.NewBatcher(m.Engine),
		Claims:        m.Deriver,
		Directory:     m.Deriver,
		Issuer:        &attest.Issuer{Keys: m.Keys, Issuer: m.baseURL},
		Logger:        m.Logger,
		BaseURL:       m.baseURL,
		RequestTTL:    m.Config.RequestTTL,
		TokenLifetime: m.Config.TokenLifetime,

		MaxConsentDuration: m.Config.MaxConsentDuration,
	}

	oidcSignIn, err := m.Config.OIDC.signIn(m.baseURL)
	if err != nil {
		return nil, err
	}
	ui, err := consentui.New(consentui.Options{
		Service: consentPages{Service: m.Consent, feeds: func() *feeds.Service { return m.Feeds }}, DevSignIn: m.Config.DevSignIn, SessionKey: sessionKey,
		SessionTTL: m.Config.SessionTTL, Logger: m.Logger, OIDC: oidcSignIn,
		// Sign-out records the session in ClickHouse, so every replica
		// rejects a copy of the signed-out cookie.
		EndedSessions: consentui.NewStoreEndedSessions(m.Engine),
		// An https base URL means TLS ends at a proxy or at this server, so
		// browsers always reach the pages over TLS.
		SecureCookies: strings.HasPrefix(m.baseURL, "https://"),
	})
	if err != nil {
		return nil, fmt.Errorf("build consent pages: %w", err)
	}
	registration, err := m.Config.Platform.registration(m.Config.Storage.DataDir, m.Consent)
	if err != nil {
		return nil, err
	}
	rateLimiter := api.NewRateLimiter(m.Config.Server.Rate)
	apiHandler := api.NewHandler(api.Options{
		Consent: m.Consent,
		Logger:  m.Logger,
		JWKS:    m.Keys.PublicJWKS,
		Health:  m.health,
		// Status lists and verifyAttestation use the same keys and issuer
		// URL as the tokens.
		StatusListToken: m.Consent.StatusListToken,
		PublicKeys:      m.Keys.PublicSet,
		Issuer:          m.baseURL,
		Explorer:        m.Config.Platform.Explorer,
		Registration:    registration,
		Limits:          m.Config.Server.GraphQL,
		RateLimiter:     rateLimiter,
	})

	mux := http.NewServeMux()
	mux.Handle("/consent", ui)
	mux.Handle("/consent/", ui)
	mux.HandleFunc("GET /banks/callback", func(w http.ResponseWriter, r *http.Request) {
		if m.Feeds == nil {
			http.NotFound(w, r)
			return
		}
		m.handleBankCallback(w, r)
	})
	mux.Handle("/", apiHandler)
	admission := api.NewAdmission(m.Config.Admission, m.Logger)
	// A consent page rejected at capacity gets a page in the customer's
	// language instead of plain English text.
	busyPage, err := consentui.BusyPage(consentui.Options{DevSignIn: m.Config.DevSignIn, Logger: m.Logger})
	if err != nil {
		return nil, fmt.Errorf("build the consent busy page: %w", err)
	}
	admission.SetBusyPage(busyPage)
	return m.Config.Server.wrap(admission.Middleware(mux), rateLimiter), nil
}

// health reports whether storage runs a trivial query.
func (m *Main) health(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	rows, err := m.Engine.Query(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	return rows.Close()
}

// Addr returns the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// BaseURL returns the service's public URL.
func (m *Main) BaseURL() string { return m.baseURL }

// Close stops the service. The server stops accepting connections and
// drains in-flight requests while the scheduler starts no new job and
// running jobs (bank pulls with their ingest loads, refreshes, rotation)
// finish, both within Config.Server.ShutdownTimeout. Storage is closed
// last, and left open when a job is still running at the deadline, because
// the process is about to exit and closing it under a running query could
// fail that query. A load cut short by the exit commits nothing.
func (m *Main) Close() error {
	timeout := m.Config.Server.ShutdownTimeout
	if timeout <= 0 {
		timeout = defaultShutdownTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	var jobsDone <-chan struct{}
	if m.jobs != nil {
		jobsDone = m.jobs.Stop().Done()
		if m.stopPulls != nil {
			m.stopPulls()
		}
	} else {
		noJobs := make(chan struct{})
		close(noJobs)
		jobsDone = noJobs
	}

	var err error
	if m.server == nil && m.listener != nil {
		m.listener.Close() // Open failed before serving
	}
	if m.server != nil {
		started := time.Now()
		if shutdownErr := m.server.Shutdown(ctx); shutdownErr != nil {
			err = fmt.Errorf("drain in-flight requests within -shutdown-timeout %s: %w", timeout, shutdownErr)
			m.Logger.Error("in-flight requests still running at the shutdown deadline", "timeout", timeout)
		} else {
			m.Logger.Info("in-flight requests drained", "duration", time.Since(started))
		}
		if m.closed != nil {
			<-m.closed
		}
		m.server = nil
	}

	select {
	case <-jobsDone:
		m.stopJobs() // returns at once: the jobs have finished
	case <-ctx.Done():
		m.jobs = nil
		m.Logger.Error("scheduled jobs still running at the shutdown deadline; storage left open", "timeout", timeout)
		return errors.Join(err, fmt.Errorf("scheduled jobs still running after -shutdown-timeout %s", timeout))
	}
	if m.ownEngine && m.Engine != nil {
		m.Engine.Close()
		m.Engine = nil
	}
	return err
}

// loadOrCreateSecret reads a 32-byte secret from path, creating it with
// mode 0600 on first start.
func loadOrCreateSecret(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		info, statErr := os.Stat(path)
		if statErr != nil {
			return nil, statErr
		}
		if info.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("secret %s has mode %04o, so other users can read it; want 0600 (chmod 600 %s)", path, info.Mode().Perm(), path)
		}
		if len(b) < 32 {
			return nil, fmt.Errorf("secret %s is %d bytes, want at least 32", path, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}

	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}
