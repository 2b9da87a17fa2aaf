// Package calendar computes the UK bank holidays of England and Wales,
// Scotland and Northern Ireland by rule, and the working-day arithmetic that
// payday detection needs. It uses no downloaded data: the statutory rules and
// the one-off changes listed in holidays.go are the whole source.
package calendar

import (
	"fmt"
	"sync"
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
// on first use and caches it. A Calendar is safe for concurrent use.
type Calendar struct {
	region Region

	mu    sync.Mutex
	years map[int]map[insights.Date]bool
}

// New returns the calendar of region, or an error for an unknown region.
func New(region Region) (*Calendar, error) {
	switch region {
	case RegionEnglandAndWales, RegionScotland, RegionNorthernIreland:
		return &Calendar{region: region, years: map[int]map[insights.Date]bool{}}, nil
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
	c.mu.Lock()
	defer c.mu.Unlock()

	if set, ok := c.years[year]; ok {
		return set
	}
	set := map[insights.Date]bool{}
	for _, d := range holidaysOf(c.region, year) {
		set[d] = true
	}
	c.years[year] = set
	return set
}

// Weekday returns the day of the week of d.
func Weekday(d insights.Date) time.Weekday {
	return d.In(time.UTC).Weekday()
}

func isWeekend(d insights.Date) bool {
	wd := Weekday(d)
	return wd == time.Saturday || wd == time.Sunday
}
