package derive

import (
	"slices"
	"strings"
	"unicode"
)

// streetWords maps common abbreviations of UK street types and premises to
// the full word, so "Rd" and "Road" compare equal. "ST" is not here: it is
// Street or Saint depending on its position (see normalizeSaintStreet).
var streetWords = map[string]string{
	"RD": "ROAD", "AVE": "AVENUE", "AV": "AVENUE", "LN": "LANE", "DR": "DRIVE", "CT": "COURT",
	"CL": "CLOSE", "CRES": "CRESCENT", "CRESC": "CRESCENT", "GDNS": "GARDENS", "GDN": "GARDEN",
	"PL": "PLACE", "SQ": "SQUARE", "TER": "TERRACE", "TERR": "TERRACE", "GRN": "GREEN", "GR": "GROVE",
	"GRV": "GROVE", "PK": "PARK", "PDE": "PARADE", "HWY": "HIGHWAY", "MT": "MOUNT", "HSE": "HOUSE",
	"BLDG": "BUILDING", "BLDGS": "BUILDINGS", "CTS": "COURTS", "WY": "WAY", "WLK": "WALK",
	"EST": "ESTATE", "STR": "STREET", "NTH": "NORTH", "STH": "SOUTH", "UPR": "UPPER", "LWR": "LOWER",
	// Premise designators all mean one dwelling within a building.
	"APT": "FLAT", "APARTMENT": "FLAT", "UNIT": "FLAT", "FLT": "FLAT",
}

// countryWords are left out of comparisons: a submitted address may end
// with the country or nation while the bank's lines do not.
var countryWords = map[string]bool{
	"UK": true, "GB": true, "UNITED": true, "KINGDOM": true, "GREAT": true, "BRITAIN": true,
	"ENGLAND": true, "SCOTLAND": true, "WALES": true, "NORTHERN": true, "IRELAND": true,
}

// addressTokens splits s into upper-case tokens at white space and
// punctuation, drops apostrophes ("Mary's" becomes "MARYS"), keeps a hyphen
// between digits ("12-14"), and joins a single letter to the number before
// it ("14 A" becomes "14A"). Commas and line breaks end a segment; the
// result holds one slice of tokens per segment.
func addressTokens(s string) [][]string {
	var (
		segments [][]string
		segment  []string
		word     strings.Builder
	)
	flushWord := func() {
		if word.Len() > 0 {
			segment = append(segment, word.String())
			word.Reset()
		}
	}
	flushSegment := func() {
		flushWord()
		if len(segment) > 0 {
			segments = append(segments, segment)
			segment = nil
		}
	}
	runes := []rune(s)
	for i, r := range runes {
		switch {
		case r == '\'' || r == '\u2019' || r == '.':
			// "St." and "Mary's" lose the mark without splitting the word.
		case r == ',' || r == '\n' || r == '\r' || r == ';':
			flushSegment()
		case r == '-' && word.Len() > 0 && isDigitString(word.String()) && i+1 < len(runes) && unicode.IsDigit(runes[i+1]):
			word.WriteRune(r)
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			word.WriteRune(unicode.ToUpper(r))
		default:
			flushWord()
		}
	}
	flushSegment()

	for i, seg := range segments {
		segments[i] = joinNumberLetters(seg)
	}
	return segments
}

func isDigitString(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) && r != '-' {
			return false
		}
	}
	return s != ""
}

// joinNumberLetters joins a one-letter token to a number before it, so
// "14 A" and "14A" give the same token.
func joinNumberLetters(seg []string) []string {
	out := seg[:0:0]
	for _, t := range seg {
		n := len(out)
		if n > 0 && len(t) == 1 && unicode.IsLetter(rune(t[0])) && isDigitString(out[n-1]) {
			out[n-1] += t
			continue
		}
		out = append(out, t)
	}
	return out
}

// normalizeSaintStreet expands abbreviations within one segment. "ST" is
// Saint when it starts a name: first in the segment, or after a number or
// "FLAT" ("St Albans Rd", "14 St Johns St"). After a name word it is Street
// ("High St").
func normalizeSaintStreet(seg []string) []string {
	out := make([]string, len(seg))
	for i, t := range seg {
		switch {
		case t == "ST":
			if i == 0 || hasDigit(seg[i-1]) || streetWords[seg[i-1]] == "FLAT" || seg[i-1] == "FLAT" {
				out[i] = "SAINT"
			} else {
				out[i] = "STREET"
			}
		case streetWords[t] != "":
			out[i] = streetWords[t]
		default:
			out[i] = t
		}
	}
	return out
}

