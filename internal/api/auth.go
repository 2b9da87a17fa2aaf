package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net/http"
	"strings"
	"sync"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

type contextKey int

const (
	requestKey contextKey = iota
)

// requestState is the state the resolvers of one HTTP request share: its ID,
// a logger tagged with it, and the client, authenticated at most once.
type requestState struct {
	id     string
	logger *slog.Logger

	authorization string // the Authorization header as received
	consent       Consent
	authOnce      sync.Once
	client        insights.Client
	authErr       error
}

// newRequestID returns 16 random bytes in hex, an ID for correlating a
// response with the server's log lines.
func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never returns an error since Go 1.24
	return hex.EncodeToString(b)
}

func withRequestState(ctx context.Context, s *requestState) context.Context {
	return context.WithValue(ctx, requestKey, s)
}

func stateFrom(ctx context.Context) *requestState {
	s, _ := ctx.Value(requestKey).(*requestState)
	return s
}

func requestIDFrom(ctx context.Context) string {
	if s := stateFrom(ctx); s != nil {
		return s.id
	}
	return ""
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if s := stateFrom(ctx); s != nil {
		return s.logger
	}
	return slog.New(slog.DiscardHandler)
}

// authenticatedClient returns the client whose API key or client assertion
// the request carries.
// The consent service is asked once per HTTP request, and only when a
// resolver needs the client, so introspection works without a key.
func authenticatedClient(ctx context.Context) (insights.Client, error) {
	s := stateFrom(ctx)
	if s == nil {
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "missing API key")
	}
	s.authOnce.Do(func() {
		s.client, s.authErr = s.authenticate(ctx)
	})
	return s.client, s.authErr
}

func (s *requestState) authenticate(ctx context.Context) (insights.Client, error) {
	credential, err := bearerToken(s.authorization)
	if err != nil {
		return insights.Client{}, err
	}

	// A bearer value shaped as a compact JWS is a client assertion signed by
	// the client's own key; any other value is an API key.
	var client insights.Client
	if consent.IsClientAssertion(credential) {
		client, err = s.consent.AuthenticateClientAssertion(ctx, credential)
	} else {
		client, err = s.consent.AuthenticateClient(ctx, credential)
	}
	if err != nil {
		return insights.Client{}, err
	}

	// The consent service rejects disabled clients already; this check keeps
	// a disabled client out even if an implementation of Consent does not.
	if client.Disabled {
		if consent.IsClientAssertion(credential) {
			return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid client assertion: the client is disabled")
		}
		return insights.Client{}, insights.Errorf(insights.ErrUnauthorized, "invalid API key")
	}
	return client, nil
}

// bearerToken extracts the API key or client assertion from an
// Authorization header. RFC 6750 section 2.1 defines the form
// "Bearer <token>", and RFC 9110 section 11.1 makes the scheme name
// case-insensitive.
func bearerToken(header string) (string, error) {
	if header == "" {
		return "", insights.Errorf(insights.ErrUnauthorized, "missing API key or client assertion: send the header Authorization: Bearer <API key or client assertion>")
	}
	// A client library may drop the space of "Bearer " with no key after it.
	scheme, token, _ := strings.Cut(header, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", insights.Errorf(insights.ErrUnauthorized, "the Authorization header must use the Bearer scheme: Authorization: Bearer <API key or client assertion>")
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", insights.Errorf(insights.ErrUnauthorized, "missing API key or client assertion after Bearer in the Authorization header")
	}
	return token, nil
}

// newRequestState starts the state of one HTTP request.
func newRequestState(r *http.Request, consent Consent, logger *slog.Logger) *requestState {
	id := newRequestID()
	return &requestState{
		id:            id,
		logger:        logger.With("request_id", id),
		authorization: r.Header.Get("Authorization"),
		consent:       consent,
	}
}
