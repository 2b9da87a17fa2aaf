package obie

import (
	"encoding/json"
	"regexp"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// Payment order resources, as they appear as keys of Data in the responses
// of GET /accounts/{AccountId}/direct-debits, /standing-orders and
// /scheduled-payments.
const (
	ResourceDirectDebit      = "DirectDebit"
	ResourceStandingOrder    = "StandingOrder"
	ResourceScheduledPayment = "ScheduledPayment"
)

// OrderResources lists the payment order resources in the order
// DecodeOrders reads them.
var OrderResources = []string{ResourceDirectDebit, ResourceStandingOrder, ResourceScheduledPayment}

// DirectDebit is one entry of Data.DirectDebit (OBReadDirectDebit2). v3.1
// sends MandateIdentification at the top; v4.0 moves it, with the
// frequency and payment dates, into MandateRelatedInformation.
type DirectDebit struct {
	AccountID                 string                     `json:"AccountId"`
	DirectDebitID             string                     `json:"DirectDebitId"`
	MandateIdentification     string                     `json:"MandateIdentification"`
	DirectDebitStatusCode     string                     `json:"DirectDebitStatusCode"`
	Name                      string                     `json:"Name"`
	PreviousPaymentDateTime   string                     `json:"PreviousPaymentDateTime"`
	PreviousPaymentAmount     *Amount                    `json:"PreviousPaymentAmount"`
	MandateRelatedInformation *MandateRelatedInformation `json:"MandateRelatedInformation"`
}

// MandateRelatedInformation is OBMandateRelatedInformation1 of v4.0.
type MandateRelatedInformation struct {
	MandateIdentification    string            `json:"MandateIdentification"`
	Classification           string            `json:"Classification"`
	FirstPaymentDateTime     string            `json:"FirstPaymentDateTime"`
	RecurringPaymentDateTime string            `json:"RecurringPaymentDateTime"`
	FinalPaymentDateTime     string            `json:"FinalPaymentDateTime"`
	Frequency                *MandateFrequency `json:"Frequency"`
}

// MandateFrequency is the v4.0 frequency of a mandate: an ISO 20022
// Frequency6Code such as MNTH, and how many payments fall in one period.
// The published v4.0 examples spell Type as PeriodType; both are read.
type MandateFrequency struct {
	Type           string `json:"Type"`
	PeriodType     string `json:"PeriodType"`
	CountPerPeriod *int   `json:"CountPerPeriod"`
}

// Code returns Type, or PeriodType when Type is empty.
func (f *MandateFrequency) Code() string {
	if f.Type != "" {
		return f.Type
	}
	return f.PeriodType
}

// StandingOrder is one entry of Data.StandingOrder (OBReadStandingOrder6).
// Frequency is the v3.1 code; v4.0 sends MandateRelatedInformation.Frequency
// instead.
type StandingOrder struct {
	AccountID                 string                     `json:"AccountId"`
	StandingOrderID           string                     `json:"StandingOrderId"`
	Frequency                 string                     `json:"Frequency"`
	Reference                 string                     `json:"Reference"`
	FirstPaymentDateTime      string                     `json:"FirstPaymentDateTime"`
	NextPaymentDateTime       string                     `json:"NextPaymentDateTime"`
	LastPaymentDateTime       string                     `json:"LastPaymentDateTime"`
	FinalPaymentDateTime      string                     `json:"FinalPaymentDateTime"`
	StandingOrderStatusCode   string                     `json:"StandingOrderStatusCode"`
	FirstPaymentAmount        *Amount                    `json:"FirstPaymentAmount"`
	NextPaymentAmount         *Amount                    `json:"NextPaymentAmount"`
	LastPaymentAmount         *Amount                    `json:"LastPaymentAmount"`
	FinalPaymentAmount        *Amount                    `json:"FinalPaymentAmount"`
	CreditorAccount           *CashAccount               `json:"CreditorAccount"`
	MandateRelatedInformation *MandateRelatedInformation `json:"MandateRelatedInformation"`
}

// ScheduledPayment is one entry of Data.ScheduledPayment
// (OBReadScheduledPayment3): a single future payment.
type ScheduledPayment struct {
	AccountID                string       `json:"AccountId"`
	ScheduledPaymentID       string       `json:"ScheduledPaymentId"`
	ScheduledPaymentDateTime string       `json:"ScheduledPaymentDateTime"`
	ScheduledType            string       `json:"ScheduledType"`
	Reference                string       `json:"Reference"`
	InstructedAmount         *Amount      `json:"InstructedAmount"`
	CreditorAccount          *CashAccount `json:"CreditorAccount"`
}

// Orders holds the validated payment order records of one envelope.
type Orders struct {
	DirectDebits      []DirectDebit
	StandingOrders    []StandingOrder
	ScheduledPayments []ScheduledPayment
}

// Len returns the number of records in o.
func (o *Orders) Len() int {
	return len(o.DirectDebits) + len(o.StandingOrders) + len(o.ScheduledPayments)
}

// Code lists of the payment order resources.
var (
	// OBExternalDirectDebitStatus1Code and OBExternalStandingOrderStatus1Code
	// of v3.1, then ExternalMandateStatus1Code of v4.0. The v4.0 examples
	// still send the v3.1 names.
	orderStatuses = []string{"Active", "Inactive", "ACTV", "CANC", "COMP", "EXPI", "PDNG", "SUSP"}
	// Frequency6Code of v4.0.
	frequencyCodes = []string{"ADHO", "DAIL", "FRTN", "INDA", "MIAN", "MNTH", "QURT", "WEEK", "YEAR"}
	// ExternalMandateClassification1Code of v4.0.
	mandateClassifications = []string{"FIXE", "USGB", "VARI"}
	// OBExternalScheduleType1Code of v3.1 and its v4.0 codes.
	scheduledTypes = []string{"Arrival", "Execution", "ARRI", "EXCE"}
)

// standingOrderFrequency is the v3.1 pattern of StandingOrder.Frequency.
var standingOrderFrequency = regexp.MustCompile(`^(NILL|EvryDay|EvryWorkgDay|IntrvlDay:(0[2-9]|[12][0-9]|3[01])|IntrvlWkDay:0[1-9]:0[1-7]|WkInMnthDay:0[1-5]:0[1-7]|IntrvlMnthDay:(0[1-6]|12|24):(-0[1-5]|0[1-9]|[12][0-9]|3[01])|QtrDay:(ENGLISH|SCOTTISH|RECEIVED))$`)

// OrderResource returns the payment order resource that the envelope's Data
// holds, or "" when it holds none or is not a JSON envelope. It only looks
// at the keys, for routing a file before it is decoded.
func OrderResource(data []byte) string {
	var env struct {
		Data map[string]json.RawMessage `json:"Data"`
	}
	if json.Unmarshal(data, &env) != nil {
		return ""
	}
	for _, name := range OrderResources {
		if _, ok := env.Data[name]; ok {
			return name
		}
	}
	return ""
}

// DecodeOrders decodes one OBIE response envelope whose Data holds
// DirectDebit, StandingOrder or ScheduledPayment records, and validates
// every record. When resource is not empty, Data must hold that resource
// or nothing at all: an account without standing orders may be sent as
// "Data": {}. When resource is empty, Data must hold at least one of them.
//
// The error, when not nil, is an *ErrorList holding every problem found,
// each located by its JSON path. Nothing is returned with it: a page with
// one bad record is rejected whole.
func (d Decoder) DecodeOrders(source, resource string, data []byte) (*Orders, error) {
	list := &ErrorList{}
	r := reporter{list: list, source: source}
	if !checkEncoding(r, data, 0) || !checkSyntax(r, data, 0) {
		return nil, list
	}
	var top map[string]json.RawMessage
	if err := unmarshal(data, &top); err != nil {
		r.add(pathOf("$"), "want a JSON object holding Data")
		return nil, list
	}
	rawData, ok := top["Data"]
	if !ok || isNull(rawData) {
		r.add(pathOf("$.Data"), "missing required field")
		return nil, list
	}
	var resources map[string]json.RawMessage
	if err := unmarshal(rawData, &resources); err != nil {
		r.add(pathOf("$.Data"), "want an object")
		return nil, list
	}

	out := &Orders{}
	v := d.validator(r)
	found := 0
	for _, name := range OrderResources {
		raw, ok := resources[name]
		if !ok || isNull(raw) {
			continue
		}
		found++
		path := "$.Data." + name
		if resource != "" && name != resource {
			r.add(pathOf(path), "unexpected resource: this response holds %s records", resource)
			continue
		}
		var items []json.RawMessage
		if err := unmarshal(raw, &items); err != nil {
			r.add(pathOf(path), "want an array")
			continue
		}
		for i, item := range items {
			out.add(v, name, elemPath(path, i), item)
		}
	}
	if found == 0 && (resource == "" || len(resources) > 0) {
		want := resource
		if want == "" {
			want = strings.Join(OrderResources, ", ")
		}
		r.add(pathOf("$.Data"), "holds none of %s", want)
	}
	if err := list.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

func (o *Orders) add(v *validator, name string, path jsonPath, raw json.RawMessage) {
	switch name {
	case ResourceDirectDebit:
		var rec DirectDebit
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.directDebit(path, &rec)
			o.DirectDebits = append(o.DirectDebits, rec)
		}
	case ResourceStandingOrder:
		var rec StandingOrder
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.standingOrder(path, &rec)
			o.StandingOrders = append(o.StandingOrders, rec)
		}
	case ResourceScheduledPayment:
		var rec ScheduledPayment
		if decodeRecord(v.reporter, path, raw, &rec) {
			v.scheduledPayment(path, &rec)
			o.ScheduledPayments = append(o.ScheduledPayments, rec)
		}
	}
}

