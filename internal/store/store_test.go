package store_test

import (
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

func TestEscapeParameterValues(t *testing.T) {
	query := "SELECT {s:String}, { spaced : String }, {n:Int64}, {a:Array(String)}, {s:String}"
	tests := []struct {
		name  string
		param store.Param
		want  string
	}{
		{"string with escapes", store.P("s", "a\\b\nc\td\re\x00"), `a\\b\nc\td\re\0`},
		{"spaced placeholder", store.P("spaced", `x\`), `x\\`},
		{"plain string", store.P("s", `it's "quoted"`), `it's "quoted"`},
		{"number", store.P("n", "-12"), "-12"},
		{"array literal", store.P("a", `['it\'s']`), `['it\'s']`},
		{"name not in query", store.P("other", `a\b`), `a\b`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := store.EscapeParameterValues(query, []store.Param{tt.param})
			if got[0] != tt.want {
				t.Errorf("value = %q, want %q", got[0], tt.want)
			}
		})
	}
}
