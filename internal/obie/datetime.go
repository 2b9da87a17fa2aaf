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
