package chdb_test

import (
	"fmt"
	"strings"
)

// fmtRow joins a row's values with spaces, for comparing whole rows.
func fmtRow(values ...any) string {
	parts := make([]string, len(values))
	for i, v := range values {
		parts[i] = fmt.Sprint(v)
	}
	return strings.Join(parts, " ")
}
