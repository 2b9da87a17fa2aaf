package chdb

import (
	"os"
	"path/filepath"
)

// Version is the chDB release whose libchdb.so `make engine` fetches from the
// npm registry package @chdb/lib-linux-x64-gnu.
const Version = "26.7.3-stable.1"

// DefaultLibrary returns the path of libchdb.so: $INSIGHTS_CHDB_LIB when set,
// otherwise the cache `make engine` fills, $XDG_CACHE_HOME/insights/chdb/<Version>
// (~/.cache when XDG_CACHE_HOME is unset).
func DefaultLibrary() string {
	if p := os.Getenv("INSIGHTS_CHDB_LIB"); p != "" {
		return p
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = filepath.Join(os.TempDir(), "insights-cache")
	}
	return filepath.Join(cache, "insights", "chdb", Version, "libchdb.so")
}
