#!/usr/bin/env bash
# Enrolment that understands real Redfish services (issue 12, item 8), end
# to end: underlayd and the CLI against the project's Redfish emulator.
#   - a service with three systems: `underlay node add PREFIX --discover`
#     makes one node per system, named {prefix}-{id}, each endpoint at its
#     system; a power action on one reaches only its system; a second run
#     skips every name, saying why; --name-template and the API's
#     name_template; the audit trail
#   - bad input answers 400/501 naming the field and queues nothing
#   - systems without Links.Chassis: the chassis whose Links name the
#     system, else the one with the system's Id; the rule is in the node's
#     inventory (redfish.chassis_rule) and sensors are read
#   - a login that answers without an X-Auth-Token: basic authentication by
#     itself, said in the job result, the CLI's notes, the inventory and the
#     daemon's log (once)
#   - a wrong password fails the job naming the login; the password is in
#     no job record nor the database; a discovery against a slow BMC
#     answers to cancel, and one cut by a restart fails saying so
#   - the DMTF bladed mockup (four blades), when ../shared/redfish-mockups
#     is there
. "$TOP_SRCDIR/tests/lib.sh"

. "$TOP_SRCDIR/tests/lib_redfish.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"

THREE=$(emu_start three --power-delay 0.3 --systems 3) || ul_fail "emulator (3 systems) did not start"
BACK=$(emu_start back --systems 2 --no-system-chassis) || ul_fail "emulator (no Links.Chassis) did not start"
SAMEID=$(emu_start sameid --systems 2 --no-system-chassis --no-chassis-systems) ||
    ul_fail "emulator (no chassis links at all) did not start"
NOTOKEN=$(emu_start notoken --login-no-token) || ul_fail "emulator (token-less login) did not start"

ul_start

export RF_PW=password
cli() { # ARGS...: sets RC, OUT, ERR
    OUT=$("$UNDERLAY" "$@" 2>"$UL_TMP/cli.err" </dev/null)
    RC=$?
    ERR=$(cat "$UL_TMP/cli.err")
}
rf_get() { # BASE PATH
    curl -sS --max-time 10 -u admin:password "$1$2"
}
node_count() {
    ul_api GET "/api/v1/nodes?limit=1000"
    ul_jq '.items | length'
}
# discover_api JSON: POST /nodes/discover, wait for the job (UL_BODY: it).
discover_api() {
    ul_api POST /api/v1/nodes/discover "$1"
    assert_status 202 "discover $1"
    UL_JOB=$(ul_jq .job.id)
    wait_job "$UL_JOB" 60
}
# inventory NODE: refresh and read it (UL_BODY: the job).
inventory() {
    run_job "$1" inventory '{}' 60
    assert_json .state succeeded "inventory of $1"
}

# ---- three systems behind one address, through the CLI --------------------

cli node add encl --endpoint "$THREE" --user admin --password-env RF_PW --discover
[ "$RC" -eq 0 ] || ul_fail "node add --discover exited $RC: $ERR $OUT"
for n in 1 2 3; do
    assert_contains "$OUT" "encl-$n" "the CLI's table"
    ul_api GET "/api/v1/nodes/encl-$n"
    assert_status 200 "node encl-$n"
    assert_json .endpoint "$THREE/redfish/v1/Systems/$n" "encl-$n endpoint"
    assert_json .driver redfish "encl-$n driver"
    assert_json .username admin "encl-$n username"
done
assert_contains "$OUT" created "the CLI's table"
[ "$(node_count)" = 3 ] || ul_fail "expected 3 nodes, got $(node_count)"

# The nodes work, each on its own system: power off encl-2 only.
ul_power encl-2 off
wait_job "$UL_JOB" 30
assert_json .state succeeded "power off encl-2"
deadline=$((SECONDS + 15))
until [ "$(rf_get "$THREE" /redfish/v1/Systems/2 | jq -r .PowerState)" = Off ]; do
    [ $SECONDS -lt $deadline ] || ul_fail "system 2 is not off after 15 s"
    sleep 0.2
