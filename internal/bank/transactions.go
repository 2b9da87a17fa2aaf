package bank

import (
	"net/http"
	"regexp"
	"sort"
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

	// The index lists are in booking order, so the entries within the
	// bounds are one run of them, found by binary search.
	entries := g.customer.byAccount[r.PathValue("AccountId")].direction(
		g.consent.has(permTransactionsCredits), g.consent.has(permTransactionsDebits))
	lo := 0
	if from != nil {
		lo = sort.Search(len(entries), func(i int) bool { return !entries[i].booking().Before(*from) })
	}
	hi := len(entries)
	if to != nil {
		hi = sort.Search(len(entries), func(i int) bool { return entries[i].booking().After(*to) })
	}

	res := &result{resource: "Transaction", transactions: entries[lo:max(lo, hi)], source: g.customer, meta: map[string]any{}}
	if !g.consent.has(permTransactionsDetail) {
		res.drop = transactionDetailFields
	}
	// Meta.FirstAvailableDateTime and LastAvailableDateTime tell the TPP
	// how far the data reaches, so an empty page is not read as "no
	// transactions".
	if len(entries) > 0 {
		res.meta["FirstAvailableDateTime"] = formatTime(entries[0].booking())
		res.meta["LastAvailableDateTime"] = formatTime(entries[len(entries)-1].booking())
	}
	return res, nil
}

// transactionIndex holds the transactions of one account, or of all the
// customer's accounts, in the order of customer.transactions: all of them,
// the credits and the debits.
type transactionIndex struct {
	all, credits, debits []*transaction
}

// direction returns the entries in the directions a consent allows; a nil
// index, an account without transactions, holds none.
func (x *transactionIndex) direction(credits, debits bool) []*transaction {
	switch {
	case x == nil:
		return nil
	case credits && debits:
		return x.all
	case credits:
		return x.credits
	case debits:
		return x.debits
	}
	return nil
}

// indexTransactions builds c.byAccount from c.transactions, which must be
// sorted. The key "" holds the entries of every account.
func (c *customer) indexTransactions() {
	all := &transactionIndex{}
	c.byAccount = map[string]*transactionIndex{"": all}
	for _, t := range c.transactions {
		account := c.byAccount[t.accountID]
		if account == nil {
			account = &transactionIndex{}
			c.byAccount[t.accountID] = account
		}
		all.add(t)
		account.add(t)
	}
}

func (x *transactionIndex) add(t *transaction) {
	x.all = append(x.all, t)
	if t.credit {
		x.credits = append(x.credits, t)
	} else {
		x.debits = append(x.debits, t)
	}
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
