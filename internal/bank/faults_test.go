package bank

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/obie"
)

func TestFaults_kinds(t *testing.T) {
	txPath := "/accounts/" + ivyCurrent + "/transactions"
	tests := []struct {
		name           string
		fault          string
		path           string
		wantStatus     int
		wantRetryAfter string
		check          func(t *testing.T, h *harness, body []byte)
	}{
		{"429", `{"kind":"429","path":"/transactions","retryAfter":7}`, txPath, http.StatusTooManyRequests, "7", nil},
		{"503 default retry", `{"kind":"503"}`, "/accounts", http.StatusServiceUnavailable, "1", nil},
		{"401", `{"kind":"401","customer":"ivy"}`, "/accounts", http.StatusUnauthorized, "", nil},
		{"malformed", `{"kind":"malformed","path":"/balances"}`, "/accounts/" + ivyCurrent + "/balances", http.StatusOK, "", func(t *testing.T, _ *harness, body []byte) {
			if json.Valid(body) {
				t.Errorf("body is valid JSON: %s", body)
			}
		}},
		{"next-loop on first page", `{"kind":"next-loop"}`, txPath, http.StatusOK, "", func(t *testing.T, _ *harness, body []byte) {
			p := decodePage(t, body)
			if p.Links.Next == "" || p.Links.Next != p.Links.Self {
				t.Errorf("Next = %q, Self = %q; want Next equal to Self", p.Links.Next, p.Links.Self)
			}
		}},
		{"next-loop on later page", `{"kind":"next-loop"}`, txPath + "?page=3", http.StatusOK, "", func(t *testing.T, _ *harness, body []byte) {
			p := decodePage(t, body)
			if !strings.Contains(p.Links.Next, "page=1") {
				t.Errorf("Next = %q, want the first page", p.Links.Next)
			}
		}},
		{"bad-record", `{"kind":"bad-record","customer":"ivy"}`, txPath, http.StatusOK, "", func(t *testing.T, h *harness, body []byte) {
			p := decodePage(t, body)
			amount := p.Data["Transaction"][0]["Amount"].(map[string]any)
			if amount["Amount"] != "12,30" || amount["Currency"] != "GBP" {
				t.Errorf("first Amount = %v, want 12,30 GBP", amount)
			}
			if _, err := (obie.Decoder{Now: h.clock.Now}).DecodeEnvelope("page", body); err == nil || !strings.Contains(err.Error(), "Transaction[0].Amount.Amount") {
				t.Errorf("decoding the bad page: %v, want an error at Transaction[0].Amount.Amount", err)
			}
		}},
		{"negative-debit", `{"kind":"negative-debit","customer":"ivy"}`, txPath, http.StatusOK, "", func(t *testing.T, h *harness, body []byte) {
			p := decodePage(t, body)
			negative := 0
			for _, tx := range p.Data["Transaction"] {
				amount := tx["Amount"].(map[string]any)
				if value, _ := amount["Amount"].(string); strings.HasPrefix(value, "-") {
					negative++
					if tx["CreditDebitIndicator"] != "Debit" {
						t.Errorf("negative Amount %v beside CreditDebitIndicator %v, want Debit", value, tx["CreditDebitIndicator"])
					}
				}
			}
			if negative != 1 {
				t.Errorf("page has %d negative amounts, want 1", negative)
			}
			_, err := (obie.Decoder{Now: h.clock.Now}).DecodeEnvelope("page", body)
			var list *obie.ErrorList
			if !errors.As(err, &list) || len(list.Errors) != 1 || !errors.Is(list.Errors[0], obie.ErrNegativeDebit) {
				t.Errorf("decoding the page: %v, want one ErrNegativeDebit problem", err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, edgeDir, func(o *Options) { o.PageSize = 2 })
			access, _, _ := h.link("ivy", []string{permAccountsBasic, permBalances, permTransactionsBasic, permTransactionsCredits, permTransactionsDebits}, "")

			// A request that does not match is served normally.
			if resp, _ := h.get(access, "/party"); resp.StatusCode != http.StatusForbidden {
				t.Fatalf("control read: status %d, want 403 (no ReadPartyPSU)", resp.StatusCode)
			}
			resp, body := h.admin("/admin/faults", tt.fault)
			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("POST /admin/faults: status %d, body %s", resp.StatusCode, body)
			}

			resp, body = h.get(access, tt.path)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("faulted read: status %d, want %d; body %.200s", resp.StatusCode, tt.wantStatus, body)
			}
			if got := resp.Header.Get("Retry-After"); got != tt.wantRetryAfter {
				t.Errorf("Retry-After = %q, want %q", got, tt.wantRetryAfter)
			}
			if tt.check != nil {
				tt.check(t, h, body)
			}

			// count 1: the next request is served normally.
			resp, body = h.get(access, tt.path)
			if resp.StatusCode != http.StatusOK || !json.Valid(body) {
				t.Errorf("read after the fault: status %d, valid JSON %v; want 200 JSON", resp.StatusCode, json.Valid(body))
			}
		})
	}
}

