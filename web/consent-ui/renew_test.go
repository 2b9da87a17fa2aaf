package consentui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

// fakeAuthorize is the bank authorisation page the fake's renewals return.
const fakeAuthorize = "http://127.0.0.1:9/authorize?request=renewal"

func (f *fakeService) RenewBank(_ context.Context, customerID, linkID string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return "", f.failWith
	}
	for _, link := range f.bankLinks[customerID] {
		if link.ID == linkID {
			f.renewals = append(f.renewals, customerID+"/"+linkID)
			return fakeAuthorize + "&link=" + url.QueryEscape(linkID), nil
		}
	}
	return "", insights.Errorf(insights.ErrNotFound, "bank link not found")
}

func (f *fakeService) Renewals() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.renewals)
}

func TestRenewable(t *testing.T) {
	tests := []struct {
		name string
		link BankLink
		want bool
	}{
		{"authorised, far from expiry", BankLink{Status: BankAuthorised, ExpiresAt: testNow.Add(60 * 24 * time.Hour)}, false},
		{"authorised, inside the window", BankLink{Status: BankAuthorised, ExpiresAt: testNow.Add(10 * 24 * time.Hour)}, true},
		{"authorised, window starts now", BankLink{Status: BankAuthorised, ExpiresAt: testNow.Add(RenewalWindow)}, true},
		{"authorised, past expiry", BankLink{Status: BankAuthorised, ExpiresAt: testNow.Add(-time.Hour)}, true},
		{"authorised, no expiry", BankLink{Status: BankAuthorised}, false},
		{"needs renewal", BankLink{Status: BankNeedsRenewal}, true},
		{"expired", BankLink{Status: BankExpired}, true},
		{"revoked", BankLink{Status: BankRevoked}, true},
		{"replaced", BankLink{Status: BankReplaced}, false},
		{"awaiting", BankLink{Status: BankAwaitingAuthorisation}, false},
		{"rejected", BankLink{Status: BankRejected}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := renewable(tt.link, testNow); got != tt.want {
				t.Errorf("renewable = %v; want %v", got, tt.want)
			}
		})
	}
}

func TestBanks_renewButtons(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	env.service.mu.Lock()
	env.service.bankLinks["alice"] = append(env.service.bankLinks["alice"],
		BankLink{ID: "link-soon", BankName: "Soon Bank", Status: BankAuthorised, ExpiresAt: testNow.Add(5 * 24 * time.Hour)},
		BankLink{ID: "link-replaced", BankName: "Demo Bank", Status: BankReplaced, ExpiresAt: testNow.Add(-time.Hour)})
	env.service.mu.Unlock()

	resp := env.do(t, c, http.MethodGet, "/consent/banks?lang=en", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status %d:\n%s", resp.Status, resp.Body)
	}
	token := csrfTokenOf(t, resp.Body)
	for _, id := range []string{"link-old", "link-gone", "link-soon"} {
		form := `<form method="post" action="/consent/banks/` + id + `/renew">`
		if !strings.Contains(resp.Body, form) {
			t.Errorf("no Renew form for %s:\n%s", id, resp.Body)
		}
	}
	for _, id := range []string{"link-demo", "link-replaced"} {
		if strings.Contains(resp.Body, id+"/renew") {
			t.Errorf("%s has a Renew form; want none", id)
		}
	}
	if strings.Contains(resp.Body, "link-replaced/unlink") {
		t.Error("a replaced link has an Unlink link")
	}
	if !strings.Contains(resp.Body, `value="`+token+`"`) || !strings.Contains(resp.Body, ">Renew Old Bank</button>") {
		t.Errorf("Renew form lacks the CSRF token or its label:\n%s", resp.Body)
	}
	statuses := textsOf(resp.Body, "bank-status")
	if len(statuses) != 5 || statuses[4] != "Replaced by a newer link" {
		t.Errorf("statuses = %q; want the last one Replaced by a newer link", statuses)
	}

	zh := env.do(t, c, http.MethodGet, "/consent/banks?lang=zh-CN", nil)
	if !strings.Contains(zh.Body, ">续期Old Bank</button>") || !slices.Contains(textsOf(zh.Body, "bank-status"), "已由新的关联取代") {
		t.Errorf("the Chinese page lacks the Renew button or the replaced status:\n%s", zh.Body)
	}
}

func TestRenew_sendsToBank(t *testing.T) {
	tests := []struct {
		lang, h1, link string
	}{
		{"en", "Continue to Old Bank", "Continue to Old Bank"},
		{"zh-CN", "前往Old Bank", "前往Old Bank"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")
			list := env.do(t, c, http.MethodGet, "/consent/banks?lang="+tt.lang, nil)

			resp := env.do(t, c, http.MethodPost, "/consent/banks/link-old/renew", url.Values{csrfField: {csrfTokenOf(t, list.Body)}})
			if resp.Status != http.StatusOK {
				t.Fatalf("renew: status %d; want 200:\n%s", resp.Status, resp.Body)
			}
			target := fakeAuthorize + "&link=link-old"
			if got := resp.Header.Get("Refresh"); got != "0; url="+target {
				t.Errorf("Refresh header = %q; want one sending the browser to the bank", got)
			}
			if got := h1Of(resp.Body); got != tt.h1 {
				t.Errorf("h1 = %q; want %q", got, tt.h1)
			}
			escaped := strings.ReplaceAll(target, "&", "&amp;")
			if !strings.Contains(resp.Body, `<a href="`+escaped+`">`+tt.link+`</a>`) {
				t.Errorf("no link to the bank:\n%s", resp.Body)
			}
			if got := env.service.Renewals(); !slices.Equal(got, []string{"alice/link-old"}) {
				t.Errorf("renewals = %q; want alice/link-old", got)
			}
		})
	}
}

func TestRenew_refusals(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	list := env.do(t, c, http.MethodGet, "/consent/banks", nil)
	token := csrfTokenOf(t, list.Body)

	tests := []struct {
		name, path string
		form       url.Values
		status     int
	}{
		{"missing CSRF token", "/consent/banks/link-old/renew", url.Values{}, http.StatusForbidden},
		{"wrong CSRF token", "/consent/banks/link-old/renew", url.Values{csrfField: {"not-the-token"}}, http.StatusForbidden},
		{"another customer's link", "/consent/banks/link-bob/renew", url.Values{csrfField: {token}}, http.StatusNotFound},
		{"unknown link", "/consent/banks/no-such-link/renew", url.Values{csrfField: {token}}, http.StatusNotFound},
		{"link far from expiry", "/consent/banks/link-demo/renew", url.Values{csrfField: {token}}, http.StatusConflict},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := env.do(t, c, http.MethodPost, tt.path, tt.form)
			if resp.Status != tt.status {
				t.Errorf("status %d; want %d:\n%s", resp.Status, tt.status, resp.Body)
			}
			if resp.Header.Get("Refresh") != "" {
				t.Errorf("Refresh header %q on a refusal", resp.Header.Get("Refresh"))
			}
		})
	}
	if got := env.service.Renewals(); len(got) != 0 {
		t.Errorf("renewals = %q; want none", got)
	}

	// Signed out, the form leads to the sign-in and nothing is renewed.
	out := env.do(t, env.newClient(t), http.MethodPost, "/consent/banks/link-old/renew", url.Values{csrfField: {token}})
	if out.Status != http.StatusSeeOther || !strings.HasPrefix(out.Header.Get("Location"), "/consent/signin") {
		t.Errorf("signed out: status %d, Location %q; want 303 to the sign-in", out.Status, out.Header.Get("Location"))
	}
}
