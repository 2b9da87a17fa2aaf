package chhttptest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/shopspring/decimal"

	"github.com/openbanking-insights/insights/internal/store/chdb"
)

func TestMain(m *testing.M) {
	code := m.Run()
	CloseShared()
	os.Exit(code)
}

var databases atomic.Int64

// sharedServer returns the shared server and a new database on it, dropped
// when the test ends.
func sharedServer(t *testing.T) (*Server, string) {
	t.Helper()
	s, err := Shared()
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	database := fmt.Sprintf("chhttptest_%d", databases.Add(1))
	post(t, s, url.Values{}, "CREATE DATABASE "+database, http.StatusOK)
	t.Cleanup(func() {
		resp, body := send(t, s, url.Values{}, "DROP DATABASE IF EXISTS "+database, nil)
		if resp.StatusCode != http.StatusOK {
			t.Logf("drop database %s: %s", database, body)
		}
	})
	return s, database
}

// send posts body to s with params and returns the response and its body.
func send(t *testing.T, s *Server, params url.Values, body string, header http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+s.Addr()+"/?"+params.Encode(), strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %q: %v", body, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read response to %q: %v", body, err)
	}
	return resp, string(out)
}

// post sends query and fails the test unless the status is want.
func post(t *testing.T, s *Server, params url.Values, query string, want int) string {
	t.Helper()
	resp, body := send(t, s, params, query, nil)
	if resp.StatusCode != want {
		t.Fatalf("%s: status %d, want %d; body %q", query, resp.StatusCode, want, body)
	}
	return body
}

func TestServer_pingAndHeaders(t *testing.T) {
	s, _ := sharedServer(t)

	resp, err := http.Get("http://" + s.Addr() + "/ping")
	if err != nil {
		t.Fatal(err)
	}
	ping, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(ping) != "Ok.\n" {
		t.Errorf("/ping returned %q, want %q", ping, "Ok.\n")
	}

	resp, body := send(t, s, url.Values{"query_id": {"q-1"}}, "SELECT 1 + 1", nil)
	if resp.StatusCode != http.StatusOK || body != "2\n" {
		t.Fatalf("SELECT 1 + 1: status %d body %q, want 200 and TabSeparated %q", resp.StatusCode, body, "2\n")
	}
	for header, want := range map[string]string{
		"X-ClickHouse-Format":   "TabSeparated",
		"X-ClickHouse-Query-Id": "q-1",
		"X-ClickHouse-Timezone": s.timezone,
	} {
		if got := resp.Header.Get(header); got != want {
			t.Errorf("%s = %q, want %q", header, got, want)
		}
	}
	if !strings.Contains(resp.Header.Get("X-ClickHouse-Summary"), `"read_rows":"1"`) {
		t.Errorf("X-ClickHouse-Summary = %q, want read_rows 1", resp.Header.Get("X-ClickHouse-Summary"))
	}

	resp, _ = send(t, s, url.Values{}, "SELECT 1 FORMAT JSONEachRow", nil)
	if got := resp.Header.Get("X-ClickHouse-Format"); got != "JSONEachRow" {
		t.Errorf("X-ClickHouse-Format for a FORMAT clause = %q, want JSONEachRow", got)
	}
}

func TestServer_exceptions(t *testing.T) {
	s, database := sharedServer(t)
	tests := []struct {
		name   string
		params url.Values
		query  string
		status int
		code   string
	}{
		{"unknown table", url.Values{"database": {database}}, "SELECT * FROM missing", http.StatusNotFound, "60"},
		{"syntax error", url.Values{}, "SELEC 1", http.StatusBadRequest, "62"},
		{"unknown setting", url.Values{"no_such_setting": {"1"}}, "SELECT 1", http.StatusNotFound, "115"},
		{"unknown database", url.Values{"database": {"no_such_database"}}, "SELECT 1", http.StatusNotFound, "81"},
		{"empty query", url.Values{}, "", http.StatusLengthRequired, "381"},
		{"unknown compression", url.Values{"compress": {"1"}, "network_compression_method": {"snappy"}}, "SELECT 1", http.StatusInternalServerError, "89"},
		{"bad parameter value", url.Values{"param_n": {"x"}}, "SELECT {n:UInt8}", http.StatusInternalServerError, "457"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := send(t, s, tt.params, tt.query, nil)
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d (body %q)", resp.StatusCode, tt.status, body)
			}
			code := resp.Header.Get("X-ClickHouse-Exception-Code")
			if tt.code != "" && code != tt.code {
				t.Errorf("X-ClickHouse-Exception-Code = %q, want %s", code, tt.code)
			}
			if want := "Code: " + code + ". DB::Exception: "; !strings.HasPrefix(body, want) {
				t.Errorf("body %q does not start with %q", body, want)
			}
			if !strings.Contains(body, "(version ") {
				t.Errorf("body %q lacks the server version", body)
			}
		})
	}
}

