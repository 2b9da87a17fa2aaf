package consentui

import (
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

// addDetailRequests adds two pending requests of alice that use every
// address form, an averaged funds check and a salary amount band, and a
// lender's request under a 30-day consent.
func addDetailRequests(f *fakeService) {
	address := insights.AttestationRequest{
		ID:         "req-address",
		ClientID:   "client-shop",
		ClientName: "Demo Shop",
		Purpose:    "To deliver your order",
		Claims: []insights.ClaimRequest{
			{Kind: insights.ClaimAddressMatches, PostCode: "LS6 2QT", FullAddress: true},
			{Kind: insights.ClaimFundsAtLeast, Amount: 1000 * 100000, Currency: "GBP", AverageDays: 30, IncludeOverdraft: true},
			{Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true},
		},
		Status:        insights.RequestPending,
		CustomerID:    "alice",
		CreatedAt:     testNow.Add(-time.Minute),
		ExpiresAt:     testNow.Add(15 * time.Minute),
		TokenLifetime: 10 * time.Minute,
	}
	f.addRequest(address, []insights.ClaimResult{
		{Request: address.Claims[0], Available: true, Holds: true, PostalAddress: &insights.PostalAddress{
			Lines: []string{"Flat 14A", "12 Otley Road"}, Town: "Leeds", PostCode: "LS6 2QT", Country: "GB"}},
		{Request: address.Claims[1], Available: true, Holds: true, AsOf: testNow.Add(-26 * time.Hour),
			Funds: &insights.FundsBasis{OverdraftIncluded: true, AverageDays: 30, BalanceAge: 26 * time.Hour, Stale: true}},
		{Request: address.Claims[2], Available: true, NextDate: insights.Date{Year: 2026, Month: time.December, Day: 24},
			Cadence: insights.CadenceMonthly, SalaryAmount: 2140 * 100000, SalaryCurrency: "GBP"},
	})

	scopes := address
	scopes.ID, scopes.Purpose = "req-scopes", "To check where you live"
	scopes.Claims = []insights.ClaimRequest{
		{Kind: insights.ClaimAddressMatches, Address: "14C Otley Rd, Leeds"},
		{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressCountry},
		{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion},
		{Kind: insights.ClaimAddressMatches, PostCode: "LS6 2QT", FullAddress: true},
		{Kind: insights.ClaimFundsAtLeast, Amount: 250 * 100000, Currency: "GBP"},
	}
	f.addRequest(scopes, []insights.ClaimResult{
		{Request: scopes.Claims[0], Available: true, Holds: false},
		{Request: scopes.Claims[1], Available: true, Country: "GB"},
		{Request: scopes.Claims[2], Available: true, Region: "GB-SCT"},
		{Request: scopes.Claims[3], Available: true, Holds: true}, // the bank gave no whole address
		{Request: scopes.Claims[4], Available: true, Holds: true, Funds: &insights.FundsBasis{}},
	})

	lender := insights.AttestationRequest{
		ID:              "req-consent",
		ClientID:        "client-lender",
		ClientName:      "Demo Lender",
		Purpose:         "To assess your loan application",
		Claims:          []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 3}},
		Status:          insights.RequestPending,
		CustomerID:      "alice",
		CreatedAt:       testNow.Add(-time.Hour),
		ExpiresAt:       testNow.Add(time.Hour),
		TokenLifetime:   10 * time.Minute,
		ConsentDuration: 30 * 24 * time.Hour,
	}
	f.addRequest(lender, []insights.ClaimResult{{Request: lender.Claims[0], Available: false}})
}

// addIssuedConsent adds a lender's approved request whose 30-day consent
// runs until 3 January 2027, so the shared page shows a consent row.
func addIssuedConsent(f *fakeService) {
	req := insights.AttestationRequest{
		ID:              "req-consent-issued",
		ClientID:        "client-lender",
		ClientName:      "Demo Lender",
		Purpose:         "To review your credit limit",
		Claims:          []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 6}},
		Status:          insights.RequestIssued,
		CustomerID:      "alice",
		CreatedAt:       testNow.Add(-2 * time.Hour),
		ExpiresAt:       testNow.Add(-time.Hour),
		TokenLifetime:   10 * time.Minute,
		ConsentDuration: 30 * 24 * time.Hour,
		ConsentUntil:    testNow.Add(30 * 24 * time.Hour),
	}
	f.addRequest(req, nil)
}

