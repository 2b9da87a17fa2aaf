package derive

import (
	"context"
	"fmt"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/store"
)

// ageOver decides ClaimAgeOver from the birth date of the customer's
// parties, on the customer's local date at now. AsOf is now. The data
// window is the time the party carrying the birth date was stored.
func (d *Deriver) ageOver(ctx context.Context, customerID string, req insights.ClaimRequest, now time.Time) (insights.ClaimResult, error) {
	res := insights.ClaimResult{Request: req, AsOf: now.UTC()}
	birth, stored, ok, err := d.birthDate(ctx, customerID)
	if err != nil {
		return res, fmt.Errorf("derive age for claim: %w", err)
	}
	if !ok {
		return res, nil
	}

	res.Available = true
	res.Holds = Age(birth, d.today(now), d.LeapDayBirthday) >= req.MinimumAge
	res.DataFrom, res.DataTo = stored, stored
	return res, nil
}

// birthDate returns the one birth date the customer's parties carry. It
// returns false when none carries one, and also when parties carry
// different dates: the claim is then unavailable rather than a guess.
// stored is the newest time a party carrying the date was stored.
func (d *Deriver) birthDate(ctx context.Context, customerID string) (birth insights.Date, stored time.Time, ok bool, err error) {
	const query = `SELECT toString(assumeNotNull(birth_date)) AS birth, toUnixTimestamp64Milli(max(ingested_at))
FROM parties FINAL
WHERE customer_id = {customer:String} AND birth_date IS NOT NULL
GROUP BY birth
ORDER BY birth
LIMIT 2`
	rows, err := d.Engine.Query(ctx, query, store.P("customer", customerID))
	if err != nil {
		return insights.Date{}, time.Time{}, false, err
	}
	defer rows.Close()

	var (
		dates    []string
		storedMs int64
	)
	for rows.Next() {
		var s string
		if err := rows.Scan(&s, &storedMs); err != nil {
			return insights.Date{}, time.Time{}, false, err
		}
		dates = append(dates, s)
	}
	if err := rows.Err(); err != nil {
		return insights.Date{}, time.Time{}, false, err
	}

	switch len(dates) {
	case 0:
		return insights.Date{}, time.Time{}, false, nil
	case 1:
		birth, err := insights.ParseDate(dates[0])
		if err != nil {
			// The message of ParseDate quotes the value, so it is not wrapped.
			return insights.Date{}, time.Time{}, false, fmt.Errorf("stored birth date is not a YYYY-MM-DD date")
		}
		return birth, time.UnixMilli(storedMs).UTC(), true, nil
	}
	d.logger().Warn("parties disagree on the birth date; age claims are unavailable", "customer_id", customerID)
	return insights.Date{}, time.Time{}, false, nil
}

// Age returns the age in whole years, on the date today, of a person born
// on birth: the number of birthdays passed, counting a birthday that falls
// on today. leapDay is LeapDayMarch1 (also used for "") or
// LeapDayFebruary28 and decides when a 29 February birthday falls in
// non-leap years. Age is negative when birth is after today.
func Age(birth, today insights.Date, leapDay string) int {
	age := today.Year - birth.Year
	if today.Before(birthdayIn(birth, today.Year, leapDay)) {
		age--
	}
	return age
}

// birthdayIn returns the day in year on which the birthday of a person born
// on birth is marked.
func birthdayIn(birth insights.Date, year int, leapDay string) insights.Date {
	if birth.Month != time.February || birth.Day != 29 || isLeapYear(year) {
		return insights.Date{Year: year, Month: birth.Month, Day: birth.Day}
	}
	if leapDay == LeapDayFebruary28 {
		return insights.Date{Year: year, Month: time.February, Day: 28}
	}
	return insights.Date{Year: year, Month: time.March, Day: 1}
}

// isLeapYear applies the Gregorian rule: every fourth year, except
// centuries not divisible by 400.
func isLeapYear(year int) bool {
	return year%4 == 0 && (year%100 != 0 || year%400 == 0)
}
