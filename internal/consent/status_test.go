package consent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store"
)

// approve has customer open and approve a new request, and returns the
// request and its verified token.
func (f *fixture) approve(t *testing.T, customer string) (insights.AttestationRequest, *attest.Verified) {
	t.Helper()
	ctx := context.Background()
	req := f.request(t)
	if _, err := f.svc.Preview(ctx, customer, req); err != nil {
		t.Fatalf("preview: %v", err)
	}
	if err := f.svc.Decide(ctx, customer, req.ID, true); err != nil {
		t.Fatalf("approve: %v", err)
	}
	_, att, err := f.svc.ClientRequest(ctx, f.client, req.ID)
	if err != nil || att == nil {
		t.Fatalf("fetch token: %v, %v", att, err)
	}
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.Verify(ctx, att.Token, public, attest.VerifyOptions{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("verify issued token: %v", err)
	}
	return req, v
}

// fetchLocal serves the service's own Status List Tokens to CheckStatus.
func (f *fixture) fetchLocal(ctx context.Context, uri string) ([]byte, error) {
	id, ok := strings.CutPrefix(uri, "http://127.0.0.1:8080/statuslists/")
	if !ok {
		return nil, errors.New("foreign status list URI " + uri)
	}
	token, _, err := f.svc.StatusListToken(ctx, id)
	return []byte(token), err
}

func (f *fixture) checkStatus(t *testing.T, v *attest.Verified) error {
	t.Helper()
	public, err := f.keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	return attest.CheckStatus(context.Background(), v.Claims, f.fetchLocal, public,
		attest.StatusOptions{Now: func() time.Time { return f.now }})
}

func TestAllocateStatus_uniqueAcrossRestart(t *testing.T) {
	f := newFixture(t)
	f.svc.StatusListSize = 3

	var got []attest.StatusReference
	for i := range 4 {
		if i == 2 {
			// A new service on the same storage, as after a restart.
			restarted := &consent.Service{Engine: f.svc.Engine, Claims: f.svc.Claims, Issuer: f.svc.Issuer,
				Now: f.svc.Now, BaseURL: f.svc.BaseURL, StatusListSize: 3}
			f.svc = restarted
		}
		_, v := f.approve(t, "alice")
		ref, err := attest.ParseStatusReference(v.Claims)
		if err != nil {
			t.Fatalf("token %d: %v", i, err)
		}
		got = append(got, ref)
	}

	// The first service reserved entries 0 to 2 of list 1. The restarted
	// one cannot tell that the reservation is no longer in use, so it
	// starts a new list rather than reuse entry 2.
	want := []attest.StatusReference{
		{Index: 0, URI: "http://127.0.0.1:8080/statuslists/1"},
		{Index: 1, URI: "http://127.0.0.1:8080/statuslists/1"},
		{Index: 0, URI: "http://127.0.0.1:8080/statuslists/2"},
		{Index: 1, URI: "http://127.0.0.1:8080/statuslists/2"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("status entries = %+v; want %+v", got, want)
	}
}

func TestRevoke_flipsOneBit(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	kept, keptToken := f.approve(t, "alice")
	revoked, revokedToken := f.approve(t, "alice")

	if err := f.checkStatus(t, revokedToken); err != nil {
		t.Fatalf("status before revocation: %v; want valid", err)
	}
	if err := f.svc.Revoke(ctx, "alice", revoked.ID); err != nil {
		t.Fatalf("Revoke: %v", err)
	}

	list, err := f.svc.StatusList(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	var set []uint64
	for idx := range list.Len() {
		if status, _ := list.Get(idx); status != attest.StatusValid {
			set = append(set, idx)
		}
	}
	ref, _ := attest.ParseStatusReference(revokedToken.Claims)
	if !slices.Equal(set, []uint64{ref.Index}) {
		t.Errorf("entries set after one revocation = %v; want only [%d]", set, ref.Index)
	}
	if err := f.checkStatus(t, revokedToken); !errors.Is(err, attest.ErrRevoked) {
		t.Errorf("status of the revoked token: %v; want ErrRevoked", err)
	}
	if err := f.checkStatus(t, keptToken); err != nil {
		t.Errorf("status of the other token: %v; want valid", err)
	}

	got, err := f.svc.Request(ctx, revoked.ID)
	if err != nil || got.Status != insights.RequestRevoked {
		t.Errorf("request after Revoke: status %s, %v; want revoked", got.Status, err)
	}
	if got, _ := f.svc.Request(ctx, kept.ID); got.Status != insights.RequestIssued {
		t.Errorf("other request: status %s; want issued", got.Status)
	}
}

func TestRevoke_idempotentAndAudited(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	req, _ := f.approve(t, "alice")

	for range 2 {
		if err := f.svc.Revoke(ctx, "alice", req.ID); err != nil {
			t.Fatalf("Revoke: %v", err)
		}
	}

	rows, err := f.svc.Engine.Query(ctx, `SELECT actor, claim_names, toUnixTimestamp64Milli(at)
FROM audit_log WHERE request_id = {id:String} AND action = 'revoked'`, store.P("id", req.ID))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var entries int
	for rows.Next() {
		var actor string
		var names []string
		var at int64
		if err := rows.Scan(&actor, &names, &at); err != nil {
			t.Fatal(err)
		}
		entries++
		if actor != "customer" || !slices.Equal(names, []string{"age_over_18"}) || at != f.now.UnixMilli() {
			t.Errorf("audit row = %s %v %d; want customer [age_over_18] %d", actor, names, at, f.now.UnixMilli())
		}
	}
	if entries != 1 {
		t.Errorf("audit rows for revoked = %d; want 1 after revoking twice", entries)
	}
}

func TestRevoke_rejects(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	issued, _ := f.approve(t, "alice")
	pending := f.request(t)
	if _, err := f.svc.Preview(ctx, "alice", pending); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		customer  string
		requestID string
		want      string
	}{
		{"another customer's proof", "bob", issued.ID, insights.ErrNotFound},
		{"unknown request", "alice", "req_missing", insights.ErrNotFound},
		{"request not yet decided", "alice", pending.ID, insights.ErrConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := f.svc.Revoke(ctx, tt.customer, tt.requestID)
			if code := insights.ErrorCode(err); code != tt.want {
				t.Errorf("Revoke: %v (code %q); want code %q", err, code, tt.want)
			}
		})
	}
	if got, _ := f.svc.Request(ctx, issued.ID); got.Status != insights.RequestIssued {
		t.Errorf("after bob's attempt: status %s; want issued", got.Status)
	}
}

func TestShared_listsCustomerProofs(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, _ := f.approve(t, "alice")
	f.now = f.now.Add(time.Minute)
	second, _ := f.approve(t, "alice")
	f.approve(t, "bob")
	if err := f.svc.Revoke(ctx, "alice", first.ID); err != nil {
		t.Fatal(err)
	}

	proofs, err := f.svc.Shared(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(proofs) != 2 || proofs[0].Request.ID != second.ID || proofs[1].Request.ID != first.ID {
		t.Fatalf("Shared(alice) = %+v; want the second then the first request", proofs)
	}
	if proofs[0].Revoked() || !proofs[1].Revoked() || !proofs[1].RevokedAt.Equal(f.now) {
		t.Errorf("revoked flags = %v, %v at %s; want false, true at %s", proofs[0].Revoked(), proofs[1].Revoked(), proofs[1].RevokedAt, f.now)
	}
	if !slices.Equal(proofs[0].ClaimNames, []string{"age_over_18"}) || proofs[0].Request.ClientName != "Demo Shop" {
		t.Errorf("proof = %+v; want claim age_over_18 from Demo Shop", proofs[0])
	}

	if _, err := f.svc.SharedProof(ctx, "bob", first.ID); insights.ErrorCode(err) != insights.ErrNotFound {
		t.Errorf("SharedProof of alice's request for bob: %v; want not_found", err)
	}
}

func TestStatusListToken_served(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.approve(t, "alice")

	token, ttl, err := f.svc.StatusListToken(ctx, "1")
	if err != nil {
		t.Fatal(err)
	}
	if ttl != 5*time.Minute {
		t.Errorf("ttl = %s; want the 5m default", ttl)
	}
	public, _ := f.keys.PublicSet()
	list, err := attest.VerifyStatusListToken(ctx, token, public, "http://127.0.0.1:8080/statuslists/1",
		attest.StatusOptions{Now: func() time.Time { return f.now }})
	if err != nil {
		t.Fatalf("VerifyStatusListToken: %v", err)
	}
	if list.Len() != 1<<20 {
		t.Errorf("list Len() = %d; want 2^20", list.Len())
	}

	for _, id := range []string{"0", "01", "2", "abc", "-1", "1.0", ""} {
		if _, _, err := f.svc.StatusListToken(ctx, id); insights.ErrorCode(err) != insights.ErrNotFound {
			t.Errorf("StatusListToken(%q): %v; want not_found", id, err)
		}
	}
}
