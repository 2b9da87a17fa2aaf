package derive

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/feeds"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestDerive_fundsOverdraftAndAverage(t *testing.T) {
	e := storetest.New(t)
	// "od": 400.00 available including a 500.00 overdraft, so -100.00 of
	// own money.
	insertBalance(t, e, "od", balance{account: "acc-1", typ: "InterimAvailable", amount: "400.00", currency: "GBP",
		asOf: "2026-11-30T10:00:00Z", creditLineIncluded: true, creditLine: "500.00"})

	// "avg": over the 3 UK days 28 to 30 November the end-of-day funds are
	// 100 (27th's balance carried), 400 and 1000 on acc-1, plus 50 each day
	// on acc-2: (150 + 450 + 1050) / 3 = 550.
	for _, b := range []balance{
		{account: "acc-1", typ: "ClosingBooked", amount: "100.00", currency: "GBP", asOf: "2026-11-27T18:00:00Z"},
		{account: "acc-1", typ: "ClosingBooked", amount: "400.00", currency: "GBP", asOf: "2026-11-29T18:00:00Z"},
		// Taken at UK midnight, this closes the 29th: a later InterimAvailable
		// of the same instant is preferred.
		{account: "acc-1", typ: "ClosingBooked", amount: "390.00", currency: "GBP", asOf: "2026-11-30T00:00:00Z"},
		{account: "acc-1", typ: "InterimAvailable", amount: "400.00", currency: "GBP", asOf: "2026-11-30T00:00:00Z"},
		{account: "acc-1", typ: "InterimAvailable", amount: "1000.00", currency: "GBP", asOf: "2026-11-30T09:00:00Z"},
		// After now: never used.
		{account: "acc-1", typ: "InterimAvailable", amount: "99999.00", currency: "GBP", asOf: "2026-11-30T13:00:00Z"},
		{account: "acc-2", typ: "ClosingAvailable", amount: "50.00", currency: "GBP", asOf: "2026-11-20T18:00:00Z"},
	} {
		insertBalance(t, e, "avg", b)
	}

	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	funds := func(amount string, days int, overdraft bool) insights.ClaimRequest {
		return insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: mustAmount(t, amount), Currency: "GBP",
			AverageDays: days, IncludeOverdraft: overdraft}
	}
	tests := []struct {
		name     string
		customer string
		req      insights.ClaimRequest
		wantAvl  bool
		wantHold bool
		wantFrom string
		wantTo   string
	}{
		{"overdraft excluded", "od", funds("0.00", 0, false), true, false, "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z"},
		{"overdraft included", "od", funds("400.00", 0, true), true, true, "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z"},
		{"overdraft included short", "od", funds("400.01", 0, true), true, false, "2026-11-30T10:00:00Z", "2026-11-30T10:00:00Z"},
		{"average equal", "avg", funds("550.00", 3, false), true, true, "2026-11-20T18:00:00Z", "2026-11-30T09:00:00Z"},
		{"average short by a penny", "avg", funds("550.01", 3, false), true, false, "2026-11-20T18:00:00Z", "2026-11-30T09:00:00Z"},
		{"one day is the newest balances", "avg", funds("1050.00", 1, false), true, true, "2026-11-20T18:00:00Z", "2026-11-30T09:00:00Z"},
		{"window before the first balance", "avg", funds("1.00", 5, false), false, false, "", ""},
		{"no balance", "nobody", funds("1.00", 3, false), false, false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := derive1(t, d, tt.customer, tt.req, now)
			if res.Available != tt.wantAvl || res.Holds != tt.wantHold {
				t.Fatalf("Available, Holds = %v, %v; want %v, %v", res.Available, res.Holds, tt.wantAvl, tt.wantHold)
			}
			if !res.Available {
				return
			}
			if got := res.DataFrom.Format(time.RFC3339); got != tt.wantFrom {
				t.Errorf("DataFrom = %s, want %s", got, tt.wantFrom)
			}
			if got := res.DataTo.Format(time.RFC3339); got != tt.wantTo {
				t.Errorf("DataTo = %s, want %s", got, tt.wantTo)
			}
			if res.Funds == nil || res.Funds.OverdraftIncluded != tt.req.IncludeOverdraft || res.Funds.AverageDays != tt.req.AverageDays {
				t.Errorf("Funds = %+v; want the request's overdraft and days", res.Funds)
			}
		})
	}
}

func TestDerive_fundsRejectsAverageDays(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	for _, days := range []int{-1, MaxAverageDays + 1} {
		req := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: "GBP", AverageDays: days}
		_, err := d.Derive(context.Background(), "c", []insights.ClaimRequest{req}, time.Now())
		if insights.ErrorCode(err) != insights.ErrInvalid || !strings.Contains(err.Error(), "claims[0].AverageDays: invalid value") {
			t.Errorf("AverageDays %d: error = %v; want an invalid error naming claims[0].AverageDays", days, err)
		}
	}
}

