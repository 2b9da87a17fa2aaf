package chserver

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// clusterOption is the DSN query option that selects the cluster schema:
// clickhouse://host:9000/insights?cluster=NAME, where NAME is a cluster of
// the servers' remote_servers configuration.
const clusterOption = "cluster"

var shardStatement = regexp.MustCompile(`(?is)^\s*(ALTER|OPTIMIZE)\s+TABLE\s`)

// splitClusterOption removes the cluster option from dsn and returns the
// rest of the DSN and the cluster name ("" when the option is absent).
// Errors never quote the DSN, which may hold a password.
func splitClusterOption(dsn string) (string, string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", "", fmt.Errorf("invalid ClickHouse DSN: not a URL")
	}
	q := u.Query()
	if !q.Has(clusterOption) {
		return dsn, "", nil
	}
	cluster := q.Get(clusterOption)
	if !identifier.MatchString(cluster) {
		return "", "", fmt.Errorf("invalid cluster %q in ClickHouse DSN: use letters, digits and _", cluster)
	}
	q.Del(clusterOption)
	u.RawQuery = q.Encode()
	return u.String(), cluster, nil
}

// clusterSettings sets what the cluster schema relies on, unless the DSN
// set it: an insert into a Distributed table returns only after every
// shard it touches stored its rows, so an acknowledged write is durable
// and visible to the next read through any node.
func clusterSettings(opts *clickhouse.Options) {
	if opts.Settings == nil {
		opts.Settings = clickhouse.Settings{}
	}
	if _, set := opts.Settings["distributed_foreground_insert"]; !set {
		opts.Settings["distributed_foreground_insert"] = 1
	}
}

// runsOnShards reports whether query changes table parts, which on a
// cluster exist only in the per-shard tables.
func runsOnShards(query string) bool {
	return shardStatement.MatchString(strings.TrimSpace(query))
}
