package bank

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

func TestFlow_fullConsent(t *testing.T) {
	h := newHarness(t, sampleDir, nil)

	consentID := h.mustConsent(allPermissions, `,"ExpirationDateTime":"2027-06-01T00:00:00+00:00"`)
	if !strings.HasPrefix(consentID, "aac-") {
		t.Errorf("ConsentId = %q, want an aac- prefix", consentID)
	}

	// The consent awaits authorisation until the customer approves.
	resp, body := h.do(http.MethodGet, aispPrefix+"/account-access-consents/"+consentID, nil, fapiHeader(h.clientToken()))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET consent: status %d", resp.StatusCode)
	}
	var got consentResponse
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatalf("decode consent: %v", err)
	}
	if got.Data.Status != statusAwaitingAuthorisation {
		t.Errorf("Status = %q, want AwaitingAuthorisation", got.Data.Status)
	}
	if got.Data.ExpirationDateTime != "2027-06-01T00:00:00+00:00" {
		t.Errorf("ExpirationDateTime = %q, want it unaltered", got.Data.ExpirationDateTime)
	}
	if want := h.srv.URL + aispPrefix + "/account-access-consents/" + consentID; got.Links.Self != want {
		t.Errorf("Links.Self = %q, want %q", got.Links.Self, want)
	}

	redirect := h.authorizeNow(consentID, "alice")
	if redirect.Get("state") != "state-42" {
		t.Errorf("state = %q, want state-42 echoed", redirect.Get("state"))
	}
	resp2, tokens := h.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {redirect.Get("code")}, "redirect_uri": {redirectURI}})
	if resp2.StatusCode != http.StatusOK {
		t.Fatalf("authorization_code: status %d, body %v", resp2.StatusCode, tokens)
	}
	if tokens["token_type"] != "Bearer" || tokens["expires_in"].(float64) != 3600 || tokens["refresh_token"] == "" {
		t.Errorf("token response = %v, want Bearer, expires_in 3600 and a refresh_token", tokens)
	}
	if resp2.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", resp2.Header.Get("Cache-Control"))
	}
	access := tokens["access_token"].(string)

	// Every read succeeds and each served page passes the obie decoder.
	const aliceAccount = "9f29d8af-a4b3-358c-405a-82ba632b6855"
	for _, path := range []string{
		"/accounts",
		"/accounts/" + aliceAccount,
		"/accounts/" + aliceAccount + "/balances",
		"/accounts/" + aliceAccount + "/transactions?fromBookingDateTime=2026-01-01T00:00:00&toBookingDateTime=2026-01-31T23:59:59",
		"/party",
		"/accounts/" + aliceAccount + "/party",
		"/accounts/" + aliceAccount + "/parties",
	} {
		resp, body := h.get(access, path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d, body %.200s", path, resp.StatusCode, body)
			continue
		}
		if _, err := (obie.Decoder{Now: h.clock.Now}).DecodeEnvelope(path, body); err != nil {
			t.Errorf("GET %s: served envelope is invalid: %v", path, err)
		}
	}
	// The demo feed lists alice's mandates, standing order and scheduled
	// payment; each served list is valid and not empty.
	for _, o := range []struct{ path, resource string }{
		{"/accounts/" + aliceAccount + "/direct-debits", obie.ResourceDirectDebit},
		{"/accounts/" + aliceAccount + "/standing-orders", obie.ResourceStandingOrder},
		{"/accounts/" + aliceAccount + "/scheduled-payments", obie.ResourceScheduledPayment},
	} {
		resp, body := h.get(access, o.path)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: status %d", o.path, resp.StatusCode)
			continue
		}
		got, err := (obie.Decoder{Local: obie.London, Now: h.clock.Now}).DecodeOrders(o.path, o.resource, body)
		if err != nil {
			t.Errorf("GET %s: served orders are invalid: %v", o.path, err)
			continue
		}
		if got.Len() == 0 {
			t.Errorf("GET %s: body %.200s, want the demo feed's orders", o.path, body)
		}
	}

	resp, body = h.do(http.MethodGet, aispPrefix+"/account-access-consents/"+consentID, nil, fapiHeader(h.clientToken()))
	_ = json.Unmarshal(body, &got)
	if resp.StatusCode != http.StatusOK || got.Data.Status != statusAuthorised {
		t.Errorf("after approval: status %d, consent Status %q, want Authorised", resp.StatusCode, got.Data.Status)
	}
}

