package feeds

import (
	"context"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
)

// approve follows a renewal's authorisation URL with the bank's
// non-interactive approval for customer and delivers the redirect.
func (e *env) approve(authURL, customer string) error {
	e.t.Helper()
	q := e.redirect(authURL + "&" + url.Values{"login_hint": {customer}, "prompt": {"none"}}.Encode())
	_, err := e.svc.Callback(context.Background(), q.Get("state"), q.Get("code"), q.Get("error"))
	return err
}

func (e *env) consents(customer string) map[string]*consentRow {
	e.t.Helper()
	rows, err := e.svc.readConsents(context.Background(), "customer_id = {c:String}", store.P("c", customer))
	if err != nil {
		e.t.Fatalf("read consents of %s: %v", customer, err)
	}
	out := map[string]*consentRow{}
	for _, r := range rows {
		out[r.ConsentID] = r
	}
	return out
}

func TestRenew(t *testing.T) {
	tests := []struct {
		name string
		// expire moves the old consent past its expiry before the renewal;
		// otherwise it is still authorised, inside the reconfirmation window.
		expire bool
	}{
		{name: "needs renewal", expire: true},
		{name: "still authorised"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := context.Background()
			if _, err := e.link("alice"); err != nil {
				t.Fatalf("link alice: %v", err)
			}
			old := e.only("alice")
			if tt.expire {
				e.setNow(old.ExpiresAt.Add(time.Hour))
				if _, err := e.svc.Refresh(ctx, old.ConsentID); !errors.Is(err, ErrNeedsRenewal) {
					t.Fatalf("Refresh past expiry: %v, want ErrNeedsRenewal", err)
				}
				e.now.Store(nil)
			}

			// Another customer's consent, and an unknown one, are not found.
			for _, c := range []struct{ customer, id string }{{"bob", old.ConsentID}, {"alice", "bc_unknown"}} {
				if _, err := e.svc.Renew(ctx, c.customer, c.id); !errors.Is(err, ErrConsentNotFound) {
					t.Errorf("Renew(%s, %s) = %v, want ErrConsentNotFound", c.customer, c.id, err)
				}
			}
			if got := e.consents("alice"); len(got) != 1 {
				t.Fatalf("after refused renewals alice has %d consents, want 1", len(got))
			}

			authURL, err := e.svc.Renew(ctx, "alice", old.ConsentID)
			if err != nil {
				t.Fatalf("Renew: %v", err)
			}
			if err := e.approve(authURL, "alice"); err != nil {
				t.Fatalf("approve renewal: %v", err)
			}

			rows := e.consents("alice")
			if len(rows) != 2 {
				t.Fatalf("alice has %d consents after renewal, want 2", len(rows))
			}
			if got := rows[old.ConsentID]; got.Status != StatusReplaced || got.AccessToken != "" || got.RefreshToken != "" {
				t.Errorf("old consent: status %s, tokens kept %v; want replaced without tokens", got.Status, got.AccessToken != "")
			}
			var renewed *consentRow
			for id, r := range rows {
				if id != old.ConsentID {
					renewed = r
				}
			}
			if renewed.Status != StatusAuthorised || renewed.BankID != old.BankID || renewed.ExpiresAt.Before(old.ExpiresAt) {
				t.Errorf("new consent = status %s, bank %s, expires %s; want authorised at %s, expiring no earlier than %s",
					renewed.Status, renewed.BankID, renewed.ExpiresAt, old.BankID, old.ExpiresAt)
			}

			// Pulls continue under the new consent only.
			if _, err := e.svc.Refresh(ctx, renewed.ConsentID); err != nil {
				t.Errorf("Refresh of the new consent: %v", err)
			}
			if _, err := e.svc.Refresh(ctx, old.ConsentID); !errors.Is(err, ErrNotAuthorised) {
				t.Errorf("Refresh of the replaced consent = %v, want ErrNotAuthorised", err)
			}
			if _, err := e.svc.Renew(ctx, "alice", old.ConsentID); !errors.Is(err, ErrNotRenewable) {
				t.Errorf("Renew of the replaced consent = %v, want ErrNotRenewable", err)
			}
		})
	}
}

// A renewal the customer declines at the bank leaves the old consent as it
// was.
func TestRenew_declined(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.link("alice"); err != nil {
		t.Fatalf("link alice: %v", err)
	}
	old := e.only("alice")
	authURL, err := e.svc.Renew(ctx, "alice", old.ConsentID)
	if err != nil {
		t.Fatalf("Renew: %v", err)
	}
	q := e.redirect(authURL + "&" + url.Values{"login_hint": {"nobody"}, "prompt": {"none"}}.Encode())
	if _, err := e.svc.Callback(ctx, q.Get("state"), q.Get("code"), q.Get("error")); err == nil {
		t.Fatal("Callback of a declined renewal succeeded")
	}
	if got := e.consents("alice")[old.ConsentID]; got.Status != StatusAuthorised {
		t.Errorf("old consent after a declined renewal: status %s, want authorised", got.Status)
	}
}
