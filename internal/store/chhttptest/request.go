package chhttptest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/ch-go/compress"
	"github.com/andybalholm/brotli"
)

// maxBodySize caps a request body after decompression. It bounds the memory
// one request of a test can take.
const maxBodySize = 256 << 20

// request is one parsed HTTP query request.
type request struct {
	// query is the SQL text. For an insert with data it has no FORMAT
	// clause, and inputFormat names the format of data.
	query       string
	inputFormat string
	data        []byte
	isInsert    bool

	database      string
	databaseGiven bool
	defaultFormat string
	paramNames    []string
	paramValues   []string
	settings      []setting

	queryID        string
	clientRevision uint64
	// outputCompression is the ClickHouse block compression of the
	// response (compress=1), or compress.None.
	outputCompression compress.Method
	compressionLevel  compress.Level
	// httpCompression is enable_http_compression=1.
	httpCompression bool

	sessionID      string
	sessionTimeout time.Duration
	sessionCheck   bool
}

// setting is one ClickHouse setting passed as a URL parameter.
type setting struct {
	name, value string
}

// requestError is a failure to run a request, sent to the client as a
// ClickHouse exception.
type requestError struct {
	code    int
	name    string
	message string
}

func (e *requestError) Error() string {
	return fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", e.code, e.message, e.name)
}

func badRequest(format string, args ...any) *requestError {
	return &requestError{code: codeBadArguments, name: "BAD_ARGUMENTS", message: fmt.Sprintf(format, args...)}
}

// ClickHouse error codes the server raises itself, as
// errorCodeToName(code) of chDB 26.7 names them.
const (
	codeBadArguments         = 36
	codeNotImplemented       = 48
	codeUnknownFormat        = 73
	codeUnknownCompression   = 89
	codeQueryTooLarge        = 229
	codeCannotDecompress     = 271
	codeSessionNotFound      = 372
	codeSessionIsLocked      = 373
	codeHTTPLengthRequired   = 381
	codeAuthenticationFailed = 516
	codeStdException         = 1001
)

// URL parameters that are part of the HTTP interface, not settings.
var interfaceParameters = map[string]bool{
	"query": true, "database": true, "default_format": true,
	"client_protocol_version": true, "query_id": true, "quota_key": true,
	"session_id": true, "session_timeout": true, "session_check": true,
	"compress": true, "decompress": true, "user": true, "password": true,
	"enable_http_compression": true,
}

var (
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
	// insertWithFormat matches an INSERT that ends in a FORMAT clause, so
	// the body holds its data. The data format is the last word.
	insertWithFormat = regexp.MustCompile(`(?is)^(\s*INSERT\s.*?)\s+FORMAT\s+([A-Za-z0-9_]+)\s*$`)
	// trailingFormat matches a FORMAT clause at the end of a query, which
	// overrides default_format.
	trailingFormat  = regexp.MustCompile(`(?is)\sFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*$`)
	insertStatement = regexp.MustCompile(`(?is)^\s*INSERT\s`)
	// sessionStatement matches statements that change a connection's
	// session state (settings, current database).
	sessionStatement = regexp.MustCompile(`(?is)^\s*(SET|USE)\s`)
)

