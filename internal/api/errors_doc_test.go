package api

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights"
)

// TestErrorsDoc_listsEveryCode fails when a code a client can receive is
// missing from docs/errors.md: the GraphQL extension codes, user error
// codes, verification reasons and registration errors defined in this
// package, the enums of the schema, and the application codes.
func TestErrorsDoc_listsEveryCode(t *testing.T) {
	doc, err := os.ReadFile("../../docs/errors.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([A-Za-z_]+)`").FindAllStringSubmatch(string(doc), -1) {
		documented[m[1]] = true
	}

	codes := map[string]string{} // code: where it is defined
	// String constants of this package whose names mark them as codes.
	prefixes := []string{"code", "userError", "reg"}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			gen, ok := decl.(*ast.GenDecl)
			if !ok || gen.Tok != token.CONST {
				continue
			}
			for _, spec := range gen.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, ident := range vs.Names {
					if i >= len(vs.Values) || !hasAnyPrefix(ident.Name, prefixes) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						continue
					}
					value, _ := strconv.Unquote(lit.Value)
					codes[value] = name + ": " + ident.Name
				}
			}
		}
	}
	// Verification reasons, including those only in failureReasons.
	for _, f := range failureReasons {
		codes[f.reason] = "verify.go: failureReasons"
	}
	// Enum values of the schema that report errors.
	for _, enum := range []string{"UserErrorCode", "VerificationFailureReason"} {
		for _, value := range enumValues(t, insights.Schema, enum) {
			codes[value] = "schema.graphql: " + enum
		}
	}
	// Application codes of the root package.
	for _, c := range []string{insights.ErrInvalid, insights.ErrNotFound, insights.ErrUnauthorized, insights.ErrForbidden,
		insights.ErrConflict, insights.ErrUnavailable, insights.ErrInternal} {
		codes[c] = "errors.go"
	}

	if len(codes) < 40 {
		t.Fatalf("found only %d codes; the scan of the source is broken", len(codes))
	}
	for code, where := range codes {
		if !documented[code] {
			t.Errorf("docs/errors.md does not list `%s` (%s)", code, where)
		}
	}
}

func hasAnyPrefix(s string, prefixes []string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) && len(s) > len(p) && s[len(p)] >= 'A' && s[len(p)] <= 'Z' {
			return true
		}
	}
	return false
}

// enumValues returns the values of a GraphQL enum in schema text.
func enumValues(t *testing.T, schema, name string) []string {
	t.Helper()
	start := strings.Index(schema, "enum "+name+" {")
	if start < 0 {
		t.Fatalf("schema has no enum %s", name)
	}
	body := schema[start:]
	body = body[strings.Index(body, "{")+1 : strings.Index(body, "}")]
	// Drop descriptions, then keep the bare names.
	body = regexp.MustCompile(`(?s)""".*?"""|"[^"\n]*"`).ReplaceAllString(body, "")
	return regexp.MustCompile(`\b[A-Z][A-Z0-9_]+\b`).FindAllString(body, -1)
}
