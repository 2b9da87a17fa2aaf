package categorize

import (
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// schedule is a pay pattern: a numbered sequence of nominal paydays. A payer
// pays period k on its nominal payday or, when that is not a working day, on
// the working day before it.
type schedule interface {
	// nominal returns the payday of period k before any working-day shift.
	nominal(k int) insights.Date
	// periodsNear returns the two periods a payment on d can belong to. A
	// payday only ever moves earlier, so they are the period whose payday
	// is d or before it, and the one after.
	periodsNear(d insights.Date) [2]int
	cadence() insights.Cadence
	rule() string
}

// monthly numbers periods by month: k = 12*year + month - 1.
type monthly struct {
	name   string
	payday func(y int, m time.Month) insights.Date
}

func (s monthly) nominal(k int) insights.Date {
	return s.payday(k/12, time.Month(k%12+1))
}

func (s monthly) periodsNear(d insights.Date) [2]int {
	k := 12*d.Year + int(d.Month) - 1
	return [2]int{k, k + 1}
}

func (s monthly) cadence() insights.Cadence { return insights.CadenceMonthly }
func (s monthly) rule() string              { return s.name }

// fixedDay pays on day of every month, or on the month's last day when the
// month is shorter.
func fixedDay(day int) monthly {
	return monthly{"income:monthly-fixed-day", func(y int, m time.Month) insights.Date {
		last := calendar.LastDayOfMonth(y, m)
		return insights.Date{Year: y, Month: m, Day: min(day, last.Day)}
	}}
}

// lastWorkingDay pays on the last calendar day of the month, which the
// working-day shift turns into the last working day.
func lastWorkingDay() monthly {
	return monthly{"income:monthly-last-working-day", calendar.LastDayOfMonth}
}

// lastWeekdayOf pays on the last given weekday of the month, such as the
// last Friday.
func lastWeekdayOf(wd time.Weekday) monthly {
	return monthly{"income:monthly-last-weekday", func(y int, m time.Month) insights.Date {
		d := calendar.LastDayOfMonth(y, m)
		for calendar.Weekday(d) != wd {
			d = d.AddDays(-1)
		}
		return d
	}}
}

// periodic pays at a fixed interval of days, counted from anchor, the date
// of one observed payment. Period k is the k-th payday after the anchor.
type periodic struct {
	anchor insights.Date
	days   int
}

func (s periodic) nominal(k int) insights.Date { return s.anchor.AddDays(k * s.days) }

func (s periodic) periodsNear(d insights.Date) [2]int {
	delta := s.anchor.DaysUntil(d)
	k := delta / s.days
	if delta < 0 && delta%s.days != 0 {
		k-- // round toward minus infinity
	}
	return [2]int{k, k + 1}
}

func (s periodic) cadence() insights.Cadence {
	switch s.days {
	case 7:
		return insights.CadenceWeekly
	case 14:
		return insights.CadenceFortnightly
	}
	return insights.CadenceFourWeekly
}

func (s periodic) rule() string {
	switch s.days {
	case 7:
		return "income:weekly"
	case 14:
		return "income:fortnightly"
	}
	return "income:four-weekly"
}

// paidOn reports whether a payment on d pays period k of s: on the nominal
// payday itself (Faster Payments also settle at weekends) or on the working
// day a Bacs payment moves it to.
func paidOn(s schedule, k int, d insights.Date, cal *calendar.Calendar) bool {
	n := s.nominal(k)
	return d == n || d == cal.OnOrBeforeWorkingDay(n)
}

// periodOf returns the period of s that a payment on d pays, or false.
func periodOf(s schedule, d insights.Date, cal *calendar.Calendar) (int, bool) {
	for _, k := range s.periodsNear(d) {
		if paidOn(s, k, d, cal) {
			return k, true
		}
	}
	return 0, false
}

// trailingRun returns how many of the latest dates (sorted, oldest first)
// pay consecutive periods of s, and the period of the latest date.
func trailingRun(s schedule, dates []insights.Date, cal *calendar.Calendar) (run, lastPeriod int) {
	last := len(dates) - 1
	k, ok := periodOf(s, dates[last], cal)
	if !ok {
		return 0, 0
	}
	run, lastPeriod = 1, k
	for i := last - 1; i >= 0; i-- {
		prev, ok := periodOf(s, dates[i], cal)
		if !ok || prev != k-1 {
			break
		}
		run, k = run+1, prev
	}
	return run, lastPeriod
}

// fit is a schedule with the trailing run of payments that follow it.
type fit struct {
	schedule   schedule
	run        int
	lastPeriod int
}

// bestFit tries every candidate schedule and returns the one followed by the
// longest trailing run of payments. On a tie the earlier candidate wins, so
// monthly patterns come before periodic ones, and the last working day
// before a fixed day (day 31 would predict the same dates).
func bestFit(dates []insights.Date, cal *calendar.Calendar) fit {
	var best fit
	for _, s := range candidateSchedules(dates) {
		run, k := trailingRun(s, dates, cal)
		if run > best.run {
			best = fit{s, run, k}
		}
	}
	return best
}

// anchorCandidates is how many of the latest payments are tried as the
// anchor of a periodic schedule. One unshifted payday among them is enough.
const anchorCandidates = 4

func candidateSchedules(dates []insights.Date) []schedule {
	candidates := []schedule{lastWorkingDay()}
	for day := 1; day <= 31; day++ {
		candidates = append(candidates, fixedDay(day))
	}
	for wd := time.Monday; wd <= time.Friday; wd++ {
		candidates = append(candidates, lastWeekdayOf(wd))
	}
	for _, days := range []int{28, 14, 7} {
		for i := len(dates) - 1; i >= 0 && i >= len(dates)-anchorCandidates; i-- {
			candidates = append(candidates, periodic{anchor: dates[i], days: days})
		}
	}
	return candidates
}
