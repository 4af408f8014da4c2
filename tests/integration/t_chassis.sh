#!/bin/bash
# Chassis identify and BMC reset as jobs (issue 12, item 7), through the API
# on fake BMCs: the LED set and read back (and going out after its seconds),
# bad input refused naming the field, a reset parked until the BMC answers
# again, the admin role for a reset, the audit trail, and 501 at once for a
# driver without the capability.
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

ul_api POST /api/v1/tokens '{"name":"oper1","role":"operator"}'
assert_status 201 "create operator token"
OPER=$(ul_jq .token)

ul_node_add c1 '{"options":{"chassis":true}}'
ul_node_add unreach '{"options":{"fail":"unreachable","chassis":true}}'
# A fake BMC without identify LED and reset (no chassis option): 501 at once.
ul_node_add rf1
ul_api GET /api/v1/nodes/c1
assert_json '.capabilities | join(",")' "power,boot,identify,bmc_reset" "c1's capabilities"
ul_api GET /api/v1/nodes/rf1
assert_json '.capabilities | join(",")' "power,boot" "rf1's capabilities"

run_job() { # PATH BODY [TOKEN] -> JOB (waited for)
    ul_api ${3:+-t "$3"} POST "$1" "$2"
    assert_status 202 "POST $1 $2"
    JOB=$(ul_jq .job.id)
    wait_job "$JOB" 30
}

# ---- identify -------------------------------------------------------------------
run_job /api/v1/nodes/c1/identify '{"state":"status"}' "$OPER"
assert_json .result.identify off "identify status at start"
run_job /api/v1/nodes/c1/identify '{"state":"on"}' "$OPER"
assert_json .state succeeded "identify on"
assert_json .type identify
assert_json .result.identify on "identify read back"
assert_json .result.verified true
run_job /api/v1/nodes/c1/identify '{"state":"off"}' "$OPER"
assert_json .state succeeded "identify off"
assert_json .result.identify off

# On for 1 s: reads on at once, and off again afterwards (the fake BMC's
# timer, as a real BMC's interval).
run_job /api/v1/nodes/c1/identify '{"state":"on","seconds":1}' "$OPER"
assert_json .result.identify on "identify on for 1 s"
assert_json .result.seconds 1
for _ in $(seq 1 60); do
    run_job /api/v1/nodes/c1/identify '{"state":"status"}' "$OPER"
    assert_json .state succeeded "identify status"
    [ "$(ul_jq .result.identify)" = off ] && break
    sleep 0.5
done
assert_json .result.identify off "identify off after its interval"

# Bad input: refused before any job, naming the field.
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{"state":"blink"}'
assert_error 400 invalid_argument "'state'"
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{}'
assert_error 400 invalid_argument "'state'"
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{"state":"on","seconds":0}'
assert_error 400 invalid_argument "'seconds'"
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{"state":"on","seconds":256}'
assert_error 400 invalid_argument "'seconds'"
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{"state":"off","seconds":5}'
assert_error 400 invalid_argument "'seconds'"
ul_api -t "$OPER" POST /api/v1/nodes/c1/identify '{"state":"on","colour":"red"}'
assert_error 400 invalid_argument "colour"
ul_api -t "$OPER" POST /api/v1/nodes/nosuch/identify '{"state":"on"}'
assert_status 404 "identify on an unknown node"

# A BMC that does not answer: the job fails naming node and operation.
run_job /api/v1/nodes/unreach/identify '{"state":"on"}' "$OPER"
assert_json .state failed "identify on an unreachable BMC"
assert_contains "$(ul_jq .error.message)" unreach "error names the node"

# ---- capability: 501 at once, no job -------------------------------------------
ul_api -t "$OPER" POST /api/v1/nodes/rf1/identify '{"state":"on"}'
assert_error 501 not_supported "chassis identify not supported" "lacks capability 'identify'"
ul_api POST /api/v1/nodes/rf1/bmc/reset '{}'
assert_error 501 not_supported "BMC reset not supported" "lacks capability 'bmc_reset'"
ul_api POST /api/v1/nodes/c1/identify '{"state":"on"}'
assert_status 202 "identify on a node with the capability"
wait_job "$(ul_jq .job.id)" 30
ul_api POST /api/v1/nodes '{"name":"bad1","endpoint":"fake://bad1","options":{"chassis":"no"}}'
assert_error 400 invalid_argument "'chassis'"

