#!/usr/bin/env bash
# IPMI driver end to end: underlayd against OpenIPMI ipmi_sim simulators, each
# effect checked independently with FreeIPMI's own tools.
#   - power off/on/cycle: ipmi-chassis reports the state we claim
#   - boot override: ipmi-chassis --get-boot-flags shows it
#   - sensors: names and values match ipmi-sensors; a changed simulated value
#     shows up in the next sweep
#   - faults: wrong password (auth_failed, fast, one attempt), nothing
#     listening (bounded timeout, other nodes unaffected), a simulator killed
#     mid-operation (bounded failure, recovery after it returns)
. "$TOP_SRCDIR/tests/lib.sh"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"

SIMDIR="$UL_TMP/sims"
# N consecutive ports free for both UDP (LAN) and TCP (console).
BASE=$(python3 - <<'PY'
import random, socket
def free(p):
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        s = socket.socket(socket.AF_INET, kind)
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        finally:
            s.close()
    return True
for _ in range(200):
    # below the ephemeral range (32768-): the killed BMC must get its ports back
    base = random.randrange(20000, 32000)
    if all(free(base + i) for i in range(4)):
        print(base)
        break
PY
)
[ -n "$BASE" ] || ul_fail "no free port range for the simulators"
trap 'rc=$?; "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1; (exit $rc); ul__cleanup' EXIT
"$SIMCTL" start 3 "$BASE" "$SIMDIR" >/dev/null || ul_fail "simulators did not start"

# Short BMC timeout so the fault checks finish quickly.
ul_start -s bmc.timeout=3

FIPMI=(-D LAN_2_0 -u admin -p password -W opensesspriv -I 3)
OPTS='{"workarounds":["opensesspriv"],"quirks":["boot-flags-no-valid-bit"]}'
for i in 0 1 2; do
    ul_node_add "bmc$i" "$(jq -cn --arg e "ipmi://127.0.0.1:$((BASE + i))" --argjson o "$OPTS" \
        '{endpoint: $e, username: "admin", password: "password", options: $o}')"
done
# A BMC that is not there, and one we hold the wrong password for.
DEAD=$((BASE + 3))
ul_node_add dead "$(jq -cn --arg e "ipmi://127.0.0.1:$DEAD" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "password", options: $o}')"
ul_node_add badpw "$(jq -cn --arg e "ipmi://127.0.0.1:$BASE" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "wrong-password", options: $o}')"

chassis_power() { # INDEX -> "on"/"off" as FreeIPMI sees it
    ipmi-chassis -h "127.0.0.1:$((BASE + $1))" "${FIPMI[@]}" --get-chassis-status |
        sed -n 's/^System Power *: *//p'
}

run_job() { # NODE OP JSON [TIMEOUT] -> sets UL_JOB and UL_BODY (the finished job)
    ul_api POST "/api/v1/nodes/$1/$2" "$3"
    assert_status 202 "$2 on $1"
    UL_JOB=$(ul_jq .job.id)
    wait_job "$UL_JOB" "${4:-30}"
}

# ---- power, checked with ipmi-chassis -------------------------------------
check_power() {
    run_job bmc0 power '{"action":"status"}'
    assert_json .state succeeded "power status"
    assert_json .result.power "$(chassis_power 0)" "status agrees with ipmi-chassis"

    run_job bmc0 power '{"action":"off"}'
    assert_json .state succeeded "power off"
    assert_json .result.power off "power off result"
    assert_eq "$(chassis_power 0)" off "ipmi-chassis after power off"

    run_job bmc0 power '{"action":"on"}'
    assert_json .state succeeded "power on"
    assert_eq "$(chassis_power 0)" on "ipmi-chassis after power on"

    run_job bmc0 power '{"action":"cycle"}'
    assert_json .state succeeded "power cycle"
    assert_json .result.power on "power cycle ends on"
    assert_eq "$(chassis_power 0)" on "ipmi-chassis after power cycle"
}
ul_check check_power

# ---- boot override, checked with ipmi-chassis -------------------------------
check_boot() {
    run_job bmc1 boot '{"device":"pxe"}'
    assert_json .state succeeded "boot pxe"
    assert_json .result.device pxe "boot read back"
    local flags
    flags=$(ipmi-chassis -h "127.0.0.1:$((BASE + 1))" "${FIPMI[@]}" --get-boot-flags)
    assert_contains "$flags" "Force PXE" "ipmi-chassis sees the PXE override"
    run_job bmc1 boot '{"device":"bios"}'
    assert_json .result.device bios "boot bios read back"
    run_job bmc1 boot '{}'
    assert_json .result.device bios "boot read only"
}
ul_check check_boot

