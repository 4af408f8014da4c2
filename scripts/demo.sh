#!/usr/bin/env bash
# Quick start command 1: install dependencies, build, and run underlayd with a
# simulated fleet enrolled.  Runs in the foreground; Ctrl-C stops it.
#
#   ./scripts/demo.sh [--port PORT] [--data-dir DIR]
#
# The fleet: 4 simulated IPMI BMCs (OpenIPMI ipmi_sim, on 127.0.0.1) driven
# through the real IPMI driver, 2 Redfish BMCs (the project's emulator,
# tests/redfish) through the Redfish driver, and 16 nodes on the in-process
# simulated BMC driver (fake://) in two racks.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
port=8624
data="$top/build/demo/data"
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --data-dir) data=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

"$top/scripts/deps.sh"

cd "$top"
if [ ! -x configure ] || [ configure.ac -nt configure ]; then
  autoreconf -fi
fi
if [ -f config.status ]; then
  build="$top"             # configured in place by a developer: use that
else
  build="$top/build/demo"
  mkdir -p "$build"
  [ -f "$build/config.status" ] || (cd "$build" && "$top/configure" -q)
fi
make -C "$build" -j"$(nproc)" -s underlayd underlay

mkdir -p "$data"
sims="$data/../sims"
simctl="$top/tests/ipmisim/simctl.sh"
"$simctl" stop "$sims" >/dev/null 2>&1 || true
"$simctl" start 4 auto "$sims" >/dev/null
emus="$data/../emus"
emuctl="$top/tests/redfish/emuctl.sh"
"$emuctl" stop "$emus" >/dev/null 2>&1 || true
"$emuctl" start 2 auto "$emus" >/dev/null
# The dashboard straight from the source tree (web/ needs no build).
"$build/underlayd" -d "$data" -l "127.0.0.1:$port" -s api.web_dir="$top/web" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; "$simctl" stop "$sims" >/dev/null 2>&1;
      "$emuctl" stop "$emus" >/dev/null 2>&1' INT TERM EXIT

export UNDERLAY_URL="http://127.0.0.1:$port"
export UNDERLAY_TOKEN_FILE="$data/admin.token"
for _ in $(seq 1 50); do
  curl -fsS "$UNDERLAY_URL/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { echo "demo: underlayd exited; see the messages above" >&2; exit 1; }
  sleep 0.2
done

cli="$build/underlay"
if [ "$("$cli" -o json node list --label demo=true | jq length)" -eq 0 ]; then
  "$cli" node add 'rack1-n[01-08]' --endpoint 'fake://{name}' --label demo=true \
    --label rack=rack1 --option power=on --option delay_ms=200 >/dev/null
  "$cli" node add 'rack2-n[01-08]' --endpoint 'fake://{name}' --label demo=true \
    --label rack=rack2 --option delay_ms=200 >/dev/null
fi
# The simulators get new ports each start: enroll or re-point them.
pwfile="$data/../bmc.pw"
printf 'password\n' >"$pwfile"
for i in 0 1 2 3; do
  simport=$("$simctl" info "$sims" $i | sed -n 's/^SIM_PORT=//p')
  name="ipmi-n0$((i + 1))"
  if "$cli" node show "$name" >/dev/null 2>&1; then
    "$cli" node set "$name" --endpoint "ipmi://127.0.0.1:$simport" >/dev/null
  else
    "$cli" node add "$name" --endpoint "ipmi://127.0.0.1:$simport" --user admin \
      --password-file "$pwfile" --label demo=true --label rack=ipmi \
      --option workarounds=opensesspriv --option quirks=boot-flags-no-valid-bit \
      >/dev/null
  fi
done
# Two Redfish BMCs (the project's emulator, plain HTTP on 127.0.0.1).
for i in 0 1; do
  url=$("$emuctl" url "$emus" $i)
  name="redfish-n0$((i + 1))"
  if "$cli" node show "$name" >/dev/null 2>&1; then
    "$cli" node set "$name" --endpoint "$url" >/dev/null
  else
    "$cli" node add "$name" --endpoint "$url" --user admin --password-file "$pwfile" \
      --label demo=true --label rack=redfish >/dev/null
  fi
done

# A firmware image the emulator accepts, for `firmware upload`.
fwimage="$data/../demo-bios-2.6.bin"
printf 'UNDERLAY-FIRMWARE component=BIOS version=2.6.0\n' >"$fwimage"
head -c 1048576 /dev/urandom >>"$fwimage"

cat <<TXT

underlayd is running with a simulated fleet (pid $pid): 4 IPMI BMCs
(ipmi_sim) as ipmi-n01..04, 2 Redfish BMCs (the project's emulator) as
redfish-n01..02, and 16 fake-driver nodes in rack1 and rack2.

  dashboard  $UNDERLAY_URL/   (open it in a browser; docs/dashboard.md)
  API        $UNDERLAY_URL/api/v1   (reference: docs/openapi.yaml)
  health     $UNDERLAY_URL/healthz
  metrics    $UNDERLAY_URL/metrics  (Prometheus; sensors appear within a minute)
  token      $data/admin.token

Sign in to the dashboard by pasting this admin token into its "API token"
field (it is kept in that browser tab only, until you sign out):

  $(head -n 1 "$data/admin.token")

Try, in another shell:

  export UNDERLAY_URL=$UNDERLAY_URL UNDERLAY_TOKEN_FILE=$data/admin.token
  $cli node list
  $cli power status 'rack1-n[01-08]'
  $cli sensors ipmi-n01
  $cli sensors redfish-n01 --cached
  $cli fleet
  $cli graph ipmi-n01 temperature -o temps.png
  $cli power cycle 'ipmi-n[01-04]' --wait
  $cli power on 'rack2-n[01-04]' --wait
  $cli job list
  $cli bios redfish-n01 set ProcTurboMode=Disabled NumaNodesPerSocket=2 --apply now
  $cli raid redfish-n01 create --name data --level RAID5 --drives 2,3,4
  $cli firmware redfish-n01 upload $fwimage
  curl -s $UNDERLAY_URL/metrics | grep ipmi_temperature_celsius
  curl -H "Authorization: Bearer \$(cat $data/admin.token)" $UNDERLAY_URL/api/v1/nodes

Ctrl-C stops underlayd.
TXT
wait $pid
