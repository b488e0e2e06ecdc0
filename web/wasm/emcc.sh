#!/bin/sh
# Runs Debian's emcc for the WebAssembly build: emcc.sh CACHE_DIR EMCC [emcc arguments...]
# emcc needs a writable cache directory of its own (the build tree's, not the system one); Debian
# ships the system libraries prebuilt in a frozen cache, so the build tree's cache points at that
# sysroot instead of rebuilding libc (which would take minutes on every clean CI clone).
# NODE_PATH: emcc's JS tools need Debian's node modules even when the node on PATH is another one.
set -eu
cache=$1; emcc=$2; shift 2
sys=$(dirname "$(readlink -f "$emcc")")/cache
[ -d "$sys/sysroot" ] || sys=/usr/share/emscripten/cache
if [ ! -e "$cache/sysroot_install.stamp" ]; then
  mkdir -p "$cache"
  ln -sfn "$sys/sysroot" "$cache/sysroot"
  cp "$sys/sysroot_install.stamp" "$cache/"
fi
export EM_CACHE="$cache" NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"
# Debian's node, if installed, is what emcc's config names; nothing else to set.
exec "$emcc" "$@"