func TestFaults_matching(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	aliceToken, _, _ := h.link("alice", []string{permAccountsBasic}, "")
	bobToken, _, _ := h.link("bob", []string{permAccountsBasic}, "")

	if resp, body := h.admin("/admin/faults", `{"kind":"503","customer":"bob","path":"/accounts","count":2,"retryAfter":30}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /admin/faults: status %d, body %s", resp.StatusCode, body)
	}
	if resp, _ := h.get(aliceToken, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("other customer: status %d, want 200", resp.StatusCode)
	}
	for i := range 2 {
		if resp, _ := h.get(bobToken, "/accounts"); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") != "30" {
			t.Errorf("request %d: status %d, Retry-After %q; want 503 and 30", i+1, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if resp, _ := h.get(bobToken, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("third request: status %d, want 200 once the count is used up", resp.StatusCode)
	}

	// next-loop and bad-record wait for a transactions page.
	h.admin("/admin/faults", `{"kind":"bad-record"}`)
	if resp, _ := h.get(bobToken, "/accounts"); resp.StatusCode != http.StatusOK {
		t.Errorf("accounts read with a bad-record fault pending: status %d", resp.StatusCode)
	}
	resp, body := h.do(http.MethodGet, "/admin/faults", nil, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), `"remaining":1`) {
		t.Errorf("GET /admin/faults = %s, want the bad-record fault still pending", body)
	}
	resp, _ = h.do(http.MethodDelete, "/admin/faults", nil, nil)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("DELETE /admin/faults: status %d", resp.StatusCode)
	}
}

func TestFaults_invalid(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	for _, body := range []string{
		`{"kind":"418"}`,
		`{"kind":"429","count":-1}`,
		`{"kind":"429","retryAfter":-5}`,
		`{"kind":"429","customer":"nobody"}`,
		`{"kind":"429","retry_after":5}`,
		`not json`,
	} {
		t.Run(body, func(t *testing.T) {
			resp, out := h.admin("/admin/faults", body)
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("status = %d, want 400; body %s", resp.StatusCode, out)
			}
		})
	}
}

func TestAdmin_disabled(t *testing.T) {
	h := newHarness(t, sampleDir, func(o *Options) { o.Admin = false })
	for _, path := range []string{"/admin/faults", "/admin/advance"} {
		if resp, _ := h.admin(path, `{"kind":"429"}`); resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: status %d, want 404", path, resp.StatusCode)
		}
	}
}

func TestAdvance_booksPending(t *testing.T) {
	h := newHarness(t, edgeDir, nil)
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permTransactionsDetail, permTransactionsCredits, permTransactionsDebits}, "")

	before := map[string]map[string]any{}
	for _, acct := range []string{ivyCurrent, ivyCard} {
		_, body := h.get(access, "/accounts/"+acct+"/transactions")
		for _, tx := range decodePage(t, body).Data["Transaction"] {
			before[tx["TransactionId"].(string)] = tx
		}
	}

	resp, body := h.admin("/admin/advance", `{"customer":"ivy"}`)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("advance: status %d, body %s", resp.StatusCode, body)
	}
	var res advanceResult
	if err := json.Unmarshal(body, &res); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Vanished, []string{"P01"}) {
		t.Errorf("vanished = %v, want [P01], the first pending entry by id", res.Vanished)
	}
	if len(res.Booked) != 2 || res.Booked[0].PendingTransactionID != "P02" || res.Booked[1].PendingTransactionID != "P03" {
		t.Fatalf("booked = %+v, want P02 and P03", res.Booked)
	}

	after := map[string]map[string]any{}
	for _, acct := range []string{ivyCurrent, ivyCard} {
		_, body := h.get(access, "/accounts/"+acct+"/transactions")
		if _, err := (obie.Decoder{Now: h.clock.Now}).DecodeEnvelope("page", body); err != nil {
			t.Errorf("page after advance is invalid: %v", err)
		}
		for _, tx := range decodePage(t, body).Data["Transaction"] {
			after[tx["TransactionId"].(string)] = tx
		}
	}
	for _, pendingID := range []string{"P01", "P02", "P03"} {
		if _, ok := after[pendingID]; ok {
			t.Errorf("pending id %s still served", pendingID)
		}
	}
	for _, b := range res.Booked {
		tx, ok := after[b.BookedTransactionID]
		if !ok {
			t.Errorf("booked id %s not served", b.BookedTransactionID)
			continue
		}
		if !strings.HasPrefix(b.BookedTransactionID, b.PendingTransactionID+"-B") {
			t.Errorf("booked id %s, want %s-B and a hash", b.BookedTransactionID, b.PendingTransactionID)
		}
		if tx["Status"] != "Booked" {
			t.Errorf("%s: Status %v, want Booked", b.BookedTransactionID, tx["Status"])
		}
		old, _ := time.Parse(time.RFC3339, before[b.PendingTransactionID]["BookingDateTime"].(string))
		now, _ := time.Parse(time.RFC3339, tx["BookingDateTime"].(string))
		if now.Sub(old) != 24*time.Hour {
			t.Errorf("%s: BookingDateTime moved by %s, want 24h", b.BookedTransactionID, now.Sub(old))
		}
		if tx["Amount"].(map[string]any)["Amount"] != before[b.PendingTransactionID]["Amount"].(map[string]any)["Amount"] {
			t.Errorf("%s: Amount changed on booking", b.BookedTransactionID)
		}
	}
	if len(after) != len(before)-1 {
		t.Errorf("served %d transactions after advance, want %d", len(after), len(before)-1)
	}

	// Nothing is left pending, so a second advance changes nothing.
	_, body = h.admin("/admin/advance", `{"customer":"ivy"}`)
	if err := json.Unmarshal(body, &res); err != nil || len(res.Booked)+len(res.Vanished) != 0 {
		t.Errorf("second advance = %s, want nothing booked or vanished", body)
	}
}

func TestAdvance_sampleCustomer(t *testing.T) {
	h := newHarness(t, sampleDir, nil)
	resp, body := h.admin("/admin/advance", `{"customer":"chen"}`)
	var res advanceResult
	if err := json.Unmarshal(body, &res); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("advance: status %d, body %s", resp.StatusCode, body)
	}
	if len(res.Vanished) != 1 || len(res.Booked) != 2 {
		t.Errorf("advance of chen's 3 pending entries = %+v, want 1 vanished and 2 booked", res)
	}
	for _, body := range []string{`{}`, `{"customer":"nobody"}`} {
		if resp, _ := h.admin("/admin/advance", body); resp.StatusCode < 400 {
			t.Errorf("advance %s: status %d, want an error", body, resp.StatusCode)
		}
	}
}
