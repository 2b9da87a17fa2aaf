package chhttptest

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/ClickHouse/ch-go/compress"
	chproto "github.com/ClickHouse/ch-go/proto"
	"github.com/ClickHouse/clickhouse-go/v2/lib/column"
	"github.com/ClickHouse/clickhouse-go/v2/lib/proto"
	"github.com/andybalholm/brotli"
)

// ServeHTTP serves /ping and queries on any other path, as
// clickhouse-server's default HTTP handlers do.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/ping" {
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		_, _ = io.WriteString(w, "Ok.\n")
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodPost {
		s.writeError(w, "", badRequest("HTTP method %s is not supported: use GET or POST", r.Method))
		return
	}

	queryID := r.URL.Query().Get("query_id")
	if queryID == "" {
		queryID = rand.Text()
	}
	if err := s.authenticate(r); err != nil {
		s.writeError(w, queryID, err)
		return
	}
	req, err := parseRequest(r)
	if err != nil {
		s.writeError(w, queryID, err)
		return
	}
	req.queryID = queryID

	out, stats, err := s.run(r, req)
	if err != nil {
		s.writeError(w, queryID, err)
		return
	}
	s.writeResult(w, r, req, out, stats)
}

// authenticate checks the credentials of r, given in the ways
// clickhouse-server accepts: HTTP basic authentication, the
// X-ClickHouse-User and X-ClickHouse-Key headers, or the user and password
// URL parameters. A request without any is the default user.
func (s *Server) authenticate(r *http.Request) error {
	user, password, ok := r.BasicAuth()
	if !ok {
		user, password = r.Header.Get("X-ClickHouse-User"), r.Header.Get("X-ClickHouse-Key")
	}
	if user == "" {
		user, password = r.URL.Query().Get("user"), r.URL.Query().Get("password")
	}
	if user == "" {
		user = "default"
	}
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(s.user)) == 1
	passwordOK := subtle.ConstantTimeCompare([]byte(password), []byte(s.password)) == 1
	if !userOK || !passwordOK {
		return &requestError{
			code: codeAuthenticationFailed, name: "AUTHENTICATION_FAILED",
			message: fmt.Sprintf("%s: Authentication failed: password is incorrect, or there is no user with such name", user),
		}
	}
	return nil
}

// run executes req on a connection and returns the engine's output.
func (s *Server) run(r *http.Request, req *request) ([]byte, resultStats, error) {
	c, release, err := s.acquire(r.Context(), req)
	if err != nil {
		return nil, resultStats{}, err
	}
	defer func() { release() }()

	// A session keeps the database its USE chose unless the request names
	// one. Outside a session the database is the parameter or "default".
	if (req.sessionID == "" || req.databaseGiven) && c.database != req.database {
		if _, _, err := c.engine.query("USE `"+req.database+"`", "TabSeparated", nil, nil); err != nil {
			c.database = ""
			return nil, resultStats{}, err
		}
		c.database = req.database
	}
	if err := s.applySettings(c, req.settings); err != nil {
		return nil, resultStats{}, err
	}

	// NOTE: in a session, a URL setting the session also changed with SET
	// returns to the default here, where clickhouse-server would restore
	// the session's value.
	out, stats, err := runStatement(c, req)
	s.resetSettings(c, req.settings)

	switch {
	case req.changesSession() && req.sessionID == "":
		// Outside a session, SET and USE last for one query, so the
		// connection they changed is replaced by a fresh one.
		fresh, replaceErr := s.replace(c)
		if replaceErr != nil {
			s.logger.Error("replace chDB connection after SET or USE", "error", replaceErr)
		}
		release = func() { s.pool <- fresh }
	case req.changesSession():
		c.database = "" // USE may have changed it
	}
	return out, stats, err
}

// runStatement runs req's statement: an INSERT with data through chDB's
// insert stream, anything else as a query.
func runStatement(c *connection, req *request) ([]byte, resultStats, error) {
	if req.inputFormat == "" {
		return c.engine.query(req.query, req.outputFormat(), req.paramNames, req.paramValues)
	}
	if len(req.paramNames) > 0 {
		return nil, resultStats{}, &requestError{
			code: codeNotImplemented, name: "NOT_IMPLEMENTED",
			message: "Query parameters on an INSERT with data in the body are not supported by this test server",
		}
	}
	stats, err := c.engine.insert(req.query, req.inputFormat, req.data)
	return nil, stats, err
}

// applySettings sets the URL's settings on the connection for one query.
// Values are sent as string literals, which ClickHouse converts to each
// setting's type as it does for URL parameters.
func (s *Server) applySettings(c *connection, settings []setting) error {
	for i, st := range settings {
		stmt := "SET `" + st.name + "` = " + quoteString(st.value)
		if _, _, err := c.engine.query(stmt, "TabSeparated", nil, nil); err != nil {
			s.resetSettings(c, settings[:i])
			return err
		}
	}
	return nil
}

