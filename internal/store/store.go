// Package store defines the storage engine interface the service runs on and
// the versioned schema migrations. Two engines implement it with one
// ClickHouse SQL dialect: store/chdb (embedded, the default) and store/chserver
// (a ClickHouse server or cluster through clickhouse-go/v2).
package store

import (
	"context"
	"errors"

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