func (v *validator) accountID(path jsonPath, value string) {
	if v.required(path, value) {
		v.maxLength(path, value, max40Text)
	}
}

// orderDate checks a payment date. The v4.0 data dictionary types some of
// them as ISODate, so a plain calendar date is accepted besides a
// date-time.
func (v *validator) orderDate(path jsonPath, value string) {
	if value == "" {
		return
	}
	if _, err := ParseOrderDate(value, v.local); err != nil {
		v.add(path, "invalid date-time %s: want an ISO 8601 date-time or a date YYYY-MM-DD", quote(value))
	}
}

func (v *validator) directDebit(path jsonPath, d *DirectDebit) {
	v.accountID(path.key(".AccountId"), d.AccountID)
	v.maxLength(path.key(".DirectDebitId"), d.DirectDebitID, max40Text)
	m := d.MandateRelatedInformation
	if m == nil || m.MandateIdentification == "" {
		// v3.1 requires MandateIdentification at the top; v4.0 inside
		// MandateRelatedInformation.
		if v.required(path.key(".MandateIdentification"), d.MandateIdentification) {
			v.maxLength(path.key(".MandateIdentification"), d.MandateIdentification, max35Text)
		}
	}
	v.code(path.key(".DirectDebitStatusCode"), d.DirectDebitStatusCode, orderStatuses)
	if v.required(path.key(".Name"), d.Name) {
		v.maxLength(path.key(".Name"), d.Name, max70Text)
	}
	v.orderDate(path.key(".PreviousPaymentDateTime"), d.PreviousPaymentDateTime)
	v.amount(path.key(".PreviousPaymentAmount"), d.PreviousPaymentAmount, false, "")
	v.mandate(path.key(".MandateRelatedInformation"), m)
}

