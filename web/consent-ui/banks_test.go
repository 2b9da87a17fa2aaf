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

// The fake's bank links: alice has one authorised link, one that needs
// reconfirming and one she unlinked; bob has one authorised link.
func fakeBankLinks() map[string][]BankLink {
	return map[string][]BankLink{
		"alice": {
			{ID: "link-demo", BankName: "Demo Bank", Status: BankAuthorised,
				ExpiresAt:   time.Date(2027, time.March, 4, 10, 0, 0, 0, time.UTC),
				LastRefresh: testNow.Add(-time.Hour), LastOutcome: RefreshComplete},
			{ID: "link-old", BankName: "Old Bank", Status: BankNeedsRenewal,
				ExpiresAt:   testNow.Add(-24 * time.Hour),
				LastRefresh: testNow.Add(-48 * time.Hour), LastOutcome: RefreshFailed},
			{ID: "link-gone", BankName: "Gone Bank", Status: BankRevoked},
		},
		"bob": {
			{ID: "link-bob", BankName: "Bob's Bank", Status: BankAuthorised, ExpiresAt: testNow.Add(90 * 24 * time.Hour)},
		},
	}
}

func (f *fakeService) BankLinks(_ context.Context, customerID string) ([]BankLink, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	return slices.Clone(f.bankLinks[customerID]), nil
}

func (f *fakeService) Unlink(_ context.Context, customerID, linkID string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return f.failWith
	}
	f.unlinks = append(f.unlinks, customerID+"/"+linkID)
	for i, link := range f.bankLinks[customerID] {
		if link.ID == linkID {
			f.bankLinks[customerID][i].Status = BankRevoked
			return nil
		}
	}
	return insights.Errorf(insights.ErrNotFound, "bank link not found")
}

func (f *fakeService) Unlinks() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.unlinks)
}

func TestBanks_listsLinks(t *testing.T) {
	tests := []struct {
		lang    string
		h1      string
		status  []string
		access  []string
		refresh []string
		unlink  string
	}{
		{
			lang:   "en",
			h1:     "Banks you have linked",
			status: []string{"Linked", "Needs reconfirming", "Unlinked"},
			access: []string{
				"Your bank asks you to reconfirm our access every 90 days. Reconfirm by 4 March 2027 at 10:00 GMT, or we stop reading from this bank.",
				"Your bank needs you to reconfirm our access. Until you link this bank again, we cannot read from it.",
				"You unlinked this bank. We no longer read from it.",
			},
			refresh: []string{
				"4 December 2026 at 09:00 GMT: all your data was read",
				"2 December 2026 at 10:00 GMT: nothing could be read, so we will try again",
				"Not read yet",
			},
			unlink: "Unlink Demo Bank",
		},
		{
			lang:   "zh-CN",
			h1:     "您已关联的银行",
			status: []string{"已关联", "需要重新确认", "已取消关联"},
			access: []string{
				"您的银行要求您每90天重新确认一次我们的访问权限。请在2027年3月4日 10:00（GMT）之前重新确认，否则我们将停止读取该银行的数据。",
				"您的银行需要您重新确认我们的访问权限。在您重新关联该银行之前，我们无法读取其数据。",
				"您已取消关联该银行，我们不再读取其数据。",
			},
			refresh: []string{
				"2026年12月4日 09:00（GMT）：已读取全部数据",
				"2026年12月2日 10:00（GMT）：未能读取任何数据，我们会再试",
				"尚未读取",
			},
			unlink: "取消关联Demo Bank",
		},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, "/consent/banks?lang="+tt.lang, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d; want 200:\n%s", resp.Status, resp.Body)
			}
			if got := h1Of(resp.Body); got != tt.h1 {
				t.Errorf("h1 = %q; want %q", got, tt.h1)
			}
			if got := textsOf(resp.Body, "bank-status"); !slices.Equal(got, tt.status) {
				t.Errorf("statuses = %q; want %q", got, tt.status)
			}
			if got := textsOf(resp.Body, "bank-access"); !slices.Equal(got, tt.access) {
				t.Errorf("access = %q; want %q", got, tt.access)
			}
			if got := textsOf(resp.Body, "bank-refresh"); !slices.Equal(got, tt.refresh) {
				t.Errorf("last read = %q; want %q", got, tt.refresh)
			}
			if !strings.Contains(resp.Body, `href="/consent/banks/link-demo/unlink">`+tt.unlink+`<`) {
				t.Errorf("no unlink link %q:\n%s", tt.unlink, resp.Body)
			}
			if strings.Contains(resp.Body, "link-gone/unlink") {
				t.Error("an unlinked bank has an unlink link")
			}
			if strings.Contains(resp.Body, "link-bob") {
				t.Error("alice's list shows bob's link")
			}
			if !strings.Contains(resp.Body, `href="/consent/banks"`) {
				t.Error("the navigation has no link to the linked banks")
			}
		})
	}
}

