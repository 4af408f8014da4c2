#!/usr/bin/env bash
# Install everything underlay needs to build, test and run its demo fleet on
# Debian 12.  Run as root.  Skips apt entirely when all packages are present,
# and npm when the browser test's module is already at its pinned version.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

PACKAGES=(
  # build
  build-essential autoconf automake pkg-config
  # libraries (configure names these when one is missing)
  libfreeipmi-dev libipmimonitoring-dev libipmiconsole-dev libcurl4-openssl-dev libjson-c-dev
  librrd-dev libmicrohttpd-dev libsqlite3-dev libsodium-dev libcmocka-dev
  # tests and demo: real peers and tools
  curl jq python3 sqlite3 openssl openipmi freeipmi-tools ipmitool rrdtool rrdcached
  prometheus     # promtool checks the /metrics exposition in the tests
  chromium fonts-dejavu-core   # the dashboard's browser test (tests/web)
)

# The browser test's node module (playwright-core, pinned in
# tests/web/package-lock.json) lives outside the source tree, so that both an
# in-tree build and `make distcheck` (read-only sources) find it.  The test
# looks here too (UL_NODE_MODULES overrides both).
NODE_PREFIX=${UL_NODE_PREFIX:-/var/cache/underlay-test-node}

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
# node and npm may come from elsewhere (e.g. a newer upstream package); only
# when there is no npm at all do we take Debian's.
if ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages already installed"
else
  if [ "$(id -u)" -ne 0 ]; then
    echo "deps: missing packages: ${missing[*]}" >&2
    echo "deps: run as root (sudo $0) to install them" >&2
    exit 1
  fi
  echo "deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The dashboard's terminal (xterm.js, pinned with its integrity hash in
# web/vendor/package-lock.json), installed by `npm ci` outside the source
# tree and its two files copied into web/vendor/xterm/ (not in git), from
# where underlayd serves them like the rest of web/: nothing is loaded from
# elsewhere.  Without them the console view says how to get them.
WEB_NODE_PREFIX=${UL_WEB_NODE_PREFIX:-/var/cache/underlay-web-node}
xwant=$(sed -n 's/^ *"@xterm\/xterm": "\([0-9][0-9.]*\)".*/\1/p' "$top/web/vendor/package.json")
xhave=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' \
  "$WEB_NODE_PREFIX/node_modules/@xterm/xterm/package.json" 2>/dev/null | head -n 1 || true)
if [ -n "$xwant" ] && [ "$xhave" != "$xwant" ]; then
  if mkdir -p "$WEB_NODE_PREFIX" 2>/dev/null && [ -w "$WEB_NODE_PREFIX" ]; then
    echo "deps: installing @xterm/xterm $xwant into $WEB_NODE_PREFIX"
    cp "$top/web/vendor/package.json" "$top/web/vendor/package-lock.json" "$WEB_NODE_PREFIX/"
    (cd "$WEB_NODE_PREFIX" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
  else
    echo "deps: cannot write $WEB_NODE_PREFIX for @xterm/xterm; the dashboard's console" \
      "view will say it is missing" >&2
  fi
fi
xsrc="$WEB_NODE_PREFIX/node_modules/@xterm/xterm"
if [ -f "$xsrc/lib/xterm.js" ] && [ -w "$top/web" ]; then
  mkdir -p "$top/web/vendor/xterm"
  cp "$xsrc/lib/xterm.js" "$xsrc/css/xterm.css" "$xsrc/LICENSE" "$top/web/vendor/xterm/"
  echo "deps: @xterm/xterm $xwant in web/vendor/xterm"
fi

# playwright-core at exactly the version in the lock file, by `npm ci` (the
# lock pins its integrity hash).  It downloads no browser: the test drives
# Debian's /usr/bin/chromium.
want=$(sed -n 's/^ *"playwright-core": "\([0-9][0-9.]*\)".*/\1/p' "$top/tests/web/package.json")
have=$(sed -n 's/^ *"version": "\([^"]*\)".*/\1/p' \
  "$NODE_PREFIX/node_modules/playwright-core/package.json" 2>/dev/null | head -n 1 || true)
if [ -n "$want" ] && [ "$have" = "$want" ]; then
  echo "deps: playwright-core $have already in $NODE_PREFIX"
else
  if ! mkdir -p "$NODE_PREFIX" 2>/dev/null || [ ! -w "$NODE_PREFIX" ]; then
    # Only the browser test needs it (it skips without); CI runs as root.
    echo "deps: cannot write $NODE_PREFIX for playwright-core (run as root, or set" \
      "UL_NODE_PREFIX); the dashboard's browser test will skip" >&2
    exit 0
  fi
  echo "deps: installing playwright-core $want into $NODE_PREFIX"
  cp "$top/tests/web/package.json" "$top/tests/web/package-lock.json" "$NODE_PREFIX/"
  (cd "$NODE_PREFIX" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
