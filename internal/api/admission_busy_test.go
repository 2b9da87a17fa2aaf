package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	consentui "github.com/openbanking-insights/insights/web/consent-ui"
)

// Texts of the consent UI's busy page, as its message catalogs hold them.
const (
	busyTitleEnglish = "Sorry, the service is busy"
	busyTextEnglish  = "Too many people are using the service right now. Try again in a moment."
	busyFormEnglish  = "Too many people are using the service right now, so your choice was not recorded."
	busyTitleChinese = "抱歉，服务繁忙"
	busyTextChinese  = "目前使用本服务的人数过多。请稍后再试。"
	busyFormChinese  = "目前使用本服务的人数过多，您的选择未被记录。"
)

// busyProbe is one request sent while the only slot is held, with the
// language signals a browser sends.
type busyProbe struct {
	call           admissionCall
	query          string // appended to the path, such as "?lang=en"
	acceptLanguage string
	langCookie     string // value of the consent_lang cookie, "" for none
}

// sendProbe sends probe and returns the response with its body read.
func (s *admissionServer) sendProbe(t *testing.T, probe busyProbe) (*http.Response, string) {
	t.Helper()
	var body io.Reader
	if probe.call.operation != "" {
		data, err := json.Marshal(map[string]any{"query": probe.call.operation})
		if err != nil {
			t.Fatal(err)
		}
		body = strings.NewReader(string(data))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, probe.call.method, s.url+probe.call.path+probe.query, body)
	if err != nil {
		t.Fatal(err)
	}
	if probe.call.operation != "" {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+merchantKey)
	}
	if probe.acceptLanguage != "" {
		req.Header.Set("Accept-Language", probe.acceptLanguage)
	}
	if probe.langCookie != "" {
		req.AddCookie(&http.Cookie{Name: "consent_lang", Value: probe.langCookie})
	}

	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(data)
}

