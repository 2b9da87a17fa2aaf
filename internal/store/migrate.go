package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strconv"
	"strings"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema change, from migrations/NNNN_name.sql.
type Migration struct {
	Version    int
	Name       string
	Statements []string
}

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}

	var out []Migration
	for _, e := range entries {
		name := e.Name()
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		version, err := strconv.Atoi(num)
		if !ok || err != nil || version <= 0 {
			return nil, fmt.Errorf("migration file %s: want NNNN_name.sql", name)
		}
		body, err := fs.ReadFile(migrationFiles, "migrations/"+name)
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		out = append(out, Migration{Version: version, Name: rest, Statements: splitStatements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations have version %d", out[i].Version)
		}
	}
	return out, nil
}

// splitStatements splits a migration on semicolons that end a line, after
// dropping -- comment lines. Statements must not contain such semicolons
// inside string literals.
func splitStatements(sql string) []string {
	var kept []string
	for _, line := range strings.Split(sql, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			kept = append(kept, line)
		}
	}

	var stmts []string
	for _, s := range strings.Split(strings.Join(kept, "\n"), ";\n") {
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";"))
		if s != "" {
			stmts = append(stmts, s)
		}
	}
	return stmts
}

// Migrate applies the migrations not yet recorded in schema_migrations, in
// order. On a Clustered engine every statement runs in its cluster form
// (ON CLUSTER, replicated and Distributed tables). Each statement is idempotent (IF NOT EXISTS), so a migration cut
// short by a crash is simply run again; its version is recorded only after
// all its statements succeeded.
func Migrate(ctx context.Context, e Engine, logger *slog.Logger) error {
	if logger == nil {
		logger = slog.Default()
	}
	migrations, err := Migrations()
	if err != nil {
		return err
	}

	const createTable = `CREATE TABLE IF NOT EXISTS schema_migrations
(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3))
ENGINE = ReplacingMergeTree ORDER BY version`
	create, err := engineStatements(e, createTable)
	if err != nil {
		return fmt.Errorf("create schema_migrations: %w", err)
	}
	for _, stmt := range create {
		if err := e.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
	}
	applied, err := appliedVersions(ctx, e)
	if err != nil {
		return err
	}

	for _, m := range migrations {
		if applied[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			forms, err := engineStatements(e, stmt)
			if err != nil {
				return fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
			for _, form := range forms {
				if err := e.Exec(ctx, form); err != nil {
					return fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
				}
			}
		}
		err := e.Exec(ctx, "INSERT INTO schema_migrations (version, name) VALUES ({version:UInt32}, {name:String})",
			P("version", strconv.Itoa(m.Version)), P("name", m.Name))
		if err != nil {
			return fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		logger.Info("schema migration applied", "version", m.Version, "name", m.Name, "database", e.Database())
	}
	return nil
}

// engineStatements returns stmt as e runs it: unchanged on one server, or
// its ClusterStatements form when e is Clustered with a cluster name.
func engineStatements(e Engine, stmt string) ([]string, error) {
	c, ok := e.(Clustered)
	if !ok || c.Cluster() == "" {
		return []string{stmt}, nil
	}
	return ClusterStatements(stmt, c.Cluster(), e.Database())
}

func appliedVersions(ctx context.Context, e Engine) (map[int]bool, error) {
	rows, err := e.Query(ctx, "SELECT toInt64(version) FROM schema_migrations FINAL")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()

	applied := map[int]bool{}
	for rows.Next() {
		var v int64
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		applied[int(v)] = true
	}
	return applied, rows.Err()
}
