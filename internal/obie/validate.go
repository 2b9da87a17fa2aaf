package obie

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	insights "github.com/openbanking-insights/insights"
)

// isLetterCode reports whether s is n capital letters A to Z, the pattern of the
// schema's ActiveOrHistoricCurrencyCode (n = 3, ^[A-Z]{3}$) and CountryCode
// (n = 2, ISO 3166-1 alpha-2). Every amount and address is checked, so this
// avoids a regular expression.
func isLetterCode(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Maximum lengths of the OBIE text types, in characters.
const (
	max35Text  = 35
	max40Text  = 40
	max70Text  = 70
	max210Text = 210
	max350Text = 350
	max500Text = 500
)

// validator checks decoded records. Every rule treats an empty string as an
// absent field. The OBIE profile requires ASPSPs to omit a field that has
// no value, but some send "" instead, so both mean the same.
type validator struct {
	reporter
	local *time.Location // zone of date-times without an offset
	today insights.Date  // latest acceptable birth date
}

// required reports a missing required field and returns whether it is set.
func (v *validator) required(path jsonPath, value string) bool {
	if value == "" {
		v.add(path, "missing required field")
		return false
	}
	return true
}

func (v *validator) maxLength(path jsonPath, value string, limit int) {
	if len(value) <= limit {
		return // no more characters than bytes
	}
	if n := utf8.RuneCountInString(value); n > limit {
		v.add(path, "too long: %d characters, the maximum is %d", n, limit)
	}
}

// code checks an optional field against a closed code list.
func (v *validator) code(path jsonPath, value string, codes []string) {
	if value != "" && !isCode(codes, value) {
		v.add(path, "invalid value %s: want one of %s", quote(value), strings.Join(codes, ", "))
	}
}

func (v *validator) dateTime(path jsonPath, value string) (time.Time, bool) {
	if value == "" {
		return time.Time{}, false
	}
	t, err := ParseDateTime(value, v.local)
	if err != nil {
		v.add(path, "invalid date-time %s: %v", quote(value), err)
		return time.Time{}, false
	}
	return t, true
}

// amount checks an OBActiveOrHistoricCurrencyAndAmount. OBIE amounts match
// ^\d{1,13}$|^\d{1,13}\.\d{1,5}$: no sign (CreditDebitIndicator carries it),
// no exponent, no thousands separator or decimal comma. indicator is the
// CreditDebitIndicator beside the amount, or "" where the schema has none.
// It returns the unsigned amount and whether a.Amount is a valid amount.
func (v *validator) amount(path jsonPath, a *Amount, required bool, indicator string) (insights.Amount, bool) {
	if a == nil {
		if required {
			v.add(path, "missing required field")
		}
		return 0, false
	}
	var parsed insights.Amount
	amountOK := false
	if v.required(path.key(".Amount"), a.Amount) {
		var err error
		if parsed, err = insights.ParseAmount(a.Amount); err != nil {
			// A negative amount is rejected, never read as the opposite
			// direction: a bank that signs its amounts may also have set
			// CreditDebitIndicator, and guessing which one is right could
			// turn a debit into income.
			reason := `want digits with an optional "." and 1 to 5 decimals, at most 13 integer digits`
			if strings.HasPrefix(a.Amount, "-") || strings.HasPrefix(a.Amount, "+") {
				reason = "OBIE amounts are unsigned: CreditDebitIndicator carries the sign"
			}
			var cause error
			if strings.HasPrefix(a.Amount, "-") && indicator == Debit {
				cause = ErrNegativeDebit
			}
			v.addCause(path.key(".Amount"), cause, "invalid amount %s: %s", quote(a.Amount), reason)
		} else {
			amountOK = true
		}
	}
	currencyOK := false
	if v.required(path.key(".Currency"), a.Currency) {
		currencyOK = isLetterCode(a.Currency, 3)
		if !currencyOK {
			v.add(path.key(".Currency"), "invalid currency %s: want three capital letters (ISO 4217)", quote(a.Currency))
		}
	}
	if amountOK && currencyOK {
		v.minorUnits(path.key(".Amount"), a.Amount, a.Currency)
	}
	v.code(path.key(".SubType"), a.SubType, amountSubTypes)
	return parsed, amountOK
}

// minorUnits rejects an amount with more significant decimals than ISO 4217
// gives its currency, such as GBP "1.234": the OBIE pattern allows five
// decimals for any currency, but no account can hold a fraction of a penny.
// Trailing zeros are not significant, so GBP "12.500" is accepted.
func (v *validator) minorUnits(path jsonPath, amount, currency string) {
	_, frac, _ := strings.Cut(amount, ".")
	frac = strings.TrimRight(frac, "0")
	if limit := insights.MinorUnits(currency); len(frac) > limit {
		v.add(path, "invalid amount %s: %s has %d decimals (ISO 4217)", quote(amount), currency, limit)
	}
}

func (v *validator) creditDebit(path jsonPath, value string) {
	if v.required(path, value) {
		v.code(path, value, creditDebitCodes)
	}
}

func (v *validator) balanceType(path jsonPath, value string) {
	if !v.required(path, value) {
		return
	}
	if _, ok := BalanceType(value); !ok {
		v.add(path, "invalid value %s: want a v3.1 balance type such as InterimAvailable or a v4.0 code such as ITAV", quote(value))
	}
}

func (v *validator) account(path jsonPath, a *Account) {
	if v.required(path.key(".AccountId"), a.AccountID) {
		v.maxLength(path.key(".AccountId"), a.AccountID, max40Text)
	}
	if v.required(path.key(".Currency"), a.Currency) && !isLetterCode(a.Currency, 3) {
		v.add(path.key(".Currency"), "invalid currency %s: want three capital letters (ISO 4217)", quote(a.Currency))
	}
	v.code(path.key(".Status"), a.Status, accountStatuses)
	v.code(path.key(".AccountType"), a.AccountType, accountTypes)
	v.code(path.key(".AccountCategory"), a.AccountCategory, accountTypes)
	// AccountSubType and AccountTypeCode are stored as sent, unchecked:
	// ASPSPs use values outside the enum (the Ozone model bank sends
	// "Other"), and nothing derived depends on them.
	v.maxLength(path.key(".Nickname"), a.Nickname, max70Text)
}

func (v *validator) balance(path jsonPath, b *Balance) {
	if v.required(path.key(".AccountId"), b.AccountID) {
		v.maxLength(path.key(".AccountId"), b.AccountID, max40Text)
	}
	v.amount(path.key(".Amount"), b.Amount, true, b.CreditDebitIndicator)
	v.creditDebit(path.key(".CreditDebitIndicator"), b.CreditDebitIndicator)
	v.balanceType(path.key(".Type"), b.Type)
	if v.required(path.key(".DateTime"), b.DateTime) {
		v.dateTime(path.key(".DateTime"), b.DateTime)
	}
	for i := range b.CreditLine {
		line := &b.CreditLine[i]
		linePath := path.elem(".CreditLine", i)
		if line.Included == nil {
			v.add(linePath.key(".Included"), "missing required field")
		}
		v.code(linePath.key(".Type"), line.Type, creditLineTypes)
		v.amount(linePath.key(".Amount"), line.Amount, false, "")
	}
}

func (v *validator) transaction(path jsonPath, t *Transaction) {
	if v.required(path.key(".AccountId"), t.AccountID) {
		v.maxLength(path.key(".AccountId"), t.AccountID, max40Text)
	}
	v.maxLength(path.key(".TransactionId"), t.TransactionID, max210Text)
	v.creditDebit(path.key(".CreditDebitIndicator"), t.CreditDebitIndicator)
	if v.required(path.key(".Status"), t.Status) {
		if _, ok := TransactionStatus(t.Status); !ok {
			v.add(path.key(".Status"), "invalid value %s: want Booked, Pending, Rejected (v3.1) or BOOK, PDNG, RJCT, FUTR, INFO (v4.0)", quote(t.Status))
		}
	}
	v.code(path.key(".TransactionMutability"), t.TransactionMutability, mutabilities)
	// ToDomain takes the values parsed here instead of parsing them again.
	t.parsed = parsedValues{zone: v.local}
	if v.required(path.key(".BookingDateTime"), t.BookingDateTime) {
		if booked, ok := v.dateTime(path.key(".BookingDateTime"), t.BookingDateTime); ok {
			t.parsed.booking, t.parsed.bookingTime = t.BookingDateTime, booked
		}
	}
	if valued, ok := v.dateTime(path.key(".ValueDateTime"), t.ValueDateTime); ok {
		t.parsed.value, t.parsed.valueTime = t.ValueDateTime, valued
	}
	if amount, ok := v.amount(path.key(".Amount"), t.Amount, true, t.CreditDebitIndicator); ok {
		t.parsed.amountText, t.parsed.amount = t.Amount.Amount, amount
	}
	v.maxLength(path.key(".TransactionInformation"), t.TransactionInformation, max500Text)

	// If BankTransactionCode is present, the schema requires both levels.
	if c := t.BankTransactionCode; c != nil {
		v.required(path.key(".BankTransactionCode.Code"), c.Code)
		v.required(path.key(".BankTransactionCode.SubCode"), c.SubCode)
	}
	if c := t.ProprietaryBankTransactionCode; c != nil {
		if v.required(path.key(".ProprietaryBankTransactionCode.Code"), c.Code) {
			v.maxLength(path.key(".ProprietaryBankTransactionCode.Code"), c.Code, max35Text)
		}
	}
	if b := t.Balance; b != nil {
		v.amount(path.key(".Balance.Amount"), b.Amount, true, b.CreditDebitIndicator)
		v.creditDebit(path.key(".Balance.CreditDebitIndicator"), b.CreditDebitIndicator)
		v.balanceType(path.key(".Balance.Type"), b.Type)
	}
	// MerchantCategoryCode is Min3Max4Text (an ISO 18245 code).
	if m := t.MerchantDetails; m != nil && m.MerchantCategoryCode != "" {
		if n := utf8.RuneCountInString(m.MerchantCategoryCode); n < 3 || n > 4 {
			v.add(path.key(".MerchantDetails.MerchantCategoryCode"), "invalid merchant category code %s: want 3 or 4 characters", quote(m.MerchantCategoryCode))
		}
	}
}

func (v *validator) party(path jsonPath, p *Party) {
	if v.required(path.key(".PartyId"), p.PartyID) {
		v.maxLength(path.key(".PartyId"), p.PartyID, max40Text)
	}
	v.code(path.key(".PartyType"), p.PartyType, partyTypes)
	v.maxLength(path.key(".Name"), p.Name, max350Text)
	v.maxLength(path.key(".FullLegalName"), p.FullLegalName, max350Text)

	// The reason never quotes a birth date: it is personal data.
	if p.BirthDate != "" {
		if _, err := ParseBirthDate(p.BirthDate, v.today); err != nil {
			v.add(path.key(".BirthDate"), "%v", err)
		}
	}
	for i := range p.Address {
		a := &p.Address[i]
		addrPath := path.elem(".Address", i)
		v.code(addrPath.key(".AddressType"), a.AddressType, addressTypes)
		if a.Country != "" && !isLetterCode(a.Country, 2) {
			v.add(addrPath.key(".Country"), "invalid country %s: want two capital letters (ISO 3166-1 alpha-2)", quote(a.Country))
		}
	}
}

// errBirthDate and errBirthDateRange never contain the date itself.
var (
	errBirthDate      = errors.New("invalid birth date: want a calendar date YYYY-MM-DD")
	errBirthDateRange = errors.New("invalid birth date: before 1900 or after today")
)

// ParseBirthDate parses the BirthDate extension of Party: an ISO 8601
// calendar date "YYYY-MM-DD" no earlier than 1900 and no later than today.
func ParseBirthDate(s string, today insights.Date) (insights.Date, error) {
	if len(s) != len(time.DateOnly) {
		return insights.Date{}, errBirthDate
	}
	d, err := insights.ParseDate(s)
	if err != nil {
		return insights.Date{}, errBirthDate
	}
	if d.Year < 1900 || today.Before(d) {
		return insights.Date{}, errBirthDateRange
	}
	return d, nil
}

// quote returns v in double quotes, cut to 40 characters: the values quoted
// are codes and malformed numbers, and a free-text value sent in a code
// field should not be copied whole into logs.
func quote(v string) string {
	const limit = 40
	if utf8.RuneCountInString(v) > limit {
		v = string([]rune(v)[:limit]) + "..."
	}
	return fmt.Sprintf("%q", v)
}
