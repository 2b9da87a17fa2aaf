package derive

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// The consent service derives claim values through a Deriver.
var _ consent.ClaimDeriver = (*Deriver)(nil)

func TestDerive_invalidRequest(t *testing.T) {
	tests := []struct {
		name    string
		req     insights.ClaimRequest
		wantMsg string
	}{
		{name: "age zero", req: insights.ClaimRequest{Kind: insights.ClaimAgeOver}, wantMsg: "claims[1].MinimumAge: invalid value 0"},
		{name: "age too high", req: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 151}, wantMsg: "claims[1].MinimumAge: invalid value 151"},
		{name: "negative amount", req: insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: -1, Currency: "GBP"}, wantMsg: "claims[1].Amount: invalid value -0.00001"},
		{name: "lower-case currency", req: insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Currency: "gbp"}, wantMsg: `claims[1].Currency: invalid value "gbp"`},
		{name: "no currency", req: insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast}, wantMsg: `claims[1].Currency: invalid value ""`},
		{name: "blank postcode", req: insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "  "}, wantMsg: "claims[1].PostCode: missing"},
		{name: "unknown kind", req: insights.ClaimRequest{Kind: "credit_score"}, wantMsg: `claims[1].Kind: unknown claim kind "credit_score"`},
	}
	// A broken engine proves that validation happens before any read.
	d := &Deriver{Engine: brokenEngine{}}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reqs := []insights.ClaimRequest{{Kind: insights.ClaimNextSalaryDate}, tt.req}
			_, err := d.Derive(context.Background(), "c1", reqs, now)
			if got := insights.ErrorCode(err); got != insights.ErrInvalid {
				t.Fatalf("error code = %q (%v), want %q", got, err, insights.ErrInvalid)
			}
			if msg := insights.ErrorMessage(err); !strings.HasPrefix(msg, tt.wantMsg) {
				t.Errorf("message = %q, want prefix %q", msg, tt.wantMsg)
			}
		})
	}
}

func TestDerive_badConfig(t *testing.T) {
	d := &Deriver{Engine: brokenEngine{}, LeapDayBirthday: "march-2"}
	_, err := d.Derive(context.Background(), "c1", nil, mustTime(t, "2026-11-30T12:00:00Z"))
	if err == nil || !strings.Contains(err.Error(), "LeapDayBirthday") {
		t.Errorf("error = %v, want one naming LeapDayBirthday", err)
	}

	d = &Deriver{}
	if _, err := d.Derive(context.Background(), "c1", nil, mustTime(t, "2026-11-30T12:00:00Z")); err == nil {
		t.Error("Derive with no Engine returned no error")
	}
}

func TestDerive_storageError(t *testing.T) {
	tests := []struct {
		req     insights.ClaimRequest
		wantMsg string
	}{
		{insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, "derive age for claim"},
		{insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: 1, Currency: "GBP"}, "derive funds for claim"},
		{insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"}, "derive address for claim"},
		{insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate}, "derive salary for claim"},
	}
	d := &Deriver{Engine: brokenEngine{}}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(string(tt.req.Kind), func(t *testing.T) {
			_, err := d.Derive(context.Background(), "c1", []insights.ClaimRequest{tt.req}, now)
			if !errors.Is(err, errBroken) {
				t.Fatalf("error = %v, want it to wrap the engine's error", err)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
			if strings.Contains(err.Error(), "SW1A") {
				t.Errorf("error %q contains the requested postcode", err)
			}
		})
	}

	if _, err := d.RefreshIncome(context.Background(), "c1", now); !errors.Is(err, errBroken) {
		t.Errorf("RefreshIncome error = %v, want it to wrap the engine's error", err)
	}
	if _, err := d.IncomeStreams(context.Background(), "c1"); !errors.Is(err, errBroken) {
		t.Errorf("IncomeStreams error = %v, want it to wrap the engine's error", err)
	}
	if _, err := d.Customers(context.Background()); !errors.Is(err, errBroken) {
		t.Errorf("Customers error = %v, want it to wrap the engine's error", err)
	}
}

func TestDerive_resultOrder(t *testing.T) {
	e := storetest.New(t)
	insertParty(t, e, "c1", party{id: "p1", birth: "1990-01-01", postCode: "SW1A 1AA"})
	reqs := []insights.ClaimRequest{
		{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AB"},
		{Kind: insights.ClaimAgeOver, MinimumAge: 18},
		{Kind: insights.ClaimAgeOver, MinimumAge: 65},
		{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"},
	}
	d := &Deriver{Engine: e}
	res, err := d.Derive(context.Background(), "c1", reqs, mustTime(t, "2026-11-30T12:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	wantHolds := []bool{false, true, false, true}
	if len(res) != len(reqs) {
		t.Fatalf("%d results for %d requests", len(res), len(reqs))
	}
	for i := range reqs {
		if res[i].Request != reqs[i] {
			t.Errorf("result %d is for %+v, want %+v", i, res[i].Request, reqs[i])
		}
		if !res[i].Available || res[i].Holds != wantHolds[i] {
			t.Errorf("result %d = available %v holds %v, want true %v", i, res[i].Available, res[i].Holds, wantHolds[i])
		}
	}
}

func TestCustomers_empty(t *testing.T) {
	d := &Deriver{Engine: storetest.New(t)}
	ids, err := d.Customers(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 0 {
		t.Errorf("Customers = %v, want none", ids)
	}
}