done
for n in 1 3; do
    [ "$(rf_get "$THREE" /redfish/v1/Systems/$n | jq -r .PowerState)" = On ] ||
        ul_fail "system $n changed with encl-2"
done
inventory encl-1
assert_json .result.redfish.chassis_rule system-links "encl-1 chassis rule"
assert_json .result.redfish.auth session "encl-1 authentication"

# Again, under another prefix: every system is enrolled already; the job
# says as which node, the CLI exits 1.
cli node add again --endpoint "$THREE" --user admin --password-env RF_PW --discover
[ "$RC" -eq 1 ] || ul_fail "a second discovery exited $RC (expected 1): $ERR $OUT"
assert_contains "$OUT" "skipped: already enrolled as node encl-2" "second run"
[ "$(node_count)" = 3 ] || ul_fail "the second discovery changed the nodes"
# Removed, they can be discovered again (under other names below).
cli node rm 'encl-[1-3]'
[ "$RC" -eq 0 ] || ul_fail "node rm exited $RC: $ERR"

# A template from the CLI, JSON output.
cli -o json node add r7 --endpoint "$THREE/" --user admin --password-env RF_PW --discover \
    --name-template 'slot{index}.{prefix}' --label rack=r7
[ "$RC" -eq 0 ] || ul_fail "--name-template exited $RC: $ERR $OUT"
[ "$(jq -r '[.created[].name] | join(",")' <<<"$OUT")" = "slot1.r7,slot2.r7,slot3.r7" ] ||
    ul_fail "template names: $OUT"
ul_api GET /api/v1/nodes/slot2.r7
assert_json .labels.rack r7 "labels reach every node"
assert_json .endpoint "$THREE/redfish/v1/Systems/2" "slot2.r7 endpoint"

cli node rm 'slot[1-3].r7'
[ "$RC" -eq 0 ] || ul_fail "node rm exited $RC: $ERR"

# The API: 202 with a job; the result lists created and skipped.
discover_api "$(jq -cn --arg e "$THREE" '{prefix: "api", endpoint: $e, username: "admin",
    password: "password", name_template: "{prefix}-{id}", state: "ready"}')"
assert_json .state succeeded "API discovery"
assert_json '.result.created | length' 3 "API discovery created"
assert_json '.result.skipped | length' 0 "API discovery skipped"
assert_json '.result.created[0].system_id' 1 "system id in the result"
assert_json .result.auth session "API discovery auth"
ul_api GET /api/v1/nodes/api-3
assert_json .state ready "state given to the nodes"
ul_api GET "/api/v1/audit?action=node.discover"
assert_json '.items | length >= 3' true "node.discover audited"
ul_api GET "/api/v1/audit?action=node.create"
assert_json '[.items[] | select(.target == "api-2")] | length' 1 "node.create audited per node"

# ---- bad input: a clear error naming the field, nothing queued ---------------

before=$(node_count)
ul_api GET "/api/v1/jobs?limit=1000"
jobs_before=$(ul_jq '.items | length')
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE" '{prefix: "x", endpoint: $e,
    name_template: "{prefix}"}')"
assert_error 400 invalid_argument name_template
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE" '{prefix: "x", endpoint: $e,
    name_template: "{prefix}-{serial}"}')"
assert_error 400 invalid_argument "{serial}"
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE" '{prefix: "-x", endpoint: $e}')"
assert_error 400 invalid_argument prefix
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE/redfish/v1/Systems/1" \
    '{prefix: "x", endpoint: $e}')"
assert_error 400 invalid_argument endpoint "without a path"
ul_api POST /api/v1/nodes/discover '{"prefix": "x", "endpoint": "fake://x"}'
assert_error 501 not_supported "cannot discover"
ul_api POST /api/v1/nodes/discover '{"endpoint": "redfish://h"}'
assert_error 400 invalid_argument prefix
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE" '{prefix: "x", endpoint: $e,
    options: {auth: "token"}}')"
