package obie

import (
	"testing"
	"time"
)

// TestParseDateTime_scanAgreesWithParse compares the allocation-free
// scanner with the regular expression and time.Parse on valid, invalid and
// out-of-range values in two zones.
func TestParseDateTime_scanAgreesWithParse(t *testing.T) {
	values := []string{
		"2017-04-05T10:43:07+00:00", "2019-09-16T01:59:39.629Z", "2019-09-16t01:59:39.629z",
		"2017-06-30T23:00:00Z", "2017-06-30T23:00:00", "2017-03-26T01:30:00", "2017-10-29T01:30:00",
		"2024-02-29T12:00:00Z", "2023-02-29T12:00:00Z", "2023-02-30T12:00:00Z", "2023-13-01T00:00:00Z",
		"2023-00-01T00:00:00Z", "2023-01-00T00:00:00Z", "2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z",
		"2023-01-01T23:59:60Z", "2023-01-01T10:00:00+25:00", "2023-01-01T10:00:00+05:60",
		"2023-01-01T10:00:00-23:59", "2023-01-01T10:00:00+0100", "2023-01-01 10:00:00Z", "2023-01-01",
		"01-05-2002", "2023-01-01T10:00:00.Z", "2023-01-01T10:00:00.1234567891Z",
		"2023-01-01T10:00:00.123456789+01:00", "2023-01-01T10:00:00.5", "+023-01-01T10:00:00Z",
		"2023-1-01T10:00:00Z", "2023-01-01T10:00:00ZZ", "2023-01-01T10:00:00+01:00:00", "",
		"0000-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "2023-01-01T10:00:00-00:00",
		"2023-01-01T10:00:00 ", "２023-01-01T10:00:00Z", "2100-02-29T00:00:00Z", "2000-02-29T00:00:00Z",
	}
	zones := []*time.Location{London, time.UTC}
	for _, zone := range zones {
		for _, v := range values {
			got, gotErr := ParseDateTime(v, zone)
			want, wantErr := parseDateTimeSlow(v, zone)
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Errorf("ParseDateTime(%q, %s) error = %v, want %v", v, zone, gotErr, wantErr)
				continue
			}
			if !got.Equal(want) || got.Location() != want.Location() {
				t.Errorf("ParseDateTime(%q, %s) = %v, want %v", v, zone, got, want)
			}
		}
	}
}

func FuzzParseDateTime(f *testing.F) {
	f.Add("2017-04-05T10:43:07+00:00")
	f.Add("2019-09-16T01:59:39.629Z")
	f.Add("2017-03-26T01:30:00")
	f.Fuzz(func(t *testing.T, v string) {
		got, gotErr := ParseDateTime(v, London)
		want, wantErr := parseDateTimeSlow(v, London)
		if (gotErr == nil) != (wantErr == nil) || !got.Equal(want) {
			t.Fatalf("ParseDateTime(%q) = %v, %v; the regular expression and time.Parse give %v, %v", v, got, gotErr, want, wantErr)
		}
	})
}

// TestDaysIn_agreesWithTime compares daysIn with the day before the first
// of the next month by package time, for every month of the four-digit
// years the scanner accepts.
func TestDaysIn_agreesWithTime(t *testing.T) {
	for year := 0; year <= 9999; year++ {
		for month := time.January; month <= time.December; month++ {
			want := time.Date(year, month+1, 0, 0, 0, 0, 0, time.UTC).Day()
			if got := daysIn(month, year); got != want {
				t.Fatalf("daysIn(%v, %d) = %d, want %d", month, year, got, want)
			}
		}
	}
}
