package eval

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/categorize"
)

// corpusFile is one customer of the labelled corpus as stored in
// testdata/labelled/<name>.json. Amounts are signed decimal strings and
// dates are YYYY-MM-DD.
type corpusFile struct {
	Name         string           `json:"name"`
	Region       string           `json:"region"`
	AsOf         string           `json:"as_of"`
	Overrides    []corpusOverride `json:"overrides,omitempty"`
	Transactions []corpusTx       `json:"transactions"`
	Streams      []corpusStream   `json:"streams"`
	Commitments  []corpusStream   `json:"commitments"`
}

type corpusOverride struct {
	ID           string `json:"id"`
	Counterparty string `json:"counterparty"`
	Direction    string `json:"direction,omitempty"`
	Category     string `json:"category"`
}

type corpusTx struct {
	Key          string `json:"key"`
	BookingDate  string `json:"booking_date"`
	Status       string `json:"status"`
	Amount       string `json:"amount"`
	Currency     string `json:"currency"`
	Counterparty string `json:"counterparty,omitempty"`
	Description  string `json:"description,omitempty"`
	MCC          string `json:"mcc,omitempty"`
	Code         string `json:"code,omitempty"`
	SubCode      string `json:"sub_code,omitempty"`
	Proprietary  string `json:"proprietary,omitempty"`
	// Category is the true category; empty for a pending entry, which is
	// not scored.
	Category string `json:"category,omitempty"`
}

// corpusStream labels an income stream (Payer) or a commitment (Payee):
// both are stored under "payer".
type corpusStream struct {
	Payer        string `json:"payer"`
	Category     string `json:"category"`
	Cadence      string `json:"cadence"`
	NextExpected string `json:"next_expected,omitempty"`
}

// LoadCorpus reads every .json file of dir as one Case.
func LoadCorpus(dir string) ([]Case, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, fmt.Errorf("failed to list corpus: %w", err)
	}
	sort.Strings(paths)
	cases := make([]Case, 0, len(paths))
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var f corpusFile
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		c, err := f.toCase()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Base(p), err)
		}
		cases = append(cases, c)
	}
	return cases, nil
}

func (f *corpusFile) toCase() (Case, error) {
	cal, err := calendar.ByName(f.Region)
	if err != nil {
		return Case{}, fmt.Errorf("region: %w", err)
	}
	asOf, err := insights.ParseDate(f.AsOf)
	if err != nil {
		return Case{}, fmt.Errorf("as_of: %w", err)
	}
	c := Case{Name: "labelled/" + f.Name, Source: SourceLabelled, Calendar: cal, AsOf: asOf,
		Labels: map[string]insights.Category{}}

	for i, o := range f.Overrides {
		c.Overrides = append(c.Overrides, categorize.Override{ID: o.ID, Counterparty: o.Counterparty,
			Direction: categorize.Direction(o.Direction), Category: insights.Category(o.Category)})
		if err := c.Overrides.Validate(); err != nil {
			return Case{}, fmt.Errorf("overrides[%d]: %w", i, err)
		}
	}
	for i, x := range f.Transactions {
		t, err := x.toTransaction(f.Name)
		if err != nil {
			return Case{}, fmt.Errorf("transactions[%d]: %w", i, err)
		}
		c.Transactions = append(c.Transactions, t)
		if x.Category != "" {
			c.Labels[x.Key] = insights.Category(x.Category)
		}
	}
	for i, s := range f.Streams {
		l, err := s.label()
		if err != nil {
			return Case{}, fmt.Errorf("streams[%d]: %w", i, err)
		}
		c.Streams = append(c.Streams, StreamLabel(l))
	}
	for i, s := range f.Commitments {
		l, err := s.label()
		if err != nil {
			return Case{}, fmt.Errorf("commitments[%d]: %w", i, err)
		}
		c.Commitments = append(c.Commitments, CommitmentLabel{Payee: l.Payer, Category: l.Category,
			Cadence: l.Cadence, NextExpected: l.NextExpected})
	}
	return c, nil
}

func (s corpusStream) label() (StreamLabel, error) {
	l := StreamLabel{Payer: s.Payer, Category: insights.Category(s.Category), Cadence: insights.Cadence(s.Cadence)}
	if s.NextExpected != "" {
		d, err := insights.ParseDate(s.NextExpected)
		if err != nil {
			return StreamLabel{}, fmt.Errorf("next_expected: %w", err)
		}
		l.NextExpected = d
	}
	return l, nil
}

func (x corpusTx) toTransaction(customer string) (insights.Transaction, error) {
	d, err := insights.ParseDate(x.BookingDate)
	if err != nil {
		return insights.Transaction{}, fmt.Errorf("booking_date: %w", err)
	}
	a, err := insights.ParseSignedAmount(x.Amount)
	if err != nil {
		return insights.Transaction{}, fmt.Errorf("amount: %w", err)
	}
	return insights.Transaction{
		CustomerID: customer, AccountID: customer + "-current", Key: x.Key, TransactionID: x.Key,
		Status: insights.TransactionStatus(x.Status), BookingTime: d.In(time.UTC), BookingDate: d,
		Amount: a, Currency: x.Currency, Description: x.Description, Counterparty: x.Counterparty,
		MCC: x.MCC, BankTransactionCode: x.Code, BankTransactionSubCode: x.SubCode, ProprietaryCode: x.Proprietary,
	}, nil
}
