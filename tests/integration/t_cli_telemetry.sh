#!/usr/bin/env bash
# The CLI's telemetry commands against a real daemon: fleet, health
# HOSTLIST, sensors --cached, history and graph.  Usage errors exit 2 before
# anything is sent; unknown nodes exit 1; with background polling disabled
# the commands say so; graph never writes anything but a PNG into its file.
# When OpenIPMI's ipmi_sim and FreeIPMI are installed, also against two
# simulated BMCs polled in the background: the fleet table, node health,
# the latest readings without a job, the sensors with history (Inlet Temp),
# a series, and graphs of one sensor and of a kind, to a file and to stdout.
. "$TOP_SRCDIR/tests/lib.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
SIMDIR="$UL_TMP/sims"
HAVE_SIMS=0
HTTP_PID=""
on_exit() {
    local rc=$?
    if [ -n "$HTTP_PID" ]; then
        kill "$HTTP_PID" 2>/dev/null
        wait "$HTTP_PID" 2>/dev/null
    fi
    [ "$HAVE_SIMS" = 1 ] && "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1
    (exit $rc)
    ul__cleanup
}
trap on_exit EXIT

# cli ARGS...: run the CLI; sets RC, OUT (stdout) and ERR (stderr).
cli() {
    OUT=$("$UNDERLAY" "$@" 2>"$UL_TMP/cli.err" </dev/null)
    RC=$?
    ERR=$(cat "$UL_TMP/cli.err")
}
# cli_rc WANT ARGS...: run the CLI and fail the test unless it exits WANT.
cli_rc() {
    local want=$1
    shift
    cli "$@"
    [ "$RC" -eq "$want" ] ||
        ul_fail "underlay $* exited $RC (expected $want); stderr: $ERR; stdout: $OUT"
}
cli_ok() {
    cli_rc 0 "$@"
}
# row NAME: the table line of OUT whose first column is NAME.
row() {
    grep -E "^$1( |$)" <<<"$OUT" || ul_fail "no row for '$1' in: $OUT"
}
# col N LINE: the Nth whitespace-separated field of LINE.
col() {
    awk -v n="$1" '{ print $n }' <<<"$2"
}
# Jobs the admin token created (background polls have another actor).
job_count() {
    ul_api GET '/api/v1/jobs?limit=1000'
    assert_status 200 "job list"
    ul_jq '[.items[] | select(.actor == "admin")] | length'
}
# assert_png FILE: FILE starts with the 8-byte PNG signature and has more.
assert_png() {
    [ -s "$1" ] || ul_fail "$1 is missing or empty"
    local magic
    magic=$(head -c 8 "$1" | od -An -tx1 | tr -d ' \n')
    [ "$magic" = 89504e470d0a1a0a ] || ul_fail "$1 is not a PNG: $(head -c 100 "$1" | od -c | head -3)"
    [ "$(wc -c <"$1")" -gt 100 ] || ul_fail "$1 is too small for a graph"
}

# ---- background polling disabled (the test library's default) ---------------------------
ul_start
ul_node_add f1 '{"labels": {"rack": "r9"}}'
jobs_before=$(job_count)

# Usage errors: exit 2, nothing sent.
check_usage() {
    cli_rc 2 graph f1 'Inlet Temp'
    assert_contains "$ERR" "-o FILE is required"
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --range 2h
    assert_contains "$ERR" "--range: expected one of 1h, 6h, 1d, 1w, 1m, 1y, not '2h'"
    cli_rc 2 history f1 'Inlet Temp' --range 2h
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --width 5
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --height 9999
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --range 1h --since 2h
    assert_contains "$ERR" "not both"
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --until 1h
    assert_contains "$ERR" "--until needs --since"
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --since 1h --until 2h
    cli_rc 2 graph f1 fans -o "$UL_TMP/x.png" --kind bogus
    cli_rc 2 graph f1 -o "$UL_TMP/x.png"
    cli_rc 2 graph 'f[1-2]' fans -o "$UL_TMP/x.png"
    cli_rc 2 history f1 --range 1h
    assert_contains "$ERR" "apply to a SENSOR's series"
    cli_rc 2 history 'f[1-2]'
    cli_rc 2 history f1 'Inlet Temp' --cf median
    cli_rc 2 history f1 'Inlet Temp' --resolution 0
    cli_rc 2 history
    cli_rc 2 fleet --label nokv
    cli_rc 2 fleet stray
    cli_rc 2 health f1 f2
    assert_contains "$ERR" "at most one HOSTLIST"
    cli_rc 2 health 'f[1-'
    cli_rc 2 sensors f1 --cached --timeout 5
    [ ! -e "$UL_TMP/x.png" ] || ul_fail "a usage error created the output file"
    # -o - refuses a terminal (util-linux script gives the CLI one).
    if command -v script >/dev/null 2>&1; then
        script -qec "'$UNDERLAY' graph f1 fans -o -" /dev/null >"$UL_TMP/tty.out" 2>&1 </dev/null
        assert_eq "$?" 2 "graph -o - on a terminal"
        assert_contains "$(<"$UL_TMP/tty.out")" "standard output is a terminal"
    fi
}
ul_check check_usage

