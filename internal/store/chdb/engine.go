// Package chdb is the embedded storage engine: ClickHouse run in-process
// through chDB's C API (libchdb.so), bound with purego so no cgo is needed.
// Data lives in a directory and survives restarts.
//
// chDB allows one data directory per process, and one connection runs one
// statement at a time, so an Engine keeps a small pool of connections to its
// directory and hands each statement to a free one.
package chdb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/openbanking-insights/insights/internal/store"
)

// Config configures the embedded engine.
type Config struct {
	// Path is the data directory; it is created when missing.
	Path string
	// Database is the ClickHouse database the engine works in; it is
	// created when missing.
	Database string
	// Library is the path of libchdb.so.
	Library string
	// Connections is the pool size; 0 means 2. Two connections gave about
	// 1.45 times the queries per second of one on a 2-core machine; more
	// add memory without adding throughput there.
	Connections int
	Logger      *slog.Logger
}

// serverArgs set server settings of the embedded engine, which apply to
// the whole process.
//
// One merge or mutation at a time: a merge holds read buffers for each of
// its source parts, and a large file load attaches up to 240 parts to
// transactions at once. With chDB's default of four merges at a time on
// two cores, the merges after a 10M-row load took the process above 1 GiB.
// With one at a time, of up to 50 parts each (max_parts_to_merge_at_once
// of transactions), it peaked at 820 to 920 MiB. See "Sixth round" in
// docs/benchmarks.md. The service runs no mutations, and the merges of the
// small tables wait at most for one merge of transactions.
var serverArgs = []string{
	"--background_pool_size=1",
	"--background_merges_mutations_concurrency_ratio=1",
}

// pool is the process-wide set of connections to one data directory.
type pool struct {
	lib   *library
	path  string
	conns chan *conn
	all   []*conn
	refs  int
}

// conn is one chDB connection and the database it last switched to.
type conn struct {
	ptr      *uintptr // chdb_connection*, for chdb_close_conn
	handle   uintptr  // chdb_connection, for statements
	database string
}

var (
	poolMu sync.Mutex
	active *pool
)

// Engine runs statements on the embedded engine in one database.
type Engine struct {
	pool     *pool
	database string
	logger   *slog.Logger
	closed   sync.Once
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open opens (or joins) the process's embedded engine on cfg.Path and
// returns an Engine for cfg.Database. Several Engines may share the process's
// connections, but all of them must use the same Path.
func Open(ctx context.Context, cfg Config) (*Engine, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if !identifier.MatchString(cfg.Database) {
		return nil, fmt.Errorf("invalid database name %q: use letters, digits and _", cfg.Database)
	}
	p, err := acquirePool(cfg)
	if err != nil {
		return nil, err
	}

	e := &Engine{pool: p, database: cfg.Database, logger: cfg.Logger}
	if err := e.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+cfg.Database, false, nil); err != nil {
		e.Close()
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	return e, nil
}

func acquirePool(cfg Config) (*pool, error) {
	poolMu.Lock()
	defer poolMu.Unlock()

	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %q: %w", cfg.Path, err)
	}
	if active != nil {
		if active.path != path {
			return nil, fmt.Errorf("chDB already open on %s in this process; it allows one data directory per process", active.path)
		}
		active.refs++
		return active, nil
	}

	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("%w: create data directory: %v", store.ErrUnavailable, err)
	}
	lib, err := loadLibrary(cfg.Library)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	n := cfg.Connections
	if n <= 0 {
		n = 2
	}

	p := &pool{lib: lib, path: path, conns: make(chan *conn, n), refs: 1}
	for i := 0; i < n; i++ {
		argv, keep := cStrings(append([]string{"chdb", "--path=" + path}, serverArgs...))
		ptr := lib.connect(int32(len(argv)), argv)
		runtime.KeepAlive(keep)
		if ptr == nil || *ptr == 0 {
			p.closeAll()
			return nil, fmt.Errorf("%w: chDB could not open data directory %s (is another process using it?)", store.ErrUnavailable, path)
		}
		c := &conn{ptr: ptr, handle: *ptr}
		p.all = append(p.all, c)
		p.conns <- c
	}
	cfg.Logger.Info("embedded ClickHouse opened", "engine", "chdb", "version", lib.version(), "path", path, "connections", n)
	active = p
	return p, nil
}

func (p *pool) closeAll() {
	for _, c := range p.all {
		p.lib.closeConn(c.ptr)
	}
	p.all = nil
}

// Database returns the engine's database name.
func (e *Engine) Database() string { return e.database }

// WithDatabase returns an Engine on the same connections working in another
// database, which it creates when missing. Tests use it for a fresh database
// per test.
func (e *Engine) WithDatabase(ctx context.Context, database string) (*Engine, error) {
	if !identifier.MatchString(database) {
		return nil, fmt.Errorf("invalid database name %q: use letters, digits and _", database)
	}
	poolMu.Lock()
	e.pool.refs++
	poolMu.Unlock()

	other := &Engine{pool: e.pool, database: database, logger: e.logger}
	if err := other.exec(ctx, "CREATE DATABASE IF NOT EXISTS "+database, false, nil); err != nil {
		other.Close()
		return nil, fmt.Errorf("create database %s: %w", database, err)
	}
	return other, nil
}

