package api

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
)

const claimOptionsMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) {
    attestationRequest {
      id consentExpiresAt
      claims {
        kind
        ... on FundsAtLeastClaim { averageDays includeOverdraft }
        ... on AddressMatchesClaim { postCode address scope fullAddress }
        ... on NextSalaryDateClaim { includeAmountBand }
      }
    }
    userErrors { field message code }
  }
}`

func TestRequestAttestation_claimOptions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		apiKey string
		input  map[string]any
		want   insights.ClaimRequest
		token  time.Duration
		json   string // the claim as the response shows it
	}{
		{"average funds with overdraft", merchantKey,
			claimsOf(map[string]any{"fundsAtLeast": map[string]any{"amount": "500.00", "currency": "GBP", "averageDays": 30, "includeOverdraft": true}}),
			insights.ClaimRequest{Kind: insights.ClaimFundsAtLeast, Amount: 500_00000, Currency: "GBP", AverageDays: 30, IncludeOverdraft: true}, 0,
			`{"kind":"FUNDS_AT_LEAST","averageDays":30,"includeOverdraft":true}`},
		{"whole address with full address", merchantKey,
			claimsOf(map[string]any{"addressMatches": map[string]any{"address": "Flat 14A, 2 St Albans Rd\nWatford", "fullAddress": true}}),
			insights.ClaimRequest{Kind: insights.ClaimAddressMatches, Address: "Flat 14A, 2 St Albans Rd\nWatford", FullAddress: true}, 0,
			`{"kind":"ADDRESS_MATCHES","postCode":"","address":"Flat 14A, 2 St Albans Rd\nWatford","scope":null,"fullAddress":true}`},
		{"region only", merchantKey,
			claimsOf(map[string]any{"addressMatches": map[string]any{"scope": "REGION"}}),
			insights.ClaimRequest{Kind: insights.ClaimAddressMatches, AddressScope: insights.AddressRegion}, 0,
			`{"kind":"ADDRESS_MATCHES","postCode":"","address":null,"scope":"REGION","fullAddress":false}`},
		{"salary amount band", merchantKey,
			claimsOf(map[string]any{"nextSalaryDate": map[string]any{"includeAmountBand": true}}),
			insights.ClaimRequest{Kind: insights.ClaimNextSalaryDate, SalaryAmountBand: true}, 0,
			`{"kind":"NEXT_SALARY_DATE","includeAmountBand":true}`},
		{"lender consent days", lenderKey,
			map[string]any{"purpose": "Loan", "claims": []any{affordability(3)}, "consentDays": 60},
			insights.ClaimRequest{Kind: insights.ClaimAffordability, Months: 3}, 60 * 24 * time.Hour,
			`{"kind":"AFFORDABILITY"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			resp := srv.query(t, tt.apiKey, claimOptionsMutation, map[string]any{"input": tt.input})
			var data struct {
				RequestAttestation struct {
					AttestationRequest *struct {
						Claims []map[string]any `json:"claims"`
					} `json:"attestationRequest"`
					UserErrors []userErrorData `json:"userErrors"`
				} `json:"requestAttestation"`
			}
			decodeData(t, resp, &data)
			if len(data.RequestAttestation.UserErrors) != 0 || data.RequestAttestation.AttestationRequest == nil {
				t.Fatalf("userErrors = %+v; want a request", data.RequestAttestation.UserErrors)
			}
			if got := mustMarshal(t, data.RequestAttestation.AttestationRequest.Claims[0]); got != mustMarshal(t, mustUnmarshal(t, tt.json)) {
				t.Errorf("claim = %s; want %s", got, tt.json)
			}

			srv.consent.mu.Lock()
			created, tokens := srv.consent.created, srv.consent.tokens
			srv.consent.mu.Unlock()
			if len(created) != 1 || !reflect.DeepEqual(created[0], []insights.ClaimRequest{tt.want}) {
				t.Errorf("CreateRequest claims = %+v; want %+v", created, tt.want)
			}
			if len(tokens) != 1 || tokens[0].ConsentDuration != tt.token {
				t.Errorf("ConsentDuration = %+v; want %s", tokens, tt.token)
			}
		})
	}
}

