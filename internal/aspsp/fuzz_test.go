package aspsp

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func FuzzRetryAfter(f *testing.F) {
	for _, seed := range []string{"0", "120", "-5", "Wed, 01 Jul 2026 12:00:05 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "", "1e3"} {
		f.Add(seed)
	}
	now := time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, value string) {
		d, ok := retryAfter(value, now)
		if d < 0 {
			t.Errorf("retryAfter(%q) = %v, want no negative wait", value, d)
		}
		if !ok && d != 0 {
			t.Errorf("retryAfter(%q) = %v with ok false, want 0", value, d)
		}
		if _, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64); err == nil && d > 24*time.Hour {
			t.Errorf("retryAfter(%q) = %v, want seconds capped at 24h", value, d)
		}
	})
}

func FuzzParseConsent(f *testing.F) {
	for _, seed := range []string{
		`{"Data":{"ConsentId":"c-1","Status":"AUTH","ExpirationDateTime":"2026-09-01T00:00:00Z"}}`,
		`{"Data":{"ConsentId":"c-1","Status":"Revoked"}}`,
		`{"Data":{}}`, `[]`, `{"Data":{"ConsentId":"x","ExpirationDateTime":"01-05-2002"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		status, err := parseConsent(body)
		if err == nil && status.ConsentID == "" {
			t.Errorf("parseConsent(%q) accepted a consent without ConsentId", body)
		}
	})
}
