package categorize

import (
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
)

// schedule is a pay pattern: a numbered sequence of nominal paydays. A payer
// pays period k on its nominal payday or, when that is not a working day, on
// the working day its shift moves it to.
type schedule interface {
	// nominal returns the payday of period k before any working-day shift.
	nominal(k int) insights.Date
	// periodsNear returns the range of periods, inclusive, that a payment
	// on d can belong to once a shift of a few days either way is allowed.
	periodsNear(d insights.Date) (lo, hi int)
	cadence() insights.Cadence
	rule() string
}

// shift is the way a payer moves a payday that is not a working day.
type shift int

const (
	// shiftEarlier is what employers paying by Bacs do: the wage arrives on
	// the working day before.
	shiftEarlier shift = iota
	// shiftLater is what standing orders and direct debits do: a Bacs
	// collection or a standing order due on a weekend or bank holiday is
	// processed on the next working day.
	shiftLater
)

func (s shift) apply(d insights.Date, cal *calendar.Calendar) insights.Date {
	if s == shiftLater {
		return cal.OnOrAfterWorkingDay(d)
	}
	return cal.OnOrBeforeWorkingDay(d)
}

// monthly numbers periods by month: k = 12*year + month - 1.
type monthly struct {
	name   string
	payday func(y int, m time.Month) insights.Date
}

func (s monthly) nominal(k int) insights.Date {
	return s.payday(k/12, time.Month(k%12+1))
}

func (s monthly) periodsNear(d insights.Date) (lo, hi int) {
	k := 12*d.Year + int(d.Month) - 1
	return k - 1, k + 1
}

func (s monthly) cadence() insights.Cadence { return insights.CadenceMonthly }
func (s monthly) rule() string              { return s.name }

// fixedDay pays on day of every month, or on the month's last day when the
// month is shorter.
func fixedDay(day int) monthly {
	return monthly{"monthly-fixed-day", func(y int, m time.Month) insights.Date {
		last := calendar.LastDayOfMonth(y, m)
		return insights.Date{Year: y, Month: m, Day: min(day, last.Day)}
	}}
}

// lastWorkingDay pays on the last calendar day of the month, which the
// earlier shift turns into the last working day.
func lastWorkingDay() monthly {
	return monthly{"monthly-last-working-day", calendar.LastDayOfMonth}
}

// lastWeekdayOf pays on the last given weekday of the month, such as the
// last Friday.
func lastWeekdayOf(wd time.Weekday) monthly {
	return monthly{"monthly-last-weekday", func(y int, m time.Month) insights.Date {
		d := calendar.LastDayOfMonth(y, m)
		for calendar.Weekday(d) != wd {
			d = d.AddDays(-1)
		}
		return d
	}}
}

// twiceMonthly pays on two days of every month: period 2*(12*year+month-1)
// on first and the next period on second. A day past the month's end means
// its last day, so second = 31 is "the last day of the month".
type twiceMonthly struct {
	first, second int
}

func (s twiceMonthly) nominal(k int) insights.Date {
	month := k / 2
	y, m := month/12, time.Month(month%12+1)
	day := s.first
	if k%2 == 1 {
		day = s.second
	}
	last := calendar.LastDayOfMonth(y, m)
	return insights.Date{Year: y, Month: m, Day: min(day, last.Day)}
}

func (s twiceMonthly) periodsNear(d insights.Date) (lo, hi int) {
	k := 2 * (12*d.Year + int(d.Month) - 1)
	return k - 1, k + 2
}

func (s twiceMonthly) cadence() insights.Cadence { return CadenceTwiceMonthly }
func (s twiceMonthly) rule() string              { return "twice-monthly" }

// periodic pays at a fixed interval of days, counted from anchor, the date
// of one observed payment. Period k is the k-th payday after the anchor.
type periodic struct {
	anchor insights.Date
	days   int
}

func (s periodic) nominal(k int) insights.Date { return s.anchor.AddDays(k * s.days) }

func (s periodic) periodsNear(d insights.Date) (lo, hi int) {
	delta := s.anchor.DaysUntil(d)
	k := delta / s.days
	if delta < 0 && delta%s.days != 0 {
		k-- // round toward minus infinity
	}
	return k - 1, k + 1
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
		return "weekly"
	case 14:
		return "fortnightly"
	}
	return "four-weekly"
}

