package consentui

import (
	"html"
	"net/http"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
)

func TestRequestPage_selectiveDisclosureLine(t *testing.T) {
	tests := []struct {
		name   string
		format insights.TokenFormat
		lang   string
		want   string // the line, or "" when the page must have none
	}{
		{"jws", insights.TokenJWS, "en", ""},
		{"unset", "", "en", ""},
		{"sd-jwt en", insights.TokenSDJWT, "en", "Demo Shop receives the proof as a selectively disclosable credential"},
		{"sd-jwt zh-CN", insights.TokenSDJWT, "zh-CN", "Demo Shop收到的证明是可选择性披露的凭证"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			env.service.mu.Lock()
			req := env.service.requests["req-shop"]
			req.Format = tc.format
			env.service.requests["req-shop"] = req
			env.service.mu.Unlock()
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, "/consent/requests/req-shop?lang="+tc.lang, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200", resp.Status)
			}
			body := html.UnescapeString(resp.Body)
			if tc.want != "" && !strings.Contains(body, tc.want) {
				t.Errorf("page lacks %q", tc.want)
			}
			for _, line := range []string{"selectively disclosable", "可选择性披露"} {
				if tc.want == "" && strings.Contains(body, line) {
					t.Errorf("page of a %q request contains %q", tc.format, line)
				}
			}
		})
	}
}
