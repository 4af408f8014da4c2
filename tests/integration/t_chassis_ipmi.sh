#!/usr/bin/env bash
# Chassis identify and BMC reset against OpenIPMI ipmi_sim (issue 12, item 7).
# What ipmi_sim does (checked with FreeIPMI's own tools below): Get Chassis
# Status carries no identify state (ipmi-chassis --get-chassis-status prints
# no "Chassis Identify" line: the "identify supported" bit is clear), Chassis
# Identify gets no answer at all (FreeIPMI: "session timeout"), and BMC Cold
# Reset answers "command invalid or unsupported".  So this checks that each
# job fails bounded, with an error naming node and operation, and that the
# BMC and our sessions to it still work afterwards; the success paths are
# covered on the fake driver (t_chassis.sh).
. "$TOP_SRCDIR/tests/lib.sh"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"

SIMDIR="$UL_TMP/sims"
trap 'rc=$?; "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1; (exit $rc); ul__cleanup' EXIT
"$SIMCTL" start 1 auto "$SIMDIR" >/dev/null || ul_fail "simulator did not start"
eval "$("$SIMCTL" info "$SIMDIR" 0)"
[ -n "$SIM_PORT" ] || ul_fail "no port for the simulator"

ul_start -s bmc.timeout=3

FIPMI=(-h "127.0.0.1:$SIM_PORT" -D LAN_2_0 -u admin -p password -W opensesspriv)
OPTS='{"workarounds":["opensesspriv"],"quirks":["boot-flags-no-valid-bit"]}'
ul_node_add bmc0 "$(jq -cn --arg e "ipmi://127.0.0.1:$SIM_PORT" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "password", options: $o}')"

# The driver claims both capabilities.
ul_api GET /api/v1/nodes/bmc0
assert_status 200
assert_json '.capabilities | index("identify") != null' true "ipmi has identify"
assert_json '.capabilities | index("bmc_reset") != null' true "ipmi has bmc_reset"

run_job() { # PATH BODY -> waited for
    ul_api POST "$1" "$2"
    assert_status 202 "POST $1 $2"
    JOB=$(ul_jq .job.id)
    wait_job "$JOB" 60
}

# FreeIPMI's view: no identify state in the chassis status.
status=$(ipmi-chassis "${FIPMI[@]}" --get-chassis-status) || ul_fail "ipmi-chassis failed"
assert_contains "$status" "System Power" "ipmi-chassis answers"
assert_not_contains "$status" "Chassis Identify" "ipmi_sim reports no identify state"

# identify status: the BMC does not report it.
run_job /api/v1/nodes/bmc0/identify '{"state":"status"}'
assert_json .state failed "identify status on ipmi_sim"
assert_json .error.code not_supported
assert_contains "$(ul_jq .error.message)" "bmc0" "names the node"
assert_contains "$(ul_jq .error.message)" "identify state" "names what"

# identify on: ipmi_sim does not answer Chassis Identify; bounded failure.
t0=$(date +%s)
run_job /api/v1/nodes/bmc0/identify '{"state":"on","seconds":30}'
assert_json .state failed "identify on against ipmi_sim"
assert_contains "$(ul_jq .error.message)" "bmc0" "names the node"
assert_contains "$(ul_jq .error.message)" "chassis identify on" "names the operation"
[ $(( $(date +%s) - t0 )) -lt 40 ] || ul_fail "identify failure took over 40 s"

# BMC cold reset: refused by ipmi_sim, sent once, session closed.
run_job /api/v1/nodes/bmc0/bmc/reset '{}'
assert_json .state failed "cold reset against ipmi_sim"
assert_json .error.code not_supported
assert_contains "$(ul_jq .error.message)" "bmc0" "names the node"
assert_contains "$(ul_jq .error.message)" "BMC cold reset" "names the operation"

# Afterwards our next job opens a fresh session and works, as do FreeIPMI's
# tools.
ul_power bmc0 status
wait_job "$UL_JOB" 30
assert_json .state succeeded "power status after the reset attempt"
ipmi-chassis "${FIPMI[@]}" --get-chassis-status >/dev/null || ul_fail "BMC no longer answers"
ul_log "ok"
