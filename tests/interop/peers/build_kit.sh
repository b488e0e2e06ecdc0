#!/usr/bin/env bash
# build_kit.sh KIT WORKDIR: builds the real-client kit (KIT/build.sh, incremental: a second run into the
# same WORKDIR rebuilds only what changed) and writes "ok" or the reason it could not into
# WORKDIR/.ymsg-kit-status (its log: WORKDIR/.ymsg-kit.log).
# The interop-peers tests call it first and run in parallel: an exclusive lock on WORKDIR/.ymsg-kit.lock makes one of
# them build while the others wait, then find it up to date.  Exit status 0 = built.
kit=$1 work=$2
mkdir -p "$work" || exit 1
status=$work/.ymsg-kit-status log=$work/.ymsg-kit.log
exec 9>"$work/.ymsg-kit.lock"
flock 9
if [ ! -x "$kit/build.sh" ]; then
  echo "the real-client kit is missing: no $kit/build.sh (it belongs at ../shared/peers beside the source tree)" |
    tee "$status" >&2
  exit 1
fi
start=$(date +%s)
if "$kit/build.sh" "$work" >"$log" 2>&1; then
  echo ok >"$status"
  echo "peers kit: up to date in $work ($(( $(date +%s) - start )) s; log $log)" >&2
else
  rc=$?
  echo "$kit/build.sh $work failed (exit $rc; log $log): $(tail -n 5 "$log" | tr '\n' ' ')" | tee "$status" >&2
  exit 1
fi