check_help() {
    cli_ok --help
    local c
    for c in fleet health history graph; do
        assert_contains "$OUT" "  $c " "underlay --help lists $c"
    done
    for c in fleet health history graph sensors; do
        cli_ok "$c" --help
        assert_contains "$OUT" "Usage: underlay $c" "$c --help"
    done
    cli_ok sensors --help
    assert_contains "$OUT" "--cached"
}
ul_check check_help

check_polling_off() {
    cli_ok health
    assert_contains "$OUT" "status:  ok"
    cli_rc 1 fleet
    assert_contains "$ERR" "background polling is disabled"
    cli_rc 1 health f1
    assert_contains "$ERR" "f1: health: background polling is disabled"
    cli_rc 1 sensors f1 --cached
    assert_contains "$ERR" "f1: sensors --cached:"
    assert_eq "$OUT" "" "sensors --cached stdout on failure"
}
ul_check check_polling_off

check_unknown_node() {
    cli_rc 1 history nosuch
    assert_contains "$ERR" "nosuch: history: node 'nosuch' not found"
    cli_rc 1 history nosuch 'Inlet Temp'
    cli_rc 1 graph nosuch fans -o "$UL_TMP/none.png"
    assert_contains "$ERR" "nosuch: graph: node 'nosuch' not found"
    cli_rc 1 graph nosuch 'Inlet Temp' -o "$UL_TMP/none.png"
    [ ! -e "$UL_TMP/none.png" ] || ul_fail "graph created a file for an unknown node"
    # No history yet: an empty list (a note on stderr), and no graph.
    cli_ok history f1
    assert_eq "$OUT" "SENSOR  KIND  SINCE" "empty history list"
    assert_contains "$ERR" "no sensor has history yet"
    echo keep >"$UL_TMP/keep.png"
    cli_rc 1 graph f1 temperature -o "$UL_TMP/keep.png"
    assert_eq "$(<"$UL_TMP/keep.png")" keep "graph kept the existing file after an error"
}
ul_check check_unknown_node

# A server answering 200 with something else than a PNG (a proxy's page):
# refused, nothing written.
check_not_png() {
    local port www="$UL_TMP/www"
    mkdir -p "$www/api/v1/nodes/f1"
    echo '<html>proxy says hello</html>' >"$www/api/v1/nodes/f1/graph"
    port=$(ul_free_port)
    python3 -m http.server "$port" --bind 127.0.0.1 --directory "$www" >/dev/null 2>&1 &
    HTTP_PID=$!
    local i
    for i in $(seq 50); do
        curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/" && break
        sleep 0.1
    done
    echo keep >"$UL_TMP/keep2.png"
    cli_rc 1 -s "http://127.0.0.1:$port" graph f1 fans -o "$UL_TMP/keep2.png"
    assert_contains "$ERR" "not a PNG image"
    assert_eq "$(<"$UL_TMP/keep2.png")" keep "graph wrote a non-PNG reply into the file"
    cli_rc 1 -s "http://127.0.0.1:$port" graph f1 fans -o "$UL_TMP/new.png"
    [ ! -e "$UL_TMP/new.png" ] || ul_fail "graph created a file from a non-PNG reply"
}
check_not_png # not in a subshell: it records HTTP_PID for the cleanup
kill "$HTTP_PID" 2>/dev/null
wait "$HTTP_PID" 2>/dev/null
HTTP_PID=""

assert_eq "$(job_count)" "$jobs_before" "jobs created by telemetry commands"

# ---- background polling on ----------------------------------------------------------
if "$SIMCTL" deps >/dev/null 2>&1; then
    HAVE_SIMS=1
    "$SIMCTL" start 2 auto "$SIMDIR" >/dev/null || ul_fail "simulators did not start"
    OPTS='{"workarounds":"opensesspriv","quirks":"boot-flags-no-valid-bit"}'
    for i in 0 1; do
        port=$("$SIMCTL" info "$SIMDIR" "$i" | sed -n 's/^SIM_PORT=//p')
        ul_node_add "bmc$i" "$(jq -cn --arg e "ipmi://127.0.0.1:$port" --argjson o "$OPTS" \
            --arg r "r$((i + 1))" \
            '{endpoint: $e, username: "admin", password: "password", options: $o,
              labels: {rack: $r}}')"
    done
else
    ul_log "ipmi_sim or FreeIPMI tools not installed: skipping the simulated BMCs"
