package api

import (
	"container/list"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gqlast "github.com/vektah/gqlparser/v2/ast"
	gqlparserparser "github.com/vektah/gqlparser/v2/parser"
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

// workClass is the precedence class of a request Admission bounds.
type workClass int

const (
	// continuingWork continues a flow that an earlier request started:
	// the consent pages of a request and GraphQL queries such as the
	// merchant's fetch of the token.
	continuingWork workClass = iota
	// newWork starts a flow: a GraphQL mutation that creates a request.
	newWork
	workClasses = 2
)

func (c workClass) String() string {
	if c == newWork {
		return "new"
	}
	return "continuing"
}

// Admission bounds the requests that do decision and issuance work: POST
// /graphql (attestation requests and token fetches) and the consent
// pages of a request (open, approve, deny). A request beyond
// MaxInFlight waits up to Wait for another to finish and then gets
// 503 with Retry-After.
//
// Requests that continue a started flow have precedence over requests
// that start one. A freed slot goes to the longest-waiting continuing
// request, and to a new request only when no continuing request waits.
// Past capacity the service therefore sheds new flows first and keeps
// completing the flows it has started, instead of spending work on
// first steps of flows it then rejects at their last step.
//
// NOTE: new requests may take every slot. Keeping the last eighth for
// continuing work showed no clear gain in the load runs of
// docs/benchmarks.md ("Admission by flow step"), so there is no reserve.
type Admission struct {
	maxInFlight int
	wait        time.Duration
	logger      *slog.Logger
	// busyPage writes the 503 response to a rejected request for a path
	// other than /graphql; nil means plain text. Set by SetBusyPage.
	busyPage http.Handler

	mu       sync.Mutex
	inFlight int
	// waiting holds a FIFO queue of *admissionWaiter per class.
	waiting [workClasses]list.List
	// observe, when set by tests, is called with mu held at each change
	// of a waiter, so tests can order events without sleeping. It must
	// not block.
	observe func(admissionEvent)

	rejected        atomic.Int64
	rejectedByClass [workClasses]atomic.Int64
}

// admissionWaiter is a request waiting for a slot. granted is set, with
// Admission.mu held, when release hands it a slot. ready is then closed.
type admissionWaiter struct {
	ready   chan struct{}
	granted bool
}

// admissionEvent records a change of a waiter, for tests.
type admissionEvent struct {
	kind  string // "queued", "granted" or "left"
	class workClass
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
	return &Admission{maxInFlight: limits.MaxInFlight, wait: wait, logger: logger}
}

// SetBusyPage sets the handler that writes the response to a request for a
// path other than /graphql that is rejected at capacity, such as the consent
// UI's busy page in the customer's language. Retry-After and Cache-Control:
// no-store are set before page runs, and page must write status 503.
// Without a page, such a request gets plain English text. Call SetBusyPage
// before the Admission serves requests. On a nil Admission it does nothing.
func (a *Admission) SetBusyPage(page http.Handler) {
	if a == nil {
		return
	}
	a.busyPage = page
}

// Rejected returns the number of requests rejected at capacity so far.
func (a *Admission) Rejected() int64 {
	if a == nil {
		return 0
	}
	return a.rejected.Load()
}

// consentWork reports whether r is a consent page of a request, which
// Admission bounds as continuing work.
func consentWork(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/consent/requests/")
}

// graphqlWork reports whether r is a GraphQL request, which the GraphQL
// handler admits once it has parsed the operation.
func graphqlWork(r *http.Request) bool {
	return r.URL.Path == "/graphql" && r.Method == http.MethodPost
}

type admissionKey struct{}

// admissionFrom returns the Admission that Middleware put in ctx, or nil.
func admissionFrom(ctx context.Context) *Admission {
	a, _ := ctx.Value(admissionKey{}).(*Admission)
	return a
}

// Middleware applies the bound to next. It admits the consent pages of a
// request itself. A POST /graphql passes with a in its context, and the
// GraphQL handler admits it after reading the body, through admitGraphQL,
// because only the operation shows whether it starts a flow. Counting every
// POST /graphql as new work would shed the merchant's fetch of the token,
// the last step of a flow, together with the requests that start flows.
func (a *Admission) Middleware(next http.Handler) http.Handler {
	if a == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case graphqlWork(r):
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), admissionKey{}, a)))
		case consentWork(r):
			if !a.acquire(r.Context(), continuingWork) {
				a.reject(r.Context(), w, r, continuingWork)
				return
			}
			defer a.release()
			next.ServeHTTP(w, r)
		default:
			next.ServeHTTP(w, r)
		}
	})
}

// admitGraphQL takes a slot for the operation of body from the
// Admission of ctx, with the class graphqlWorkClass gives it. It returns
// the function that frees the slot, or false after it wrote the 503
// response. Without an Admission in ctx it admits at once.
func admitGraphQL(ctx context.Context, w http.ResponseWriter, r *http.Request, body graphqlRequest) (release func(), ok bool) {
	a := admissionFrom(ctx)
	if a == nil {
		return func() {}, true
	}
	class := graphqlWorkClass(body.Query, body.OperationName)
	if !a.acquire(ctx, class) {
		a.reject(ctx, w, r, class)
		return nil, false
	}
	return a.release, true
}

