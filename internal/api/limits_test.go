package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/consent"
)

// fullIntrospection is an introspection query of the depth GraphQL tools
// send: every type with its fields, arguments, input fields and enum
// values, and type references nested eight levels.
const fullIntrospection = `query Introspection {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

// statusQuery selects every field of a request and its token.
const statusQuery = `query($id: ID!) {
  attestationRequest(id: $id) {
    id status purpose createdAt expiresAt consentUrl
    claims {
      kind
      ... on AgeOverClaim { minimumAge }
      ... on FundsAtLeastClaim { amount currency }
      ... on AddressMatchesClaim { postCode }
      ... on NextSalaryDateClaim { includeCadence }
      ... on AffordabilityClaim { months }
    }
    attestation { token format jti issuedAt expiresAt claimNames }
  }
}`

func TestQueryCost_values(t *testing.T) {
	costs, err := newCostChecker()
	if err != nil {
		t.Fatal(err)
	}
	aliased := func(n int) string {
		var b strings.Builder
		b.WriteString("{")
		for i := range n {
			b.WriteString(" a")
			b.WriteString(strings.Repeat("x", i+1))
			b.WriteString(": viewer { id name allowedClaims }")
		}
		b.WriteString(" }")
		return b.String()
	}
	// Each fragment spreads the next twice, so the document names 2^20
	// viewer selections in about a kilobyte.
	var doubling strings.Builder
	doubling.WriteString("{ ...F0 } fragment F20 on Query { viewer { id } }")
	for i := range 20 {
		next := strconv.Itoa(i + 1)
		doubling.WriteString(" fragment F" + strconv.Itoa(i) + " on Query { ...F" + next + " ...F" + next + " }")
	}

	tests := []struct {
		name        string
		query       string
		operation   string
		want        int
		introspects bool
	}{
		{"scalar field", "{ viewer { id } }", "", 2, false},
		// claims is a list: 1 + 10 x (kind + 2 fields of the fragment).
		{"list multiplies", `{ attestationRequest(id: "r") { claims { kind ... on FundsAtLeastClaim { amount currency } } } }`, "", 1 + 1 + 10*3, false},
		{"fragment counted at each spread", "{ a: viewer { ...C } b: viewer { ...C } } fragment C on Client { id name }", "", 6, false},
		{"named operation", "query A { viewer { id } } query B { viewer { id name } }", "B", 3, false},
		{"status query", statusQuery, "", 1 + 6 + (1 + 10*7) + (1 + 6), false},
		{"typename", "{ __typename }", "", 1, false},
		{"introspection", fullIntrospection, "", 0, true},
		{"type lookup", `{ __type(name: "Client") { name fields { name } } }`, "", 4, true},
		{"hundred aliases", aliased(100), "", 100 * 4, false},
		{"fragment cycle", "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A viewer { id } }", "", 2, false},
		{"unknown operation", "query A { viewer { id } }", "B", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cost, introspects, err := costs.queryCost(tt.query, tt.operation)
			if err != nil {
				t.Fatalf("queryCost: %v", err)
			}
			if tt.want != 0 && cost != tt.want {
				t.Errorf("cost = %d, want %d", cost, tt.want)
			}
			if introspects != tt.introspects {
				t.Errorf("introspects = %t, want %t", introspects, tt.introspects)
			}
			if tt.name == "introspection" && (cost < 50 || cost > DefaultLimits.MaxCost/2) {
				t.Errorf("introspection cost = %d, want well under the default limit %d", cost, DefaultLimits.MaxCost)
			}
		})
	}

	cost, _, err := costs.queryCost(doubling.String(), "")
	if err != nil {
		t.Fatal(err)
	}
	if cost < 1<<20 {
		t.Errorf("doubling fragments cost %d, want at least 2^20", cost)
	}
	if _, _, err := costs.queryCost("{ viewer { id }", ""); err == nil {
		t.Error("queryCost accepted a query without its closing brace")
	}
}

func TestGraphQLLimits_rejections(t *testing.T) {
	fake := newFakeConsent()
	srv := newTestServer(t, fake, Options{Limits: Limits{MaxCost: 30, MaxVariablesBytes: 100, MaxDepth: 2}})

	// Depth hidden in fragments: the query shows one level, and the
	// fragments add two.
	deepFragments := `{ attestationRequest(id: "r") { ...A } }
fragment A on AttestationRequest { attestation { ...B } }
fragment B on Attestation { token }`
	deeperFragments := `{ attestationRequest(id: "r") { ...A } }
fragment A on AttestationRequest { claims { ...B } }
fragment B on RequestedClaim { ... on AgeOverClaim { minimumAge } kind }`

	tests := []struct {
		name      string
		query     string
		variables map[string]any
		status    int
		code      string
		message   string
	}{
		{"cost over limit", `{ attestationRequest(id: "r") { claims { kind ... on FundsAtLeastClaim { amount currency } } } }