// The server raises some exceptions itself, so their codes must be the
// ones the engine gives those names.
func TestServer_errorCodesMatchEngine(t *testing.T) {
	s, _ := sharedServer(t)
	codes := map[int]string{
		codeBadArguments:         "BAD_ARGUMENTS",
		codeNotImplemented:       "NOT_IMPLEMENTED",
		codeUnknownFormat:        "UNKNOWN_FORMAT",
		codeQueryTooLarge:        "QUERY_IS_TOO_LARGE",
		codeUnknownCompression:   "UNKNOWN_COMPRESSION_METHOD",
		codeCannotDecompress:     "CANNOT_DECOMPRESS",
		codeSessionNotFound:      "SESSION_NOT_FOUND",
		codeSessionIsLocked:      "SESSION_IS_LOCKED",
		codeHTTPLengthRequired:   "HTTP_LENGTH_REQUIRED",
		codeAuthenticationFailed: "AUTHENTICATION_FAILED",
		codeStdException:         "STD_EXCEPTION",
	}
	for code, name := range codes {
		got := strings.TrimSpace(post(t, s, url.Values{}, fmt.Sprintf("SELECT errorCodeToName(%d)", code), http.StatusOK))
		if got != name {
			t.Errorf("errorCodeToName(%d) = %q, want %s", code, got, name)
		}
	}
}

func TestServer_queryParametersAndDatabase(t *testing.T) {
	s, database := sharedServer(t)
	params := url.Values{"database": {database}}
	post(t, s, params, "CREATE TABLE notes (id UInt32, text String) ENGINE = MergeTree ORDER BY id", http.StatusOK)
	post(t, s, params, "INSERT INTO notes VALUES (1, 'one'), (2, 'two')", http.StatusOK)

	params.Set("param_id", "2")
	params.Set("param_suffix", `\t!`) // escaped text format: a tab, then !
	got := post(t, s, params, "SELECT concat(text, {suffix:String}) FROM notes WHERE id = {id:UInt32}", http.StatusOK)
	if got != "two\\t!\n" { // TabSeparated escapes the tab again
		t.Errorf("parameter query returned %q, want %q", got, "two\\t!\n")
	}
	if got := post(t, s, url.Values{"database": {database}}, "SELECT currentDatabase()", http.StatusOK); got != database+"\n" {
		t.Errorf("currentDatabase() = %q, want %s", got, database)
	}
	if got := post(t, s, url.Values{}, "SELECT currentDatabase()", http.StatusOK); got != "default\n" {
		t.Errorf("currentDatabase() without database = %q, want default", got)
	}
}

func TestServer_insertBodyInFormat(t *testing.T) {
	s, database := sharedServer(t)
	params := url.Values{"database": {database}}
	post(t, s, params, "CREATE TABLE t (a UInt8, b String) ENGINE = MergeTree ORDER BY a", http.StatusOK)

	params.Set("query", "INSERT INTO t FORMAT TabSeparated")
	post(t, s, params, "1\tx\n2\ty\n", http.StatusOK)
	params.Del("query")
	if got := post(t, s, params, "SELECT count(), groupArray(b) FROM (SELECT b FROM t ORDER BY a)", http.StatusOK); got != "2\t['x','y']\n" {
		t.Errorf("rows after insert: %q", got)
	}

	params.Set("query", "INSERT INTO t FORMAT TabSeparated")
	resp, body := send(t, s, params, "3\tz\nnot-a-number\tw\n", nil)
	if resp.StatusCode == http.StatusOK {
		t.Errorf("insert of an invalid row returned 200 (%q)", body)
	}
	params.Del("query")
	if got := post(t, s, params, "SELECT count() FROM t", http.StatusOK); got != "2\n" {
		t.Errorf("count after a rejected insert = %q, want 2: a row of the rejected insert was stored", got)
	}

	resp, body = send(t, s, url.Values{}, "SELECT 1\x00", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "NUL byte") {
		t.Errorf("query with a NUL byte: status %d body %q", resp.StatusCode, body)
	}
}

