package chdb

import (
	"errors"
	"fmt"
	"os"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// The functions of chDB's stable C API (chdb.h of chDB 26.7) this package
// binds. Handles are opaque to Go and passed back unchanged, so they are
// uintptr. chdb_connect returns a chdb_connection*: statements take the
// chdb_connection it points to, and chdb_close_conn takes the pointer itself.
type library struct {
	connect          func(argc int32, argv []*byte) *uintptr
	closeConn        func(conn *uintptr)
	queryWithParams  func(conn uintptr, query, format string, names, values []*byte, count uintptr) uintptr
	resultBuffer     func(result uintptr) *byte
	resultLength     func(result uintptr) uintptr
	resultError      func(result uintptr) string
	destroyResult    func(result uintptr)
	streamInsert     func(conn uintptr, query, format string) uintptr
	streamAppend     func(stream uintptr, data []byte, length uintptr) int32
	streamDone       func(stream uintptr) uintptr
	streamError      func(stream uintptr) string
	destroyStream    func(stream uintptr)
	version          func() string
	setSignalHandler func(enabled bool)
}

var (
	libOnce   sync.Once
	libLoaded *library
	libErr    error
)

// loadLibrary opens libchdb.so once per process. It is loaded lazily, so a
// binary that never opens the embedded engine runs without the library.
func loadLibrary(path string) (*library, error) {
	libOnce.Do(func() {
		libLoaded, libErr = openLibrary(path)
	})
	if libErr != nil {
		return nil, libErr
	}
	return libLoaded, nil
}

func openLibrary(path string) (lib *library, err error) {
	if _, statErr := os.Stat(path); statErr != nil {
		return nil, fmt.Errorf("chDB library %s not found (run `make engine` or set INSIGHTS_CHDB_LIB): %w", path, statErr)
	}
	handle, err := purego.Dlopen(path, purego.RTLD_NOW|purego.RTLD_GLOBAL)
	if err != nil {
		return nil, fmt.Errorf("load chDB library %s: %w", path, err)
	}

	// RegisterLibFunc panics on a missing symbol, which means a libchdb.so
	// older than the C API this binding expects.
	defer func() {
		if r := recover(); r != nil {
			lib, err = nil, fmt.Errorf("chDB library %s lacks a required function (need chDB 26.7 or later): %v", path, r)
		}
	}()
	lib = &library{}
	purego.RegisterLibFunc(&lib.connect, handle, "chdb_connect")
	purego.RegisterLibFunc(&lib.closeConn, handle, "chdb_close_conn")
	purego.RegisterLibFunc(&lib.queryWithParams, handle, "chdb_query_with_params")
	purego.RegisterLibFunc(&lib.resultBuffer, handle, "chdb_result_buffer")
	purego.RegisterLibFunc(&lib.resultLength, handle, "chdb_result_length")
	purego.RegisterLibFunc(&lib.resultError, handle, "chdb_result_error")
	purego.RegisterLibFunc(&lib.destroyResult, handle, "chdb_destroy_query_result")
	purego.RegisterLibFunc(&lib.streamInsert, handle, "chdb_stream_insert")
	purego.RegisterLibFunc(&lib.streamAppend, handle, "chdb_stream_append")
	purego.RegisterLibFunc(&lib.streamDone, handle, "chdb_stream_done")
	purego.RegisterLibFunc(&lib.streamError, handle, "chdb_stream_insert_error")
	purego.RegisterLibFunc(&lib.destroyStream, handle, "chdb_destroy_insert_stream")
	purego.RegisterLibFunc(&lib.version, handle, "chdb_version")
	purego.RegisterLibFunc(&lib.setSignalHandler, handle, "chdb_set_signal_handlers_enabled")

	// The Go runtime owns signal handling (SIGURG preemption, SIGINT and
	// SIGTERM for graceful shutdown); the engine must not install its own.
	lib.setSignalHandler(false)
	return lib, nil
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

// takeResult copies a chdb_result's output or error and destroys it.
func (lib *library) takeResult(result uintptr) ([]byte, error) {
	if result == 0 {
		return nil, errors.New("chDB returned no result")
	}
	defer lib.destroyResult(result)

	if msg := lib.resultError(result); msg != "" {
		return nil, errors.New(msg)
	}
	n := lib.resultLength(result)
	if n == 0 {
		return nil, nil
	}
	buf := lib.resultBuffer(result)
	return append([]byte(nil), unsafe.Slice(buf, n)...), nil
}
