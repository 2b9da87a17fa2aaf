package obie

import (
	"errors"
	"regexp"
	"strings"
	"time"
	_ "time/tzdata" // Europe/London must load on hosts without a zoneinfo database
)

// London is the zone of UK ASPSPs. It reads date-times that arrive without
// an offset, and it decides the calendar day of a booking.
var London = mustLoadLocation("Europe/London")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic("obie: load zone " + name + ": " + err.Error())
	}
	return loc
}

// dateTimePattern is the RFC 3339 date-time grammar with the offset made
// optional and at most nanosecond precision. RFC 3339 section 5.6 allows a
// lower-case "t" and "z"; they are upper-cased before parsing.
var dateTimePattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})?$`)

var errDateTime = errors.New("want an RFC 3339 date-time such as 2017-04-05T10:43:07+00:00")

// ParseDateTime parses an OBIE ISODateTime and returns it in UTC.
//
// The OBIE profile requires every date-time in a response to carry its
// offset, and the accepted form is RFC 3339: "2017-04-05T10:43:07+00:00",
// "2019-09-16T01:59:39.629Z". ASPSPs do send values without an offset; those
// are read as wall-clock time in local, which for a UK bank is Europe/London.
// Every other form is rejected: a date alone, "01-05-2002", an offset
// without a colon, a space in place of "T".
func ParseDateTime(s string, local *time.Location) (time.Time, error) {
	if t, ok := scanDateTime(s, local); ok {
		return t, nil
	}
	return parseDateTimeSlow(s, local)
}

// parseDateTimeSlow is ParseDateTime by regular expression and time.Parse.
// It takes every value that scanDateTime leaves, so that an invalid value
// gets time.Parse's reason.
func parseDateTimeSlow(s string, local *time.Location) (time.Time, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case 't':
			return 'T'
		case 'z':
			return 'Z'
		}
		return r
	}, s)
	m := dateTimePattern.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, errDateTime
	}

	var (
		t   time.Time
		err error
	)
	if m[2] != "" {
		t, err = time.Parse(time.RFC3339Nano, s)
	} else {
		t, err = time.ParseInLocation("2006-01-02T15:04:05.999999999", s, local)
	}
	if err != nil {
		// The grammar matched, so a field is out of range (month 13, 30
		// February, hour 24, offset +25:00).
		return time.Time{}, errors.New("date-time out of range: " + trimTimeError(err))
	}
	return t.UTC(), nil
}

// trimTimeError returns the part of a time.Parse error that names the
// field, such as "month out of range".
func trimTimeError(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		return msg[i+2:]
	}
	return msg
}

// scanDateTime parses the RFC 3339 form of ParseDateTime without
// allocating. It returns false for any value that does not match the
// grammar or has a field out of range (month 13, 30 February, hour 24,
// offset +25:00); ParseDateTime then parses it again by time.Parse, which
// names the field.
func scanDateTime(s string, local *time.Location) (time.Time, bool) {
	// YYYY-MM-DDThh:mm:ss is 19 bytes.
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	second, ok6 := digits(s[17:19])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 {
		return time.Time{}, false
	}
	if month < 1 || month > 12 || day < 1 || day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || second > 59 {
		return time.Time{}, false
	}

	rest := s[19:]
	nsec := 0
	if len(rest) > 0 && rest[0] == '.' {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, false
		}
		frac, _ := digits(rest[1:n])
		for i := n; i < 10; i++ {
			frac *= 10
		}
		nsec = frac
		rest = rest[n:]
	}

	switch {
	case rest == "":
		return time.Date(year, time.Month(month), day, hour, minute, second, nsec, local).UTC(), true
	case rest == "Z" || rest == "z":
		return time.Date(year, time.Month(month), day, hour, minute, second, nsec, time.UTC), true
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		offHour, okH := digits(rest[1:3])
		offMinute, okM := digits(rest[4:6])
		if !okH || !okM || offHour > 23 || offMinute > 59 {
			return time.Time{}, false
		}
		offset := time.Duration(offHour)*time.Hour + time.Duration(offMinute)*time.Minute
		if rest[0] == '-' {
			offset = -offset
		}
		t := time.Date(year, time.Month(month), day, hour, minute, second, nsec, time.UTC)
		return t.Add(-offset), true
	}
	return time.Time{}, false
}

// digits returns the decimal value of s when s is ASCII digits only.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// daysIn returns the number of days of month in year, by the proleptic
// Gregorian calendar that package time uses.
func daysIn(month time.Month, year int) int {
	switch month {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}
