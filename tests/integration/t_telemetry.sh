#!/usr/bin/env bash
# Background polling against ipmi_sim: the scheduler sweeps sensors on its
# own, the latest readings and node health show in the API, /metrics carries
# them in the Prometheus IPMI exporter's names (checked with promtool), a
# changed simulated value shows up, and a dead BMC turns unreachable and
# recovers when it comes back.
. "$TOP_SRCDIR/tests/lib.sh"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"

SIMDIR="$UL_TMP/sims"
trap 'rc=$?; "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1; "$EMUCTL" stop "$EMUDIR" >/dev/null 2>&1;
    (exit $rc); ul__cleanup' EXIT
"$SIMCTL" start 2 auto "$SIMDIR" >/dev/null || ul_fail "simulators did not start"
EMUCTL="$TOP_SRCDIR/tests/redfish/emuctl.sh"
EMUDIR="$UL_TMP/emus"
"$EMUCTL" start 1 auto "$EMUDIR" >/dev/null || ul_fail "Redfish emulator did not start"
port_of() { "$SIMCTL" info "$SIMDIR" "$1" | sed -n 's/^SIM_PORT=//p'; }

# rrd.flush_interval is checked: a bad value names the key, exits non-zero.
for bad in -1 3601 soon; do
    if out=$("$UNDERLAYD" --check-config -s rrd.flush_interval=$bad 2>&1); then
        ul_fail "rrd.flush_interval=$bad accepted"
    fi
    grep -q "rrd.flush_interval" <<<"$out" || ul_fail "rrd.flush_interval=$bad: $out"
done

# Short intervals so the test sees several sweeps; short timeouts and
# back-off so the dead BMC is noticed and retried quickly.
ul_start -s poll.enabled=1 -s poll.sensor_interval=5 -s poll.sel_interval=5 \
    -s poll.max_backoff=10 -s bmc.timeout=2

OPTS='{"workarounds":"opensesspriv","quirks":"boot-flags-no-valid-bit"}'
RACKS=(r1 r2)
for i in 0 1; do
    ul_node_add "bmc$i" "$(jq -cn --arg e "ipmi://127.0.0.1:$(port_of $i)" --argjson o "$OPTS" \
        --arg r "${RACKS[$i]}" '{endpoint: $e, username: "admin", password: "password",
        options: $o, labels: {rack: $r, site: "ams-1", "hw.gen": "g9"}}')"
done

ul_node_add rf0 "$(jq -cn --arg e "$("$EMUCTL" url "$EMUDIR" 0)" \
    '{endpoint: $e, username: "admin", password: "password", labels: {rack: "r1"}}')"

# The scheduler picks new nodes up within about 2 s (the store's node-change
# counter); the bounds stay generous for a busy machine.
wait_json /api/v1/nodes/bmc0/sensors '.sensors | length > 40' true 45
wait_json /api/v1/nodes/bmc1/sensors '.sensors | length > 40' true 20

check_latest() {
    ul_api GET /api/v1/nodes/bmc0/sensors
    assert_status 200
    assert_json '[.sensors[] | select(.name == "Inlet Temp")][0].value' 24 "inlet reading"
    ul_api GET /api/v1/nodes/bmc0/health
    assert_json .health ok "health"
    assert_json .power on "power state from the poll"
    assert_json '.last_success != null' true "last success recorded"
    ul_api GET /api/v1/fleet
    assert_json '.by_health.ok >= 2' true "fleet: the IPMI nodes ok"
    assert_json '.total_power_watts > 0' true "fleet: total power draw"
    assert_json '[.nodes[] | select(.node == "bmc0")][0].inlet_celsius' 24 "fleet: bmc0 inlet"
    assert_json '[.nodes[] | select(.node == "bmc0")][0].health' ok "fleet: bmc0 health"
    assert_json '.nodes_reporting_power >= 2' true "fleet: nodes reporting power"
    assert_json '[.by_health[]] | add' "$(ul_jq '.nodes | length')" "fleet: counts add up"
    ul_api GET /api/v1/nodes/nosuch/sensors
    assert_status 404 "unknown node"
}
ul_check check_latest

