#!/usr/bin/env bash
# Fetches libchdb.so, the embedded ClickHouse engine, from the npm registry
# package @chdb/lib-linux-x64-gnu at a pinned version into a cache outside
# the repository. npm checks the package's published integrity hash.
#
# Usage: scripts/fetch-chdb.sh VERSION DEST_DIR
set -euo pipefail

version=${1:?usage: fetch-chdb.sh VERSION DEST_DIR}
dest=${2:?usage: fetch-chdb.sh VERSION DEST_DIR}

if [ -s "$dest/libchdb.so" ]; then
	exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
	echo "fetch-chdb: npm is required to fetch @chdb/lib-linux-x64-gnu; install Node.js and npm" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "fetching @chdb/lib-linux-x64-gnu@$version (about 180 MB) into $dest" >&2
(cd "$tmp" && npm pack --silent "@chdb/lib-linux-x64-gnu@$version" >/dev/null)
tar -xzf "$tmp"/chdb-lib-linux-x64-gnu-"$version".tgz -C "$tmp" package/libchdb.so

mkdir -p "$dest"
mv "$tmp/package/libchdb.so" "$dest/libchdb.so.partial"
mv "$dest/libchdb.so.partial" "$dest/libchdb.so"
