package derive

import (
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestDerive_ageOver(t *testing.T) {
	utc := time.UTC
	tests := []struct {
		name     string
		parties  []party
		zone     *time.Location // nil: the default, Europe/London
		leapDay  string
		now      string
		minimum  int
		wantAvl  bool
		wantHold bool
	}{
		{name: "over", parties: []party{{id: "p1", birth: "1990-01-01"}}, now: "2026-11-30T12:00:00Z", minimum: 18, wantAvl: true, wantHold: true},
		{name: "under", parties: []party{{id: "p1", birth: "2009-07-19"}}, now: "2026-11-30T12:00:00Z", minimum: 18, wantAvl: true},
		{name: "no birth date", parties: []party{{id: "p1", postCode: "SW1A 1AA"}}, now: "2026-11-30T12:00:00Z", minimum: 18},
		{name: "no party", now: "2026-11-30T12:00:00Z", minimum: 18},
		{name: "parties disagree", parties: []party{{id: "p1", birth: "1990-01-01"}, {id: "p2", birth: "1991-01-01"}},
			now: "2026-11-30T12:00:00Z", minimum: 18},
		{name: "parties agree", parties: []party{{id: "p1", birth: "1990-01-01"}, {id: "p2", birth: "1990-01-01"}, {id: "p3"}},
			now: "2026-11-30T12:00:00Z", minimum: 18, wantAvl: true, wantHold: true},

		// 23:30 UTC on 14 June is 00:30 BST on 15 June in London.
		{name: "birthday local not UTC", parties: []party{{id: "p1", birth: "2008-06-15"}}, now: "2026-06-14T23:30:00Z", minimum: 18, wantAvl: true, wantHold: true},
		{name: "birthday in UTC zone", parties: []party{{id: "p1", birth: "2008-06-15"}}, zone: utc, now: "2026-06-14T23:30:00Z", minimum: 18, wantAvl: true},
		{name: "eve of birthday local", parties: []party{{id: "p1", birth: "2008-06-15"}}, now: "2026-06-14T22:30:00Z", minimum: 18, wantAvl: true},

		// Born 29 February 2008: the 18th birthday in 2026, a non-leap year.
		{name: "leap march-1 on 28 Feb", parties: []party{{id: "p1", birth: "2008-02-29"}}, leapDay: LeapDayMarch1, now: "2026-02-28T12:00:00Z", minimum: 18, wantAvl: true},
		{name: "leap march-1 on 1 Mar", parties: []party{{id: "p1", birth: "2008-02-29"}}, leapDay: LeapDayMarch1, now: "2026-03-01T12:00:00Z", minimum: 18, wantAvl: true, wantHold: true},
		{name: "leap default on 28 Feb", parties: []party{{id: "p1", birth: "2008-02-29"}}, now: "2026-02-28T12:00:00Z", minimum: 18, wantAvl: true},
		{name: "leap feb-28 on 27 Feb", parties: []party{{id: "p1", birth: "2008-02-29"}}, leapDay: LeapDayFebruary28, now: "2026-02-27T12:00:00Z", minimum: 18, wantAvl: true},
		{name: "leap feb-28 on 28 Feb", parties: []party{{id: "p1", birth: "2008-02-29"}}, leapDay: LeapDayFebruary28, now: "2026-02-28T12:00:00Z", minimum: 18, wantAvl: true, wantHold: true},

		// Born 29 February 2004: the 20th birthday in 2024, a leap year, is
		// 29 February under both rules.
		{name: "leap year march-1 on 28 Feb", parties: []party{{id: "p1", birth: "2004-02-29"}}, leapDay: LeapDayMarch1, now: "2024-02-28T12:00:00Z", minimum: 20, wantAvl: true},
		{name: "leap year march-1 on 29 Feb", parties: []party{{id: "p1", birth: "2004-02-29"}}, leapDay: LeapDayMarch1, now: "2024-02-29T12:00:00Z", minimum: 20, wantAvl: true, wantHold: true},
		{name: "leap year feb-28 on 28 Feb", parties: []party{{id: "p1", birth: "2004-02-29"}}, leapDay: LeapDayFebruary28, now: "2024-02-28T12:00:00Z", minimum: 20, wantAvl: true},
		{name: "leap year feb-28 on 29 Feb", parties: []party{{id: "p1", birth: "2004-02-29"}}, leapDay: LeapDayFebruary28, now: "2024-02-29T12:00:00Z", minimum: 20, wantAvl: true, wantHold: true},
	}
	e := storetest.New(t)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			customer := "age-" + string(rune('a'+i))
			for _, p := range tt.parties {
				insertParty(t, e, customer, p)
			}
			d := &Deriver{Engine: e, Zone: tt.zone, LeapDayBirthday: tt.leapDay}
			now := mustTime(t, tt.now)

			res := derive1(t, d, customer, insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: tt.minimum}, now)
			if res.Available != tt.wantAvl {
				t.Errorf("Available = %v, want %v", res.Available, tt.wantAvl)
			}
			if res.Holds != tt.wantHold {
				t.Errorf("Holds = %v, want %v", res.Holds, tt.wantHold)
			}
			if !res.AsOf.Equal(now) {
				t.Errorf("AsOf = %v, want %v", res.AsOf, now)
			}
		})
	}
}

func TestAge_cases(t *testing.T) {
	tests := []struct {
		birth, today, leapDay string
		want                  int
	}{
		{"1990-06-15", "2026-06-14", "", 35},
		{"1990-06-15", "2026-06-15", "", 36},
		{"1990-12-31", "2027-01-01", "", 36},
		{"2008-02-29", "2026-02-28", LeapDayMarch1, 17},
		{"2008-02-29", "2026-03-01", LeapDayMarch1, 18},
		{"2008-02-29", "2026-02-28", LeapDayFebruary28, 18},
		{"2008-02-29", "2026-02-27", LeapDayFebruary28, 17},
		{"2008-02-29", "2028-02-28", LeapDayFebruary28, 19},
		{"2008-02-29", "2028-02-29", LeapDayFebruary28, 20},
		{"2000-02-29", "2100-02-28", LeapDayMarch1, 99}, // 2100 is not a leap year
		{"2000-02-29", "2100-03-01", LeapDayMarch1, 100},
		{"2030-01-01", "2026-11-30", "", -4},
	}
	for _, tt := range tests {
		t.Run(tt.birth+"_"+tt.today+"_"+tt.leapDay, func(t *testing.T) {
			got := Age(mustDate(t, tt.birth), mustDate(t, tt.today), tt.leapDay)
			if got != tt.want {
				t.Errorf("Age = %d, want %d", got, tt.want)
			}
		})
	}
}