// parseRequest reads r's URL parameters and body.
func parseRequest(r *http.Request) (*request, error) {
	params := r.URL.Query()
	req := &request{
		database:       params.Get("database"),
		defaultFormat:  params.Get("default_format"),
		sessionID:      params.Get("session_id"),
		sessionTimeout: defaultSessionTimeout,
		sessionCheck:   params.Get("session_check") == "1",
	}
	req.databaseGiven = req.database != ""
	if !req.databaseGiven {
		req.database = "default"
	}
	if !identifier.MatchString(req.database) {
		return nil, badRequest("invalid database %q: use letters, digits and _", req.database)
	}
	if req.defaultFormat == "" {
		req.defaultFormat = "TabSeparated"
	}
	if !identifier.MatchString(req.defaultFormat) {
		return nil, &requestError{code: codeUnknownFormat, name: "UNKNOWN_FORMAT", message: fmt.Sprintf("Unknown format %q", req.defaultFormat)}
	}
	if err := parseSessionParameters(params.Get("session_timeout"), req); err != nil {
		return nil, err
	}
	if v := params.Get("client_protocol_version"); v != "" {
		revision, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, badRequest("invalid client_protocol_version %q: want an unsigned integer", v)
		}
		req.clientRevision = revision
	}
	if err := parseCompressionParameters(params.Get("compress"), params.Get("network_compression_method"), params.Get("network_zstd_compression_level"), req); err != nil {
		return nil, err
	}
	req.httpCompression = params.Get("enable_http_compression") == "1"

	for name, values := range params {
		value := values[len(values)-1]
		switch {
		case strings.HasPrefix(name, "param_"):
			req.paramNames = append(req.paramNames, strings.TrimPrefix(name, "param_"))
			req.paramValues = append(req.paramValues, value)
		case interfaceParameters[name]:
		default:
			if !identifier.MatchString(name) {
				return nil, badRequest("invalid setting name %q in URL parameters", name)
			}
			req.settings = append(req.settings, setting{name: name, value: value})
		}
	}

	body, err := readBody(r, params.Get("decompress") == "1")
	if err != nil {
		return nil, err
	}
	if err := splitQuery(params.Get("query"), body, req); err != nil {
		return nil, err
	}
	return req, nil
}

// defaultSessionTimeout and maxSessionTimeout are clickhouse-server's
// defaults for session_timeout (config keys default_session_timeout and
// max_session_timeout).
const (
	defaultSessionTimeout = 60 * time.Second
	maxSessionTimeout     = time.Hour
)

func parseSessionParameters(timeout string, req *request) error {
	if req.sessionID != "" && len(req.sessionID) > 256 {
		return badRequest("invalid session_id: longer than 256 characters")
	}
	if timeout == "" {
		return nil
	}
	seconds, err := strconv.ParseUint(timeout, 10, 32)
	if err != nil {
		return badRequest("invalid session_timeout %q: want whole seconds", timeout)
	}
	req.sessionTimeout = time.Duration(seconds) * time.Second
	if req.sessionTimeout > maxSessionTimeout {
		return badRequest("session_timeout %d exceeds the maximum of %d seconds", seconds, int(maxSessionTimeout.Seconds()))
	}
	return nil
}

func parseCompressionParameters(enabled, method, level string, req *request) error {
	req.outputCompression = compress.None
	if enabled != "1" {
		return nil
	}
	switch strings.ToUpper(method) {
	case "", "LZ4":
		req.outputCompression = compress.LZ4
	case "ZSTD":
		req.outputCompression = compress.ZSTD
	case "NONE":
		req.outputCompression = compress.None
	default:
		return &requestError{code: codeUnknownCompression, name: "UNKNOWN_COMPRESSION_METHOD", message: fmt.Sprintf("Unknown compression method %q", method)}
	}
	if level != "" {
		n, err := strconv.Atoi(level)
		if err != nil {
			return badRequest("invalid network_zstd_compression_level %q", level)
		}
		req.compressionLevel = compress.Level(n)
	}
	return nil
}

