package insights

import (
	"errors"
	"fmt"
	"strings"
)

// AmountScale is the number of decimal places an Amount keeps. OBIE amounts
// match ^\d{1,13}$|^\d{1,13}\.\d{1,5}$, so five places hold any of them
// exactly, and 13+5 digits fit in an int64 (ClickHouse Decimal64(5)).
const AmountScale = 5

const amountUnit = 100000 // 10^AmountScale

// Amount is a signed money amount in units of 10^-5 of its currency. Money is
// never a float here.
type Amount int64

// Errors returned by ParseAmount.
var (
	ErrAmountSyntax = errors.New("not a plain decimal with at most 13 integer digits and 5 decimals")
)

// ParseAmount parses an unsigned OBIE decimal string such as "12.5" or
// "0.00001". Signs, exponents, thousands separators and commas are rejected:
// in OBIE the sign is carried by CreditDebitIndicator, never by the amount.
func ParseAmount(s string) (Amount, error) {
	intPart, frac, hasDot := strings.Cut(s, ".")
	if len(intPart) == 0 || len(intPart) > 13 || !allDigits(intPart) {
		return 0, ErrAmountSyntax
	}
	if hasDot && (len(frac) == 0 || len(frac) > AmountScale || !allDigits(frac)) {
		return 0, ErrAmountSyntax
	}

	// At most 13 integer digits and AmountScale decimals: 18 digits, which
	// an int64 holds.
	var v int64
	for i := 0; i < len(intPart); i++ {
		v = v*10 + int64(intPart[i]-'0')
	}
	for i := range AmountScale {
		v *= 10
		if i < len(frac) {
			v += int64(frac[i] - '0')
		}
	}
	return Amount(v), nil
}

// ParseSignedAmount parses a decimal that may start with "-", as used in
// request arguments and stored values.
func ParseSignedAmount(s string) (Amount, error) {
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		a, err := ParseAmount(rest)
		return -a, err
	}
	return ParseAmount(s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats a with all five decimals, e.g. "-12.50000". It is the form
// ClickHouse accepts for Decimal64(5).
func (a Amount) String() string {
	return a.Format(AmountScale)
}

// Format formats a with the given number of decimals (0 to 5), truncating
// further digits toward zero. Use MinorUnits to pick the currency's decimals.
func (a Amount) Format(decimals int) string {
	sign := ""
	v := int64(a)
	if v < 0 {
		sign = "-"
		v = -v
	}
	intPart := v / amountUnit
	frac := fmt.Sprintf("%05d", v%amountUnit)[:decimals]
	if decimals == 0 {
		return fmt.Sprintf("%s%d", sign, intPart)
	}
	return fmt.Sprintf("%s%d.%s", sign, intPart, frac)
}

// MinorUnits returns the number of decimals ISO 4217 gives a currency: 0 for
// JPY and KRW, 3 for the dinars and OMR, 2 for the rest.
func MinorUnits(currency string) int {
	switch currency {
	case "JPY", "KRW", "ISK", "CLP", "VND", "XAF", "XOF", "UGX", "PYG", "RWF":
		return 0
	case "BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND":
		return 3
	}
	return 2
}

// currencies are the ISO 4217 alphabetic codes of currencies in circulation
// (the list as amended to 2025), without the codes for precious metals,
// funds and testing, which no bank account is held in.
var currencies = map[string]bool{}

func init() {
	for _, code := range strings.Fields(`
AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL
BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD
EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR
ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP
LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR
SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP
TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND VUV WST XAF XCD XCG XOF XPF YER
ZAR ZMW ZWG`) {
		currencies[code] = true
	}
}

// IsCurrency reports whether code is the ISO 4217 code of a currency in
// circulation, such as GBP.
func IsCurrency(code string) bool { return currencies[code] }
