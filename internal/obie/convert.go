package obie

import (
	"fmt"
	"strings"
	"time"

	insights "github.com/openbanking-insights/insights"
)

// The conversions below expect records that passed validation; they still
// return an error instead of guessing when a value does not parse.

// SignedAmount parses an OBIE amount and gives it the sign of a
// CreditDebitIndicator: negative for Debit.
func SignedAmount(amount, creditDebit string) (insights.Amount, error) {
	a, err := insights.ParseAmount(amount)
	if err != nil {
		return 0, fmt.Errorf("invalid amount %s: %w", quote(amount), err)
	}
	if creditDebit == Debit {
		a = -a
	}
	return a, nil
}

// ToDomain converts an account. A v4.0 AccountCategory fills AccountType and
// an AccountTypeCode fills AccountSubType, by its v3.1 name where one exists.
func (a *Account) ToDomain(customerID string) insights.Account {
	accountType := a.AccountType
	if accountType == "" {
		accountType = a.AccountCategory
	}
	subType := a.AccountSubType
	if subType == "" {
		subType = a.AccountTypeCode
	}
	return insights.Account{
		CustomerID:     customerID,
		AccountID:      a.AccountID,
		Currency:       a.Currency,
		AccountType:    accountType,
		AccountSubType: AccountSubType(subType),
		Nickname:       a.Nickname,
		Status:         a.Status,
	}
}

// ToDomain converts a balance. Date-times without an offset are read in
// zone. CreditLine sums the included credit lines in the balance's currency;
// a line in another currency cannot be added and only sets
// CreditLineIncluded.
func (b *Balance) ToDomain(customerID string, zone *time.Location) (insights.Balance, error) {
	if b.Amount == nil {
		return insights.Balance{}, fmt.Errorf("balance of type %s has no Amount", b.Type)
	}
	amount, err := SignedAmount(b.Amount.Amount, b.CreditDebitIndicator)
	if err != nil {
		return insights.Balance{}, err
	}
	asOf, err := ParseDateTime(b.DateTime, zone)
	if err != nil {
		return insights.Balance{}, fmt.Errorf("invalid DateTime %s: %w", quote(b.DateTime), err)
	}
	balanceType, ok := BalanceType(b.Type)
	if !ok {
		return insights.Balance{}, fmt.Errorf("invalid balance Type %s", quote(b.Type))
	}

	out := insights.Balance{
		CustomerID: customerID,
		AccountID:  b.AccountID,
		Type:       balanceType,
		Amount:     amount,
		Currency:   b.Amount.Currency,
		AsOf:       asOf,
	}
	for _, line := range b.CreditLine {
		if line.Included == nil || !*line.Included {
			continue
		}
		out.CreditLineIncluded = true
		if line.Amount == nil || line.Amount.Currency != out.Currency {
			continue
		}
		limit, err := insights.ParseAmount(line.Amount.Amount)
		if err != nil {
			return insights.Balance{}, fmt.Errorf("invalid CreditLine amount %s: %w", quote(line.Amount.Amount), err)
		}
		out.CreditLine += limit
	}
	return out, nil
}