// paidOn reports whether a payment on d pays period k of s: on the nominal
// payday itself (Faster Payments also settle at weekends) or on the working
// day the shift moves it to.
func paidOn(s schedule, sh shift, k int, d insights.Date, cal *calendar.Calendar) bool {
	n := s.nominal(k)
	if d == n {
		return true
	}
	// A payment can differ from a nominal payday only by a shift, and a
	// shift is at most maxShiftDays.
	if gap := n.DaysUntil(d); gap > maxShiftDays || gap < -maxShiftDays {
		return false
	}
	return d == sh.apply(n, cal)
}

// periodOf returns the period of s that a payment on d pays, or false.
func periodOf(s schedule, sh shift, d insights.Date, cal *calendar.Calendar) (int, bool) {
	lo, hi := s.periodsNear(d)
	for k := lo; k <= hi; k++ {
		if paidOn(s, sh, k, d, cal) {
			return k, true
		}
	}
	return 0, false
}

// trailingRun returns how many of the latest dates (sorted, oldest first)
// pay consecutive periods of s, and the period of the latest date.
func trailingRun(s schedule, sh shift, dates []insights.Date, cal *calendar.Calendar) (run, lastPeriod int) {
	last := len(dates) - 1
	k, ok := periodOf(s, sh, dates[last], cal)
	if !ok {
		return 0, 0
	}
	run, lastPeriod = 1, k
	for i := last - 1; i >= 0; i-- {
		prev, ok := periodOf(s, sh, dates[i], cal)
		if !ok || prev != k-1 {
			break
		}
		run, k = run+1, prev
	}
	return run, lastPeriod
}

// fit is a schedule and shift with the trailing run of payments that
// follow them.
type fit struct {
	schedule   schedule
	shift      shift
	run        int
	lastPeriod int
}

// bestFit tries every candidate schedule with each shift in shifts and
// returns the one followed by the longest trailing run of payments. On a tie
// the earlier candidate wins. So monthly patterns beat periodic ones, and
// those beat twice-monthly ones, because the 6th and 20th also fit a
// fortnight across February. The last working day beats a fixed day 31,
// which predicts the same dates, and the first shift listed beats the
// second.
func bestFit(dates []insights.Date, cal *calendar.Calendar, shifts ...shift) fit {
	var best fit
	for _, s := range candidateSchedules(dates) {
		for _, sh := range shifts {
			run, k := trailingRun(s, sh, dates, cal)
			if run > best.run {
				best = fit{s, sh, run, k}
			}
		}
	}
	return best
}

// anchorCandidates is how many of the latest payments are tried as the
// anchor of a periodic schedule. One unshifted payday among them is enough.
const anchorCandidates = 4

// maxShiftDays is the largest number of days a working-day shift moves a
// payday under UK bank holiday rules. When Christmas Day is a Saturday, its
// substitutes are Monday 27 and Tuesday 28 December. A payday on the 25th
// then moves later to Wednesday 29, and one on the 28th earlier to Friday
// 24. Easter moves Good Friday to Tuesday and Easter Monday to Thursday.
const maxShiftDays = 4

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
	return append(candidates, twiceMonthlyCandidates(dates)...)
}

// twiceMonthlyCandidates returns the twice-monthly schedules whose two days
// lie within a shift of the days of the latest two payments, when those are
// 10 to 20 days apart. A second day of 31 is the last day of the month.
func twiceMonthlyCandidates(dates []insights.Date) []schedule {
	n := len(dates)
	if n < 2 {
		return nil
	}
	gap := dates[n-2].DaysUntil(dates[n-1])
	if gap < 10 || gap > 20 {
		return nil
	}

	a, b := dates[n-2].Day, dates[n-1].Day
	if a > b {
		a, b = b, a
	}
	var out []schedule
	seen := map[twiceMonthly]bool{}
	for first := max(1, a-maxShiftDays); first <= a+maxShiftDays; first++ {
		for second := b - maxShiftDays; second <= b+maxShiftDays; second++ {
			s := twiceMonthly{first, min(second, 31)}
			if s.second-s.first < 10 || seen[s] {
				continue
			}
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}