func (v *validator) mandate(path jsonPath, m *MandateRelatedInformation) {
	if m == nil {
		return
	}
	v.maxLength(path.key(".MandateIdentification"), m.MandateIdentification, max35Text)
	v.code(path.key(".Classification"), m.Classification, mandateClassifications)
	v.orderDate(path.key(".FirstPaymentDateTime"), m.FirstPaymentDateTime)
	v.orderDate(path.key(".RecurringPaymentDateTime"), m.RecurringPaymentDateTime)
	v.orderDate(path.key(".FinalPaymentDateTime"), m.FinalPaymentDateTime)
	if f := m.Frequency; f != nil {
		field := ".Type"
		if f.Type == "" && f.PeriodType != "" {
			field = ".PeriodType"
		}
		if v.required(path.key(".Frequency"+field), f.Code()) {
			v.code(path.key(".Frequency"+field), f.Code(), frequencyCodes)
		}
		if f.CountPerPeriod != nil && *f.CountPerPeriod < 1 {
			v.add(path.key(".Frequency.CountPerPeriod"), "invalid count %d: want 1 or more", *f.CountPerPeriod)
		}
	}
}

func (v *validator) standingOrder(path jsonPath, s *StandingOrder) {
	v.accountID(path.key(".AccountId"), s.AccountID)
	v.maxLength(path.key(".StandingOrderId"), s.StandingOrderID, max40Text)
	m := s.MandateRelatedInformation
	switch {
	case s.Frequency != "":
		if !standingOrderFrequency.MatchString(s.Frequency) {
			v.add(path.key(".Frequency"), "invalid frequency %s: want a code such as EvryDay, IntrvlWkDay:01:05, WkInMnthDay:02:03 or IntrvlMnthDay:01:15", quote(s.Frequency))
		}
	case m == nil || m.Frequency == nil:
		// v3.1 requires Frequency; v4.0 moved it into the mandate.
		v.add(path.key(".Frequency"), "missing required field")
	}
	v.maxLength(path.key(".Reference"), s.Reference, max35Text)
	v.orderDate(path.key(".FirstPaymentDateTime"), s.FirstPaymentDateTime)
	v.orderDate(path.key(".NextPaymentDateTime"), s.NextPaymentDateTime)
	v.orderDate(path.key(".LastPaymentDateTime"), s.LastPaymentDateTime)
	v.orderDate(path.key(".FinalPaymentDateTime"), s.FinalPaymentDateTime)
	v.code(path.key(".StandingOrderStatusCode"), s.StandingOrderStatusCode, orderStatuses)
	v.amount(path.key(".FirstPaymentAmount"), s.FirstPaymentAmount, false, "")
	v.amount(path.key(".NextPaymentAmount"), s.NextPaymentAmount, false, "")
	v.amount(path.key(".LastPaymentAmount"), s.LastPaymentAmount, false, "")
	v.amount(path.key(".FinalPaymentAmount"), s.FinalPaymentAmount, false, "")
	if c := s.CreditorAccount; c != nil {
		v.maxLength(path.key(".CreditorAccount.Name"), c.Name, max350Text)
	}
	v.mandate(path.key(".MandateRelatedInformation"), m)
}

