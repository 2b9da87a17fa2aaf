package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// Operations of a flow, as the merchant sends them.
const (
	createOperation  = `mutation($input: RequestAttestationInput!) { requestAttestation(input: $input) { attestationRequest { id } } }`
	fetchOperation   = `query { attestationRequest(id: "req_held") { status } }`
	reissueOperation = `mutation { reissueAttestation(requestId: "req_held") { jti } }`
)

// admissionCall is one request a test sends through admission control.
type admissionCall struct {
	method, path string
	// operation is the GraphQL query of a POST /graphql.
	operation string
}

var (
	callCreate  = admissionCall{http.MethodPost, "/graphql", createOperation}
	callFetch   = admissionCall{http.MethodPost, "/graphql", fetchOperation}
	callReissue = admissionCall{http.MethodPost, "/graphql", reissueOperation}
	callOpen    = admissionCall{method: http.MethodGet, path: "/consent/requests/req_held"}
	callApprove = admissionCall{method: http.MethodPost, path: "/consent/requests/req_held/approve"}
	callHealth  = admissionCall{method: http.MethodGet, path: "/healthz"}
)

// heldConsent is the fake consent service whose request creation and
// lookup, like the consent pages of admissionServer, each report their
// start on started and then wait for a value or the close of gate.
type heldConsent struct {
	*fakeConsent
	started chan string
	gate    chan struct{}
}

func (h *heldConsent) CreateRequest(ctx context.Context, client insights.Client, purpose string, claims []insights.ClaimRequest, token consent.TokenOptions) (insights.AttestationRequest, error) {
	h.started <- "create"
	<-h.gate
	return h.fakeConsent.CreateRequest(ctx, client, purpose, claims, token)
}

func (h *heldConsent) ClientRequest(ctx context.Context, client insights.Client, id string) (insights.AttestationRequest, *consent.Attestation, error) {
	h.started <- "fetch"
	<-h.gate
	return h.fakeConsent.ClientRequest(ctx, client, id)
}

// admissionServer is the GraphQL API and stand-in consent pages behind
// admission control, on a loopback port.
type admissionServer struct {
	url       string
	admission *Admission
	started   chan string
	gate      chan struct{}
	// events receives every change of a waiter, in order.
	events chan admissionEvent
	log    *logBuffer
}

func newAdmissionServer(t *testing.T, limits AdmissionLimits) *admissionServer {
	t.Helper()
	return newAdmissionServerWithBusyPage(t, limits, nil)
}

// newAdmissionServerWithBusyPage is newAdmissionServer with busyPage set
// through SetBusyPage before the server starts.
func newAdmissionServerWithBusyPage(t *testing.T, limits AdmissionLimits, busyPage http.Handler) *admissionServer {
	t.Helper()
	s := &admissionServer{
		started: make(chan string, 64),
		gate:    make(chan struct{}),
		events:  make(chan admissionEvent, 256),
		log:     &logBuffer{},
	}
	s.admission = NewAdmission(limits, slog.New(slog.NewJSONHandler(s.log, nil)))
	if s.admission != nil {
		s.admission.observe = func(e admissionEvent) { s.events <- e }
	}
	s.admission.SetBusyPage(busyPage)
	consentService := &heldConsent{fakeConsent: newFakeConsent(), started: s.started, gate: s.gate}
	mux := http.NewServeMux()
	mux.Handle("/", NewHandler(Options{Consent: consentService}))
	mux.HandleFunc("/consent/requests/", func(w http.ResponseWriter, r *http.Request) {
		s.started <- r.Method + " " + r.URL.Path
		<-s.gate
		_, _ = io.WriteString(w, "served")
	})
	srv := httptest.NewServer(s.admission.Middleware(mux)) // listens on 127.0.0.1
	t.Cleanup(func() {
		select {
		case <-s.gate:
		default:
			close(s.gate) // lets held handlers finish so Close returns
		}
		srv.Close()
	})
	s.url = srv.URL
	return s
}

// admissionResult is the outcome of one call.
type admissionResult struct {
	status     int
	retryAfter string
	body       string
	err        error
}

