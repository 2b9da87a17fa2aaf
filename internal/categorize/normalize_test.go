package categorize

import (
	"strings"
	"testing"
)

func TestNormalizeCounterparty_cases(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"card payment prefix and date", "CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR", "TESCO STORES 3297"},
		{"direct debit code and reference", "DD BRITISH GAS 850012345678", "BRITISH GAS"},
		{"faster payment and limited", "FPI Acme Limited 1234567890 SALARY", "ACME LTD SALARY"},
		{"apostrophe and masked card", "XXXX1234 Sainsbury's S/MKT", "SAINSBURYS S MKT"},
		{"starred card number", "****1234 PRET A MANGER", "PRET A MANGER"},
		{"standing order and numeric date", "SO MCDONALDS PROPERTY LTD RENT 01/06/2026", "MCDONALDS PROPERTY LTD RENT"},
		{"iso date", "ACME LTD 2026-03-25 BGC", "ACME LTD"},
		{"named date with year", "ACME LTD 25MAR26 WAGES", "ACME LTD WAGES"},
		{"marketplace reference", "AMZN Mktp UK*AB12C3D4E", "AMZN MKTP UK"},
		{"short numbers kept", "O2 UK 7 ELEVEN 888", "O2 UK 7 ELEVEN 888"},
		{"ampersand kept", "Legal & General", "LEGAL & GENERAL"},
		{"only noise", "DD 12345678", ""},
		{"type code hiding a date", "ACME 12 DD MAY", "ACME"},
		{"reference hiding a date", "ACME 12 0012345 MAY", "ACME"},
		{"empty", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := NormalizeCounterparty(tc.in); got != tc.want {
				t.Errorf("NormalizeCounterparty(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNormalizePayer_descriptionFallback(t *testing.T) {
	cases := []struct {
		name, counterparty, description, want string
	}{
		{"counterparty wins", "Acme Ltd", "ACME SALARY MARCH", "ACME LTD"},
		{"month names dropped", "", "ACME LTD SALARY MARCH", "ACME LTD SALARY"},
		{"abbreviated month dropped", "", "ACME LTD SALARY APR 2026", "ACME LTD SALARY"},
		{"payroll number dropped", "", "ACME LTD PAY 12 FPI", "ACME LTD PAY"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := normalizePayer(tc.counterparty, tc.description); got != tc.want {
				t.Errorf("normalizePayer(%q, %q) = %q, want %q", tc.counterparty, tc.description, got, tc.want)
			}
		})
	}
}

// FuzzNormalizeCounterparty checks that normalising is stable: a normalised
// name normalises to itself, and contains no lower case or doubled spaces.
func FuzzNormalizeCounterparty(f *testing.F) {
	for _, s := range []string{
		"CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR", "DD BRITISH GAS 850012345678",
		"XXXX1234 Sainsbury's S/MKT", "AMZN Mktp UK*AB12C3D4E", "SO SO SO", "PAYMENT TO CARD PAYMENT TO X",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		once := NormalizeCounterparty(s)
		if twice := NormalizeCounterparty(once); twice != once {
			t.Errorf("NormalizeCounterparty not stable: %q -> %q -> %q", s, once, twice)
		}
		if strings.Contains(once, "  ") || strings.TrimSpace(once) != once {
			t.Errorf("NormalizeCounterparty(%q) = %q has stray spaces", s, once)
		}
	})
}

// FuzzFactsOf checks each fact of factsOf against a test of its own over
// the whole text.
func FuzzFactsOf(f *testing.F) {
	for _, s := range []string{"XXXX1234 Sainsbury's S/MKT", "**12 AB", "TAX XXX* 1234", "X*X*", "25/03/26 ACME",
		"Café Nérо 12", "ACME & CO", "EXPRESS", "AB 1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := factsOf(s)
		if want := strings.ToUpper(s) != s; want && !got.notUpper {
			t.Errorf("factsOf(%q).notUpper = false, but strings.ToUpper changes the text", s)
		}
		if want := strings.IndexByte(s, '\'') >= 0; got.apostrophe != want {
			t.Errorf("factsOf(%q).apostrophe = %v, want %v", s, got.apostrophe, want)
		}
		if want := containsDigit(s); got.digit != want {
			t.Errorf("factsOf(%q).digit = %v, want %v", s, got.digit, want)
		}
		if want := mayHaveMaskedCard(s); got.maskedCard != want {
			t.Errorf("factsOf(%q).maskedCard = %v, want %v", s, got.maskedCard, want)
		}
		if want := mayHaveNumericDate(s); got.numericDate != want {
			t.Errorf("factsOf(%q).numericDate = %v, want %v", s, got.numericDate, want)
		}
		if want := replacePunctuation(s) != s; got.punctuation != want {
			t.Errorf("factsOf(%q).punctuation = %v, want %v", s, got.punctuation, want)
		}
	})
}

// mayHaveMaskedCard reports whether s has four X or * in a row, or two *
// and a digit: every match of maskedCard contains one of them. It is the
// definition that factsOf finds in its one pass.
func mayHaveMaskedCard(s string) bool {
	run := 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 'X' || c == '*':
			if run++; run == 4 {
				return true
			}
		case isDigitByte(c) && i >= 2 && s[i-1] == '*' && s[i-2] == '*':
			return true
		default:
			run = 0
		}
	}
	return false
}

func TestMayLeadPhrase_everyPhrase(t *testing.T) {
	for _, p := range leadPhrases {
		if !mayLeadPhrase(p) {
			t.Errorf("mayLeadPhrase(%q) = false, so stripLeadPhrases would keep the phrase", p)
		}
	}
}

func TestIsTypeCode_table(t *testing.T) {
	for code := range typeCodes {
		if !isTypeCode(code) {
			t.Errorf("isTypeCode(%q) = false, but typeCodes lists it", code)
		}
	}
	for _, word := range []string{"", "D", "DDD", "SOS", "POST", "TESCO"} {
		if isTypeCode(word) {
			t.Errorf("isTypeCode(%q) = true, but typeCodes does not list it", word)
		}
	}
}
