package consent_test

import (
	"context"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }

// fixedClaims derives every claim as available and true.
type fixedClaims struct{ calls atomic.Int64 }

func (f *fixedClaims) Derive(_ context.Context, _ string, reqs []insights.ClaimRequest, now time.Time) ([]insights.ClaimResult, error) {
	f.calls.Add(1)
	out := make([]insights.ClaimResult, len(reqs))
	for i, r := range reqs {
		out[i] = insights.ClaimResult{Request: r, Available: true, Holds: true, AsOf: now}
	}
	return out, nil
}

type fixture struct {
	svc    *consent.Service
	keys   *attest.KeySet
	client insights.Client
	apiKey string
	now    time.Time
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	keys, err := attest.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{keys: keys, now: time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)}
	now := func() time.Time { return f.now }
	f.svc = &consent.Service{
		Engine:  storetest.New(t),
		Claims:  &fixedClaims{},
		Issuer:  &attest.Issuer{Keys: keys, Issuer: "http://127.0.0.1:8080", Now: now},
		Now:     now,
		BaseURL: "http://127.0.0.1:8080",
	}
	f.client, f.apiKey, err = f.svc.RegisterClient(context.Background(), "Demo Shop",
		[]insights.ClaimKind{insights.ClaimAgeOver, insights.ClaimFundsAtLeast})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) request(t *testing.T) insights.AttestationRequest {
	t.Helper()
	req, err := f.svc.CreateRequest(context.Background(), f.client, "Age check at checkout",
		[]insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, consent.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return req
}

func TestClients_authenticate(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()

	got, err := f.svc.AuthenticateClient(ctx, f.apiKey)
	if err != nil || got.ID != f.client.ID || got.Name != "Demo Shop" || len(got.AllowedClaims) != 2 {
		t.Fatalf("AuthenticateClient = %+v, %v", got, err)
	}
	for _, key := range []string{"", "ik_wrong", strings.TrimPrefix(f.apiKey, "ik_")} {
		if _, err := f.svc.AuthenticateClient(ctx, key); insights.ErrorCode(err) != insights.ErrUnauthorized {
			t.Errorf("key %q: error code %q, want unauthorized", key, insights.ErrorCode(err))
		}
	}

	if err := f.svc.SetClientDisabled(ctx, f.client.ID, true); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.AuthenticateClient(ctx, f.apiKey); insights.ErrorCode(err) != insights.ErrUnauthorized {
		t.Errorf("disabled client authenticated: %v", err)
	}
}

func TestCreateRequest_claimNotAllowed(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.CreateRequest(context.Background(), f.client, "Rent check",
		[]insights.ClaimRequest{{Kind: insights.ClaimNextSalaryDate}}, consent.TokenOptions{})
	if insights.ErrorCode(err) != insights.ErrForbidden {
		t.Fatalf("error = %v, want forbidden", err)
	}
}

func TestDecide_approveIssuesTokenForClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)

	if _, err := f.svc.Preview(ctx, "alice", req); err != nil {
		t.Fatalf("preview: %v", err)
	}
	pending, err := f.svc.Pending(ctx, "alice")
	if err != nil || len(pending) != 1 || pending[0].ID != req.ID || pending[0].ClientName != "Demo Shop" {
		t.Fatalf("Pending = %+v, %v", pending, err)
	}
	if _, err := f.svc.Preview(ctx, "bob", req); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("another customer's preview: %v, want not_found", err)
	}
	if err := f.svc.Decide(ctx, "bob", req.ID, true); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("another customer's decision: %v, want not_found", err)
	}

	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatalf("approve: %v", err)
	}
	got, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
	if err != nil || got.Status != insights.RequestIssued || att == nil {
		t.Fatalf("ClientRequest = %+v, %+v, %v", got, att, err)
	}

	set, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.Verify(ctx, att.Token, set, attest.VerifyOptions{Audience: f.client.ID, Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if v.Claims["age_over_18"] != true {
		t.Errorf("claims = %v, want age_over_18 true", v.Claims)
	}

	other, _, err := f.svc.RegisterClient(ctx, "Other Shop", []insights.ClaimKind{insights.ClaimAgeOver})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.ClientRequest(ctx, other, req.ID); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("other client read the request: %v", err)
	}
	if err := f.svc.Decide(ctx, "alice", req.ID, false); insights.ErrorCode(err) != insights.ErrConflict {
		t.Errorf("second decision: %v, want conflict", err)
	}
}

