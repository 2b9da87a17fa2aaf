package consentui

import (
	"context"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// The fake's shared proofs are its requests with status issued or revoked:
// each was issued when it was created and is valid for its token lifetime
// from then.

func (f *fakeService) Shared(_ context.Context, customerID string) ([]consent.SharedProof, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	var out []consent.SharedProof
	for _, id := range slices.Sorted(maps.Keys(f.requests)) {
		req := f.requests[id]
		if req.CustomerID != customerID || (req.Status != insights.RequestIssued && req.Status != insights.RequestRevoked) {
			continue
		}
		proof := consent.SharedProof{Request: req, IssuedAt: req.CreatedAt, ExpiresAt: req.CreatedAt.Add(req.TokenLifetime)}
		if req.Status == insights.RequestRevoked {
			proof.RevokedAt = testNow
		}
		out = append(out, proof)
	}
	return out, nil
}

func (f *fakeService) SharedProof(ctx context.Context, customerID, requestID string) (consent.SharedProof, error) {
	proofs, err := f.Shared(ctx, customerID)
	if err != nil {
		return consent.SharedProof{}, err
	}
	for _, p := range proofs {
		if p.Request.ID == requestID {
			return p, nil
		}
	}
	return consent.SharedProof{}, insights.Errorf(insights.ErrNotFound, "shared proof not found")
}

func (f *fakeService) Revoke(_ context.Context, customerID, requestID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	f.revocations = append(f.revocations, customerID+"/"+requestID)
	req, ok := f.requests[requestID]
	if !ok || req.CustomerID != customerID {
		return insights.Errorf(insights.ErrNotFound, "shared proof not found")
	}
	req.Status = insights.RequestRevoked
	f.requests[requestID] = req
	return nil
}

func (f *fakeService) Revocations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.revocations)
}

func TestShared_listsProofs(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	resp := env.do(t, c, http.MethodGet, "/consent/shared", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d; want 200:\n%s", resp.Status, resp.Body)
	}
	if got := h1Of(resp.Body); got != "Proofs you have shared" {
		t.Errorf("h1 = %q", got)
	}
	claims := textsOf(resp.Body, "shared-claim")
	want := []string{"Over 18", "Funds of at least £500.00 across your GBP accounts", "Your address matches postcode SW1A 1AA", "Next salary expected"}
	if len(claims) != len(want) {
		t.Fatalf("claims = %q; want %q", claims, want)
	}
	if claims[0] != want[0] || claims[2] != want[2] {
		t.Errorf("claims = %q; want %q", claims, want)
	}
	if status := textsOf(resp.Body, "shared-status"); len(status) != 1 || !strings.HasPrefix(status[0], "Valid until 4 December 2026 at 10:09") {
		t.Errorf("status = %q; want valid until 10:09 GMT", status)
	}
	if !strings.Contains(resp.Body, `href="/consent/shared/req-decided/revoke"`) {
		t.Errorf("no revoke link:\n%s", resp.Body)
	}
	if strings.Contains(resp.Body, "req-bob") {
		t.Error("alice's list shows bob's request")
	}

	// The list is one click from the start page.
	start := env.do(t, c, http.MethodGet, "/consent/", nil)
	if !strings.Contains(start.Body, `href="/consent/shared"`) {
		t.Error("the start page has no link to the shared proofs")
	}
}

func TestRevoke_confirmThenRevoke(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	confirm := env.do(t, c, http.MethodGet, "/consent/shared/req-decided/revoke", nil)
	if confirm.Status != http.StatusOK {
		t.Fatalf("confirmation page: status %d:\n%s", confirm.Status, confirm.Body)
	}
	if got := h1Of(confirm.Body); got != "Revoke the proof shared with Demo Shop" {
		t.Errorf("h1 = %q", got)
	}
	consequence := textsOf(confirm.Body, "revoke-consequence")
	if len(consequence) != 1 || !strings.Contains(consequence[0], "You cannot undo this") {
		t.Errorf("consequence = %q; want the statement that it cannot be undone", consequence)
	}
	if len(env.service.Revocations()) != 0 {
		t.Fatal("opening the confirmation page revoked the proof")
	}

	resp := env.do(t, c, http.MethodPost, "/consent/shared/req-decided/revoke", url.Values{csrfField: {csrfTokenOf(t, confirm.Body)}})
	if resp.Status != http.StatusOK || h1Of(resp.Body) != "Proof revoked" {
		t.Fatalf("revoke: status %d, h1 %q", resp.Status, h1Of(resp.Body))
	}
	if got := env.service.Revocations(); !slices.Equal(got, []string{"alice/req-decided"}) {
		t.Errorf("revocations = %q; want alice/req-decided", got)
	}

	// The list now states the revocation and offers no second revoke.
	list := env.do(t, c, http.MethodGet, "/consent/shared", nil)
	if status := textsOf(list.Body, "shared-status"); len(status) != 1 || !strings.HasPrefix(status[0], "Revoked on") {
		t.Errorf("status after revoking = %q", status)
	}
	if strings.Contains(list.Body, "/revoke") {
		t.Error("a revoked proof still has a revoke link")
	}
}

func TestRevoke_rejectsBadCSRF(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	for name, form := range map[string]url.Values{
		"missing": {},
		"wrong":   {csrfField: {"not-the-token"}},
	} {
		resp := env.do(t, c, http.MethodPost, "/consent/shared/req-decided/revoke", form)
		if resp.Status != http.StatusForbidden {
			t.Errorf("%s CSRF token: status %d; want 403", name, resp.Status)
		}
	}
	if got := env.service.Revocations(); len(got) != 0 {
		t.Errorf("revocations = %q; want none", got)
	}
}

func TestRevoke_otherCustomerNotFound(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "bob")

	confirm := env.do(t, c, http.MethodGet, "/consent/shared/req-decided/revoke", nil)
	if confirm.Status != http.StatusNotFound {
		t.Errorf("bob opens alice's proof: status %d; want 404", confirm.Status)
	}
	list := env.do(t, c, http.MethodGet, "/consent/shared", nil)
	resp := env.do(t, c, http.MethodPost, "/consent/shared/req-decided/revoke", url.Values{csrfField: {csrfTokenOf(t, list.Body)}})
	if resp.Status != http.StatusNotFound {
		t.Errorf("bob revokes alice's proof: status %d; want 404", resp.Status)
	}
	if got := env.service.Revocations(); len(got) != 0 {
		t.Errorf("revocations = %q; want none", got)
	}
}

func TestShared_signedOutRedirects(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	resp := env.do(t, c, http.MethodGet, "/consent/shared", nil)
	if resp.Status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/consent/signin") {
		t.Errorf("signed out: status %d, Location %q; want 303 to the sign-in", resp.Status, resp.Header.Get("Location"))
	}
}
