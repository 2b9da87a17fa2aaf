package chserver_test

import (
	"context"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

// The cluster tests need a ClickHouse cluster with Keeper and the {shard}
// and {replica} macros; they skip unless INSIGHTS_TEST_CLICKHOUSE_DSN and
// INSIGHTS_TEST_CLICKHOUSE_CLUSTER are set. The storetest package runs
// the engine suite on the server and on the cluster.

func TestCluster_schemaForm(t *testing.T) {
	e := storetest.NewCluster(t)
	ctx := context.Background()

	for table, wantEngine := range map[string]string{
		"transactions":                     "Distributed",
		"transactions" + store.LocalSuffix: "ReplicatedReplacingMergeTree",
		"audit_log" + store.LocalSuffix:    "ReplicatedMergeTree",
		"job_leases" + store.LocalSuffix:   "ReplicatedMergeTree",
		"schema_migrations":                "Distributed",
	} {
		rows, err := e.Query(ctx, "SELECT engine FROM system.tables WHERE database = {db:String} AND name = {t:String}",
			store.P("db", e.Database()), store.P("t", table))
		if err != nil {
			t.Fatal(err)
		}
		var engine string
		if rows.Next() {
			if err := rows.Scan(&engine); err != nil {
				t.Fatal(err)
			}
		}
		rows.Close()
		if engine != wantEngine {
			t.Errorf("table %s has engine %q, want %s", table, engine, wantEngine)
		}
	}
}
