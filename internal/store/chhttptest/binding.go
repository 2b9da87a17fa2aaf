package chhttptest

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"time"
	"unsafe"

	"github.com/ebitengine/purego"
)

// engineLibrary binds the functions of chDB's C API (chdb.h of chDB 26.7)
// that the server needs. internal/store/chdb binds the same library for the
// service, but it returns only decoded rows, and this server must pass raw
// Native bytes in both directions, so it calls the C API itself. Handles
// are opaque and passed back unchanged.
//
// NOTE: the symbol lookups repeat those of internal/store/chdb/lib.go. A
// raw-format query and insert stream exported by that package would let
// this one drop its own binding.
type engineLibrary struct {
	connect          func(argc int32, argv []*byte) *uintptr
	closeConn        func(conn *uintptr)
	queryWithParams  func(conn uintptr, query, format string, names, values []*byte, count uintptr) uintptr
	resultBuffer     func(result uintptr) *byte
	resultLength     func(result uintptr) uintptr
	resultError      func(result uintptr) string
	destroyResult    func(result uintptr)
	rowsRead         func(result uintptr) uint64
	bytesRead        func(result uintptr) uint64
	rowsWritten      func(result uintptr) uint64
	bytesWritten     func(result uintptr) uint64
	elapsed          func(result uintptr) float64
	streamInsert     func(conn uintptr, query, format string) uintptr
	streamAppend     func(stream uintptr, data []byte, length uintptr) int32
	streamDone       func(stream uintptr) uintptr
	streamError      func(stream uintptr) string
	destroyStream    func(stream uintptr)
	setSignalHandler func(enabled bool)
}

var (
	libraryOnce   sync.Once
	libraryLoaded *engineLibrary
	libraryErr    error
)

// loadEngineLibrary opens libchdb.so once per process. dlopen returns the
// handle internal/store/chdb holds when it loaded the same file first.
func loadEngineLibrary(path string) (*engineLibrary, error) {
	libraryOnce.Do(func() {
		libraryLoaded, libraryErr = openEngineLibrary(path)
	})
	return libraryLoaded, libraryErr
}

func openEngineLibrary(path string) (lib *engineLibrary, err error) {
	if _, statErr := os.Stat(path); statErr != nil {
		return nil, fmt.Errorf("chDB library %s not found (run `make engine` or set INSIGHTS_CHDB_LIB): %w", path, statErr)
	}
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load chDB library %s: %w", path, err)
	}

	// RegisterLibFunc panics on a missing symbol, which means a library
	// older than the C API bound here.
	defer func() {
		if r := recover(); r != nil {
			lib, err = nil, fmt.Errorf("chDB library %s lacks a required function (need chDB 26.7 or later): %v", path, r)
		}
	}()
	lib = &engineLibrary{}
	purego.RegisterLibFunc(&lib.connect, handle, "chdb_connect")
	purego.RegisterLibFunc(&lib.closeConn, handle, "chdb_close_conn")
	purego.RegisterLibFunc(&lib.queryWithParams, handle, "chdb_query_with_params")
	purego.RegisterLibFunc(&lib.resultBuffer, handle, "chdb_result_buffer")
	purego.RegisterLibFunc(&lib.resultLength, handle, "chdb_result_length")
	purego.RegisterLibFunc(&lib.resultError, handle, "chdb_result_error")
	purego.RegisterLibFunc(&lib.destroyResult, handle, "chdb_destroy_query_result")
	purego.RegisterLibFunc(&lib.rowsRead, handle, "chdb_result_rows_read")
	purego.RegisterLibFunc(&lib.bytesRead, handle, "chdb_result_bytes_read")
	purego.RegisterLibFunc(&lib.rowsWritten, handle, "chdb_result_rows_written")
	purego.RegisterLibFunc(&lib.bytesWritten, handle, "chdb_result_bytes_written")
	purego.RegisterLibFunc(&lib.elapsed, handle, "chdb_result_elapsed")
	purego.RegisterLibFunc(&lib.streamInsert, handle, "chdb_stream_insert")
	purego.RegisterLibFunc(&lib.streamAppend, handle, "chdb_stream_append")
	purego.RegisterLibFunc(&lib.streamDone, handle, "chdb_stream_done")
	purego.RegisterLibFunc(&lib.streamError, handle, "chdb_stream_insert_error")
	purego.RegisterLibFunc(&lib.destroyStream, handle, "chdb_destroy_insert_stream")
	purego.RegisterLibFunc(&lib.setSignalHandler, handle, "chdb_set_signal_handlers_enabled")

	// The Go runtime owns signal handling, so the engine must not install
	// its own handlers.
	lib.setSignalHandler(false)
	return lib, nil
}

