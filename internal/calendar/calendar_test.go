package calendar

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

func d(s string) insights.Date {
	date, err := insights.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return date
}

func dates(ss ...string) []insights.Date {
	out := make([]insights.Date, len(ss))
	for i, s := range ss {
		out[i] = d(s)
	}
	return out
}

// The expected dates are the bank holidays published for each region.
func TestHolidays_publishedDates(t *testing.T) {
	cases := []struct {
		region Region
		year   int
		want   []insights.Date
	}{
		{RegionEnglandAndWales, 2024, dates("2024-01-01", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-08-26", "2024-12-25", "2024-12-26")},
		{RegionEnglandAndWales, 2025, dates("2025-01-01", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-08-25", "2025-12-25", "2025-12-26")},
		{RegionEnglandAndWales, 2026, dates("2026-01-01", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-08-31", "2026-12-25", "2026-12-28")},
		{RegionEnglandAndWales, 2027, dates("2027-01-01", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-08-30", "2027-12-27", "2027-12-28")},
		{RegionScotland, 2024, dates("2024-01-01", "2024-01-02", "2024-03-29", "2024-05-06", "2024-05-27", "2024-08-05", "2024-12-02", "2024-12-25", "2024-12-26")},
		{RegionScotland, 2025, dates("2025-01-01", "2025-01-02", "2025-04-18", "2025-05-05", "2025-05-26", "2025-08-04", "2025-12-01", "2025-12-25", "2025-12-26")},
		{RegionScotland, 2026, dates("2026-01-01", "2026-01-02", "2026-04-03", "2026-05-04", "2026-05-25", "2026-08-03", "2026-11-30", "2026-12-25", "2026-12-28")},
		{RegionScotland, 2027, dates("2027-01-01", "2027-01-04", "2027-03-26", "2027-05-03", "2027-05-31", "2027-08-02", "2027-11-30", "2027-12-27", "2027-12-28")},
		{RegionNorthernIreland, 2024, dates("2024-01-01", "2024-03-18", "2024-03-29", "2024-04-01", "2024-05-06", "2024-05-27", "2024-07-12", "2024-08-26", "2024-12-25", "2024-12-26")},
		{RegionNorthernIreland, 2025, dates("2025-01-01", "2025-03-17", "2025-04-18", "2025-04-21", "2025-05-05", "2025-05-26", "2025-07-14", "2025-08-25", "2025-12-25", "2025-12-26")},
		{RegionNorthernIreland, 2026, dates("2026-01-01", "2026-03-17", "2026-04-03", "2026-04-06", "2026-05-04", "2026-05-25", "2026-07-13", "2026-08-31", "2026-12-25", "2026-12-28")},
		{RegionNorthernIreland, 2027, dates("2027-01-01", "2027-03-17", "2027-03-26", "2027-03-29", "2027-05-03", "2027-05-31", "2027-07-12", "2027-08-30", "2027-12-27", "2027-12-28")},
	}
	for _, tc := range cases {
		t.Run(string(tc.region)+"/"+time.Date(tc.year, 1, 1, 0, 0, 0, 0, time.UTC).Format("2006"), func(t *testing.T) {
			c, err := ByName(string(tc.region))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Holidays(tc.year); !slices.Equal(got, tc.want) {
				t.Errorf("Holidays(%d) = %v, want %v", tc.year, got, tc.want)
			}
		})
	}
}

func TestHolidays_substitutes(t *testing.T) {
	cases := []struct {
		name   string
		cal    *Calendar
		year   int
		want   []insights.Date // must be holidays
		wantNo []insights.Date // must not be holidays
	}{
		// 2022: 1 January a Saturday, 2 January a Sunday, Christmas a Sunday.
		{"england 2022 new year and christmas on sunday", EnglandAndWales(), 2022,
			dates("2022-01-03", "2022-12-26", "2022-12-27"), dates("2022-01-04")},
		{"scotland 2022 two january substitutes", Scotland(), 2022,
			dates("2022-01-03", "2022-01-04"), nil},
		// 2023: 1 January a Sunday, so Scotland keeps 2 January and adds 3 January.
		{"scotland 2023 new year on sunday", Scotland(), 2023,
			dates("2023-01-02", "2023-01-03"), dates("2023-01-01")},
		// 2021: Christmas a Saturday, Boxing Day a Sunday.
		{"england 2021 christmas on saturday", EnglandAndWales(), 2021,
			dates("2021-12-27", "2021-12-28"), dates("2021-12-25", "2021-12-26")},
		{"scotland 2019 st andrew on saturday", Scotland(), 2019,
			dates("2019-12-02"), dates("2019-11-30")},
		{"northern ireland 2018 boyne on thursday", NorthernIreland(), 2018,
			dates("2018-07-12"), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, day := range tc.want {
				if !tc.cal.IsHoliday(day) {
					t.Errorf("IsHoliday(%s) = false, want true", day)
				}
			}
			for _, day := range tc.wantNo {
				if tc.cal.IsHoliday(day) {
					t.Errorf("IsHoliday(%s) = true, want false", day)
				}
			}
		})
	}
}

func TestHolidays_oneOffs(t *testing.T) {
	cases := []struct {
		name string
		day  string
		want bool
	}{
		{"2020 VE day replaces early May", "2020-05-08", true},
		{"2020 first Monday of May moved", "2020-05-04", false},
		{"2022 spring moved off last Monday", "2022-05-30", false},
		{"2022 spring moved to 2 June", "2022-06-02", true},
		{"2022 platinum jubilee", "2022-06-03", true},
		{"2022 state funeral", "2022-09-19", true},
		{"2023 early May kept", "2023-05-01", true},
		{"2023 coronation", "2023-05-08", true},
	}
	for _, cal := range []*Calendar{EnglandAndWales(), Scotland(), NorthernIreland()} {
		for _, tc := range cases {
			t.Run(string(cal.Region())+"/"+tc.name, func(t *testing.T) {
				if got := cal.IsHoliday(d(tc.day)); got != tc.want {
					t.Errorf("IsHoliday(%s) = %v, want %v", tc.day, got, tc.want)
				}
			})
		}
	}
}

func TestEasterSunday_knownYears(t *testing.T) {
	want := map[int]string{
		2000: "2000-04-23", 2008: "2008-03-23", 2011: "2011-04-24", 2019: "2019-04-21",
		2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05", 2027: "2027-03-28",
		2038: "2038-04-25", 2285: "2285-03-22",
	}
	for year, s := range want {
		if got := easterSunday(year); got != d(s) {
			t.Errorf("easterSunday(%d) = %s, want %s", year, got, s)
		}
	}
}

func TestIsWorkingDay_cases(t *testing.T) {
	cal := EnglandAndWales()
	cases := []struct {
		day  string
		want bool
	}{
		{"2026-04-02", true},  // Thursday before Good Friday
		{"2026-04-03", false}, // Good Friday
		{"2026-04-04", false}, // Saturday
		{"2026-04-05", false}, // Sunday
		{"2026-04-06", false}, // Easter Monday
		{"2026-04-07", true},  // Tuesday
	}
	for _, tc := range cases {
		if got := cal.IsWorkingDay(d(tc.day)); got != tc.want {
			t.Errorf("IsWorkingDay(%s) = %v, want %v", tc.day, got, tc.want)
		}
	}
}

func TestOnOrBeforeWorkingDay_cases(t *testing.T) {
	cases := []struct {
		name string
		cal  *Calendar
		day  string
		want string
	}{
		{"working day unchanged", EnglandAndWales(), "2026-03-25", "2026-03-25"},
		{"saturday to friday", EnglandAndWales(), "2026-04-25", "2026-04-24"},
		{"easter monday to thursday", EnglandAndWales(), "2026-04-06", "2026-04-02"},
		{"scotland easter monday is working", Scotland(), "2026-04-06", "2026-04-06"},
		{"christmas to christmas eve", EnglandAndWales(), "2026-12-25", "2026-12-24"},
		{"boxing substitute across weekend", EnglandAndWales(), "2026-12-28", "2026-12-24"},
		{"new year back into december", EnglandAndWales(), "2027-01-01", "2026-12-31"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.OnOrBeforeWorkingDay(d(tc.day)); got != d(tc.want) {
				t.Errorf("OnOrBeforeWorkingDay(%s) = %s, want %s", tc.day, got, tc.want)
			}
		})
	}
}

func TestOnOrAfterWorkingDay_cases(t *testing.T) {
	cal := EnglandAndWales()
	if got := cal.OnOrAfterWorkingDay(d("2026-04-03")); got != d("2026-04-07") {
		t.Errorf("OnOrAfterWorkingDay(2026-04-03) = %s, want 2026-04-07", got)
	}
}

func TestLastWorkingDayOfMonth_cases(t *testing.T) {
	cases := []struct {
		name  string
		cal   *Calendar
		year  int
		month time.Month
		want  string
	}{
		{"month ends on tuesday", EnglandAndWales(), 2026, time.March, "2026-03-31"},
		{"month ends on sunday", EnglandAndWales(), 2026, time.May, "2026-05-29"},
		{"august bank holiday on last day", EnglandAndWales(), 2026, time.August, "2026-08-28"},
		{"scotland august ends on monday", Scotland(), 2026, time.August, "2026-08-31"},
		{"december after substitutes", EnglandAndWales(), 2027, time.December, "2027-12-31"},
		{"leap february", EnglandAndWales(), 2028, time.February, "2028-02-29"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.cal.LastWorkingDayOfMonth(tc.year, tc.month); got != d(tc.want) {
				t.Errorf("LastWorkingDayOfMonth(%d, %s) = %s, want %s", tc.year, tc.month, got, tc.want)
			}
		})
	}
}

func TestByName_unknown(t *testing.T) {
	if _, err := ByName("wales"); err == nil {
		t.Fatal("ByName(wales) returned no error")
	}
	for _, name := range []string{"england-and-wales", "scotland", "northern-ireland"} {
		c, err := ByName(name)
		if err != nil {
			t.Fatalf("ByName(%s): %v", name, err)
		}
		if string(c.Region()) != name {
			t.Errorf("ByName(%s).Region() = %s", name, c.Region())
		}
	}
}

// Run with -race: the per-year cache is filled from several goroutines.
func TestCalendar_concurrentUse(t *testing.T) {
	cal := EnglandAndWales()
	var wg sync.WaitGroup
	for year := 2020; year < 2028; year++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cal.LastWorkingDayOfMonth(year, time.December)
		}()
	}
	wg.Wait()
	if !cal.IsHoliday(d("2027-12-27")) {
		t.Error("IsHoliday(2027-12-27) = false after concurrent use, want true")
	}
}

func TestWeekday_matchesTime(t *testing.T) {
	for d := (insights.Date{Year: 1899, Month: time.December, Day: 25}); d.Year < 2101; d = d.AddDays(13) {
		if got, want := Weekday(d), d.In(time.UTC).Weekday(); got != want {
			t.Fatalf("Weekday(%s) = %s, want %s", d, got, want)
		}
	}
	for _, y := range []int{-401, -1, 0, 1, 400} {
		d := insights.Date{Year: y, Month: time.February, Day: 28}
		if got, want := Weekday(d), d.In(time.UTC).Weekday(); got != want {
			t.Errorf("Weekday(%s) = %s, want %s", d, got, want)
		}
	}
}