// storingRefresher stands in for the bank pull: it stores a fresh balance
// in the real engine, as a complete pull would, and counts its calls.
type storingRefresher struct {
	t     *testing.T
	e     store.Engine
	fresh *balance // nil stores nothing
	err   error
	calls int
}

func (r *storingRefresher) RefreshBalances(_ context.Context, customerID string) (bool, error) {
	r.calls++
	if r.err != nil {
		return false, r.err
	}
	if r.fresh == nil {
		return false, nil
	}
	insertBalance(r.t, r.e, customerID, *r.fresh)
	return true, nil
}

func TestDerive_fundsStaleBalance(t *testing.T) {
	now := mustTime(t, "2026-11-30T12:00:00Z")
	old := balance{account: "acc-1", typ: "InterimAvailable", amount: "100.00", currency: "GBP", asOf: "2026-11-26T12:00:00Z"}
	req := insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: mustAmount(t, "500.00"), Currency: "GBP"}

	t.Run("fresh pull decides", func(t *testing.T) {
		e := storetest.New(t)
		insertBalance(t, e, "c", old)
		r := &storingRefresher{t: t, e: e, fresh: &balance{account: "acc-1", typ: "InterimAvailable", amount: "900.00",
			currency: "GBP", asOf: "2026-11-30T11:59:00Z"}}
		res := derive1(t, &Deriver{Engine: e, Balances: r}, "c", req, now)
		if r.calls != 1 || !res.Holds || res.Funds.Stale || !res.Funds.Refreshed {
			t.Errorf("calls %d, Holds %v, Funds %+v; want one pull, a fresh balance that holds", r.calls, res.Holds, res.Funds)
		}
		if res.Funds.BalanceAge != time.Minute {
			t.Errorf("BalanceAge = %s, want 1m0s", res.Funds.BalanceAge)
		}
	})
	t.Run("no linked bank states the age", func(t *testing.T) {
		e := storetest.New(t)
		insertBalance(t, e, "c", old)
		r := &storingRefresher{t: t, e: e}
		res := derive1(t, &Deriver{Engine: e, Balances: r}, "c", req, now)
		if r.calls != 1 || !res.Funds.Stale || res.Funds.BalanceAge != 96*time.Hour {
			t.Errorf("calls %d, Funds %+v; want one pull attempt and a stale balance 96h old", r.calls, res.Funds)
		}
	})
	t.Run("failed pull states the age", func(t *testing.T) {
		e := storetest.New(t)
		insertBalance(t, e, "c", old)
		r := &storingRefresher{t: t, e: e, err: errors.New("bank unreachable")}
		res := derive1(t, &Deriver{Engine: e, Balances: r}, "c", req, now)
		if !res.Available || !res.Funds.Stale {
			t.Errorf("Available %v, Funds %+v; want the stored balance, marked stale", res.Available, res.Funds)
		}
	})
	t.Run("within the maximum age no pull", func(t *testing.T) {
		e := storetest.New(t)
		insertBalance(t, e, "c", old)
		r := &storingRefresher{t: t, e: e}
		res := derive1(t, &Deriver{Engine: e, Balances: r, MaxBalanceAge: 96 * time.Hour}, "c", req, now)
		if r.calls != 0 || res.Funds.Stale {
			t.Errorf("calls %d, Funds %+v; want no pull for a balance exactly at the maximum age", r.calls, res.Funds)
		}
	})
}

// recordingFeeds is a BankFeeds with fixed links that records pulls.
type recordingFeeds struct {
	links   []feeds.ConsentInfo
	outcome map[string]string
	fail    map[string]error
	pulled  []string
}

func (f *recordingFeeds) Consents(context.Context, string) ([]feeds.ConsentInfo, error) {
	return f.links, nil
}

func (f *recordingFeeds) Refresh(_ context.Context, consentID string) (feeds.PullResult, error) {
	f.pulled = append(f.pulled, consentID)
	if err := f.fail[consentID]; err != nil {
		return feeds.PullResult{}, err
	}
	return feeds.PullResult{ConsentID: consentID, Outcome: f.outcome[consentID]}, nil
}

func TestFeedsRefresher_pullsAuthorisedLinks(t *testing.T) {
	f := &recordingFeeds{
		links: []feeds.ConsentInfo{
			{ConsentID: "c-auth", Status: feeds.StatusAuthorised},
			{ConsentID: "c-revoked", Status: feeds.StatusRevoked},
			{ConsentID: "c-failing", Status: feeds.StatusAuthorised},
		},
		outcome: map[string]string{"c-auth": feeds.OutcomeComplete},
		fail:    map[string]error{"c-failing": errors.New("token refresh failed")},
	}
	pulled, err := FeedsRefresher{Feeds: f}.RefreshBalances(context.Background(), "cust")
	if !pulled {
		t.Error("pulled = false; want true after a complete pull")
	}
	if err == nil || !strings.Contains(err.Error(), "refresh bank link c-failing") {
		t.Errorf("error = %v; want it to name the failing link", err)
	}
	if strings.Join(f.pulled, ",") != "c-auth,c-failing" {
		t.Errorf("pulled links %v; want the authorised ones only", f.pulled)
	}
}