func TestConsent_validation(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	tests := []struct {
		name     string
		body     string
		wantCode string
		wantPath string
	}{
		{"unknown permission", consentBody([]string{permAccountsBasic, "ReadEverything"}, ""), codeFieldInvalid, "Data.Permissions[1]"},
		{"no accounts permission", consentBody([]string{permBalances}, ""), codeFieldInvalid, "Data.Permissions"},
		{"basic without direction", consentBody([]string{permAccountsBasic, permTransactionsBasic}, ""), codeFieldInvalid, "Data.Permissions"},
		{"direction without content", consentBody([]string{permAccountsBasic, permTransactionsCredits}, ""), codeFieldInvalid, "Data.Permissions"},
		{"empty permissions", consentBody([]string{}, ""), codeFieldMissing, "Data.Permissions"},
		{"missing risk", `{"Data":{"Permissions":["ReadAccountsBasic"]}}`, codeFieldMissing, "Risk"},
		{"missing data", `{"Risk":{}}`, codeFieldMissing, "Data"},
		{"permissions not array", `{"Data":{"Permissions":"ReadAccountsBasic"},"Risk":{}}`, codeFieldInvalid, "Data.Permissions"},
		{"not json", `{"Data":`, codeResourceInvalidFormat, ""},
		{"expiry in past", consentBody([]string{permAccountsBasic}, `,"ExpirationDateTime":"2020-01-01T00:00:00Z"`), codeFieldInvalidDate, "Data.ExpirationDateTime"},
		{"expiry malformed", consentBody([]string{permAccountsBasic}, `,"ExpirationDateTime":"01-05-2027"`), codeFieldInvalidDate, "Data.ExpirationDateTime"},
		{"window reversed", consentBody([]string{permAccountsBasic}, `,"TransactionFromDateTime":"2026-05-01T00:00:00Z","TransactionToDateTime":"2026-01-01T00:00:00Z"`), codeFieldInvalidDate, "Data.TransactionFromDateTime"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.createConsent(tt.body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400; body %s", resp.StatusCode, body)
			}
			e := decodeError(t, body)
			if e.Code != "400 Bad Request" || e.ID == "" {
				t.Errorf("Code, Id = %q, %q; want 400 Bad Request and the interaction id", e.Code, e.ID)
			}
			found := false
			for _, item := range e.Errors {
				found = found || item.ErrorCode == tt.wantCode && item.Path == tt.wantPath
			}
			if !found {
				t.Errorf("Errors = %+v, want %s at %q", e.Errors, tt.wantCode, tt.wantPath)
			}
		})
	}
}

func TestConsent_acceptsBothDetailAndBasic(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	resp, body := h.createConsent(consentBody([]string{permAccountsBasic, permAccountsDetail, permTransactionsBasic, permTransactionsDetail, permTransactionsDebits}, ""))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d, want 201; body %s", resp.StatusCode, body)
	}
}

func TestConsent_needsClientToken(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	access, _, consentID := h.link("alice", []string{permAccountsBasic}, "")

	resp, _ := h.do(http.MethodGet, aispPrefix+"/account-access-consents/"+consentID, nil, fapiHeader(access))
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("GET consent with a consent token: status %d, want 403", resp.StatusCode)
	}
	resp, _ = h.do(http.MethodGet, aispPrefix+"/account-access-consents/"+consentID, nil, fapiHeader(""))
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET consent without a token: status %d, want 401", resp.StatusCode)
	}
	resp, _ = h.do(http.MethodGet, aispPrefix+"/account-access-consents/aac-unknown", nil, fapiHeader(h.clientToken()))
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET unknown consent: status %d, want 404", resp.StatusCode)
	}
}

