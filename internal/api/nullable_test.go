package api

import (
	"encoding/json"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/vektah/gqlparser/v2"
	gqlast "github.com/vektah/gqlparser/v2/ast"

	"github.com/openbanking-insights/insights"
	"github.com/openbanking-insights/insights/internal/attest"
)

// allClaimsKey authenticates a client registered for every claim kind, so
// that no claim input is rejected as NOT_ALLOWED before its fields are read.
const allClaimsKey = "ik_test_all_claims"

// baseClaims is a valid value of each claim input type, under the
// ClaimRequestInput field that selects it.
var baseClaims = map[string]struct {
	field string
	value map[string]any
}{
	"AgeOverInput":        {"ageOver", map[string]any{"minimumAge": 21}},
	"FundsAtLeastInput":   {"fundsAtLeast", map[string]any{"amount": "500.00", "currency": "GBP"}},
	"AddressMatchesInput": {"addressMatches", map[string]any{"postCode": "LS6 2QT"}},
	"NextSalaryDateInput": {"nextSalaryDate", map[string]any{"includeCadence": true}},
	"AffordabilityInput":  {"affordability", map[string]any{"months": 6}},
}

// baseInput returns a valid RequestAttestationInput with one claim.
func baseInput(claim map[string]any) map[string]any {
	return map[string]any{"purpose": "Checks for your order", "claims": []any{claim}}
}

