package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/attest"
)

// fuzzHandler returns the API handler over the fake consent service, with
// a real key set so that verifyAttestation runs.
func fuzzHandler(f *testing.F) http.Handler {
	f.Helper()
	keys, err := attest.LoadOrCreateKeys(filepath.Join(f.TempDir(), "keys"))
	if err != nil {
		f.Fatal(err)
	}
	return NewHandler(Options{Consent: newFakeConsent(), PublicKeys: keys.PublicSet, Issuer: "http://127.0.0.1:8080"})
}

// seedBodies returns the request bodies under testdata/graphql.
func seedBodies(f *testing.F) [][]byte {
	f.Helper()
	paths, err := filepath.Glob("testdata/graphql/*.json")
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed request bodies in testdata/graphql: %v", err)
	}
	var bodies [][]byte
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		bodies = append(bodies, bytes.TrimSpace(b))
	}
	return bodies
}

// postBody serves one POST /graphql in process and decodes the response.
func postBody(t *testing.T, h http.Handler, body []byte) (int, gqlResponse, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+merchantKey)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var resp gqlResponse
	if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil {
		t.Fatalf("status %d: response is not JSON: %v\n%s", rec.Code, err, rec.Body.Bytes())
	}
	return rec.Code, resp, rec.Body.Bytes()
}

// checkResponse asserts what holds of every response: a known status, an
// extensions.code on every error, no INTERNAL error for client input, and
// a path starting at the argument on every user error.
func checkResponse(t *testing.T, status int, resp gqlResponse, raw []byte) {
	t.Helper()
	switch status {
	case http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge:
	default:
		t.Fatalf("status %d for client input: %s", status, raw)
	}
	if status != http.StatusOK && len(resp.Errors) != 1 {
		t.Errorf("status %d with %d errors, want one: %s", status, len(resp.Errors), raw)
	}
	for _, e := range resp.Errors {
		switch e.code() {
		case "":
			t.Errorf("error without extensions.code: %s", raw)
		case codeInternal:
			t.Errorf("client input caused an INTERNAL error: %s", raw)
		}
		if e.Message == "" {
			t.Errorf("error without a message: %s", raw)
		}
	}

	var data struct {
		RequestAttestation *struct {
			UserErrors []struct {
				Field   *[]string `json:"field"`
				Message string    `json:"message"`
			} `json:"userErrors"`
		} `json:"requestAttestation"`
	}
	if len(resp.Data) == 0 || json.Unmarshal(resp.Data, &data) != nil || data.RequestAttestation == nil {
		return
	}
	for _, ue := range data.RequestAttestation.UserErrors {
		if ue.Message == "" {
			t.Errorf("user error without a message: %s", raw)
		}
		if ue.Field != nil && (len(*ue.Field) == 0 || (*ue.Field)[0] != "input") {
			t.Errorf("user error field %v does not start at the input argument: %s", *ue.Field, raw)
		}
	}
}

// FuzzDecodeGraphQLRequest checks the request body reader: a known status
// and message for every input, and a decoded request that encodes back to
// the same request.
func FuzzDecodeGraphQLRequest(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
	}
	f.Add([]byte(`{"query":"{ viewer { id } }"} {}`))
	f.Add([]byte(`{"query":1}`))

	f.Fuzz(func(t *testing.T, body []byte) {
		decode := func(b []byte) (graphqlRequest, int, string) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(b))
			return decodeGraphQLRequest(httptest.NewRecorder(), req, DefaultLimits)
		}
		got, status, message := decode(body)
		if status != 0 {
			if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
				t.Errorf("status %d for body %q", status, body)
			}
			if message == "" {
				t.Errorf("status %d without a message", status)
			}
			return
		}
		if got.Query == "" {
			t.Fatalf("accepted a body without a query: %q", body)
		}

		encoded, err := json.Marshal(got)
		if err != nil {
			t.Fatalf("encode accepted request: %v", err)
		}
		again, status, message := decode(encoded)
		if status != 0 {
			t.Fatalf("re-encoded request rejected with %d %s: %s", status, message, encoded)
		}
		if !reflect.DeepEqual(got, again) {
			t.Errorf("round trip changed the request:\n first %#v\nsecond %#v", got, again)
		}
	})
}

// FuzzGraphQLRequest sends whole request bodies through the handler and
// the schema: queries, variables and their coercion into resolver input.
func FuzzGraphQLRequest(f *testing.F) {
	for _, b := range seedBodies(f) {
		f.Add(b)
	}
	h := fuzzHandler(f)
	f.Fuzz(func(t *testing.T, body []byte) {
		status, resp, raw := postBody(t, h, body)
		checkResponse(t, status, resp, raw)
	})
}

// fuzzRequestMutation asks for everything requestAttestation returns, so that
// accepted input can be compared with the request it created.
const fuzzRequestMutation = `mutation($input: RequestAttestationInput!) {
  requestAttestation(input: $input) {
    attestationRequest { purpose claims { kind } }
    userErrors { field message code }
  }
}`

// FuzzRequestAttestationInput fuzzes the JSON value of the input variable
// alone, the part of a request a client fills in with user data. Accepted
// input must come back as a request with the purpose and as many claims
// as were sent.
func FuzzRequestAttestationInput(f *testing.F) {
	for _, b := range seedBodies(f) {
		var body struct {
			Variables map[string]json.RawMessage `json:"variables"`
		}
		if err := json.Unmarshal(b, &body); err != nil {
			f.Fatalf("seed %s: %v", b, err)
		}
		if input, ok := body.Variables["input"]; ok {
			f.Add([]byte(input))
		}
	}
	f.Add([]byte(`{"purpose":"Age check","claims":[{"ageOver":null},{"nextSalaryDate":{"includeCadence":null}}],"format":null}`))
	f.Add([]byte(`{"purpose":" ","claims":[{"ageOver":{"minimumAge":0},"fundsAtLeast":{"amount":"1e3","currency":"gbp"}}]}`))
	h := fuzzHandler(f)

	f.Fuzz(func(t *testing.T, input []byte) {
		if !json.Valid(input) {
			return // FuzzGraphQLRequest covers bodies that are not JSON
		}
		body, err := json.Marshal(map[string]any{"query": fuzzRequestMutation, "variables": map[string]json.RawMessage{"input": input}})
		if err != nil {
			t.Fatal(err)
		}
		status, resp, raw := postBody(t, h, body)
		checkResponse(t, status, resp, raw)
		if len(resp.Errors) > 0 {
			return
		}

		var data struct {
			RequestAttestation struct {
				AttestationRequest *struct {
					Purpose string            `json:"purpose"`
					Claims  []json.RawMessage `json:"claims"`
				} `json:"attestationRequest"`
			} `json:"requestAttestation"`
		}
		if err := json.Unmarshal(resp.Data, &data); err != nil {
			t.Fatalf("decode data: %v\n%s", err, raw)
		}
		created := data.RequestAttestation.AttestationRequest
		if created == nil {
			return // rejected with user errors
		}
		var sent struct {
			Purpose string            `json:"purpose"`
			Claims  []json.RawMessage `json:"claims"`
		}
		if err := json.Unmarshal(input, &sent); err != nil {
			t.Fatalf("accepted input that does not decode as an object: %v", err)
		}
		if created.Purpose != strings.TrimSpace(sent.Purpose) && created.Purpose != sent.Purpose {
			t.Errorf("purpose %q came back as %q", sent.Purpose, created.Purpose)
		}
		if len(created.Claims) != len(sent.Claims) {
			t.Errorf("%d claims sent, %d in the created request", len(sent.Claims), len(created.Claims))
		}
	})
}
