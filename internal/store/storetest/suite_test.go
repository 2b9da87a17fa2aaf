package storetest

import (
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

func TestMain(m *testing.M) { Main(m) }

func TestSuite_embedded(t *testing.T) {
	Suite(t, NewEmbedded)
}

// The server and cluster runs skip, saying what to set, unless
// INSIGHTS_TEST_CLICKHOUSE_DSN (and INSIGHTS_TEST_CLICKHOUSE_CLUSTER) name
// a ClickHouse server (and cluster).
func TestSuite_server(t *testing.T) {
	NewServer(t, "") // skips without a server
	Suite(t, func(t testing.TB) store.Engine { return NewServer(t, "") })
}

func TestSuite_cluster(t *testing.T) {
	NewCluster(t) // skips without a cluster
	Suite(t, NewCluster)
}