func TestConsent_revoked(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	access, refresh, consentID := h.link("alice", []string{permAccountsBasic}, "")

	resp, _ := h.do(http.MethodDelete, aispPrefix+"/account-access-consents/"+consentID, nil, fapiHeader(h.clientToken()))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE consent: status %d, want 204", resp.StatusCode)
	}
	resp, body := h.get(access, "/accounts")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read after revocation: status %d, want 403", resp.StatusCode)
	}
	if e := decodeError(t, body); len(e.Errors) != 1 || e.Errors[0].ErrorCode != codeInvalidConsentStatus {
		t.Errorf("Errors = %+v, want one %s", e.Errors, codeInvalidConsentStatus)
	}
	resp2, tokens := h.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if resp2.StatusCode != http.StatusBadRequest || tokens["error"] != "invalid_grant" {
		t.Errorf("refresh after revocation: status %d, body %v; want 400 invalid_grant", resp2.StatusCode, tokens)
	}
}

func TestConsent_expired(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	access, _, _ := h.link("alice", []string{permAccountsBasic}, `,"ExpirationDateTime":"2026-12-04T10:30:00Z"`)

	if resp, _ := h.get(access, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Fatalf("read before expiry: status %d, want 200", resp.StatusCode)
	}
	h.clock.Advance(29*time.Minute + 59*time.Second)
	if resp, _ := h.get(access, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Fatalf("read a second before expiry: status %d, want 200", resp.StatusCode)
	}
	h.clock.Advance(time.Second)
	resp, body := h.get(access, "/accounts")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read at expiry: status %d, want 403", resp.StatusCode)
	}
	if e := decodeError(t, body); e.Errors[0].ErrorCode != codeInvalidConsentStatus {
		t.Errorf("ErrorCode = %q, want %s", e.Errors[0].ErrorCode, codeInvalidConsentStatus)
	}
}

func TestToken_expired(t *testing.T) {
	h := newHarness(t, sampleDir, func(o *Options) { o.TokenTTL = 5 * time.Minute })
	access, refresh, _ := h.link("alice", []string{permAccountsBasic}, "")

	h.clock.Advance(5 * time.Minute)
	resp, _ := h.get(access, "/accounts")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("read with expired token: status %d, want 401", resp.StatusCode)
	}
	if !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Errorf("WWW-Authenticate = %q, want invalid_token", resp.Header.Get("WWW-Authenticate"))
	}

	// The refresh grant issues a new pair and retires the old refresh token.
	resp2, tokens := h.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if resp2.StatusCode != http.StatusOK || tokens["expires_in"].(float64) != 300 {
		t.Fatalf("refresh: status %d, body %v", resp2.StatusCode, tokens)
	}
	if tokens["refresh_token"] == refresh {
		t.Errorf("refresh token was not rotated")
	}
	if resp, _ := h.get(tokens["access_token"].(string), "/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("read with refreshed token: status %d, want 200", resp.StatusCode)
	}
	resp3, again := h.tokenRequest(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if resp3.StatusCode != http.StatusBadRequest || again["error"] != "invalid_grant" {
		t.Errorf("reuse of rotated refresh token: status %d, body %v; want invalid_grant", resp3.StatusCode, again)
	}
}