// acquire takes a slot for a request of class, waiting up to a.wait for
// one. It returns false when none became free or ctx was cancelled
// meanwhile. The caller must call release once for every true result.
func (a *Admission) acquire(ctx context.Context, class workClass) bool {
	a.mu.Lock()
	// A free slot goes to a waiting request of the class first, so that
	// requests of one class are admitted in order of arrival.
	if a.waiting[class].Len() == 0 && a.inFlight < a.maxInFlight {
		a.inFlight++
		a.mu.Unlock()
		return true
	}
	waiter := &admissionWaiter{ready: make(chan struct{})}
	elem := a.waiting[class].PushBack(waiter)
	a.notify("queued", class)
	a.mu.Unlock()

	timer := time.NewTimer(a.wait)
	defer timer.Stop()
	select {
	case <-waiter.ready:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}

	a.mu.Lock()
	if waiter.granted {
		// release handed over a slot while the wait ended. A request whose
		// client is still there uses it. Otherwise it goes to the next.
		a.mu.Unlock()
		if ctx.Err() == nil {
			return true
		}
		a.release()
		return false
	}
	a.waiting[class].Remove(elem)
	a.notify("left", class)
	a.mu.Unlock()
	return false
}

// release frees a slot and hands it to the next waiting request: the
// longest-waiting continuing request, or else the longest-waiting new
// request.
func (a *Admission) release() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inFlight--
	class := continuingWork
	if a.waiting[class].Len() == 0 {
		class = newWork
	}
	front := a.waiting[class].Front()
	if front == nil {
		return
	}
	a.waiting[class].Remove(front)
	waiter := front.Value.(*admissionWaiter)
	waiter.granted = true
	a.inFlight++
	close(waiter.ready)
	a.notify("granted", class)
}

// notify passes an event to the test observer. a.mu must be held.
func (a *Admission) notify(kind string, class workClass) {
	if a.observe != nil {
		a.observe(admissionEvent{kind: kind, class: class})
	}
}

// reject writes 503 with Retry-After: a GraphQL error with the code
// UNAVAILABLE on /graphql, and elsewhere the busy page, or plain text
// when none is set. Rejections are logged once per 1,000, with the running
// counts per class.
func (a *Admission) reject(ctx context.Context, w http.ResponseWriter, r *http.Request, class workClass) {
	a.rejectedByClass[class].Add(1)
	if n := a.rejected.Add(1); n%1000 == 1 {
		a.logger.Warn("requests rejected at capacity", "rejected_total", n,
			"rejected_new", a.rejectedByClass[newWork].Load(),
			"rejected_continuing", a.rejectedByClass[continuingWork].Load(),
			"max_in_flight", a.maxInFlight, "class", class.String(), "method", r.Method)
	}
	w.Header().Set("Retry-After", admissionRetryAfter)
	if r.URL.Path == "/graphql" {
		writeRequestErrorCode(ctx, w, http.StatusServiceUnavailable, codeUnavailable, atCapacityMessage)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	if a.busyPage != nil {
		a.busyPage.ServeHTTP(w, r)
		return
	}
	http.Error(w, atCapacityMessage, http.StatusServiceUnavailable)
}

// continuingMutations are the mutations that act on a flow the client
// started earlier. Every other mutation counts as new work, so that a
// mutation added later is shed first until it is listed here.
var continuingMutations = map[string]bool{
	"reissueAttestation": true,
	"__typename":         true,
}

// graphqlWorkClass returns the class of the operation of query that
// operationName selects. Queries continue a flow, and a mutation starts
// one unless it selects only continuingMutations. A query that does not
// parse, or names no operation of it, is new work, because graphql-go
// rejects it without reading storage.
// NOTE: this parses the query a second time after the cost pass. That
// took about 2 µs for the load tool's requestAttestation mutation
// (go test -bench on the 2-CPU development machine), against milliseconds
// of storage work per admitted operation.
func graphqlWorkClass(query, operationName string) workClass {
	doc, err := gqlparserparser.ParseQuery(&gqlast.Source{Input: query})
	if err != nil {
		return newWork
	}
	var op *gqlast.OperationDefinition
	switch {
	case operationName != "":
		op = doc.Operations.ForName(operationName)
	case len(doc.Operations) == 1:
		op = doc.Operations[0]
	}
	switch {
	case op == nil:
		return newWork
	case op.Operation != gqlast.Mutation:
		return continuingWork
	case selectsOnly(op.SelectionSet, doc.Fragments, continuingMutations, map[string]bool{}):
		return continuingWork
	}
	return newWork
}

// selectsOnly reports whether every field of set, with its fragments
// expanded, is in allowed. seen holds the fragments already expanded, so
// that a fragment cycle ends the walk (graphql-go rejects the cycle).
func selectsOnly(set gqlast.SelectionSet, fragments gqlast.FragmentDefinitionList, allowed, seen map[string]bool) bool {
	for _, sel := range set {
		switch sel := sel.(type) {
		case *gqlast.Field:
			if !allowed[sel.Name] {
				return false
			}
		case *gqlast.InlineFragment:
			if !selectsOnly(sel.SelectionSet, fragments, allowed, seen) {
				return false
			}
		case *gqlast.FragmentSpread:
			if seen[sel.Name] {
				continue
			}
			seen[sel.Name] = true
			frag := fragments.ForName(sel.Name)
			if frag == nil || !selectsOnly(frag.SelectionSet, fragments, allowed, seen) {
				return false
			}
		}
	}
	return true
}