func (v *validator) scheduledPayment(path jsonPath, p *ScheduledPayment) {
	v.accountID(path.key(".AccountId"), p.AccountID)
	v.maxLength(path.key(".ScheduledPaymentId"), p.ScheduledPaymentID, max40Text)
	if v.required(path.key(".ScheduledPaymentDateTime"), p.ScheduledPaymentDateTime) {
		v.orderDate(path.key(".ScheduledPaymentDateTime"), p.ScheduledPaymentDateTime)
	}
	if v.required(path.key(".ScheduledType"), p.ScheduledType) {
		v.code(path.key(".ScheduledType"), p.ScheduledType, scheduledTypes)
	}
	v.maxLength(path.key(".Reference"), p.Reference, max35Text)
	v.amount(path.key(".InstructedAmount"), p.InstructedAmount, true, "")
	if c := p.CreditorAccount; c != nil {
		v.maxLength(path.key(".CreditorAccount.Name"), c.Name, max350Text)
	}
}

// ParseOrderDate parses a payment date of a payment order: an OBIE
// date-time (see ParseDateTime), or a calendar date YYYY-MM-DD read as
// midnight in local.
func ParseOrderDate(s string, local *time.Location) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		d, err := insights.ParseDate(s)
		if err != nil {
			return time.Time{}, err
		}
		return d.In(local), nil
	}
	return ParseDateTime(s, local)
}
