// Package orders stores a customer's payment orders (direct debits,
// standing orders and scheduled payments) as the banks list them, and reads
// the current ones.
//
// A bank lists an account's orders whole, and a cancelled mandate drops out
// of the list. So every complete read of one kind of order for one account
// is stored as a snapshot that replaces the previous one in current views,
// while the older snapshots stay as history. A read that was not complete
// (a page missing or rejected) must not be stored: it would make the
// missing orders look cancelled.
package orders

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/obie"
)

// Kinds of payment order, stored in payment_orders.kind.
const (
	KindDirectDebit      = "direct_debit"
	KindStandingOrder    = "standing_order"
	KindScheduledPayment = "scheduled_payment"
)

// Statuses of an order, stored in payment_orders.status.
const (
	StatusActive    = "active"
	StatusInactive  = "inactive"
	StatusCancelled = "cancelled"
	StatusCompleted = "completed"
	StatusExpired   = "expired"
	StatusPending   = "pending"
	StatusSuspended = "suspended"
)

// statuses maps the OBIE status codes of v3.1 and v4.0 to Status values.
var statuses = map[string]string{
	"Active": StatusActive, "ACTV": StatusActive, "Inactive": StatusInactive,
	"CANC": StatusCancelled, "COMP": StatusCompleted, "EXPI": StatusExpired,
	"PDNG": StatusPending, "SUSP": StatusSuspended,
}

// KindOfResource returns the Kind of an OBIE resource name, either the Data
// key (DirectDebit) or the endpoint (direct-debits), and "" for any other.
func KindOfResource(resource string) string {
	switch resource {
	case obie.ResourceDirectDebit, "direct-debits":
		return KindDirectDebit
	case obie.ResourceStandingOrder, "standing-orders":
		return KindStandingOrder
	case obie.ResourceScheduledPayment, "scheduled-payments":
		return KindScheduledPayment
	}
	return ""
}

// Order is one payment order of an account. Amounts are positive: the size
// of the debit. A zero time or amount means the bank did not send it.
type Order struct {
	CustomerID string `json:"-"`
	AccountID  string `json:"account_id"`
	Kind       string `json:"kind"`
	// OrderID is the bank's DirectDebitId, StandingOrderId or
	// ScheduledPaymentId. When the bank sent none, it is "mandate:" and the
	// mandate identification of a direct debit, or "sha256:" and a digest of
	// the order's content.
	OrderID string `json:"order_id"`
	Status  string `json:"status"`
	// Payee is a direct debit's Name, or a standing order's or scheduled
	// payment's creditor account name, or its Reference when there is none.
	Payee     string `json:"payee"`
	Reference string `json:"reference"`
	// Frequency is the bank's code: v3.1 such as IntrvlMnthDay:01:15, or
	// v4.0 such as MNTH, followed by ":<count>" when more than one payment
	// falls in a period.
	Frequency    string           `json:"frequency"`
	Cadence      insights.Cadence `json:"cadence"`
	FirstPayment time.Time        `json:"first_payment"`
	NextPayment  time.Time        `json:"next_payment"`
	LastPayment  time.Time        `json:"last_payment"`
	FinalPayment time.Time        `json:"final_payment"`
	NextAmount   insights.Amount  `json:"next_amount"`
	LastAmount   insights.Amount  `json:"last_amount"`
	Currency     string           `json:"currency"`
}

// Active reports whether the order may still take payments on or after
// day: its status is active (or not sent), and its final payment, when
// known, is not before day.
func (o *Order) Active(day time.Time) bool {
	if o.Status != StatusActive {
		return false
	}
	if !o.FinalPayment.IsZero() && o.FinalPayment.Before(day) {
		return false
	}
	if o.Kind == KindScheduledPayment && !o.NextPayment.IsZero() && o.NextPayment.Before(day) {
		return false
	}
	return true
}

