package storetest

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/chhttptest"
	"github.com/openbanking-insights/insights/internal/store/chserver"
)

// ServerDSNVariable names the ClickHouse server the server tests use, as a
// clickhouse:// or http:// DSN, or embedded-http for the embedded HTTP
// server. Its database part is ignored: each test gets its own.
const ServerDSNVariable = "INSIGHTS_TEST_CLICKHOUSE_DSN"

// embeddedDSNOptions are the DSN options of the embedded HTTP server. LZ4
// block compression is on, so the tests cover the compressed form of
// clickhouse-go's HTTP requests and responses.
var embeddedDSNOptions = []string{"compress=lz4", "dial_timeout=10s"}

// ClusterVariable names a cluster of that server's remote_servers
// configuration, for the cluster schema tests.
const ClusterVariable = "INSIGHTS_TEST_CLICKHOUSE_CLUSTER"

// NewServer returns an engine of internal/store/chserver on a new, migrated
// database of the server named by INSIGHTS_TEST_CLICKHOUSE_DSN, in the
// cluster schema of cluster unless it is "". When the variable is unset or
// embedded-http, the server is the process's embedded HTTP server
// (chhttptest.Shared), which cannot run the cluster schema, so a test
// asking for a cluster is skipped there. The database is dropped when the
// test ends.
func NewServer(t testing.TB, cluster string) store.Engine {
	t.Helper()
	dsn := os.Getenv(ServerDSNVariable)
	if dsn == "" || dsn == chhttptest.EmbeddedDSN {
		if cluster != "" {
			t.Skipf("the embedded HTTP server has no Keeper and no remote_servers, so ReplicatedMergeTree, Distributed and ON CLUSTER cannot run on it: set %s to a clickhouse:// or http:// DSN of a real server and %s to one of its clusters",
				ServerDSNVariable, ClusterVariable)
		}
		server, err := chhttptest.Shared()
		if err != nil {
			t.Fatalf("start embedded ClickHouse HTTP server: %v", err)
		}
		dsn = server.DSN("", embeddedDSNOptions...)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// The DSN may hold a password, so it is not shown.
		t.Fatalf("%s is not a valid URL", ServerDSNVariable)
	}

	name := strings.ToLower(unsafeChars.ReplaceAllString(t.Name(), "_"))
	database := fmt.Sprintf("insights_test_%d_%d_%s", os.Getpid(), counter.Add(1), name)
	if len(database) > 63 {
		database = database[:63]
	}
	u.Path = "/" + database
	if cluster != "" {
		q := u.Query()
		q.Set("cluster", cluster)
		u.RawQuery = q.Encode()
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	e, err := chserver.Open(ctx, u.String(), logger)
	if err != nil {
		t.Fatalf("open ClickHouse server: %v", err)
	}
	t.Cleanup(func() {
		drop := "DROP DATABASE IF EXISTS `" + database + "`"
		if cluster != "" {
			drop += " ON CLUSTER `" + cluster + "` SYNC"
		}
		if err := e.Exec(context.Background(), drop); err != nil {
			t.Logf("drop test database %s: %v", database, err)
		}
		e.Close()
	})
	if err := store.Migrate(ctx, e, logger); err != nil {
		t.Fatalf("migrate test database %s: %v", database, err)
	}
	return e
}

// NewCluster returns NewServer on the cluster named by
// INSIGHTS_TEST_CLICKHOUSE_CLUSTER, and skips the test when it is unset.
func NewCluster(t testing.TB) store.Engine {
	t.Helper()
	cluster := os.Getenv(ClusterVariable)
	if cluster == "" {
		t.Skipf("no ClickHouse cluster: set %s to a server DSN and %s to a cluster of its remote_servers to run this test",
			ServerDSNVariable, ClusterVariable)
	}
	return NewServer(t, cluster)
}