// send makes call in the background and returns its outcome on the
// channel when the response is read.
func (s *admissionServer) send(ctx context.Context, call admissionCall) <-chan admissionResult {
	out := make(chan admissionResult, 1)
	go func() {
		var body io.Reader
		if call.operation != "" {
			variables := map[string]any{}
			if call.operation == createOperation {
				variables["input"] = claimsOf(ageOver(18))
			}
			data, _ := json.Marshal(map[string]any{"query": call.operation, "variables": variables})
			body = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(ctx, call.method, s.url+call.path, body)
		if err != nil {
			out <- admissionResult{err: err}
			return
		}
		if call.operation != "" {
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+merchantKey)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			out <- admissionResult{err: err}
			return
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		out <- admissionResult{status: resp.StatusCode, retryAfter: resp.Header.Get("Retry-After"), body: string(data), err: err}
	}()
	return out
}

// hold sends call and waits until its handler has started and holds its
// slot.
func (s *admissionServer) hold(t *testing.T, call admissionCall) <-chan admissionResult {
	t.Helper()
	out := s.send(context.Background(), call)
	select {
	case <-s.started:
	case r := <-out:
		t.Fatalf("%s %s finished before it was held: status %d, err %v, body %s", call.method, call.path, r.status, r.err, r.body)
	case <-time.After(10 * time.Second):
		t.Fatalf("%s %s did not reach its handler", call.method, call.path)
	}
	return out
}

// expectEvent waits for the next change of a waiter and checks it.
func (s *admissionServer) expectEvent(t *testing.T, want admissionEvent) {
	t.Helper()
	select {
	case got := <-s.events:
		if got != want {
			t.Fatalf("admission event = %s %s, want %s %s", got.kind, got.class, want.kind, want.class)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no admission event, want %s %s", want.kind, want.class)
	}
}

// result waits for the outcome of a call.
func result(t *testing.T, out <-chan admissionResult) admissionResult {
	t.Helper()
	select {
	case r := <-out:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no response")
	}
	return admissionResult{}
}

// inFlightNow returns the number of slots in use.
func (a *Admission) inFlightNow() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.inFlight
}

func TestAdmissionRejectsBeyondLimit(t *testing.T) {
	s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 2, Wait: 20 * time.Millisecond})
	heldConsentPage := s.hold(t, callApprove)
	heldFetch := s.hold(t, callFetch)

	cases := []struct {
		name     string
		call     admissionCall
		class    workClass
		wantBody string
	}{
		{"request over limit", callCreate, newWork, `"code":"UNAVAILABLE"`},
		{"fetch over limit", callFetch, continuingWork, `"code":"UNAVAILABLE"`},
		{"reissue over limit", callReissue, continuingWork, `"code":"UNAVAILABLE"`},
		{"consent page over limit", callOpen, continuingWork, "at capacity"},
		{"approval over limit", callApprove, continuingWork, "at capacity"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := result(t, s.send(context.Background(), c.call))
			if r.err != nil {
				t.Fatal(r.err)
			}
			if r.status != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", r.status)
			}
			if r.retryAfter != admissionRetryAfter {
				t.Errorf("Retry-After = %q, want %q", r.retryAfter, admissionRetryAfter)
			}
			if !strings.Contains(r.body, c.wantBody) {
				t.Errorf("body = %s, want it to contain %q", r.body, c.wantBody)
			}
			s.expectEvent(t, admissionEvent{"queued", c.class})
			s.expectEvent(t, admissionEvent{"left", c.class})
		})
	}
	if got := s.admission.Rejected(); got != int64(len(cases)) {
		t.Errorf("Rejected() = %d, want %d", got, len(cases))
	}
	if got := s.admission.rejectedByClass[newWork].Load(); got != 1 {
		t.Errorf("new rejections = %d, want 1", got)
	}
	if got := s.admission.rejectedByClass[continuingWork].Load(); got != 4 {
		t.Errorf("continuing rejections = %d, want 4", got)
	}

	// The first rejection is logged with the counts per class, and the log
	// names no request.
	logged := s.log.String()
	for _, want := range []string{`"msg":"requests rejected at capacity"`, `"rejected_total":1,`, `"rejected_new":1,`, `"rejected_continuing":0,`, `"max_in_flight":2,`} {
		if !strings.Contains(logged, want) {
			t.Errorf("log = %s, want it to contain %s", logged, want)
		}
	}
	if strings.Count(logged, "rejected at capacity") != 1 {
		t.Errorf("log = %s, want one line for %d rejections", logged, len(cases))
	}
	if strings.Contains(logged, "req_held") {
		t.Errorf("log = %s, want no request ID", logged)
	}

	// Requests that are not issuance work pass while the slots are taken.
	health := result(t, s.send(context.Background(), callHealth))
	if health.status != http.StatusOK {
		t.Errorf("GET /healthz with the slots taken: status %d, want 200", health.status)
	}

	close(s.gate)
	for _, out := range []<-chan admissionResult{heldConsentPage, heldFetch} {
		if r := result(t, out); r.status != http.StatusOK {
			t.Errorf("admitted request: status %d, err %v, want 200", r.status, r.err)
		}
	}

	// With the slots free again, the next request is served.
	r := result(t, s.send(context.Background(), callCreate))
	if r.status != http.StatusOK || !strings.Contains(r.body, `"id":"req_1"`) {
		t.Errorf("after release: status %d, body %s, want 200 with a request", r.status, r.body)
	}
	if got := s.admission.inFlightNow(); got != 0 {
		t.Errorf("slots in use after every response = %d, want 0", got)
	}
}

