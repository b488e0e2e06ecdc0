#!/usr/bin/env bash
# Installs the Debian 12 packages the project needs, if any are missing.
#   scripts/deps.sh build   - what building and running needs
#   scripts/deps.sh test    - plus what the test suite needs (tshark, tmux, node/npm, clang, python3)
# As root it runs apt-get; otherwise it prints the exact command to run and fails.
set -euo pipefail
what=${1:-build}
build_pkgs=(gcc make meson ninja-build pkg-config libevent-dev libcurl4-openssl-dev libssl-dev
            libsqlite3-dev libsodium-dev libpcap-dev libncurses-dev libcrypt-dev libcmocka-dev
            libwslay-dev libexpat1-dev emscripten libsystemd-dev libpq-dev libhiredis-dev)
test_pkgs=(tshark tmux python3 nodejs npm clang libclang-rt-14-dev llvm wrk librtmp-dev ca-certificates curl
           openssl postgresql redis-server
           prometheus  # promtool: tests/e2e/server/test_metrics.py checks /metrics with the real parser
           # building the three real clients of ../shared/peers (tests/interop/peers; list from its README)
           xz-utils tar libglib2.0-dev libxml2-dev libgnutls28-dev autoconf automake libtool libtool-bin intltool
           gettext openjdk-17-jdk-headless libcommons-io-java libcommons-logging-java libjdom1-java
           liblog4j1.2-java
           chromium
           # the Debian packages (tests/package), the systemd unit and the logrotate snippet (tests/install)
           debhelper dpkg-dev fakeroot systemd logrotate)
pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")
# npm packages the AMF interop tests and bench/amf use as independent peers (pinned by package-lock.json)
npm_peers() {
  [ "$what" = test ] || return 0
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tests/interop/amf"
  [ -d "$dir/node_modules" ] && return 0
  echo "installing npm AMF peers into $dir" >&2
  npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts >&2   # no native builds (bytearray-node works without lzma-native)
}
# npm libamf (a third-party remoting client) for tests/e2e/gateway; its GitHub-only dependency is
# replaced through package.json "overrides", so the npm registry alone serves it
npm_gateway_peer() {
  [ "$what" = test ] || return 0
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/gateway/npm"
  [ -d "$dir/node_modules" ] && return 0
  npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts >&2
}
# playwright-core for tests/e2e/web: it drives Debian's /usr/bin/chromium (it never downloads a browser)
npm_web() {
  [ "$what" = test ] || return 0
  local dir; dir="$(cd "$(dirname "$0")/.." && pwd)/tests/e2e/web"
  [ -d "$dir/node_modules" ] && return 0
  npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts >&2
}
# A tool already on PATH from elsewhere (e.g. nodejs and npm from NodeSource, whose nodejs package
# conflicts with Debian's npm) satisfies its package: only the command is needed.
declare -A by_command=([nodejs]=node [npm]=npm [python3]=python3 [curl]=curl [make]=make [gcc]=gcc)
missing=()
for p in "${pkgs[@]}"; do
  if [ -n "${by_command[$p]:-}" ] && command -v "${by_command[$p]}" >/dev/null 2>&1; then continue; fi
  st=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$st" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && { npm_peers; npm_gateway_peer; npm_web; exit 0; }
cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  echo "run as root:  apt-get update && $cmd" >&2
  exit 1
fi
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer no without a prompt
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections 2>/dev/null || true
apt-get update -q >/dev/null
$cmd >/dev/null
npm_peers
npm_gateway_peer
npm_web