func TestDecide_denyIssuesNothing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)

	if err := f.svc.Decide(ctx, "alice", req.ID, false); err != nil {
		t.Fatalf("deny: %v", err)
	}
	got, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
	if err != nil || got.Status != insights.RequestDenied || att != nil {
		t.Fatalf("ClientRequest = %+v, %+v, %v", got, att, err)
	}
}

func TestRequest_expires(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req := f.request(t)

	f.now = f.now.Add(16 * time.Minute)
	got, err := f.svc.Request(ctx, req.ID)
	if err != nil || got.Status != insights.RequestExpired {
		t.Fatalf("Request = %+v, %v; want expired", got, err)
	}
	if err := f.svc.Decide(ctx, "alice", req.ID, true); insights.ErrorCode(err) != insights.ErrConflict {
		t.Errorf("approving an expired request: %v, want conflict", err)
	}
}

func TestAuditLog_namesClaimsNotValues(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req, err := f.svc.CreateRequest(ctx, f.client, "Deposit check",
		[]insights.ClaimRequest{{Kind: insights.ClaimFundsAtLeast, Amount: 50000000, Currency: "GBP"}}, consent.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatal(err)
	}

	rows, err := f.svc.Engine.Query(ctx, "SELECT action, actor, arrayStringConcat(claim_names, ',') FROM audit_log ORDER BY at, action")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var actions []string
	for rows.Next() {
		var action, actor, names string
		if err := rows.Scan(&action, &actor, &names); err != nil {
			t.Fatal(err)
		}
		actions = append(actions, action)
		if names != "funds_at_least" {
			t.Errorf("%s: claim names %q, want funds_at_least", action, names)
		}
	}
	if strings.Join(actions, ",") != "approved,issued,requested" && strings.Join(actions, ",") != "requested,approved,issued" {
		t.Errorf("audit actions = %v", actions)
	}
}

func TestExpireRequests_recordsLapse(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	lapsed := f.request(t)
	f.now = f.now.Add(10 * time.Minute)
	fresh := f.request(t)

	f.now = f.now.Add(6 * time.Minute) // past the first request's 15 minutes only
	n, err := f.svc.ExpireRequests(ctx)
	if err != nil || n != 1 {
		t.Fatalf("ExpireRequests = %d, %v; want 1", n, err)
	}
	if n, err := f.svc.ExpireRequests(ctx); err != nil || n != 0 {
		t.Errorf("second ExpireRequests = %d, %v; want 0", n, err)
	}

	f.now = f.now.Add(-time.Hour) // the stored event decides, not the clock
	if got, err := f.svc.Request(ctx, lapsed.ID); err != nil || got.Status != insights.RequestExpired {
		t.Errorf("lapsed request: %+v, %v; want expired", got.Status, err)
	}
	if got, err := f.svc.Request(ctx, fresh.ID); err != nil || got.Status != insights.RequestPending {
		t.Errorf("fresh request: %+v, %v; want requested", got.Status, err)
	}
}

func TestCreateRequest_textWithEscapesReadsBack(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	client, _, err := f.svc.RegisterClient(ctx, "Letting Agent", []insights.ClaimKind{insights.ClaimAddressMatches})
	if err != nil {
		t.Fatal(err)
	}
	address := "Flat 3\n14 \"Larchfield\" Road\\Leeds\tLS6 2QT\\"
	purpose := "Tenancy check\\n for \"Flat 3\"\n"
	req, err := f.svc.CreateRequest(ctx, client, purpose,
		[]insights.ClaimRequest{{Kind: insights.ClaimAddressMatches, Address: address}}, consent.TokenOptions{})
	if err != nil {
		t.Fatal(err)
	}

	got, _, err := f.svc.ClientRequest(ctx, client, req.ID)
	if err != nil {
		t.Fatalf("read back: %v", err)
	}
	if got.Purpose != purpose {
		t.Errorf("purpose = %q, want %q", got.Purpose, purpose)
	}
	if len(got.Claims) != 1 || got.Claims[0].Address != address {
		t.Errorf("claims = %+v, want one address claim with %q", got.Claims, address)
	}
}