func TestAdmissionBusyPageLanguage(t *testing.T) {
	busyPage, err := consentui.BusyPage(consentui.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s := newAdmissionServerWithBusyPage(t, AdmissionLimits{MaxInFlight: 1, Wait: 20 * time.Millisecond}, busyPage)
	s.hold(t, callApprove)

	cases := []struct {
		name  string
		probe busyProbe
		// lang is the expected lang attribute of <html>. wantTexts must all
		// be in the page and wrongTexts none of them.
		lang       string
		wantTexts  []string
		wrongTexts []string
	}{
		{"chinese header", busyProbe{call: callOpen, acceptLanguage: "zh-CN,zh;q=0.9,en;q=0.5"},
			"zh-CN", []string{busyTitleChinese, busyTextChinese}, []string{busyTitleEnglish}},
		{"bare zh header", busyProbe{call: callOpen, acceptLanguage: "zh"},
			"zh-CN", []string{busyTitleChinese, busyTextChinese}, []string{busyTitleEnglish}},
		{"english header", busyProbe{call: callOpen, acceptLanguage: "en-GB,en;q=0.8"},
			"en", []string{busyTitleEnglish, busyTextEnglish}, []string{busyTitleChinese}},
		{"no header", busyProbe{call: callOpen},
			"en", []string{busyTitleEnglish, busyTextEnglish}, []string{busyTitleChinese}},
		{"query overrides header", busyProbe{call: callOpen, query: "?lang=en", acceptLanguage: "zh-CN"},
			"en", []string{busyTitleEnglish, busyTextEnglish}, []string{busyTitleChinese}},
		{"cookie overrides header", busyProbe{call: callOpen, acceptLanguage: "en", langCookie: "zh-CN"},
			"zh-CN", []string{busyTitleChinese, busyTextChinese}, []string{busyTitleEnglish}},
		{"query overrides cookie", busyProbe{call: callOpen, query: "?lang=zh-CN", langCookie: "en"},
			"zh-CN", []string{busyTitleChinese, busyTextChinese}, []string{busyTitleEnglish}},
		{"unknown query ignored", busyProbe{call: callOpen, query: "?lang=fr", acceptLanguage: "zh-CN"},
			"zh-CN", []string{busyTitleChinese, busyTextChinese}, []string{busyTitleEnglish}},
		{"approval in chinese", busyProbe{call: callApprove, acceptLanguage: "zh-CN"},
			"zh-CN", []string{busyTitleChinese, busyFormChinese}, []string{busyTitleEnglish}},
		{"approval in english", busyProbe{call: callApprove, acceptLanguage: "en"},
			"en", []string{busyTitleEnglish, busyFormEnglish}, []string{busyTitleChinese}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := s.sendProbe(t, c.probe)
			if resp.StatusCode != http.StatusServiceUnavailable {
				t.Errorf("status = %d, want 503", resp.StatusCode)
			}
			if got := resp.Header.Get("Retry-After"); got != admissionRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, admissionRetryAfter)
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", got)
			}
			if got := resp.Header.Get("Content-Type"); got != "text/html; charset=utf-8" {
				t.Errorf("Content-Type = %q, want text/html; charset=utf-8", got)
			}
			if got := resp.Header.Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") {
				t.Errorf("Content-Security-Policy = %q, want the consent pages' policy", got)
			}
			checkHTMLDocument(t, body, c.lang)
			for _, want := range c.wantTexts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q:\n%s", want, body)
				}
			}
			for _, wrong := range c.wrongTexts {
				if strings.Contains(body, wrong) {
					t.Errorf("page contains %q of the other language", wrong)
				}
			}
			if strings.Contains(body, atCapacityMessage) {
				t.Errorf("page contains the plain-text message %q", atCapacityMessage)
			}
		})
	}

	t.Run("graphql stays json", func(t *testing.T) {
		resp, body := s.sendProbe(t, busyProbe{call: callFetch, acceptLanguage: "zh-CN"})
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("status = %d, want 503", resp.StatusCode)
		}
		if got := resp.Header.Get("Retry-After"); got != admissionRetryAfter {
			t.Errorf("Retry-After = %q, want %q", got, admissionRetryAfter)
		}
		if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
			t.Errorf("Content-Type = %q, want application/json", got)
		}
		var out struct {
			Errors []struct {
				Message    string `json:"message"`
				Extensions struct {
					Code string `json:"code"`
				} `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("body is not JSON: %v\n%s", err, body)
		}
		if len(out.Errors) != 1 {
			t.Fatalf("errors = %s, want one", body)
		}
		if got := out.Errors[0].Extensions.Code; got != codeUnavailable {
			t.Errorf("code = %q, want %q", got, codeUnavailable)
		}
		if got := out.Errors[0].Message; got != atCapacityMessage {
			t.Errorf("message = %q, want %q", got, atCapacityMessage)
		}
	})
}

// Without a busy page, a rejected consent page gets the plain English text.
func TestAdmissionBusyPageUnset(t *testing.T) {
	s := newAdmissionServer(t, AdmissionLimits{MaxInFlight: 1, Wait: 20 * time.Millisecond})
	s.hold(t, callApprove)

	resp, body := s.sendProbe(t, busyProbe{call: callOpen, acceptLanguage: "zh-CN"})
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status = %d, want 503", resp.StatusCode)
	}
	if got := resp.Header.Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("Content-Type = %q, want text/plain", got)
	}
	if got := strings.TrimSpace(body); got != atCapacityMessage {
		t.Errorf("body = %q, want %q", got, atCapacityMessage)
	}
}

// SetBusyPage on the nil Admission of MaxInFlight 0 does nothing.
func TestAdmissionBusyPageNilAdmission(t *testing.T) {
	var a *Admission
	a.SetBusyPage(http.NotFoundHandler())
}

// checkHTMLDocument checks that body is a whole HTML document whose <html>
// element has the lang attribute lang, with a title and a level-one heading.
func checkHTMLDocument(t *testing.T, body, lang string) {
	t.Helper()
	if !strings.HasPrefix(body, "<!DOCTYPE html>\n") {
		t.Errorf("page does not start with <!DOCTYPE html>: %.60q", body)
	}
	if want := `<html lang="` + lang + `">`; !strings.Contains(body, want) {
		t.Errorf("page lacks %s", want)
	}
	if !strings.HasSuffix(strings.TrimSpace(body), "</html>") {
		t.Errorf("page does not end with </html>")
	}
	for _, element := range []string{"head", "title", "body", "main", "h1"} {
		// An opening tag ends its name with ">" or a space, so <head> is not
		// counted in <header>.
		open := strings.Count(body, "<"+element+">") + strings.Count(body, "<"+element+" ")
		closing := strings.Count(body, "</"+element+">")
		if open == 0 || open != closing {
			t.Errorf("page has %d <%s> and %d </%s>, want one or more of each, in equal numbers", open, element, closing, element)
		}
	}
}
