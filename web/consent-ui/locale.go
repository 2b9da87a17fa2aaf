package consentui

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/language"

	"github.com/openbanking-insights/insights"
)

// Locales the pages are written in. The first is the fallback.
const (
	localeEnglish = "en"
	localeChinese = "zh-CN"
)

const langCookie = "consent_lang"

var (
	supportedLocales = []string{localeEnglish, localeChinese}
	// The matcher's tags are in supportedLocales order. zh-CN is matched as
	// Simplified Chinese (zh-Hans), so "zh" and "zh-SG" pick it too.
	localeMatcher = language.NewMatcher([]language.Tag{language.BritishEnglish, language.SimplifiedChinese})
)

// catalog maps a message key to its text in one locale. Texts contain
// placeholders such as {client}, filled by translator.T.
type catalog map[string]string

// loadCatalogs reads locales/<tag>.json for every supported locale.
func loadCatalogs(fsys fs.FS) (map[string]catalog, error) {
	catalogs := make(map[string]catalog, len(supportedLocales))
	for _, tag := range supportedLocales {
		data, err := fs.ReadFile(fsys, "locales/"+tag+".json")
		if err != nil {
			return nil, err
		}
		var c catalog
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("failed to parse locales/%s.json: %w", tag, err)
		}
		catalogs[tag] = c
	}
	return catalogs, nil
}

// chooseLocale picks the page language: a valid ?lang parameter first (which
// the caller then stores in a cookie), then the language cookie, then the
// best match for Accept-Language.
func chooseLocale(r *http.Request) (locale string, fromQuery bool) {
	if q := r.URL.Query().Get("lang"); isSupportedLocale(q) {
		return q, true
	}
	if c, err := r.Cookie(langCookie); err == nil && isSupportedLocale(c.Value) {
		return c.Value, false
	}
	_, index := language.MatchStrings(localeMatcher, r.Header.Get("Accept-Language"))
	return supportedLocales[index], false
}

func isSupportedLocale(s string) bool {
	for _, tag := range supportedLocales {
		if s == tag {
			return true
		}
	}
	return false
}

// translator renders messages, dates, money and durations in one locale.
type translator struct {
	locale  string
	catalog catalog
	zone    *time.Location
	missing func(locale, key string) // called for a key the catalog lacks
}

// T returns the message for key with each {name} placeholder replaced. args
// alternate name and value. A missing key renders as the key itself and is
// reported to t.missing.
func (t translator) T(key string, args ...any) string {
	text, ok := t.catalog[key]
	if !ok {
		if t.missing != nil {
			t.missing(t.locale, key)
		}
		return key
	}
	for i := 0; i+1 < len(args); i += 2 {
		text = strings.ReplaceAll(text, "{"+fmt.Sprint(args[i])+"}", fmt.Sprint(args[i+1]))
	}
	return text
}

// Date formats d as "24 December 2026" or "2026年12月24日".
func (t translator) Date(d insights.Date) string {
	return t.T("format.date",
		"year", d.Year,
		"month", t.T("month."+strconv.Itoa(int(d.Month))),
		"day", d.Day)
}

// Month formats the month of d as "June 2026" or "2026年6月".
func (t translator) Month(d insights.Date) string {
	return t.T("format.month", "year", d.Year, "month", t.T("month."+strconv.Itoa(int(d.Month))))
}

// DateTime formats tm in the UK zone with its zone abbreviation, such as
// "4 December 2026 at 10:15 GMT".
func (t translator) DateTime(tm time.Time) string {
	local := tm.In(t.zone)
	return t.T("format.datetime",
		"date", t.Date(insights.DateOf(local)),
		"time", local.Format("15:04"),
		"zone", local.Format("MST"))
}

// Money formats an amount with the currency's ISO 4217 minor units and
// thousands separators, such as "1,500.00 GBP" or "1,500.00 英镑". Both
// locales group digits in threes with a comma.
func (t translator) Money(a insights.Amount, currency string) string {
	return t.T("format.money", "amount", t.Number(a, currency), "currency", t.CurrencyName(currency))
}

// Number formats an amount as Money does, without the currency: "1,500.00".
func (t translator) Number(a insights.Amount, currency string) string {
	number := a.Format(insights.MinorUnits(currency))
	sign := ""
	if rest, ok := strings.CutPrefix(number, "-"); ok {
		sign, number = "-", rest
	}
	intPart, frac, hasFrac := strings.Cut(number, ".")
	grouped := groupThousands(intPart)
	if hasFrac {
		grouped += "." + frac
	}
	return sign + grouped
}

// CurrencyName returns the name of an ISO 4217 currency in this locale, or
// the code itself for currencies the catalog does not name.
func (t translator) CurrencyName(code string) string {
	if name, ok := t.catalog["currency."+code]; ok {
		return name
	}
	return code
}

func groupThousands(digits string) string {
	var b strings.Builder
	for i, r := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Duration formats d with its two largest non-zero units among days, hours
// and minutes, such as "1 day and 2 hours" or "1天2小时". Durations under a
// minute are shown in seconds.
func (t translator) Duration(d time.Duration) string {
	units := []struct {
		key  string
		size time.Duration
	}{
		{"duration.days", 24 * time.Hour},
		{"duration.hours", time.Hour},
		{"duration.minutes", time.Minute},
	}
	var parts []string
	for _, u := range units {
		n := int64(d / u.size)
		if n == 0 {
			continue
		}
		d -= time.Duration(n) * u.size
		parts = append(parts, t.count(u.key, n))
		if len(parts) == 2 {
			break
		}
	}

	switch len(parts) {
	case 0:
		return t.count("duration.seconds", int64(d/time.Second))
	case 1:
		return parts[0]
	default:
		return t.T("format.duration.pair", "first", parts[0], "second", parts[1])
	}
}

// count picks the singular or plural form of key. English has the two CLDR
// plural categories "one" and "other". Chinese has only "other", so its
// catalog repeats the same text under both keys.
func (t translator) count(key string, n int64) string {
	form := ".other"
	if n == 1 {
		form = ".one"
	}
	return t.T(key+form, "n", n)
}
