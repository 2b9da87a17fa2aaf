package api

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

const viewerQuery = `{ viewer { id name allowedClaims } }`

const requestMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) {
    attestationRequest {
      id status purpose consentUrl createdAt expiresAt
      claims {
        kind
        ... on AgeOverClaim { minimumAge }
        ... on FundsAtLeastClaim { amount currency }
        ... on AddressMatchesClaim { postCode }
        ... on NextSalaryDateClaim { includeCadence }
      }
      attestation { token }
    }
    userErrors { field message code }
  }
}`

const lookupQuery = `query($id: ID!) {
  attestationRequest(id: $id) {
    id status purpose consentUrl createdAt expiresAt
    claims { kind ... on AgeOverClaim { minimumAge } }
    attestation { token jti issuedAt expiresAt claimNames }
  }
}`

type claimData struct {
	Kind           string `json:"kind"`
	MinimumAge     *int   `json:"minimumAge"`
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	PostCode       string `json:"postCode"`
	IncludeCadence *bool  `json:"includeCadence"`
}

type attestationData struct {
	Token      string   `json:"token"`
	JTI        string   `json:"jti"`
	IssuedAt   string   `json:"issuedAt"`
	ExpiresAt  string   `json:"expiresAt"`
	ClaimNames []string `json:"claimNames"`
}

type requestData struct {
	ID          string           `json:"id"`
	Status      string           `json:"status"`
	Purpose     string           `json:"purpose"`
	ConsentURL  string           `json:"consentUrl"`
	CreatedAt   string           `json:"createdAt"`
	ExpiresAt   string           `json:"expiresAt"`
	Claims      []claimData      `json:"claims"`
	Attestation *attestationData `json:"attestation"`
}

type userErrorData struct {
	Field   []string `json:"field"`
	Message string   `json:"message"`
	Code    string   `json:"code"`
}

type mutationData struct {
	RequestAttestation struct {
		AttestationRequest *requestData    `json:"attestationRequest"`
		UserErrors         []userErrorData `json:"userErrors"`
	} `json:"requestAttestation"`
}

func TestAuth_rejected(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	mutationVars := map[string]any{"input": map[string]any{
		"purpose": "Age check", "claims": []any{map[string]any{"ageOver": map[string]any{}}}}}

	tests := []struct {
		name          string
		authorization string
		query         string
		variables     map[string]any
		wantMessage   string
		wantData      string
	}{
		{"missing header", "", viewerQuery, nil, "missing API key", "null"},
		{"basic scheme", "Basic dXNlcjpwYXNz", viewerQuery, nil, "Bearer scheme", "null"},
		{"empty bearer", "Bearer ", viewerQuery, nil, "missing API key", "null"},
		{"unknown key", "Bearer ik_test_unknown", viewerQuery, nil, "invalid API key", "null"},
		{"disabled client", "Bearer " + disabledKey, viewerQuery, nil, "invalid API key", "null"},
		{"mutation without key", "", requestMutation, mutationVars, "missing API key", "null"},
		{"lookup with unknown key", "Bearer ik_test_unknown", lookupQuery, map[string]any{"id": "req_1"}, "invalid API key", `{"attestationRequest":null}`},
		{"unknown assertion", "Bearer eyJhbGciOiJFUzI1NiJ9.e30.c2ln", viewerQuery, nil, "invalid client assertion", "null"},
		{"disabled client assertion", "Bearer " + disabledAssertion, viewerQuery, nil, "invalid client assertion: the client is disabled", "null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.queryWithHeader(t, tt.authorization, tt.query, tt.variables)
			e := onlyError(t, resp)
			if e.code() != codeUnauthenticated {
				t.Errorf("extensions.code = %q, want %q", e.code(), codeUnauthenticated)
			}
			if !strings.Contains(e.Message, tt.wantMessage) {
				t.Errorf("message = %q, want it to contain %q", e.Message, tt.wantMessage)
			}
			if string(resp.Data) != tt.wantData {
				t.Errorf("data = %s, want %s", resp.Data, tt.wantData)
			}
		})
	}
	if got := srv.consent.createdCount(); got != 0 {
		t.Errorf("CreateRequest called %d times, want 0", got)
	}
	if strings.Contains(srv.log.String(), "ik_test_") {
		t.Errorf("log contains an API key:\n%s", srv.log.String())
	}
	if strings.Contains(srv.log.String(), "eyJ") {
		t.Errorf("log contains a client assertion:\n%s", srv.log.String())
	}
}

func TestAuth_clientAssertion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		bearer         string
		wantAssertions int
	}{
		{"compact JWS", merchantAssertion, 1},
		{"API key", merchantKey, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			resp := srv.queryWithHeader(t, "Bearer "+tt.bearer, viewerQuery, nil)
			var data struct{ Viewer struct{ ID string } }
			decodeData(t, resp, &data)
			if data.Viewer.ID != merchant.ID {
				t.Errorf("viewer.id = %q, want %q", data.Viewer.ID, merchant.ID)
			}
			srv.consent.mu.Lock()
			got := srv.consent.assertionCalls
			srv.consent.mu.Unlock()
			if got != tt.wantAssertions {
				t.Errorf("AuthenticateClientAssertion called %d times, want %d", got, tt.wantAssertions)
			}
		})
	}
}

func TestAuth_schemeCaseInsensitive(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	resp := srv.queryWithHeader(t, "bearer "+merchantKey, viewerQuery, nil)
	var data struct{ Viewer struct{ ID string } }
	decodeData(t, resp, &data)
	if data.Viewer.ID != merchant.ID {
		t.Errorf("viewer.id = %q, want %q", data.Viewer.ID, merchant.ID)
	}
}

func TestAuth_oncePerRequest(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	srv.query(t, merchantKey, `{ a: viewer { id } b: viewer { name } c: attestationRequest(id: "req_x") { id } }`, nil)
	srv.consent.mu.Lock()
	calls := srv.consent.authCalls
	srv.consent.mu.Unlock()
	if calls != 1 {
		t.Errorf("AuthenticateClient called %d times for one HTTP request, want 1", calls)
	}
}

func TestAuth_unavailable(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	fake.authErr = insights.Errorf(insights.ErrUnavailable, "storage is unavailable")
	srv := newTestServer(t, fake, Options{})
	e := onlyError(t, srv.query(t, merchantKey, viewerQuery, nil))
	if e.code() != codeUnavailable {
		t.Errorf("extensions.code = %q, want %q", e.code(), codeUnavailable)
	}
}

func TestViewer_client(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	var data struct {
		Viewer struct {
			ID            string   `json:"id"`
			Name          string   `json:"name"`
			AllowedClaims []string `json:"allowedClaims"`
		} `json:"viewer"`
	}
	decodeData(t, srv.query(t, merchantKey, viewerQuery, nil), &data)
	if data.Viewer.ID != merchant.ID || data.Viewer.Name != merchant.Name {
		t.Errorf("viewer = %+v, want id %q name %q", data.Viewer, merchant.ID, merchant.Name)
	}
	want := []string{"AGE_OVER", "FUNDS_AT_LEAST", "ADDRESS_MATCHES", "NEXT_SALARY_DATE"}
	if !reflect.DeepEqual(data.Viewer.AllowedClaims, want) {
		t.Errorf("allowedClaims = %v, want %v", data.Viewer.AllowedClaims, want)
	}
}

func TestRequestAttestation_created(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	input := map[string]any{
		"purpose": "Buying wine, and a deposit check",
		"claims": []any{
			map[string]any{"ageOver": map[string]any{}},
			map[string]any{"ageOver": map[string]any{"minimumAge": 21}},
			map[string]any{"fundsAtLeast": map[string]any{"amount": "500.5", "currency": "GBP"}},
			map[string]any{"addressMatches": map[string]any{"postCode": "SW1A 1AA"}},
			map[string]any{"nextSalaryDate": map[string]any{}},
		},
	}
	var data mutationData
	decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": input}), &data)

	payload := data.RequestAttestation
	if len(payload.UserErrors) != 0 {
		t.Fatalf("userErrors = %+v, want none", payload.UserErrors)
	}
	req := payload.AttestationRequest
	if req == nil {
		t.Fatal("attestationRequest is null")
	}
	if req.ID != "req_1" {
		t.Errorf("id = %q, want req_1", req.ID)
	}
	if req.Status != "REQUESTED" {
		t.Errorf("status = %q, want REQUESTED", req.Status)
	}
	if req.ConsentURL != "https://insights.example/consent/requests/req_1" {
		t.Errorf("consentUrl = %q", req.ConsentURL)
	}
	if req.Purpose != input["purpose"] {
		t.Errorf("purpose = %q, want %q", req.Purpose, input["purpose"])
	}
	if req.CreatedAt != "2026-12-04T10:15:30.123Z" {
		t.Errorf("createdAt = %q, want 2026-12-04T10:15:30.123Z", req.CreatedAt)
	}
	if req.ExpiresAt != "2026-12-04T10:30:30.123Z" {
		t.Errorf("expiresAt = %q, want 2026-12-04T10:30:30.123Z", req.ExpiresAt)
	}
	if req.Attestation != nil {
		t.Errorf("attestation = %+v, want null before issuance", req.Attestation)
	}

	// The claims echo the input, with the amount in the currency's minor units.
	age18, age21, cadence := 18, 21, true
	wantClaims := []claimData{
		{Kind: "AGE_OVER", MinimumAge: &age18},
		{Kind: "AGE_OVER", MinimumAge: &age21},
		{Kind: "FUNDS_AT_LEAST", Amount: "500.50", Currency: "GBP"},
		{Kind: "ADDRESS_MATCHES", PostCode: "SW1A 1AA"},
		{Kind: "NEXT_SALARY_DATE", IncludeCadence: &cadence},
	}
	if !reflect.DeepEqual(req.Claims, wantClaims) {
		t.Errorf("claims = %s, want %s", fmt.Sprint(req.Claims), fmt.Sprint(wantClaims))
	}

	// The consent service receives the claims in domain form.
	wantDomain := []insights.ClaimRequest{
		{Kind: insights.ClaimAgeOver, MinimumAge: 18},
		{Kind: insights.ClaimAgeOver, MinimumAge: 21},
		{Kind: insights.ClaimFundsAtLeast, Amount: 50_050_000, Currency: "GBP"},
		{Kind: insights.ClaimAddressMatches, PostCode: "SW1A 1AA"},
		{Kind: insights.ClaimNextSalaryDate},
	}
	srv.consent.mu.Lock()
	got := srv.consent.created
	srv.consent.mu.Unlock()
	if len(got) != 1 || !reflect.DeepEqual(got[0], wantDomain) {
		t.Errorf("CreateRequest claims = %+v, want %+v", got, wantDomain)
	}
}

func TestRequestAttestation_currencyMinorUnits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		amount, currency, want string
	}{
		{"1000", "JPY", "1000"},
		{"1.125", "KWD", "1.125"},
		{"0", "GBP", "0.00"},
		{"12.3", "EUR", "12.30"},
	}
	for _, tt := range tests {
		t.Run(tt.currency, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			input := map[string]any{"purpose": "Deposit", "claims": []any{
				map[string]any{"fundsAtLeast": map[string]any{"amount": tt.amount, "currency": tt.currency}}}}
			var data mutationData
			decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": input}), &data)
			if errs := data.RequestAttestation.UserErrors; len(errs) != 0 {
				t.Fatalf("userErrors = %+v, want none", errs)
			}
			if got := data.RequestAttestation.AttestationRequest.Claims[0].Amount; got != tt.want {
				t.Errorf("amount = %q, want %q", got, tt.want)
			}
		})
	}
}

// claimsOf builds an input with a valid purpose and the given claims.
func claimsOf(claims ...any) map[string]any {
	if claims == nil {
		claims = []any{} // an empty list, not null
	}
	return map[string]any{"purpose": "Checkout", "claims": claims}
}

func funds(amount, currency string) map[string]any {
	return map[string]any{"fundsAtLeast": map[string]any{"amount": amount, "currency": currency}}
}

func ageOver(age int) map[string]any {
	return map[string]any{"ageOver": map[string]any{"minimumAge": age}}
}

func postCode(pc string) map[string]any {
	return map[string]any{"addressMatches": map[string]any{"postCode": pc}}
}

func TestRequestAttestation_userErrors(t *testing.T) {
	t.Parallel()
	elevenClaims := make([]any, 11)
	for i := range elevenClaims {
		elevenClaims[i] = ageOver(18 + i)
	}

	tests := []struct {
		name      string
		apiKey    string
		input     map[string]any
		wantField string // dotted form of the field path
		wantCode  string
	}{
		{"blank purpose", merchantKey, map[string]any{"purpose": "  ", "claims": []any{ageOver(18)}}, "input.purpose", userErrorBlank},
		{"long purpose", merchantKey, map[string]any{"purpose": strings.Repeat("é", 201), "claims": []any{ageOver(18)}}, "input.purpose", userErrorTooLong},
		{"purpose with line break", merchantKey, map[string]any{"purpose": "Age\ncheck", "claims": []any{ageOver(18)}}, "input.purpose", userErrorInvalidFormat},
		{"no claims", merchantKey, claimsOf(), "input.claims", userErrorBlank},
		{"eleven claims", merchantKey, claimsOf(elevenClaims...), "input.claims", userErrorTooMany},
		{"claim with no field", merchantKey, claimsOf(map[string]any{}), "input.claims[0]", userErrorOneFieldRequired},
		{"claim with two fields", merchantKey, claimsOf(ageOver(18), ageOver(21),
			map[string]any{"ageOver": map[string]any{}, "nextSalaryDate": map[string]any{}}), "input.claims[2]", userErrorOneFieldRequired},
		{"age zero", merchantKey, claimsOf(ageOver(0)), "input.claims[0].ageOver.minimumAge", userErrorOutOfRange},
		{"age 151", merchantKey, claimsOf(ageOver(151)), "input.claims[0].ageOver.minimumAge", userErrorOutOfRange},
		{"amount not decimal", merchantKey, claimsOf(funds("five", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"amount exponent", merchantKey, claimsOf(funds("5e2", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"amount separator", merchantKey, claimsOf(funds("1,000.00", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"amount empty", merchantKey, claimsOf(funds("", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"amount negative", merchantKey, claimsOf(funds("-5.00", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorOutOfRange},
		{"amount minus zero", merchantKey, claimsOf(funds("-0", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorOutOfRange},
		{"pence fractions", merchantKey, claimsOf(funds("500.001", "GBP")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"yen decimals", merchantKey, claimsOf(funds("500.5", "JPY")), "input.claims[0].fundsAtLeast.amount", userErrorInvalidFormat},
		{"currency lower case", merchantKey, claimsOf(funds("500.00", "gbp")), "input.claims[0].fundsAtLeast.currency", userErrorInvalidFormat},
		{"currency two letters", merchantKey, claimsOf(funds("500.00", "GB")), "input.claims[0].fundsAtLeast.currency", userErrorInvalidFormat},
		{"currency four letters", merchantKey, claimsOf(funds("500.00", "GBPX")), "input.claims[0].fundsAtLeast.currency", userErrorInvalidFormat},
		{"postcode empty", merchantKey, claimsOf(postCode("")), "input.claims[0].addressMatches.postCode", userErrorBlank},
		{"postcode spaces", merchantKey, claimsOf(postCode("   ")), "input.claims[0].addressMatches.postCode", userErrorBlank},
		{"postcode long", merchantKey, claimsOf(postCode("SW1A 1AA SW1A 1AA")), "input.claims[0].addressMatches.postCode", userErrorTooLong},
		{"cadence false", merchantKey, claimsOf(map[string]any{"nextSalaryDate": map[string]any{"includeCadence": false}}),
			"input.claims[0].nextSalaryDate.includeCadence", userErrorUnsupported},
		{"second funds claim", merchantKey, claimsOf(funds("1.00", "GBP"), funds("2.00", "GBP")), "input.claims[1]", userErrorDuplicate},
		{"same age twice", merchantKey, claimsOf(ageOver(18), postCode("SW1A 1AA"), ageOver(18)), "input.claims[2]", userErrorDuplicate},
		{"second postcode", merchantKey, claimsOf(postCode("SW1A 1AA"), postCode("EC1A 1BB")), "input.claims[1]", userErrorDuplicate},
		{"kind not allowed", lenderKey, claimsOf(funds("1.00", "GBP"), ageOver(18)), "input.claims[1]", userErrorNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newTestServer(t, newFakeConsent(), Options{})
			var data mutationData
			decodeData(t, srv.query(t, tt.apiKey, requestMutation, map[string]any{"input": tt.input}), &data)

			payload := data.RequestAttestation
			if payload.AttestationRequest != nil {
				t.Errorf("attestationRequest = %+v, want null", payload.AttestationRequest)
			}
			if len(payload.UserErrors) != 1 {
				t.Fatalf("userErrors = %+v, want exactly one", payload.UserErrors)
			}
			got := payload.UserErrors[0]
			if dotted := dottedPath(got.Field); dotted != tt.wantField {
				t.Errorf("field = %q (%v), want %q", dotted, got.Field, tt.wantField)
			}
			if got.Code != tt.wantCode {
				t.Errorf("code = %q, want %q", got.Code, tt.wantCode)
			}
			if !strings.HasPrefix(got.Message, tt.wantField+": ") {
				t.Errorf("message = %q, want it to start with %q", got.Message, tt.wantField+": ")
			}
			if srv.consent.createdCount() != 0 {
				t.Error("CreateRequest was called for invalid input")
			}
		})
	}
}

func TestRequestAttestation_allErrorsReported(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	input := map[string]any{"purpose": "", "claims": []any{funds("1.001", "gbp"), postCode("")}}
	var data mutationData
	decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": input}), &data)

	var fields []string
	for _, e := range data.RequestAttestation.UserErrors {
		fields = append(fields, dottedPath(e.Field))
	}
	want := []string{"input.purpose", "input.claims[0].fundsAtLeast.currency", "input.claims[1].addressMatches.postCode"}
	if !reflect.DeepEqual(fields, want) {
		t.Errorf("user error fields = %v, want %v", fields, want)
	}
}

func TestRequestAttestation_postcodeNotEchoed(t *testing.T) {
	t.Parallel()
	srv := newTestServer(t, newFakeConsent(), Options{})
	const secret = "ZZ9Z 9ZZ ZZ9Z 9Z"
	input := claimsOf(postCode(secret + "Z"))
	var data mutationData
	decodeData(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": input}), &data)
	if len(data.RequestAttestation.UserErrors) != 1 {
		t.Fatalf("userErrors = %+v, want one", data.RequestAttestation.UserErrors)
	}
	if msg := data.RequestAttestation.UserErrors[0].Message; strings.Contains(msg, "ZZ9Z") {
		t.Errorf("message %q repeats the postcode", msg)
	}
	if strings.Contains(srv.log.String(), "ZZ9Z") {
		t.Errorf("log repeats the postcode:\n%s", srv.log.String())
	}
}

func TestRequestAttestation_consentErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		err           error
		wantUserError string // user error code, or "" for a GraphQL error
		wantCode      string // extensions.code of the GraphQL error
		wantMessage   string
	}{
		{"invalid", insights.Errorf(insights.ErrInvalid, "purpose must be 1 to 200 characters"), userErrorInvalid, "", "purpose must be 1 to 200 characters"},
		{"forbidden", insights.Errorf(insights.ErrForbidden, "client is not registered"), "", codeForbidden, "client is not registered"},
		{"unavailable", fmt.Errorf("append event: %w", insights.Errorf(insights.ErrUnavailable, "storage is unavailable")), "", codeUnavailable, "storage is unavailable"},
		{"foreign error", errors.New("clickhouse: code 241 memory limit at 10.0.0.7"), "", codeInternal, internalMessage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFakeConsent()
			fake.createErr = tt.err
			srv := newTestServer(t, fake, Options{})
			resp := srv.query(t, merchantKey, requestMutation, map[string]any{"input": claimsOf(ageOver(18))})

			if tt.wantUserError != "" {
				var data mutationData
				decodeData(t, resp, &data)
				errs := data.RequestAttestation.UserErrors
				if len(errs) != 1 || errs[0].Code != tt.wantUserError || errs[0].Message != tt.wantMessage {
					t.Fatalf("userErrors = %+v, want one %s with message %q", errs, tt.wantUserError, tt.wantMessage)
				}
				if !reflect.DeepEqual(errs[0].Field, []string{"input"}) {
					t.Errorf("field = %v, want [input]", errs[0].Field)
				}
				return
			}

			e := onlyError(t, resp)
			if e.code() != tt.wantCode {
				t.Errorf("extensions.code = %q, want %q", e.code(), tt.wantCode)
			}
			if e.Message != tt.wantMessage {
				t.Errorf("message = %q, want %q", e.Message, tt.wantMessage)
			}
		})
	}
}

func TestRequestAttestation_internalErrorLogged(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	fake.createErr = errors.New("clickhouse: connection reset by 10.0.0.7")
	srv := newTestServer(t, fake, Options{})
	e := onlyError(t, srv.query(t, merchantKey, requestMutation, map[string]any{"input": claimsOf(ageOver(18))}))

	if e.code() != codeInternal || e.Message != internalMessage {
		t.Fatalf("error = %+v, want INTERNAL %q", e, internalMessage)
	}
	requestID, _ := e.Extensions["requestId"].(string)
	if len(requestID) != 32 {
		t.Fatalf("extensions.requestId = %q, want 32 hex digits", requestID)
	}
	logs := srv.log.String()
	var logged bool
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, requestID) && strings.Contains(line, "connection reset") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("no error-level log line with request ID %s and the cause:\n%s", requestID, logs)
	}
	if strings.Contains(logs, merchantKey) {
		t.Errorf("log contains the API key:\n%s", logs)
	}
}

func TestAttestationRequest_lookup(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	fake.requests["req_own"] = insights.AttestationRequest{ID: "req_own", ClientID: merchant.ID, Purpose: "Age check",
		Claims: []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, Status: insights.RequestDenied,
		CreatedAt: testNow, ExpiresAt: testNow.Add(time.Minute)}
	fake.requests["req_issued"] = insights.AttestationRequest{ID: "req_issued", ClientID: merchant.ID, Purpose: "Age check",
		Claims: []insights.ClaimRequest{{Kind: insights.ClaimAgeOver, MinimumAge: 18}}, Status: insights.RequestIssued,
		CreatedAt: testNow, ExpiresAt: testNow.Add(time.Minute)}
	fake.attestations["req_issued"] = &consent.Attestation{Token: "eyJhbGciOiJFUzI1NiJ9.eyJhZ2Vfb3ZlciI6dHJ1ZX0.c2ln",
		JTI: "jti_1", IssuedAt: testNow, ExpiresAt: testNow.Add(10 * time.Minute), ClaimNames: []string{"age_over"}}
	fake.requests["req_other"] = insights.AttestationRequest{ID: "req_other", ClientID: lender.ID, Purpose: "Deposit",
		Claims: []insights.ClaimRequest{{Kind: insights.ClaimFundsAtLeast, Amount: 100, Currency: "GBP"}}, Status: insights.RequestPending,
		CreatedAt: testNow, ExpiresAt: testNow.Add(time.Minute)}
	fake.requests["req_broken"] = insights.AttestationRequest{ID: "req_broken", ClientID: merchant.ID, Status: "lost"}
	srv := newTestServer(t, fake, Options{})

	tests := []struct {
		name       string
		id         string
		wantCode   string // extensions.code, or "" for success
		wantStatus string
		wantToken  string
	}{
		{"own request", "req_own", "", "DENIED", ""},
		{"issued request", "req_issued", "", "ISSUED", "eyJhbGciOiJFUzI1NiJ9.eyJhZ2Vfb3ZlciI6dHJ1ZX0.c2ln"},
		{"other client's request", "req_other", codeNotFound, "", ""},
		{"unknown id", "req_nope", codeNotFound, "", ""},
		{"overlong id", strings.Repeat("r", maxIDBytes+1), codeNotFound, "", ""},
		{"unknown stored status", "req_broken", codeInternal, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := srv.query(t, merchantKey, lookupQuery, map[string]any{"id": tt.id})
			if tt.wantCode != "" {
				e := onlyError(t, resp)
				if e.code() != tt.wantCode {
					t.Errorf("extensions.code = %q, want %q", e.code(), tt.wantCode)
				}
				if string(resp.Data) != `{"attestationRequest":null}` {
					t.Errorf("data = %s, want attestationRequest null", resp.Data)
				}
				return
			}

			var data struct{ AttestationRequest requestData }
			decodeData(t, resp, &data)
			got := data.AttestationRequest
			if got.ID != tt.id || got.Status != tt.wantStatus {
				t.Errorf("id, status = %q, %q, want %q, %q", got.ID, got.Status, tt.id, tt.wantStatus)
			}
			if tt.wantToken == "" {
				if got.Attestation != nil {
					t.Errorf("attestation = %+v, want null", got.Attestation)
				}
				return
			}
			want := attestationData{Token: tt.wantToken, JTI: "jti_1", IssuedAt: "2026-12-04T10:15:30.123Z",
				ExpiresAt: "2026-12-04T10:25:30.123Z", ClaimNames: []string{"age_over"}}
			if got.Attestation == nil || !reflect.DeepEqual(*got.Attestation, want) {
				t.Errorf("attestation = %+v, want %+v", got.Attestation, want)
			}
		})
	}
}

func TestAttestationRequest_otherClientSameAsUnknown(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	fake.requests["req_other"] = insights.AttestationRequest{ID: "req_other", ClientID: lender.ID, Status: insights.RequestPending}
	srv := newTestServer(t, fake, Options{})

	other := onlyError(t, srv.query(t, merchantKey, lookupQuery, map[string]any{"id": "req_other"}))
	unknown := onlyError(t, srv.query(t, merchantKey, lookupQuery, map[string]any{"id": "req_nope"}))
	if strings.ReplaceAll(other.Message, "req_other", "ID") != strings.ReplaceAll(unknown.Message, "req_nope", "ID") {
		t.Errorf("messages differ: %q and %q", other.Message, unknown.Message)
	}
}
