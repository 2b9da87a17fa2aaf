// Package chhttptest serves ClickHouse's HTTP interface on 127.0.0.1 from
// the embedded ClickHouse engine (chDB), so tests can run clickhouse-go/v2
// and internal/store/chserver over real HTTP against a real ClickHouse
// engine on a machine without clickhouse-server.
//
// It implements what clickhouse-go's HTTP transport sends. A request
// carries the query in the URL or the POST body, param_* query parameters,
// database, settings as URL parameters, default_format and
// client_protocol_version for Native output, and session_id. INSERT data
// may be in any input format (clickhouse-go sends Native), with ClickHouse
// block compression (compress, decompress) or HTTP compression (gzip,
// deflate, br). Responses carry the X-ClickHouse-* headers, and a failure is
// ClickHouse's exception body with a non-200 status.
//
// It is the same SQL engine as clickhouse-server, but not that server. It
// has no native TCP protocol, no users or grants beyond one configured
// user, no replication (no Keeper) and no remote_servers. So
// ReplicatedMergeTree, Distributed tables and ON CLUSTER fail.
package chhttptest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config configures a Server.
type Config struct {
	// Library is the path of libchdb.so.
	Library string
	// Path is the engine's data directory. chDB allows one data directory
	// per process, so a process that also opens internal/store/chdb must
	// give both the same Path.
	Path string
	// Connections is the number of chDB connections serving requests
	// outside sessions. Zero means 2.
	Connections int
	// User and Password are the only accepted credentials. User "" means
	// "default", the user of a fresh clickhouse-server, and Password ""
	// means none.
	User, Password string
	Logger         *slog.Logger
}

// Server is a ClickHouse HTTP interface on 127.0.0.1.
type Server struct {
	lib      *engineLibrary
	path     string
	user     string
	password string
	logger   *slog.Logger

	pool chan *connection
	all  []*connection

	mu       sync.Mutex
	sessions map[string]*session

	listener net.Listener
	http     *http.Server
	done     chan struct{}

	// Server facts sent in response headers and needed to re-encode Native
	// output.
	displayName string
	versionText string
	version     [3]uint64 // major, minor, patch
	timezone    string
	location    *time.Location
}

// connection is one chDB connection and the database it last switched to.
type connection struct {
	engine   *engineConn
	database string
}

// session is a connection reserved for one session_id.
type session struct {
	conn     *connection
	timeout  time.Duration
	lastUsed time.Time
	busy     bool
}

// Start opens chDB on cfg.Path and serves the HTTP interface on an
// ephemeral port of 127.0.0.1 until Close.
func Start(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.User == "" {
		cfg.User = "default"
	}
	if cfg.Connections <= 0 {
		cfg.Connections = 2
	}
	path, err := filepath.Abs(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("resolve data directory %q: %w", cfg.Path, err)
	}
	if err := os.MkdirAll(path, 0o700); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	lib, err := loadEngineLibrary(cfg.Library)
	if err != nil {
		return nil, err
	}

	s := &Server{
		lib: lib, path: path, user: cfg.User, password: cfg.Password, logger: cfg.Logger,
		pool:     make(chan *connection, cfg.Connections),
		sessions: map[string]*session{},
		done:     make(chan struct{}),
	}
	for range cfg.Connections {
		c, err := s.connect()
		if err != nil {
			s.closeConnections()
			return nil, err
		}
		s.all = append(s.all, c)
		s.pool <- c
	}
	if err := s.readServerFacts(); err != nil {
		s.closeConnections()
		return nil, err
	}

	s.listener, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		s.closeConnections()
		return nil, fmt.Errorf("listen on 127.0.0.1: %w", err)
	}
	s.http = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		defer close(s.done)
		if err := s.http.Serve(s.listener); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("ClickHouse HTTP test server stopped", "error", err)
		}
	}()
	s.logger.Info("ClickHouse HTTP test server started", "address", s.Addr(), "path", path, "connections", cfg.Connections)
	return s, nil
}

func (s *Server) connect() (*connection, error) {
	engine, err := connectEngine(s.lib, s.path)
	if err != nil {
		return nil, err
	}
	return &connection{engine: engine}, nil
}