func TestRequestAttestation_claimOptionErrors(t *testing.T) {
	t.Parallel()
	address := func(fields map[string]any) map[string]any {
		return claimsOf(map[string]any{"addressMatches": fields})
	}
	tests := []struct {
		name      string
		apiKey    string
		input     map[string]any
		wantField string
		wantCode  string
		wantText  string
	}{
		{"postcode and address", merchantKey, address(map[string]any{"postCode": "WD17 1AA", "address": "2 High St"}),
			"input.claims[0].addressMatches", userErrorOneFieldRequired, "got 2"},
		{"nothing to match", merchantKey, address(map[string]any{"fullAddress": true}),
			"input.claims[0].addressMatches", userErrorOneFieldRequired, "got 0"},
		{"blank address", merchantKey, address(map[string]any{"address": "  "}),
			"input.claims[0].addressMatches.address", userErrorBlank, "must not be blank"},
		{"address too long", merchantKey, address(map[string]any{"address": strings.Repeat("x", 501)}),
			"input.claims[0].addressMatches.address", userErrorTooLong, "got 501"},
		{"address with a tab", merchantKey, address(map[string]any{"address": "2 High St\tWatford"}),
			"input.claims[0].addressMatches.address", userErrorInvalidFormat, "control characters"},
		{"scope with full address", merchantKey, address(map[string]any{"scope": "COUNTRY", "fullAddress": true}),
			"input.claims[0].addressMatches.fullAddress", userErrorInvalid, "cannot ask for the whole address"},
		{"zero average days", merchantKey, claimsOf(map[string]any{"fundsAtLeast": map[string]any{"amount": "1", "currency": "GBP", "averageDays": 0}}),
			"input.claims[0].fundsAtLeast.averageDays", userErrorOutOfRange, "got 0"},
		{"367 average days", merchantKey, claimsOf(map[string]any{"fundsAtLeast": map[string]any{"amount": "1", "currency": "GBP", "averageDays": 367}}),
			"input.claims[0].fundsAtLeast.averageDays", userErrorOutOfRange, "got 367"},
		{"not a postcode", merchantKey, address(map[string]any{"postCode": "NOT A POSTCODE"}),
			"input.claims[0].addressMatches.postCode", userErrorInvalidFormat, `"NOT A POSTCODE" is not a UK postcode`},
		{"digits only postcode", merchantKey, address(map[string]any{"postCode": "12345"}),
			"input.claims[0].addressMatches.postCode", userErrorInvalidFormat, `"12345" is not a UK postcode`},
		{"unknown currency", merchantKey, claimsOf(map[string]any{"fundsAtLeast": map[string]any{"amount": "1", "currency": "XYZ"}}),
			"input.claims[0].fundsAtLeast.currency", userErrorUnsupported, `"XYZ" is not an ISO 4217 currency`},
		{"lowercase currency", merchantKey, claimsOf(map[string]any{"fundsAtLeast": map[string]any{"amount": "1", "currency": "gbp"}}),
			"input.claims[0].fundsAtLeast.currency", userErrorInvalidFormat, `got "gbp"`},
		{"zero consent days", lenderKey, map[string]any{"purpose": "Loan", "claims": []any{affordability(3)}, "consentDays": 0},
			"input.consentDays", userErrorOutOfRange, "got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			var data mutationData
			decodeData(t, srv.query(t, tt.apiKey, claimOptionsMutation, map[string]any{"input": tt.input}), &data)
			if len(data.RequestAttestation.UserErrors) != 1 {
				t.Fatalf("userErrors = %+v; want exactly one", data.RequestAttestation.UserErrors)
			}
			ue := data.RequestAttestation.UserErrors[0]
			if got := dottedPath(ue.Field); got != tt.wantField {
				t.Errorf("field = %s; want %s", got, tt.wantField)
			}
			if ue.Code != tt.wantCode || !strings.Contains(ue.Message, tt.wantText) {
				t.Errorf("code, message = %s, %q; want %s containing %q", ue.Code, ue.Message, tt.wantCode, tt.wantText)
			}
		})
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustUnmarshal(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}