# ---- sensors, compared with ipmi-sensors ------------------------------------
check_sensors() {
    run_job bmc2 sensors '{}'
    assert_json .state succeeded "sensors job"
    local ours="$UL_TMP/ours" theirs="$UL_TMP/theirs"
    jq -r '.result.sensors[] | select(.value != null) | "\(.name),\(.value)"' \
        <<<"$UL_BODY" >"$ours"
    mkdir -p -m 0700 "$UL_TMP/fipmi-cache"
    ipmi-sensors -h "127.0.0.1:$((BASE + 2))" "${FIPMI[@]}" \
        --sdr-cache-directory="$UL_TMP/fipmi-cache" --comma-separated-output \
        --no-header-output --ignore-not-available-sensors |
        awk -F, '$4 != "N/A" { print $2 "," $4 }' >"$theirs"
    [ -s "$ours" ] || ul_fail "no sensor values"
    [ -s "$theirs" ] || ul_fail "ipmi-sensors printed no values"
    # Same names, same values (to 0.01) for every analog sensor.
    local mismatch
    mismatch=$(python3 - "$ours" "$theirs" <<'PY'
import sys
def load(path):
    out = {}
    for line in open(path):
        name, _, value = line.strip().rpartition(",")
        out[name] = float(value)
    return out
ours, theirs = load(sys.argv[1]), load(sys.argv[2])
for name in sorted(set(ours) | set(theirs)):
    a, b = ours.get(name), theirs.get(name)
    if a is None or b is None or abs(a - b) > 0.01:
        print(f"{name}: underlay {a} ipmi-sensors {b}")
PY
)
    assert_eq "$mismatch" "" "sensor names and values match ipmi-sensors"
    local count
    count=$(jq '.result.sensors | length' <<<"$UL_BODY")
    [ "$count" -ge 40 ] || ul_fail "expected at least 40 sensors, got $count"
    assert_json '[.result.sensors[] | select(.name == "Inlet Temp")][0].thresholds.upper_critical' \
        47 "Inlet Temp upper critical threshold"
    assert_json '[.result.sensors[] | select(.name == "Inlet Temp")][0].kind' temperature
    assert_json '[.result.sensors[] | select(.name == "Inlet Temp")][0].unit' celsius

    # Change a simulated reading: the next sweep sees it, with its status.
    "$SIMCTL" set-reading "$SIMDIR" 2 "Inlet Temp" 48 >/dev/null ||
        ul_fail "cannot change the simulated sensor"
    run_job bmc2 sensors '{}'
    assert_json '[.result.sensors[] | select(.name == "Inlet Temp")][0].value' 48 "changed value"
    assert_json '[.result.sensors[] | select(.name == "Inlet Temp")][0].status' critical \
        "48 C is past the 47 C critical threshold"
}
ul_check check_sensors

# ---- SEL, compared with ipmi-sel; inventory with bmc-info --------------------
check_sel() {
    local theirs
    theirs=$(ipmi-sel -h "127.0.0.1:$BASE" "${FIPMI[@]}" --no-header-output \
        --comma-separated-output | grep -c .)
    [ "$theirs" -gt 0 ] || ul_fail "the simulator's SEL is empty"
    run_job bmc0 sel '{}'
    assert_json .state succeeded "sel job"
    assert_json .result.new "$theirs" "new entries = ipmi-sel's count"
    ul_api GET "/api/v1/events?node=bmc0&source=sel"
    assert_json .total "$theirs" "stored events = ipmi-sel's count"
    # Again: the cursor says nothing is new, and nothing is stored twice.
    run_job bmc0 sel '{}'
    assert_json .result.new 0 "second read finds nothing new"
    # One more entry on the BMC: exactly one new.
    "$SIMCTL" add-sel "$SIMDIR" 0 "CPU1 Temp" 0x01 0x09 >/dev/null || ul_fail "add-sel failed"
    run_job bmc0 sel '{}'
    assert_json .result.new 1 "one entry added"
    ul_api GET "/api/v1/events?node=bmc0&source=sel&limit=1"
    assert_json '.items[0].sensor' "CPU1 Temp" "newest event names its sensor"
    # Clearing collects first, is audited, and empties the BMC's SEL.
    run_job bmc0 sel/clear '{}'
    assert_json .state succeeded "sel clear"
    assert_json .result.cleared true
    local left
    left=$(ipmi-sel -h "127.0.0.1:$BASE" "${FIPMI[@]}" --no-header-output \
        --comma-separated-output | grep -c .)
    assert_eq "$left" 0 "ipmi-sel after clear"
    ul_api GET "/api/v1/events?node=bmc0&source=sel"
    assert_json .total "$((theirs + 1))" "stored events survive the clear"
    ul_api GET "/api/v1/audit?action=sel.clear"
    assert_json .total 1 "sel clear is audited"
}
ul_check check_sel