func TestRequestPage_claimDetails(t *testing.T) {
	tests := []struct {
		name, lang, requestID string
		sentences, details    []string
		notes, texts          []string
		absent                []string
	}{
		{
			name: "address and band en", lang: "en", requestID: "req-address",
			sentences: []string{
				"Your address matches postcode LS6 2QT: yes",
				"Average daily balance of at least 1,000.00 GBP over the last 30 days, across your GBP accounts: yes",
				"Next salary expected: 24 December 2026 (monthly)",
			},
			details: []string{"Arranged overdrafts count towards this amount.", "Pay of 2,000.00-2,500.00 GBP per payment"},
			notes: []string{
				"Demo Shop also asks for your full address. It receives it only if you tick the box below.",
				"Based on your balances at 3 December 2026 at 08:00 GMT. Your bank could not give us a newer balance, so these balances were 1 day and 2 hours old.",
			},
			texts: []string{
				"and your full address only if you tick the box below",
				`<label class="checkbox-label" for="disclose-address">Share my full address with Demo Shop</label>`,
				`name="disclose_address" value="yes" form="approve-form"`,
				`id="approve-form"`,
				"Flat 14A<br>12 Otley Road<br>Leeds<br>LS6 2QT<br>United Kingdom (GB)",
			},
		},
		{
			name: "address and band zh-CN", lang: "zh-CN", requestID: "req-address",
			sentences: []string{
				"您的地址与邮编 LS6 2QT 相符：是",
				"您的英镑账户最近30天的日均余额合计不少于 1,000.00 英镑：是",
				"预计下次发薪日：2026年12月24日（每月）",
			},
			details: []string{"已安排的透支额度计入该金额。", "每次发薪金额为 2,000.00至2,500.00 英镑"},
			notes: []string{
				"Demo Shop还请求获取您的完整地址。只有在您勾选下方的选项后，它才会收到。",
				"依据您截至2026年12月3日 08:00（GMT）的余额。您的银行无法提供更新的余额，因此所用余额已有1天2小时之久。",
			},
			texts: []string{
				"只有在您勾选下方的选项后，它才会收到您的完整地址",
				">与Demo Shop分享我的完整地址</label>",
				"Flat 14A<br>12 Otley Road<br>Leeds<br>LS6 2QT<br>英国（GB）",
			},
		},
		{
			name: "scopes en", lang: "en", requestID: "req-scopes",
			sentences: []string{
				"Your address matches the address Demo Shop gave, “14C Otley Rd, Leeds”: no",
				"Country of your address: United Kingdom (GB)",
				"Region of the UK your address is in: Scotland (GB-SCT)",
				"Your address matches postcode LS6 2QT: yes",
				"Funds of at least 250.00 GBP across your GBP accounts: yes",
			},
			details: []string{"Only money in your accounts counts. Overdrafts do not."},
			notes:   []string{"Demo Shop also asks for your full address, but your bank has not given us one, so no address will be shared."},
			absent:  []string{`type="checkbox"`, "disclose-address"},
		},
		{
			name: "scopes zh-CN", lang: "zh-CN", requestID: "req-scopes",
			sentences: []string{
				"您的地址与Demo Shop提供的地址“14C Otley Rd, Leeds”相符：否",
				"您地址所在的国家：英国（GB）",
				"您地址所在的英国地区：苏格兰（GB-SCT）",
				"您的地址与邮编 LS6 2QT 相符：是",
				"您的英镑账户合计资金不少于 250.00 英镑：是",
			},
			details: []string{"只计算账户中的资金，不计入透支额度。"},
			notes:   []string{"Demo Shop还请求获取您的完整地址，但您的银行未向我们提供地址，因此不会分享任何地址。"},
		},
		{
			name: "lender consent en", lang: "en", requestID: "req-consent",
			sentences: []string{"Your monthly income and spending over the last 3 complete months: unavailable"},
			texts: []string{"Demo Lender can fetch fresh results of this check, each as a new proof, for 30 days after you approve: " +
				"until 3 January 2027 if you approve now. You can revoke this at any time under Shared proofs."},
			absent: []string{"disclose-address"},
		},
		{
			name: "lender consent zh-CN", lang: "zh-CN", requestID: "req-consent",
			sentences: []string{"您最近3个完整月份的月均收入与支出：无法提供"},
			texts:     []string{"在您同意后的30天内（如果现在同意，即至2027年1月3日），Demo Lender可以随时获取这项检查的最新结果"},
		},
		{
			name: "one token has no consent text", lang: "en", requestID: "req-shop",
			absent: []string{"fetch fresh results", "consent-duration", "disclose-address"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			addDetailRequests(env.service)
			c := env.newClient(t)
			env.signIn(t, c, "alice")

			resp := env.do(t, c, http.MethodGet, "/consent/requests/"+tc.requestID+"?lang="+tc.lang, nil)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body:\n%s", resp.Status, resp.Body)
			}
			if tc.sentences != nil {
				if got := textsOf(resp.Body, "claim-sentence"); !slices.Equal(got, tc.sentences) {
					t.Errorf("claim sentences = %q, want %q", got, tc.sentences)
				}
			}
			if tc.details != nil {
				if got := textsOf(resp.Body, "claim-detail"); !slices.Equal(got, tc.details) {
					t.Errorf("claim details = %q, want %q", got, tc.details)
				}
			}
			if tc.notes != nil {
				if got := textsOf(resp.Body, "claim-note"); !slices.Equal(got, tc.notes) {
					t.Errorf("claim notes = %q, want %q", got, tc.notes)
				}
			}
			body := html.UnescapeString(resp.Body)
			for _, want := range tc.texts {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, unwanted := range tc.absent {
				if strings.Contains(body, unwanted) {
					t.Errorf("page contains %q", unwanted)
				}
			}
		})
	}
}

