package categorize

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

// Patterns of the noise that UK banks add to a counterparty or narrative.
// maskedCard and numericDate need the punctuation, so they run before it is
// removed. namedDate runs after.
var (
	// 25/03/2026, 25-03-26, 25.03, 2026-03-25.
	numericDate = regexp.MustCompile(`\b\d{4}-\d{2}-\d{2}\b|\b\d{1,2}[/.-]\d{1,2}(?:[/.-]\d{2,4})?\b`)
	// 25MAR, 25MAR26, 25 MAR 2026, optionally after ON.
	namedDate = regexp.MustCompile(`\b(?:ON\s+)?\d{1,2}\s*(?:JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|SEPT|OCT|NOV|DEC)(?:\s*\d{2,4})?\b`)
	// A masked card number such as ************1234, XXXX1234 or 4929XXXXXXXX1234.
	maskedCard = regexp.MustCompile(`\b[0-9X*]*[X*]{4,}[0-9X*]*\b|\*{2,}\d+`)
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
//
// Each regular expression runs only when a cheap scan finds what any of its
// matches must contain, so most names never reach the regexp engine. The
// result is the same as running every step, which a fuzz test checks.
//
// Removing a word can bring others together into something removable:
// "12 DD MAY" becomes the date "12 MAY". So the steps run again until the
// result stays the same, and normalising a result returns it unchanged.
// Only a result with a digit can change again, because every pattern left
// to match after the first pass needs one. The reference test checks this.
func NormalizeCounterparty(s string) string {
	return settle(normalizeOnce(s))
}

// settle runs the passes of NormalizeCounterparty after the first on s,
// the result of the first, until the result stays the same.
func settle(s string) string {
	for range maxPasses {
		if !containsDigit(s) {
			break
		}
		again := normalizeOnce(s)
		if again == s {
			break
		}
		s = again
	}
	return s
}

// maxPasses bounds the passes of NormalizeCounterparty after the first.
// Each later pass only removes text, so names never come near it.
const maxPasses = 8

// normalizeOnce runs each step of NormalizeCounterparty once.
func normalizeOnce(s string) string {
	// Step 1: upper-case and remove the noise that needs punctuation to be seen.
	f := factsOf(s)
	if f.notUpper || f.apostrophe {
		s = strings.ToUpper(s)
		if strings.IndexByte(s, '\'') >= 0 {
			s = strings.ReplaceAll(s, "'", "")
		}
		f = factsOf(s)
	}
	hasDigit := f.digit
	if f.maskedCard {
		s = maskedCard.ReplaceAllString(s, " ")
		f.numericDate, f.punctuation = mayHaveNumericDate(s), true
	}
	if hasDigit && f.numericDate {
		s = numericDate.ReplaceAllString(s, " ")
		f.punctuation = true
	}

	// Step 2: drop punctuation, then named dates and references.
	if f.punctuation {
		s = replacePunctuation(s)
	}
	if hasDigit {
		if mayHaveNamedDate(s) {
			s = namedDate.ReplaceAllString(s, " ")
		}
		// Drop the references and run step 3 in one pass.
		return stripLeadPhrases(joinKeptWordsWithoutReferences(s))
	}

	// Step 3: drop payment-type words, then the phrases they may have hidden.
	return stripLeadPhrases(joinKeptWords(s))
}

// textFacts holds the properties of a text that the first steps of
// normalizeOnce test. factsOf finds all of them in one pass over the
// text, so the steps need no pass of their own.
type textFacts struct {
	notUpper    bool // a lower-case ASCII letter or a non-ASCII byte, which strings.ToUpper may change
	apostrophe  bool
	digit       bool
	maskedCard  bool // mayHaveMaskedCard
	numericDate bool // mayHaveNumericDate
	punctuation bool // a byte that replacePunctuation replaces
}

// factsOf returns the textFacts of s.
func factsOf(s string) textFacts {
	var f textFacts
	run := 0 // X and * in a row, as mayHaveMaskedCard counts them
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 'X' || c == '*':
			if run++; run >= 4 {
				f.maskedCard = true
			}
			f.punctuation = f.punctuation || c == '*'
			continue
		case c >= 'A' && c <= 'Z' || c == ' ' || c == '&':
		case isDigitByte(c):
			f.digit = true
			if i >= 2 && s[i-1] == '*' && s[i-2] == '*' {
				f.maskedCard = true
			}
			if i+2 < len(s) && (s[i+1] == '/' || s[i+1] == '.' || s[i+1] == '-') && isDigitByte(s[i+2]) {
				f.numericDate = true
			}
		default:
			f.punctuation = true
			f.apostrophe = f.apostrophe || c == '\''
			f.notUpper = f.notUpper || c >= 'a' && c <= 'z' || c >= utf8.RuneSelf
		}
		run = 0
	}
	return f
}

// containsDigit reports whether s has an ASCII digit. strings.ContainsAny
// builds its set of bytes on every call.
func containsDigit(s string) bool {
	for i := 0; i < len(s); i++ {
		if isDigitByte(s[i]) {
			return true
		}
	}
	return false
}

