package bank

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

// dateOnly matches a query date without a time, which the OBIE profile
// allows in fromBookingDateTime and toBookingDateTime.
var dateOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

// readTransactions serves GET /transactions and
// /accounts/{AccountId}/transactions. It returns the entries whose
// BookingDateTime lies within both the query bounds and the consent's
// TransactionFromDateTime..TransactionToDateTime, all bounds inclusive, in
// the directions the consent allows (ReadTransactionsCredits,
// ReadTransactionsDebits). Without ReadTransactionsDetail the Detail-only
// fields are left out.
func (b *Bank) readTransactions(r *http.Request, g readGrant) (*result, *apiError) {
	if _, apiErr := g.filterAccount(r, nil); apiErr != nil {
		return nil, apiErr
	}
	from, to, apiErr := bookingBounds(r)
	if apiErr != nil {
		return nil, apiErr
	}
	if g.consent.txFrom != nil && (from == nil || g.consent.txFrom.After(*from)) {
		from = g.consent.txFrom
	}
	if g.consent.txTo != nil && (to == nil || g.consent.txTo.Before(*to)) {
		to = g.consent.txTo
	}

	accountID := r.PathValue("AccountId")
	credits := g.consent.has(permTransactionsCredits)
	debits := g.consent.has(permTransactionsDebits)
	var picked []record
	var first, last time.Time
	for _, t := range g.customer.transactions {
		if accountID != "" && t.accountID != accountID {
			continue
		}
		if (t.credit && !credits) || (!t.credit && !debits) {
			continue
		}
		if first.IsZero() {
			first = t.booking
		}
		last = t.booking
		if (from != nil && t.booking.Before(*from)) || (to != nil && t.booking.After(*to)) {
			continue
		}
		picked = append(picked, t.record)
	}

	var items []map[string]json.RawMessage
	if g.consent.has(permTransactionsDetail) {
		items = copyRecords(picked)
	} else {
		items = copyRecords(picked, transactionDetailFields...)
	}
	res := &result{resource: "Transaction", items: items, meta: map[string]any{}}
	// Meta.FirstAvailableDateTime and LastAvailableDateTime tell the TPP
	// how far the data reaches, so an empty page is not read as "no
	// transactions".
	if !first.IsZero() {
		res.meta["FirstAvailableDateTime"] = formatTime(first)
		res.meta["LastAvailableDateTime"] = formatTime(last)
	}
	return res, nil
}

// bookingBounds parses fromBookingDateTime and toBookingDateTime. See the
// package documentation for the accepted forms and zones.
func bookingBounds(r *http.Request) (from, to *time.Time, apiErr *apiError) {
	q := r.URL.Query()
	from, apiErr = parseBound(q.Get("fromBookingDateTime"), "fromBookingDateTime", false)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	to, apiErr = parseBound(q.Get("toBookingDateTime"), "toBookingDateTime", true)
	if apiErr != nil {
		return nil, nil, apiErr
	}
	if from != nil && to != nil && from.After(*to) {
		return nil, nil, badQuery("toBookingDateTime", "toBookingDateTime is before fromBookingDateTime")
	}
	return from, to, nil
}

// parseBound parses one query bound. A date alone starts at London
// midnight, or, as an upper bound, ends at the last nanosecond of that day.
func parseBound(value, name string, upper bool) (*time.Time, *apiError) {
	if value == "" {
		return nil, nil
	}
	if dateOnly.MatchString(value) {
		day, err := time.ParseInLocation("2006-01-02", value, obie.London)
		if err != nil {
			return nil, badQuery(name, name+" is a date out of range")
		}
		if upper {
			day = day.AddDate(0, 0, 1).Add(-time.Nanosecond)
		}
		day = day.UTC()
		return &day, nil
	}
	t, err := obie.ParseDateTime(value, obie.London)
	if err != nil {
		return nil, badQuery(name, name+" is invalid: want an ISO date-time such as 2026-01-01T00:00:00 (Europe/London time when no zone is given)")
	}
	return &t, nil
}

func badQuery(param, message string) *apiError {
	return &apiError{status: http.StatusBadRequest, message: "Invalid query parameter.", errs: []obError{{ErrorCode: codeFieldInvalid, Message: message, Path: param}}}
}