// Close releases the engine; the last Engine of the process closes the
// connections, after which another data directory may be opened.
func (e *Engine) Close() error {
	e.closed.Do(func() {
		poolMu.Lock()
		defer poolMu.Unlock()
		e.pool.refs--
		if e.pool.refs > 0 {
			return
		}
		e.pool.closeAll()
		if active == e.pool {
			active = nil
		}
	})
	return nil
}

// acquire takes a free connection switched to the engine's database.
func (e *Engine) acquire(ctx context.Context, useDatabase bool) (*conn, error) {
	var c *conn
	select {
	case c = <-e.pool.conns:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if !useDatabase || c.database == e.database {
		return c, nil
	}
	res := e.pool.lib.queryWithParams(c.handle, "USE "+e.database, "TabSeparated", nil, nil, 0)
	if _, err := e.pool.lib.takeResult(res); err != nil {
		e.pool.conns <- c
		return nil, fmt.Errorf("use database %s: %w", e.database, err)
	}
	c.database = e.database
	return c, nil
}

func (e *Engine) release(c *conn) { e.pool.conns <- c }

// run executes query on a free connection and returns its output in format.
func (e *Engine) run(ctx context.Context, query, format string, useDatabase bool, params []store.Param) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c, err := e.acquire(ctx, useDatabase)
	if err != nil {
		return nil, err
	}
	defer e.release(c)

	names := make([]string, len(params))
	for i, p := range params {
		names[i] = p.Name
	}
	values := store.EscapeParameterValues(query, params)
	namePtrs, nameBufs := cStrings(names)
	valuePtrs, valueBufs := cStrings(values)
	res := e.pool.lib.queryWithParams(c.handle, query, format, namePtrs, valuePtrs, uintptr(len(params)))
	runtime.KeepAlive(nameBufs)
	runtime.KeepAlive(valueBufs)
	out, err := e.pool.lib.takeResult(res)
	if err != nil {
		return nil, fmt.Errorf("chDB: %w", err)
	}
	return out, nil
}

func (e *Engine) exec(ctx context.Context, query string, useDatabase bool, params []store.Param) error {
	_, err := e.run(ctx, query, "TabSeparated", useDatabase, params)
	return err
}

// Exec runs a statement that returns no rows.
func (e *Engine) Exec(ctx context.Context, query string, params ...store.Param) error {
	return e.exec(ctx, query, true, params)
}

// Query runs a SELECT; its rows are read in queryFormat.
func (e *Engine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	out, err := e.run(ctx, query, queryFormat, true, params)
	if err != nil {
		return nil, err
	}
	r, err := newRows(out)
	if err != nil {
		return nil, fmt.Errorf("chDB: %w", err)
	}
	return r, nil
}

// InsertArrow streams rec to table as one ArrowStream insert. For the
// staging tables chDB parsed ArrowStream with less CPU than RowBinary, and
// Native did not beat it clearly. BenchmarkInsertFormat compares the three.
func (e *Engine) InsertArrow(ctx context.Context, table string, rec arrow.RecordBatch) error {
	if !identifier.MatchString(table) {
		return fmt.Errorf("invalid table name %q", table)
	}
	if rec.NumRows() == 0 {
		return nil
	}
	query, err := insertQuery(table, rec.Schema())
	if err != nil {
		return err
	}

	buf := getInsertBuffer()
	defer func() { putInsertBuffer(buf) }()
	if buf, err = appendArrowStream(buf, rec); err != nil {
		return fmt.Errorf("encode %s rows as Arrow: %w", table, err)
	}
	return e.streamInsert(ctx, query, "ArrowStream", buf)
}

// appendArrowStream appends rec to dst as an Arrow IPC stream.
func appendArrowStream(dst []byte, rec arrow.RecordBatch) ([]byte, error) {
	w := bytes.NewBuffer(dst)
	ipcWriter := ipc.NewWriter(w, ipc.WithSchema(rec.Schema()))
	if err := ipcWriter.Write(rec); err != nil {
		return dst, err
	}
	if err := ipcWriter.Close(); err != nil {
		return dst, err
	}
	return w.Bytes(), nil
}

// insertQuery returns the INSERT statement of the columns of schema into
// table.
func insertQuery(table string, schema *arrow.Schema) (string, error) {
	cols := make([]string, schema.NumFields())
	for i, f := range schema.Fields() {
		if !identifier.MatchString(f.Name) {
			return "", fmt.Errorf("invalid column name %q", f.Name)
		}
		cols[i] = f.Name
	}
	return "INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ")", nil
}

func (e *Engine) streamInsert(ctx context.Context, query, format string, data []byte) error {
	c, err := e.acquire(ctx, true)
	if err != nil {
		return err
	}
	defer e.release(c)

	lib := e.pool.lib
	stream := lib.streamInsert(c.handle, query, format)
	if stream == 0 {
		return errors.New("chDB: insert stream not created")
	}
	defer lib.destroyStream(stream)
	if msg := lib.streamError(stream); msg != "" {
		return fmt.Errorf("chDB: %s", msg)
	}
	if lib.streamAppend(stream, data, uintptr(len(data))) != 0 {
		return fmt.Errorf("chDB: append to insert: %s", lib.streamError(stream))
	}
	if _, err := lib.takeResult(lib.streamDone(stream)); err != nil {
		return fmt.Errorf("chDB: finish insert: %w", err)
	}
	return nil
}