func TestDecide_discloseAddress(t *testing.T) {
	tests := []struct {
		name, requestID string
		form            url.Values
		want            bool
	}{
		{"ticked", "req-address", url.Values{"disclose_address": {"yes"}}, true},
		{"unticked", "req-address", url.Values{}, false},
		{"other value", "req-address", url.Values{"disclose_address": {"on"}}, false},
		// A request without a full-address claim never discloses one, even
		// when a hand-made form sends the field.
		{"not requested", "req-shop", url.Values{"disclose_address": {"yes"}}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := newTestEnv(t)
			addDetailRequests(env.service)
			c := env.newClient(t)
			env.signIn(t, c, "alice")
			page := env.do(t, c, http.MethodGet, "/consent/requests/"+tc.requestID, nil)
			tc.form.Set("csrf_token", csrfTokenOf(t, page.Body))

			resp := env.do(t, c, http.MethodPost, "/consent/requests/"+tc.requestID+"/approve", tc.form)
			if resp.Status != http.StatusOK {
				t.Fatalf("status = %d, want 200; body:\n%s", resp.Status, resp.Body)
			}
			want := []decision{{CustomerID: "alice", RequestID: tc.requestID, Approve: true, DiscloseAddress: tc.want}}
			if got := env.service.Decisions(); !slices.Equal(got, want) {
				t.Errorf("decisions = %+v, want %+v", got, want)
			}
		})
	}

	t.Run("deny ignores the checkbox", func(t *testing.T) {
		env := newTestEnv(t)
		addDetailRequests(env.service)
		c := env.newClient(t)
		env.signIn(t, c, "alice")
		page := env.do(t, c, http.MethodGet, "/consent/requests/req-address", nil)
		form := url.Values{"csrf_token": {csrfTokenOf(t, page.Body)}, "disclose_address": {"yes"}}

		if resp := env.do(t, c, http.MethodPost, "/consent/requests/req-address/deny", form); resp.Status != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.Status)
		}
		want := []decision{{CustomerID: "alice", RequestID: "req-address"}}
		if got := env.service.Decisions(); !slices.Equal(got, want) {
			t.Errorf("decisions = %+v, want %+v", got, want)
		}
	})
}