// FromOBIE converts validated payment order records to Orders of the
// customer, reading date-times without an offset in local. The records
// must have passed obie.Decoder.DecodeOrders.
func FromOBIE(customerID string, recs *obie.Orders, local *time.Location) []Order {
	out := make([]Order, 0, recs.Len())
	for i := range recs.DirectDebits {
		out = append(out, directDebit(customerID, &recs.DirectDebits[i], local))
	}
	for i := range recs.StandingOrders {
		out = append(out, standingOrder(customerID, &recs.StandingOrders[i], local))
	}
	for i := range recs.ScheduledPayments {
		out = append(out, scheduledPayment(customerID, &recs.ScheduledPayments[i], local))
	}
	for i := range out {
		if out[i].OrderID == "" {
			out[i].OrderID = "sha256:" + contentDigest(out[i])[:16]
		}
	}
	return out
}

func directDebit(customerID string, d *obie.DirectDebit, local *time.Location) Order {
	o := Order{CustomerID: customerID, AccountID: d.AccountID, Kind: KindDirectDebit, OrderID: d.DirectDebitID,
		Status: status(d.DirectDebitStatusCode), Payee: d.Name}
	mandate := d.MandateIdentification
	if m := d.MandateRelatedInformation; m != nil {
		if m.MandateIdentification != "" {
			mandate = m.MandateIdentification
		}
		o.FirstPayment = orderTime(m.FirstPaymentDateTime, local)
		o.FinalPayment = orderTime(m.FinalPaymentDateTime, local)
		o.Frequency, o.Cadence = mandateFrequency(m.Frequency)
	}
	if o.OrderID == "" {
		o.OrderID = "mandate:" + mandate
	}
	o.Reference = mandate
	o.LastPayment = orderTime(d.PreviousPaymentDateTime, local)
	o.LastAmount, o.Currency = amount(d.PreviousPaymentAmount, o.Currency)
	return o
}

func standingOrder(customerID string, s *obie.StandingOrder, local *time.Location) Order {
	o := Order{CustomerID: customerID, AccountID: s.AccountID, Kind: KindStandingOrder, OrderID: s.StandingOrderID,
		Status: status(s.StandingOrderStatusCode), Reference: s.Reference, Payee: s.Reference}
	if s.CreditorAccount != nil && s.CreditorAccount.Name != "" {
		o.Payee = s.CreditorAccount.Name
	}
	if s.Frequency != "" {
		o.Frequency, o.Cadence = s.Frequency, standingOrderCadence(s.Frequency)
	} else if m := s.MandateRelatedInformation; m != nil {
		o.Frequency, o.Cadence = mandateFrequency(m.Frequency)
	}
	o.FirstPayment = orderTime(s.FirstPaymentDateTime, local)
	o.NextPayment = orderTime(s.NextPaymentDateTime, local)
	o.LastPayment = orderTime(s.LastPaymentDateTime, local)
	o.FinalPayment = orderTime(s.FinalPaymentDateTime, local)
	// The next payment's amount, or the first one's for an order that has
	// not paid yet.
	next := s.NextPaymentAmount
	if next == nil && o.LastPayment.IsZero() {
		next = s.FirstPaymentAmount
	}
	o.NextAmount, o.Currency = amount(next, o.Currency)
	o.LastAmount, o.Currency = amount(s.LastPaymentAmount, o.Currency)
	if o.Currency == "" {
		_, o.Currency = amount(s.FirstPaymentAmount, "")
	}
	return o
}

func scheduledPayment(customerID string, p *obie.ScheduledPayment, local *time.Location) Order {
	o := Order{CustomerID: customerID, AccountID: p.AccountID, Kind: KindScheduledPayment, OrderID: p.ScheduledPaymentID,
		Status: StatusActive, Reference: p.Reference, Payee: p.Reference}
	if p.CreditorAccount != nil && p.CreditorAccount.Name != "" {
		o.Payee = p.CreditorAccount.Name
	}
	o.NextPayment = orderTime(p.ScheduledPaymentDateTime, local)
	o.FinalPayment = o.NextPayment
	o.NextAmount, o.Currency = amount(p.InstructedAmount, "")
	return o
}

// status returns the Status of an OBIE code. An order sent without one is
// listed by the bank, so it is taken as active.
func status(code string) string {
	if code == "" {
		return StatusActive
	}
	return statuses[code]
}