check_redfish_polled() {
    # The same scheduler and normalization for a Redfish BMC.
    wait_json /api/v1/nodes/rf0/sensors '[.sensors[] | select(.kind == "temperature")] | length > 0' \
        true 45
    ul_api GET /api/v1/nodes/rf0/health
    assert_json .health ok "Redfish node health"
    local m="$UL_TMP/metrics-rf.txt"
    curl -sS --max-time 10 -o "$m" "$UL_URL/metrics"
    grep -q '^ipmi_temperature_celsius{node="rf0",' "$m" || ul_fail "no Redfish temperatures in /metrics"
}
ul_check check_redfish_polled

check_metrics() {
    local m="$UL_TMP/metrics.txt"
    curl -sS --max-time 10 -o "$m" -w '%{http_code}' "$UL_URL/metrics" >"$UL_TMP/code"
    assert_eq "$(<"$UL_TMP/code")" 200 "/metrics without a token"
    grep -q '^ipmi_temperature_celsius{node="bmc0",id="1",name="Inlet Temp"} 24$' "$m" ||
        ul_fail "no Inlet Temp gauge for bmc0 in /metrics"
    grep -q '^ipmi_fan_speed_rpm{node="bmc1",' "$m" || ul_fail "no fan gauges"
    grep -q '^ipmi_up{node="bmc0",collector="ipmi"} 1$' "$m" || ul_fail "ipmi_up"
    grep -q '^underlay_node_health{node="bmc0",state="ok"} 1$' "$m" || ul_fail "node health"
    grep -q '^underlay_polls_total{node="bmc0",kind="sensors"}' "$m" || ul_fail "poll counters"
    # The telemetry stream's sinks: history got sweeps, nothing dropped.
    grep -q '^underlay_stream_dropped_total{sink="rrd_history"} 0$' "$m" ||
        ul_fail "no stream drop counter for rrd_history: $(grep underlay_stream "$m")"
    grep -Eq '^underlay_stream_delivered_total\{sink="rrd_history"\} [1-9]' "$m" ||
        ul_fail "history sink delivered nothing: $(grep underlay_stream "$m")"
    grep -q '^underlay_stream_queue_depth{sink="log"} ' "$m" || ul_fail "no log sink depth"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$m" >"$UL_TMP/promtool.out" 2>&1 ||
            ul_fail "promtool check metrics: $(head -5 "$UL_TMP/promtool.out")"
    else
        ul_fail "promtool not installed (scripts/deps.sh installs prometheus)"
    fi
}
ul_check check_metrics

check_changed_value() {
    "$SIMCTL" set-reading "$SIMDIR" 1 "CPU1 Temp" 91 >/dev/null || ul_fail "set-reading"
    wait_json /api/v1/nodes/bmc1/sensors \
        '[.sensors[] | select(.name == "CPU1 Temp")][0].value' 91 20
    wait_json /api/v1/nodes/bmc1/health .health degraded 10
    curl -sS --max-time 10 -o "$UL_TMP/metrics2.txt" "$UL_URL/metrics"
    grep -q '^ipmi_temperature_state{node="bmc1",id="2",name="CPU1 Temp"} 2$' \
        "$UL_TMP/metrics2.txt" || ul_fail "critical state not in /metrics"
    # The health change went through the stream to its log sink.
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q "node bmc1: health ok -> degraded: sensor 'CPU1 Temp' is critical" \
            "$UL_DIR/daemon.log" && break
        sleep 0.1
    done
    grep -q "node bmc1: health ok -> degraded: sensor 'CPU1 Temp' is critical" \
        "$UL_DIR/daemon.log" || ul_fail "health change not logged by the stream's log sink"
}
ul_check check_changed_value

check_dead_and_back() {
    "$SIMCTL" kill "$SIMDIR" 0 >/dev/null
    wait_json /api/v1/nodes/bmc0/health .health unreachable 30
    ul_api GET /api/v1/nodes/bmc0/health
    assert_json '.last_error.message | length > 0' true "the last error is visible"
    # The other BMC is not held up by the dead one.
    ul_api GET /api/v1/nodes/bmc1/health
    assert_ne "$(ul_jq .health)" unreachable "live BMC beside a dead one"
    "$SIMCTL" restart "$SIMDIR" 0 >/dev/null || ul_fail "simulator did not restart"
    wait_json /api/v1/nodes/bmc0/health .health ok 40
}
ul_check check_dead_and_back

