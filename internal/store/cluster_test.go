package store_test

import (
	"context"
	"strings"
	"testing"

	"github.com/openbanking-insights/insights/internal/store"
	"github.com/openbanking-insights/insights/internal/store/storetest"
)

func TestClusterStatements_forms(t *testing.T) {
	tests := []struct {
		name string
		stmt string
		want []string
	}{
		{
			name: "replacing table with version column",
			stmt: "CREATE TABLE IF NOT EXISTS accounts\n(\n    customer_id String,\n    ingested_at DateTime64(3, 'UTC')\n)\nENGINE = ReplacingMergeTree(ingested_at)\nORDER BY (customer_id, account_id)",
			want: []string{
				"CREATE TABLE IF NOT EXISTS accounts_local ON CLUSTER main\n(\n    customer_id String,\n    ingested_at DateTime64(3, 'UTC')\n)\nENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}', ingested_at)\nORDER BY (customer_id, account_id)",
				"CREATE TABLE IF NOT EXISTS accounts ON CLUSTER main AS accounts_local\nENGINE = Distributed(main, insights, accounts_local, cityHash64(customer_id))",
			},
		},
		{
			name: "plain table with partitions and settings",
			stmt: "CREATE TABLE IF NOT EXISTS audit_log (at DateTime64(3, 'UTC'), request_id String) ENGINE = MergeTree PARTITION BY toYYYYMM(at) ORDER BY at SETTINGS index_granularity = 8192",
			want: []string{
				"CREATE TABLE IF NOT EXISTS audit_log_local ON CLUSTER main\n(at DateTime64(3, 'UTC'), request_id String)\nENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/{table}', '{replica}') PARTITION BY toYYYYMM(at) ORDER BY at SETTINGS index_granularity = 8192",
				"CREATE TABLE IF NOT EXISTS audit_log ON CLUSTER main AS audit_log_local\nENGINE = Distributed(main, insights, audit_log_local, cityHash64(at))",
			},
		},
		{
			name: "column change reaches both tables",
			stmt: "ALTER TABLE clients ADD COLUMN IF NOT EXISTS contact String DEFAULT ''",
			want: []string{
				"ALTER TABLE clients_local ON CLUSTER main ADD COLUMN IF NOT EXISTS contact String DEFAULT ''",
				"ALTER TABLE clients ON CLUSTER main ADD COLUMN IF NOT EXISTS contact String DEFAULT ''",
			},
		},
		{
			name: "partition change reaches the shards only",
			stmt: "ALTER TABLE transactions_staging DROP PARTITION 'load-1'",
			want: []string{"ALTER TABLE transactions_staging_local ON CLUSTER main DROP PARTITION 'load-1'"},
		},
		{
			name: "optimize reaches the shards only",
			stmt: "OPTIMIZE TABLE transactions FINAL",
			want: []string{"OPTIMIZE TABLE transactions_local ON CLUSTER main FINAL"},
		},
		{
			name: "drop removes both tables",
			stmt: "DROP TABLE IF EXISTS old_table",
			want: []string{"DROP TABLE IF EXISTS old_table ON CLUSTER main SYNC", "DROP TABLE IF EXISTS old_table_local ON CLUSTER main SYNC"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := store.ClusterStatements(tt.stmt, "main", "insights")
			if err != nil {
				t.Fatalf("ClusterStatements: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d statements, want %d:\n%s", len(got), len(tt.want), strings.Join(got, "\n---\n"))
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Errorf("statement %d:\ngot  %s\nwant %s", i+1, got[i], tt.want[i])
				}
			}
		})
	}
}

func TestClusterStatements_rejected(t *testing.T) {
	tests := []struct {
		name, stmt, cluster, wantErr string
	}{
		{"view", "CREATE MATERIALIZED VIEW v TO t AS SELECT 1", "main", "no cluster form"},
		{"insert", "INSERT INTO t SELECT 1", "main", "no cluster form"},
		{"non merge tree engine", "CREATE TABLE IF NOT EXISTS m (a String) ENGINE = Memory", "main", "engine Memory has no cluster form"},
		{"already replicated", "CREATE TABLE IF NOT EXISTS r (a String) ENGINE = ReplicatedMergeTree ORDER BY a", "main", "engine ReplicatedMergeTree"},
		{"no order by", "CREATE TABLE IF NOT EXISTS n (a String) ENGINE = MergeTree", "main", "no ORDER BY"},
		{"bad cluster name", "OPTIMIZE TABLE t", "main; DROP", `invalid cluster name "main; DROP"`},
		{"empty cluster name", "OPTIMIZE TABLE t", "", "invalid cluster name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := store.ClusterStatements(tt.stmt, tt.cluster, "insights")
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// Every statement of every embedded migration has a cluster form that
// ClickHouse's own parser accepts. The embedded engine cannot create
// replicated or Distributed tables without a Keeper and remote servers, so
// EXPLAIN AST checks the syntax; running them needs a cluster (see the
// chserver cluster tests).
func TestClusterStatements_migrationsParse(t *testing.T) {
	e := storetest.New(t)
	ctx := context.Background()
	if _, err := e.Query(ctx, "EXPLAIN AST CREATE TABLE broken ON CLUSTER (a String) ENGINE ="); err == nil {
		t.Fatal("EXPLAIN AST accepted a malformed statement, so it cannot check the cluster forms")
	}
	migrations, err := store.Migrations()
	if err != nil {
		t.Fatal(err)
	}

	var forms int
	for _, m := range migrations {
		for i, stmt := range m.Statements {
			cluster, err := store.ClusterStatements(stmt, "insights_cluster", "insights")
			if err != nil {
				t.Errorf("migration %04d_%s statement %d: %v", m.Version, m.Name, i+1, err)
				continue
			}
			for _, form := range cluster {
				forms++
				rows, err := e.Query(ctx, "EXPLAIN AST "+form)
				if err != nil {
					t.Errorf("migration %04d_%s statement %d does not parse in cluster form: %v\n%s", m.Version, m.Name, i+1, err, form)
					continue
				}
				rows.Close()
			}
		}
	}
	if forms == 0 {
		t.Fatal("no cluster statements were checked")
	}
}
