package consent_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/api"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/consent"
)

// windowClaims derives every claim as available over a fixed data window,
// with a whole address for address claims, counting its calls.
type windowClaims struct {
	mu    sync.Mutex
	calls int
	from  time.Time
	to    time.Time
}

func (w *windowClaims) Derive(_ context.Context, _ string, reqs []insights.ClaimRequest, now time.Time) ([]insights.ClaimResult, error) {
	w.mu.Lock()
	w.calls++
	w.mu.Unlock()
	out := make([]insights.ClaimResult, len(reqs))
	for i, r := range reqs {
		out[i] = insights.ClaimResult{Request: r, Available: true, Holds: true, AsOf: now, DataFrom: w.from, DataTo: w.to}
		switch r.Kind {
		case insights.ClaimAddressMatches:
			if r.FullAddress {
				out[i].PostalAddress = &insights.PostalAddress{Lines: []string{"2 St Albans Road"}, Town: "Watford", PostCode: "WD17 1AA", Country: "GB"}
			}
		case insights.ClaimAffordability:
			out[i].Affordability = &insights.AffordabilityFigures{Months: r.Months, Currency: "GBP",
				FirstMonth: insights.DateOf(w.from), LastMonth: insights.DateOf(w.to)}
		}
	}
	return out, nil
}

