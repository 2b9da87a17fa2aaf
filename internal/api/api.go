// Package api serves the public HTTP surface of the service: the GraphQL API
// that merchants and lenders call (described by schema.graphql), the JWK set
// that verifiers fetch, and the health check. The resolvers are an adapter
// around the consent service: they authenticate the client, check input and
// translate application errors into stable GraphQL error codes.
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	graphql "github.com/graph-gophers/graphql-go"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// Consent is the part of the consent service the API needs. *consent.Service
// implements it.
type Consent interface {
	// AuthenticateClient returns the active client an API key belongs to, or
	// an *insights.Error with code unauthorized.
	AuthenticateClient(ctx context.Context, apiKey string) (insights.Client, error)
	// AuthenticateClientAssertion returns the active client that signed a
	// client assertion (an RFC 7523 JWT, sent as the bearer value in place
	// of an API key), or an *insights.Error with code unauthorized.
	AuthenticateClientAssertion(ctx context.Context, assertion string) (insights.Client, error)
	// CreateRequest records a client's request for claims, to be issued in
	// the form token chooses.
	CreateRequest(ctx context.Context, client insights.Client, purpose string, claims []insights.ClaimRequest, token consent.TokenOptions) (insights.AttestationRequest, error)
	// ClientRequest returns one of the client's own requests and, once
	// issued, its token. Another client's request is not_found.
	ClientRequest(ctx context.Context, client insights.Client, id string) (insights.AttestationRequest, *consent.Attestation, error)
	// ConsentURL returns the page where the customer decides on a request.
	ConsentURL(requestID string) string
}

var _ Consent = (*consent.Service)(nil)

// Options configures NewHandler.
type Options struct {
	// Consent runs the attestation request lifecycle. Required.
	Consent Consent
	// Logger receives request errors; nil discards them.
	Logger *slog.Logger
	// JWKS returns the public JWK set (RFC 7517) that verifies issued tokens.
	// When nil, /.well-known/jwks.json is not served.
	JWKS func() ([]byte, error)
	// Health reports whether the service can serve requests, for example by
	// pinging storage. When nil, /healthz always reports ok.
	Health func(ctx context.Context) error
	// StatusListToken returns the signed Status List Token of a list ID and
	// how long verifiers may cache it; an unknown ID is an *insights.Error
	// with code not_found. When nil, /statuslists/{id} is not served.
	StatusListToken func(ctx context.Context, id string) (string, time.Duration, error)
	// PublicKeys returns the JWK set that verifyAttestation checks tokens
	// against. When nil, verifyAttestation fails with INTERNAL.
	PublicKeys func() (jwk.Set, error)
	// Issuer is the "iss" of the service's tokens, its public base URL.
	// verifyAttestation requires it of a token and reads status lists
	// under it.
	Issuer string
	// Explorer serves the GraphiQL explorer at GET /graphql to browsers
	// and its assets under /graphql/explorer/. Production deployments may
	// turn it off.
	Explorer bool
	// Registration serves POST /register, dynamic client registration
	// with software statements; nil does not serve it.
	Registration *RegistrationOptions
	// Limits bounds the work of one GraphQL request; zero fields take
	// DefaultLimits.
	Limits Limits
	// RateLimiter limits GraphQL requests per authenticated client, and
	// per IP address when they carry no valid credentials; nil sets no
	// limit. Wrap the server's handler in its Middleware for the other
	// endpoints.
	RateLimiter *RateLimiter
}

// Limits of the GraphQL endpoint.
const (
	// maxBodyBytes bounds a request body. A real query with variables is a
	// few kilobytes, so 1 MiB leaves room without letting a client make the
	// server buffer arbitrary amounts.
	maxBodyBytes = 1 << 20

	// maxQueryDepth bounds field nesting. The deepest query of this schema
	// has 4 levels and only __Type.ofType can nest further. Introspection
	// queries of GraphQL tools nest ofType up to about 9 times below
	// __schema.types.fields.args.type (an estimate from published tools),
	// about 15 levels, and introspection stays enabled.
	maxQueryDepth = 20
)

// NewHandler returns the HTTP handler of the public API:
//
//	POST /graphql                GraphQL over HTTP, JSON request and response
//	GET  /.well-known/jwks.json  the JWK set of the token signing keys
//	GET  /statuslists/{id}       a Status List Token (application/statuslist+jwt)
//	GET  /healthz                200 {"status":"ok"} or 503 {"status":"unavailable"}
//	GET  /graphql                the GraphiQL explorer, to browsers, when Options.Explorer is set
//	POST /register               dynamic client registration, when Options.Registration is set
//
// Other methods on these paths get 405 with an Allow header. A missing or
// invalid API key is a GraphQL error with extensions.code UNAUTHENTICATED in
// a 200 response, as GraphQL over HTTP does for every error of execution.
// Introspection needs no API key, because the schema is the API's reference
// documentation and contains nothing secret. It is enabled unless
// Options.Limits.DisableIntrospection is set.
func NewHandler(opts Options) http.Handler {
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	limits := opts.Limits.withDefaults()
	root := &rootResolver{consent: opts.Consent, logger: logger}
	if opts.PublicKeys != nil {
		root.verifier = &verifier{keys: opts.PublicKeys, issuer: opts.Issuer, statusList: opts.StatusListToken}
	}
	schema := graphql.MustParseSchema(insights.Schema, root,
		graphql.UseStringDescriptions(),
		graphql.MaxDepth(limits.MaxDepth),
		graphql.RestrictIntrospection(func(context.Context) bool { return !limits.DisableIntrospection }),
		graphql.Logger(panicLogger{logger}),
		graphql.PanicHandler(panicHandler{}),
	)
	costs, err := newCostChecker()
	if err != nil {
		panic(err) // the embedded schema is fixed at build time, and tests load it
	}

	h := &graphqlHandler{schema: schema, consent: opts.Consent, logger: logger, limits: limits, costs: costs, rateLimiter: opts.RateLimiter}
	mux := http.NewServeMux()
	mux.Handle("POST /graphql", h)
	if opts.JWKS != nil {
		mux.Handle("GET /.well-known/jwks.json", &jwksHandler{jwks: opts.JWKS, logger: logger})
	}
	if opts.StatusListToken != nil {
		mux.Handle("GET /statuslists/{id}", &statusListHandler{token: opts.StatusListToken, logger: logger})
	}
	mux.Handle("GET /healthz", &healthHandler{health: opts.Health, logger: logger})
	if opts.Explorer {
		explorer := newExplorerHandler(logger)
		mux.HandleFunc("GET /graphql", explorer.servePage)
		mux.HandleFunc("GET /graphql/explorer/{name}", explorer.serveAsset)
	}
	if opts.Registration != nil {
		mux.Handle("POST /register", &registerHandler{opts: *opts.Registration, logger: logger, now: time.Now})
	}
	return mux
}