// Settings in the URL, SET and USE outside a session last for one query.
func TestServer_settingsLastOneQuery(t *testing.T) {
	dir, err := SharedDataDir()
	if err != nil {
		t.Fatal(err)
	}
	// One connection, so every request runs on the same chDB session.
	s, err := Start(Config{Library: chdb.DefaultLibrary(), Path: dir, Connections: 1, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	query := "SELECT getSetting('max_threads')"
	defaultThreads := post(t, s, url.Values{}, query, http.StatusOK)
	if got := post(t, s, url.Values{"max_threads": {"3"}}, query, http.StatusOK); got != "3\n" {
		t.Errorf("max_threads=3 in the URL: getSetting returned %q", got)
	}
	if got := post(t, s, url.Values{}, query, http.StatusOK); got != defaultThreads {
		t.Errorf("after a URL setting: getSetting returned %q, want the default %q", got, defaultThreads)
	}

	post(t, s, url.Values{}, "SET max_threads = 5", http.StatusOK)
	if got := post(t, s, url.Values{}, query, http.StatusOK); got != defaultThreads {
		t.Errorf("after SET outside a session: getSetting returned %q, want the default %q", got, defaultThreads)
	}
	post(t, s, url.Values{}, "USE system", http.StatusOK)
	if got := post(t, s, url.Values{}, "SELECT currentDatabase()", http.StatusOK); got != "default\n" {
		t.Errorf("after USE outside a session: currentDatabase() = %q, want default", got)
	}
}

func TestServer_sessions(t *testing.T) {
	s, _ := sharedServer(t)
	session := url.Values{"session_id": {fmt.Sprintf("test-%d", time.Now().UnixNano())}}
	post(t, s, session, "SET max_threads = 7", http.StatusOK)
	if got := post(t, s, session, "SELECT getSetting('max_threads')", http.StatusOK); got != "7\n" {
		t.Errorf("SET in a session: getSetting returned %q, want 7", got)
	}

	post(t, s, session, "USE system", http.StatusOK)
	if got := post(t, s, session, "SELECT currentDatabase()", http.StatusOK); got != "system\n" {
		t.Errorf("USE in a session: currentDatabase() = %q, want system", got)
	}
	withDatabase := url.Values{"session_id": session["session_id"], "database": {"default"}}
	if got := post(t, s, withDatabase, "SELECT currentDatabase()", http.StatusOK); got != "default\n" {
		t.Errorf("database parameter in a session: currentDatabase() = %q, want default", got)
	}

	missing := url.Values{"session_id": {"no-such-session"}, "session_check": {"1"}}
	resp, body := send(t, s, missing, "SELECT 1", nil)
	if resp.StatusCode != http.StatusInternalServerError || resp.Header.Get("X-ClickHouse-Exception-Code") != "372" {
		t.Errorf("session_check=1 for a new session: status %d body %q, want SESSION_NOT_FOUND", resp.StatusCode, body)
	}

	expiring := url.Values{"session_id": {"expiring"}, "session_timeout": {"1"}}
	post(t, s, expiring, "SELECT 1", http.StatusOK)
	time.Sleep(1100 * time.Millisecond)
	expiring.Set("session_check", "1")
	resp, body = send(t, s, expiring, "SELECT 1", nil)
	if resp.Header.Get("X-ClickHouse-Exception-Code") != "372" {
		t.Errorf("session after its timeout: status %d body %q, want SESSION_NOT_FOUND", resp.StatusCode, body)
	}
}

func TestServer_authentication(t *testing.T) {
	dir, err := SharedDataDir()
	if err != nil {
		t.Fatal(err)
	}
	s, err := Start(Config{Library: chdb.DefaultLibrary(), Path: dir, User: "insights", Password: "test-password", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })

	resp, body := send(t, s, url.Values{}, "SELECT 1", nil)
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("X-ClickHouse-Exception-Code") != "516" {
		t.Errorf("no credentials: status %d body %q, want 403 AUTHENTICATION_FAILED", resp.StatusCode, body)
	}
	resp, _ = send(t, s, url.Values{}, "SELECT 1", http.Header{"X-Clickhouse-User": {"insights"}, "X-Clickhouse-Key": {"wrong"}})
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("wrong password: status %d, want 403", resp.StatusCode)
	}
	resp, body = send(t, s, url.Values{"user": {"insights"}, "password": {"test-password"}}, "SELECT 1", nil)
	if resp.StatusCode != http.StatusOK || body != "1\n" {
		t.Errorf("right credentials: status %d body %q", resp.StatusCode, body)
	}

	dsn := "http://insights:test-password@" + s.Addr() + "/default"
	conn := openClient(t, dsn)
	if err := conn.Ping(context.Background()); err != nil {
		t.Errorf("clickhouse-go with basic authentication: %v", err)
	}
}

func openClient(t *testing.T, dsn string) clickhouse.Conn {
	t.Helper()
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// noteRow is one row of the table the clickhouse-go test writes and reads.
type noteRow struct {
	ID      uint64
	Delta   int64
	Score   float64
	Active  bool
	Tags    []string
	At      time.Time
	Amount  decimal.Decimal
	Comment *string
	Kind    string
}

// clickhouse-go writes Native blocks and reads them back through every
// compression its HTTP transport offers.
func TestServer_clickhouseGo(t *testing.T) {
	s, database := sharedServer(t)
	for _, compression := range []string{"none", "lz4", "zstd", "gzip", "deflate", "br"} {
		t.Run(compression, func(t *testing.T) {
			ctx := context.Background()
			conn := openClient(t, s.DSN(database, "compress="+compression))
			table := "notes_" + compression
			err := conn.Exec(ctx, "CREATE TABLE "+table+` (
				id UInt64, delta Int64, score Float64, active Bool, tags Array(String),
				at DateTime64(3, 'UTC'), amount Decimal(18, 2), comment Nullable(String),
				kind LowCardinality(String)
			) ENGINE = MergeTree ORDER BY id`)
			if err != nil {
				t.Fatalf("create table: %v", err)
			}

			comment := "tab\there"
			want := []noteRow{
				{1, -5, 2.5, true, []string{"a", "b"}, time.Date(2026, 1, 2, 3, 4, 5, 6e6, time.UTC), decimal.New(12345, -2), &comment, "card"},
				{2, 1 << 40, -0.125, false, []string{}, time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC), decimal.NewFromBigInt(big.NewInt(-1), 0), nil, "cash"},
			}
			batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+table)
			if err != nil {
				t.Fatalf("prepare batch: %v", err)
			}
			for _, r := range want {
				if err := batch.Append(r.ID, r.Delta, r.Score, r.Active, r.Tags, r.At, r.Amount, r.Comment, r.Kind); err != nil {
					t.Fatalf("append: %v", err)
				}
			}
			if err := batch.Send(); err != nil {
				t.Fatalf("send batch: %v", err)
			}

			rows, err := conn.Query(ctx, "SELECT * FROM "+table+" WHERE id >= {min:UInt64} ORDER BY id",
				clickhouse.Named("min", "1"))
			if err != nil {
				t.Fatalf("query: %v", err)
			}
			var got []noteRow
			for rows.Next() {
				var r noteRow
				if err := rows.Scan(&r.ID, &r.Delta, &r.Score, &r.Active, &r.Tags, &r.At, &r.Amount, &r.Comment, &r.Kind); err != nil {
					t.Fatalf("scan: %v", err)
				}
				got = append(got, r)
			}
			if err := rows.Err(); err != nil {
				t.Fatalf("rows: %v", err)
			}
			rows.Close()
			if len(got) != len(want) {
				t.Fatalf("read %d rows, want %d", len(got), len(want))
			}
			for i := range want {
				g, w := got[i], want[i]
				same := g.ID == w.ID && g.Delta == w.Delta && g.Score == w.Score && g.Active == w.Active &&
					slices.Equal(g.Tags, w.Tags) && g.At.Equal(w.At) && g.Amount.Equal(w.Amount) &&
					(g.Comment == nil) == (w.Comment == nil) && (g.Comment == nil || *g.Comment == *w.Comment) && g.Kind == w.Kind
				if !same {
					t.Errorf("row %d: got %+v, want %+v", i, g, w)
				}
			}

			err = conn.Exec(ctx, "SELECT * FROM no_such_table")
			var exception *clickhouse.Exception
			if !errors.As(err, &exception) || exception.Code != 60 {
				t.Errorf("query of a missing table returned %v, want a clickhouse.Exception with code 60", err)
			}
		})
	}
}

// Concurrent clients share the pool, and each sees its own parameters and
// settings.
func TestServer_concurrentQueries(t *testing.T) {
	s, database := sharedServer(t)
	conn := openClient(t, s.DSN(database, "compress=lz4"))
	const workers, queries = 6, 15
	errs := make(chan error, workers)
	for w := range workers {
		go func() {
			for q := range queries {
				want := uint64(w*1000 + q)
				ctx := clickhouse.Context(context.Background(),
					clickhouse.WithParameters(clickhouse.Parameters{"n": fmt.Sprint(want)}),
					clickhouse.WithSettings(clickhouse.Settings{"max_threads": w + 1}))
				var got, threads uint64
				row := conn.QueryRow(ctx, "SELECT {n:UInt64}, toUInt64(getSetting('max_threads'))")
				if err := row.Scan(&got, &threads); err != nil {
					errs <- fmt.Errorf("worker %d query %d: %w", w, q, err)
					return
				}
				if got != want || threads != uint64(w+1) {
					errs <- fmt.Errorf("worker %d query %d: got %d with max_threads %d, want %d with %d", w, q, got, threads, want, w+1)
					return
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}
