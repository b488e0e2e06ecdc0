#!/usr/bin/env bash
# Benchmark ymsgd on loopback: bench/server/run.sh [BUILD_DIR] [USERS] [SECONDS] [CONCURRENCY] [WS_USERS]
# Creates USERS accounts with 18-buddy lists in a temporary data dir, starts ymsgd with limits opened
# up for one load generator, runs ymsg-bench (logins, RSS per session, msgs/s, RTT), stops ymsgd.
# WS_USERS > 0: that many of the USERS sign in over WebSocket instead, and the message phases run
# for TCP pairs and WebSocket pairs side by side (see ymsg_bench.c).
set -euo pipefail
build=${1:-build}
users=${2:-10000}
secs=${3:-10}
conc=${4:-256}
ws=${5:-0}
dir=$(mktemp -d /tmp/ymsgd-bench-XXXXXX)
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$dir"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
yport=$(port); hport=$(port)
"$build/bench/server/ymsg-bench" setup "$dir/data" "$users"
"$build/server/ymsgd" --data-dir "$dir/data" --ymsg-listen 127.0.0.1:$yport --http-listen 127.0.0.1:$hport \
  --log-level warn --max-sessions 1000000 --max-conns-per-addr 100000 --conn-rate 1000000 --conn-burst 1000000 \
  --login-rate 1000000 --login-burst 1000000 --max-tracked 10000000 --out-cap 4194304 \
  --http-max-conns 1000000 --http-max-conns-per-addr 1000000 \
  --session-rate 1000000 --session-burst 1000000 2>"$dir/ymsgd.log" &
pid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$yport) 2>/dev/null && break; sleep 0.1; done
/usr/bin/time -f "ymsg-bench: %U s user, %S s system" "$build/bench/server/ymsg-bench" run $yport $hport "$users" $pid "$secs" "$conc" "$ws"
awk '{printf "ymsgd: %.2f s user, %.2f s system\n", $14/100, $15/100}' /proc/$pid/stat
grep -c "level=warn\|level=error" "$dir/ymsgd.log" | sed 's/^/ymsgd warnings+errors: /'