# ---- bmc.reset --------------------------------------------------------------------
# Admin only: a reset drops every session on the BMC.
ul_api -t "$OPER" POST /api/v1/nodes/c1/bmc/reset '{}'
assert_status 403 "bmc reset as operator"
ul_api POST /api/v1/nodes/c1/bmc/reset '{"type":"lukewarm"}'
assert_error 400 invalid_argument "'type'"

run_job /api/v1/nodes/c1/identify '{"state":"on"}' "$OPER"
assert_json .result.identify on
# The fake BMC is silent for 2 s after a cold reset: the job parks between
# tries (step "waiting") and succeeds once the BMC answers.
run_job /api/v1/nodes/c1/bmc/reset '{}'
assert_json .state succeeded "bmc cold reset"
assert_json .type bmc.reset
assert_json .result.reset cold
assert_json .result.answering true
assert_json '.result.answered_after_ms >= 1500' true "reset waited for the BMC"
assert_json '.result.tries >= 2' true "tries while the BMC was silent"
# The reset BMC forgot its LED, and answers a new session.
run_job /api/v1/nodes/c1/identify '{"state":"status"}' "$OPER"
assert_json .state succeeded "identify status after the reset"
assert_json .result.identify off "a reset BMC forgot its LED"
ul_power c1 status
wait_job "$UL_JOB" 30
assert_json .state succeeded "power status after the reset"

run_job /api/v1/nodes/c1/bmc/reset '{"type":"warm"}'
assert_json .state succeeded "bmc warm reset"
assert_json .result.reset warm

# A reset whose BMC never answers again ends at the job's deadline.
run_job /api/v1/nodes/unreach/bmc/reset '{"timeout":3}'
assert_json .state failed "reset of an unreachable BMC"

# ---- the CLI --------------------------------------------------------------------
if ul_have_cli; then
    cli_rc() { # WANT ARGS...
        local want=$1
        shift
        OUT=$("$UNDERLAY" "$@" 2>"$UL_TMP/cli.err" </dev/null)
        RC=$?
        ERR=$(cat "$UL_TMP/cli.err")
        [ "$RC" -eq "$want" ] ||
            ul_fail "underlay $* exited $RC (expected $want); stderr: $ERR; stdout: $OUT"
    }
    cli_rc 0 identify c1 on --seconds 30
    assert_eq "$OUT" "c1: identify LED on" "cli identify on"
    cli_rc 0 identify c1 status
    assert_eq "$OUT" "c1: identify LED on" "cli identify status"
    cli_rc 0 identify c1 off
    assert_eq "$OUT" "c1: identify LED off" "cli identify off"
    cli_rc 0 -o json identify c1 status
    assert_eq "$(jq -r .result.identify <<<"$OUT")" off "cli identify -o json"
    # Usage errors exit 2 with nothing sent.
    cli_rc 2 identify c1 blink
    assert_contains "$ERR" "'blink' is not on, off or status"
    cli_rc 2 identify c1 off --seconds 5
    cli_rc 2 identify c1 on --seconds 300
    cli_rc 2 identify c1
    cli_rc 2 bmc-reset
    # Job failures exit 1 and say why, naming the node.
    cli_rc 1 identify unreach on
    assert_contains "$ERR" "unreach" "cli failure names the node"
    cli_rc 1 identify rf1 on
    assert_contains "$ERR" "not supported" "cli: 501 for a driver without identify"
    cli_rc 0 bmc-reset c1 --warm
    assert_contains "$OUT" "c1: BMC warm reset done; it answers again after" "cli bmc-reset"
    # An operator's token is refused a reset.
    UNDERLAY_TOKEN=$OPER cli_rc 1 bmc-reset c1
    cli_rc 0 --help
    assert_contains "$OUT" "  identify NODE" "--help lists identify"
    assert_contains "$OUT" "  bmc-reset NODE" "--help lists bmc-reset"
    ul_log "CLI checked"
fi

# The audit trail names each change.
ul_api GET '/api/v1/audit?limit=200'
assert_status 200
assert_contains "$UL_BODY" '"bmc.reset"' "audit has the reset"
assert_contains "$UL_BODY" '"identify.on"' "audit has identify on"
ul_log "ok"