func orderTime(s string, local *time.Location) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := obie.ParseOrderDate(s, local)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// amount returns a's value and currency, or zero and currency when a is
// absent.
func amount(a *obie.Amount, currency string) (insights.Amount, string) {
	if a == nil {
		return 0, currency
	}
	v, err := insights.ParseAmount(a.Amount)
	if err != nil {
		return 0, currency
	}
	return v, a.Currency
}

// mandateFrequency returns the stored frequency and the cadence of a v4.0
// mandate frequency.
func mandateFrequency(f *obie.MandateFrequency) (string, insights.Cadence) {
	if f == nil || f.Code() == "" {
		return "", ""
	}
	count := 1
	if f.CountPerPeriod != nil {
		count = *f.CountPerPeriod
	}
	code := f.Code()
	if count != 1 {
		code += ":" + strconv.Itoa(count)
	}
	switch {
	case f.Code() == "WEEK" && count == 1:
		return code, insights.CadenceWeekly
	case f.Code() == "FRTN" && count == 1:
		return code, insights.CadenceFortnightly
	case f.Code() == "MNTH" && count == 1:
		return code, insights.CadenceMonthly
	case f.Code() == "MNTH" && count == 2:
		return code, insights.CadenceTwiceMonthly
	}
	return code, insights.CadenceIrregular
}

// standingOrderCadence returns the cadence of a v3.1 frequency code.
// Daily, quarterly and yearly orders have no cadence of their own among
// the detector's, so they are irregular.
func standingOrderCadence(code string) insights.Cadence {
	parts := strings.Split(code, ":")
	switch {
	case parts[0] == "IntrvlWkDay" && len(parts) == 3:
		switch parts[1] {
		case "01":
			return insights.CadenceWeekly
		case "02":
			return insights.CadenceFortnightly
		case "04":
			return insights.CadenceFourWeekly
		}
	case parts[0] == "IntrvlDay" && len(parts) == 2:
		switch parts[1] {
		case "07":
			return insights.CadenceWeekly
		case "14":
			return insights.CadenceFortnightly
		case "28":
			return insights.CadenceFourWeekly
		}
	case parts[0] == "IntrvlMnthDay" && len(parts) == 3 && parts[1] == "01":
		return insights.CadenceMonthly
	case parts[0] == "WkInMnthDay":
		return insights.CadenceMonthly
	}
	return insights.CadenceIrregular
}

// contentDigest returns the hex SHA-256 of an order's JSON form.
func contentDigest(v any) string {
	b, _ := json.Marshal(v)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Snapshot is the complete list of one kind of order of one account, as
// one read returned it.
type Snapshot struct {
	CustomerID string
	AccountID  string
	Kind       string
	// Source is "pull:<pull id>" or a file name.
	Source string
	Orders []Order
}

// Group splits orders into one Snapshot per account and kind. Each of
// accounts gets a snapshot of kind even when it has no order, so that the
// read replaces the orders stored before. Snapshots are sorted by account
// and kind, and their orders by OrderID.
func Group(customerID, source, kind string, accounts []string, list []Order) []Snapshot {
	type key struct{ account, kind string }
	byKey := map[key]*Snapshot{}
	var keys []key
	get := func(k key) *Snapshot {
		if s, ok := byKey[k]; ok {
			return s
		}
		s := &Snapshot{CustomerID: customerID, AccountID: k.account, Kind: k.kind, Source: source}
		byKey[k] = s
		keys = append(keys, k)
		return s
	}
	for _, a := range accounts {
		get(key{a, kind})
	}
	for _, o := range list {
		s := get(key{o.AccountID, o.Kind})
		s.Orders = append(s.Orders, o)
	}

	slices.SortFunc(keys, func(a, b key) int {
		return strings.Compare(a.account+"\x00"+a.kind, b.account+"\x00"+b.kind)
	})
	out := make([]Snapshot, len(keys))
	for i, k := range keys {
		s := byKey[k]
		slices.SortStableFunc(s.Orders, func(a, b Order) int { return strings.Compare(a.OrderID, b.OrderID) })
		out[i] = *s
	}
	return out
}
