package api

import (
	"strings"
	"testing"

	graphql "github.com/graph-gophers/graphql-go"

	"github.com/openbanking-insights/insights"
)

const introspectionQuery = `{
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind name description
      fields(includeDeprecated: true) { name description args { name description } }
      inputFields { name description }
      enumValues(includeDeprecated: true) { name description }
    }
  }
}`

type introspectedType struct {
	Kind        string `json:"kind"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Fields      []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Args        []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"args"`
	} `json:"fields"`
	InputFields []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"inputFields"`
	EnumValues []struct {
		Name        string `json:"name"`
		Description string `json:"description"`
	} `json:"enumValues"`
}

// schemaElement is one named element of the schema with its description.
type schemaElement struct {
	path        string // Type, Type.field, Type.field(arg) or Type.VALUE
	name        string
	description string
}

// introspectSchema runs the introspection query over HTTP, without an API
// key, and returns every element of the schema's own types.
func introspectSchema(t *testing.T) []schemaElement {
	t.Helper()
	srv := newTestServer(t, newFakeConsent(), Options{})
	var data struct {
		Schema struct {
			QueryType    struct{ Name string } `json:"queryType"`
			MutationType struct{ Name string } `json:"mutationType"`
			Types        []introspectedType    `json:"types"`
		} `json:"__schema"`
	}
	decodeData(t, srv.queryWithHeader(t, "", introspectionQuery, nil), &data)
	if data.Schema.QueryType.Name != "Query" || data.Schema.MutationType.Name != "Mutation" {
		t.Fatalf("root types = %q, %q, want Query, Mutation", data.Schema.QueryType.Name, data.Schema.MutationType.Name)
	}

	builtIn := map[string]bool{"String": true, "Int": true, "Float": true, "Boolean": true, "ID": true}
	var elements []schemaElement
	for _, typ := range data.Schema.Types {
		if strings.HasPrefix(typ.Name, "__") || builtIn[typ.Name] {
			continue
		}
		elements = append(elements, schemaElement{typ.Name, typ.Name, typ.Description})
		for _, f := range typ.Fields {
			path := typ.Name + "." + f.Name
			elements = append(elements, schemaElement{path, f.Name, f.Description})
			for _, a := range f.Args {
				elements = append(elements, schemaElement{path + "(" + a.Name + ")", a.Name, a.Description})
			}
		}
		for _, f := range typ.InputFields {
			elements = append(elements, schemaElement{typ.Name + "." + f.Name, f.Name, f.Description})
		}
		for _, v := range typ.EnumValues {
			elements = append(elements, schemaElement{typ.Name + "." + v.Name, v.Name, v.Description})
		}
	}
	if len(elements) < 50 {
		t.Fatalf("introspection found %d schema elements, want the whole schema", len(elements))
	}
	return elements
}

func TestSchema_parses(t *testing.T) {
	t.Parallel()
	if _, err := graphql.ParseSchema(insights.Schema, &rootResolver{}, graphql.UseStringDescriptions()); err != nil {
		t.Fatalf("schema.graphql does not match the resolvers: %v", err)
	}
}

func TestSchema_everythingDescribed(t *testing.T) {
	t.Parallel()
	for _, e := range introspectSchema(t) {
		if strings.TrimSpace(e.description) == "" {
			t.Errorf("%s has no description", e.path)
		}
	}
}

// TestSchema_noPersonalData fails when a type, field, argument or enum value
// is named after customer data that must never leave the service. The
// address claim is the one exception: its names carry the client's own
// postcode or address in, a scope and a flag, and a yes/no result out,
// never the customer's address. The whole address reaches a client only
// inside a token, when the customer chose to share it.
func TestSchema_noPersonalData(t *testing.T) {
	t.Parallel()
	forbidden := []string{"balance", "birth", "dob", "address", "transaction", "statement",
		"account", "iban", "sortcode", "counterparty", "payee", "payer"}
	allowed := map[string]bool{
		"addressMatches":      true, // ClaimRequestInput.addressMatches
		"AddressMatchesInput": true,
		"AddressMatchesClaim": true,
		"ADDRESS_MATCHES":     true, // ClaimKind value
		"address":             true, // the address the client submitted, echoed back to it
		"fullAddress":         true, // whether the client asked for the whole address
		"AddressScope":        true, // COUNTRY or REGION
	}

	for _, e := range introspectSchema(t) {
		if allowed[e.name] {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(e.name, "_", ""))
		for _, word := range forbidden {
			if strings.Contains(name, word) {
				t.Errorf("%s is named after %q, which the API must not expose", e.path, word)
			}
		}
	}
}

func TestSchema_introspectionWithoutKey(t *testing.T) {
	t.Parallel()
	fake := newFakeConsent()
	srv := newTestServer(t, fake, Options{})
	resp := srv.queryWithHeader(t, "", `{ __type(name: "Query") { name } }`, nil)
	var data struct {
		Type struct{ Name string } `json:"__type"`
	}
	decodeData(t, resp, &data)
	if data.Type.Name != "Query" {
		t.Errorf("__type.name = %q, want Query", data.Type.Name)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.authCalls != 0 {
		t.Errorf("AuthenticateClient called %d times for introspection, want 0", fake.authCalls)
	}
}
