// Package chserver is the storage engine for a ClickHouse server or cluster,
// reached through clickhouse-go/v2 over the native protocol (clickhouse://,
// TCP port 9000 by default) or the HTTP interface (http:// or https://,
// port 8123 or 8443). Choose it with such a DSN when data outgrows one
// machine, when several service instances must share one store, or when the
// database is run and backed up apart from the service. The embedded engine
// (store/chdb) is the default for a single machine. Both engines run the same
// SQL and scan results into the same Go types.
package chserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"syscall"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/openbanking-insights/insights/internal/store"
)

// Engine runs statements on a ClickHouse server in one database. It is safe
// for concurrent use: clickhouse-go keeps a pool of connections.
type Engine struct {
	conn     driver.Conn
	database string
	// cluster is the DSN's cluster option: the ClickHouse cluster the
	// schema is created on, or "" for one server.
	cluster string
	logger  *slog.Logger
}

var _ store.Engine = (*Engine)(nil)

// identifier is the form accepted for database, table and column names. It is
// the same rule the embedded engine applies, and such names need no escaping
// inside backticks.
var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)

// Open connects to the server named by dsn, creates the DSN's database when
// it is missing (database "default" when the DSN names none) and pings it.
// The DSN has one of the forms
//
//	clickhouse://user:password@host:9000/database?dial_timeout=5s
//	http://user:password@host:8123/database
//	https://user:password@host:8443/database?secure=true
//
// and takes the query options of clickhouse.ParseDSN. Options the driver
// does not know are sent as ClickHouse settings. An error wrapping
// store.ErrUnavailable means the server could not be reached or refused the
// connection, and any other error means the DSN is invalid.
func Open(ctx context.Context, dsn string, logger *slog.Logger) (*Engine, error) {
	if logger == nil {
		logger = slog.Default()
	}

	// Parse and check the DSN. clickhouse.ParseDSN redacts credentials from
	// its own errors, and no error here quotes the DSN.
	if !hasScheme(dsn, "clickhouse://", "http://", "https://") {
		return nil, errors.New("invalid ClickHouse DSN: want clickhouse://user:password@host:9000/database or http://user:password@host:8123/database")
	}
	dsn, cluster, err := splitClusterOption(dsn)
	if err != nil {
		return nil, err
	}
	opts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalid ClickHouse DSN: %w", err)
	}
	if cluster != "" {
		clusterSettings(opts)
	}
	database := opts.Auth.Database
	if database == "" {
		database = "default"
	}
	if !identifier.MatchString(database) {
		return nil, fmt.Errorf("invalid database name %q in ClickHouse DSN: use letters, digits and _", database)
	}
	hosts := strings.Join(opts.Addr, ",")

	// Create the database over a connection that does not select it, because
	// the server rejects a connection to a database that does not exist.
	if err := createDatabase(ctx, *opts, database, cluster); err != nil {
		return nil, fmt.Errorf("%w: create database %s on ClickHouse at %s: %w", store.ErrUnavailable, database, hosts, err)
	}

	opts.Auth.Database = database
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("%w: connect to ClickHouse at %s: %w", store.ErrUnavailable, hosts, err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("%w: ping ClickHouse at %s: %w", store.ErrUnavailable, hosts, err)
	}

	logger.Info("connected to ClickHouse", "hosts", hosts, "database", database, "cluster", cluster)
	return &Engine{conn: conn, database: database, cluster: cluster, logger: logger}, nil
}

// hasScheme reports whether dsn starts with one of schemes, in any case.
func hasScheme(dsn string, schemes ...string) bool {
	for _, scheme := range schemes {
		if len(dsn) >= len(scheme) && strings.EqualFold(dsn[:len(scheme)], scheme) {
			return true
		}
	}
	return false
}

// createDatabase runs CREATE DATABASE IF NOT EXISTS over a short-lived
// connection without a database. opts is a copy, so the caller's options keep
// their database.
func createDatabase(ctx context.Context, opts clickhouse.Options, database, cluster string) error {
	opts.Auth.Database = ""
	conn, err := clickhouse.Open(&opts)
	if err != nil {
		return err
	}
	defer conn.Close()

	stmt := "CREATE DATABASE IF NOT EXISTS `" + database + "`"
	if cluster != "" {
		stmt += " ON CLUSTER `" + cluster + "`"
	}
	err = conn.Exec(ctx, stmt)
	var exception *clickhouse.Exception
	if errors.As(err, &exception) && exception.Code == codeAccessDenied {
		// A user without the CREATE DATABASE grant may still use a database
		// an administrator made: the ping that follows decides.
		return nil
	}
	return err
}

// codeAccessDenied is ClickHouse's ACCESS_DENIED error code.
const codeAccessDenied = 497