// readBody returns the request body without its Content-Encoding and, when
// blockCompressed (decompress=1), without ClickHouse's block compression.
func readBody(r *http.Request, blockCompressed bool) ([]byte, error) {
	var body io.Reader = r.Body
	switch encoding := strings.ToLower(r.Header.Get("Content-Encoding")); encoding {
	case "", "identity", "none":
	case "gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			return nil, &requestError{code: codeCannotDecompress, name: "CANNOT_DECOMPRESS", message: fmt.Sprintf("Cannot read gzip request body: %v", err)}
		}
		body = zr
	case "deflate":
		zr, err := zlib.NewReader(r.Body)
		if err != nil {
			return nil, &requestError{code: codeCannotDecompress, name: "CANNOT_DECOMPRESS", message: fmt.Sprintf("Cannot read deflate request body: %v", err)}
		}
		body = zr
	case "br":
		body = brotli.NewReader(r.Body)
	default:
		return nil, &requestError{code: codeUnknownCompression, name: "UNKNOWN_COMPRESSION_METHOD", message: fmt.Sprintf("Unknown Content-Encoding %q: use gzip, deflate or br", encoding)}
	}
	if blockCompressed {
		body = compress.NewReader(body)
	}

	data, err := io.ReadAll(io.LimitReader(body, maxBodySize+1))
	if blockCompressed && errors.Is(err, io.EOF) {
		// ch-go's reader wraps the io.EOF met between two frames, which is
		// the end of the body. A body cut inside a frame gives
		// io.ErrUnexpectedEOF instead.
		err = nil
	}
	if err != nil {
		return nil, &requestError{code: codeCannotDecompress, name: "CANNOT_DECOMPRESS", message: fmt.Sprintf("Cannot read request body: %v", err)}
	}
	if len(data) > maxBodySize {
		return nil, &requestError{code: codeQueryTooLarge, name: "QUERY_IS_TOO_LARGE", message: fmt.Sprintf("Request body exceeds %d bytes", maxBodySize)}
	}
	return data, nil
}

// splitQuery sets req's query and insert data from the query URL parameter
// and the body. As in clickhouse-server, the query is the URL parameter
// followed by the body, so an INSERT ending in FORMAT takes the body as its
// data. The data of such an INSERT is passed to the engine apart from the
// SQL text, because binary formats (Native) contain NUL bytes.
func splitQuery(urlQuery string, body []byte, req *request) error {
	if m := insertWithFormat.FindStringSubmatch(urlQuery); m != nil && len(body) > 0 {
		req.query, req.inputFormat, req.data, req.isInsert = m[1], m[2], body, true
		return nil
	}

	query := urlQuery
	if len(body) > 0 {
		if bytes.IndexByte(body, 0) >= 0 {
			return badRequest("the request body contains a NUL byte but the query in the URL is not an INSERT ending in FORMAT")
		}
		if query != "" {
			query += "\n"
		}
		query += string(body)
	}
	if strings.TrimSpace(query) == "" {
		return &requestError{code: codeHTTPLengthRequired, name: "HTTP_LENGTH_REQUIRED", message: "Empty query: send it in the query URL parameter or the POST body"}
	}
	req.query = query
	req.isInsert = insertStatement.MatchString(query)
	return nil
}

// outputFormat returns the format of the response: the query's own FORMAT
// clause, or default_format.
//
// NOTE: the FORMAT clause is found with a regular expression on the end of
// the query, not by parsing it, so a query ending in a string literal that
// itself ends in "FORMAT Name" is reported with that format.
func (req *request) outputFormat() string {
	if req.isInsert {
		return req.defaultFormat
	}
	if m := trailingFormat.FindStringSubmatch(req.query); m != nil {
		return m[1]
	}
	return req.defaultFormat
}

// changesSession reports whether the query changes session state, which
// outside a session lasts for that query only.
func (req *request) changesSession() bool {
	return sessionStatement.MatchString(req.query)
}

var errNoCode = errors.New("no error code")

// engineErrorCode returns the code and name of an engine error message of
// the form "Code: 60. DB::Exception: ... (UNKNOWN_TABLE)".
func engineErrorCode(message string) (int, string, error) {
	m := engineErrorPattern.FindStringSubmatch(message)
	if m == nil {
		return 0, "", errNoCode
	}
	code, err := strconv.Atoi(m[1])
	if err != nil {
		return 0, "", errNoCode
	}
	name := ""
	if n := errorNamePattern.FindAllStringSubmatch(message, -1); n != nil {
		name = n[len(n)-1][1]
	}
	return code, name, nil
}

var (
	engineErrorPattern = regexp.MustCompile(`^Code:\s*(\d+)\.`)
	errorNamePattern   = regexp.MustCompile(`\(([A-Z][A-Z0-9_]+)\)`)
)
