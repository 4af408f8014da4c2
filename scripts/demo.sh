#!/usr/bin/env bash
# Quick start command 1: install dependencies, build, and run underlayd with a
# simulated fleet enrolled.  Runs in the foreground; Ctrl-C stops it.
#
#   ./scripts/demo.sh [--port PORT] [--data-dir DIR] [--ci]
#
# The fleet: 4 simulated IPMI BMCs (OpenIPMI ipmi_sim, on 127.0.0.1) driven
# through the real IPMI driver, 2 Redfish BMCs (the project's emulator,
# tests/redfish) through the Redfish driver, and 16 nodes on the in-process
# simulated BMC driver (fake://) in two racks.
#
# --ci: for tests/integration/t_demo.sh.  Installs nothing and builds
# nothing: runs $UNDERLAYD and $UNDERLAY as given; then runs every command
# the banner suggests, checks each exits 0 with the output it should have,
# stops everything it started (by PID) and exits 0 only if all passed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
port=8624
data="$top/build/demo/data"
ci=0
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --data-dir) data=$2; shift 2 ;;
    --ci) ci=1; shift ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "demo: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

if [ $ci = 1 ]; then
  daemon=${UNDERLAYD:?demo --ci: set UNDERLAYD to the underlayd binary}
  cli=${UNDERLAY:?demo --ci: set UNDERLAY to the underlay binary}
else
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
  daemon="$build/underlayd"
  cli="$build/underlay"
fi

mkdir -p "$data"
data=$(cd "$data" && pwd)
state=$(dirname "$data")
sims="$state/sims"
emus="$state/emus"
log="$state/underlayd.log"
simctl() { bash "$top/tests/ipmisim/simctl.sh" "$@"; }
emuctl() { bash "$top/tests/redfish/emuctl.sh" "$@"; }
pid=""
stop_all() {
  trap - INT TERM EXIT
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  fi
  simctl stop "$sims" >/dev/null 2>&1 || true
  emuctl stop "$emus" >/dev/null 2>&1 || true
}
trap stop_all EXIT
trap 'exit 130' INT TERM
simctl stop "$sims" >/dev/null 2>&1 || true
simctl start 4 auto "$sims" >/dev/null
emuctl stop "$emus" >/dev/null 2>&1 || true
emuctl start 2 auto "$emus" >/dev/null
# The daemon logs a line per sensor it starts to keep history for (about 200
# for this fleet): they go to a file, so that the banner stays readable.
# start_daemon [ARGS]: start underlayd and wait (bounded) until it answers.
start_daemon() {
  local lines mark="API on $UNDERLAY_URL/api/v1"
  lines=$(wc -l <"$log")
  "$daemon" -d "$data" -l "127.0.0.1:$port" -s api.web_dir="$top/web" "$@" \
    >>"$log" 2>&1 </dev/null &
  pid=$!
  for _ in $(seq 1 150); do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: underlayd exited; the end of $log:" >&2
      tail -n 20 "$log" >&2
      exit 1
    fi
    # Its own log line proves that our daemon owns the port.
    if tail -n +"$((lines + 1))" "$log" | grep -qF "$mark" &&
       curl -fsS "$UNDERLAY_URL/healthz" >/dev/null 2>&1; then
      return 0
    fi
    sleep 0.2
  done
  echo "demo: underlayd did not answer on $UNDERLAY_URL within 30 s; see $log" >&2
  exit 1
}
stop_daemon() {
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  pid=""
}
export UNDERLAY_URL="http://127.0.0.1:$port"
export UNDERLAY_TOKEN_FILE="$data/admin.token"
unset UNDERLAY_TOKEN UNDERLAY_CONFIG
: >"$log"
# Enrolment runs with polling off, then the daemon restarts with it on: the
# poll scheduler reads the node list at its start and then every 30 s, and
# spreads each node's first sweep over one sweep interval, so the restart
# has the fleet polled within 15 s instead of up to 45 s.  The 15 s sweep
# (60 s by default) is for the demo: it has every command of the banner
# working within the first minute.  The dashboard is served straight from
# the source tree (web/ needs no build).
start_daemon -s poll.enabled=0