// requestSelection selects what the created request shows of its input,
// leaving out the ID, which differs between two requests.
const requestSelection = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) {
    attestationRequest { status purpose claims { kind } }
    userErrors { field message code }
  }
}`

// nullableInputCase is one nullable input field or argument: the request
// that omits it and the same request with an explicit null.
type nullableInputCase struct {
	name             string
	query            string
	omitted, withNil map[string]any
}

// nullableInputCases builds a case for every nullable argument of the
// Query and Mutation fields and every nullable field of the input types
// that requestAttestation reads, from the schema itself, so that a new
// nullable field gets a case without editing this test.
func nullableInputCases(t *testing.T, token string) []nullableInputCase {
	t.Helper()
	schema, err := gqlparser.LoadSchema(&gqlast.Source{Name: "schema.graphql", Input: insights.Schema})
	if err != nil {
		t.Fatal(err)
	}
	var cases []nullableInputCase

	// Arguments of the root fields.
	for _, root := range []*gqlast.Definition{schema.Query, schema.Mutation} {
		for _, field := range root.Fields {
			for _, arg := range field.Arguments {
				if arg.Type.NonNull {
					continue
				}
				switch field.Name {
				case "verifyAttestation":
					query := `query($token: String!, $v: ` + arg.Type.String() + `) { verifyAttestation(token: $token, ` + arg.Name + `: $v) { valid reason claimNames expiresAt } }`
					cases = append(cases, nullableInputCase{
						name:    "Query.verifyAttestation." + arg.Name,
						query:   query,
						omitted: map[string]any{"token": token},
						withNil: map[string]any{"token": token, "v": nil},
					})
				default:
					t.Errorf("%s.%s has the nullable argument %s: add a request for it to nullableInputCases", root.Name, field.Name, arg.Name)
				}
			}
		}
	}

	// Fields of RequestAttestationInput and of the claim inputs.
	input := schema.Types["RequestAttestationInput"]
	for _, f := range input.Fields {
		if f.Type.NonNull {
			continue
		}
		omitted := baseInput(map[string]any{"ageOver": map[string]any{}})
		withNil := baseInput(map[string]any{"ageOver": map[string]any{}})
		withNil[f.Name] = nil
		cases = append(cases, nullableInputCase{"RequestAttestationInput." + f.Name, requestSelection,
			map[string]any{"input": omitted}, map[string]any{"input": withNil}})
	}
	for _, f := range schema.Types["ClaimRequestInput"].Fields {
		base, ok := baseClaims[f.Type.Name()]
		if !ok {
			t.Errorf("ClaimRequestInput.%s has type %s without a base value in baseClaims", f.Name, f.Type.Name())
			continue
		}
		// A null claim field beside the one that is set must read as unset.
		other := map[string]any{base.field: base.value}
		withNil := map[string]any{base.field: base.value}
		for _, g := range schema.Types["ClaimRequestInput"].Fields {
			if g.Name != f.Name {
				withNil[g.Name] = nil
			}
		}
		cases = append(cases, nullableInputCase{"ClaimRequestInput nulls beside " + f.Name, requestSelection,
			map[string]any{"input": baseInput(other)}, map[string]any{"input": baseInput(withNil)}})

		for _, g := range schema.Types[f.Type.Name()].Fields {
			if g.Type.NonNull {
				continue
			}
			omitted, withNil := map[string]any{}, map[string]any{}
			for k, v := range base.value {
				if k != g.Name {
					omitted[k], withNil[k] = v, v
				}
			}
			withNil[g.Name] = nil
			cases = append(cases, nullableInputCase{f.Type.Name() + "." + g.Name, requestSelection,
				map[string]any{"input": baseInput(map[string]any{base.field: omitted})},
				map[string]any{"input": baseInput(map[string]any{base.field: withNil})}})
		}
	}
	sort.Slice(cases, func(i, j int) bool { return cases[i].name < cases[j].name })
	return cases
}

// TestNullableInputs_nullMeansOmitted checks the rule the schema states for
// every nullable argument and input field ("Absent or null means ..."):
// an explicit null gives the same response, and passes the same input to
// the consent service, as leaving the field out.
func TestNullableInputs_nullMeansOmitted(t *testing.T) {
	keys, err := attest.LoadOrCreateKeys(filepath.Join(t.TempDir(), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	issuer := &attest.Issuer{Keys: keys, Issuer: "http://127.0.0.1:8080"}
	issued, err := issuer.Issue("customer-1", merchant.ID,
		[]insights.ClaimResult{{Request: insights.ClaimRequest{Kind: insights.ClaimAgeOver, MinimumAge: 18}, Available: true, Holds: true}}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	fake := newFakeConsent()
	fake.clients[allClaimsKey] = insights.Client{ID: "cli_all", Name: "All Claims",
		AllowedClaims: []insights.ClaimKind{insights.ClaimAgeOver, insights.ClaimFundsAtLeast, insights.ClaimAddressMatches,
			insights.ClaimNextSalaryDate, insights.ClaimAffordability}}
	srv := newTestServer(t, fake, Options{PublicKeys: keys.PublicSet, Issuer: "http://127.0.0.1:8080"})

	cases := nullableInputCases(t, issued.Token)
	if len(cases) < 10 {
		t.Fatalf("found %d nullable inputs in the schema, want at least 10", len(cases))
	}
	created := 0
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			send := func(variables map[string]any) (string, any) {
				before := fake.createdCount()
				resp := srv.query(t, allClaimsKey, tc.query, variables)
				body, err := json.Marshal(resp)
				if err != nil {
					t.Fatal(err)
				}
				fake.mu.Lock()
				defer fake.mu.Unlock()
				if len(fake.created) == before {
					return string(body), nil
				}
				return string(body), []any{fake.created[len(fake.created)-1], fake.tokens[len(fake.tokens)-1]}
			}
			omittedBody, omittedInput := send(tc.omitted)
			if omittedInput != nil {
				created++
			}
			nullBody, nullInput := send(tc.withNil)
			if omittedBody != nullBody {
				t.Errorf("responses differ\nomitted: %s\n   null: %s", omittedBody, nullBody)
			}
			if !reflect.DeepEqual(omittedInput, nullInput) {
				t.Errorf("consent service input differs\nomitted: %+v\n   null: %+v", omittedInput, nullInput)
			}
			if strings.Contains(nullBody, codeInternal) {
				t.Errorf("explicit null caused an INTERNAL error: %s", nullBody)
			}
		})
	}
	// Most base inputs are valid, so the comparison covers created
	// requests and not only rejections.
	if created < len(cases)/2 {
		t.Errorf("%d of %d cases created a request; the base inputs are wrong", created, len(cases))
	}
}

// TestNullableInputs_documentedDefaults checks the values that the schema
// documents for an absent or null field.
func TestNullableInputs_documentedDefaults(t *testing.T) {
	fake := newFakeConsent()
	srv := newTestServer(t, fake, Options{})
	tests := []struct {
		name  string
		input map[string]any
		check func(t *testing.T, claim insights.ClaimRequest)
	}{
		{"minimumAge null means 18", baseInput(map[string]any{"ageOver": map[string]any{"minimumAge": nil}}),
			func(t *testing.T, c insights.ClaimRequest) {
				if c.MinimumAge != 18 {
					t.Errorf("MinimumAge = %d, want 18", c.MinimumAge)
				}
			}},
		{"minimumAge absent means 18", baseInput(map[string]any{"ageOver": map[string]any{}}),
			func(t *testing.T, c insights.ClaimRequest) {
				if c.MinimumAge != 18 {
					t.Errorf("MinimumAge = %d, want 18", c.MinimumAge)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fake.createdCount()
			resp := srv.query(t, merchantKey, requestSelection, map[string]any{"input": tt.input})
			if len(resp.Errors) != 0 {
				t.Fatalf("errors: %+v", resp.Errors)
			}
			if fake.createdCount() != before+1 {
				t.Fatalf("no request created: %s", resp.Data)
			}
			fake.mu.Lock()
			claims := fake.created[len(fake.created)-1]
			fake.mu.Unlock()
			if len(claims) != 1 {
				t.Fatalf("claims = %+v, want one", claims)
			}
			tt.check(t, claims[0])
		})
	}
}
