package chserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/openbanking-insights/insights/internal/store"
)

const testPassword = "s3cret-Passw0rd"

func TestOpen_invalidDSN(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		want string
	}{
		{"ftp scheme", "ftp://user:" + testPassword + "@127.0.0.1:8123/insights", "want clickhouse://"},
		{"http database with dash", "http://user:" + testPassword + "@127.0.0.1:8123/my-db", `invalid database name "my-db"`},
		{"no scheme", "127.0.0.1:9000", "want clickhouse://"},
		{"no host", "clickhouse://user:" + testPassword + "@/insights", "invalid ClickHouse DSN"},
		{"bad dial timeout", "clickhouse://user:" + testPassword + "@127.0.0.1:9000/insights?dial_timeout=soon", "invalid ClickHouse DSN"},
		{"database with dash", "clickhouse://user:" + testPassword + "@127.0.0.1:9000/my-db", `invalid database name "my-db"`},
		{"database with backtick", "clickhouse://127.0.0.1:9000/a%60b", "invalid database name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			_, err := Open(context.Background(), tt.dsn, slog.New(slog.NewTextHandler(&logs, nil)))
			if err == nil {
				t.Fatal("Open returned no error")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error %q wraps ErrUnavailable; an invalid DSN is a configuration error", err)
			}
			if strings.Contains(err.Error()+logs.String(), testPassword) {
				t.Errorf("password appears in error %q or logs %q", err, logs.String())
			}
		})
	}
}

// closedPort returns a loopback port with no listener.
func closedPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	return port
}

// hangUpServer accepts connections on loopback and closes each at once, as
// a server that crashes or a proxy without a backend does.
func hangUpServer(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

func TestOpen_unreachable(t *testing.T) {
	tests := []struct {
		name   string
		scheme string
		port   int
	}{
		{"connection refused", "clickhouse", closedPort(t)},
		{"connection closed by server", "clickhouse", hangUpServer(t)},
		{"http connection refused", "http", closedPort(t)},
		{"http connection closed by server", "http", hangUpServer(t)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			dsn := fmt.Sprintf("%s://insights:%s@127.0.0.1:%d/insights?dial_timeout=2s", tt.scheme, testPassword, tt.port)
			e, err := Open(context.Background(), dsn, slog.New(slog.NewTextHandler(&logs, nil)))
			if err == nil {
				e.Close()
				t.Fatal("Open returned no error")
			}
			if !errors.Is(err, store.ErrUnavailable) {
				t.Errorf("error %q does not wrap store.ErrUnavailable", err)
			}
			if !strings.Contains(err.Error(), fmt.Sprintf("127.0.0.1:%d", tt.port)) {
				t.Errorf("error %q does not name the host", err)
			}
			if strings.Contains(err.Error()+logs.String(), testPassword) {
				t.Errorf("password appears in error %q or logs %q", err, logs.String())
			}
		})
	}
}

func TestClassify_errors(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		unavailable bool
	}{
		{"server exception", &clickhouse.Exception{Code: 60, Message: "Unknown table"}, false},
		{"wrapped server exception", fmt.Errorf("clickhouse query: %w", &clickhouse.Exception{Code: 62}), false},
		{"context canceled", fmt.Errorf("clickhouse query: %w", context.Canceled), false},
		{"plain error", errors.New("clickhouse [Append]: converting []int32 to Int64 is unsupported"), false},
		{"acquire timeout", clickhouse.ErrAcquireConnTimeout, true},
		{"EOF", fmt.Errorf("read: %w", io.EOF), true},
		{"unexpected EOF", io.ErrUnexpectedEOF, true},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: &os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}}, true},
		{"connection reset", fmt.Errorf("write: %w", syscall.ECONNRESET), true},
		{"broken pipe", syscall.EPIPE, true},
		{"closed connection", net.ErrClosed, true},
		{"already unavailable", fmt.Errorf("%w: ping", store.ErrUnavailable), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if !errors.Is(got, tt.err) {
				t.Errorf("classify(%v) = %v, which no longer wraps the original error", tt.err, got)
			}
			if errors.Is(got, store.ErrUnavailable) != tt.unavailable {
				t.Errorf("classify(%v) = %v, unavailable = %v, want %v", tt.err, got, !tt.unavailable, tt.unavailable)
			}
		})
	}
	if classify(nil) != nil {
		t.Error("classify(nil) is not nil")
	}
}