fi
# The scheduler reads the node list when it starts (then every 30 s): a
# restart has every node polled within one sensor interval.
UL_ARGS=(-s poll.enabled=1 -s poll.sensor_interval=5)
ul_restart
jobs_before=$(job_count)

# The fake node has no sensors: its failed polls still make it known.
wait_json /api/v1/fleet 'any(.nodes[]; .node == "f1")' true 30

check_fake_node() {
    cli_ok health f1
    local line
    line=$(row f1)
    assert_eq "$(col 2 "$line")" unknown "f1 health"
    assert_contains "$line" "not supported by this BMC" "f1 last error"
    cli_rc 1 sensors f1 --cached
    assert_contains "$ERR" "no sensor readings for node 'f1' yet"
    cli_rc 1 health nosuch
    assert_contains "$ERR" "nosuch: health: node 'nosuch' not found"
    cli_rc 3 health 'f1,nosuch'
    assert_contains "$ERR" "1 of 2 failed"
    cli_ok -o json health f1
    assert_eq "$(jq -r '.[0].node, .[0].ok, .[0].health.health' <<<"$OUT" | tr '\n' ' ')" \
        "f1 true unknown " "health -o json"
}
ul_check check_fake_node

if [ "$HAVE_SIMS" = 1 ]; then
    wait_json /api/v1/nodes/bmc0/sensors '.sensors | length > 40' true 30
    wait_json /api/v1/nodes/bmc1/sensors '.sensors | length > 40' true 20
    wait_json /api/v1/nodes/bmc0/history \
        '[.sensors[] | select(.sensor == "Inlet Temp")] | length' 1 20
    wait_json /api/v1/fleet .by_health.ok 2 20

    check_fleet() {
        cli_ok fleet
        assert_contains "$OUT" "3 nodes: 2 ok, 1 unknown" "fleet counts"
        assert_contains "$OUT" "power: 2 on, 1 unknown" "fleet power states"
        assert_contains "$OUT" "power draw: " "fleet power draw"
        assert_contains "$OUT" "from 2 of 3 nodes" "fleet nodes reporting power"
        local header line
        header=$(grep '^NODE' <<<"$OUT")
        assert_eq "$(tr -s ' ' <<<"$header")" "NODE HEALTH POWER INLET(°C) POWER(W)" "fleet header"
        line=$(row bmc0)
        assert_eq "$(col 2 "$line") $(col 3 "$line") $(col 4 "$line")" "ok on 24" "fleet bmc0"
        [[ $(col 5 "$line") =~ ^[0-9.]+$ ]] || ul_fail "fleet bmc0 power: $line"
        line=$(row f1)
        assert_eq "$(col 2 "$line") $(col 4 "$line") $(col 5 "$line")" "unknown - -" "fleet f1"
        assert_eq "$(grep -E '^(bmc|f)[0-9]' <<<"$OUT" | awk '{print $1}' | tr '\n' ' ')" \
            "bmc0 bmc1 f1 " "fleet sorted by name"
        cli_ok fleet --label rack=r1
        assert_contains "$OUT" "1 node: 1 ok"
        row bmc0 >/dev/null
        assert_not_contains "$OUT" "bmc1" "fleet --label rack=r1"
        cli_ok -o json fleet
        assert_eq "$(jq -r '.by_health.ok, .by_power.on, (.nodes | length),
            (.total_power_watts > 0)' <<<"$OUT" | tr '\n' ' ')" "2 2 3 true " "fleet -o json"
        cli_ok -o json fleet --label rack=r9
        assert_eq "$(jq -r '.by_health.unknown, (.nodes | length), .nodes[0].node,
            .nodes_reporting_power' <<<"$OUT" | tr '\n' ' ')" "1 1 f1 0 " "fleet --label -o json"
    }
    ul_check check_fleet

    check_health() {
        cli_ok health 'bmc[0-1]'
        local line
        for n in bmc0 bmc1; do
            line=$(row "$n")
            assert_eq "$(col 2 "$line") $(col 3 "$line")" "ok on" "health $n"
            [[ $(col 4 "$line") =~ ^20[0-9-]+T[0-9:]+Z$ ]] || ul_fail "health $n last success: $line"
        done
        cli_ok -o json health bmc0
        assert_eq "$(jq -r '.[0].health.health, .[0].health.polls.sensors.polls > 0' <<<"$OUT" |
            tr '\n' ' ')" "ok true " "health -o json bmc0"
    }
    ul_check check_health

    check_cached_sensors() {
        cli_ok sensors bmc0 --cached --kind temperature
        local line
        line=$(row "Inlet Temp")
        assert_eq "$(col 3 "$line") $(col 4 "$line") $(col 5 "$line") $(col 6 "$line")" \
            "temperature 24 C ok" "cached Inlet Temp"
        assert_contains "$OUT" "readings of the background poll at "
        assert_not_contains "$OUT" "FAN1" "--kind temperature"
        cli_ok -o json sensors bmc0 --cached --kind fan
        assert_eq "$(jq -r '.node, (.sensors | length > 0), ([.sensors[].kind] | unique | join(",")),
            (.time | test("Z$"))' <<<"$OUT" | tr '\n' ' ')" "bmc0 true fan true " \
            "sensors --cached -o json"
    }
    ul_check check_cached_sensors

    check_history() {
        cli_ok history bmc0
        local line
        line=$(row "Inlet Temp")
        assert_eq "$(col 3 "$line")" temperature "history kind of Inlet Temp"
        cli_ok history bmc0 --kind fan
        row FAN1 >/dev/null
        assert_not_contains "$OUT" "Inlet Temp" "history --kind fan"
        cli_ok history bmc0 'Inlet Temp' --range 1h
        assert_contains "$OUT" "Inlet Temp (temperature, C): " "series footer"
        assert_contains "$OUT" "points with a value, one per 60 s (AVERAGE)" "series footer"
        cli_ok -o json history bmc0 'Inlet Temp' --since 1h --cf max
        assert_eq "$(jq -r '.sensor, .kind, .cf, (.points | length > 0)' <<<"$OUT" |
            tr '\n' ' ')" "Inlet Temp temperature MAX true " "history -o json"
        cli_rc 1 history bmc0 temperature
        assert_contains "$ERR" "history bmc0 --kind temperature"
        cli_rc 1 history bmc0 'No Such Sensor'
        assert_contains "$ERR" "no sensor named 'No Such Sensor' has history"
    }
    ul_check check_history

    check_graph() {
        cli_ok graph bmc0 'Inlet Temp' -o "$UL_TMP/inlet.png"
        assert_png "$UL_TMP/inlet.png"
        assert_contains "$OUT" "wrote $UL_TMP/inlet.png (" "graph report"
        assert_contains "$OUT" "Inlet Temp (temperature) of bmc0, the last 1d"
        cli_ok graph bmc0 fans --output "$UL_TMP/fans.png" --range 1h --width 400 --height 100
        assert_png "$UL_TMP/fans.png"
        assert_contains "$OUT" "every fan sensor of bmc0, the last 1h"
        cli_ok -o json graph bmc0 temperature -o "$UL_TMP/temp.png" --since 2h
        assert_png "$UL_TMP/temp.png"
        assert_eq "$(jq -r '.node, .sensor, .kind, .bytes > 0' <<<"$OUT" | tr '\n' ' ')" \
            "bmc0 null temperature true " "graph -o json"
        # To standard output: the image and nothing else.
        "$UNDERLAY" graph bmc1 'Sys Power' -o - >"$UL_TMP/stdout.png" 2>"$UL_TMP/cli.err" ||
            ul_fail "graph -o - failed: $(<"$UL_TMP/cli.err")"
        assert_png "$UL_TMP/stdout.png"
        # Errors write nothing.
        cli_rc 1 graph bmc0 'No Such Sensor' -o "$UL_TMP/none.png"
        cli_rc 1 graph bmc0 'Inlet Temp' --kind fan -o "$UL_TMP/none.png"
        assert_contains "$ERR" "no history for fan sensor 'Inlet Temp'"
        [ ! -e "$UL_TMP/none.png" ] || ul_fail "graph wrote a file after an error"
    }
    ul_check check_graph

    # A value shows in a series once its 60 s RRD step has completed (the
    # first, partial step may stay unknown): up to two steps after the
    # first poll.
    check_series_values() {
        wait_json '/api/v1/nodes/bmc0/series?sensor=Inlet%20Temp&kind=temperature&range=1h' \
            '[.points[][1] | select(. != null)] | length > 0' true 150
        cli_ok history bmc0 'Inlet Temp' --range 1h
        grep -qE '^20[0-9-]+T[0-9:]+Z +24$' <<<"$OUT" || ul_fail "no Inlet Temp value 24: $OUT"
        [[ $(head -n 1 <<<"$OUT") =~ ^TIME\ +VALUE$ ]] || ul_fail "series header: $OUT"
        # Rows before the first value are left out.
        [[ $(sed -n 2p <<<"$OUT") =~ \ 24$ ]] || ul_fail "the series starts with a gap: $OUT"
        cli_ok -o json history bmc0 'Inlet Temp' --range 1h --cf max
        assert_eq "$(jq -r '[.points[][1] | select(. != null)] | max' <<<"$OUT")" 24 \
            "history -o json max"
    }
    ul_check check_series_values
fi

assert_eq "$(job_count)" "$jobs_before" "jobs created by telemetry commands with polling on"

ul_stop
