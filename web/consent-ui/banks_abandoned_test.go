package consentui

import (
	"net/http"
	"slices"
	"testing"
	"time"
)

func TestBanks_abandonedAttemptsHidden(t *testing.T) {
	env := newTestEnv(t)
	env.service.mu.Lock()
	env.service.customers = append(env.service.customers, "carol")
	env.service.bankLinks["carol"] = []BankLink{
		{ID: "link-new", BankName: "Demo Bank", Status: BankAuthorised, ExpiresAt: testNow.Add(90 * 24 * time.Hour)},
		{ID: "link-try-2", BankName: "Demo Bank", Status: BankAbandoned},
		{ID: "link-try-1", BankName: "Demo Bank", Status: BankAbandoned},
		{ID: "link-pending", BankName: "Other Bank", Status: BankAwaitingAuthorisation},
		{ID: "link-old", BankName: "Demo Bank", Status: BankReplaced},
	}
	env.service.mu.Unlock()

	c := env.newClient(t)
	env.signIn(t, c, "carol")
	resp := env.do(t, c, http.MethodGet, "/consent/banks", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /consent/banks status = %d, want 200", resp.Status)
	}
	want := []string{"Linked", "Waiting for you to confirm at your bank", "Replaced by a newer link"}
	if got := textsOf(resp.Body, "bank-status"); !slices.Equal(got, want) {
		t.Errorf("statuses = %q, want %q", got, want)
	}
}
