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
	"github.com/openbanking-insights/insights/internal/store/chserver"
)

// ServerDSNVariable names the ClickHouse server the server tests use, as a
// clickhouse:// DSN. Its database part is ignored: each test gets its own.
const ServerDSNVariable = "INSIGHTS_TEST_CLICKHOUSE_DSN"

// ClusterVariable names a cluster of that server's remote_servers
// configuration, for the cluster schema tests.
const ClusterVariable = "INSIGHTS_TEST_CLICKHOUSE_CLUSTER"

// NewServer returns an engine on a new, migrated database of the server
// named by INSIGHTS_TEST_CLICKHOUSE_DSN, in the cluster schema of cluster
// unless it is "". The database is dropped when the test ends. It skips the
// test, saying which variable to set, when the DSN (or the cluster) is not
// configured.
func NewServer(t testing.TB, cluster string) store.Engine {
	t.Helper()
	dsn := os.Getenv(ServerDSNVariable)
	if dsn == "" {
		t.Skipf("no ClickHouse server: set %s=clickhouse://user:password@host:9000 to run this test against one", ServerDSNVariable)
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
