// Package store defines the storage engine interface the service runs on and
// the versioned schema migrations. Two engines implement it with one
// ClickHouse SQL dialect: store/chdb (embedded, the default) and store/chserver
// (a ClickHouse server or cluster through clickhouse-go/v2).
package store

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// Param is a ClickHouse query parameter. A query refers to it as
// {name:Type}; the engine binds Value server-side, so values are never
// interpolated into SQL text.
type Param struct {
	Name  string
	Value string
}

// P returns a Param.
func P(name, value string) Param { return Param{Name: name, Value: value} }

// parameterEscaper escapes the characters that ClickHouse's escaped text
// format gives a meaning to.
var parameterEscaper = strings.NewReplacer(
	`\`, `\\`,
	"\t", `\t`,
	"\n", `\n`,
	"\r", `\r`,
	"\x00", `\0`,
)

// stringPlaceholder matches a {name:String} placeholder.
var stringPlaceholder = regexp.MustCompile(`\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*:\s*String\s*\}`)

// stringParameters caches, per query text, the names of its String
// placeholders.
var stringParameters sync.Map // query -> map[string]bool

// EscapeParameterValues returns the values of params as the engines must
// send them. ClickHouse (26.7, through chDB's query parameters and the
// native protocol alike) parses the value of a String parameter in its
// escaped text format, so each value bound to a {name:String} placeholder
// gets its backslashes, tabs and line breaks escaped and is stored as sent.
// Unescaped, "\n" would arrive as a line break and a trailing backslash
// would be rejected. Values of other types are passed unchanged: numbers
// carry no such characters, and an Array(String) literal is parsed with
// the quoting of its own elements.
func EscapeParameterValues(query string, params []Param) []string {
	names, ok := stringParameters.Load(query)
	if !ok {
		found := map[string]bool{}
		for _, m := range stringPlaceholder.FindAllStringSubmatch(query, -1) {
			found[m[1]] = true
		}
		names, _ = stringParameters.LoadOrStore(query, found)
	}
	isString := names.(map[string]bool)

	values := make([]string, len(params))
	for i, p := range params {
		values[i] = p.Value
		if isString[p.Name] {
			values[i] = parameterEscaper.Replace(p.Value)
		}
	}
	return values
}

// Engine runs ClickHouse SQL. Implementations are safe for concurrent use.
//
// Queries select only String, Int64, UInt64, Float64, Bool and Array(String)
// columns, never Nullable ones (cast decimals and dates with toString or
// toUnixTimestamp64Milli), so both engines scan them into the same Go types:
// *string, *int64, *uint64, *float64, *bool and *[]string.
type Engine interface {
	// Exec runs a statement that returns no rows (DDL, INSERT ... SELECT).
	Exec(ctx context.Context, query string, params ...Param) error
	// Query runs a SELECT and returns its rows.
	Query(ctx context.Context, query string, params ...Param) (Rows, error)
	// InsertArrow appends rec to table, matching columns by field name. The
	// rows of one call are written as one insert.
	InsertArrow(ctx context.Context, table string, rec arrow.RecordBatch) error
	// Database returns the name of the database the engine works in.
	Database() string
	// Close releases the engine's connections.
	Close() error
}

// Rows iterates over a query result, in the manner of database/sql.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close() error
}

// ErrUnavailable reports that the storage engine cannot be reached or loaded.
var ErrUnavailable = errors.New("storage unavailable")