// issuedPayload returns the issuer-signed payload of a request's newest
// token, verified against the fixture's keys.
func issuedPayload(t *testing.T, f *fixture, client insights.Client, requestID string) (map[string]any, *consent.Attestation) {
	t.Helper()
	_, att, err := f.svc.ClientRequest(context.Background(), client, requestID)
	if err != nil || att == nil {
		t.Fatalf("ClientRequest = %v, %v", att, err)
	}
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.Verify(context.Background(), att.Token, public, attest.VerifyOptions{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	return v.Claims, att
}

func TestDecide_tokenBindsConsent(t *testing.T) {
	f := newFixture(t)
	f.svc.Claims = &windowClaims{from: f.now.Add(-72 * time.Hour), to: f.now.Add(-2 * time.Hour)}
	_, v := f.approve(t, "alice")

	binding, ok, err := attest.ParseConsentBinding(v.Claims)
	if err != nil || !ok {
		t.Fatalf("ParseConsentBinding = %t, %v; want a consent claim", ok, err)
	}
	requests, err := f.svc.Shared(context.Background(), "alice")
	if err != nil || len(requests) != 1 {
		t.Fatalf("Shared = %v, %v", requests, err)
	}
	want := attest.ConsentBinding{ID: requests[0].Request.ID, DataFrom: "2026-12-01T10:00:00Z",
		DataTo: "2026-12-04T08:00:00Z", AsOf: "2026-12-04T10:00:00Z"}
	if binding != want {
		t.Errorf("consent = %+v; want %+v", binding, want)
	}
}

func TestDecide_fullAddressOnlyWhenChosen(t *testing.T) {
	f := newFixture(t)
	f.svc.Claims = &windowClaims{from: f.now.Add(-time.Hour), to: f.now.Add(-time.Hour)}
	ctx := context.Background()
	shop, _, err := f.svc.RegisterClient(ctx, "Address Shop", []insights.ClaimKind{insights.ClaimAddressMatches})
	if err != nil {
		t.Fatal(err)
	}

	for _, disclose := range []bool{false, true} {
		t.Run(fmt.Sprintf("disclose %t", disclose), func(t *testing.T) {
			req, err := f.svc.CreateRequest(ctx, shop, "Delivery address check",
				[]insights.ClaimRequest{{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", FullAddress: true}}, consent.TokenOptions{})
			if err != nil {
				t.Fatal(err)
			}
			preview, err := f.svc.Preview(ctx, "alice", req)
			if err != nil || preview[0].PostalAddress == nil {
				t.Fatalf("preview = %+v, %v; want the address shown to the customer", preview, err)
			}
			if err := f.svc.DecideWith(ctx, "alice", req.ID, consent.Decision{Approve: true, DiscloseAddress: disclose}); err != nil {
				t.Fatal(err)
			}
			claims, att := issuedPayload(t, f, shop, req.ID)
			_, has := claims[attest.PostalAddressClaim]
			if has != disclose {
				t.Errorf("postal_address present = %t; want %t", has, disclose)
			}
			if _, ok := claims["address_matches"]; !ok {
				t.Error("address_matches missing")
			}
			named := strings.Contains(strings.Join(att.ClaimNames, ","), attest.PostalAddressClaim)
			if named != disclose {
				t.Errorf("claim names %v name postal_address = %t; want %t", att.ClaimNames, named, disclose)
			}
		})
	}
}

func newLenderFixture(t *testing.T) (*fixture, insights.Client) {
	t.Helper()
	f := newFixture(t)
	f.svc.Claims = &windowClaims{from: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	lender, _, err := f.svc.RegisterClient(context.Background(), "Demo Lender",
		[]insights.ClaimKind{insights.ClaimAffordability, insights.ClaimAgeOver})
	if err != nil {
		t.Fatal(err)
	}
	return f, lender
}

func TestCreateRequest_consentDuration(t *testing.T) {
	f, lender := newLenderFixture(t)
	f.svc.MaxConsentDuration = 30 * 24 * time.Hour
	afford := []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 3}}
	tests := []struct {
		name     string
		claims   []insights.ClaimRequest
		duration time.Duration
		wantErr  string
	}{
		{"under a day", afford, 23 * time.Hour, "consentDuration: 23h0m0s must be from 1 day to 30 days"},
		{"over the maximum", afford, 31 * 24 * time.Hour, "consentDuration: 31 days must be from 1 day to 30 days"},
		{"fraction of a second", afford, 48*time.Hour + time.Millisecond, "is not whole seconds"},
		{"not affordability", []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, 48 * time.Hour,
			"consentDuration: claims[0] is age_over; only a request for affordability alone"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateRequest(context.Background(), lender, "Loan", tt.claims, consent.TokenOptions{ConsentDuration: tt.duration})
			if insights.ErrorCode(err) != insights.ErrInvalid || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want invalid containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestReissue_longLivedConsent(t *testing.T) {
	f, lender := newLenderFixture(t)
	ctx := context.Background()
	req, err := f.svc.CreateRequest(ctx, lender, "Loan affordability", []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 3}},
		consent.TokenOptions{ConsentDuration: 30 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}

	// Before approval nothing can be issued.
	if _, err := f.svc.Reissue(ctx, lender, req.ID); insights.ErrorCode(err) != insights.ErrConflict {
		t.Errorf("reissue before approval: %v; want conflict", err)
	}
	if _, err := f.svc.Preview(ctx, "alice", req); err != nil {
		t.Fatal(err)
	}
	approvedAt := f.now
	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatal(err)
	}
	stored, err := f.svc.Request(ctx, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := approvedAt.Add(30 * 24 * time.Hour); !stored.ConsentUntil.Equal(want) || stored.ConsentDuration != 30*24*time.Hour {
		t.Errorf("ConsentUntil, ConsentDuration = %v, %v; want %v, 720h", stored.ConsentUntil, stored.ConsentDuration, want)
	}

	// Two weeks later the lender fetches fresh tokens, each with its own
	// jti and status entry, bound to the same consent.
	other, _, err := f.svc.RegisterClient(ctx, "Other Lender", []insights.ClaimKind{insights.ClaimAffordability})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reissue(ctx, other, req.ID); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("another client's reissue: %v; want not_found", err)
	}
	f.now = approvedAt.Add(14 * 24 * time.Hour)
	var tokens []*attest.Verified
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		att, err := f.svc.Reissue(ctx, lender, req.ID)
		if err != nil {
			t.Fatalf("Reissue: %v", err)
		}
		v, err := attest.Verify(ctx, att.Token, public, attest.VerifyOptions{Now: func() time.Time { return f.now }})
		if err != nil {
			t.Fatal(err)
		}
		binding, _, _ := attest.ParseConsentBinding(v.Claims)
		if binding.ID != req.ID || binding.AsOf != f.now.Format(time.RFC3339) {
			t.Errorf("reissued consent = %+v; want id %s as of %s", binding, req.ID, f.now.Format(time.RFC3339))
		}
		if err := f.checkStatus(t, v); err != nil {
			t.Errorf("fresh token status: %v", err)
		}
		tokens = append(tokens, v)
		f.now = f.now.Add(time.Minute)
	}
	if tokens[0].JTI == tokens[1].JTI {
		t.Error("reissued tokens share a jti")
	}
	ref0, _ := attest.ParseStatusReference(tokens[0].Claims)
	ref1, _ := attest.ParseStatusReference(tokens[1].Claims)
	if ref0 == ref1 {
		t.Errorf("reissued tokens share status entry %+v", ref0)
	}

	// A token never outlives its consent.
	f.now = approvedAt.Add(30*24*time.Hour - 3*time.Minute)
	last, err := f.svc.Reissue(ctx, lender, req.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := approvedAt.Add(30 * 24 * time.Hour); !last.ExpiresAt.Equal(want) {
		t.Errorf("last token expires %v; want the consent's end %v", last.ExpiresAt, want)
	}

	// Every issuance is an event of the request.
	history, err := f.svc.History(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	issuedEvents := 0
	for _, step := range history {
		if step.RequestID == req.ID && step.Event == "issued" {
			issuedEvents++
		}
	}
	if issuedEvents != 4 {
		t.Errorf("issued events = %d; want 4 (approval and three reissues)", issuedEvents)
	}

	// Revoking stops issuance and flips every token's entry.
	if err := f.svc.Revoke(ctx, "alice", req.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Reissue(ctx, lender, req.ID); insights.ErrorCode(err) != insights.ErrConflict {
		t.Errorf("reissue after revocation: %v; want conflict", err)
	}
	for i, v := range tokens {
		if err := f.checkStatus(t, v); err == nil {
			t.Errorf("token %d still valid after revocation", i)
		}
	}
}

func TestReissue_afterConsentEnds(t *testing.T) {
	f, lender := newLenderFixture(t)
	ctx := context.Background()
	req, err := f.svc.CreateRequest(ctx, lender, "Loan", []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 3}},
		consent.TokenOptions{ConsentDuration: 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Preview(ctx, "alice", req); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(24 * time.Hour)
	if _, err := f.svc.Reissue(ctx, lender, req.ID); insights.ErrorCode(err) != insights.ErrConflict || !strings.Contains(err.Error(), "is expired") {
		t.Errorf("reissue at the consent's end: %v; want conflict, expired", err)
	}

	// A one-token request cannot be reissued at all.
	single := f.request(t)
	if _, err := f.svc.Reissue(ctx, f.client, single.ID); insights.ErrorCode(err) != insights.ErrConflict ||
		!strings.Contains(err.Error(), "allows one token only") {
		t.Errorf("reissue of a one-token request: %v; want conflict", err)
	}
}

// replica returns a second service on the same storage and keys, as
// another process behind the load balancer would be.
func (f *fixture) replica() *consent.Service {
	return &consent.Service{Engine: f.svc.Engine, Claims: f.svc.Claims, Issuer: f.svc.Issuer,
		Now: f.svc.Now, BaseURL: f.svc.BaseURL, StatusListSize: f.svc.StatusListSize}
}

func TestReplicas_shareAssertionReplayCache(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	other := f.replica()
	token := sign(t, f.claims("shared-1"), jwa.ES256, "es-1", f.es256)

	if _, err := f.svc.AuthenticateClientAssertion(ctx, token); err != nil {
		t.Fatalf("first replica: %v", err)
	}
	_, err := other.AuthenticateClientAssertion(ctx, token)
	if insights.ErrorCode(err) != insights.ErrUnauthorized || !strings.Contains(err.Error(), "jti was already used") {
		t.Errorf("second replica: %v; want the jti rejected as used", err)
	}
}

// TestReplicas_raceOnOneJTI replays one assertion to several replicas at
// once. At most one may accept it. Replicas that see each other's rows all
// reject, which costs a legitimate client nothing, because it sends each
// assertion once.
func TestReplicas_raceOnOneJTI(t *testing.T) {
	f := newAssertionFixture(t)
	ctx := context.Background()
	replicas := []*consent.Service{f.svc, f.replica(), f.replica(), f.replica()}

	for round := range 5 {
		token := sign(t, f.claims(fmt.Sprintf("race-%d", round)), jwa.ES256, "es-1", f.es256)
		var (
			wg       sync.WaitGroup
			mu       sync.Mutex
			accepted int
		)
		for _, svc := range replicas {
			wg.Go(func() {
				if _, err := svc.AuthenticateClientAssertion(ctx, token); err == nil {
					mu.Lock()
					accepted++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if accepted > 1 {
			t.Errorf("round %d: %d replicas accepted one jti; want at most 1", round, accepted)
		}
		t.Logf("round %d: %d of %d replicas accepted", round, accepted, len(replicas))
	}
}

func TestReplicas_statusEntriesNeverCollide(t *testing.T) {
	f := newFixture(t)
	f.svc.StatusListSize = 100
	ctx := context.Background()
	replicas := []*consent.Service{f.svc, f.replica(), f.replica()}

	var requests []insights.AttestationRequest
	for range 9 {
		requests = append(requests, f.request(t))
	}
	var wg sync.WaitGroup
	errs := make(chan error, len(requests))
	for i, req := range requests {
		svc := replicas[i%len(replicas)]
		wg.Go(func() {
			customer := fmt.Sprintf("cust-%d", i)
			if _, err := svc.Preview(ctx, customer, req); err != nil {
				errs <- err
				return
			}
			if err := svc.Decide(ctx, customer, req.ID, true); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	seen := map[attest.StatusReference]string{}
	for _, req := range requests {
		claims, _ := issuedPayload(t, f, f.client, req.ID)
		ref, err := attest.ParseStatusReference(claims)
		if err != nil {
			t.Fatal(err)
		}
		if prev, dup := seen[ref]; dup {
			t.Errorf("requests %s and %s share status entry %+v", prev, req.ID, ref)
		}
		seen[ref] = req.ID
	}

	// A restarted replica starts after every reserved range.
	restarted := f.replica()
	req := f.request(t)
	if _, err := restarted.Preview(ctx, "late", req); err != nil {
		t.Fatal(err)
	}
	if err := restarted.Decide(ctx, "late", req.ID, true); err != nil {
		t.Fatal(err)
	}
	claims, _ := issuedPayload(t, f, f.client, req.ID)
	ref, _ := attest.ParseStatusReference(claims)
	if _, dup := seen[ref]; dup {
		t.Errorf("restarted replica reused status entry %+v", ref)
	}
}

func TestReissue_graphQL(t *testing.T) {
	f := newFixture(t)
	f.svc.Claims = &windowClaims{from: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC), to: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	lender, apiKey, err := f.svc.RegisterClient(ctx, "Demo Lender", []insights.ClaimKind{insights.ClaimAffordability})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: api.NewHandler(api.Options{Consent: f.svc}), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	post := func(query string, variables map[string]any) map[string]any {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
		req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/graphql", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiKey)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
			t.Fatal(err)
		}
		return out
	}

	created := post(`mutation { requestAttestation(input: {purpose: "Loan", claims: [{affordability: {months: 3}}], consentDays: 30}) {
  attestationRequest { id consentExpiresAt } userErrors { field message } } }`, nil)
	request := created["data"].(map[string]any)["requestAttestation"].(map[string]any)["attestationRequest"].(map[string]any)
	id := request["id"].(string)
	if request["consentExpiresAt"] != nil {
		t.Errorf("consentExpiresAt before approval = %v; want null", request["consentExpiresAt"])
	}
	stored, err := f.svc.Request(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Preview(ctx, "alice", stored); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, "alice", id, true); err != nil {
		t.Fatal(err)
	}

	f.now = f.now.Add(7 * 24 * time.Hour)
	reissued := post(`mutation($id: ID!) { reissueAttestation(requestId: $id) { token format jti expiresAt } }`, map[string]any{"id": id})
	att, ok := reissued["data"].(map[string]any)["reissueAttestation"].(map[string]any)
	if !ok || att["format"] != "JWS" || att["token"] == "" {
		t.Fatalf("reissueAttestation = %v", reissued)
	}
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.Verify(ctx, att["token"].(string), public, attest.VerifyOptions{Audience: lender.ID, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("reissued token: %v", err)
	}
	if binding, _, _ := attest.ParseConsentBinding(v.Claims); binding.ID != id {
		t.Errorf("reissued token binds %q; want %q", binding.ID, id)
	}

	unknown := post(`mutation { reissueAttestation(requestId: "req_unknown") { jti } }`, nil)
	if !strings.Contains(mustJSONString(t, unknown), "NOT_FOUND") {
		t.Errorf("unknown request: %v; want NOT_FOUND", unknown)
	}
}

func mustJSONString(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestCreateRequest_claimOptions(t *testing.T) {
	f := newFixture(t)
	shop, _, err := f.svc.RegisterClient(context.Background(), "Options Shop",
		[]insights.ClaimKind{insights.ClaimAgeOver, insights.ClaimAddressMatches, insights.ClaimFundsAtLeast})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claim   insights.ClaimRequest
		wantErr string
	}{
		{"band on age", insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18, SalaryAmountBand: true}, "claims[0].SalaryAmountBand: only a next_salary claim has an amount band, not age_over"},
		{"average on age", insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18, AverageDays: 7}, "claims[0].AverageDays: only a funds_at_least claim averages balances or counts an overdraft, not age_over"},
		{"negative average", insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: "GBP", AverageDays: -1}, "claims[0].AverageDays: -1 is outside 0 to 366"},
		{"postcode and address", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "WD17 1AA", Address: "2 High St"}, "got 2"},
		{"nothing to compare", insights.ClaimRequest{Kind: insights.ClaimAddressMatches}, "got 0"},
		{"unknown scope", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: "county"}, `claims[0].AddressScope: "county" is not`},
		{"scope with full address", insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry, FullAddress: true}, "claims[0].FullAddress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.svc.CreateRequest(context.Background(), shop, "Checkout", []insights.ClaimRequest{tt.claim}, consent.TokenOptions{})
			if insights.ErrorCode(err) != insights.ErrInvalid || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v; want invalid containing %q", err, tt.wantErr)
			}
			if err != nil && strings.Contains(err.Error(), "WD17") {
				t.Errorf("error %q repeats the postcode", err)
			}
		})
	}
}