assert_error 400 invalid_argument "auth"
ul_api POST /api/v1/tokens '{"name":"ops","role":"operator"}'
assert_status 201 "operator token"
ops=$(ul_jq .token)
ul_api -t "$ops" POST /api/v1/nodes/discover "$(jq -cn --arg e "$THREE" '{prefix: "x", endpoint: $e}')"
assert_error 403 forbidden admin
[ "$(node_count)" = "$before" ] || ul_fail "bad input changed the nodes"
ul_api GET "/api/v1/jobs?limit=1000"
[ "$(ul_jq '.items | length')" = "$jobs_before" ] || ul_fail "bad input queued a job"
cli node add x --endpoint "$THREE" --name-template '{prefix}-{id}'
[ "$RC" -eq 2 ] || ul_fail "--name-template without --discover exited $RC"
assert_contains "$ERR" "--discover" "CLI usage error"
cli node set encl-1 --discover
[ "$RC" -eq 2 ] || ul_fail "node set --discover exited $RC"

# ---- a wrong password: the job fails naming the login; no password kept -----

discover_api "$(jq -cn --arg e "$THREE" '{prefix: "bad", endpoint: $e, username: "admin",
    password: "Secret-Wrong-77"}')"
assert_job_error auth_failed "login" "discovering systems"
assert_not_contains "$UL_BODY" "Secret-Wrong-77" "the job record"
# Nor anywhere in the database (the job's parameters hold a reference).
if grep -q -a "Secret-Wrong-77" "$UL_DIR"/underlay.db*; then
    ul_fail "the discovery's password reached the database"
fi
ul_api GET "/api/v1/nodes/bad-1"
assert_status 404 "no node after a failed discovery"
cli node add bad --endpoint "$THREE" --user admin --password-env UL_NOPE_UNSET --discover
[ "$RC" -ne 0 ] || ul_fail "a discovery without its password variable succeeded"

# ---- systems without Links.Chassis ------------------------------------------

# A name taken by another node: that system is skipped, the other
# enrolled; the CLI exits 3 (partial).
ul_node_add back-1
cli node add back --endpoint "$BACK" --user admin --password-env RF_PW --discover
[ "$RC" -eq 3 ] || ul_fail "discovery with a name taken exited $RC (expected 3): $ERR $OUT"
assert_contains "$OUT" "skipped: a node of that name already exists" "name taken"
ul_api GET /api/v1/nodes/back-1
assert_json .endpoint fake://back-1 "the existing node is left alone"
inventory back-2
assert_json .result.redfish.chassis_rule chassis-links "back-2 chassis rule"
assert_json '.result.redfish.chassis | join(",")' /redfish/v1/Chassis/2 "back-2 chassis"
run_job back-2 sensors '{}' 60
assert_json .state succeeded "sensors of back-2"
assert_json '[.result.sensors[] | select(.name == "Inlet Temp")] | length' 1 "back-2 sensors"

discover_api "$(jq -cn --arg e "$SAMEID" '{prefix: "sid", endpoint: $e, username: "admin",
    password: "password"}')"
assert_json '.result.created | length' 2 "discovery (no chassis links)"
inventory sid-2
assert_json .result.redfish.chassis_rule same-id "sid-2 chassis rule"
assert_json '.result.redfish.chassis | join(",")' /redfish/v1/Chassis/2 "sid-2 chassis"
run_job sid-2 sensors '{}' 60
assert_json .state succeeded "sensors of sid-2"
assert_json '.result.sensors | length > 0' true "sid-2 sensors"

# ---- a login without X-Auth-Token: basic authentication by itself ------------

cli node add nt --endpoint "$NOTOKEN" --user admin --password-env RF_PW --discover
[ "$RC" -eq 0 ] || ul_fail "discovery (token-less login) exited $RC: $ERR $OUT"
assert_contains "$ERR" "basic authentication" "the CLI's note"
ul_api GET "/api/v1/jobs?type=node.discover&limit=1"
job=$(ul_jq '.items[0].id')
ul_api GET "/api/v1/jobs/$job"
assert_json .result.auth basic "token-less discovery auth"
assert_json .result.auth_fallback true "token-less discovery fallback"
ul_api GET /api/v1/nodes/nt-1
assert_json '.options.auth // "none"' none "no option was needed"
ul_power nt-1 status
wait_job "$UL_JOB" 30
assert_json .state succeeded "power status through basic authentication"
inventory nt-1
assert_json .result.redfish.auth basic "nt-1 authentication"
assert_json .result.redfish.auth_fallback true "nt-1 fallback recorded"
# The sessions the token-less logins made were deleted (with Basic).
[ "$(curl -sS --max-time 10 "$NOTOKEN/_emulator/state" | jq .session_count)" = 0 ] ||
    ul_fail "token-less logins left sessions open on the BMC"
