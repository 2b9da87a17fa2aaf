package sample

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// mandate is a direct debit mandate the customer gave a payee. The bank
// lists it in direct-debits.json with the last collection in the history.
type mandate struct {
	account *account
	payee   string // DirectDebit Name, the narrative's payee
	id      string // MandateIdentification, the collections' reference
	// last is the latest booked collection, set by render.
	last *entry
}

// standingOrder is a monthly standing order the customer set up: a fixed
// amount paid on day of every month from first on, or on the next working
// day when that day is a weekend or bank holiday.
type standingOrder struct {
	account *account
	to      counterparty
	ref     string
	day     int // day of the month the order is due
	pence   int64
	// first is the due date of the order's first payment. It may fall
	// before the history, as a tenancy that began years ago does.
	first    insights.Date
	category insights.Category
	// into is the customer's own account the order pays, or nil.
	into   *account
	holder string // the holder's name on a transfer between own accounts
	// last is the latest booked payment, set by render.
	last *entry
}

// scheduledPayment is a one-off payment the customer arranged for a day
// after End, so it has no entry in the history.
type scheduledPayment struct {
	account *account
	to      counterparty
	ref     string
	pence   int64
	due     insights.Date
}

// registerMandate returns the customer's mandate with the payee and id on
// a, adding it on first use.
func (g *generator) registerMandate(a *account, payee, id string) *mandate {
	for _, m := range g.cust.mandates {
		if m.account == a && m.id == id {
			return m
		}
	}
	m := &mandate{account: a, payee: payee, id: id}
	g.cust.mandates = append(g.cust.mandates, m)
	return m
}

// newStandingOrder registers a monthly standing order to a third party.
// payStandingOrder books its payments.
func (g *generator) newStandingOrder(a *account, day int, to counterparty, ref string, pence int64, category insights.Category, first insights.Date) *standingOrder {
	so := &standingOrder{account: a, to: to, ref: ref, day: day, pence: pence, first: first, category: category}
	g.cust.standingOrders = append(g.cust.standingOrders, so)
	return so
}

// newTransferOrder registers a monthly standing order from a to the
// customer's own account into, in the holder's name.
func (g *generator) newTransferOrder(a, into *account, day int, holder, ref string, pence int64, first insights.Date) *standingOrder {
	so := g.newStandingOrder(a, day, g.ownAccount(into, holder), ref, pence, insights.CategoryTransfer, first)
	so.into, so.holder = into, holder
	return so
}

// payStandingOrder books the payment of so that falls due in the month
// starting on first, unless the order's first payment is later.
func (g *generator) payStandingOrder(so *standingOrder, first insights.Date) {
	due := dayOfMonth(first, so.day)
	if due.Before(so.first) {
		return
	}
	paid := g.onOrAfterWorkingDay(due)
	if so.into != nil {
		e := g.transfer(so.account, so.into, paid, kindStandingOrder, so.holder, so.ref, so.pence)
		e.standingOrder = so
		return
	}
	e := g.standingOrder(so.account, paid, so.to, so.ref, so.pence, so.category)
	e.standingOrder = so
}

// nextPayment returns the day after End on which so pays next.
func (g *generator) nextPayment(so *standingOrder) insights.Date {
	for first := dayOfMonth(g.end, 1); ; first = firstOfNextMonth(first) {
		due := dayOfMonth(first, so.day)
		if due.Before(so.first) {
			continue
		}
		if paid := g.onOrAfterWorkingDay(due); g.end.Before(paid) {
			return paid
		}
	}
}

// schedulePayment registers a one-off payment from a to to on due, which
// must be after End.
func (g *generator) schedulePayment(a *account, due insights.Date, to counterparty, ref string, pence int64) {
	g.cust.scheduled = append(g.cust.scheduled, &scheduledPayment{account: a, to: to, ref: ref, pence: pence, due: due})
}

// Wire types of direct-debits.json, standing-orders.json and
// scheduled-payments.json: OBReadDirectDebit2, OBReadStandingOrder6 and
// OBReadScheduledPayment3 of the OBIE Account and Transaction API v3.1, as
// a bank sends them under ReadDirectDebits, ReadStandingOrdersDetail and
// ReadScheduledPaymentsDetail.

type directDebitsData struct {
	DirectDebit []directDebitJSON `json:"DirectDebit"`
}

type directDebitJSON struct {
	AccountID               string      `json:"AccountId"`
	DirectDebitID           string      `json:"DirectDebitId"`
	MandateIdentification   string      `json:"MandateIdentification"`
	DirectDebitStatusCode   string      `json:"DirectDebitStatusCode"`
	Name                    string      `json:"Name"`
	PreviousPaymentDateTime string      `json:"PreviousPaymentDateTime,omitempty"`
	PreviousPaymentAmount   *amountJSON `json:"PreviousPaymentAmount,omitempty"`
}

type standingOrdersData struct {
	StandingOrder []standingOrderJSON `json:"StandingOrder"`
}

type standingOrderJSON struct {
	AccountID               string          `json:"AccountId"`
	StandingOrderID         string          `json:"StandingOrderId"`
	Frequency               string          `json:"Frequency"`
	Reference               string          `json:"Reference"`
	FirstPaymentDateTime    string          `json:"FirstPaymentDateTime"`
	NextPaymentDateTime     string          `json:"NextPaymentDateTime"`
	LastPaymentDateTime     string          `json:"LastPaymentDateTime,omitempty"`
	StandingOrderStatusCode string          `json:"StandingOrderStatusCode"`
	FirstPaymentAmount      amountJSON      `json:"FirstPaymentAmount"`
	NextPaymentAmount       amountJSON      `json:"NextPaymentAmount"`
	LastPaymentAmount       *amountJSON     `json:"LastPaymentAmount,omitempty"`
	CreditorAccount         cashAccountJSON `json:"CreditorAccount"`
}

