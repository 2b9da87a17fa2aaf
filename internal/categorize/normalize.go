package categorize

import (
	"regexp"
	"strings"
)

// Patterns of the noise that UK banks add to a counterparty or narrative.
// maskedCard and numericDate need the punctuation, so they run before it is
// removed. namedDate and withDigit run after.
var (
	// 25/03/2026, 25-03-26, 25.03, 2026-03-25.
	numericDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b`)
	// 25MAR, 25MAR26, 25 MAR 2026, optionally after ON.
	namedDate = regexp.MustCompile(`\b(?:ON\s+)?\d{1,2}\s*(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)(?:\s*\d{2,4})?\b`)
	// A masked card number such as ************1234, XXXX1234 or 4929XXXXXXXX1234.
	maskedCard = regexp.MustCompile(`\b[0-9X*]*[X*]{4,}[0-9X*]*\b|\*{2,}\d+`)
	// Any word containing a digit. removeReferences decides which are references.
	withDigit = regexp.MustCompile(`\b[A-Z]*\d[A-Z\d]*\b`)
	// Anything other than A-Z, digits, spaces and ampersands, so accented
	// letters become spaces too.
	punctuation = regexp.MustCompile(`[^A-Z0-9& ]+`)
)

// leadPhrases are narrative prefixes naming the payment type, stripped from
// the start of the text.
var leadPhrases = []string{
	"CARD PAYMENT TO", "CARD PURCHASE AT", "CARD PURCHASE", "CARD PAYMENT",
	"DIRECT DEBIT PAYMENT TO", "DIRECT DEBIT TO", "DIRECT DEBIT",
	"STANDING ORDER TO", "STANDING ORDER",
	"FASTER PAYMENT TO", "FASTER PAYMENT FROM", "FASTER PAYMENT",
	"BILL PAYMENT TO", "BANK GIRO CREDIT FROM", "BANK GIRO CREDIT",
	"PAYMENT TO", "PAYMENT FROM",
}

// typeCodes are UK payment-type abbreviations that banks put before or after
// the name: direct debit, faster payment in and out, standing order, bank
// giro credit, debit card. They are removed as whole words anywhere.
var typeCodes = map[string]bool{
	"DD": true, "DDR": true, "FPI": true, "FPO": true, "SO": true, "STO": true,
	"BGC": true, "DEB": true, "POS": true, "VIS": true,
}

// NormalizeCounterparty returns the counterparty name, or a narrative, in a
// form that compares equal across payments from one payer. It upper-cases the
// text, removes payment-type words, dates, masked card numbers and reference
// numbers, drops punctuation and spells LIMITED as LTD.
func NormalizeCounterparty(s string) string {
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
	s = punctuation.ReplaceAllString(s, " ")
	if hasDigit {
		s = namedDate.ReplaceAllString(s, " ")
		s = removeReferences(s)
	}

	// Step 3: drop payment-type words, then the phrases they may have hidden.
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
	return stripLeadPhrases(strings.Join(kept, " "))
}

// removeReferences drops numbers of five or more digits and words of eight
// or more characters with three or more digits in them. It keeps short
// numbers and names such as the 7 of "7 ELEVEN", "O2" or a store number.
func removeReferences(s string) string {
	return withDigit.ReplaceAllStringFunc(s, func(word string) string {
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

// stripLeadPhrases removes lead phrases from the start of s until none is
// left ("PAYMENT TO CARD PAYMENT TO X" gives "X").
func stripLeadPhrases(s string) string {
	for stripped := true; stripped; {
		stripped = false
		for _, p := range leadPhrases {
			if rest, ok := strings.CutPrefix(s, p); ok && (rest == "" || rest[0] == ' ') {
				s, stripped = strings.TrimSpace(rest), true
				break
			}
		}
	}
	return s
}

// monthWords are month names that narratives add to a payment ("SALARY MAR").
var monthWords = map[string]bool{
	"JAN": true, "FEB": true, "MAR": true, "APR": true, "MAY": true, "JUN": true,
	"JUL": true, "AUG": true, "SEP": true, "SEPT": true, "OCT": true, "NOV": true, "DEC": true,
	"JANUARY": true, "FEBRUARY": true, "MARCH": true, "APRIL": true, "JUNE": true, "JULY": true,
	"AUGUST": true, "SEPTEMBER": true, "OCTOBER": true, "NOVEMBER": true, "DECEMBER": true,
}

// normalizePayer returns the key that groups credits from one payer: the
// normalised counterparty, or when there is none the normalised narrative
// without month names and bare numbers, which change from payment to payment.
func normalizePayer(counterparty, description string) string {
	if p := NormalizeCounterparty(counterparty); p != "" {
		return p
	}
	words := strings.Fields(NormalizeCounterparty(description))
	kept := words[:0]
	for _, w := range words {
		if monthWords[w] || isDigits(w) {
			continue
		}
		kept = append(kept, w)
	}
	return strings.Join(kept, " ")
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}
