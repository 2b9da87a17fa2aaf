package api

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultAdmissionWait is how long a request waits for a free slot before
// Admission rejects it, when AdmissionLimits.Wait is zero.
const DefaultAdmissionWait = time.Second

// admissionRetryAfter is the Retry-After value, in seconds, of a request
// rejected at capacity.
const admissionRetryAfter = "1"

// atCapacityMessage is the message of a request rejected at capacity.
const atCapacityMessage = "the service is at capacity; retry after the number of seconds in the Retry-After header"

// AdmissionLimits configures Admission.
type AdmissionLimits struct {
	// MaxInFlight is the number of requests of decision and issuance work
	// served at once; 0 turns admission control off.
	MaxInFlight int
	// Wait is how long a request waits for a free slot before it is
	// rejected; 0 means DefaultAdmissionWait.
	Wait time.Duration
}

// Admission bounds the requests that do decision and issuance work: POST
// /graphql (attestation requests and token fetches) and the consent
// pages of a request (open, approve, deny). A request beyond
// MaxInFlight waits up to Wait for another to finish and then gets
// 503 with Retry-After. Past capacity the service so keeps completing
// requests at its capacity, instead of queueing work whose clients have
// given up and timing out on all of it.
type Admission struct {
	slots    chan struct{}
	wait     time.Duration
	logger   *slog.Logger
	rejected atomic.Int64
}

// NewAdmission returns the admission control of limits, or nil when
// limits.MaxInFlight is 0. A nil *Admission admits every request.
func NewAdmission(limits AdmissionLimits, logger *slog.Logger) *Admission {
	if limits.MaxInFlight <= 0 {
		return nil
	}
	wait := limits.Wait
	if wait <= 0 {
		wait = DefaultAdmissionWait
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Admission{slots: make(chan struct{}, limits.MaxInFlight), wait: wait, logger: logger}
}

// Rejected returns the number of requests rejected at capacity so far.
func (a *Admission) Rejected() int64 {
	if a == nil {
		return 0
	}
	return a.rejected.Load()
}

// isIssuanceWork reports whether r is a request Admission bounds.
func isIssuanceWork(r *http.Request) bool {
	if r.URL.Path == "/graphql" {
		return r.Method == http.MethodPost
	}
	return strings.HasPrefix(r.URL.Path, "/consent/requests/")
}

// Middleware applies the bound to next.
func (a *Admission) Middleware(next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isIssuanceWork(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !a.acquire(r.Context()) {
			a.reject(w, r)
			return
		}
		defer func() { <-a.slots }()
		next.ServeHTTP(w, r)
	})
}

// acquire takes a slot, waiting up to a.wait for one. It returns false
// when none became free or the request was cancelled meanwhile.
func (a *Admission) acquire(ctx context.Context) bool {
	select {
	case a.slots <- struct{}{}:
		return true
	default:
	}
	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return true
	case <-timer.C:
		return false
	case <-ctx.Done():
		return false
	}
}

// reject writes 503 with Retry-After: a GraphQL error with the code
// UNAVAILABLE on /graphql, and plain text elsewhere. Rejections are
// logged once per 1,000, with the running count.
func (a *Admission) reject(w http.ResponseWriter, r *http.Request) {
	if n := a.rejected.Add(1); n%1000 == 1 {
		a.logger.Warn("requests rejected at capacity", "rejected_total", n, "max_in_flight", cap(a.slots),
			"method", r.Method, "path", r.URL.Path)
	}
	w.Header().Set("Retry-After", admissionRetryAfter)
	if r.URL.Path == "/graphql" {
		writeRequestErrorCode(r.Context(), w, http.StatusServiceUnavailable, codeUnavailable, atCapacityMessage)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Error(w, atCapacityMessage, http.StatusServiceUnavailable)
}