func TestAdmissionContinuingWorkFirst(t *testing.T) {
	cases := []struct {
		name       string
		continuing admissionCall
	}{
		{"consent page", callOpen},
		{"approval", callApprove},
		{"fetch query", callFetch},
		{"reissue", callReissue},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 1, Wait: time.Minute})
			holder := s.hold(t, callOpen)

			// A new request waits first, and the continuing one after it.
			created := s.send(context.Background(), callCreate)
			s.expectEvent(t, admissionEvent{"queued", newWork})
			continued := s.send(context.Background(), c.continuing)
			s.expectEvent(t, admissionEvent{"queued", continuingWork})

			// The freed slot goes to the continuing request, and the new
			// one gets the slot only when that request is done.
			s.gate <- struct{}{}
			s.expectEvent(t, admissionEvent{"granted", continuingWork})
			close(s.gate)
			s.expectEvent(t, admissionEvent{"granted", newWork})

			for name, out := range map[string]<-chan admissionResult{"holder": holder, "continuing": continued, "new": created} {
				if r := result(t, out); r.err != nil || r.status != http.StatusOK {
					t.Errorf("%s request: status %d, err %v, want 200", name, r.status, r.err)
				}
			}
			if got := s.admission.Rejected(); got != 0 {
				t.Errorf("Rejected() = %d, want 0", got)
			}
		})
	}
}

func TestAdmissionShedsNewWorkFirst(t *testing.T) {
	cases := []struct {
		name       string
		continuing admissionCall
	}{
		{"consent page", callOpen},
		{"fetch query", callFetch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The wait only has to outlast the few local requests that queue
			// both waiters, so the order of events below holds.
			s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 1, Wait: 2 * time.Second})
			holder := s.hold(t, callOpen)
			created := s.send(context.Background(), callCreate)
			s.expectEvent(t, admissionEvent{"queued", newWork})
			continued := s.send(context.Background(), c.continuing)
			s.expectEvent(t, admissionEvent{"queued", continuingWork})

			// The freed slot goes to the continuing request, which keeps it,
			// so the new request runs out of time and is rejected.
			s.gate <- struct{}{}
			s.expectEvent(t, admissionEvent{"granted", continuingWork})
			s.expectEvent(t, admissionEvent{"left", newWork})
			shed := result(t, created)
			if shed.status != http.StatusServiceUnavailable {
				t.Errorf("new request: status %d, want 503", shed.status)
			}
			if shed.retryAfter != admissionRetryAfter {
				t.Errorf("new request: Retry-After = %q, want %q", shed.retryAfter, admissionRetryAfter)
			}

			close(s.gate)
			for name, out := range map[string]<-chan admissionResult{"holder": holder, "continuing": continued} {
				if r := result(t, out); r.err != nil || r.status != http.StatusOK {
					t.Errorf("%s request: status %d, err %v, want 200", name, r.status, r.err)
				}
			}
			if got := s.admission.rejectedByClass[newWork].Load(); got != 1 {
				t.Errorf("new rejections = %d, want 1", got)
			}
			if got := s.admission.rejectedByClass[continuingWork].Load(); got != 0 {
				t.Errorf("continuing rejections = %d, want 0", got)
			}
		})
	}
}

func TestAdmissionCancelledWaiter(t *testing.T) {
	cases := []struct {
		name string
		call admissionCall
		// class is the class the waiting call queues in.
		class workClass
	}{
		{"consent page", callOpen, continuingWork},
		{"fetch query", callFetch, continuingWork},
		{"request", callCreate, newWork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 1, Wait: time.Minute})
			holder := s.hold(t, callApprove)

			ctx, cancel := context.WithCancel(context.Background())
			waiting := s.send(ctx, c.call)
			s.expectEvent(t, admissionEvent{"queued", c.class})
			cancel()
			s.expectEvent(t, admissionEvent{"left", c.class})
			if r := result(t, waiting); !errors.Is(r.err, context.Canceled) {
				t.Errorf("cancelled request: err %v, status %d, want context.Canceled", r.err, r.status)
			}

			// The waiter took no slot, so it freed none: the holder still
			// has the only one.
			if got := s.admission.inFlightNow(); got != 1 {
				t.Errorf("slots in use after the cancel = %d, want 1", got)
			}

			close(s.gate)
			if r := result(t, holder); r.status != http.StatusOK {
				t.Errorf("holder: status %d, want 200", r.status)
			}
			if r := result(t, s.send(context.Background(), c.call)); r.status != http.StatusOK {
				t.Errorf("request after the cancel: status %d, want 200", r.status)
			}
			if got := s.admission.inFlightNow(); got != 0 {
				t.Errorf("slots in use at the end = %d, want 0", got)
			}
		})
	}
}

