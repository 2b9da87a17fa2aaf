package calendar

import (
	"sort"
	"time"

	"github.com/openbanking-insights/insights"
)

// holidaysOf computes the bank holidays of region in year, in date order.
//
// The rules are those of the Banking and Financial Dealings Act 1971 and the
// royal proclamations made under it. A fixed-date holiday that falls on a
// Saturday or Sunday is replaced by the next weekday that is not already a
// holiday. So Christmas on a Saturday gives Monday 27 and Boxing Day gives
// Tuesday 28 December.
func holidaysOf(region Region, year int) []insights.Date {
	// Step 1: the holidays on a fixed weekday, which never need a substitute.
	easter := easterSunday(year)
	movable := []insights.Date{
		easter.AddDays(-2),              // Good Friday
		nthMonday(year, time.May, 1),    // early May bank holiday
		lastMonday(year, time.May),      // spring bank holiday
		summerBankHoliday(region, year), // summer bank holiday
	}
	if region != RegionScotland {
		movable = append(movable, easter.AddDays(1)) // Easter Monday
	}

	// Step 2: the fixed-date holidays, substituted when at a weekend.
	days := substitute(movable, fixedDates(region, year))

	// Step 3: changes made by proclamation for one year only.
	days = applyOneOffs(days, year)

	sort.Slice(days, func(i, j int) bool { return days[i].Before(days[j]) })
	return days
}

// fixedDates returns the holidays of region on a fixed calendar date, in date
// order, before any substitution.
func fixedDates(region Region, year int) []insights.Date {
	date := func(m time.Month, d int) insights.Date { return insights.Date{Year: year, Month: m, Day: d} }

	fixed := []insights.Date{date(time.January, 1)}
	switch region {
	case RegionScotland:
		fixed = append(fixed, date(time.January, 2), date(time.November, 30)) // St Andrew's Day
	case RegionNorthernIreland:
		fixed = append(fixed, date(time.March, 17), date(time.July, 12)) // St Patrick's Day, Battle of the Boyne
	}
	return append(fixed, date(time.December, 25), date(time.December, 26))
}

// substitute returns movable plus each fixed date, where a fixed date at a
// weekend is replaced by the next weekday not already a holiday. Weekday
// holidays are placed first so that a substitute never lands on one.
func substitute(movable, fixed []insights.Date) []insights.Date {
	taken := map[insights.Date]bool{}
	for _, d := range movable {
		taken[d] = true
	}
	for _, d := range fixed {
		if !isWeekend(d) {
			taken[d] = true
		}
	}

	for _, d := range fixed {
		if !isWeekend(d) {
			continue
		}
		for isWeekend(d) || taken[d] {
			d = d.AddDays(1)
		}
		taken[d] = true
	}

	days := make([]insights.Date, 0, len(taken))
	for d := range taken {
		days = append(days, d)
	}
	return days
}

// summerBankHoliday is the first Monday of August in Scotland and the last
// Monday of August elsewhere.
func summerBankHoliday(region Region, year int) insights.Date {
	if region == RegionScotland {
		return nthMonday(year, time.August, 1)
	}
	return lastMonday(year, time.August)
}

// oneOff is a change to the holidays of one year made by royal proclamation.
// Every change listed applied to the whole UK.
type oneOff struct {
	remove insights.Date   // a rule-based holiday that was moved, or zero
	add    []insights.Date // the days declared instead or in addition
}

// NOTE: only the one-off changes from 2020 on are listed. Earlier years follow
// the rules alone, so they are wrong on days such as the 2011 royal wedding
// and the 2012 Diamond Jubilee.
var oneOffs = map[int][]oneOff{
	// Early May bank holiday moved from Monday 4 to Friday 8 May, the 75th
	// anniversary of VE Day.
	2020: {{remove: ymd(2020, time.May, 4), add: []insights.Date{ymd(2020, time.May, 8)}}},
	2022: {
		// Spring bank holiday moved from 30 May to Thursday 2 June, and
		// Friday 3 June added for the Platinum Jubilee.
		{remove: ymd(2022, time.May, 30), add: []insights.Date{ymd(2022, time.June, 2), ymd(2022, time.June, 3)}},
		// State funeral of Queen Elizabeth II.
		{add: []insights.Date{ymd(2022, time.September, 19)}},
	},
	// Coronation of King Charles III.
	2023: {{add: []insights.Date{ymd(2023, time.May, 8)}}},
}

func applyOneOffs(days []insights.Date, year int) []insights.Date {
	for _, change := range oneOffs[year] {
		kept := days[:0]
		for _, d := range days {
			if d != change.remove {
				kept = append(kept, d)
			}
		}
		days = append(kept, change.add...)
	}
	return days
}

// easterSunday returns the date of Easter Sunday in the Gregorian calendar,
// computed with the anonymous Gregorian algorithm (Meeus/Jones/Butcher).
func easterSunday(year int) insights.Date {
	golden := year % 19
	century, yearOfCentury := year/100, year%100
	leapCenturies, centuryRest := century/4, century%4
	moonCorrection := (century + 8) / 25
	solarCorrection := (century - moonCorrection + 1) / 3
	epact := (19*golden + century - leapCenturies - solarCorrection + 15) % 30
	leapYears, yearRest := yearOfCentury/4, yearOfCentury%4
	weekdayOffset := (32 + 2*centuryRest + 2*leapYears - epact - yearRest) % 7
	lateCorrection := (golden + 11*epact + 22*weekdayOffset) / 451
	monthDay := epact + weekdayOffset - 7*lateCorrection + 114
	return ymd(year, time.Month(monthDay/31), monthDay%31+1)
}

// nthMonday returns the n-th Monday of month m.
func nthMonday(year int, m time.Month, n int) insights.Date {
	d := ymd(year, m, 1)
	for Weekday(d) != time.Monday {
		d = d.AddDays(1)
	}
	return d.AddDays(7 * (n - 1))
}

// lastMonday returns the last Monday of month m.
func lastMonday(year int, m time.Month) insights.Date {
	d := LastDayOfMonth(year, m)
	for Weekday(d) != time.Monday {
		d = d.AddDays(-1)
	}
	return d
}

func ymd(y int, m time.Month, d int) insights.Date {
	return insights.Date{Year: y, Month: m, Day: d}
}