`, nil, http.StatusOK, codeValidationFailed, "query cost 32"},
		{"aliases over limit", "{ " + aliasViewers(13) + " }", nil, http.StatusOK, codeValidationFailed, "exceeds the limit of 30"},
		{"variables over limit", "query($id: ID!) { attestationRequest(id: $id) { id } }", map[string]any{"id": strings.Repeat("r", 120)}, http.StatusRequestEntityTooLarge, codeBadRequest, "over the limit of 100 bytes"},
		{"depth in fragments", deepFragments + "\n", nil, http.StatusOK, codeValidationFailed, ""},
		{"depth through inline fragment", deeperFragments, nil, http.StatusOK, codeValidationFailed, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := json.Marshal(map[string]any{"query": tt.query, "variables": tt.variables})
			if err != nil {
				t.Fatal(err)
			}
			resp, raw := srv.post(t, "application/json", merchantKey, strings.NewReader(string(body)))
			if resp.StatusCode != tt.status {
				t.Fatalf("status = %d, want %d: %s", resp.StatusCode, tt.status, raw)
			}
			var decoded gqlResponse
			if err := json.Unmarshal(raw, &decoded); err != nil {
				t.Fatal(err)
			}
			if len(decoded.Errors) == 0 {
				t.Fatalf("no error: %s", raw)
			}
			if got := decoded.Errors[0].code(); got != tt.code {
				t.Errorf("code = %q, want %q: %s", got, tt.code, raw)
			}
			if !strings.Contains(decoded.Errors[0].Message, tt.message) {
				t.Errorf("message = %q, want it to contain %q", decoded.Errors[0].Message, tt.message)
			}
		})
	}
}

func aliasViewers(n int) string {
	var b strings.Builder
	for i := range n {
		b.WriteString("v" + strconv.Itoa(i) + ": viewer { id name allowedClaims } ")
	}
	return b.String()
}

func TestGraphQLLimits_withinLimits(t *testing.T) {
	srv := newTestServer(t, newFakeConsent(), Options{})
	resp := srv.query(t, merchantKey, fullIntrospection, nil)
	if len(resp.Errors) != 0 {
		t.Fatalf("introspection rejected under the default limits: %+v", resp.Errors)
	}
	if !strings.Contains(string(resp.Data), `"RequestAttestationInput"`) {
		t.Errorf("introspection data lacks the input types: %.200s", resp.Data)
	}
	resp = srv.query(t, merchantKey, statusQuery, map[string]any{"id": "req_unknown"})
	for _, e := range resp.Errors {
		if e.code() == codeValidationFailed {
			t.Errorf("status query rejected under the default limits: %+v", e)
		}
	}
}

func TestGraphQLLimits_introspectionDisabled(t *testing.T) {
	srv := newTestServer(t, newFakeConsent(), Options{Limits: Limits{DisableIntrospection: true}})
	for _, query := range []string{fullIntrospection, `{ __type(name: "Client") { name } }`, "{ viewer { id } ...S } fragment S on Query { __schema { types { name } } }"} {
		resp := srv.query(t, merchantKey, query, nil)
		if len(resp.Errors) != 1 || resp.Errors[0].code() != codeValidationFailed || !strings.Contains(resp.Errors[0].Message, "introspection is disabled") {
			t.Errorf("query %.40q: errors %+v, want one GRAPHQL_VALIDATION_FAILED saying introspection is disabled", query, resp.Errors)
		}
	}
	resp := srv.query(t, merchantKey, "{ viewer { id __typename } }", nil)
	if len(resp.Errors) != 0 {
		t.Errorf("__typename rejected with introspection disabled: %+v", resp.Errors)
	}
}

// slowConsent blocks ClientRequest until its context ends.
type slowConsent struct{ *fakeConsent }

func (s slowConsent) ClientRequest(ctx context.Context, client insights.Client, id string) (insights.AttestationRequest, *consent.Attestation, error) {
	<-ctx.Done()
	return insights.AttestationRequest{}, nil, ctx.Err()
}

func TestGraphQLLimits_timeout(t *testing.T) {
	fake := newFakeConsent()
	httpSrv := httptest.NewServer(NewHandler(Options{Consent: slowConsent{fake}, Limits: Limits{Timeout: 200 * time.Millisecond}}))
	t.Cleanup(httpSrv.Close)
	srv := &testServer{url: httpSrv.URL, consent: fake, log: &logBuffer{}}
	start := time.Now()
	resp := srv.query(t, merchantKey, `{ attestationRequest(id: "req_1") { id } }`, nil)
	elapsed := time.Since(start)
	if elapsed > 5*time.Second {
		t.Errorf("request took %s with a 200ms execution timeout", elapsed)
	}
	if len(resp.Errors) != 1 {
		t.Fatalf("errors = %+v, want one", resp.Errors)
	}
	e := resp.Errors[0]
	if e.code() != codeUnavailable {
		t.Errorf("code = %q, want %q", e.code(), codeUnavailable)
	}
	if !strings.Contains(e.Message, "did not finish within 200ms") {
		t.Errorf("message = %q, want the timeout stated", e.Message)
	}
	if id, _ := e.Extensions[extensionRequestIDKey].(string); id == "" {
		t.Errorf("timeout error has no requestId: %+v", e.Extensions)
	}
	// srv.query has checked that the status is 503 with Retry-After,
	// because the only error is UNAVAILABLE.
}