// resetSettings returns settings to their defaults on the connection.
func (s *Server) resetSettings(c *connection, settings []setting) {
	for _, st := range settings {
		if _, _, err := c.engine.query("SET `"+st.name+"` = DEFAULT", "TabSeparated", nil, nil); err != nil {
			s.logger.Error("reset setting on chDB connection", "setting", st.name, "error", err)
		}
	}
}

// quoteString returns v as a ClickHouse string literal.
func quoteString(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

// writeResult sends a successful response.
func (s *Server) writeResult(w http.ResponseWriter, r *http.Request, req *request, out []byte, stats resultStats) {
	format := req.outputFormat()
	if len(out) > 0 && strings.EqualFold(format, "Native") && req.clientRevision > 0 {
		converted, err := s.nativeForRevision(out, req.clientRevision)
		if err != nil {
			s.writeError(w, req.queryID, err)
			return
		}
		out = converted
	}
	body, err := compressBlocks(out, req.outputCompression, req.compressionLevel)
	if err != nil {
		s.writeError(w, req.queryID, err)
		return
	}

	h := w.Header()
	s.setCommonHeaders(h, req.queryID)
	h.Set("Content-Type", contentType(format))
	h.Set("X-ClickHouse-Format", format)
	h.Set("X-ClickHouse-Summary", summary(stats, out))
	if req.httpCompression && len(body) > 0 {
		if encoding, encoded, err := encodeHTTP(body, r.Header.Get("Accept-Encoding")); err != nil {
			s.writeError(w, req.queryID, err)
			return
		} else if encoding != "" {
			h.Set("Content-Encoding", encoding)
			body = encoded
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

func (s *Server) setCommonHeaders(h http.Header, queryID string) {
	h.Set("X-ClickHouse-Query-Id", queryID)
	h.Set("X-ClickHouse-Server-Display-Name", s.displayName)
	h.Set("X-ClickHouse-Timezone", s.timezone)
}

// nativeForRevision re-encodes Native output for a client protocol
// revision. chDB writes Native as clickhouse-local does, for revision 0,
// and has no way to pass client_protocol_version, while clickhouse-server
// writes the block info and per-column serialization flags of the client's
// revision, which clickhouse-go's HTTP reader expects. Each block is decoded
// and encoded again with clickhouse-go's own block codec.
//
// NOTE: a column type clickhouse-go cannot decode fails here with its
// decode error, where clickhouse-server would send the data and the client
// would fail on it.
func (s *Server) nativeForRevision(out []byte, revision uint64) ([]byte, error) {
	reader := chproto.NewReader(bytes.NewReader(out))
	sc := column.ServerContext{
		Revision:     revision,
		VersionMajor: s.version[0],
		VersionMinor: s.version[1],
		VersionPatch: s.version[2],
		Timezone:     s.location,
	}
	var buf chproto.Buffer
	for {
		block := proto.Block{ServerContext: &sc}
		if err := block.Decode(reader, 0); err != nil {
			if errors.Is(err, io.EOF) {
				return buf.Buf, nil
			}
			return nil, fmt.Errorf("re-encode Native output for client_protocol_version %d: decode: %w", revision, err)
		}
		if err := block.Encode(&buf, revision); err != nil {
			return nil, fmt.Errorf("re-encode Native output for client_protocol_version %d: encode: %w", revision, err)
		}
	}
}

// compressionFrameSize is the uncompressed size of one compressed frame,
// clickhouse-server's default max_compress_block_size (1 MiB).
const compressionFrameSize = 1 << 20

// compressBlocks returns out in ClickHouse's block compression framing, or
// out itself for compress.None.
func compressBlocks(out []byte, method compress.Method, level compress.Level) ([]byte, error) {
	if method == compress.None || len(out) == 0 {
		return out, nil
	}
	writer := compress.NewWriter(level, method)
	var framed []byte
	for len(out) > 0 {
		n := min(len(out), compressionFrameSize)
		if err := writer.Compress(out[:n]); err != nil {
			return nil, fmt.Errorf("compress response as %s: %w", method, err)
		}
		framed = append(framed, writer.Data...)
		out = out[n:]
	}
	return framed, nil
}

// encodeHTTP applies the first of gzip, deflate and br that accept lists,
// and returns "" when it lists none of them.
func encodeHTTP(body []byte, accept string) (string, []byte, error) {
	var buf bytes.Buffer
	for _, part := range strings.Split(accept, ",") {
		encoding := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		var w io.WriteCloser
		switch strings.ToLower(encoding) {
		case "gzip":
			w = gzip.NewWriter(&buf)
		case "deflate":
			w = zlib.NewWriter(&buf)
		case "br":
			w = brotli.NewWriter(&buf)
		default:
			continue
		}
		if _, err := w.Write(body); err != nil {
			return "", nil, fmt.Errorf("encode response as %s: %w", encoding, err)
		}
		if err := w.Close(); err != nil {
			return "", nil, fmt.Errorf("encode response as %s: %w", encoding, err)
		}
		return strings.ToLower(encoding), buf.Bytes(), nil
	}
	return "", nil, nil
}

func contentType(format string) string {
	switch strings.ToLower(format) {
	case "native", "rowbinary", "rowbinarywithnamesandtypes", "arrow", "arrowstream", "parquet":
		return "application/octet-stream"
	case "tabseparated", "tsv", "tabseparatedwithnames", "tsvwithnames":
		return "text/tab-separated-values; charset=UTF-8"
	case "json", "jsoncompact", "jsoneachrow", "jsoncompacteachrow":
		return "application/json; charset=UTF-8"
	default:
		return "text/plain; charset=UTF-8"
	}
}

// summary returns the X-ClickHouse-Summary header, whose numbers
// clickhouse-server sends as JSON strings. It has the fields chDB reports;
// clickhouse-server also sends total_rows_to_read and result_rows.
func summary(stats resultStats, out []byte) string {
	return fmt.Sprintf(`{"read_rows":"%d","read_bytes":"%d","written_rows":"%d","written_bytes":"%d","result_bytes":"%d","elapsed_ns":"%d"}`,
		stats.ReadRows, stats.ReadBytes, stats.WrittenRows, stats.WrittenBytes, len(out), stats.Elapsed.Nanoseconds())
}

// writeError sends err as clickhouse-server sends an exception before any
// output: the exception text as the body, its code in
// X-ClickHouse-Exception-Code and an HTTP status derived from the code.
func (s *Server) writeError(w http.ResponseWriter, queryID string, err error) {
	message := err.Error()
	code, name, codeErr := engineErrorCode(message)
	if codeErr != nil {
		// An error of this server, not of the engine: a failed Native
		// re-encoding or compression.
		code, name = codeStdException, "STD_EXCEPTION"
		message = fmt.Sprintf("Code: %d. DB::Exception: %s. (%s)", code, message, name)
	}
	if !strings.Contains(message, "(version ") {
		message += " (version " + s.versionText + ")"
	}

	// The message may quote values of the query, so only its code is
	// logged.
	s.logger.Debug("ClickHouse HTTP test server returned an exception", "query_id", queryID, "code", code, "error_name", name)

	h := w.Header()
	if queryID != "" {
		s.setCommonHeaders(h, queryID)
	}
	h.Set("Content-Type", "text/plain; charset=UTF-8")
	h.Set("X-ClickHouse-Exception-Code", strconv.Itoa(code))
	w.WriteHeader(httpStatus(name))
	_, _ = io.WriteString(w, message+"\n")
}

// httpStatus maps an exception, by its error name, to an HTTP status as
// clickhouse-server does (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp in
// the ClickHouse repository). Other names get 500.
func httpStatus(name string) int {
	if status, ok := statusByErrorName[name]; ok {
		return status
	}
	return http.StatusInternalServerError
}

var statusByErrorName = errorStatuses(map[int][]string{
	http.StatusUnauthorized: {"REQUIRED_PASSWORD"},
	http.StatusForbidden:    {"UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED", "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"},
	http.StatusBadRequest: {
		"BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT", "CANNOT_PARSE_ESCAPE_SEQUENCE",
		"CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE", "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER",
		"CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING", "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6",
		"CANNOT_PARSE_INPUT_ASSERTION_FAILED", "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN",
		"UNKNOWN_ELEMENT_IN_AST", "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
		"UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
		"VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE",
	},
	http.StatusNotFound: {
		"UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE", "UNKNOWN_STORAGE",
		"UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING", "UNKNOWN_AGGREGATE_FUNCTION",
		"UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE", "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE",
	},
	http.StatusRequestEntityTooLarge: {"QUERY_IS_TOO_LARGE"},
	http.StatusNotImplemented:        {"NOT_IMPLEMENTED"},
	http.StatusServiceUnavailable:    {"SOCKET_TIMEOUT", "CANNOT_OPEN_FILE", "CANNOT_SCHEDULE_TASK"},
	http.StatusLengthRequired:        {"HTTP_LENGTH_REQUIRED"},
	http.StatusRequestTimeout:        {"TIMEOUT_EXCEEDED"},
	http.StatusUnsupportedMediaType:  {"UNSUPPORTED_MEDIA_TYPE"},
})

func errorStatuses(byStatus map[int][]string) map[string]int {
	byName := map[string]int{}
	for status, names := range byStatus {
		for _, name := range names {
			byName[name] = status
		}
	}
	return byName
}
