// Package calendar computes the UK bank holidays of England and Wales,
// Scotland and Northern Ireland by rule, and the working-day arithmetic that
// payday detection needs. It uses no downloaded data: the statutory rules and
// the one-off changes listed in holidays.go are the whole source.
package calendar

import (
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/openbanking-insights/insights"
)

// Region is one of the three UK bank holiday jurisdictions.
type Region string

// Regions, named as in ByName.
const (
	RegionEnglandAndWales Region = "england-and-wales"
	RegionScotland        Region = "scotland"
	RegionNorthernIreland Region = "northern-ireland"
)

// Calendar is the bank holiday calendar of one region. It computes each year
// on first use and caches it. A Calendar is safe for concurrent use: readers
// load an immutable snapshot of the cache without locking, and a writer
// that adds a year publishes a new snapshot.
type Calendar struct {
	region Region

	mu    sync.Mutex // serialises writers of years
	years atomic.Pointer[map[int]map[insights.Date]bool]
}

// New returns the calendar of region, or an error for an unknown region.
func New(region Region) (*Calendar, error) {
	switch region {
	case RegionEnglandAndWales, RegionScotland, RegionNorthernIreland:
		c := &Calendar{region: region}
		c.years.Store(&map[int]map[insights.Date]bool{})
		return c, nil
	}
	return nil, fmt.Errorf("unknown bank holiday region %q: want %q, %q or %q",
		region, RegionEnglandAndWales, RegionScotland, RegionNorthernIreland)
}

// EnglandAndWales returns the calendar of England and Wales.
func EnglandAndWales() *Calendar { return mustNew(RegionEnglandAndWales) }

// Scotland returns the calendar of Scotland.
func Scotland() *Calendar { return mustNew(RegionScotland) }

// NorthernIreland returns the calendar of Northern Ireland.
func NorthernIreland() *Calendar { return mustNew(RegionNorthernIreland) }

// ByName returns the calendar named "england-and-wales", "scotland" or
// "northern-ireland".
func ByName(name string) (*Calendar, error) {
	return New(Region(name))
}

func mustNew(r Region) *Calendar {
	c, err := New(r)
	if err != nil {
		panic(err)
	}
	return c
}

// Region returns the region of c.
func (c *Calendar) Region() Region { return c.region }

// Holidays returns the bank holidays of year in date order, substitute days
// included.
func (c *Calendar) Holidays(year int) []insights.Date {
	return holidaysOf(c.region, year)
}

// IsHoliday reports whether d is a bank holiday, substitute days included.
func (c *Calendar) IsHoliday(d insights.Date) bool {
	return c.yearSet(d.Year)[d]
}

// IsWorkingDay reports whether d is neither a Saturday, a Sunday nor a bank
// holiday.
func (c *Calendar) IsWorkingDay(d insights.Date) bool {
	return !isWeekend(d) && !c.IsHoliday(d)
}

// OnOrBeforeWorkingDay returns d when it is a working day, otherwise the
// nearest earlier working day. UK employers paying by Bacs usually move a
// payday that falls on a weekend or bank holiday earlier in this way.
func (c *Calendar) OnOrBeforeWorkingDay(d insights.Date) insights.Date {
	for !c.IsWorkingDay(d) {
		d = d.AddDays(-1)
	}
	return d
}

// OnOrAfterWorkingDay returns d when it is a working day, otherwise the
// nearest later working day.
func (c *Calendar) OnOrAfterWorkingDay(d insights.Date) insights.Date {
	for !c.IsWorkingDay(d) {
		d = d.AddDays(1)
	}
	return d
}

// LastWorkingDayOfMonth returns the last working day of month m of year y.
func (c *Calendar) LastWorkingDayOfMonth(y int, m time.Month) insights.Date {
	return c.OnOrBeforeWorkingDay(LastDayOfMonth(y, m))
}

// LastDayOfMonth returns the last calendar day of month m of year y.
func LastDayOfMonth(y int, m time.Month) insights.Date {
	return insights.DateOf(time.Date(y, m+1, 0, 0, 0, 0, 0, time.UTC))
}

// yearSet returns the cached holiday set of year, computing it on first use.
func (c *Calendar) yearSet(year int) map[insights.Date]bool {
	if set, ok := (*c.years.Load())[year]; ok {
		return set
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	old := *c.years.Load()
	if set, ok := old[year]; ok {
		return set
	}
	set := map[insights.Date]bool{}
	for _, d := range holidaysOf(c.region, year) {
		set[d] = true
	}
	next := make(map[int]map[insights.Date]bool, len(old)+1)
	for y, s := range old {
		next[y] = s
	}
	next[year] = set
	c.years.Store(&next)
	return set
}

// Weekday returns the day of the week of d in the proleptic Gregorian
// calendar, computed from the day count since 1 March of year 0 so that no
// time.Time is built.
func Weekday(d insights.Date) time.Weekday {
	y, m := d.Year, int(d.Month)
	if m <= 2 { // count January and February with the year before
		y--
		m += 12
	}
	days := 365*y + floorDiv(y, 4) - floorDiv(y, 100) + floorDiv(y, 400) + (153*(m-3)+2)/5 + d.Day
	// Day 1 of this count, 1 March of year 0, was a Wednesday.
	return time.Weekday(((days+2)%7 + 7) % 7)
}

func floorDiv(a, b int) int {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

func isWeekend(d insights.Date) bool {
	wd := Weekday(d)
	return wd == time.Saturday || wd == time.Sunday
}
