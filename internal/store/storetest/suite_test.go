package storetest

import (
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
)

func TestMain(m *testing.M) { Main(m) }

func TestSuite_embedded(t *testing.T) {
	Suite(t, NewEmbedded)
}

// The server run uses the server INSIGHTS_TEST_CLICKHOUSE_DSN names, or the
// embedded HTTP server when it is unset. The cluster run skips, saying what
// to set, unless INSIGHTS_TEST_CLICKHOUSE_CLUSTER also names a cluster of a
// real server.
func TestSuite_server(t *testing.T) {
	Suite(t, func(t testing.TB) store.Engine { return NewServer(t, "") })
}

func TestSuite_cluster(t *testing.T) {
	NewCluster(t) // skips without a cluster
	Suite(t, NewCluster)
}