check_history() {
    # Each sweep lands in RRD files: check with rrdtool itself.
    wait_json /api/v1/nodes/bmc0/history \
        '[.sensors[] | select(.sensor == "Inlet Temp")] | length' 1 20
    local file
    file="$UL_DIR/rrd/bmc0/$(ul_jq '[.sensors[] | select(.sensor == "Inlet Temp")][0].file')"
    [ -f "$file" ] || ul_fail "no RRD file $file"
    local last
    last=$(rrdtool lastupdate "$file" | awk -F': ' 'NR == 3 {print $2}')
    [ "${last%%.*}" = 24 ] || ul_fail "rrdtool lastupdate: expected 24, got '$last'"
    ul_api GET "/api/v1/nodes/bmc0/series?sensor=Inlet%20Temp&kind=temperature&range=1h"
    assert_status 200 "series"
    assert_json '.points | length > 0' true "series has points"
    assert_json .kind temperature
    ul_api GET "/api/v1/nodes/bmc0/series?sensor=Inlet%20Temp&kind=temperature&range=2h"
    assert_error 400 invalid_argument range
    curl -sS --max-time 20 -H "Authorization: Bearer $UL_TOKEN" -o "$UL_TMP/g.png" \
        "$UL_URL/api/v1/nodes/bmc0/graph?kind=temperature&range=1h" || ul_fail "graph request"
    [ "$(head -c 8 "$UL_TMP/g.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        ul_fail "graph is not a PNG: $(head -c 200 "$UL_TMP/g.png")"
    check_graph_size_and_range
}

# GET .../graph QUERY into FILE; fails unless a PNG comes back.
graph_to() {
    curl -sS --max-time 30 -H "Authorization: Bearer $UL_TOKEN" -o "$2" \
        "$UL_URL/api/v1/nodes/bmc0/graph?$1" || ul_fail "graph request $1"
    [ "$(head -c 8 "$2" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
        ul_fail "graph $1 is not a PNG: $(head -c 200 "$2")"
}
# "WIDTH HEIGHT" of a PNG, from its IHDR chunk.
png_wh() {
    od -An -tu1 -j16 -N8 "$1" | awk '{print $1*16777216+$2*65536+$3*256+$4, $5*16777216+$6*65536+$7*256+$8}'
}

# The size asked for is the plot area: the image grows with it by exactly as
# much.  The range shown follows the data: bmc0's history is minutes old, so
# a day (or two hours) asked for shows the same last hour as an hour asked
# for, byte for byte; half an hour asked for is kept as asked.
check_graph_size_and_range() {
    local e=$(($(date +%s) - 5)) a b
    graph_to "kind=temperature&start=$((e - 3600))&end=$e&width=500&height=150" "$UL_TMP/s1.png"
    graph_to "kind=temperature&start=$((e - 3600))&end=$e&width=700&height=230" "$UL_TMP/s2.png"
    read -r a b < <(png_wh "$UL_TMP/s1.png")
    local c d
    read -r c d < <(png_wh "$UL_TMP/s2.png")
    [ $((c - a)) = 200 ] && [ $((d - b)) = 80 ] && [ "$a" -gt 500 ] && [ "$b" -gt 150 ] ||
        ul_fail "graph sizes ${a}x$b and ${c}x$d for plot areas 500x150 and 700x230"
    ul_log "graph: 500x150 plot -> ${a}x$b image, 700x230 -> ${c}x$d"
    graph_to "kind=temperature&start=$((e - 3600))&end=$e" "$UL_TMP/r1h.png"
    graph_to "kind=temperature&start=$((e - 86400))&end=$e" "$UL_TMP/r1d.png"
    graph_to "kind=temperature&start=$((e - 7200))&end=$e" "$UL_TMP/r2h.png"
    graph_to "kind=temperature&start=$((e - 1800))&end=$e" "$UL_TMP/r30m.png"
    cmp -s "$UL_TMP/r1h.png" "$UL_TMP/r1d.png" || ul_fail "a day of a new node is not its hour"
    cmp -s "$UL_TMP/r1h.png" "$UL_TMP/r2h.png" || ul_fail "2 h of a new node is not its hour"
    ! cmp -s "$UL_TMP/r1h.png" "$UL_TMP/r30m.png" || ul_fail "30 min was widened to an hour"
}
ul_check check_history

# A node enrolled while the daemon runs is polled within seconds (the store's
# node-change counter, checked every second), not at the 30-s node-list sync
# plus a jitter of one interval; deleting it stops its polls as quickly.
check_enrolled_node_polled_soon() {
    local t0=$SECONDS
    ul_node_add late0 "$(jq -cn --arg e "ipmi://127.0.0.1:$(port_of 0)" --argjson o "$OPTS" \
        '{endpoint: $e, username: "admin", password: "password", options: $o}')"
    wait_json /api/v1/nodes/late0/sensors '.sensors | length > 40' true 15
    ul_log "late0: first sweep $((SECONDS - t0)) s after enrolment"
    ul_api DELETE /api/v1/nodes/late0
    assert_status 204 "delete late0"
    wait_json /api/v1/fleet '[.nodes[] | select(.node == "late0")] | length' 0 10
}
ul_check check_enrolled_node_polled_soon

check_events_collected() {
    # SEL collection runs on its own too.
    wait_json "/api/v1/events?node=bmc1&source=sel" '.total > 0' true 30
}
ul_check check_events_collected

# Parity with the IPMI exporter's families, the info metric to join on,
# HEAD /metrics, and per-label shards (?label=KEY=VALUE).
metrics_to() { # FILE [QUERY]
    curl -sS --max-time 10 -o "$1" -w '%{http_code}' "$UL_URL/metrics${2:-}" >"$UL_TMP/code" ||
        ul_fail "GET /metrics${2:-}: curl failed"
}
promcheck() { # FILE
    promtool check metrics <"$1" >"$UL_TMP/promtool.out" 2>&1 ||
        ul_fail "promtool check metrics ($1): $(head -5 "$UL_TMP/promtool.out")"
}
check_metrics_parity() {
    local m="$UL_TMP/parity.txt"
    metrics_to "$m"
    assert_eq "$(<"$UL_TMP/code")" 200 "/metrics"
    # ipmi_up: 1 for a healthy node of either driver; the collector is the driver.
    grep -q '^ipmi_up{node="bmc0",collector="ipmi"} 1$' "$m" || ul_fail "ipmi_up bmc0"
    grep -q '^ipmi_up{node="rf0",collector="redfish"} 1$' "$m" ||
        ul_fail "ipmi_up rf0: $(grep '^ipmi_up' "$m")"
    grep -Eq '^ipmi_scrape_duration_seconds\{node="rf0",collector="redfish"\} [0-9.e-]+$' "$m" ||
        ul_fail "no scrape duration for rf0"
    grep -Eq '^ipmi_scrape_duration_seconds\{node="bmc1",collector="ipmi"\} [0-9.e-]+$' "$m" ||
        ul_fail "no scrape duration for bmc1"
    # The info metric, label names sanitized (hw.gen -> hw_gen).
    grep -q '^underlay_node_info{node="bmc0",driver="ipmi",.*rack="r1"' "$m" ||
        ul_fail "node info bmc0: $(grep '^underlay_node_info' "$m")"
    grep -q '^underlay_node_info{node="bmc1",.*hw_gen="g9"' "$m" || ul_fail "sanitized label"
    grep -q '^underlay_node_info{node="bmc1",.*site="ams-1"' "$m" || ul_fail "site label"
    promcheck "$m"

    # ipmi_bmc_info from the stored inventory (an inventory job stores it);
    # the metadata is refreshed within 30 s.
    ul_api POST /api/v1/nodes/bmc0/inventory '{}'
    assert_status 202 "inventory job"
    wait_job "$(ul_jq .job.id)" 60
    assert_json .state succeeded "inventory job"
    ul_api GET /api/v1/nodes/bmc0/inventory
    assert_status 200 "stored inventory"
    local fw mfg
    fw=$(ul_jq '.inventory.bmc.firmware_revision // .bmc.firmware_revision')
    mfg=$(ul_jq '.inventory.bmc.manufacturer // .bmc.manufacturer // ""')
    [ -n "$fw" ] && [ "$fw" != null ] || ul_fail "no firmware revision in the inventory: $UL_BODY"
    local want="ipmi_bmc_info{node=\"bmc0\",firmware_revision=\"$fw\",manufacturer=\"$mfg\"} 1"
    local deadline=$((SECONDS + 60))
    until metrics_to "$m" && grep -qxF "$want" "$m"; do
        [ $SECONDS -lt $deadline ] ||
            ul_fail "no '$want' in /metrics: $(grep '^ipmi_bmc_info' "$m")"
        sleep 0.5
    done
    # The SEL count: the log entries underlay holds for the node.
    ul_api GET "/api/v1/events?node=bmc1&limit=1"
    local total
    total=$(ul_jq .total)
    [ "$total" -gt 0 ] || ul_fail "no events for bmc1 yet"
    grep -Eq '^ipmi_sel_log_entries\{node="bmc1"\} [1-9][0-9]*$' "$m" ||
        ul_fail "ipmi_sel_log_entries bmc1: $(grep '^ipmi_sel_log_entries' "$m") (store: $total)"
    promcheck "$m"

    # HEAD: the headers of GET, no body.
    curl -sS --max-time 10 -I "$UL_URL/metrics" >"$UL_TMP/head.txt" || ul_fail "HEAD /metrics"
    grep -q '^HTTP/1.1 200' "$UL_TMP/head.txt" || ul_fail "HEAD /metrics: $(head -1 "$UL_TMP/head.txt")"
    grep -qi '^content-type: text/plain' "$UL_TMP/head.txt" ||
        ul_fail "HEAD /metrics content type: $(cat "$UL_TMP/head.txt")"
    curl -sS --max-time 10 -X DELETE -o /dev/null -w '%{http_code}' "$UL_URL/metrics" \
        >"$UL_TMP/code"
    assert_eq "$(<"$UL_TMP/code")" 405 "DELETE /metrics"

    # A shard: only rack r1's nodes (bmc0, rf0), every family still valid.
    local s="$UL_TMP/shard.txt"
    metrics_to "$s" '?label=rack=r1'
    assert_eq "$(<"$UL_TMP/code")" 200 "/metrics?label=rack=r1"
    grep -q '^ipmi_temperature_celsius{node="bmc0",' "$s" || ul_fail "shard lacks bmc0"
    grep -q '^ipmi_up{node="rf0",' "$s" || ul_fail "shard lacks rf0"
    if grep -q 'node="bmc1"' "$s"; then ul_fail "shard r1 has bmc1 (rack r2)"; fi
    if grep -q '^underlay_jobs_queued' "$s"; then ul_fail "shard has daemon-wide families"; fi
    promcheck "$s"
    metrics_to "$s" '?label=rack=r2'
    grep -q '^ipmi_up{node="bmc1",' "$s" || ul_fail "shard r2 lacks bmc1"
    [ "$(grep -c '^ipmi_up{' "$s")" = 1 ] || ul_fail "shard r2: $(grep '^ipmi_up' "$s")"
    metrics_to "$s" '?label=rack=nosuch'
    assert_eq "$(<"$UL_TMP/code")" 200 "a shard with no node"
    if grep -q '^ipmi_up{' "$s"; then ul_fail "empty shard has nodes"; fi
    promcheck "$s"
    # Bad input names the parameter.
    for bad in rack '=r1'; do
        metrics_to "$s" "?label=$bad"
        assert_eq "$(<"$UL_TMP/code")" 400 "?label=$bad"
        grep -q "'label'" "$s" || ul_fail "?label=$bad: $(cat "$s")"
    done
    # Size per node, for docs/operations.md.
    ul_log "metrics: full scrape $(wc -c <"$m") bytes for 3 nodes; bmc0's lines:" \
        "$(grep 'node="bmc0"' "$m" | wc -c) bytes"
}
ul_check check_metrics_parity

# A restart keeps history: same files, same sensors, new values appended.
check_restart_keeps_history() {
    local before
    before=$(find "$UL_DIR/rrd" -name '*.rrd' | sort)
    [ -n "$before" ] || ul_fail "no history before the restart"
    ul_restart
    ul_api GET /api/v1/nodes/bmc0/history
    assert_json '[.sensors[] | select(.sensor == "Inlet Temp")] | length' 1 "history after restart"
    local after
    after=$(find "$UL_DIR/rrd" -name '*.rrd' | sort)
    [ "$before" = "$(comm -12 <(echo "$before") <(echo "$after"))" ] ||
        ul_fail "RRD files lost across the restart"
}
check_restart_keeps_history  # not in a subshell: it replaces the daemon

ul_stop
