package aspsp

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
)

// legacyEnvelope reads a page as Pull did with encoding/json alone:
// accepted when the body decodes and holds Data, and empty when Data
// decodes as a map with no member.
func legacyEnvelope(body []byte) (accepted, empty bool, self, next string) {
	var env struct {
		Data  json.RawMessage `json:"Data"`
		Links struct {
			Self string `json:"Self"`
			Next string `json:"Next"`
		} `json:"Links"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Data == nil {
		return false, false, "", ""
	}
	var probe struct {
		Data map[string]json.RawMessage `json:"Data"`
	}
	empty = json.Unmarshal(body, &probe) == nil && len(probe.Data) == 0
	return true, empty, env.Links.Self, env.Links.Next
}

func TestReadEnvelope(t *testing.T) {
	tests := []struct {
		name     string
		body     string
		accepted bool
		empty    bool
		next     string
		// legacyDiffers marks bodies whose Data the old probe merged
		// across repeated keys; they are now left to the record decoder.
		legacyDiffers bool
	}{
		{"records", `{"Data":{"Transaction":[{"TransactionId":"t1"}]},"Links":{"Self":"s","Next":"n"},"Meta":{}}`, true, false, "n", false},
		{"empty array of records", `{"Data":{"Transaction":[]},"Links":{"Self":"s"}}`, true, false, "", false},
		{"empty object", `{"Data":{},"Links":{"Self":"s"}}`, true, true, "", false},
		{"empty object with spaces", "{\"Data\" : {\n\t } ,\"Links\":{}}", true, true, "", false},
		{"null data", `{"Data":null}`, true, true, "", false},
		{"data is an array", `{"Data":[]}`, true, false, "", false},
		{"data is a string", `{"Data":"{}"}`, true, false, "", false},
		{"no data", `{"Links":{"Self":"s"}}`, false, false, "", false},
		{"not an object", `[{"Data":{}}]`, false, false, "", false},
		{"html", `<html>maintenance</html>`, false, false, "", false},
		{"truncated", `{"Data":{"Transaction":[{"TransactionId":"t1"}`, false, false, "", false},
		{"bad literal inside data", `{"Data":{"Transaction":[tru]}}`, false, false, "", false},
		{"trailing text", `{"Data":{}} x`, false, false, "", false},
		{"next is a number", `{"Data":{},"Links":{"Next":5}}`, false, false, "", false},
		{"links is null", `{"Data":{"Party":{}},"Links":null}`, true, false, "", false},
		{"invalid UTF-8 in a value", "{\"Data\":{\"Party\":{\"Name\":\"\xff\"}}}", true, false, "", false},
		{"data repeated, last empty", `{"Data":{"Transaction":[]},"Data":{}}`, true, false, "", true},
		{"data repeated, both empty", `{"Data":{},"Data":{}}`, true, false, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env, err := readEnvelope([]byte(tt.body))
			if accepted := err == nil; accepted != tt.accepted {
				t.Fatalf("readEnvelope error = %v, want accepted %v", err, tt.accepted)
			}
			legacyAccepted, legacyEmpty, legacySelf, legacyNext := legacyEnvelope([]byte(tt.body))
			if legacyAccepted != tt.accepted {
				t.Errorf("encoding/json accepted %v, want the same as readEnvelope (%v)", legacyAccepted, tt.accepted)
			}
			if err != nil {
				return
			}
			if got := env.Data.empty(); got != tt.empty {
				t.Errorf("empty = %v, want %v", got, tt.empty)
			}
			if !tt.legacyDiffers && legacyEmpty != tt.empty {
				t.Errorf("encoding/json probe empty = %v, want %v", legacyEmpty, tt.empty)
			}
			if env.Links.Next != tt.next || env.Links.Next != legacyNext || env.Links.Self != legacySelf {
				t.Errorf("links = %+v, want Next %q (encoding/json: Self %q, Next %q)", env.Links, tt.next, legacySelf, legacyNext)
			}
		})
	}
}

func TestPull_pageEmpty(t *testing.T) {
	tests := []struct {
		name  string
		data  string
		empty bool
	}{
		{"records", `{"Transaction":[{"TransactionId":"t1"}]}`, false},
		{"no records", `{"Transaction":[]}`, false},
		{"empty object", `{}`, true},
		{"null", `null`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bank := newFakeBank(t)
			bank.override = transactionsOverride(func(w http.ResponseWriter, r *http.Request, _ int) bool {
				writeEnvelope(w, tt.data, bank.srv.URL+r.URL.RequestURI(), "")
				return true
			})
			var got collected
			out, err := bank.client().Pull(context.Background(), Tokens{Access: "access-1"}, Consent{Permissions: allPermissions}, pullFrom, pullTo, got.sink)
			if err != nil {
				t.Fatalf("Pull: %v", err)
			}
			if len(out.Problems) != 0 {
				t.Errorf("Problems = %q, want none", out.Problems)
			}
			transactions := 0
			for _, p := range got.pages {
				if p.Resource != ResourceTransactions {
					continue
				}
				transactions++
				if p.Empty != tt.empty {
					t.Errorf("page %s: Empty = %v, want %v", p.URL, p.Empty, tt.empty)
				}
			}
			if transactions == 0 {
				t.Fatalf("no transactions page among %v", got.resources())
			}
		})
	}
}