check_inventory() {
    run_job bmc1 inventory '{}'
    assert_json .state succeeded "inventory job"
    local info
    info=$(bmc-info -h "127.0.0.1:$((BASE + 1))" "${FIPMI[@]}" --get-device-id)
    assert_json .result.bmc.firmware_revision \
        "$(sed -n 's/^Firmware Revision *: *//p' <<<"$info")" "firmware revision = bmc-info"
    assert_json .result.bmc.manufacturer_id \
        "$(sed -n 's/^Manufacturer ID *: .*(\([0-9]*\))$/\1/p' <<<"$info")" "manufacturer id"
    assert_json .result.bmc.product_id "$(sed -n 's/^Product ID *: *//p' <<<"$info")" "product id"
    local serial
    serial=$(ipmi-fru -h "127.0.0.1:$((BASE + 1))" "${FIPMI[@]}" |
        sed -n 's/^ *FRU Board Serial Number *: *//p' | head -1)
    [ -n "$serial" ] || ul_fail "ipmi-fru shows no board serial"
    assert_json .result.fru.board.serial "$serial" "board serial = ipmi-fru"
    ul_api GET /api/v1/nodes/bmc1/inventory
    assert_status 200 "stored inventory"
    assert_json .inventory.fru.board.serial "$serial"
    # ipmi_sim has no DCMI: the sensors result says so in words.
    run_job bmc1 sensors '{}'
    assert_json .result.power_reading.supported false "DCMI on ipmi_sim"
    assert_contains "$(ul_jq .result.power_reading.message)" "not supported by this BMC"
}
ul_check check_inventory

# ---- faults -------------------------------------------------------------------
check_wrong_password() {
    local t0=$SECONDS
    run_job badpw power '{"action":"status"}'
    assert_json .state failed "wrong password fails"
    assert_json .error.code auth_failed "wrong password is an auth error"
    assert_json .attempts 1 "no retry of a permanent error"
    [ $((SECONDS - t0)) -le 6 ] || ul_fail "auth failure took $((SECONDS - t0)) s"
}
ul_check check_wrong_password

check_dead_bmc() {
    # The dead BMC's job and a live one's run side by side: the live one
    # must not wait for the dead one's timeout.
    ul_api POST /api/v1/nodes/dead/power '{"action":"status"}'
    local dead_job
    dead_job=$(ul_jq .job.id)
    local t0=$SECONDS
    run_job bmc1 power '{"action":"status"}' 10
    assert_json .state succeeded "live BMC beside a dead one"
    [ $((SECONDS - t0)) -le 3 ] || ul_fail "live BMC took $((SECONDS - t0)) s beside a dead one"
    wait_job "$dead_job" 15
    assert_json .state failed "dead BMC fails"
    assert_json .error.code unreachable "dead BMC is unreachable"
    local took
    took=$(jq -r '(.finished_at | fromdate) - (.started_at | fromdate)' <<<"$UL_BODY")
    [ "$took" -le 6 ] || ul_fail "dead BMC took $took s with a 3 s timeout"
}
ul_check check_dead_bmc

check_killed_mid_operation() {
    # Warm the session, kill the simulator, and ask again: the cached
    # session is dead; the job must fail within the timeout, not hang.
    run_job bmc2 power '{"action":"status"}'
    assert_json .state succeeded "before the kill"
    "$SIMCTL" kill "$SIMDIR" 2 >/dev/null
    run_job bmc2 sensors '{}' 20
    assert_json .state failed "sensors on a killed BMC"
    assert_contains "timeout unreachable" "$(ul_jq .error.code)" "killed BMC error code"
    # It comes back: the next job opens a fresh session.
    "$SIMCTL" restart "$SIMDIR" 2 >/dev/null || ul_fail "simulator did not restart"
    run_job bmc2 power '{"action":"status"}'
    assert_json .state succeeded "after the simulator came back"
}
ul_check check_killed_mid_operation

ul_stop