type scheduledPaymentsData struct {
	ScheduledPayment []scheduledPaymentJSON `json:"ScheduledPayment"`
}

type scheduledPaymentJSON struct {
	AccountID                string          `json:"AccountId"`
	ScheduledPaymentID       string          `json:"ScheduledPaymentId"`
	ScheduledPaymentDateTime string          `json:"ScheduledPaymentDateTime"`
	ScheduledType            string          `json:"ScheduledType"`
	Reference                string          `json:"Reference"`
	InstructedAmount         amountJSON      `json:"InstructedAmount"`
	CreditorAccount          cashAccountJSON `json:"CreditorAccount"`
}

// orderFiles is the contents of one customer's three payment order files,
// nil for a kind the customer has no orders of.
type orderFiles struct {
	directDebits, standingOrders, scheduledPayments []byte
}

// renderOrders writes the customer's payment orders as the bank lists them
// at End. It runs after render has set each order's last booked payment.
func renderOrders(c *customer, g *generator) (orderFiles, error) {
	b := c.bank
	var dds directDebitsData
	var sos standingOrdersData
	var sps scheduledPaymentsData

	for _, a := range c.accounts {
		for _, m := range c.mandates {
			if m.account != a {
				continue
			}
			dd := directDebitJSON{
				AccountID:             a.id,
				DirectDebitID:         orderID("DD", c.id, a.id, m.id),
				MandateIdentification: m.id,
				DirectDebitStatusCode: "Active",
				Name:                  m.payee,
			}
			if m.last != nil {
				dd.PreviousPaymentDateTime = b.formatDate(insights.DateOf(m.last.at.In(london)))
				dd.PreviousPaymentAmount = new(money(m.last.pence))
			}
			dds.DirectDebit = append(dds.DirectDebit, dd)
		}

		for _, so := range c.standingOrders {
			if so.account != a {
				continue
			}
			first := g.onOrAfterWorkingDay(so.first)
			rec := standingOrderJSON{
				AccountID:               a.id,
				StandingOrderID:         orderID("SO", c.id, a.id, so.to.name+"|"+so.ref),
				Frequency:               fmt.Sprintf("IntrvlMnthDay:01:%02d", so.day),
				Reference:               so.ref,
				FirstPaymentDateTime:    b.formatDate(first),
				NextPaymentDateTime:     b.formatDate(g.nextPayment(so)),
				StandingOrderStatusCode: "Active",
				FirstPaymentAmount:      money(so.pence),
				NextPaymentAmount:       money(so.pence),
				CreditorAccount: cashAccountJSON{
					SchemeName:     "UK.OBIE.SortCodeAccountNumber",
					Identification: so.to.sortCode + so.to.number,
					Name:           so.to.name,
				},
			}
			if so.last != nil {
				rec.LastPaymentDateTime = b.formatDate(insights.DateOf(so.last.at.In(london)))
				rec.LastPaymentAmount = new(money(so.last.pence))
			}
			sos.StandingOrder = append(sos.StandingOrder, rec)
		}

		for _, sp := range c.scheduled {
			if sp.account != a {
				continue
			}
			sps.ScheduledPayment = append(sps.ScheduledPayment, scheduledPaymentJSON{
				AccountID:                a.id,
				ScheduledPaymentID:       orderID("SP", c.id, a.id, sp.to.name+"|"+sp.ref+"|"+sp.due.String()),
				ScheduledPaymentDateTime: b.formatDate(sp.due),
				ScheduledType:            "Execution",
				Reference:                sp.ref,
				InstructedAmount:         money(sp.pence),
				CreditorAccount: cashAccountJSON{
					SchemeName:     "UK.OBIE.SortCodeAccountNumber",
					Identification: sp.to.sortCode + sp.to.number,
					Name:           sp.to.name,
				},
			})
		}
	}

	// A kind without orders gets no file, because insights ingest rejects
	// an empty bulk list as one that replaces nothing. The local bank
	// serves an empty list for a missing file.
	var files orderFiles
	var err error
	if len(dds.DirectDebit) > 0 {
		if files.directDebits, err = marshalIndented(envelope[directDebitsData]{dds, links{b.apiBase + "/direct-debits"}, meta{1}}); err != nil {
			return files, fmt.Errorf("encode direct debits of customer %s: %w", c.id, err)
		}
	}
	if len(sos.StandingOrder) > 0 {
		if files.standingOrders, err = marshalIndented(envelope[standingOrdersData]{sos, links{b.apiBase + "/standing-orders"}, meta{1}}); err != nil {
			return files, fmt.Errorf("encode standing orders of customer %s: %w", c.id, err)
		}
	}
	if len(sps.ScheduledPayment) > 0 {
		if files.scheduledPayments, err = marshalIndented(envelope[scheduledPaymentsData]{sps, links{b.apiBase + "/scheduled-payments"}, meta{1}}); err != nil {
			return files, fmt.Errorf("encode scheduled payments of customer %s: %w", c.id, err)
		}
	}
	return files, nil
}

// orderID derives a payment order's id from what identifies it, so that it
// stays the same whatever the seed: a prefix and 16 hex digits.
func orderID(prefix, customerID, accountID, key string) string {
	sum := sha256.Sum256([]byte(customerID + "/" + accountID + "/" + prefix + "/" + key))
	return prefix + strings.ToUpper(hex.EncodeToString(sum[:8]))
}

// formatDate writes a payment date as the bank writes date-times of
// entries booked by date (see timeStyle).
func (b *bank) formatDate(d insights.Date) string {
	if b.style == zeroOffsetMidnight {
		return b.formatTime(d.In(time.UTC))
	}
	return b.formatTime(d.In(london))
}
