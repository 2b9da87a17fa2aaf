package bank

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// links is the Links member of an OBIE response; every link is absolute.
type links struct {
	Self  string `json:"Self"`
	First string `json:"First,omitempty"`
	Prev  string `json:"Prev,omitempty"`
	Next  string `json:"Next,omitempty"`
	Last  string `json:"Last,omitempty"`
}

type envelope struct {
	Data  map[string]any `json:"Data"`
	Links links          `json:"Links"`
	Meta  map[string]any `json:"Meta"`
}

// pageParam is the query parameter of a page number. OBIE leaves its name
// to the ASPSP, and clients must follow Links.Next as given.
const pageParam = "page"

// pageLocked builds the OBIE envelope of res for the page that r
// requests. Arrays are paged by Options.PageSize, and the filters of the
// request stay in every link. Only the records of that page are copied, so
// a page costs the same however many pages the read has. The caller holds
// Bank.mu.
func (b *Bank) pageLocked(r *http.Request, res *result) (*envelope, *apiError) {
	self := absoluteURL(r, r.URL.RequestURI())
	env := &envelope{Links: links{Self: self}, Meta: map[string]any{}}
	for k, v := range res.meta {
		env.Meta[k] = v
	}

	if res.single {
		items, err := res.copyRange(0, 1)
		if err != nil {
			return nil, b.unexpected(err)
		}
		env.Data = map[string]any{res.resource: items[0]}
		env.Meta["TotalPages"] = 1
		return env, nil
	}

	size := b.opts.PageSize
	count := res.count()
	total := max(1, (count+size-1)/size)
	page := 1
	if v := r.URL.Query().Get(pageParam); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > total {
			return nil, badQuery(pageParam, "page must be a whole number from 1 to "+strconv.Itoa(total))
		}
		page = n
	}

	start := min((page-1)*size, count)
	items, err := res.copyRange(start, min(start+size, count))
	if err != nil {
		return nil, b.unexpected(err)
	}
	env.Meta["TotalPages"] = total
	env.Links.First = pageURL(r, 1)
	env.Links.Last = pageURL(r, total)
	if page > 1 {
		env.Links.Prev = pageURL(r, page-1)
	}
	if page < total {
		env.Links.Next = pageURL(r, page+1)
	}

	switch faultFrom(r) {
	case kindNextLoop:
		// A broken ASPSP whose Next leads back: to the page itself on the
		// first page, to the first page on any later one.
		env.Links.Next = self
		if page > 1 {
			env.Links.Next = env.Links.First
		}
	case kindBadRecord:
		if len(items) > 0 {
			items[0]["Amount"] = badAmount(items[0]["Amount"])
		}
	case kindNegativeDebit:
		negateDebit(items)
	}
	env.Data = map[string]any{res.resource: items}
	return env, nil
}

// pageURL returns the absolute URL of page n of the request's resource,
// keeping its other query parameters.
func pageURL(r *http.Request, n int) string {
	q := r.URL.Query()
	q.Set(pageParam, strconv.Itoa(n))
	return absoluteURL(r, r.URL.Path+"?"+q.Encode())
}

// badAmount returns the amount with a decimal comma, "12,30", which the
// OBIE pattern ^\d{1,13}$|^\d{1,13}\.\d{1,5}$ rejects. The currency stays.
func badAmount(raw json.RawMessage) json.RawMessage {
	var amount map[string]any
	if err := json.Unmarshal(raw, &amount); err != nil || amount == nil {
		amount = map[string]any{"Currency": "GBP"}
	}
	amount["Amount"] = "12,30"
	out, _ := json.Marshal(amount)
	return out
}

// negateDebit gives one transaction of items a minus sign on its Amount
// and CreditDebitIndicator "Debit", as some ASPSPs send although OBIE
// amounts are unsigned. It picks the first debit, or the first transaction
// when the page has no debit.
func negateDebit(items []map[string]json.RawMessage) {
	if len(items) == 0 {
		return
	}
	target := items[0]
	for _, item := range items {
		var indicator string
		if json.Unmarshal(item["CreditDebitIndicator"], &indicator) == nil && indicator == "Debit" {
			target = item
			break
		}
	}

	var amount map[string]any
	if err := json.Unmarshal(target["Amount"], &amount); err != nil || amount == nil {
		amount = map[string]any{"Amount": "1.00", "Currency": "GBP"}
	}
	value, _ := amount["Amount"].(string)
	if value == "" {
		value = "1.00"
	}
	amount["Amount"] = "-" + strings.TrimPrefix(value, "-")
	target["Amount"], _ = json.Marshal(amount)
	target["CreditDebitIndicator"] = json.RawMessage(`"Debit"`)
}