func TestWithParameters_bound(t *testing.T) {
	ctx, err := withParameters(context.Background(), "SELECT {customer:String}, {from:String}", []store.Param{store.P("customer", "c-1"), store.P("from", "2024-01-01")})
	if err != nil {
		t.Fatalf("withParameters: %v", err)
	}
	if ctx == context.Background() {
		t.Error("withParameters returned the parent context for two parameters")
	}

	same, err := withParameters(context.Background(), "SELECT 1", nil)
	if err != nil || same != context.Background() {
		t.Errorf("withParameters(nil) = %v, %v; want the parent context", same, err)
	}
}

func TestWithParameters_invalid(t *testing.T) {
	tests := []struct {
		name   string
		params []store.Param
		want   string
	}{
		{"duplicate", []store.Param{store.P("customer", "a"), store.P("customer", "b")}, `query parameter "customer" given twice`},
		{"empty name", []store.Param{store.P("", "a")}, `invalid query parameter name ""`},
		{"brace in name", []store.Param{store.P("a}", "a")}, `invalid query parameter name "a}"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := withParameters(context.Background(), "SELECT 1", tt.params)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("withParameters error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// failingRows is a driver.Rows whose reading ends with err.
type failingRows struct {
	driver.Rows
	err error
}

func (r failingRows) Err() error { return r.err }

func TestRowsErr_classified(t *testing.T) {
	broken := &rows{Rows: failingRows{err: io.ErrUnexpectedEOF}}
	if err := broken.Err(); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Err() = %v, want store.ErrUnavailable for a connection that broke mid-read", err)
	}
	failed := &rows{Rows: failingRows{err: &clickhouse.Exception{Code: 241, Message: "Memory limit exceeded"}}}
	if err := failed.Err(); err == nil || errors.Is(err, store.ErrUnavailable) {
		t.Errorf("Err() = %v, want a server exception not marked unavailable", err)
	}
	done := &rows{Rows: failingRows{}}
	if err := done.Err(); err != nil {
		t.Errorf("Err() = %v, want nil", err)
	}
}

func TestInsertQuery_quoted(t *testing.T) {
	got := insertQuery("transactions", []string{"customer_id", "amount"})
	want := "INSERT INTO `transactions` (`customer_id`, `amount`)"
	if got != want {
		t.Errorf("insertQuery = %q, want %q", got, want)
	}
}

// record builds a record of fields with rows rows, every value null, and
// releases it when the test ends.
func record(t *testing.T, fields []arrow.Field, rows int) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	defer b.Release()
	for range rows {
		for i := range fields {
			b.Field(i).AppendNull()
		}
	}
	rec := b.NewRecordBatch()
	t.Cleanup(rec.Release)
	return rec
}

func TestInsertArrow_rejectsBeforeConnecting(t *testing.T) {
	str := arrow.BinaryTypes.String
	tests := []struct {
		name   string
		table  string
		fields []arrow.Field
		want   string
	}{
		{"table with dot", "other.transactions", []arrow.Field{{Name: "a", Type: str}}, `invalid table name "other.transactions"`},
		{"table with backtick", "t`x", []arrow.Field{{Name: "a", Type: str}}, "invalid table name"},
		{"column with space", "transactions", []arrow.Field{{Name: "customer id", Type: str}}, `invalid column name "customer id"`},
		{"duplicate column", "transactions", []arrow.Field{{Name: "a", Type: str}, {Name: "a", Type: str}}, "column a appears twice"},
		{"unsupported type", "transactions", []arrow.Field{{Name: "a", Type: arrow.BinaryTypes.Binary}}, "column a: Arrow type binary is not supported"},
		{"no fields", "transactions", nil, "record has no fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The zero Engine has no connection: reaching the server would
			// panic, so these errors must come first.
			var e Engine
			err := e.InsertArrow(context.Background(), tt.table, record(t, tt.fields, 1))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("InsertArrow error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestInsertArrow_emptyRecord(t *testing.T) {
	var e Engine
	rec := record(t, []arrow.Field{{Name: "customer_id", Type: arrow.BinaryTypes.String}}, 0)
	if err := e.InsertArrow(context.Background(), "transactions", rec); err != nil {
		t.Errorf("InsertArrow of 0 rows = %v, want nil without contacting the server", err)
	}
}
