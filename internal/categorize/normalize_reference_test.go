package categorize

import (
	"regexp"
	"strings"
	"testing"
)

// The first NormalizeCounterparty ran every step as a regular expression.
// It is kept here as the reference that the faster version must agree with.
var (
	referenceWithDigit   = regexp.MustCompile(`\b[A-Z]*\d[A-Z\d]*\b`)
	referencePunctuation = regexp.MustCompile(`[^A-Z0-9& ]+`)
)

func normalizeReference(s string) string {
	s = referenceOnce(s)
	for range maxPasses {
		again := referenceOnce(s)
		if again == s {
			break
		}
		s = again
	}
	return s
}

func referenceOnce(s string) string {
	// Step 1: upper-case and remove the noise that needs punctuation to be seen.
	s = strings.ToUpper(s)
	s = strings.ReplaceAll(s, "'", "")
	hasDigit := strings.ContainsAny(s, "0123456789")
	if strings.ContainsAny(s, "X*") {
		s = maskedCard.ReplaceAllString(s, " ")
	}
	if hasDigit {
		s = numericDate.ReplaceAllString(s, " ")
	}

	// Step 2: drop punctuation, then named dates and references.
	s = referencePunctuation.ReplaceAllString(s, " ")
	if hasDigit {
		s = namedDate.ReplaceAllString(s, " ")
		s = referenceRemoveReferences(s)
	}

	// Step 3: drop payment-type words, then the phrases they may have hidden.
	return stripLeadPhrases(referenceKeptWords(s))
}

// referenceKeptWords returns the words of s joined by single spaces,
// without payment-type codes and with LIMITED written as LTD.
func referenceKeptWords(s string) string {
	words := strings.Fields(s)
	kept := words[:0]
	for _, w := range words {
		switch {
		case typeCodes[w]:
		case w == "LIMITED":
			kept = append(kept, "LTD")
		default:
			kept = append(kept, w)
		}
	}
	return strings.Join(kept, " ")
}

// referenceRemoveReferences replaces each reference, as
// joinKeptWordsWithoutReferences defines it, by a space.
func referenceRemoveReferences(s string) string {
	return referenceWithDigit.ReplaceAllStringFunc(s, func(word string) string {
		digits := 0
		for _, r := range word {
			if r >= '0' && r <= '9' {
				digits++
			}
		}
		isNumber := digits == len(word)
		if isNumber && digits >= 5 || !isNumber && len(word) >= 8 && digits >= 3 {
			return " "
		}
		return word
	})
}

func TestNormalizeCounterparty_matchesReference(t *testing.T) {
	inputs := []string{
		"CARD PAYMENT TO TESCO STORES 3297 ON 12 MAR", "DD BRITISH GAS 850012345678", "FPI Acme Limited 1234567890 SALARY",
		"XXXX1234 Sainsbury's S/MKT", "****1234 PRET A MANGER", "SO MCDONALDS PROPERTY LTD RENT 01/06/2026",
		"ACME LTD 2026-03-25 BGC", "ACME LTD 25MAR26 WAGES", "AMZN Mktp UK*AB12C3D4E", "O2 UK 7 ELEVEN 888",
		"Legal & General", "DD 12345678", "", "POS 01MAR26 TFL TRAVEL CH", "BACS DWP UC UC 26M10", "D/D VOXI",
		"Café Nérо 12", "ATM 03OCT26 CARDTRONICS LONDON", "A1B2C3D4E5 REF", "12\t3 MAR", "X*X*", "**12 AB",
		"TAX XXX* 1234", "**X1", "EXPRESS", "SO  ACME LIMITED ", "ACME\tDD",
	}
	for _, in := range inputs {
		if got, want := NormalizeCounterparty(in), normalizeReference(in); got != want {
			t.Errorf("NormalizeCounterparty(%q) = %q, reference gives %q", in, got, want)
		}
	}
}

// TestJoinKeptWordsWithoutReferences_matchesReference compares the one
// pass with removing the references and then joining the kept words, on
// text of the bytes that replacePunctuation leaves.
func TestJoinKeptWordsWithoutReferences_matchesReference(t *testing.T) {
	inputs := []string{
		"", " ", "TESCO STORES 2231 REF 12345", "12345", " 12345 ", "12345 ACME", "ACME  12345  LTD",
		"AB&1234567&CD", "&12345&", "1234567&", "LIMITED 12345", "DD 12345 SO", "A1B2C3D4 X", "A1B2C3D X",
		"O2 7 ELEVEN 888", "ACME\t12345\tLIMITED", "ACME\tSTORES 12", "ACME 12345", "ACME LTD", "  ACME LTD", "ACME LTD ",
		"ACME 123456 LTD 1234", "AB12CD34EF56", "DDR 99999 FPI", "ACME &12345", "X 00000 Y 0000 Z",
	}
	for _, in := range inputs {
		if got, want := joinKeptWordsWithoutReferences(in), referenceKeptWords(referenceRemoveReferences(in)); got != want {
			t.Errorf("joinKeptWordsWithoutReferences(%q) = %q, reference gives %q", in, got, want)
		}
	}
}

// FuzzNormalizeCounterparty_reference checks the fast normaliser against the
// regular-expression reference on any input.
func FuzzNormalizeCounterparty_reference(f *testing.F) {
	for _, s := range []string{"CARD PAYMENT TO TESCO 3297 ON 12 MAR", "DD BRITISH GAS 850012345678", "25/03/26 ACME",
		"XXXX1234 S'S", "AB12345678 CD", "\xff\xfe 12 JAN 2026"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := NormalizeCounterparty(s), normalizeReference(s); got != want {
			t.Errorf("NormalizeCounterparty(%q) = %q, reference gives %q", s, got, want)
		}
	})
}
