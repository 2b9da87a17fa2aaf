// Package consent runs the attestation request lifecycle and the client
// registry on the storage engine:
//
//	requested → approved | denied | expired; approved → issued → revoked | expired
//
// Each step is an append-only event in consent_events; the state of a
// request is its latest event. A token is issued only when the customer
// approves, only for the client that asked, and only for the claims it asked.
package consent

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/store"
)

// ClaimDeriver computes claim values for a customer from stored data.
type ClaimDeriver interface {
	Derive(ctx context.Context, customerID string, reqs []insights.ClaimRequest, now time.Time) ([]insights.ClaimResult, error)
}

// Service is the consent lifecycle and client registry.
type Service struct {
	Engine store.Engine
	Claims ClaimDeriver
	// Directory lists customers for the development sign-in; nil lists none.
	Directory CustomerDirectory
	Issuer    *attest.Issuer
	Logger    *slog.Logger
	Now       func() time.Time
	BaseURL   string // public URL of the service, for consent links

	// RequestTTL is how long a customer has to decide; 0 means 15 minutes.
	RequestTTL time.Duration
	// TokenLifetime is how long an issued token is valid; 0 means 10 minutes.
	TokenLifetime time.Duration
	// MaxConsentDuration bounds TokenOptions.ConsentDuration; 0 means 90
	// days.
	MaxConsentDuration time.Duration
	// StatusListSize is the number of entries of a new status list; 0
	// means 2^20. A list keeps the size it was created with.
	StatusListSize uint64
	// StatusListTTL is how long a verifier may cache a Status List Token,
	// and so how late it may learn of a revocation; 0 means 5 minutes.
	StatusListTTL time.Duration

	status     statusAllocator
	assertions replayCache      // jti values of accepted client assertions
	facts      clientFactsCache // names and environments of clients
	previews   previewCache     // claims derived for open consent pages
	claims     claimCache       // claim values by customer, for claimValueLifetime
	apiKeys    apiKeyCache      // clients of valid API keys, for apiKeyLifetime
	redirects  redirectCache    // redirects of the requests this process created
}

// statusAllocator hands out the status list entries of the range this
// process reserved in status_reservations.
type statusAllocator struct {
	mu     sync.Mutex
	listID uint64 // the list entries are taken from; 0 before the first
	size   uint64 // entries of listID
	next   uint64 // the next free entry of the reserved range
	end    uint64 // the entry after the reserved range
}

// Attestation is an issued token as its client may fetch it.
type Attestation struct {
	// Format is the token's form, the format of its request. Token is a
	// compact JWS for insights.TokenJWS and an SD-JWT VC with every
	// disclosure for insights.TokenSDJWT.
	Format     insights.TokenFormat
	Token      string
	JTI        string
	IssuedAt   time.Time
	ExpiresAt  time.Time
	ClaimNames []string
}
