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
# The kit's build.sh rewrites its bin/*-peer wrappers on every run, even with nothing to build: a test
# starting one of them meanwhile got "Text file busy" (or half a script).  So once a build of this very
# kit (same file names, sizes and times) succeeded here, it is not run again.
stamp=$(cd "$kit" && find . -type f -printf '%P %s %T@\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)
if [ "$(cat "$status" 2>/dev/null)" = ok ] && [ "$(cat "$work/.ymsg-kit-stamp" 2>/dev/null)" = "$stamp" ] &&
   [ -x "$work/bin/libpurple-peer" ] && [ -x "$work/bin/libyahoo2-peer" ] && [ -x "$work/bin/openymsg-peer" ]; then
  echo "peers kit: up to date in $work (built from this kit before; log $log)" >&2
  exit 0
fi
start=$(date +%s)
rm -f "$work/.ymsg-kit-stamp"
if "$kit/build.sh" "$work" >"$log" 2>&1; then
  echo ok >"$status"
  echo "$stamp" >"$work/.ymsg-kit-stamp"
  echo "peers kit: up to date in $work ($(( $(date +%s) - start )) s; log $log)" >&2
else
  rc=$?
  echo "$kit/build.sh $work failed (exit $rc; log $log): $(tail -n 5 "$log" | tr '\n' ' ')" | tee "$status" >&2
  exit 1
fi