// Exec runs a statement that returns no rows. On a cluster, ALTER TABLE
// and OPTIMIZE TABLE run in their cluster form on the per-shard tables
// (see store.ClusterStatements), because a Distributed table has no parts.
func (e *Engine) Exec(ctx context.Context, query string, params ...store.Param) error {
	ctx, err := withParameters(ctx, query, params)
	if err != nil {
		return err
	}
	statements := []string{query}
	if e.cluster != "" && runsOnShards(query) {
		if statements, err = store.ClusterStatements(query, e.cluster, e.database); err != nil {
			return err
		}
	}
	for _, stmt := range statements {
		if err := e.conn.Exec(ctx, stmt); err != nil {
			return classify(fmt.Errorf("clickhouse exec: %w", err))
		}
	}
	return nil
}

// Query runs a SELECT and returns its rows, which the caller must close.
func (e *Engine) Query(ctx context.Context, query string, params ...store.Param) (store.Rows, error) {
	ctx, err := withParameters(ctx, query, params)
	if err != nil {
		return nil, err
	}
	r, err := e.conn.Query(ctx, query)
	if err != nil {
		return nil, classify(fmt.Errorf("clickhouse query: %w", err))
	}
	return &rows{Rows: r}, nil
}

// Database returns the name of the database the engine works in.
func (e *Engine) Database() string { return e.database }

// Cluster returns the ClickHouse cluster the schema is created on, or ""
// for one server. store.Migrate reads it through store.Clustered.
func (e *Engine) Cluster() string { return e.cluster }

// Close closes the engine's connections.
func (e *Engine) Close() error {
	if err := e.conn.Close(); err != nil {
		return fmt.Errorf("close ClickHouse connections: %w", err)
	}
	return nil
}

// withParameters returns ctx carrying params as ClickHouse query parameters.
// The server substitutes them for {name:Type} placeholders, parsing each
// value as Type, so values never become SQL text.
func withParameters(ctx context.Context, query string, params []store.Param) (context.Context, error) {
	if len(params) == 0 {
		return ctx, nil
	}

	// clickhouse-go quotes each value for the wire; the server then parses
	// the unquoted text of a String parameter in the escaped format.
	values := store.EscapeParameterValues(query, params)
	bound := make(clickhouse.Parameters, len(params))
	for i, p := range params {
		if !identifier.MatchString(p.Name) {
			return nil, fmt.Errorf("invalid query parameter name %q: use letters, digits and _", p.Name)
		}
		if _, dup := bound[p.Name]; dup {
			return nil, fmt.Errorf("query parameter %q given twice", p.Name)
		}
		bound[p.Name] = values[i]
	}
	return clickhouse.Context(ctx, clickhouse.WithParameters(bound)), nil
}

// rows adapts driver.Rows to store.Rows and marks connection failures met
// while reading as store.ErrUnavailable.
type rows struct {
	driver.Rows
	// columnTypes are the result's ClickHouse types, read on the first Scan.
	columnTypes []string
}

// Scan converts integer columns as the embedded engine does (see
// scanTarget), and passes other columns to clickhouse-go unchanged.
func (r *rows) Scan(dest ...any) error {
	if r.columnTypes == nil {
		for _, ct := range r.Rows.ColumnTypes() {
			r.columnTypes = append(r.columnTypes, ct.DatabaseTypeName())
		}
	}
	if len(dest) != len(r.columnTypes) {
		return fmt.Errorf("clickhouse scan: %d destinations for %d columns", len(dest), len(r.columnTypes))
	}

	targets := make([]any, len(dest))
	converted := false
	for i, d := range dest {
		targets[i] = scanTarget(r.columnTypes[i], d)
		converted = converted || targets[i] != d
	}
	if err := r.Rows.Scan(targets...); err != nil {
		return fmt.Errorf("clickhouse scan: %w", err)
	}
	if !converted {
		return nil
	}
	for i, d := range dest {
		if targets[i] == d {
			continue
		}
		if err := convertScanned(targets[i], d); err != nil {
			return fmt.Errorf("clickhouse scan: column %d (%s): %w", i, r.columnTypes[i], err)
		}
	}
	return nil
}

func (r *rows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return classify(fmt.Errorf("clickhouse read rows: %w", err))
	}
	return nil
}

// classify wraps err with store.ErrUnavailable when it shows that the server
// could not be reached or the connection broke. An exception sent by the
// server (a syntax error, an unknown table) means the server is up, and a
// cancelled context is the caller's decision, so neither is marked.
func classify(err error) error {
	if err == nil || errors.Is(err, store.ErrUnavailable) {
		return err
	}
	var exception *clickhouse.Exception
	if errors.As(err, &exception) || errors.Is(err, context.Canceled) {
		return err
	}

	var netErr net.Error
	unavailable := errors.Is(err, clickhouse.ErrAcquireConnTimeout) ||
		errors.Is(err, io.EOF) ||
		errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) ||
		errors.As(err, &netErr)
	if unavailable {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
