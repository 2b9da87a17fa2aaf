package store

import (
	"fmt"
	"regexp"
	"strings"
)

// Clustered is implemented by engines that run on a ClickHouse cluster.
// Migrate then creates every table in its cluster form (see
// ClusterStatements).
type Clustered interface {
	// Cluster returns the cluster name from the server's remote_servers
	// configuration, or "" for a single server.
	Cluster() string
}

// LocalSuffix names the per-shard table behind each Distributed table:
// table transactions stores its rows in transactions_local on every shard.
const LocalSuffix = "_local"

// ReplicaPath is the ClickHouse Keeper path of each replicated table. The
// server expands {shard} and {replica} from its macros, and {database} and
// {table} from the table being created.
const ReplicaPath = "/clickhouse/tables/{shard}/{database}/{table}"

var (
	createTablePattern = regexp.MustCompile(`(?is)^CREATE\s+TABLE\s+IF\s+NOT\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s*(\(.*\))\s*ENGINE\s*=\s*([A-Za-z]+)(\s*\(([^()]*)\))?(.*)$`)
	orderByPattern     = regexp.MustCompile(`(?is)\bORDER\s+BY\s+(\(\s*)?([A-Za-z_][A-Za-z0-9_]*)`)
	alterTablePattern  = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)\s+(.*)$`)
	optimizePattern    = regexp.MustCompile(`(?is)^OPTIMIZE\s+TABLE\s+([A-Za-z_][A-Za-z0-9_]*)(.*)$`)
	dropTablePattern   = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+IF\s+EXISTS\s+([A-Za-z_][A-Za-z0-9_]*)\s*$`)
	columnChange       = regexp.MustCompile(`(?is)^(ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b`)
	clusterName        = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,62}$`)
)

// ClusterStatements rewrites one statement of the single-server schema for
// a cluster named cluster, with the tables in database:
//
//   - CREATE TABLE t ... ENGINE = XMergeTree(args) becomes t_local, a
//     ReplicatedXMergeTree on every shard (ON CLUSTER), and t, a Distributed
//     table over t_local sharded by cityHash64 of the first ORDER BY column.
//     Tables that hold a customer's data are ordered by customer_id first,
//     so they are sharded by customer, and rows that FINAL must merge (the
//     same sorting key) always land on the same shard.
//   - ALTER TABLE t on columns changes t_local and t; other ALTERs
//     (partitions, settings) and OPTIMIZE change t_local only.
//   - DROP TABLE IF EXISTS t drops t and t_local.
//
// Any other statement is an error, so a migration without a cluster form is
// found when it is written rather than on a cluster.
func ClusterStatements(stmt, cluster, database string) ([]string, error) {
	if !clusterName.MatchString(cluster) {
		return nil, fmt.Errorf("invalid cluster name %q: use letters, digits and _", cluster)
	}
	stmt = strings.TrimSpace(stmt)
	on := " ON CLUSTER " + cluster

	if m := createTablePattern.FindStringSubmatch(stmt); m != nil {
		return clusterCreate(m, on, cluster, database)
	}
	if m := alterTablePattern.FindStringSubmatch(stmt); m != nil {
		table, change := m[1], m[2]
		local := "ALTER TABLE " + table + LocalSuffix + on + " " + change
		if !columnChange.MatchString(change) {
			return []string{local}, nil
		}
		return []string{local, "ALTER TABLE " + table + on + " " + change}, nil
	}
	if m := optimizePattern.FindStringSubmatch(stmt); m != nil {
		return []string{"OPTIMIZE TABLE " + m[1] + LocalSuffix + on + m[2]}, nil
	}
	if m := dropTablePattern.FindStringSubmatch(stmt); m != nil {
		return []string{
			"DROP TABLE IF EXISTS " + m[1] + on + " SYNC",
			"DROP TABLE IF EXISTS " + m[1] + LocalSuffix + on + " SYNC",
		}, nil
	}
	return nil, fmt.Errorf("statement has no cluster form (want CREATE TABLE IF NOT EXISTS, ALTER TABLE, OPTIMIZE TABLE or DROP TABLE IF EXISTS): %.60q", stmt)
}

func clusterCreate(m []string, on, cluster, database string) ([]string, error) {
	table, columns, engine, args, rest := m[1], m[2], m[3], m[5], m[6]
	if !strings.HasSuffix(engine, "MergeTree") || strings.HasPrefix(engine, "Replicated") {
		return nil, fmt.Errorf("table %s: engine %s has no cluster form (want a MergeTree family engine)", table, engine)
	}
	key := orderByPattern.FindStringSubmatch(rest)
	if key == nil {
		return nil, fmt.Errorf("table %s: no ORDER BY column to shard by", table)
	}

	replicaArgs := "'" + ReplicaPath + "', '{replica}'"
	if strings.TrimSpace(args) != "" {
		replicaArgs += ", " + strings.TrimSpace(args)
	}
	local := "CREATE TABLE IF NOT EXISTS " + table + LocalSuffix + on + "\n" + columns +
		"\nENGINE = Replicated" + engine + "(" + replicaArgs + ")" + rest
	distributed := fmt.Sprintf("CREATE TABLE IF NOT EXISTS %s%s AS %s%s\nENGINE = Distributed(%s, %s, %s%s, cityHash64(%s))",
		table, on, table, LocalSuffix, cluster, database, table, LocalSuffix, key[2])
	return []string{local, distributed}, nil
}
