package derive

import (
	"testing"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestDerive_addressMatches(t *testing.T) {
	e := storetest.New(t)
	insertParty(t, e, "one", party{id: "p1", postCode: "SW1A 1AA"})
	insertParty(t, e, "joint", party{id: "p1", postCode: "LS6 2QT"})
	insertParty(t, e, "joint", party{id: "p2", postCode: "ec1a1bb"})
	insertParty(t, e, "no-address", party{id: "p1", birth: "1990-01-01", postCode: " "})

	tests := []struct {
		name, customer, postCode string
		wantAvl, wantHold        bool
	}{
		{name: "lower case no space", customer: "one", postCode: "sw1a1aa", wantAvl: true, wantHold: true},
		{name: "same form", customer: "one", postCode: "SW1A 1AA", wantAvl: true, wantHold: true},
		{name: "extra spaces", customer: "one", postCode: "  sw1a  1aa ", wantAvl: true, wantHold: true},
		{name: "other inward code", customer: "one", postCode: "SW1A 1AB", wantAvl: true},
		{name: "other district", customer: "one", postCode: "SW1B 1AA", wantAvl: true},
		{name: "not a postcode", customer: "one", postCode: "NOT A CODE", wantAvl: true},
		{name: "second party", customer: "joint", postCode: "EC1A 1BB", wantAvl: true, wantHold: true},
		{name: "first party", customer: "joint", postCode: "ls62qt", wantAvl: true, wantHold: true},
		{name: "no postcode stored", customer: "no-address", postCode: "SW1A 1AA"},
		{name: "no party", customer: "nobody", postCode: "SW1A 1AA"},
	}
	d := &Deriver{Engine: e}
	now := mustTime(t, "2026-11-30T12:00:00Z")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := insights.ClaimRequest{Kind: insights.ClaimAddressMatches, PostCode: tt.postCode}
			res := derive1(t, d, tt.customer, req, now)
			if res.Available != tt.wantAvl {
				t.Errorf("Available = %v, want %v", res.Available, tt.wantAvl)
			}
			if res.Holds != tt.wantHold {
				t.Errorf("Holds = %v, want %v", res.Holds, tt.wantHold)
			}
			if res.Available && res.AsOf.IsZero() {
				t.Error("AsOf is zero for an available claim")
			}
		})
	}
}

func TestNormalizePostCode_cases(t *testing.T) {
	tests := []struct {
		in, want string
		valid    bool
	}{
		{"M1 1AE", "M11AE", true},        // A9 9AA
		{"b33 8th", "B338TH", true},      // A99 9AA
		{"CR2 6XH", "CR26XH", true},      // AA9 9AA
		{"DN55 1PT", "DN551PT", true},    // AA99 9AA
		{"W1A 0AX", "W1A0AX", true},      // A9A 9AA
		{"ec1a 1bb", "EC1A1BB", true},    // AA9A 9AA
		{"GIR 0AA", "GIR0AA", true},      // historic exception
		{"SW1A\t1AA\n", "SW1A1AA", true}, // any white space
		{"SW1A 1CA", "SW1A1CA", false},   // C never in the inward code
		{"Q1 1AA", "Q11AA", false},       // Q never first
		{"AJ1 1AA", "AJ11AA", false},     // J never second
		{"12345", "12345", false},
		{"SW1A-1AA", "SW1A-1AA", false},
		{"", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, valid := NormalizePostCode(tt.in)
			if got != tt.want {
				t.Errorf("normalised = %q, want %q", got, tt.want)
			}
			if valid != tt.valid {
				t.Errorf("valid = %v, want %v", valid, tt.valid)
			}
		})
	}
}

func FuzzNormalizePostCode(f *testing.F) {
	for _, s := range []string{"SW1A 1AA", "sw1a1aa", "GIR 0AA", "", " \t", "ß1 1AA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, valid := NormalizePostCode(s)
		again, validAgain := NormalizePostCode(n)
		if again != n || validAgain != valid {
			t.Errorf("NormalizePostCode is not idempotent: %q then %q", n, again)
		}
		if valid && (len(n) < 5 || len(n) > 7) {
			t.Errorf("valid postcode %q has %d characters, want 5 to 7", n, len(n))
		}
	})
}