// engineConn is one chDB connection.
type engineConn struct {
	lib    *engineLibrary
	ptr    *uintptr // chdb_connection*, for chdb_close_conn
	handle uintptr  // chdb_connection, for statements
}

// connectEngine opens a chDB connection on the data directory path.
func connectEngine(lib *engineLibrary, path string) (*engineConn, error) {
	argv, keep := cStrings([]string{"chdb", "--path=" + path})
	ptr := lib.connect(int32(len(argv)), argv)
	runtime.KeepAlive(keep)
	if ptr == nil || *ptr == 0 {
		return nil, fmt.Errorf("chDB could not open data directory %s (is another directory open in this process?)", path)
	}
	return &engineConn{lib: lib, ptr: ptr, handle: *ptr}, nil
}

// resultStats are the counters chDB reports for one statement, sent back in
// the X-ClickHouse-Summary header.
type resultStats struct {
	ReadRows, ReadBytes, WrittenRows, WrittenBytes uint64
	Elapsed                                        time.Duration
}

// query runs one statement and returns its output in format. Parameter
// values are passed to the engine as given.
func (c *engineConn) query(query, format string, names, values []string) ([]byte, resultStats, error) {
	namePtrs, nameBufs := cStrings(names)
	valuePtrs, valueBufs := cStrings(values)
	res := c.lib.queryWithParams(c.handle, query, format, namePtrs, valuePtrs, uintptr(len(names)))
	runtime.KeepAlive(nameBufs)
	runtime.KeepAlive(valueBufs)
	return c.takeResult(res)
}

// insert runs query, an INSERT without a FORMAT clause, whose data is data
// in format.
func (c *engineConn) insert(query, format string, data []byte) (resultStats, error) {
	stream := c.lib.streamInsert(c.handle, query, format)
	if stream == 0 {
		return resultStats{}, errors.New("chDB did not create the insert stream")
	}
	defer c.lib.destroyStream(stream)
	if msg := c.lib.streamError(stream); msg != "" {
		return resultStats{}, errors.New(msg)
	}
	if len(data) > 0 && c.lib.streamAppend(stream, data, uintptr(len(data))) != 0 {
		return resultStats{}, errors.New(c.lib.streamError(stream))
	}
	_, stats, err := c.takeResult(c.lib.streamDone(stream))
	return stats, err
}

func (c *engineConn) close() { c.lib.closeConn(c.ptr) }

// takeResult copies a chdb_result's output, counters or error and
// destroys it.
func (c *engineConn) takeResult(result uintptr) ([]byte, resultStats, error) {
	if result == 0 {
		return nil, resultStats{}, errors.New("chDB returned no result")
	}
	defer c.lib.destroyResult(result)

	if msg := c.lib.resultError(result); msg != "" {
		return nil, resultStats{}, errors.New(msg)
	}
	stats := resultStats{
		ReadRows:     c.lib.rowsRead(result),
		ReadBytes:    c.lib.bytesRead(result),
		WrittenRows:  c.lib.rowsWritten(result),
		WrittenBytes: c.lib.bytesWritten(result),
		Elapsed:      time.Duration(c.lib.elapsed(result) * float64(time.Second)),
	}
	n := c.lib.resultLength(result)
	if n == 0 {
		return nil, stats, nil
	}
	buf := c.lib.resultBuffer(result)
	return append([]byte(nil), unsafe.Slice(buf, n)...), stats, nil
}

// cStrings returns NUL-terminated copies of ss and the pointer array the C
// API takes. The caller keeps both alive until the call returns.
func cStrings(ss []string) ([]*byte, [][]byte) {
	if len(ss) == 0 {
		return nil, nil
	}
	bufs := make([][]byte, len(ss))
	ptrs := make([]*byte, len(ss))
	for i, s := range ss {
		bufs[i] = append([]byte(s), 0)
		ptrs[i] = &bufs[i][0]
	}
	return ptrs, bufs
}