# Enrol what is missing: a data directory from an earlier run keeps its nodes.
demo_count() {
  "$cli" -o json node list --label demo=true --label "rack=$1" | jq -r .total
}
if [ "$(demo_count rack1)" -eq 0 ]; then
  "$cli" node add 'rack1-n[01-08]' --endpoint 'fake://{name}' --label demo=true \
    --label rack=rack1 --option power=on --option delay_ms=200 >/dev/null
fi
if [ "$(demo_count rack2)" -eq 0 ]; then
  "$cli" node add 'rack2-n[01-08]' --endpoint 'fake://{name}' --label demo=true \
    --label rack=rack2 --option delay_ms=200 >/dev/null
fi
# The simulators get new ports each start: enroll or re-point them.
pwfile="$state/bmc.pw"
printf 'password\n' >"$pwfile"
for i in 0 1 2 3; do
  simport=$(simctl info "$sims" $i | sed -n 's/^SIM_PORT=//p')
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
  url=$(emuctl url "$emus" $i)
  name="redfish-n0$((i + 1))"
  if "$cli" node show "$name" >/dev/null 2>&1; then
    "$cli" node set "$name" --endpoint "$url" >/dev/null
  else
    "$cli" node add "$name" --endpoint "$url" --user admin --password-file "$pwfile" \
      --label demo=true --label rack=redfish >/dev/null
  fi
done
total=$("$cli" -o json node list --label demo=true | jq -r .total)
if [ "$total" -ne 22 ]; then
  echo "demo: expected 22 demo nodes, underlayd has $total" >&2
  exit 1
fi

stop_daemon
start_daemon -s poll.sensor_interval=15

# A firmware image the emulator accepts, for `firmware upload`.
fwimage="$state/demo-bios-2.6.bin"
printf 'UNDERLAY-FIRMWARE component=BIOS version=2.6.0\n' >"$fwimage"
head -c 1048576 /dev/urandom >>"$fwimage"

# The commands the banner suggests, each with a pattern its output must
# match: --ci runs exactly these, so the banner cannot rot unnoticed.
u="underlay"
[ $ci = 1 ] && u="$cli"
try=(
  "$u node list"
  "$u power status 'rack1-n[01-08]'"
  "$u sensors ipmi-n01"
  "$u sensors redfish-n01 --cached"
  "$u fleet"
  "$u graph ipmi-n01 temperature -o temps.png"
  "$u power cycle 'ipmi-n[01-04]' --wait"
  "$u power on 'rack2-n[01-04]' --wait"
  "$u job list"
  "$u bios redfish-n01 set ProcTurboMode=Disabled NumaNodesPerSocket=2 --apply now"
  "$u raid redfish-n01 create --name data --level RAID5 --drives 2,3,4"
  "$u firmware redfish-n01 upload $fwimage"
  "curl -s $UNDERLAY_URL/metrics | grep ipmi_temperature_celsius"
  "curl -s -H \"Authorization: Bearer \$(cat $data/admin.token)\" $UNDERLAY_URL/api/v1/nodes"
)
expect=(
  "redfish-n02 +redfish"
  "rack1-n08 +[0-9]+ +succeeded +on"
  "[0-9]+ sensors: [0-9]+ ok"
  "readings of the background poll at"
  "^22 nodes: "
  "^wrote temps.png"
  "ipmi-n04 +[0-9]+ +succeeded +on"
  "rack2-n04 +[0-9]+ +succeeded +on"
  "^ID +TYPE +NODE +STATE"
  "redfish-n01: 2 BIOS settings applied and verified"
  "redfish-n01: volume [0-9]+ created \\(RAID5"
  "redfish-n01: .* -> 2\\.6\\.0"
  "^ipmi_temperature_celsius\\{node=\"ipmi-n01\""
  "\"name\": ?\"redfish-n02\""
)

