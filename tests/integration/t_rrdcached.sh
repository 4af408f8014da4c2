#!/usr/bin/env bash
# Sensor history through a real rrdcached (started here, on a unix socket):
# the daemon's writes and reads all go through it, and the values reach the
# RRD files once rrdcached writes them out.
. "$TOP_SRCDIR/tests/lib.sh"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"
command -v rrdcached >/dev/null || ul_skip "rrdcached not installed (scripts/deps.sh installs it)"

SIMDIR="$UL_TMP/sims"
RC="$UL_TMP/rrdcached"
mkdir -p "$RC/journal"
RC_PID=""
stop_rrdcached() {
    if [ -n "$RC_PID" ]; then
        kill -TERM "$RC_PID" 2>/dev/null
        # rrdcached writes every pending update out on SIGTERM.
        for _ in $(seq 1 50); do kill -0 "$RC_PID" 2>/dev/null || break; sleep 0.1; done
        RC_PID=""
    fi
}
trap 'rc=$?; stop_rrdcached; "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1; (exit $rc); ul__cleanup' EXIT
"$SIMCTL" start 1 auto "$SIMDIR" >/dev/null || ul_fail "simulator did not start"
SIMPORT=$("$SIMCTL" info "$SIMDIR" 0 | sed -n 's/^SIM_PORT=//p')

# ul_start makes the data directory afresh: point rrdcached's base at a
# directory we create after it, inside the data directory.
ul_start -s poll.enabled=1 -s poll.sensor_interval=5 -s bmc.timeout=3 \
    -s "rrd.rrdcached=unix:$RC/sock"
mkdir -p "$UL_DIR/rrd"
# -F: flush everything on exit; -w 3600: hold updates (we check that reads
# still see them through the daemon); -B -b: only files below the RRD root.
rrdcached -l "unix:$RC/sock" -b "$UL_DIR/rrd" -B -F -w 3600 -z 1 -j "$RC/journal" \
    -p "$RC/pid" -g >"$RC/log" 2>&1 &
RC_PID=$!
for _ in $(seq 1 50); do [ -S "$RC/sock" ] && break; sleep 0.1; done
[ -S "$RC/sock" ] || ul_fail "rrdcached did not start: $(cat "$RC/log")"

ul_node_add bmc0 "$(jq -cn --arg e "ipmi://127.0.0.1:$SIMPORT" \
    '{endpoint: $e, username: "admin", password: "password",
      options: {workarounds: "opensesspriv"}}')"
wait_json /api/v1/nodes/bmc0/history \
    '[.sensors[] | select(.sensor == "Inlet Temp")] | length' 1 50

check_through_rrdcached() {
    # Reads go through rrdcached too (FETCH flushes the file first).
    ul_api GET "/api/v1/nodes/bmc0/series?sensor=Inlet%20Temp&kind=temperature&range=1h"
    assert_status 200 "series through rrdcached"
    assert_json '.points | length > 0' true
    curl -sS --max-time 20 -H "Authorization: Bearer $UL_TOKEN" -o "$UL_TMP/g.png" \
        "$UL_URL/api/v1/nodes/bmc0/graph?kind=temperature&sensor=Inlet%20Temp&range=1h" ||
        ul_fail "graph request"
    [ "$(head -c 4 "$UL_TMP/g.png" | od -An -tx1 | tr -d ' \n')" = 89504e47 ] ||
        ul_fail "graph through rrdcached is not a PNG: $(head -c 200 "$UL_TMP/g.png")"
    # rrdcached saw our updates (its journal records them).
    ls "$RC"/journal/rrd.journal.* >/dev/null 2>&1 || ul_fail "rrdcached journal is empty"
}
ul_check check_through_rrdcached

ul_stop
stop_rrdcached
# Flushed on exit: rrdtool itself now reads the value from the file.
file="$UL_DIR/rrd/bmc0/temperature-inlet_temp.rrd"
[ -f "$file" ] || ul_fail "no RRD file after rrdcached exit: $(ls "$UL_DIR/rrd/bmc0" | head)"
last=$(rrdtool lastupdate "$file" | awk -F': ' 'NR == 3 {print $2}')
[ "${last%%.*}" = 24 ] || ul_fail "rrdtool lastupdate after flush: expected 24, got '$last'"
exit 0