func TestToken_grantErrors(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	consentID := h.mustConsent([]string{permAccountsBasic}, "")
	code := h.authorizeNow(consentID, "alice").Get("code")

	tests := []struct {
		name       string
		form       url.Values
		wantStatus int
		wantError  string
	}{
		{"no grant type", url.Values{}, http.StatusBadRequest, "invalid_request"},
		{"unsupported grant", url.Values{"grant_type": {"password"}}, http.StatusBadRequest, "unsupported_grant_type"},
		{"unknown code", url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "redirect_uri": {redirectURI}}, http.StatusBadRequest, "invalid_grant"},
		{"redirect mismatch", url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {"http://127.0.0.1:9999/other"}}, http.StatusBadRequest, "invalid_grant"},
		{"missing code", url.Values{"grant_type": {"authorization_code"}, "redirect_uri": {redirectURI}}, http.StatusBadRequest, "invalid_request"},
		{"unknown refresh", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"nope"}}, http.StatusBadRequest, "invalid_grant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := h.tokenRequest(tt.form)
			if resp.StatusCode != tt.wantStatus || body["error"] != tt.wantError {
				t.Errorf("status %d, body %v; want %d %s", resp.StatusCode, body, tt.wantStatus, tt.wantError)
			}
		})
	}

	t.Run("wrong secret", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/token", strings.NewReader("grant_type=client_credentials"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testClientID, "wrong")
		resp, err := h.http.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || resp.Header.Get("WWW-Authenticate") == "" {
			t.Errorf("status %d, WWW-Authenticate %q; want 401 with a challenge", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
}

func TestCode_singleUse(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	consentID := h.mustConsent([]string{permAccountsBasic}, "")
	code := h.authorizeNow(consentID, "alice").Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}}

	resp, first := h.tokenRequest(form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first exchange: status %d", resp.StatusCode)
	}
	resp, second := h.tokenRequest(form)
	if resp.StatusCode != http.StatusBadRequest || second["error"] != "invalid_grant" {
		t.Fatalf("second exchange: status %d, body %v; want invalid_grant", resp.StatusCode, second)
	}
	// A replayed code revokes what it issued.
	if resp, _ := h.get(first["access_token"].(string), "/accounts"); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("token of a replayed code: status %d, want 401", resp.StatusCode)
	}
}

func TestCode_expires(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	consentID := h.mustConsent([]string{permAccountsBasic}, "")
	code := h.authorizeNow(consentID, "alice").Get("code")

	h.clock.Advance(60 * time.Second)
	resp, body := h.tokenRequest(url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("exchange after 60 s: status %d, body %v; want invalid_grant", resp.StatusCode, body)
	}
}

func TestAuthorize_errors(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	consentID := h.mustConsent([]string{permAccountsBasic}, "")

	tests := []struct {
		name       string
		extra      url.Values
		wantStatus int
		wantError  string // error parameter of the redirect
	}{
		{"unknown client", url.Values{"client_id": {"other"}}, http.StatusBadRequest, ""},
		{"relative redirect", url.Values{"redirect_uri": {"/callback"}}, http.StatusBadRequest, ""},
		{"wrong response type", url.Values{"response_type": {"token"}}, http.StatusFound, "unsupported_response_type"},
		{"unknown consent", url.Values{"consent_id": {"aac-nope"}}, http.StatusFound, "invalid_request"},
		{"prompt none unknown customer", url.Values{"prompt": {"none"}, "login_hint": {"mallory"}}, http.StatusFound, "login_required"},
		{"prompt none without hint", url.Values{"prompt": {"none"}}, http.StatusFound, "login_required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, _ := h.do(http.MethodGet, h.authorizeURL(consentID, tt.extra), nil, nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if tt.wantError == "" {
				return
			}
			loc, _ := url.Parse(resp.Header.Get("Location"))
			if got := loc.Query().Get("error"); got != tt.wantError {
				t.Errorf("error = %q, want %q", got, tt.wantError)
			}
			if got := loc.Query().Get("state"); got != "state-42" {
				t.Errorf("state = %q, want state-42", got)
			}
		})
	}
}