// TestSharedPage_longLivedConsent approves a lender's 30-day request, then
// checks that the shared page states the consent's end and keeps Revoke
// after the first token expired.
func TestSharedPage_longLivedConsent(t *testing.T) {
	env := newTestEnv(t)
	addDetailRequests(env.service)
	c := env.newClient(t)
	env.signIn(t, c, "alice")
	page := env.do(t, c, http.MethodGet, "/consent/requests/req-consent", nil)
	token := csrfTokenOf(t, page.Body)

	result := env.do(t, c, http.MethodPost, "/consent/requests/req-consent/approve", url.Values{"csrf_token": {token}})
	if result.Status != http.StatusOK {
		t.Fatalf("approve status = %d, want 200", result.Status)
	}
	wantResult := "Demo Lender has received the proof. It is valid for 10 minutes. " +
		"Demo Lender can fetch fresh results until 3 January 2027 at 10:00 GMT. You can revoke this at any time under Shared proofs."
	if body := html.UnescapeString(result.Body); !strings.Contains(body, wantResult) {
		t.Errorf("result page lacks %q", wantResult)
	}

	for _, tc := range []struct{ lang, consent string }{
		{"en", "Demo Lender can fetch fresh affordability results until 3 January 2027 at 10:00 GMT"},
		{"zh-CN", "Demo Lender可以在2027年1月3日 10:00（GMT）之前获取最新的负担能力结果"},
	} {
		shared := env.do(t, c, http.MethodGet, "/consent/shared?lang="+tc.lang, nil)
		if got := textsOf(shared.Body, "shared-consent"); !slices.Equal(got, []string{tc.consent}) {
			t.Errorf("%s: consent rows = %q, want %q", tc.lang, got, tc.consent)
		}
		// The fake issued the token an hour ago for 10 minutes, so only
		// the consent keeps the proof revocable.
		if !strings.Contains(shared.Body, `href="/consent/shared/req-consent/revoke"`) {
			t.Errorf("%s: shared page has no revoke link for the long-lived consent", tc.lang)
		}
	}

	confirm := env.do(t, c, http.MethodGet, "/consent/shared/req-consent/revoke?lang=en", nil)
	wantConsequence := "Demo Lender can then no longer fetch fresh results under this consent."
	if body := html.UnescapeString(confirm.Body); !strings.Contains(body, wantConsequence) {
		t.Errorf("revoke page lacks %q", wantConsequence)
	}
}

func TestSharedPage_consentEnded(t *testing.T) {
	env := newTestEnv(t)
	addDetailRequests(env.service)
	env.service.mu.Lock()
	req := env.service.requests["req-consent"]
	req.Status, req.ConsentUntil = insights.RequestIssued, testNow.Add(-time.Minute)
	env.service.requests[req.ID] = req
	env.service.mu.Unlock()

	c := env.newClient(t)
	env.signIn(t, c, "alice")
	shared := env.do(t, c, http.MethodGet, "/consent/shared", nil)
	want := []string{"Demo Lender could fetch fresh results until 4 December 2026 at 09:59 GMT"}
	if got := textsOf(shared.Body, "shared-consent"); !slices.Equal(got, want) {
		t.Errorf("consent rows = %q, want %q", got, want)
	}
	if strings.Contains(shared.Body, `href="/consent/shared/req-consent/revoke"`) {
		t.Errorf("shared page offers to revoke an expired token whose consent ended")
	}
}

func TestMoneyBand_formats(t *testing.T) {
	catalogs, err := loadCatalogs(localeFS)
	if err != nil {
		t.Fatal(err)
	}
	en := translator{locale: localeEnglish, catalog: catalogs[localeEnglish], zone: time.UTC}
	zh := translator{locale: localeChinese, catalog: catalogs[localeChinese], zone: time.UTC}
	tests := []struct {
		band, en, zh string
	}{
		{"2000-2500 GBP", "2,000.00-2,500.00 GBP", "2,000.00至2,500.00 英镑"},
		{"0-250 EUR", "0.00-250.00 EUR", "0.00至250.00 欧元"},
		{"-500 to 0 GBP", "-500.00 to 0.00 GBP", "-500.00至0.00 英镑"},
		{"<-1000 GBP", "under -1,000.00 GBP", "低于 -1,000.00 英镑"},
		{"10000+ GBP", "10,000.00 GBP or more", "10,000.00 英镑及以上"},
		{"1000-1500 JPY", "1,000-1,500 JPY", "1,000至1,500 JPY"},
	}
	for _, tc := range tests {
		if got, err := moneyBand(en, tc.band); err != nil || got != tc.en {
			t.Errorf("en moneyBand(%q) = %q, %v; want %q", tc.band, got, err, tc.en)
		}
		if got, err := moneyBand(zh, tc.band); err != nil || got != tc.zh {
			t.Errorf("zh-CN moneyBand(%q) = %q, %v; want %q", tc.band, got, err, tc.zh)
		}
	}
	for _, bad := range []string{"", "2000-2500", "abc GBP", "2000-x GBP", "<x GBP"} {
		if got, err := moneyBand(en, bad); err == nil {
			t.Errorf("moneyBand(%q) = %q, want an error", bad, got)
		}
	}
}
