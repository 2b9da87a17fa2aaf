package chserver

import (
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

func TestSplitClusterOption(t *testing.T) {
	tests := []struct {
		name, dsn, wantDSN, wantCluster, wantErr string
	}{
		{"absent", "clickhouse://u:p@h:9000/db?dial_timeout=5s", "clickhouse://u:p@h:9000/db?dial_timeout=5s", "", ""},
		{"present", "clickhouse://u:p@h:9000/db?cluster=main&dial_timeout=5s", "clickhouse://u:p@h:9000/db?dial_timeout=5s", "main", ""},
		{"only option", "clickhouse://h:9000/db?cluster=prod_2", "clickhouse://h:9000/db", "prod_2", ""},
		{"empty name", "clickhouse://u:secret@h:9000/db?cluster=", "", "", `invalid cluster ""`},
		{"unsafe name", "clickhouse://u:secret@h:9000/db?cluster=a%60b", "", "", "invalid cluster \"a`b\""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dsn, cluster, err := splitClusterOption(tt.dsn)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secret") {
					t.Errorf("error shows the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if dsn != tt.wantDSN || cluster != tt.wantCluster {
				t.Errorf("got %q, %q; want %q, %q", dsn, cluster, tt.wantDSN, tt.wantCluster)
			}
		})
	}
}

func TestClusterSettings_keepsDSNChoice(t *testing.T) {
	opts := &clickhouse.Options{}
	clusterSettings(opts)
	if opts.Settings["distributed_foreground_insert"] != 1 {
		t.Errorf("distributed_foreground_insert = %v, want 1", opts.Settings["distributed_foreground_insert"])
	}
	opts = &clickhouse.Options{Settings: clickhouse.Settings{"distributed_foreground_insert": 0}}
	clusterSettings(opts)
	if opts.Settings["distributed_foreground_insert"] != 0 {
		t.Error("a setting given in the DSN was overridden")
	}
}

func TestRunsOnShards(t *testing.T) {
	for query, want := range map[string]bool{
		"ALTER TABLE transactions_staging DROP PARTITION 'x'":  true,
		"  optimize table transactions final":                  true,
		"INSERT INTO transactions SELECT 1":                    false,
		"SELECT 'ALTER TABLE x'":                               false,
		"CREATE TABLE IF NOT EXISTS t (a String) ENGINE = Log": false,
	} {
		if got := runsOnShards(query); got != want {
			t.Errorf("runsOnShards(%q) = %v, want %v", query, got, want)
		}
	}
}
