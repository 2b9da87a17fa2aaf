package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/openbanking-insights/insights/internal/calendar"
	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chdb"
	"github.com/openbanking-insights/insights/internal/store/chserver"
)

// holidaysFlag registers -holidays, the bank holiday calendar that moves
// pay dates, and returns a function giving the calendar.
func holidaysFlag(fs *flag.FlagSet) func() (*calendar.Calendar, error) {
	name := fs.String("holidays", envOr("INSIGHTS_HOLIDAYS", string(calendar.RegionEnglandAndWales)),
		"UK bank holiday calendar for pay dates: england-and-wales, scotland or northern-ireland (env INSIGHTS_HOLIDAYS)")
	return func() (*calendar.Calendar, error) {
		cal, err := calendar.ByName(*name)
		if err != nil {
			return nil, fmt.Errorf("-holidays (INSIGHTS_HOLIDAYS) %q: want england-and-wales, scotland or northern-ireland", *name)
		}
		return cal, nil
	}
}

// storageConfig selects and opens the storage engine.
type storageConfig struct {
	DataDir  string // holds the embedded engine's data, keys and secrets
	DSN      string // clickhouse://, http:// or https://... selects a ClickHouse server instead of the embedded engine
	Library  string // libchdb.so
	Database string
}

// envOr returns the environment variable name, or def when it is unset.
func envOr(name, def string) string {
	if v, ok := os.LookupEnv(name); ok {
		return v
	}
	return def
}

func (c *storageConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data", envOr("INSIGHTS_DATA_DIR", ".data"),
		"data directory: embedded ClickHouse data, signing keys and secrets (env INSIGHTS_DATA_DIR)")
	fs.StringVar(&c.DSN, "storage", envOr("INSIGHTS_STORAGE_DSN", ""),
		"ClickHouse server DSN: clickhouse://user:password@host:9000/database for the native protocol, or http:// or https://user:password@host:8123/database for the HTTP interface; empty uses the embedded engine (env INSIGHTS_STORAGE_DSN)")
	fs.StringVar(&c.Library, "chdb-lib", chdb.DefaultLibrary(),
		"path of libchdb.so for the embedded engine (env INSIGHTS_CHDB_LIB)")
	fs.StringVar(&c.Database, "database", envOr("INSIGHTS_DATABASE", "insights"),
		"ClickHouse database of the embedded engine (env INSIGHTS_DATABASE)")
}

func (c *storageConfig) validate() error {
	if c.DataDir == "" {
		return fmt.Errorf("-data (INSIGHTS_DATA_DIR) must not be empty")
	}
	if c.DSN != "" && !hasAnyPrefix(c.DSN, "clickhouse://", "http://", "https://") {
		// The DSN may hold a password, so it is not shown.
		return fmt.Errorf("-storage (INSIGHTS_STORAGE_DSN) must start with clickhouse://, http:// or https://")
	}
	return nil
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// open opens the engine and applies pending migrations.
func (c *storageConfig) open(ctx context.Context, logger *slog.Logger) (store.Engine, error) {
	if err := c.validate(); err != nil {
		return nil, err
	}

	if err := checkDataDir(c.DataDir); err != nil {
		return nil, err
	}
	var engine store.Engine
	var err error
	if c.DSN != "" {
		engine, err = chserver.Open(ctx, c.DSN, logger)
	} else {
		engine, err = chdb.Open(ctx, chdb.Config{
			Path: filepath.Join(c.DataDir, "chdb"), Database: c.Database, Library: c.Library, Logger: logger,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("open storage: %w", err)
	}
	if err := store.Migrate(ctx, engine, logger); err != nil {
		engine.Close()
		return nil, fmt.Errorf("migrate storage: %w", err)
	}
	return engine, nil
}

// checkDataDir creates the data directory when it is missing and checks
// that it is a directory the process can write. A wrong path or mode then
// fails at start with the path and the cause, not deep inside the engine
// or at the first key rotation.
func checkDataDir(dir string) error {
	const flagName = "-data (INSIGHTS_DATA_DIR)"
	if info, err := os.Stat(dir); err == nil && !info.IsDir() {
		return fmt.Errorf("data directory %s from %s is not a directory", dir, flagName)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("data directory %s from %s cannot be created: %w", dir, flagName, err)
	}
	info, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data directory %s from %s cannot be read: %w", dir, flagName, err)
	}
	if !info.IsDir() {
		return fmt.Errorf("data directory %s from %s is not a directory", dir, flagName)
	}
	if _, err := os.ReadDir(dir); err != nil {
		return fmt.Errorf("data directory %s from %s cannot be listed: %w", dir, flagName, err)
	}
	probe, err := os.CreateTemp(dir, ".write-check-*")
	if err != nil {
		return fmt.Errorf("data directory %s from %s is not writable: %w", dir, flagName, err)
	}
	name := probe.Name()
	probe.Close()
	if err := os.Remove(name); err != nil {
		return fmt.Errorf("data directory %s from %s: remove write check file: %w", dir, flagName, err)
	}
	return nil
}

// parseFlags parses args, turning -h into a clean exit and flag errors into
// exit status 2.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(os.Stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return exitError{code: 0, msg: ""}
		}
		return exitError{code: 2, msg: ""}
	}
	return nil
}

// parseFlagsOnly parses args as parseFlags does, for a command that takes
// nothing but flags. An argument left over, often a value whose flag was
// left out, is rejected with exit status 2 instead of being ignored.
func parseFlagsOnly(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return exitError{code: 2, msg: fmt.Sprintf("insights %s: unexpected argument %q: the command takes only flags (see insights %s -h)",
			fs.Name(), fs.Arg(0), fs.Name())}
	}
	return nil
}