func hasDigit(s string) bool {
	return strings.IndexFunc(s, unicode.IsDigit) >= 0
}

// normalizedAddress is an address reduced to what a comparison uses.
type normalizedAddress struct {
	postCode string   // normalised, or "" when none was found
	numbers  []string // tokens with a digit: house and flat numbers, sorted
	words    []string // other tokens, expanded, without country words
}

// normalizeAddress reduces free text to a normalizedAddress. A postcode is
// recognised as the last two or one tokens of a segment, before any
// country words, searching from the last segment back.
func normalizeAddress(s string) normalizedAddress {
	var n normalizedAddress
	segments := addressTokens(s)
	for i := len(segments) - 1; i >= 0 && n.postCode == ""; i-- {
		seg := segments[i]
		end := len(seg)
		for end > 0 && countryWords[seg[end-1]] {
			end--
		}
		for k := min(2, end); k >= 1; k-- {
			candidate := strings.Join(seg[end-k:end], "")
			if _, ok := NormalizePostCode(candidate); ok {
				n.postCode = candidate
				segments[i] = append(slices.Clone(seg[:end-k]), seg[end:]...)
				break
			}
		}
	}
	for _, seg := range segments {
		for _, t := range normalizeSaintStreet(seg) {
			switch {
			case hasDigit(t):
				n.numbers = append(n.numbers, t)
			case countryWords[t]:
			default:
				n.words = append(n.words, t)
			}
		}
	}
	slices.Sort(n.numbers)
	return n
}

// addressMatch reports whether the submitted free-text address names the
// stored address: lines, town and postcode as the bank supplied them.
//
// The rule, after normalisation: the house and flat numbers must be the
// same on both sides ("Flat 14A" never matches "Flat 14C", and "14" never
// matches "14A"); a postcode in the submitted text must equal the stored
// one; every word of the stored lines must appear in the submitted text;
// and every submitted word must appear in the stored lines or town. When
// the submitted text has no postcode it must name the town instead.
func addressMatch(submitted string, lines []string, town, postCode string) bool {
	q := normalizeAddress(submitted)
	stored := normalizeAddress(strings.Join(lines, "\n"))
	storedPostCode := normalizePostCode(postCode)
	if stored.postCode != "" && storedPostCode == "" {
		storedPostCode = stored.postCode
	}
	townWords := normalizeAddress(town).words

	if !slices.Equal(q.numbers, stored.numbers) {
		return false
	}
	switch {
	case q.postCode != "":
		if q.postCode != storedPostCode {
			return false
		}
	case len(townWords) == 0 || !containsAll(q.words, townWords):
		return false
	}
	if len(stored.words) == 0 || !containsAll(q.words, stored.words) {
		return false
	}
	return containsAll(append(slices.Clone(stored.words), townWords...), q.words)
}

// containsAll reports whether every token of want occurs in have.
func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// postCodeRegion returns the ISO 3166-2 code of the UK nation a valid
// normalised postcode lies in, or false when its area crosses a border.
// Areas whose districts lie in two nations (CH, HR, LD, NP, SY and TD)
// are left undecided, because only the full district list would tell.
func postCodeRegion(code string) (string, bool) {
	area := code
	if i := strings.IndexFunc(code, unicode.IsDigit); i > 0 {
		area = code[:i]
	}
	switch area {
	case "BT":
		return "GB-NIR", true
	case "AB", "DD", "DG", "EH", "FK", "G", "HS", "IV", "KA", "KW", "KY", "ML", "PA", "PH", "ZE":
		return "GB-SCT", true
	case "CF", "LL", "SA":
		return "GB-WLS", true
	case "CH", "HR", "LD", "NP", "SY", "TD":
		return "", false
	case "GY", "JE", "IM":
		// The Channel Islands and the Isle of Man are outside the UK.
		return "", false
	}
	return "GB-ENG", true
}