// readServerFacts queries what clickhouse-go's handshake query would return.
func (s *Server) readServerFacts() error {
	c := <-s.pool
	defer func() { s.pool <- c }()
	out, _, err := c.engine.query("SELECT displayName(), version(), timezone()", "TabSeparated", nil, nil)
	if err != nil {
		return fmt.Errorf("read server display name, version and time zone: %w", err)
	}
	fields := strings.Split(strings.TrimRight(string(out), "\n"), "\t")
	if len(fields) != 3 {
		return fmt.Errorf("read server display name, version and time zone: unexpected output %q", out)
	}
	s.displayName, s.versionText, s.timezone = fields[0], fields[1], fields[2]
	for i, part := range strings.SplitN(s.versionText, ".", 4)[:min(3, strings.Count(s.versionText, ".")+1)] {
		if s.version[i], err = strconv.ParseUint(part, 10, 64); err != nil {
			return fmt.Errorf("parse server version %q: %w", s.versionText, err)
		}
	}
	s.location, err = time.LoadLocation(s.timezone)
	if err != nil {
		return fmt.Errorf("load server time zone %s: %w", s.timezone, err)
	}
	return nil
}

// Addr returns the server's host:port.
func (s *Server) Addr() string { return s.listener.Addr().String() }

// DSN returns a clickhouse-go DSN for database on this server, with query
// options (such as "compress=lz4") appended when given.
func (s *Server) DSN(database string, options ...string) string {
	dsn := "http://" + s.Addr() + "/" + database
	if len(options) > 0 {
		dsn += "?" + strings.Join(options, "&")
	}
	return dsn
}

// Close stops the HTTP server and closes the chDB connections. Requests in
// flight get up to five seconds to finish.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	<-s.done

	s.mu.Lock()
	for id, sess := range s.sessions {
		sess.conn.engine.close()
		delete(s.sessions, id)
	}
	s.mu.Unlock()
	s.closeConnections()
	if err != nil {
		return fmt.Errorf("shut down ClickHouse HTTP test server: %w", err)
	}
	return nil
}

func (s *Server) closeConnections() {
	for _, c := range s.all {
		c.engine.close()
	}
	s.all = nil
}

// acquire returns the connection for req: its session's, or a free one of
// the pool. release must be called with it when the request ends.
func (s *Server) acquire(ctx context.Context, req *request) (*connection, func(), error) {
	if req.sessionID != "" {
		return s.acquireSession(req)
	}
	select {
	case c := <-s.pool:
		return c, func() { s.pool <- c }, nil
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
}

// acquireSession returns the session's connection, opening it for a new
// session_id unless session_check=1.
func (s *Server) acquireSession(req *request) (*connection, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expireSessionsLocked(time.Now())

	sess, ok := s.sessions[req.sessionID]
	switch {
	case ok && sess.busy:
		return nil, nil, &requestError{code: codeSessionIsLocked, name: "SESSION_IS_LOCKED", message: fmt.Sprintf("Session %s is locked by a concurrent client", req.sessionID)}
	case !ok && req.sessionCheck:
		return nil, nil, &requestError{code: codeSessionNotFound, name: "SESSION_NOT_FOUND", message: fmt.Sprintf("Session %s not found", req.sessionID)}
	case !ok:
		c, err := s.connect()
		if err != nil {
			return nil, nil, err
		}
		sess = &session{conn: c}
		s.sessions[req.sessionID] = sess
	}
	sess.busy = true
	sess.timeout = req.sessionTimeout
	release := func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		sess.busy = false
		sess.lastUsed = time.Now()
	}
	return sess.conn, release, nil
}

// expireSessionsLocked closes sessions idle for longer than their timeout.
func (s *Server) expireSessionsLocked(now time.Time) {
	for id, sess := range s.sessions {
		if !sess.busy && now.Sub(sess.lastUsed) > sess.timeout {
			sess.conn.engine.close()
			delete(s.sessions, id)
		}
	}
}

// replace closes a pooled connection whose session state a statement
// changed and returns a fresh one, because outside a session SET and USE
// last for one query.
func (s *Server) replace(c *connection) (*connection, error) {
	fresh, err := s.connect()
	if err != nil {
		return c, err
	}
	s.mu.Lock()
	for i, old := range s.all {
		if old == c {
			s.all[i] = fresh
		}
	}
	s.mu.Unlock()
	c.engine.close()
	return fresh, nil
}