// TestAdmissionCancelRacesGrant cancels waiters while slots are handed
// over, so that some see their slot granted and their context cancelled
// together. Either way no slot may be lost or counted twice.
func TestAdmissionCancelRacesGrant(t *testing.T) {
	for _, class := range []workClass{continuingWork, newWork} {
		t.Run(class.String(), func(t *testing.T) {
			a := NewAdmission(AdmissionLimits{MaxInFlight: 1, Wait: time.Minute}, nil)
			for range 200 {
				if !a.acquire(context.Background(), continuingWork) {
					t.Fatal("first acquire failed with a free slot")
				}
				ctx, cancel := context.WithCancel(context.Background())
				admitted := make(chan bool, 1)
				queued := make(chan struct{})
				a.mu.Lock()
				a.observe = func(e admissionEvent) {
					if e.kind == "queued" {
						close(queued)
					}
				}
				a.mu.Unlock()
				go func() { admitted <- a.acquire(ctx, class) }()
				<-queued
				go cancel()
				a.release()
				if <-admitted {
					a.release()
				}
				if got := a.inFlightNow(); got != 0 {
					t.Fatalf("slots in use after the race = %d, want 0", got)
				}
			}
		})
	}
}

func TestAdmissionOffWithoutLimit(t *testing.T) {
	if a := NewAdmission(AdmissionLimits{}, nil); a != nil {
		t.Fatalf("NewAdmission with MaxInFlight 0 = %v, want nil", a)
	}
	s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 0})

	// Far more requests than the default limit are served at once.
	calls := []admissionCall{callOpen, callApprove, callCreate, callFetch}
	var heldResults []<-chan admissionResult
	for i := range 100 {
		heldResults = append(heldResults, s.hold(t, calls[i%len(calls)]))
	}
	close(s.gate)
	for _, out := range heldResults {
		if r := result(t, out); r.status != http.StatusOK {
			t.Errorf("status %d, err %v, want 200", r.status, r.err)
		}
	}
	if got := s.admission.Rejected(); got != 0 {
		t.Errorf("nil Admission: Rejected() = %d, want 0", got)
	}
}

func TestGraphQLWorkClass(t *testing.T) {
	cases := []struct {
		name, query, operationName string
		want                       workClass
	}{
		{"fetch query", fetchOperation, "", continuingWork},
		{"shorthand query", `{ client { id } }`, "", continuingWork},
		{"request", createOperation, "", newWork},
		{"reissue", reissueOperation, "", continuingWork},
		{"reissue and typename", `mutation { __typename reissueAttestation(requestId: "r") { jti } }`, "", continuingWork},
		{"reissue and request", `mutation { reissueAttestation(requestId: "r") { jti } requestAttestation(input: {purpose: "p", claims: []}) { userErrors { message } } }`, "", newWork},
		{"request in fragment", `mutation { ...M } fragment M on Mutation { requestAttestation(input: {purpose: "p", claims: []}) { userErrors { message } } }`, "", newWork},
		{"request in inline fragment", `mutation { ... on Mutation { requestAttestation(input: {purpose: "p", claims: []}) { userErrors { message } } } }`, "", newWork},
		{"reissue in fragment", `mutation { ...M } fragment M on Mutation { reissueAttestation(requestId: "r") { jti } }`, "", continuingWork},
		{"fragment cycle", `mutation { ...A } fragment A on Mutation { ...B } fragment B on Mutation { ...A }`, "", continuingWork},
		{"unknown fragment", `mutation { ...Missing }`, "", newWork},
		{"named query selected", `query Q { client { id } } mutation M { requestAttestation(input: {purpose: "p", claims: []}) { userErrors { message } } }`, "Q", continuingWork},
		{"named mutation selected", `query Q { client { id } } mutation M { requestAttestation(input: {purpose: "p", claims: []}) { userErrors { message } } }`, "M", newWork},
		{"two operations unnamed", `query Q { client { id } } query R { client { id } }`, "", newWork},
		{"unknown operation name", `query Q { client { id } }`, "Other", newWork},
		{"syntax error", `mutation {`, "", newWork},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := graphqlWorkClass(c.query, c.operationName); got != c.want {
				t.Errorf("graphqlWorkClass = %s, want %s", got, c.want)
			}
		})
	}
}
