#!/usr/bin/env bash
# A local ymsgd cluster on loopback (issue 12):
#   scripts/cluster.sh up N [DIR]   start a PostgreSQL (the nodes' one durable store), a redis-server and
#                                   N ymsgd nodes; DIR defaults to a new temp dir
#   scripts/cluster.sh down [DIR]   stop everything started by `up` (DIR defaults to the last one)
#   scripts/cluster.sh status [DIR] what runs
# Node i (0-based) listens on 127.0.0.(i+1): pager :$YMSG_PORT (5050), HTTP :$HTTP_PORT (8080), so every
# node has the real client's ports and /capacity hands out a distinct address.  Environment: YMSGD
# (default build/server/ymsgd), YMSG_PORT, HTTP_PORT, YMSGD_ARGS (extra flags for every node).
# Everything (data, sockets, logs, pids) lives in DIR; nothing is installed as a service.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
YMSGD=${YMSGD:-$root/build/server/ymsgd}
YMSG_PORT=${YMSG_PORT:-5050}
HTTP_PORT=${HTTP_PORT:-8080}
last=/tmp/ymsg-cluster.last

die() { echo "cluster.sh: $*" >&2; exit 1; }

wait_port() { # host port seconds
  local end=$((SECONDS + $3))
  while [ $SECONDS -lt "$end" ]; do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

pg_up() { # dir: a PostgreSQL cluster of our own, reachable on a unix socket in dir/pg
  local d=$1/pg bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$bindir" ] || die "PostgreSQL not installed (Debian package postgresql; scripts/deps.sh test)"
  mkdir -p "$d/data" "$d/sock"
  local as=()
  [ "$(id -u)" -eq 0 ] && { chown -R postgres "$d"; chmod 755 "$1"; as=(runuser -u postgres --); }
  "${as[@]}" "$bindir/initdb" -D "$d/data" -A trust -U postgres >"$d/initdb.log" 2>&1 || die "initdb failed: $d/initdb.log"
  "${as[@]}" "$bindir/pg_ctl" -D "$d/data" -l "$d/postgres.log" -w \
    -o "-k $d/sock -c listen_addresses=''" start >/dev/null || die "PostgreSQL did not start: $d/postgres.log"
  "${as[@]}" "$bindir/createdb" -h "$d/sock" -U postgres ymsg || die "createdb failed"
  echo "$bindir" >"$d/bindir"
  echo "postgresql:///ymsg?host=$d/sock&user=postgres"
}

up() {
  local n=$1 dir=${2:-}
  [[ "$n" =~ ^[1-9][0-9]*$ ]] && [ "$n" -le 200 ] || die "up N: 1 to 200 nodes"
  [ -x "$YMSGD" ] || die "no ymsgd at $YMSGD (build first, or set YMSGD)"
  command -v redis-server >/dev/null || die "redis-server not installed (Debian package redis-server; scripts/deps.sh test)"
  [ -n "$dir" ] || dir=$(mktemp -d /tmp/ymsg-cluster-XXXXXX)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ -e "$dir/redis.pid" ] && die "$dir already holds a cluster (scripts/cluster.sh down $dir)"
  echo "$dir" >"$last"
  local url
  url=$(pg_up "$dir")
  local store_args=(--store "$url")
  echo "postgresql: $url"
  redis-server --port 0 --unixsocket "$dir/redis.sock" --unixsocketperm 700 --dir "$dir" --save "" \
    --appendonly no --daemonize yes --pidfile "$dir/redis.pid" --logfile "$dir/redis.log" >/dev/null
  for _ in $(seq 50); do [ -S "$dir/redis.sock" ] && break; sleep 0.1; done
  [ -S "$dir/redis.sock" ] || die "redis-server did not start: $dir/redis.log"
  echo "redis:      unix:$dir/redis.sock"
  for i in $(seq 0 $((n - 1))); do
    local host=127.0.0.$((i + 1)) data=$dir/node$i/data
    mkdir -p "$data"
    # shellcheck disable=SC2086
    "$YMSGD" --data-dir "$data" "${store_args[@]}" --ymsg-listen "$host:$YMSG_PORT" --http-listen "$host:$HTTP_PORT" \
      --https-listen "" --redis "unix:$dir/redis.sock" --node-name "node$i" --advertise "$host:$YMSG_PORT" \
      --pwcache-key-file "$dir/pwcache.key" \
      ${YMSGD_ARGS:-} >"$dir/node$i.out" 2>"$dir/node$i.log" &
    echo $! >"$dir/node$i.pid"
    wait_port "$host" "$YMSG_PORT" 20 && sleep 0.2 && kill -0 "$(cat "$dir/node$i.pid")" 2>/dev/null ||
      die "node$i did not start (port taken?): $dir/node$i.log"
    echo "node$i:      pager $host:$YMSG_PORT  http://$host:$HTTP_PORT/  (log $dir/node$i.log)"
  done
  echo "$n" >"$dir/nodes"
  if [ -s "$dir/node0.out" ]; then echo "demo accounts (first start):"; sed 's/^/  /' "$dir/node0.out"; fi
  echo "down:       scripts/cluster.sh down $dir"
}

down() {
  local dir=${1:-$(cat "$last" 2>/dev/null || true)}
  [ -n "$dir" ] && [ -d "$dir" ] || die "down [DIR]: no cluster directory"
  for f in "$dir"/node*.pid; do
    [ -e "$f" ] || continue
    local pid; pid=$(cat "$f")
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$f"
  done
  if [ -e "$dir/redis.pid" ]; then
    kill -TERM "$(cat "$dir/redis.pid")" 2>/dev/null || true
    rm -f "$dir/redis.pid"
  fi
  if [ -e "$dir/pg/bindir" ]; then
    local as=(); [ "$(id -u)" -eq 0 ] && as=(runuser -u postgres --)
    "${as[@]}" "$(cat "$dir/pg/bindir")/pg_ctl" -D "$dir/pg/data" -m fast -w stop >/dev/null || true
    rm -f "$dir/pg/bindir"
  fi
  echo "stopped: $dir (data kept; rm -r it to forget)"
}

status() {
  local dir=${1:-$(cat "$last" 2>/dev/null || true)}
  [ -n "$dir" ] && [ -d "$dir" ] || die "status [DIR]: no cluster directory"
  for f in "$dir"/redis.pid "$dir"/node*.pid; do
    [ -e "$f" ] || continue
    if kill -0 "$(cat "$f")" 2>/dev/null; then echo "$(basename "$f" .pid): running"; else echo "$(basename "$f" .pid): stopped"; fi
  done
}

case "${1:-}" in
  up) shift; [ $# -ge 1 ] || die "usage: scripts/cluster.sh up N [DIR]"; up "$@" ;;
  down) shift; down "$@" ;;
  status) shift; status "$@" ;;
  *) echo "usage: scripts/cluster.sh up N [DIR] | down [DIR] | status [DIR]" >&2; exit 64 ;;
esac