// ToDomain converts a transaction. Date-times without an offset are read in
// zone, and BookingDate is the calendar day of BookingDateTime in zone: a
// UK bank that books by date sends 2017-06-30T23:00:00Z for 1 July (BST).
//
// Counterparty is the CreditorAccount name of a debit or the DebtorAccount
// name of a credit, and otherwise the card merchant's name.
func (t *Transaction) ToDomain(customerID string, zone *time.Location) (insights.Transaction, error) {
	if t.Amount == nil {
		return insights.Transaction{}, fmt.Errorf("transaction has no Amount")
	}
	p := &t.parsed
	var amount insights.Amount
	if p.amountText != "" && p.amountText == t.Amount.Amount {
		amount = p.amount
		if t.CreditDebitIndicator == Debit {
			amount = -amount
		}
	} else {
		var err error
		if amount, err = SignedAmount(t.Amount.Amount, t.CreditDebitIndicator); err != nil {
			return insights.Transaction{}, err
		}
	}
	status, ok := TransactionStatus(t.Status)
	if !ok {
		return insights.Transaction{}, fmt.Errorf("invalid Status %s", quote(t.Status))
	}
	sameZone := p.zone == zone
	booked := p.bookingTime
	if !sameZone || p.booking == "" || p.booking != t.BookingDateTime {
		var err error
		if booked, err = ParseDateTime(t.BookingDateTime, zone); err != nil {
			return insights.Transaction{}, fmt.Errorf("invalid BookingDateTime %s: %w", quote(t.BookingDateTime), err)
		}
	}
	var valued time.Time
	if t.ValueDateTime != "" {
		valued = p.valueTime
		if !sameZone || p.value == "" || p.value != t.ValueDateTime {
			var err error
			if valued, err = ParseDateTime(t.ValueDateTime, zone); err != nil {
				return insights.Transaction{}, fmt.Errorf("invalid ValueDateTime %s: %w", quote(t.ValueDateTime), err)
			}
		}
	}

	out := insights.Transaction{
		CustomerID:    customerID,
		AccountID:     t.AccountID,
		TransactionID: t.TransactionID,
		Status:        status,
		BookingTime:   booked,
		ValueTime:     valued,
		BookingDate:   insights.DateOf(booked.In(zone)),
		Amount:        amount,
		Currency:      t.Amount.Currency,
		Description:   t.TransactionInformation,
		Counterparty:  t.counterparty(),
	}
	if c := t.BankTransactionCode; c != nil {
		out.BankTransactionCode, out.BankTransactionSubCode = c.Code, c.SubCode
	}
	if c := t.ProprietaryBankTransactionCode; c != nil {
		out.ProprietaryCode, out.ProprietaryIssuer = c.Code, c.Issuer
	}
	if m := t.MerchantDetails; m != nil {
		out.MCC = m.MerchantCategoryCode
	}
	return out, nil
}

func (t *Transaction) counterparty() string {
	var name string
	switch {
	case t.CreditDebitIndicator == Debit && t.CreditorAccount != nil:
		name = t.CreditorAccount.Name
	case t.CreditDebitIndicator == Credit && t.DebtorAccount != nil:
		name = t.DebtorAccount.Name
	}
	if name == "" && t.MerchantDetails != nil {
		name = t.MerchantDetails.MerchantName
	}
	return name
}

// ToDomain converts a party. Name is the display Name, or FullLegalName when
// Name is absent. Address is the first residential address (Residential in
// v3.1, HOME in v4.0), or else the first address sent.
func (p *Party) ToDomain(customerID string, today insights.Date) (insights.Party, error) {
	out := insights.Party{
		CustomerID: customerID,
		PartyID:    p.PartyID,
		Name:       p.Name,
	}
	if out.Name == "" {
		out.Name = p.FullLegalName
	}
	if p.BirthDate != "" {
		d, err := ParseBirthDate(p.BirthDate, today)
		if err != nil {
			return insights.Party{}, err
		}
		out.BirthDate = d
	}
	if a := p.residentialAddress(); a != nil {
		out.Address = a.toDomain()
	}
	return out, nil
}

func (p *Party) residentialAddress() *PostalAddress {
	for i := range p.Address {
		if t := p.Address[i].AddressType; t == "Residential" || t == "HOME" {
			return &p.Address[i]
		}
	}
	if len(p.Address) > 0 {
		return &p.Address[0]
	}
	return nil
}

// toDomain keeps AddressLine as sent; without one, the building number and
// street name form the first line. Country "UK", which OBIE's examples
// send, becomes GB, the United Kingdom's ISO 3166-1 code.
func (a *PostalAddress) toDomain() insights.Address {
	out := insights.Address{Town: a.TownName, PostCode: a.PostCode, Country: a.Country}
	for _, line := range a.AddressLine {
		if line = strings.TrimSpace(line); line != "" {
			out.Lines = append(out.Lines, line)
		}
	}
	if len(out.Lines) == 0 {
		if street := strings.TrimSpace(a.BuildingNumber + " " + a.StreetName); street != "" {
			out.Lines = []string{street}
		}
	}
	if out.Country == "UK" {
		out.Country = "GB"
	}
	return out
}