n=$(grep -c "node nt-1: .*no X-Auth-Token; using basic" "$UL_DIR/daemon.log")
[ "$n" = 1 ] || ul_fail "expected one warning for nt-1 in the log, got $n"

# ---- a discovery answers to cancel while the BMC is slow -----------------------

# Every reply of the BMC 8 s late: the job is canceled within a bound well
# below that (the driver's requests are bound to the job).
curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"latency_ms": 8000, "clear": true}' "$SAMEID/_emulator/faults" >/dev/null ||
    ul_fail "cannot set the emulator's latency"
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$SAMEID" '{prefix: "slow", endpoint: $e,
    username: "admin", password: "password"}')"
assert_status 202 "slow discovery"
J=$(ul_jq .job.id)
wait_job_state "$J" running 15
sleep 0.5 # let it reach the BMC; the bound below does not depend on it
t0=$(date +%s%N)
ul_api POST "/api/v1/jobs/$J/cancel"
assert_status 202 "cancel the discovery"
wait_job "$J" 30
dt=$((($(date +%s%N) - t0) / 1000000))
ul_log "discovery canceled after $dt ms (BMC answering 8 s late)"
assert_json .state canceled "the slow discovery"
[ "$dt" -le 4000 ] || ul_fail "cancel took $dt ms (bound 4000)"
ul_api GET /api/v1/nodes/slow-1
assert_status 404 "no node from a canceled discovery"

# A restart during a discovery ends it (its password was in memory only),
# with a reason; nothing is half enrolled.
ul_api POST /api/v1/nodes/discover "$(jq -cn --arg e "$SAMEID" '{prefix: "slow", endpoint: $e,
    username: "admin", password: "password"}')"
assert_status 202 "slow discovery before a restart"
J=$(ul_jq .job.id)
wait_job_state "$J" running 15
ul_restart
wait_job "$J" 30
assert_json .state failed "a discovery across a restart"
assert_contains "$(ul_jq .error.message)" "interrupted by" "why it ended"
ul_api GET /api/v1/nodes/slow-1
assert_status 404 "no node from an interrupted discovery"
curl -sS --max-time 10 -X POST -H 'Content-Type: application/json' \
    --data-binary '{"clear": true}' "$SAMEID/_emulator/faults" >/dev/null

# ---- the DMTF bladed mockup, when the mockups are there ----------------------

MOCKUPS=${REDFISH_MOCKUPS:-$TOP_SRCDIR/../shared/redfish-mockups}
if [ -d "$MOCKUPS/dmtf-public-bladed" ]; then
    BLADED=$(emu_start bladed --mockup "$MOCKUPS/dmtf-public-bladed") ||
        ul_fail "emulator (bladed mockup) did not start"
    cli -o json node add bl --endpoint "$BLADED" --user admin --password-env RF_PW --discover
    [ "$RC" -eq 0 ] || ul_fail "discovery (bladed mockup) exited $RC: $ERR $OUT"
    [ "$(jq -r '[.created[].name] | sort | join(",")' <<<"$OUT")" = \
        "bl-529QB9450R6,bl-529QB9451R6,bl-529QB9452R6,bl-529QB9453R6" ] ||
        ul_fail "bladed names: $OUT"
    ul_api GET /api/v1/nodes/bl-529QB9452R6
    assert_json .endpoint "$BLADED/redfish/v1/Systems/529QB9452R6" "blade endpoint"
else
    ul_log "no DMTF mockups at $MOCKUPS: the bladed check is skipped"
fi

ul_stop
ul_log "PASS"
