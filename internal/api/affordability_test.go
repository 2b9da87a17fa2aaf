package api

import (
	"reflect"
	"testing"

	"github.com/openbanking-insights/insights"
)

const affordabilityMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) {
    attestationRequest { id claims { kind ... on AffordabilityClaim { months } } }
    userErrors { field message code }
  }
}`

func affordability(months int) map[string]any {
	return map[string]any{"affordability": map[string]any{"months": months}}
}

func TestRequestAttestation_affordability(t *testing.T) {
	t.Parallel()
	for _, months := range []int{3, 6, 12} {
		srv := newTestServer(t, newFakeConsent(), Options{})
		var data struct {
			RequestAttestation struct {
				AttestationRequest *struct {
					Claims []struct {
						Kind   string `json:"kind"`
						Months int    `json:"months"`
					} `json:"claims"`
				} `json:"attestationRequest"`
				UserErrors []userErrorData `json:"userErrors"`
			} `json:"requestAttestation"`
		}
		input := map[string]any{"purpose": "Loan affordability", "claims": []any{affordability(months)}}
		decodeData(t, srv.query(t, lenderKey, affordabilityMutation, map[string]any{"input": input}), &data)

		payload := data.RequestAttestation
		if len(payload.UserErrors) != 0 || payload.AttestationRequest == nil {
			t.Fatalf("months %d: userErrors = %+v, want a request", months, payload.UserErrors)
		}
		claims := payload.AttestationRequest.Claims
		if len(claims) != 1 || claims[0].Kind != "AFFORDABILITY" || claims[0].Months != months {
			t.Errorf("months %d: claims = %+v, want one AFFORDABILITY claim of %d months", months, claims, months)
		}

		srv.consent.mu.Lock()
		got := srv.consent.created
		srv.consent.mu.Unlock()
		want := []insights.ClaimRequest{{Kind: insights.ClaimAffordability, Months: months}}
		if len(got) != 1 || !reflect.DeepEqual(got[0], want) {
			t.Errorf("months %d: CreateRequest claims = %+v, want %+v", months, got, want)
		}
	}
}

func TestRequestAttestation_affordabilityUserErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		apiKey    string
		input     map[string]any
		wantField string
		wantCode  string
	}{
		{"zero months", lenderKey, claimsOf(affordability(0)), "input.claims[0].affordability.months", userErrorOutOfRange},
		{"four months", lenderKey, claimsOf(affordability(4)), "input.claims[0].affordability.months", userErrorOutOfRange},
		{"24 months", lenderKey, claimsOf(affordability(24)), "input.claims[0].affordability.months", userErrorOutOfRange},
		{"negative months", lenderKey, claimsOf(affordability(-6)), "input.claims[0].affordability.months", userErrorOutOfRange},
		{"twice", lenderKey, claimsOf(affordability(3), affordability(12)), "input.claims[1]", userErrorDuplicate},
		{"with another field", lenderKey, claimsOf(map[string]any{"affordability": map[string]any{"months": 3}, "fundsAtLeast": map[string]any{"amount": "1", "currency": "GBP"}}),
			"input.claims[0]", userErrorOneFieldRequired},
		{"merchant not registered", merchantKey, claimsOf(affordability(6)), "input.claims[0]", userErrorNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			var data mutationData
			decodeData(t, srv.query(t, tt.apiKey, affordabilityMutation, map[string]any{"input": tt.input}), &data)

			payload := data.RequestAttestation
			if payload.AttestationRequest != nil {
				t.Errorf("attestationRequest = %+v, want null", payload.AttestationRequest)
			}
			if len(payload.UserErrors) != 1 {
				t.Fatalf("userErrors = %+v, want exactly one", payload.UserErrors)
			}
			ue := payload.UserErrors[0]
			if got := dottedPath(ue.Field); got != tt.wantField {
				t.Errorf("field = %s, want %s", got, tt.wantField)
			}
			if ue.Code != tt.wantCode {
				t.Errorf("code = %s, want %s (message %q)", ue.Code, tt.wantCode, ue.Message)
			}
		})
	}
}
