#!/usr/bin/env bash
# libamf vs librtmp (in bench_amf) and the npm AMF peers (peers.js) on the same sample bytes, one run.
#   bench/amf/run.sh [BUILD_DIR] [bench_amf options: --rows N --runs R --min-ms M]
# Pinned to CPU 0 with taskset when available.  Needs a build with -Dbench=true (the default) and,
# for the peers, scripts/deps.sh test (npm packages in tests/interop/amf/node_modules).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
[ $# -gt 0 ] && shift
ninja -C "$build" bench/amf/bench_amf >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
echo "== $(date -u +%FT%TZ) $(uname -m), $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg), ${pin[*]:-no pinning}"
"${pin[@]}" "$build/bench/amf/bench_amf" --out "$tmp" "$@"
if command -v node >/dev/null; then
  "${pin[@]}" node "$root/bench/amf/peers.js" "$tmp"
else
  echo "node not installed: npm peers skipped"
fi