// joinKeptWords returns the words of s joined by single spaces, without the
// payment-type codes and with LIMITED written as LTD.
func joinKeptWords(s string) string {
	if wordsKept(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for start := 0; start < len(s); {
		from, end := nextField(s, start)
		if from == end {
			break
		}
		w := s[from:end]
		start = end
		switch {
		case isTypeCode(w):
			continue
		case w == "LIMITED":
			w = "LTD"
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	return b.String()
}

// nextField returns the bounds of the first field of s at or after start,
// fields being separated by white space. Both are len(s) when no field is
// left.
func nextField(s string, start int) (from, end int) {
	for start < len(s) && isSpace(s[start]) {
		start++
	}
	end = start
	for end < len(s) && !isSpace(s[end]) {
		end++
	}
	return start, end
}

// wordsKept reports whether joinKeptWords would return s unchanged: words
// separated by single spaces, none of them a payment-type code or LIMITED.
func wordsKept(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' {
		return s == ""
	}
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && (s[i] > ' ' || !isSpace(s[i])) {
			continue
		}
		if i < len(s) && (s[i] != ' ' || s[i+1] == ' ') {
			return false
		}
		if w := s[start:i]; isTypeCode(w) || w == "LIMITED" {
			return false
		}
		start = i + 1
	}
	return true
}

// isTypeCode reports whether w is one of typeCodes
// (TestIsTypeCode_table), without the cost of a map lookup.
func isTypeCode(w string) bool {
	switch w {
	case "DD", "DDR", "FPI", "FPO", "SO", "STO", "BGC", "DEB", "POS", "VIS":
		return true
	}
	return false
}

// isSpace matches the ASCII white space that strings.Fields splits on. After
// replacePunctuation only ' ' is left, but the input of a test may differ.
func isSpace(c byte) bool {
	return c == ' ' || '\t' <= c && c <= '\r' // \t \n \v \f \r
}

// mayHaveNumericDate reports whether s has a digit, then '/', '.' or '-',
// then a digit: every match of numericDate contains that.
func mayHaveNumericDate(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		c := s[i+1]
		if isDigitByte(s[i]) && (c == '/' || c == '.' || c == '-') && isDigitByte(s[i+2]) {
			return true
		}
	}
	return false
}

// mayHaveNamedDate reports whether s has a digit followed, after optional
// white space, by the three letters of a month: every match of namedDate
// contains that.
func mayHaveNamedDate(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigitByte(s[i]) {
			continue
		}
		j := i + 1
		for j < len(s) && isSpace(s[j]) {
			j++
		}
		if j+3 <= len(s) && isMonthPrefix(s[j:j+3]) {
			return true
		}
	}
	return false
}

// isMonthPrefix reports whether s is the first three letters of a month.
// A switch is several times faster than a map here, which matters because
// every digit of a name is tested.
func isMonthPrefix(s string) bool {
	switch s {
	case "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC":
		return true
	}
	return false
}

// replacePunctuation replaces each run of bytes other than A-Z, 0-9, '&'
// and ' ' with one space, as the punctuation pattern does. The bytes of a
// multi-byte UTF-8 character are all outside that set, so a run of them
// also becomes one space.
func replacePunctuation(s string) string {
	clean := true
	for i := 0; i < len(s); i++ {
		if !keptByte(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if keptByte(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteByte(' ')
		for i < len(s) && !keptByte(s[i]) {
			i++
		}
	}
	return b.String()
}

func keptByte(c byte) bool {
	return c >= 'A' && c <= 'Z' || isDigitByte(c) || c == '&' || c == ' '
}

func isDigitByte(c byte) bool { return c >= '0' && c <= '9' }

// joinKeptWordsWithoutReferences returns joinKeptWords of s without its
// references: numbers of five or more digits and words of eight or more
// characters with three or more digits in them. It keeps short numbers
// and names such as the 7 of "7 ELEVEN", "O2" or a store number. s holds
// only A-Z, 0-9, '&' and white space, and a word is a run of A-Z and 0-9.
// A dropped reference splits the text around it as a space would.
//
// It allocates at most one string, and none when the result is a part of
// s. Most narratives with a digit have a reference, and removing it and
// then joining the words was two passes and two new strings.
func joinKeptWordsWithoutReferences(s string) string {
	var out []byte // nil while the result so far is s[:n]
	n := 0
	add := func(from, to int) {
		piece := s[from:to]
		switch {
		case piece == "" || isTypeCode(piece):
			return
		case out == nil && piece != "LIMITED" && (n == 0 && from == 0 || n > 0 && from == n+1 && s[n] == ' '):
			n = to // the result is still a part of s
			return
		case out == nil:
			out = append(make([]byte, 0, len(s)), s[:n]...)
		}
		if piece == "LIMITED" {
			piece = "LTD"
		}
		if len(out) > 0 {
			out = append(out, ' ')
		}
		out = append(out, piece...)
	}

	for start := 0; start < len(s); {
		// s[field:end] is one field of joinKeptWords. Its pieces are
		// what is left between the references.
		field, end := nextField(s, start)
		from := field
		for i := field; i < end; {
			if !isWordByte(s[i]) {
				i++
				continue
			}
			j, digits := i, 0
			for j < end && isWordByte(s[j]) {
				if isDigitByte(s[j]) {
					digits++
				}
				j++
			}
			isNumber := digits == j-i
			if digits > 0 && (isNumber && digits >= 5 || !isNumber && j-i >= 8 && digits >= 3) {
				add(from, i)
				from = j
			}
			i = j
		}
		add(from, end)
		start = end
	}
	if out == nil {
		return s[:n]
	}
	return string(out)
}

func isWordByte(c byte) bool { return c >= 'A' && c <= 'Z' || isDigitByte(c) }

// stripLeadPhrases removes lead phrases from the start of s until none is
// left ("PAYMENT TO CARD PAYMENT TO X" gives "X").
func stripLeadPhrases(s string) string {
	for stripped := true; stripped && mayLeadPhrase(s); {
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

// mayLeadPhrase reports whether s starts with the first word of a lead
// phrase, so that most names skip comparing with each phrase.
func mayLeadPhrase(s string) bool {
	first, _, _ := strings.Cut(s, " ")
	switch first {
	case "BANK", "BILL", "CARD", "DIRECT", "FASTER", "PAYMENT", "STANDING":
		return true
	}
	return false
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