func TestBanks_empty(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	env.service.mu.Lock()
	env.service.bankLinks = nil
	env.service.mu.Unlock()

	resp := env.do(t, c, http.MethodGet, "/consent/banks", nil)
	if resp.Status != http.StatusOK || !strings.Contains(resp.Body, "You have not linked any banks.") {
		t.Errorf("status %d; want 200 with the empty text:\n%s", resp.Status, resp.Body)
	}
}

func TestUnlink_confirmThenUnlink(t *testing.T) {
	tests := []struct {
		lang        string
		h1          string
		consequence string
		done        string
	}{
		{"en", "Unlink Demo Bank", "Data we have already read stays", "Demo Bank unlinked"},
		{"zh-CN", "取消关联Demo Bank", "我们已读取的数据会保留", "已取消关联Demo Bank"},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			confirm := env.do(t, c, http.MethodGet, "/consent/banks/link-demo/unlink?lang="+tt.lang, nil)
			if confirm.Status != http.StatusOK {
				t.Fatalf("confirmation page: status %d:\n%s", confirm.Status, confirm.Body)
			}
			if got := h1Of(confirm.Body); got != tt.h1 {
				t.Errorf("h1 = %q; want %q", got, tt.h1)
			}
			consequence := strings.Join(textsOf(confirm.Body, "unlink-consequence"), " ")
			if !strings.Contains(consequence, tt.consequence) {
				t.Errorf("consequence = %q; want it to contain %q", consequence, tt.consequence)
			}
			if len(env.service.Unlinks()) != 0 {
				t.Fatal("opening the confirmation page unlinked the bank")
			}

			resp := env.do(t, c, http.MethodPost, "/consent/banks/link-demo/unlink", url.Values{csrfField: {csrfTokenOf(t, confirm.Body)}})
			if resp.Status != http.StatusOK || h1Of(resp.Body) != tt.done {
				t.Fatalf("unlink: status %d, h1 %q; want 200, %q", resp.Status, h1Of(resp.Body), tt.done)
			}
			if got := env.service.Unlinks(); !slices.Equal(got, []string{"alice/link-demo"}) {
				t.Errorf("unlinks = %q; want alice/link-demo", got)
			}
		})
	}
}

func TestUnlink_rejectsBadCSRF(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	for name, form := range map[string]url.Values{
		"missing": {},
		"wrong":   {csrfField: {"not-the-token"}},
	} {
		resp := env.do(t, c, http.MethodPost, "/consent/banks/link-demo/unlink", form)
		if resp.Status != http.StatusForbidden {
			t.Errorf("%s CSRF token: status %d; want 403", name, resp.Status)
		}
	}
	if got := env.service.Unlinks(); len(got) != 0 {
		t.Errorf("unlinks = %q; want none", got)
	}
}

func TestUnlink_otherCustomerNotFound(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")

	confirm := env.do(t, c, http.MethodGet, "/consent/banks/link-bob/unlink", nil)
	if confirm.Status != http.StatusNotFound {
		t.Errorf("alice opens bob's link: status %d; want 404", confirm.Status)
	}
	list := env.do(t, c, http.MethodGet, "/consent/banks", nil)
	resp := env.do(t, c, http.MethodPost, "/consent/banks/link-bob/unlink", url.Values{csrfField: {csrfTokenOf(t, list.Body)}})
	if resp.Status != http.StatusNotFound {
		t.Errorf("alice unlinks bob's link: status %d; want 404", resp.Status)
	}
	if got := env.service.Unlinks(); len(got) != 0 {
		t.Errorf("unlinks = %q; want none", got)
	}
}

func TestBanks_signedOutRedirects(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	for _, path := range []string{"/consent/banks", "/consent/history"} {
		resp := env.do(t, c, http.MethodGet, path, nil)
		if resp.Status != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/consent/signin") {
			t.Errorf("%s signed out: status %d, Location %q; want 303 to the sign-in", path, resp.Status, resp.Header.Get("Location"))
		}
	}
}
