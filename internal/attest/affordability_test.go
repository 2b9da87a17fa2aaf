package attest

import (
	"context"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func mustAmount(t *testing.T, s string) insights.Amount {
	t.Helper()
	a, err := insights.ParseSignedAmount(s)
	if err != nil {
		t.Fatalf("bad test amount %q: %v", s, err)
	}
	return a
}

func TestMoneyBand(t *testing.T) {
	tests := []struct{ amount, want string }{
		{"-1000.00001", "<-1000 GBP"},
		{"-1000", "-1000 to -500 GBP"},
		{"-0.01", "-500 to 0 GBP"},
		{"0", "0-250 GBP"},
		{"249.99999", "0-250 GBP"},
		{"250", "250-500 GBP"},
		{"2000", "2000-2500 GBP"},
		{"2499.99", "2000-2500 GBP"},
		{"9999.99", "7500-10000 GBP"},
		{"10000", "10000+ GBP"},
		{"1234567", "10000+ GBP"},
	}
	for _, tt := range tests {
		if got := moneyBand(mustAmount(t, tt.amount), "GBP"); got != tt.want {
			t.Errorf("moneyBand(%s) = %q, want %q", tt.amount, got, tt.want)
		}
	}
}

func TestRatioBands(t *testing.T) {
	gambling := []struct {
		share float64
		want  string
	}{
		{0, "0%"}, {0.0001, "<1%"}, {0.01, "1-5%"}, {0.0499, "1-5%"}, {0.05, "5-10%"},
		{0.1, "10-25%"}, {0.25, "25%+"}, {1, "25%+"},
	}
	for _, tt := range gambling {
		if got := gamblingShareBand(tt.share); got != tt.want {
			t.Errorf("gamblingShareBand(%v) = %q, want %q", tt.share, got, tt.want)
		}
	}

	days := []struct {
		days int
		want string
	}{
		{0, "0"}, {1, "1-5"}, {5, "1-5"}, {6, "6-15"}, {30, "16-30"}, {31, "31-90"}, {91, "91+"}, {365, "91+"},
	}
	for _, tt := range days {
		if got := overdraftDaysBand(tt.days); got != tt.want {
			t.Errorf("overdraftDaysBand(%d) = %q, want %q", tt.days, got, tt.want)
		}
	}

	volatility := []struct {
		v    float64
		want string
	}{
		{0, "low"}, {0.29, "low"}, {0.5, "medium"}, {0.99, "medium"}, {1, "high"}, {math.Inf(1), "high"},
	}
	for _, tt := range volatility {
		if got := volatilityBand(tt.v); got != tt.want {
			t.Errorf("volatilityBand(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// affordabilityResult is an available affordability result whose amounts
// have distinctive digits, so a leak of any of them shows in the token.
func affordabilityResult(t *testing.T, balancesKnown bool) insights.ClaimResult {
	t.Helper()
	return insights.ClaimResult{
		Request:   insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 6},
		Available: true,
		AsOf:      time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
		Affordability: &insights.AffordabilityFigures{
			Months:           6,
			FirstMonth:       insights.Date{Year: 2026, Month: time.June, Day: 1},
			LastMonth:        insights.Date{Year: 2026, Month: time.November, Day: 1},
			Currency:         "GBP",
			NetIncome:        mustAmount(t, "2137.91"),
			Committed:        mustAmount(t, "1013.37"),
			Essential:        mustAmount(t, "1471.13"),
			Discretionary:    mustAmount(t, "318.59"),
			Disposable:       mustAmount(t, "666.78"),
			GamblingShare:    0.0073,
			ReturnedPayments: 2,
			BalancesKnown:    balancesKnown,
			DaysInOverdraft:  7,
			BalanceStdDev:    mustAmount(t, "431.77"),
			Volatility:       0.2019,
		},
	}
}

func TestIssue_affordabilityOnlyBands(t *testing.T) {
	keys, _ := newTestKeys(t)
	issued, err := newTestIssuer(keys).Issue(testCustomer, testClient,
		[]insights.ClaimResult{affordabilityResult(t, true)}, 5*time.Minute)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := Verify(context.Background(), issued.Token, set, VerifyOptions{
		Audience: testClient, Issuer: testIssuer, Now: func() time.Time { return testNow.Add(time.Minute) },
	})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	want := map[string]any{
		"months":                         float64(6),
		"first_month":                    "2026-06",
		"last_month":                     "2026-11",
		"net_income_monthly":             "2000-2500 GBP",
		"committed_spending_monthly":     "1000-1500 GBP",
		"essential_spending_monthly":     "1000-1500 GBP",
		"discretionary_spending_monthly": "250-500 GBP",
		"disposable_income_monthly":      "500-750 GBP",
		"gambling_share":                 "<1%",
		"days_in_overdraft":              "6-15",
		"returned_payments":              float64(2),
		"volatility":                     "low",
	}
	if got := v.Claims["affordability"]; !reflect.DeepEqual(got, want) {
		t.Errorf("affordability claim = %#v\nwant %#v", got, want)
	}

	// No amount, ratio or day count of the figures appears in the payload.
	payload := mustJSON(t, v.Claims)
	for _, raw := range []string{"2137", "1013", "1471", "318", "666", "431", "0.0073", "0.2019", `":7`} {
		if strings.Contains(payload, raw) {
			t.Errorf("payload contains the raw figure %q: %s", raw, payload)
		}
	}
}

func TestClaimsPayload_affordabilityUnknownBalances(t *testing.T) {
	claims, names, err := ClaimsPayload([]insights.ClaimResult{affordabilityResult(t, false)})
	if err != nil {
		t.Fatalf("ClaimsPayload: %v", err)
	}
	if !reflect.DeepEqual(names, []string{"affordability"}) {
		t.Errorf("names = %v, want [affordability]", names)
	}
	a, ok := claims["affordability"].(Affordability)
	if !ok {
		t.Fatalf("claim value is %T, want Affordability", claims["affordability"])
	}
	if a.DaysInOverdraft != BandUnknown || a.Volatility != BandUnknown {
		t.Errorf("DaysInOverdraft %q, Volatility %q, want both %q", a.DaysInOverdraft, a.Volatility, BandUnknown)
	}
}

func TestClaimsPayload_affordabilityRejects(t *testing.T) {
	badMonths := affordabilityResult(t, true)
	badMonths.Request.Months = 5
	noFigures := affordabilityResult(t, true)
	noFigures.Affordability = nil
	otherWindow := affordabilityResult(t, true)
	otherWindow.Request.Months = 12

	tests := []struct {
		name    string
		result  insights.ClaimResult
		wantErr string
	}{
		{"months", badMonths, "results[0].Request.Months: 5 is not 3, 6 or 12"},
		{"no figures", noFigures, "results[0].Affordability: nil"},
		{"other window", otherWindow, "results[0].Affordability.Months: 6, but the request asked for 12"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ClaimsPayload([]insights.ClaimResult{tt.result})
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ClaimsPayload error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}

	// An unavailable result needs no figures.
	unavailable := insights.ClaimResult{Request: insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 3}}
	claims, _, err := ClaimsPayload([]insights.ClaimResult{unavailable})
	if err != nil {
		t.Fatalf("ClaimsPayload(unavailable): %v", err)
	}
	if !reflect.DeepEqual(claims[UnavailableClaim], []string{"affordability"}) {
		t.Errorf("unavailable = %v, want [affordability]", claims[UnavailableClaim])
	}
}
