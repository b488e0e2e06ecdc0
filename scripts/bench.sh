#!/usr/bin/env bash
# Runs every benchmark under bench/ against the build in ${BUILD:-build} and prints their figures.
# Each one is bounded (fixed sizes, loopback only, stops by itself); docs/PERFORMANCE.md records the
# figures with the exact command behind each.  Benchmarks are never part of `make check`.
set -euo pipefail
cd "$(dirname "$0")/.."
b=${BUILD:-build}
run() { echo; echo "== $*"; "$@"; }
run "$b/bench/ymsg/bench-ymsg-decode" --runs 5
run "$b/bench/ymsg/bench-ymsg-format"
run bench/amf/run.sh "$b" --runs 5
if [ -x "$b/bench/session/bench_session" ]; then
  rec=$(mktemp); trap 'rm -f "$rec"' EXIT
  run python3 bench/session/record_stream.py "$b/client/ymsg" "$b/server/ymsgd" "$rec" 20000
  run "$b/bench/session/bench_session" "$rec"
fi
run bench/server/run.sh "$b" 2000 5 64
run python3 bench/gateway/bench_gateway.py "$b/server/ymsgd"
run node bench/web/page_bench.mjs "$b" 10