func TestAuthorize_approvalPage(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	consentID := h.mustConsent([]string{permAccountsBasic, permBalances}, "")

	resp, body := h.do(http.MethodGet, h.authorizeURL(consentID, nil), nil, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET page: status %d", resp.StatusCode)
	}
	page := string(body)
	for _, want := range []string{`type="radio" id="customer-alice" name="customer" value="alice"`, `value="approve"`, `value="deny"`, permBalances, `method="post"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(strings.ToLower(page), "<script") {
		t.Errorf("page contains a script")
	}

	form := func(decision, customer string) url.Values {
		return url.Values{"response_type": {"code"}, "client_id": {testClientID}, "redirect_uri": {redirectURI},
			"state": {"state-42"}, "consent_id": {consentID}, "decision": {decision}, "customer": {customer}}
	}
	post := func(f url.Values) *http.Response {
		resp, _ := h.do(http.MethodPost, "/authorize", strings.NewReader(f.Encode()), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
		return resp
	}

	if resp := post(form("approve", "")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("approve without customer: status %d, want 400", resp.StatusCode)
	}
	resp = post(form("approve", "bob"))
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("code") == "" || loc.Query().Get("state") != "state-42" {
		t.Fatalf("approve: status %d, Location %q; want a code and the state", resp.StatusCode, loc)
	}

	denied := h.mustConsent([]string{permAccountsBasic}, "")
	f := form("deny", "")
	f.Set("consent_id", denied)
	resp = post(f)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Query().Get("error") != "access_denied" || loc.Query().Get("state") != "state-42" {
		t.Fatalf("deny: status %d, Location %q; want error=access_denied and the state", resp.StatusCode, loc)
	}
	// A rejected consent cannot be authorised afterwards.
	resp, _ = h.do(http.MethodGet, h.authorizeURL(denied, url.Values{"prompt": {"none"}, "login_hint": {"alice"}}), nil, nil)
	loc, _ = url.Parse(resp.Header.Get("Location"))
	if loc.Query().Get("error") != "invalid_request" {
		t.Errorf("authorize rejected consent: Location %q, want error=invalid_request", loc)
	}
}

func TestFAPI_headers(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	access, _, _ := h.link("alice", []string{permAccountsBasic}, "")

	tests := []struct {
		name       string
		set        map[string]string
		del        string
		wantStatus int
		wantCode   string
	}{
		{"financial id missing", nil, headerFinancialID, http.StatusBadRequest, codeHeaderMissing},
		{"financial id wrong", map[string]string{headerFinancialID: "other-bank"}, "", http.StatusBadRequest, codeHeaderInvalid},
		{"auth date malformed", map[string]string{headerAuthDate: "2026-12-04"}, "", http.StatusBadRequest, codeHeaderInvalid},
		{"customer ip malformed", map[string]string{headerCustomerIP: "not-an-ip"}, "", http.StatusBadRequest, codeHeaderInvalid},
		{"optional headers valid", map[string]string{headerAuthDate: "Fri, 04 Dec 2026 09:00:00 GMT", headerCustomerIP: "203.0.113.7"}, "", http.StatusOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			header := fapiHeader(access)
			header.Set(headerInteractionID, "93bac548-d2de-4546-b106-880a5018460d")
			for k, v := range tt.set {
				header.Set(k, v)
			}
			header.Del(tt.del)
			resp, body := h.do(http.MethodGet, aispPrefix+"/accounts", nil, header)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get(headerInteractionID); got != "93bac548-d2de-4546-b106-880a5018460d" {
				t.Errorf("interaction id = %q, want it echoed", got)
			}
			if tt.wantCode == "" {
				return
			}
			e := decodeError(t, body)
			if e.ID != "93bac548-d2de-4546-b106-880a5018460d" || e.Errors[0].ErrorCode != tt.wantCode {
				t.Errorf("error body = %+v, want Id echoed and %s", e, tt.wantCode)
			}
		})
	}

	t.Run("interaction id generated", func(t *testing.T) {
		resp, _ := h.get(access, "/accounts")
		if got := resp.Header.Get(headerInteractionID); len(got) != 36 {
			t.Errorf("interaction id = %q, want a generated UUID", got)
		}
	})
}
