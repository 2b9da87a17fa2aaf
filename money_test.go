package insights_test

import (
	"errors"
	"testing"

	"github.com/openbanking-insights/insights"
)

func TestParseAmount_forms(t *testing.T) {
	tests := []struct {
		in   string
		want insights.Amount
		err  bool
	}{
		{in: "0", want: 0},
		{in: "3.5", want: 350000},
		{in: "03.75", want: 375000},
		{in: "0.00001", want: 1},
		{in: "1234567890123.12345", want: 123456789012312345},
		{in: "9999999999999.99999", want: 999999999999999999},
		{in: "0.1", want: 10000},
		{in: "007", want: 700000},
		{in: "1.0500", want: 105000},
		{in: "12,30", err: true},
		{in: "1e3", err: true},
		{in: "-5", err: true},
		{in: "+5", err: true},
		{in: "1.", err: true},
		{in: ".5", err: true},
		{in: "1.123456", err: true},
		{in: "12345678901234", err: true},
		{in: "", err: true},
		{in: " 1", err: true},
	}
	for _, tt := range tests {
		got, err := insights.ParseAmount(tt.in)
		if tt.err {
			if !errors.Is(err, insights.ErrAmountSyntax) {
				t.Errorf("ParseAmount(%q) error = %v, want ErrAmountSyntax", tt.in, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseAmount(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
		}
	}
}

func TestAmount_format(t *testing.T) {
	tests := []struct {
		amount   insights.Amount
		decimals int
		want     string
	}{
		{-1250000, 2, "-12.50"},
		{1, 5, "0.00001"},
		{50000000, insights.MinorUnits("GBP"), "500.00"},
		{50000000, insights.MinorUnits("JPY"), "500"},
		{50000000, insights.MinorUnits("KWD"), "500.000"},
	}
	for _, tt := range tests {
		if got := tt.amount.Format(tt.decimals); got != tt.want {
			t.Errorf("Amount(%d).Format(%d) = %q, want %q", tt.amount, tt.decimals, got, tt.want)
		}
	}
	if got, err := insights.ParseSignedAmount("-0.5"); err != nil || got != -50000 {
		t.Errorf("ParseSignedAmount(-0.5) = %d, %v", got, err)
	}
}

func TestDate_arithmetic(t *testing.T) {
	d, err := insights.ParseDate("2028-02-28")
	if err != nil {
		t.Fatal(err)
	}
	if got := d.AddDays(1).String(); got != "2028-02-29" {
		t.Errorf("2028-02-28 + 1 day = %s", got)
	}
	if got := d.DaysUntil(d.AddDays(366)); got != 366 {
		t.Errorf("DaysUntil = %d, want 366", got)
	}
	if !d.Before(d.AddDays(1)) || d.AddDays(1).Before(d) {
		t.Error("Before is wrong")
	}
	if _, err := insights.ParseDate("29-02-2028"); err == nil {
		t.Error("ParseDate accepted a day-first date")
	}
	if (insights.Date{}).String() != "" || !(insights.Date{}).IsZero() {
		t.Error("zero Date must print empty and be IsZero")
	}
}
