package consent_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
	"github.com/openbanking-insights/insights/internal/categorize"
	"github.com/openbanking-insights/insights/internal/consent"
	"github.com/openbanking-insights/insights/internal/derive"
	"github.com/openbanking-insights/insights/internal/ingest"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestParseClaimKind_affordability(t *testing.T) {
	kind, err := consent.ParseClaimKind("affordability")
	if err != nil || kind != insights.ClaimAffordability {
		t.Errorf("ParseClaimKind(affordability) = %q, %v, want %q", kind, err, insights.ClaimAffordability)
	}
}

// TestAffordability_endToEnd runs a lender's affordability request through
// the consent lifecycle on the demo customer alice: the lender registered
// for the claim requests it, alice opens and approves it, and the token
// the lender fetches carries bands only.
func TestAffordability_endToEnd(t *testing.T) {
	ctx := context.Background()
	e := storetest.New(t)
	loader := &ingest.Loader{Engine: e, Categorizer: categorize.New()}
	for _, name := range []string{"accounts.json", "balances.json", "transactions.ndjson"} {
		if _, err := loader.LoadFile(ctx, "alice", filepath.Join("../../testdata/sample/alice", name)); err != nil {
			t.Fatalf("load %s: %v", name, err)
		}
	}

	keys, err := attest.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := &consent.Service{
		Engine:  e,
		Claims:  &derive.Deriver{Engine: e},
		Issuer:  &attest.Issuer{Keys: keys, Issuer: "http://127.0.0.1:8080", Now: clock},
		Now:     clock,
		BaseURL: "http://127.0.0.1:8080",
	}

	// Step 1: the lender registers and requests six months.
	lender, _, err := svc.RegisterClient(ctx, "Demo Lender", []insights.ClaimKind{insights.ClaimAffordability})
	if err != nil {
		t.Fatalf("RegisterClient: %v", err)
	}
	req, err := svc.CreateRequest(ctx, lender, "Loan affordability check",
		[]insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: 6}}, consent.TokenOptions{})
	if err != nil {
		t.Fatalf("CreateRequest: %v", err)
	}

	// Step 2: the stored request keeps the window.
	stored, err := svc.Request(ctx, req.ID)
	if err != nil {
		t.Fatalf("Request: %v", err)
	}
	if len(stored.Claims) != 1 || stored.Claims[0] != (insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 6}) {
		t.Fatalf("stored claims = %+v, want one affordability claim of 6 months", stored.Claims)
	}

	// Step 3: alice opens the request, sees the figures, and approves.
	preview, err := svc.Preview(ctx, "alice", stored)
	if err != nil {
		t.Fatalf("Preview: %v", err)
	}
	if len(preview) != 1 || !preview[0].Available || preview[0].Affordability == nil {
		t.Fatalf("Preview = %+v, want available affordability figures", preview)
	}
	if err := svc.Decide(ctx, "alice", req.ID, true); err != nil {
		t.Fatalf("Decide: %v", err)
	}

	// Step 4: the lender fetches the token and verifies it.
	_, att, err := svc.ClientRequest(ctx, lender, req.ID)
	if err != nil || att == nil {
		t.Fatalf("ClientRequest = %v, %v, want the issued token", att, err)
	}
	set, err := keys.PublicSet()
	if err != nil {
		t.Fatal(err)
	}
	v, err := attest.Verify(ctx, att.Token, set, attest.VerifyOptions{Audience: lender.ID, Now: clock})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}

	claim, ok := v.Claims["affordability"].(map[string]any)
	if !ok {
		t.Fatalf("token has no affordability object: %#v", v.Claims)
	}
	moneyBand := regexp.MustCompile(`^(<-?\d+|-?\d+ to -?\d+|\d+-\d+|\d+\+) GBP$`)
	for _, field := range []string{"net_income_monthly", "committed_spending_monthly", "essential_spending_monthly",
		"discretionary_spending_monthly", "disposable_income_monthly"} {
		band, _ := claim[field].(string)
		if !moneyBand.MatchString(band) {
			t.Errorf("%s = %q, want a money band such as \"2000-2500 GBP\"", field, claim[field])
		}
	}
	checks := []struct {
		field string
		want  any
	}{
		{"months", float64(6)},
		{"first_month", "2026-06"},
		{"last_month", "2026-11"},
		{"net_income_monthly", "2000-2500 GBP"},
		{"gambling_share", "0%"},
		{"days_in_overdraft", "0"},
		{"returned_payments", float64(0)},
	}
	for _, c := range checks {
		if claim[c.field] != c.want {
			t.Errorf("%s = %#v, want %#v", c.field, claim[c.field], c.want)
		}
	}
	if len(claim) != 12 {
		payload, _ := json.Marshal(claim)
		t.Errorf("affordability has %d members, want the 12 documented: %s", len(claim), payload)
	}
}
