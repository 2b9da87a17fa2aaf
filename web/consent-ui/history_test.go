package consentui

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

// fakeHistory is alice's history, newest first: Demo Shop asked, she
// opened the request and approved it, and the proof was issued.
func fakeHistory() map[string][]HistoryEvent {
	claims := []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}, {Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}}
	ev := func(minutes int, event string, names ...string) HistoryEvent {
		return HistoryEvent{At: testNow.Add(time.Duration(minutes) * time.Minute), RequestID: "req-decided", ClientID: "client-shop",
			ClientName: "Demo Shop", Event: event, ClaimNames: names, Claims: claims}
	}
	return map[string][]HistoryEvent{
		"alice": {
			ev(-2, "issued", "age_over_18", "address_matches"),
			ev(-3, "approved", "age_over_18", "address_matches"),
			ev(-5, "opened"),
			ev(-6, "requested", "age_over_18", "address_matches"),
		},
	}
}

func (f *fakeService) History(_ context.Context, customerID string) ([]HistoryEvent, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failWith != nil {
		return nil, f.failWith
	}
	return slices.Clone(f.history[customerID]), nil
}

func TestHistory_listsEvents(t *testing.T) {
	tests := []struct {
		lang   string
		h1     string
		steps  []string
		when   string
		claims []string
	}{
		{
			lang:   "en",
			h1:     "History",
			steps:  []string{"The proof was sent to Demo Shop", "You approved the request", "You opened the request", "Demo Shop asked for proof"},
			when:   "4 December 2026 at 09:58 GMT",
			claims: []string{"Over 18", "Your address matches postcode SW1A 1AA"},
		},
		{
			lang:   "zh-CN",
			h1:     "历史记录",
			steps:  []string{"证明已发送给Demo Shop", "您批准了请求", "您打开了请求", "Demo Shop请求证明"},
			when:   "2026年12月4日 09:58（GMT）",
			claims: []string{"年满18岁", "您的地址与邮编 SW1A 1AA 相符"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.lang, func(t *testing.T) {
			env := newTestEnv(t)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, "/consent/history?lang="+tt.lang, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d; want 200:\n%s", resp.Status, resp.Body)
			}
			if got := h1Of(resp.Body); got != tt.h1 {
				t.Errorf("h1 = %q; want %q", got, tt.h1)
			}
			if got := textsOf(resp.Body, "history-step"); !slices.Equal(got, tt.steps) {
				t.Errorf("steps = %q; want %q", got, tt.steps)
			}
			if got := textsOf(resp.Body, "history-when"); len(got) != 4 || got[0] != tt.when {
				t.Errorf("times = %q; want the first %q", got, tt.when)
			}
			claims := textsOf(resp.Body, "history-claim")
			if len(claims) != 8 || !slices.Equal(claims[:2], tt.claims) {
				t.Errorf("claims = %q; want %q on each of 4 steps", claims, tt.claims)
			}
			if strings.Contains(resp.Body, "age_over_18") {
				t.Error("the page shows a token claim name instead of its label")
			}
			if !strings.Contains(resp.Body, `href="/consent/history"`) {
				t.Error("the navigation has no link to the history")
			}
		})
	}
}

func TestHistory_otherCustomerEmpty(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "bob")

	resp := env.do(t, c, http.MethodGet, "/consent/history", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("status = %d; want 200", resp.Status)
	}
	if strings.Contains(resp.Body, "Demo Shop") || !strings.Contains(resp.Body, "Nothing has happened yet.") {
		t.Errorf("bob's history is not empty:\n%s", resp.Body)
	}
}

func TestHistory_serviceErrorIs500(t *testing.T) {
	env := newTestEnv(t)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	env.service.mu.Lock()
	env.service.failWith = insights.Errorf(insights.ErrInternal, "storage down")
	env.service.mu.Unlock()

	for _, path := range []string{"/consent/history", "/consent/banks"} {
		if resp := env.do(t, c, http.MethodGet, path, nil); resp.Status != http.StatusInternalServerError {
			t.Errorf("%s: status %d; want 500", path, resp.Status)
		}
	}
}