# Until the first sweeps are in, `sensors --cached`, `fleet` and the graph
# have nothing to show: wait for them (bounded) before the banner.
printf 'underlayd is up with 22 nodes; waiting for the first sensor poll of the fleet...\n'
polled=0
# A minute here; --ci allows three, for a test on a busy machine.
tries=120
[ $ci = 1 ] && tries=360
for _ in $(seq 1 $tries); do
  kill -0 "$pid" 2>/dev/null || break
  if "$cli" -o json fleet 2>/dev/null |
       jq -e '(.nodes | length) == 22 and
              ([.nodes[] | select(.node | test("^(ipmi|redfish)-"))
                | select(.health == "ok" and .inlet_celsius != null)] | length) == 6' \
         >/dev/null; then
    polled=1
    break
  fi
  sleep 0.5
done
if [ $polled = 0 ]; then
  kill -0 "$pid" 2>/dev/null || { echo "demo: underlayd exited; see $log" >&2; exit 1; }
  echo "demo: not every BMC answered the first poll in time; see $log" >&2
fi

cat <<TXT

underlayd is running with a simulated fleet (pid $pid): 4 IPMI BMCs
(ipmi_sim) as ipmi-n01..04, 2 Redfish BMCs (the project's emulator) as
redfish-n01..02, and 16 fake-driver nodes in rack1 and rack2 (the fake
driver has no sensors: their health stays "unknown").

Sign in to the dashboard with this admin token (its "API token" field keeps
it in that browser tab only, until you sign out):

  $(head -n 1 "$data/admin.token")

  log        $log
  metrics    $UNDERLAY_URL/metrics  (Prometheus)
  API        $UNDERLAY_URL/api/v1   (reference: docs/openapi.yaml)
  token      $data/admin.token
  dashboard  $UNDERLAY_URL/

Try, in another shell (Ctrl-C here stops underlayd and the simulators):

  export UNDERLAY_URL=$UNDERLAY_URL UNDERLAY_TOKEN_FILE=$data/admin.token
  export PATH=$(dirname "$cli"):\$PATH
TXT
for c in "${try[@]}"; do
  printf '  %s\n' "$c"
done
echo

if [ $ci = 0 ]; then
  set +e
  wait "$pid"
  rc=$?
  pid=""
  echo "demo: underlayd exited with status $rc; the end of $log:" >&2
  tail -n 20 "$log" >&2
  exit 1
fi

# --ci: run each suggested command where it writes its files (temps.png).
work="$state/work"
mkdir -p "$work"
# For the test to check that none of them outlives the demo.
echo "demo --ci: started PIDs:" $pid $(cat "$sims"/*.pid "$emus"/*.pid)
echo "demo --ci: banner ${SECONDS} s after the start"
failed=0
for i in "${!try[@]}"; do
  out=$(cd "$work" && bash -c "set -o pipefail; ${try[$i]}" 2>&1) && rc=0 || rc=$?
  if [ $rc -ne 0 ]; then
    printf 'demo --ci: FAIL (exit %d): %s\n%s\n' "$rc" "${try[$i]}" "$out" >&2
    failed=$((failed + 1))
  elif ! grep -Eq -- "${expect[$i]}" <<<"$out"; then
    printf 'demo --ci: FAIL (no /%s/ in the output): %s\n%s\n' "${expect[$i]}" "${try[$i]}" \
      "$out" >&2
    failed=$((failed + 1))
  else
    printf 'demo --ci: ok: %s\n' "${try[$i]}"
  fi
done
if [ "$(head -c 4 "$work/temps.png" 2>/dev/null | od -An -c | tr -d ' ')" != '211PNG' ]; then
  echo "demo --ci: FAIL: temps.png is not a PNG" >&2
  failed=$((failed + 1))
fi
printf 'demo --ci: %d of %d suggested commands failed\n' "$failed" "${#try[@]}"
[ $failed -eq 0 ]
