#!/usr/bin/env bash
# Install everything underlay needs to build, test and run its demo fleet on
# Debian 12.  Run as root.  Skips apt entirely when all packages are present.
set -euo pipefail

PACKAGES=(
  # build
  build-essential autoconf automake pkg-config
  # libraries (configure names these when one is missing)
  libfreeipmi-dev libipmimonitoring-dev libcurl4-openssl-dev libjson-c-dev
  librrd-dev libmicrohttpd-dev libsqlite3-dev libsodium-dev libcmocka-dev
  # tests and demo: real peers and tools
  curl jq python3 sqlite3 openssl openipmi freeipmi-tools ipmitool rrdtool rrdcached
  prometheus     # promtool checks the /metrics exposition in the tests
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages: ${missing[*]}" >&2
  echo "deps: run as root (sudo $0) to install them" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
