package bank

import (
	"net/http"
	"testing"
)

func TestCancelOrder(t *testing.T) {
	h := newHarness(t, "testdata/edge", nil)
	access, _, _ := h.link("ivy", []string{permAccountsBasic, permStandingOrdersBasic}, "")
	read := func() int {
		t.Helper()
		resp, body := h.get(access, "/accounts/"+ivyCurrent+"/standing-orders")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d: %s", resp.StatusCode, body)
		}
		return len(decodePage(t, body).Data["StandingOrder"])
	}
	if n := read(); n != 1 {
		t.Fatalf("standing orders = %d, want 1", n)
	}

	tests := []struct {
		name, body string
		status     int
	}{
		{"unknown resource", `{"customer":"ivy","resource":"beneficiaries","id":"SO-1"}`, http.StatusBadRequest},
		{"missing id", `{"customer":"ivy","resource":"standing-orders"}`, http.StatusBadRequest},
		{"unknown field", `{"customer":"ivy","resource":"standing-orders","id":"SO-1","x":1}`, http.StatusBadRequest},
		{"unknown customer", `{"customer":"zed","resource":"standing-orders","id":"SO-1"}`, http.StatusNotFound},
		{"unknown order", `{"customer":"ivy","resource":"standing-orders","id":"SO-9"}`, http.StatusNotFound},
		{"wrong resource", `{"customer":"ivy","resource":"direct-debits","id":"SO-1"}`, http.StatusNotFound},
		{"cancel", `{"customer":"ivy","resource":"standing-orders","id":"SO-1"}`, http.StatusOK},
		{"cancel again", `{"customer":"ivy","resource":"standing-orders","id":"SO-1"}`, http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, body := h.admin("/admin/cancel-order", tt.body)
		if resp.StatusCode != tt.status {
			t.Errorf("%s: status = %d, want %d: %s", tt.name, resp.StatusCode, tt.status, body)
		}
	}
	// The bank no longer lists the cancelled order; an empty list is an
	// empty array.
	if n := read(); n != 0 {
		t.Errorf("standing orders after cancelling = %d, want 0", n)
	}
}
